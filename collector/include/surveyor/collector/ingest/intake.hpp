// SPDX-License-Identifier: Apache-2.0
// A report from the wire to the store, end to end: the agent authenticated
// by its key, the body decoded, the report applied in one transaction, and
// the host's component relationships kept in step with its inventory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <system_error>

#include "surveyor/collector/store/stores.hpp"
#include "surveyor/core/result.hpp"
#include "surveyor/wire/codec.hpp"
#include "surveyor/wire/report.hpp"

namespace surveyor::collector::ingest {

// Why a report was refused before it reached the store (store failures come
// as StoreErrc).
enum class IntakeErrc {
  unauthenticated = 1,
  unknown_agent,
  unsupported_media_type,
  bad_report,
  agent_mismatch,
  time_in_future,
  too_large  // beyond a per-report limit of IntakePolicy
};
const std::error_category& intake_category();
inline std::error_code make_error_code(IntakeErrc e) { return {static_cast<int>(e), intake_category()}; }

// What a collector accepts of a report beyond its format (docs/security.md).
struct IntakePolicy {
  // Sample and check times later than the collector's clock by more than
  // this are refused: an agent whose clock runs ahead (or that lies) cannot
  // write data for times that have not come yet.
  std::int64_t max_clock_skew_ms = 300'000;
  // The longest heartbeat interval an agent may declare; a longer one is
  // capped, so a host that stops reporting is down at most 2 x this later.
  std::uint32_t max_heartbeat_interval_s = 3'600;
  // Per-report limits: a report with more series or samples is refused
  // whole, with a message naming the limit. An agent's report holds one
  // interval of its samples (a few hundred series at most); the limits bound
  // what one request can make the store write, series being what costs.
  std::size_t max_series_per_report = 10'000;
  std::size_t max_samples_per_report = 500'000;
  // The most series one agent's host may hold, as Prometheus' sample_limit
  // bounds a target: a report that would add series beyond it is refused
  // whole (StoreErrc::limit), its existing series keep being stored. 0: no bound.
  std::size_t max_series_per_agent = 10'000;
};

struct Accepted {
  wire::Format format = wire::Format::binary;  // the agent's, for the answer
  wire::ReportAck ack;
  std::uint64_t samples = 0;        // stored by this report (0 for a replay)
  bool heartbeat_capped = false;     // it declared more than the policy allows
};

// Agents' records are remembered between their reports (the key hash, the
// CI, the host name): a report is authenticated without reading the store.
// The store checks the remembered key and CI in the report's own
// transaction (ReportBatch::agent_key_hash): a key revoked or rotated, by
// this collector or another, or from the command line, is refused at the
// first report after it, whose record is then read again. At most
// kAgentCacheSize records are kept; past that the cache starts again.
inline constexpr std::size_t kAgentCacheSize = 200'000;
// Reports larger than this (an inventory that changed) are not decoded on
// the I/O thread by accept_async, whose other connections would wait
// behind them: they go the blocking way, on an ingest thread. A report of
// samples alone is a few kilobytes.
inline constexpr std::size_t kMaxAsyncBodyBytes = 64 * 1024;

class Intake {
 public:
  explicit Intake(store::Stores stores, IntakePolicy policy = {})
      : stores_(std::move(stores)), policy_(policy) {}

  // `authorization` is the request's "Bearer <agent-id>:<key>".
  [[nodiscard]] core::Result<Accepted> accept(std::string_view authorization, std::string_view content_type,
                                              std::string_view body, std::int64_t now_ms);
  // The same without waiting for the store, where it can answer so (a store
  // that applies_async, an agent remembered, a report of at most
  // kMaxAsyncBodyBytes that passes every check): `done` is called once, on the store's thread, with what accept()
  // would have returned. Otherwise `done` gets nothing (here, or from the
  // store's thread when the agent changed meanwhile, having written
  // nothing): the caller then calls accept() on a thread that may wait.
  // `body` is read before this returns.
  using AcceptDone = std::function<void(std::optional<core::Result<Accepted>>)>;
  void accept_async(std::string_view authorization, std::string_view content_type, std::string_view body,
                    std::int64_t now_ms, AcceptDone done);

 private:
  // The agent `id` as remembered, if its key hashes to `hash`.
  [[nodiscard]] std::optional<store::AgentRecord> remembered(const std::string& id, const std::string& hash) const;
  // Caps the report's declared heartbeat interval to the policy's; true if it did.
  bool cap_heartbeat(wire::Report& report) const;
  [[nodiscard]] store::ReportBatch batch_for(const wire::Report& report, const store::AgentRecord& as,
                                             std::int64_t now_ms) const;
  [[nodiscard]] static Accepted accepted(const wire::Report& report, const store::ReportBatch& batch,
                                         wire::Format format, bool capped, const store::ApplyResult& applied);
  // The agent `id` with key `key`, from the cache unless `fresh`.
  core::Result<store::AgentRecord> authenticate(const std::string& id, std::string_view key, bool fresh);
  [[nodiscard]] core::Result<wire::Report> checked_report(const std::string& agent_id, std::string_view body,
                                                          wire::Format format, std::int64_t now_ms) const;

  store::Stores stores_;
  IntakePolicy policy_;
  mutable std::shared_mutex agents_mu_;
  std::unordered_map<std::string, store::AgentRecord> agents_;  // id, key_hash, ci_id and hostname only
};

}  // namespace surveyor::collector::ingest

template <>
struct std::is_error_code_enum<surveyor::collector::ingest::IntakeErrc> : std::true_type {};
