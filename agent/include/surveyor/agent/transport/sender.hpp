// SPDX-License-Identifier: Apache-2.0
// How reports reach the collector (in order, through the spool, retried until acknowledged),
// what delivery counts, and how an agent enrolls.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "surveyor/agent/spool/spool.hpp"
#include "surveyor/core/result.hpp"
#include "surveyor/http/client.hpp"
#include "surveyor/wire/enroll.hpp"
#include "surveyor/wire/report.hpp"

namespace boost::asio {
class io_context;
}

namespace surveyor::agent::transport {

enum class TransportErrc { rejected = 1, unexpected_status };
const std::error_category& transport_category();
inline std::error_code make_error_code(TransportErrc e) { return {static_cast<int>(e), transport_category()}; }

struct SenderOptions {
  std::size_t max_in_memory = 60;  // reports kept in memory when the spool cannot be written
  std::chrono::milliseconds min_backoff{1000};
  std::chrono::milliseconds max_backoff{60'000};
};

struct SenderStats {
  std::uint64_t delivered = 0;
  std::uint64_t duplicates = 0;        // the collector had it already
  std::uint64_t dropped_overflow = 0;  // oldest dropped because the spool (or memory) was full
  std::uint64_t dropped_rejected = 0;  // refused for good (4xx other than 401/408/429)
  std::uint64_t split = 0;             // reports refused as too large (413) and sent in two halves
  std::uint64_t dropped_corrupt = 0;   // spool entries found damaged (a torn write) and skipped
  std::uint64_t dropped_unreadable = 0;  // spool entries that could not be read (EACCES, EIO) and were skipped
  std::uint64_t failed_attempts = 0;
  std::uint64_t failovers = 0;         // times the sender moved to the next collector
  std::size_t collector = 0;           // the collector reports go to now (index in the list)
  std::uint64_t spool_errors = 0;      // reports the spool could not take (kept in memory instead)
  std::size_t queued = 0;
  std::uint64_t spooled_bytes = 0;
};

// Delivers reports to the collector in order, one at a time, retrying with
// exponential back-off and jitter on network errors, 5xx, 408 and 429 (the
// next collector of several after a network error or a 5xx), splitting
// those refused as too large (413).
// Every report is written to the on-disk spool first and removed from it
// only once acknowledged, so an outage of the collector or a restart of the
// agent loses nothing within the spool's bound.
// Single-threaded: use it from the io_context's thread.
class ReportSender {
 public:
  ReportSender(boost::asio::io_context& io, http::Client& client, spool::Spool spool, SenderOptions options);
  // Several collectors (sharing one store): reports go to one at a time;
  // after a network error or a 5xx, the retry goes to the next in the list.
  ReportSender(boost::asio::io_context& io, std::vector<http::Client*> clients, spool::Spool spool,
               SenderOptions options);
  ~ReportSender();

  void set_credentials(std::string agent_id, std::string agent_key);
  // Queues a report; beyond max_queued the oldest is dropped and counted.
  void submit(wire::Report report);
  // Sends what is queued, then calls done(true); done(false) when `timeout`
  // passes first.
  void flush(std::chrono::milliseconds timeout, std::function<void(bool)> done);
  // True once after an ack asked for the full inventory.
  [[nodiscard]] bool take_inventory_request();
  [[nodiscard]] std::size_t queued() const;
  [[nodiscard]] SenderStats stats() const;
  // Called when the collector answers 401: it no longer knows this agent.
  void on_unauthorized(std::function<void()> f);
  // Where a report refused as too large (413) gets the sequence number of
  // its second half: the agent's own counter. Without it such a report is
  // dropped; with it the report is split in two (its series, or the points
  // of its one series), each half sent, split again if still too large.
  void set_sequence_source(std::function<core::Result<std::uint64_t>()> next_sequence);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// POSTs the enrollment request (binary); the response or why it failed:
// HttpErrc for transport failures, TransportErrc::rejected for a refused
// token (401), unexpected_status for other answers.
void enroll(http::Client& client, const wire::EnrollRequest& request,
            std::function<void(core::Result<wire::EnrollResponse>)> done);

}  // namespace surveyor::agent::transport

template <>
struct std::is_error_code_enum<surveyor::agent::transport::TransportErrc> : std::true_type {};
