// SPDX-License-Identifier: Apache-2.0
// Report delivery. Design: a FIFO of encoded reports, on disk (the spool)
// with a small in-memory overflow for when the disk refuses writes; only the
// head is ever in memory. The head is sent, and removed only when the
// collector acknowledged it (202, new or duplicate) or refused it for good.
// Failures back off exponentially (with jitter, so a fleet does not return
// in lock step). Sequence numbers make every retry safe.
#include "surveyor/agent/transport/sender.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <random>

#include "surveyor/core/error_category.hpp"
#include "surveyor/log/log.hpp"
#include "surveyor/wire/codec.hpp"

namespace surveyor::agent::transport {
namespace {
namespace asio = boost::asio;

// `r` in two smaller reports: the first keeps its sequence, inventory and
// check results and half of its series; the second (sequence 0, to be
// numbered) the other half. A report of one series splits its points; of
// one sample and one check result or none, it cannot be split.
std::optional<std::pair<wire::Report, wire::Report>> split_report(wire::Report r) {
  wire::Report second;
  second.agent_id = r.agent_id;
  second.sent_at_ms = r.sent_at_ms;
  second.heartbeat_interval_s = r.heartbeat_interval_s;
  second.agent_version = r.agent_version;
  second.inventory_digest = r.inventory_digest;
  if (r.series.size() >= 2) {
    const auto half = r.series.begin() + static_cast<std::ptrdiff_t>(r.series.size() / 2);
    second.series.assign(std::make_move_iterator(half), std::make_move_iterator(r.series.end()));
    r.series.erase(half, r.series.end());
  } else if (r.series.size() == 1 && r.series[0].points.size() >= 2) {
    wire::Series& one = r.series[0];
    const auto half = one.points.begin() + static_cast<std::ptrdiff_t>(one.points.size() / 2);
    second.series.push_back(wire::Series{one.metric, one.unit, one.attributes, {half, one.points.end()}});
    one.points.erase(half, one.points.end());
  } else if (r.checks.size() >= 2) {
    const auto half = r.checks.begin() + static_cast<std::ptrdiff_t>(r.checks.size() / 2);
    second.checks.assign(std::make_move_iterator(half), std::make_move_iterator(r.checks.end()));
    r.checks.erase(half, r.checks.end());
  } else {
    return std::nullopt;
  }
  return std::make_pair(std::move(r), std::move(second));
}

}  // namespace

const std::error_category& transport_category() {
  static const core::TableCategory c("transport", {{TransportErrc::rejected, "rejected by the collector"},
                                                   {TransportErrc::unexpected_status, "unexpected answer from the collector"}});
  return c;
}

struct ReportSender::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, std::vector<http::Client*> c, spool::Spool sp, SenderOptions o)
      : clients(std::move(c)), options(o), timer(io_), spool(std::move(sp)) {}

  std::vector<http::Client*> clients;  // never empty
  std::size_t current = 0;
  SenderOptions options;
  asio::steady_timer timer;
  spool::Spool spool;
  std::deque<std::pair<std::uint64_t, std::string>> memory;  // only when the spool failed
  bool head_from_memory = false;
  std::uint64_t head_sequence = 0;
  std::string agent_id, agent_key;
  bool in_flight = false;
  bool waiting = false;  // backing off
  int failures_in_row = 0;
  bool inventory_request = false;
  SenderStats stats;
  std::function<void()> unauthorized;
  std::function<core::Result<std::uint64_t>()> next_sequence;
  std::vector<std::function<void()>> drained;  // flush waiters
  std::mt19937 rng{std::random_device{}()};
  log::Logger log{"agent.transport"};
  log::RateLimit error_limit{3, std::chrono::minutes(5)};

  // The oldest queued report, encoded; nullopt when nothing is queued.
  std::optional<std::string> head() {
    const std::uint64_t unreadable_before = spool.stats().unreadable;
    auto front = spool.front();
    if (const auto sp = spool.stats(); sp.unreadable != unreadable_before)
      log.error("skipped {} spool entr{} that could not be read ({})", sp.unreadable - unreadable_before,
                sp.unreadable - unreadable_before == 1 ? "y" : "ies", sp.last_unreadable);
    if (!front) {
      log.error("cannot read the spool: {}", front.error().describe());
    } else if (*front) {
      head_from_memory = false;
      head_sequence = (*front)->first;
      return std::move((*front)->second);
    }
    if (memory.empty()) return std::nullopt;
    head_from_memory = true;
    head_sequence = memory.front().first;
    return memory.front().second;
  }

  void pop_head() {
    if (head_from_memory) {
      if (!memory.empty() && memory.front().first == head_sequence) memory.pop_front();
    } else if (auto st = spool.pop_front(head_sequence); !st) {
      log.error("cannot remove a delivered report from the spool: {}", st.error().describe());
    }
  }

  std::size_t queued_count() const { return spool.stats().entries + memory.size(); }

  void pump() {
    if (in_flight || waiting || agent_id.empty()) return;
    auto encoded = head();
    if (!encoded) return notify_drained();
    // Reports made before enrollment (or a re-enrollment) carry no or another
    // agent id: complete them; the others go out as they were spooled.
    if (wire::peek_agent_id(*encoded) != std::optional<std::string_view>(agent_id)) {
      auto r = wire::decode<wire::Report>(*encoded, wire::Format::binary, wire::Check::structure_only);
      if (!r) {  // cannot happen for what this agent wrote, short of disk damage the CRC missed
        log.error("dropping spooled report {}: {}", head_sequence, r.error().describe());
        ++stats.dropped_corrupt;
        pop_head();
        return pump();
      }
      r->agent_id = agent_id;
      encoded = wire::encode(*r, wire::Format::binary);
    }
    http::Request req;
    req.method = "POST";
    req.target = "/api/v1/reports";
    req.headers = {{"Content-Type", std::string(wire::kBinaryContentType)},
                   {"Authorization", "Bearer " + agent_id + ":" + agent_key}};
    req.body = std::move(*encoded);
    in_flight = true;
    clients[current]->async_request(std::move(req), [self = shared_from_this()](core::Result<http::Response> res) {
      self->in_flight = false;
      self->on_response(std::move(res));
    });
  }

  // After a network error or a 5xx, the next attempt goes to the next collector.
  void fail_over(const std::string& why) {
    if (clients.size() < 2) return;
    const std::size_t from = current;
    current = (current + 1) % clients.size();
    ++stats.failovers;
    log.warn("{} failed ({}); sending to {} from now on", clients[from]->endpoint().to_string(), why,
             clients[current]->endpoint().to_string());
  }

  void on_response(core::Result<http::Response> res) {
    if (!res) {
      const std::string why = res.error().describe();
      if (res.error().code != http::HttpErrc::cancelled) fail_over(why);
      return retry_later(why);
    }
    const unsigned status = res->status;
    if (status == 202) {
      auto ack = wire::decode<wire::ReportAck>(res->body, wire::Format::binary);
      if (ack) {
        if (ack->duplicate) ++stats.duplicates;
        if (ack->inventory_wanted) inventory_request = true;
      }
      ++stats.delivered;
      failures_in_row = 0;
      pop_head();
      return pump();
    }
    if (status == 401) {
      if (unauthorized) unauthorized();
      return retry_later("collector answered 401 (unknown agent)");
    }
    if (status >= 500 || status == 408 || status == 429) {
      const std::string why = "collector answered " + std::to_string(status);
      if (status >= 500) fail_over(why);
      return retry_later(why, retry_after_ms(*res));
    }
    if (status == 413 && split_head()) return pump();
    // Anything else will never be accepted: drop it rather than block the queue.
    ++stats.dropped_rejected;
    log.error("collector refused report {} for good ({}): {}", head_sequence, status, res->body.substr(0, 300));
    pop_head();
    pump();
  }

  // Replaces the head, refused as too large, by its two halves: the first
  // in its place, the second queued with a new sequence number. A crash
  // between the two writes leaves the whole report and the second half
  // queued: the collector keeps one copy of each sample (by its time), so
  // sending both stores nothing twice. False when it cannot be split.
  bool split_head() {
    if (!next_sequence) return false;
    const std::uint64_t seq = head_sequence;
    auto encoded = head();
    if (!encoded || head_sequence != seq) return false;
    auto r = wire::decode<wire::Report>(*encoded, wire::Format::binary);
    if (!r) return false;
    r->agent_id = agent_id;
    auto halves = split_report(std::move(*r));
    if (!halves) return false;
    auto second_seq = next_sequence();
    if (!second_seq) {
      log.error("cannot split report {}: no sequence number: {}", seq, second_seq.error().describe());
      return false;
    }
    halves->second.sequence = *second_seq;
    std::string first = wire::encode(halves->first, wire::Format::binary);
    std::string second = wire::encode(halves->second, wire::Format::binary);
    if (head_from_memory) {
      memory.front().second = std::move(first);
      memory.emplace_back(*second_seq, std::move(second));
    } else {
      if (auto st = spool.push(*second_seq, second); !st) {
        log.error("cannot split report {}: {}", seq, st.error().describe());
        return false;
      }
      if (auto st = spool.replace_front(seq, first); !st) log.warn("report {}: {}", seq, st.error().describe());
    }
    ++stats.split;
    log.info("report {} was too large for the collector (413): sent in two halves ({} and {})", seq, seq,
             *second_seq);
    return true;
  }

  // A busy collector's Retry-After (delta-seconds, up to an hour; an
  // HTTP-date is not used), in milliseconds; 0 when there is none.
  static std::int64_t retry_after_ms(const http::Response& res) {
    const std::string_view v = res.header("Retry-After");
    if (v.empty() || v.size() > 6 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return 0;
    return std::min<std::int64_t>(std::stoll(std::string(v)), 3600) * 1000;
  }

  // Waits before sending the head again: exponential back-off with jitter,
  // and at least what the collector asked for, spread over half as much
  // again so that a fleet told the same does not come back at once.
  void retry_later(const std::string& why, std::int64_t at_least_ms = 0) {
    ++stats.failed_attempts;
    ++failures_in_row;
    const auto cap = options.max_backoff.count();
    std::int64_t delay = options.min_backoff.count();
    for (int i = 1; i < failures_in_row && delay < cap; ++i) delay *= 2;
    delay = std::min<std::int64_t>(delay, cap);
    delay = std::uniform_int_distribution<std::int64_t>(delay / 2, delay)(rng);
    if (at_least_ms > 0)
      delay = std::max(delay, std::uniform_int_distribution<std::int64_t>(at_least_ms, at_least_ms * 3 / 2)(rng));
    std::uint64_t suppressed = 0;
    if (error_limit.allow(suppressed))
      log.warn("delivery failed: {}; {} report(s) queued, retrying in {} ms ({} similar messages suppressed)", why,
               queued_count(), delay, suppressed);
    waiting = true;
    timer.expires_after(std::chrono::milliseconds(delay));
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      self->waiting = false;
      if (!ec) self->pump();
    });
  }

  void notify_drained() {
    auto waiters = std::move(drained);
    drained.clear();
    for (auto& w : waiters) w();
  }
};

ReportSender::ReportSender(asio::io_context& io, http::Client& client, spool::Spool spool, SenderOptions options)
    : ReportSender(io, std::vector<http::Client*>{&client}, std::move(spool), options) {}

ReportSender::ReportSender(asio::io_context& io, std::vector<http::Client*> clients, spool::Spool spool,
                           SenderOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(clients), std::move(spool), options)) {}

ReportSender::~ReportSender() { impl_->timer.cancel(); }

void ReportSender::set_credentials(std::string agent_id, std::string agent_key) {
  impl_->agent_id = std::move(agent_id);
  impl_->agent_key = std::move(agent_key);
  impl_->pump();
}

void ReportSender::submit(wire::Report report) {
  Impl& s = *impl_;
  std::string encoded = wire::encode(report, wire::Format::binary);
  if (auto st = s.spool.push(report.sequence, encoded); !st) {
    ++s.stats.spool_errors;
    std::uint64_t suppressed = 0;
    if (s.error_limit.allow(suppressed))
      s.log.error("cannot spool report {} ({}); keeping it in memory", report.sequence, st.error().describe());
    s.memory.emplace_back(report.sequence, std::move(encoded));
    while (s.memory.size() > std::max<std::size_t>(1, s.options.max_in_memory)) {
      // Never drop the head while it is on the wire.
      const bool head_busy = s.in_flight && s.head_from_memory;
      s.memory.erase(head_busy && s.memory.size() > 1 ? std::next(s.memory.begin()) : s.memory.begin());
      ++s.stats.dropped_overflow;
    }
  }
  s.pump();
}

void ReportSender::flush(std::chrono::milliseconds timeout, std::function<void(bool)> done) {
  auto finished = std::make_shared<bool>(false);
  auto shared_done = std::make_shared<std::function<void(bool)>>(std::move(done));
  auto deadline = std::make_shared<asio::steady_timer>(impl_->timer.get_executor(), timeout);
  impl_->drained.push_back([finished, shared_done, deadline] {
    if (std::exchange(*finished, true)) return;
    deadline->cancel();
    (*shared_done)(true);
  });
  deadline->async_wait([finished, shared_done, deadline](const boost::system::error_code& ec) {
    if (ec || std::exchange(*finished, true)) return;
    (*shared_done)(false);
  });
  // Skip the back-off wait: this is the last chance.
  if (impl_->waiting) {
    impl_->timer.cancel();
    impl_->waiting = false;
  }
  impl_->pump();
}

bool ReportSender::take_inventory_request() { return std::exchange(impl_->inventory_request, false); }
std::size_t ReportSender::queued() const { return impl_->queued_count(); }

SenderStats ReportSender::stats() const {
  SenderStats out = impl_->stats;
  out.collector = impl_->current;
  const spool::SpoolStats sp = impl_->spool.stats();
  out.dropped_overflow += sp.dropped;
  out.dropped_corrupt += sp.corrupt;
  out.dropped_unreadable += sp.unreadable;
  out.queued = impl_->queued_count();
  out.spooled_bytes = sp.bytes;
  return out;
}
void ReportSender::on_unauthorized(std::function<void()> f) { impl_->unauthorized = std::move(f); }

void ReportSender::set_sequence_source(std::function<core::Result<std::uint64_t>()> next_sequence) {
  impl_->next_sequence = std::move(next_sequence);
}

void enroll(http::Client& client, const wire::EnrollRequest& request,
            std::function<void(core::Result<wire::EnrollResponse>)> done) {
  http::Request req;
  req.method = "POST";
  req.target = "/api/v1/enroll";
  req.headers = {{"Content-Type", std::string(wire::kBinaryContentType)}};
  req.body = wire::encode(request, wire::Format::binary);
  client.async_request(std::move(req), [done = std::move(done)](core::Result<http::Response> res) {
    if (!res) return done(std::move(res).error());
    if (res->status == 201) return done(wire::decode<wire::EnrollResponse>(res->body, wire::Format::binary));
    const auto code = res->status == 401 ? TransportErrc::rejected : TransportErrc::unexpected_status;
    done(core::make_error(code, "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 300)));
  });
}

}  // namespace surveyor::agent::transport
