// SPDX-License-Identifier: Apache-2.0
// Report delivery. Design: a FIFO of reports; the head is sent, and removed
// only when the collector acknowledged it (202, new or duplicate) or refused
// it for good. Failures back off exponentially (with jitter, so a fleet does
// not return in lock step). Sequence numbers make every retry safe.
#include "surveyor/agent/transport/sender.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <random>

#include "surveyor/core/error_category.hpp"
#include "surveyor/log/log.hpp"
#include "surveyor/wire/codec.hpp"

namespace surveyor::agent::transport {
namespace {
namespace asio = boost::asio;
}  // namespace

const std::error_category& transport_category() {
  static const core::TableCategory c("transport", {{TransportErrc::rejected, "rejected by the collector"},
                                                   {TransportErrc::unexpected_status, "unexpected answer from the collector"}});
  return c;
}

struct ReportSender::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, http::Client& c, SenderOptions o) : client(c), options(o), timer(io_) {}

  http::Client& client;
  SenderOptions options;
  asio::steady_timer timer;
  std::deque<wire::Report> queue;
  std::string agent_id, agent_key;
  bool in_flight = false;
  bool waiting = false;  // backing off
  int failures_in_row = 0;
  bool inventory_request = false;
  SenderStats stats;
  std::function<void()> unauthorized;
  std::vector<std::function<void()>> drained;  // flush waiters
  std::mt19937 rng{std::random_device{}()};
  log::Logger log{"agent.transport"};
  log::RateLimit error_limit{3, std::chrono::minutes(5)};

  void pump() {
    if (in_flight || waiting) return;
    if (queue.empty() || agent_id.empty()) {
      if (queue.empty()) notify_drained();
      return;
    }
    wire::Report& r = queue.front();
    r.agent_id = agent_id;  // after a re-enrollment, queued reports go out under the new identity
    http::Request req;
    req.method = "POST";
    req.target = "/api/v1/reports";
    req.headers = {{"Content-Type", std::string(wire::kBinaryContentType)},
                   {"Authorization", "Bearer " + agent_id + ":" + agent_key}};
    req.body = wire::encode(r, wire::Format::binary);
    in_flight = true;
    client.async_request(std::move(req), [self = shared_from_this()](core::Result<http::Response> res) {
      self->in_flight = false;
      self->on_response(std::move(res));
    });
  }

  void on_response(core::Result<http::Response> res) {
    if (!res) return retry_later(res.error().describe());
    const unsigned status = res->status;
    if (status == 202) {
      auto ack = wire::decode<wire::ReportAck>(res->body, wire::Format::binary);
      if (ack) {
        if (ack->duplicate) ++stats.duplicates;
        if (ack->inventory_wanted) inventory_request = true;
      }
      ++stats.delivered;
      failures_in_row = 0;
      queue.pop_front();
      return pump();
    }
    if (status == 401) {
      if (unauthorized) unauthorized();
      return retry_later("collector answered 401 (unknown agent)");
    }
    if (status >= 500 || status == 408 || status == 429) return retry_later("collector answered " + std::to_string(status));
    // Anything else will never be accepted: drop it rather than block the queue.
    ++stats.dropped_rejected;
    log.error("collector refused report {} for good ({}): {}", queue.front().sequence, status, res->body.substr(0, 300));
    queue.pop_front();
    pump();
  }

  void retry_later(const std::string& why) {
    ++stats.failed_attempts;
    ++failures_in_row;
    const auto cap = options.max_backoff.count();
    std::int64_t delay = options.min_backoff.count();
    for (int i = 1; i < failures_in_row && delay < cap; ++i) delay *= 2;
    delay = std::min<std::int64_t>(delay, cap);
    delay = std::uniform_int_distribution<std::int64_t>(delay / 2, delay)(rng);
    std::uint64_t suppressed = 0;
    if (error_limit.allow(suppressed))
      log.warn("delivery failed: {}; {} report(s) queued, retrying in {} ms ({} similar messages suppressed)", why,
               queue.size(), delay, suppressed);
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

ReportSender::ReportSender(asio::io_context& io, http::Client& client, SenderOptions options)
    : impl_(std::make_shared<Impl>(io, client, options)) {}

ReportSender::~ReportSender() { impl_->timer.cancel(); }

void ReportSender::set_credentials(std::string agent_id, std::string agent_key) {
  impl_->agent_id = std::move(agent_id);
  impl_->agent_key = std::move(agent_key);
  impl_->pump();
}

void ReportSender::submit(wire::Report report) {
  impl_->queue.push_back(std::move(report));
  while (impl_->queue.size() > std::max<std::size_t>(1, impl_->options.max_queued)) {
    // Never drop the head while it is on the wire.
    auto victim = impl_->in_flight ? std::next(impl_->queue.begin()) : impl_->queue.begin();
    impl_->queue.erase(victim);
    ++impl_->stats.dropped_overflow;
  }
  impl_->pump();
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
std::size_t ReportSender::queued() const { return impl_->queue.size(); }
const SenderStats& ReportSender::stats() const { return impl_->stats; }
void ReportSender::on_unauthorized(std::function<void()> f) { impl_->unauthorized = std::move(f); }

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
