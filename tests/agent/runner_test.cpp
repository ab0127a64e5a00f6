// SPDX-License-Identifier: Apache-2.0
// The runner's schedule against a collector stand-in on loopback, and what
// it does when the collector no longer knows its key.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "gate.hpp"
#include "surveyor/agent/runner/runner.hpp"
#include "surveyor/collector/server/server.hpp"
#include "surveyor/wire/codec.hpp"
#include "test_support.hpp"

namespace surveyor::agent::runner {
namespace {

using namespace std::chrono_literals;

const std::string kFixtures = SURVEYOR_AGENT_FIXTURES;
const std::string kTestPlugins = SURVEYOR_TEST_PLUGIN_DIR;

// Accepts every report and keeps it; or, with refuse_reports, answers 401
// to each. Enrollments are answered and counted.
struct Collector {
  std::mutex mu;
  std::vector<wire::Report> reports;
  std::atomic<bool> refuse_reports{false};
  std::atomic<int> refused{0}, enrollments{0};
  std::shared_ptr<collector::server::Router> router = std::make_shared<collector::server::Router>();
  std::unique_ptr<collector::server::Server> server;

  Collector() {
    router->add("POST", "/api/v1/enroll", "enroll", [this](const http::Request&, const collector::server::Params&) {
      ++enrollments;
      http::Response res;
      res.status = 201;
      res.body = wire::encode(wire::EnrollResponse{"agt-2", "key-2", "ci-1"}, wire::Format::binary);
      return res;
    });
    router->add("POST", "/api/v1/reports", "reports", [this](const http::Request& req, const collector::server::Params&) {
      if (refuse_reports) {
        ++refused;
        return collector::server::error_response(401, "unknown_agent", "unknown agent or wrong key");
      }
      auto r = wire::decode<wire::Report>(req.body, wire::Format::binary);
      if (!r) return collector::server::error_response(400, "bad_report", r.error().describe());
      http::Response res;
      res.status = 202;
      res.body = wire::encode(wire::ReportAck{r->sequence, false, false}, wire::Format::binary);
      std::lock_guard lock(mu);
      reports.push_back(std::move(*r));
      return res;
    });
    collector::server::ServerOptions o;
    o.port = 0;
    server = std::make_unique<collector::server::Server>(o, router);
    EXPECT_TRUE(server->start());
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  std::size_t count() {
    std::lock_guard lock(mu);
    return reports.size();
  }
  // The newest value of a series in the reports so far.
  std::optional<double> latest(const std::string& metric, const std::vector<wire::Attribute>& attrs) {
    std::lock_guard lock(mu);
    std::optional<double> v;
    for (const auto& r : reports)
      for (const auto& s : r.series)
        if (s.metric == metric && s.attributes == attrs && !s.points.empty()) v = s.points.back().value;
    return v;
  }
};

// An agent enrolled as agt-1 (of CI ci-1) at `url`: its state directory and
// spool, for a Runner to take.
struct Enrolled {
  explicit Enrolled(const std::string& url) {
    auto s = state::StateDir::open(dir.file("state"));
    if (!s || !s->save_identity({"agt-1", "key", "ci-1", url})) return;
    auto sp = spool::Spool::open(dir.file("state") + "/spool");
    if (!sp) return;
    state.emplace(std::move(*s));
    spool.emplace(std::move(*sp));
  }
  [[nodiscard]] bool ready() const { return state && spool; }

  test::TempDir dir;
  std::optional<state::StateDir> state;
  std::optional<spool::Spool> spool;
};

// A runner sampling and reporting every second on the fixture host's files.
RunnerOptions fast_options(const std::string& collector_url) {
  RunnerOptions o;
  o.sample_interval = 1s;
  o.report_interval = 1s;
  const std::string root = kFixtures + "/debian12-vm";
  o.roots = {root + "/etc", root + "/proc", root + "/sys"};
  o.collector_url = collector_url;
  o.version = "test";
  // Under the sanitizers the test process is far past the agent's bounds.
  o.max_rss_bytes = std::uint64_t{1} << 40;
  o.max_cpu_per_minute = 1h;
  return o;
}

// A plugin that blocks in every call must not stop the agent's schedule:
// reports (the heartbeats) keep going out on time, and they say the plugin
// timed out and was skipped.
TEST(Runner, ReportsGoOnWhileAPluginBlocks) {
  Collector collector;
  Enrolled agent(collector.url());
  ASSERT_TRUE(agent.ready());
  test::Gate gate;
  plugins::PluginSpec spec{kTestPlugins + "/test_plugin_blocks.so", {{"block_fd", std::to_string(gate.fds[0])}}};
  spec.timeout = 300ms;
  auto plugin = plugins::Plugin::load(spec);
  ASSERT_TRUE(plugin) << plugin.error().describe();
  std::vector<std::unique_ptr<plugins::Plugin>> loaded;
  loaded.push_back(std::move(*plugin));

  boost::asio::io_context io;
  http::Client client(io, *http::parse_url(collector.url()));
  core::SystemClock clock;
  const RunnerOptions o = fast_options(collector.url());
  auto runner = std::make_unique<Runner>(io, o, *agent.state, std::move(*agent.spool), std::vector<http::Client*>{&client}, clock,
                                         std::vector<std::unique_ptr<samplers::Sampler>>{}, std::move(loaded));
  // Everything on the loop's own thread, as in the agent: this one watches.
  boost::asio::post(io, [&] { runner->start([](int code) { ADD_FAILURE() << "fatal " << code; }); });
  std::thread loop([&] { io.run(); });

  EXPECT_TRUE(test::eventually([&] { return collector.count() >= 3; }, 20s))
      << collector.count() << " report(s) while the plugin blocks";
  const std::vector<wire::Attribute> test_plugin{{"plugin", "test"}};
  EXPECT_TRUE(test::eventually(
      [&] {
        return collector.latest("surveyor.agent.plugin.timeouts", test_plugin).value_or(0) >= 1 &&
               collector.latest("surveyor.agent.plugin.skipped", test_plugin).value_or(0) >= 1;
      },
      10s));
  EXPECT_EQ(collector.latest("surveyor.agent.reports.dropped", {{"reason", "unreadable"}}), 0.0);

  gate.release_all();
  boost::asio::post(io, [&] { runner->stop([&] { io.stop(); }); });
  loop.join();
  runner.reset();
}

// A collector that no longer knows the agent's key (replaced, or not ours)
// gets no enrollment token unless the agent is configured to enroll again;
// meanwhile the reports wait in the spool.
TEST(Runner, AnUnknownKeyHoldsReportsUnlessEnrollingAgainIsAllowed) {
  for (const bool allowed : {false, true}) {
    SCOPED_TRACE(allowed ? "reenroll_on_unauthorized" : "default");
    Collector collector;
    collector.refuse_reports = true;
    Enrolled agent(collector.url());
    ASSERT_TRUE(agent.ready());
    boost::asio::io_context io;
    http::Client client(io, *http::parse_url(collector.url()));
    core::SystemClock clock;
    RunnerOptions o = fast_options(collector.url());
    o.stop_timeout = 500ms;
    o.enrollment_token = "fleet-token";
    o.reenroll_on_unauthorized = allowed;
    auto runner = std::make_unique<Runner>(io, o, *agent.state, std::move(*agent.spool), std::vector<http::Client*>{&client}, clock,
                                           std::vector<std::unique_ptr<samplers::Sampler>>{});
    boost::asio::post(io, [&] { runner->start([](int code) { ADD_FAILURE() << "fatal " << code; }); });
    std::thread loop([&] { io.run(); });

    const auto spooled = [&] {
      std::size_t n = 0;
      for (const auto& e : std::filesystem::directory_iterator(agent.dir.file("state") + "/spool"))
        n += e.path().extension() == ".rpt";
      return n;
    };
    if (allowed) {
      EXPECT_TRUE(test::eventually([&] { return collector.enrollments == 1; }, 20s));
    } else {
      EXPECT_TRUE(test::eventually([&] { return collector.refused >= 1 && spooled() >= 3; }, 20s)) << spooled();
      EXPECT_EQ(collector.enrollments, 0) << "the enrollment token was sent unasked";
      EXPECT_EQ(collector.refused, 1) << "held reports are not sent again";
      auto kept = agent.state->load_identity();
      ASSERT_TRUE(kept && *kept);
      EXPECT_EQ((*kept)->agent_id, "agt-1") << "the identity stays for a person to judge";
    }
    boost::asio::post(io, [&] { runner->stop([&] { io.stop(); }); });
    loop.join();
    runner.reset();
  }
}

}  // namespace
}  // namespace surveyor::agent::runner
