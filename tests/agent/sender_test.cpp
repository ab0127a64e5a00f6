// SPDX-License-Identifier: Apache-2.0
// The report sender against a real HTTP server on loopback that fails on
// purpose: retries, ordering, drops and flush.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "surveyor/agent/transport/sender.hpp"
#include "surveyor/collector/server/server.hpp"
#include "surveyor/wire/codec.hpp"
#include "test_support.hpp"

namespace surveyor::agent::transport {
namespace {

using namespace std::chrono_literals;

// A collector stand-in: answers from a script, records what it accepted.
struct FakeCollector {
  std::mutex mu;
  std::vector<unsigned> script;  // statuses to answer, then 202 forever
  std::vector<std::uint64_t> accepted;
  std::vector<wire::Report> reports;  // accepted, as decoded
  std::vector<std::string> auth;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  std::string retry_after;  // sent with 429 and 503 when set
  std::shared_ptr<collector::server::Router> router = std::make_shared<collector::server::Router>();
  std::unique_ptr<collector::server::Server> server;

  explicit FakeCollector(std::size_t max_body = 1 << 20) {
    router->add("POST", "/api/v1/reports", "reports", [this](const http::Request& req, const collector::server::Params&) {
      std::lock_guard lock(mu);
      auth.emplace_back(req.header("Authorization"));
      arrivals.push_back(std::chrono::steady_clock::now());
      unsigned status = 202;
      if (!script.empty()) {
        status = script.front();
        script.erase(script.begin());
      }
      http::Response res;
      res.status = status;
      if ((status == 429 || status == 503) && !retry_after.empty()) res.headers.emplace_back("Retry-After", retry_after);
      if (status == 202) {
        auto r = wire::decode<wire::Report>(req.body, wire::Format::binary);
        if (!r) return collector::server::error_response(400, "bad_report", r.error().describe());
        accepted.push_back(r->sequence);
        reports.push_back(*r);
        res.body = wire::encode(wire::ReportAck{r->sequence, false, r->sequence == 2}, wire::Format::binary);
      }
      return res;
    });
    collector::server::ServerOptions o;
    o.port = 0;
    o.max_body_bytes = max_body;
    server = std::make_unique<collector::server::Server>(o, router);
    EXPECT_TRUE(server->start());
  }
  http::Url url() const { return http::Url{"http", "127.0.0.1", server->port(), ""}; }
};

wire::Report report(std::uint64_t seq) {
  wire::Report r;
  r.agent_id = "agt-x";
  r.sequence = seq;
  r.sent_at_ms = 1000 * static_cast<std::int64_t>(seq);
  r.heartbeat_interval_s = 60;
  return r;
}

spool::Spool make_spool(const test::TempDir& dir, spool::SpoolOptions o = {}) {
  auto s = spool::Spool::open(dir.file("spool"), o);
  EXPECT_TRUE(s) << s.error().describe();
  return std::move(*s);
}

// Flushes within `deadline`, running the loop for up to `run`: whether all
// was delivered.
bool flushed(ReportSender& sender, boost::asio::io_context& io, std::chrono::milliseconds deadline,
             std::chrono::milliseconds run) {
  bool all = false;
  sender.flush(deadline, [&](bool a) { all = a; });
  io.run_for(run);
  return all;
}

SenderOptions fast() {
  SenderOptions o;
  o.min_backoff = 10ms;
  o.max_backoff = 40ms;
  return o;
}

// A sender with a fresh spool, and the fake collector it sends to (taking
// bodies up to `max_body`).
struct Rig {
  explicit Rig(std::size_t max_body = 1 << 20) : fake(max_body) {}
  FakeCollector fake;
  boost::asio::io_context io;
  http::Client client{io, fake.url()};
  test::TempDir dir;
  ReportSender sender{io, client, make_spool(dir), fast()};
};

TEST(ReportSender, RetriesFailuresAndDeliversInOrder) {
  Rig rig;
  rig.fake.script = {503, 500, 429};
  rig.sender.set_credentials("agt-x", "k");
  for (std::uint64_t s = 1; s <= 3; ++s) rig.sender.submit(report(s));
  EXPECT_TRUE(flushed(rig.sender, rig.io, 5s, 10s));
  EXPECT_EQ(rig.fake.accepted, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(rig.sender.stats().delivered, 3u);
  EXPECT_EQ(rig.sender.stats().failed_attempts, 3u);
  EXPECT_EQ(rig.sender.queued(), 0u);
  EXPECT_TRUE(rig.sender.take_inventory_request()) << "the ack of report 2 asked for the inventory";
  EXPECT_FALSE(rig.sender.take_inventory_request()) << "only once";
  EXPECT_EQ(rig.fake.auth.front(), "Bearer agt-x:k");
}

// Several collectors: a refused connection or a 5xx moves the sender to the
// next one, a 429 does not (that collector is busy, not gone); reports stay
// in order across the move, and the sender stays where it succeeded.
TEST(ReportSender, FailsOverToTheNextCollectorOnNetworkErrorsAnd5xx) {
  FakeCollector first, second;
  boost::asio::io_context io;
  // Nothing listens at the port of a server started and stopped.
  http::Url gone;
  {
    FakeCollector stopped;
    gone = stopped.url();
  }
  http::Client to_gone{io, gone}, to_first{io, first.url()}, to_second{io, second.url()};
  test::TempDir dir;
  ReportSender sender{io, {&to_gone, &to_first, &to_second}, make_spool(dir), fast()};
  first.script = {429, 503};
  sender.set_credentials("agt-x", "k");
  for (std::uint64_t s = 1; s <= 3; ++s) sender.submit(report(s));
  EXPECT_TRUE(flushed(sender, io, 5s, 10s));
  {
    std::lock_guard a(first.mu), b(second.mu);
    EXPECT_TRUE(first.accepted.empty());
    EXPECT_EQ(first.arrivals.size(), 2u) << "the 429 retried on the same collector, the 503 moved on";
    EXPECT_EQ(second.accepted, (std::vector<std::uint64_t>{1, 2, 3}));
  }
  const SenderStats st = sender.stats();
  EXPECT_EQ(st.failovers, 2u);
  EXPECT_EQ(st.collector, 2u);
  EXPECT_EQ(st.delivered, 3u);
  // The second collector fails too: the sender comes round, past the one
  // that is gone, to the first.
  {
    std::lock_guard b(second.mu);
    second.script = {502};
  }
  sender.submit(report(4));
  io.restart();
  EXPECT_TRUE(flushed(sender, io, 5s, 10s));
  std::lock_guard a(first.mu);
  EXPECT_EQ(first.accepted, (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(sender.stats().collector, 1u);
}

TEST(ReportSender, ABusyCollectorsRetryAfterIsHonoured) {
  Rig rig;  // back-off of 10 to 40 ms: only Retry-After makes the wait long
  rig.fake.script = {429, 503};
  rig.fake.retry_after = "1";
  rig.sender.set_credentials("agt-x", "k");
  rig.sender.submit(report(1));
  EXPECT_TRUE(flushed(rig.sender, rig.io, 10s, 15s));
  std::lock_guard lock(rig.fake.mu);
  ASSERT_EQ(rig.fake.arrivals.size(), 3u);
  for (std::size_t i = 1; i < 3; ++i) {
    const auto gap = rig.fake.arrivals[i] - rig.fake.arrivals[i - 1];
    EXPECT_GE(gap, 1s) << "asked to wait a second, it waited " << std::chrono::duration<double>(gap).count() << " s";
  }
  EXPECT_EQ(rig.fake.accepted, (std::vector<std::uint64_t>{1}));
}

TEST(ReportSender, PermanentRejectionDropsOnlyThatReport) {
  Rig rig;
  rig.fake.script = {400};
  rig.sender.set_credentials("agt-x", "k");
  rig.sender.submit(report(1));
  rig.sender.submit(report(2));
  EXPECT_TRUE(flushed(rig.sender, rig.io, 5s, 10s));
  EXPECT_EQ(rig.fake.accepted, (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(rig.sender.stats().dropped_rejected, 1u);
}

TEST(ReportSender, BoundedQueueDropsTheOldestAndCounts) {
  boost::asio::io_context io;
  // Nothing listens on this port: every attempt fails.
  http::Client client(io, http::Url{"http", "127.0.0.1", 1, ""}, http::ClientOptions{.timeout = 500ms});
  test::TempDir dir;
  ReportSender sender(io, client, make_spool(dir, {.max_bytes = 1 << 20, .max_entries = 3}), fast());
  sender.set_credentials("agt-x", "k");
  for (std::uint64_t s = 1; s <= 10; ++s) sender.submit(report(s));
  EXPECT_EQ(sender.queued(), 3u);
  EXPECT_EQ(sender.stats().dropped_overflow, 7u);
  bool result = true;
  bool called = false;
  sender.flush(300ms, [&](bool all) {
    result = all;
    called = true;
  });
  io.run_for(2s);
  EXPECT_TRUE(called);
  EXPECT_FALSE(result) << "flush reports that it could not deliver";
  EXPECT_GT(sender.stats().failed_attempts, 0u);
}

// The collector answers 413 as soon as it sees the length and closes without
// reading the body; the sender must still see that answer (not retry a
// report that can never be taken, holding up everything behind it).
TEST(ReportSender, AReportTooLargeForTheCollectorIsDroppedNotRetriedForever) {
  Rig rig(4096);
  FakeCollector& fake = rig.fake;
  ReportSender& sender = rig.sender;
  sender.set_credentials("agt-x", "k");
  wire::Report big = report(1);
  wire::Series s{"m", "1", {}, {}};
  for (int i = 1; i <= 3'000'000; ++i) s.points.push_back({i, 1.0});  // 48 MB: more than socket buffers hold
  big.series.push_back(s);
  sender.submit(big);
  sender.submit(report(2));
  EXPECT_TRUE(flushed(sender, rig.io, 10s, 12s));
  EXPECT_EQ(fake.accepted, (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(sender.stats().dropped_rejected, 1u);
}

// With the agent's sequence counter, a report refused as too large is split
// in halves, and halves again, until each is taken: every sample and check
// result arrives once, under sequence numbers never used before. Only a
// report of one sample that is still too large is dropped.
TEST(ReportSender, AReportTooLargeIsSplitUntilTheCollectorTakesIt) {
  const std::int64_t kT0 = 1'700'000'000'000;
  Rig rig(4096);
  FakeCollector& fake = rig.fake;
  ReportSender& sender = rig.sender;
  sender.set_credentials("agt-x", "k");
  std::uint64_t counter = 100;
  sender.set_sequence_source([&counter]() -> core::Result<std::uint64_t> { return ++counter; });
  wire::Report big = report(1);
  big.inventory_digest = std::string(64, 'd');
  for (int m = 0; m < 6; ++m) {
    wire::Series s{"metric." + std::to_string(m), "1", {{"disk", "sd" + std::to_string(m)}}, {}};
    for (int i = 0; i < 150; ++i) s.points.push_back({kT0 + 1'000 * i + m, 0.5 * i});
    big.series.push_back(s);
  }
  for (int c = 0; c < 3; ++c)
    big.checks.push_back(wire::CheckResult{"check-" + std::to_string(c), "tcp", wire::CheckState::ok, kT0, 5, "ok"});
  wire::Report lone = report(2);  // one sample, too large
  wire::Series wide{"metric.wide", "1", {}, {{kT0, 1.0}}};
  for (int a = 0; a < 20; ++a) wide.attributes.push_back({"a" + std::to_string(a), std::string(250, 'v')});
  lone.series.push_back(wide);
  sender.submit(big);
  sender.submit(lone);
  sender.submit(report(3));
  EXPECT_TRUE(flushed(sender, rig.io, 10s, 12s));

  std::set<std::uint64_t> sequences;
  std::map<std::pair<std::string, std::int64_t>, int> points;
  std::set<std::string> checks;
  for (const wire::Report& r : fake.reports) {
    EXPECT_TRUE(sequences.insert(r.sequence).second) << "sequence " << r.sequence << " sent twice";
    if (r.sequence == 1 || r.sequence > 100) {
      EXPECT_EQ(r.inventory_digest, big.inventory_digest);
    }
    for (const wire::Series& s : r.series)
      for (const wire::Point& p : s.points) ++points[{s.metric, p.time_ms}];
    for (const wire::CheckResult& c : r.checks) EXPECT_TRUE(checks.insert(c.name).second) << c.name;
  }
  EXPECT_EQ(points.size(), 900u);
  for (const auto& [key, n] : points) EXPECT_EQ(n, 1) << key.first << " at " << key.second;
  EXPECT_EQ(checks.size(), 3u);
  EXPECT_TRUE(sequences.contains(1) && sequences.contains(3) && !sequences.contains(2));
  EXPECT_GE(sender.stats().split, 3u);
  EXPECT_EQ(sequences.size(), 2 + sender.stats().split) << "each split adds one report";
  EXPECT_EQ(sender.stats().dropped_rejected, 1u) << "the one-sample report";
  EXPECT_EQ(sender.queued(), 0u);
}

TEST(ReportSender, UnauthorizedIsReportedToTheOwner) {
  Rig rig;
  rig.fake.script = {401};
  int calls = 0;
  rig.sender.on_unauthorized([&] {
    ++calls;
    rig.sender.set_credentials("agt-new", "k2");
  });
  rig.sender.set_credentials("agt-x", "k");
  rig.sender.submit(report(1));
  rig.sender.flush(5s, [](bool) {});
  rig.io.run_for(5s);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(rig.fake.accepted, (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(rig.fake.auth.back(), "Bearer agt-new:k2");
}

TEST(ReportSender, ReportsSpooledByOneRunAreDeliveredByTheNext) {
  test::TempDir dir;
  {
    boost::asio::io_context io;
    http::Client client(io, http::Url{"http", "127.0.0.1", 1, ""}, http::ClientOptions{.timeout = 200ms});
    ReportSender sender(io, client, make_spool(dir), fast());
    sender.set_credentials("agt-x", "k");
    for (std::uint64_t s = 1; s <= 5; ++s) sender.submit(report(s));
    sender.flush(300ms, [](bool) {});
    io.run_for(1s);
    EXPECT_EQ(sender.stats().queued, 5u);
  }  // the agent stops with five reports undelivered
  FakeCollector fake;
  boost::asio::io_context io;
  http::Client client(io, fake.url());
  ReportSender sender(io, client, make_spool(dir), fast());
  EXPECT_EQ(sender.queued(), 5u);
  sender.set_credentials("agt-x", "k");
  EXPECT_TRUE(flushed(sender, io, 5s, 6s));
  EXPECT_EQ(fake.accepted, (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(sender.queued(), 0u);
}

// A spool entry that cannot be read (a directory where its file should be:
// read() fails with EISDIR, even for root) is skipped and counted; the
// reports after it are delivered at once, not after the bound pushes it out.
TEST(ReportSender, AnUnreadableSpoolEntryIsSkippedAndCounted) {
  test::TempDir dir;
  {
    auto sp = make_spool(dir);
    for (std::uint64_t s = 1; s <= 3; ++s) ASSERT_TRUE(sp.push(s, wire::encode(report(s), wire::Format::binary)));
  }
  const std::string second = dir.file("spool") + "/00000000000000000002.rpt";
  std::filesystem::remove(second);
  std::filesystem::create_directory(second);
  FakeCollector fake;
  boost::asio::io_context io;
  http::Client client(io, fake.url());
  ReportSender sender(io, client, make_spool(dir), fast());
  sender.set_credentials("agt-x", "k");
  bool all = false;
  sender.flush(5s, [&](bool a) {
    all = a;
    io.stop();
  });
  io.run_for(6s);
  EXPECT_TRUE(all);
  EXPECT_EQ(fake.accepted, (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(sender.stats().dropped_unreadable, 1u);
  EXPECT_EQ(sender.stats().dropped_corrupt, 0u);
  EXPECT_EQ(sender.queued(), 0u);
}

}  // namespace
}  // namespace surveyor::agent::transport

namespace surveyor::agent::transport {
namespace {

// The collector closes idle kept-alive connections; the next report must go
// out at once on a fresh connection, not after a failure and a back-off.
TEST(ReportSender, AConnectionTheServerClosedIsReopenedWithoutAFailure) {
  Rig rig;
  rig.sender.set_credentials("agt-x", "k");
  rig.sender.submit(report(1));
  rig.sender.flush(5s, [](bool) {});
  rig.io.run_for(2s);
  rig.io.restart();
  // Drop every connection the server holds, as its idle timeout would.
  rig.fake.server->stop(std::chrono::milliseconds(0));
  rig.fake.server = std::make_unique<collector::server::Server>(
      collector::server::ServerOptions{.host = "127.0.0.1", .port = rig.fake.url().port}, rig.fake.router);
  ASSERT_TRUE(rig.fake.server->start());
  rig.sender.submit(report(2));
  EXPECT_TRUE(flushed(rig.sender, rig.io, 5s, 6s));
  EXPECT_EQ(rig.fake.accepted, (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(rig.sender.stats().failed_attempts, 0u);
}

}  // namespace
}  // namespace surveyor::agent::transport
