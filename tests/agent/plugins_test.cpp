// SPDX-License-Identifier: Apache-2.0
// The plugin host with test plugins, and the Redis plugin against a real
// redis-server (its answers checked with redis-cli).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "surveyor/agent/plugins/plugin_host.hpp"
#include "surveyor/agent/plugins/plugin_worker.hpp"
#include "test_support.hpp"
#include "gate.hpp"

namespace surveyor::agent::plugins {
namespace {

const std::string kTestPlugins = SURVEYOR_TEST_PLUGIN_DIR;
const std::string kPlugins = SURVEYOR_PLUGIN_DIR;

struct Recorder final : samplers::SampleSink {
  std::vector<std::tuple<std::string, std::string, samplers::Attrs, double>> points;
  void add(std::string_view metric, std::string_view unit, samplers::Attrs attrs, std::int64_t, double v) override {
    points.emplace_back(std::string(metric), std::string(unit), std::move(attrs), v);
  }
};

std::string run(const std::string& cmd) { return test::run_command(cmd); }

TEST(PluginHost, LoadsSamplesAndReportsInstances) {
  auto p = Plugin::load({kTestPlugins + "/test_plugin_good.so", {{"start", "100"}}});
  ASSERT_TRUE(p) << p.error().describe();
  EXPECT_EQ((*p)->name(), "plugin:test");
  Recorder r;
  ASSERT_TRUE((*p)->sample(1000, r));
  ASSERT_TRUE((*p)->sample(2000, r));
  ASSERT_EQ(r.points.size(), 2u);
  EXPECT_EQ(std::get<0>(r.points[1]), "test.counter");
  EXPECT_EQ(std::get<3>(r.points[1]), 102.0) << "the options reached open()";
  EXPECT_EQ(std::get<2>(r.points[0]), (samplers::Attrs{{"alpha", "2"}, {"zeta", "1"}}));
  auto inst = (*p)->instances();
  ASSERT_TRUE(inst);
  ASSERT_EQ(inst->size(), 1u);
  EXPECT_EQ((*inst)[0], (wire::Instance{"testdb", "127.0.0.1:1", "9.9", "test", {{"role", "primary"}}}));
}

TEST(PluginHost, RefusesWhatItCannotTrust) {
  auto missing = Plugin::load({kTestPlugins + "/nope.so", {}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, PluginErrc::load_failed);
  auto abi = Plugin::load({kTestPlugins + "/test_plugin_bad_abi.so", {}});
  ASSERT_FALSE(abi);
  EXPECT_EQ(abi.error().code, PluginErrc::bad_abi);
  auto refused = Plugin::load({kTestPlugins + "/test_plugin_refuses.so", {}});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, PluginErrc::open_failed);
  auto not_a_plugin = Plugin::load({"/lib/x86_64-linux-gnu/libz.so.1", {}});
  ASSERT_FALSE(not_a_plugin);
  EXPECT_EQ(not_a_plugin.error().code, PluginErrc::load_failed);
}

TEST(PluginHost, SurvivesAMisbehavingPlugin) {
  auto p = Plugin::load({kTestPlugins + "/test_plugin_misbehaves.so", {}});
  ASSERT_TRUE(p) << p.error().describe();
  Recorder r;
  auto st = (*p)->sample(1000, r);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, PluginErrc::failed);
  ASSERT_EQ(r.points.size(), 1u) << "null and unprintable metric names are dropped";
  EXPECT_EQ(std::get<2>(r.points[0]).size(), 1u) << "attributes capped and de-duplicated";
}

using namespace std::chrono_literals;

// A plugin that blocks holds up its own thread only: the call is a timeout
// at its deadline, the plugin is not called again while stuck, what it
// returns late is dropped, and it is called again once it has returned.
TEST(PluginWorker, ABlockingCallTimesOutAndThePluginIsNotCalledAgainUntilItReturns) {
  test::Gate gate;  // outlives the worker: its destructor lets a stuck call go
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  auto p = Plugin::load({kTestPlugins + "/test_plugin_blocks.so", {{"block_fd", gate.option()}}, 200ms});
  ASSERT_TRUE(p) << p.error().describe();
  PluginWorker w(io, std::move(*p));
  auto pump = [&](auto&& pred) {
    return test::eventually(
        [&] {
          io.run_for(10ms);
          return pred();
        },
        10s);
  };

  std::optional<core::Status> first;
  ASSERT_TRUE(w.sample(1000, [&](std::vector<SamplePoint> points, core::Status st) {
    EXPECT_TRUE(points.empty());
    first = std::move(st);
  }));
  ASSERT_TRUE(pump([&] { return first.has_value(); }));
  ASSERT_FALSE(*first);
  EXPECT_EQ(first->error().code, PluginErrc::timed_out);
  EXPECT_EQ(w.stats().timeouts, 1u);
  EXPECT_TRUE(w.busy());

  bool called = false;
  EXPECT_FALSE(w.sample(2000, [&](auto, auto) { called = true; })) << "still stuck: not called";
  EXPECT_FALSE(w.instances([&](auto) { called = true; }));
  EXPECT_EQ(w.stats().skipped, 2u);

  gate.release_one();  // the stuck sample() returns now; too late to count
  ASSERT_TRUE(pump([&] { return !w.busy(); }));
  EXPECT_FALSE(called);

  gate.release_one();  // the next call does not block
  std::vector<SamplePoint> got;
  bool ok = false;
  ASSERT_TRUE(w.sample(3000, [&](std::vector<SamplePoint> points, core::Status st) {
    got = std::move(points);
    ok = static_cast<bool>(st);
  }));
  ASSERT_TRUE(pump([&] { return ok; }));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].metric, "test.counter");
  EXPECT_EQ(got[0].time_ms, 3000);
  EXPECT_EQ(w.stats().calls, 2u);
  EXPECT_EQ(w.stats().timeouts, 1u);
}

// Calls run one at a time: one asked for while another runs (within its
// deadline) waits for it, and a third is refused meanwhile.
TEST(PluginWorker, ACallAskedForWhileAnotherRunsWaitsForIt) {
  test::Gate gate;
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  auto p = Plugin::load({kTestPlugins + "/test_plugin_blocks.so", {{"block_fd", gate.option()}}, 60s});
  ASSERT_TRUE(p) << p.error().describe();
  PluginWorker w(io, std::move(*p));
  std::vector<std::string> order;
  ASSERT_TRUE(w.sample(1000, [&](std::vector<SamplePoint> points, core::Status st) {
    EXPECT_TRUE(st);
    EXPECT_EQ(points.size(), 1u);
    order.push_back("sample");
  }));
  ASSERT_TRUE(w.instances([&](core::Result<std::vector<wire::Instance>> r) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->size(), 1u);
    order.push_back("instances");
  })) << "waits for the sample";
  EXPECT_FALSE(w.sample(2000, [&](auto, auto) { order.push_back("third"); })) << "one waits at most";
  EXPECT_EQ(w.stats().skipped, 1u);
  gate.release_one();
  gate.release_one();
  ASSERT_TRUE(test::eventually(
      [&] {
        io.run_for(10ms);
        return order.size() == 2;
      },
      10s));
  EXPECT_EQ(order, (std::vector<std::string>{"sample", "instances"}));
  EXPECT_EQ(w.stats().timeouts, 0u);
}

int threads() {
  const std::string status = test::read_file("/proc/self/status");
  const auto at = status.find("\nThreads:");
  return at == std::string::npos ? -1 : std::atoi(status.c_str() + at + 9);
}

// Stopping the agent with a plugin stuck in a call neither waits for it nor
// crashes when the call returns later; its thread ends then.
TEST(PluginWorker, DestroyingAWorkerWithAStuckCallDoesNotWait) {
  auto gate = std::make_unique<test::Gate>();
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  const int before = threads();
  auto p = Plugin::load({kTestPlugins + "/test_plugin_blocks.so", {{"block_fd", gate->option()}}, 100ms});
  ASSERT_TRUE(p) << p.error().describe();
  auto w = std::make_unique<PluginWorker>(io, std::move(*p));
  bool timed_out = false;
  ASSERT_TRUE(w->instances([&](core::Result<std::vector<wire::Instance>> r) {
    timed_out = !r && r.error().code == PluginErrc::timed_out;
  }));
  ASSERT_TRUE(test::eventually(
      [&] {
        io.run_for(10ms);
        return timed_out;
      },
      10s));
  w.reset();  // returns although inventory() is still blocked
  gate->release_one();  // the abandoned thread finishes, closes the plugin, posts nothing
  EXPECT_TRUE(test::eventually([&] { return threads() == before; }, 10s));
  gate.reset();
  io.run_for(50ms);
}

TEST(RedisPlugin, AgainstARealRedisServer) {
  const auto redis = test::test_redis();
  auto p = Plugin::load({kPlugins + "/surveyor-plugin-redis.so",
                         {{"host", redis.host}, {"port", std::to_string(redis.port)}}});
  ASSERT_TRUE(p) << p.error().describe();
  // Keys in a db of its own so the count is known.
  const std::string cli = "redis-cli -h " + redis.host + " -p " + std::to_string(redis.port) + " -n 7 ";
  run(cli + "FLUSHDB");
  run(cli + "MSET surveyor:a 1 surveyor:b 2 surveyor:c 3");
  Recorder r;
  ASSERT_TRUE((*p)->sample(1000, r));
  ASSERT_TRUE((*p)->sample(2000, r));
  const std::string instance = redis.host + ":" + std::to_string(redis.port);
  std::map<std::string, double> latest;
  for (const auto& [m, unit, attrs, v] : r.points) {
    std::string key = m;
    for (const auto& [k, val] : attrs) key += "," + k + "=" + val;
    latest[key] = v;
  }
  EXPECT_EQ(latest["redis.keyspace.keys,db=db7,instance=" + instance], 3.0);
  EXPECT_GT(latest["redis.memory.used,instance=" + instance], 100'000.0);
  EXPECT_GE(latest["redis.clients.connected,instance=" + instance], 1.0);
  EXPECT_TRUE(latest.contains("redis.commands.rate,instance=" + instance)) << "a rate from the second sample on";
  auto inst = (*p)->instances();
  ASSERT_TRUE(inst) << inst.error().describe();
  ASSERT_EQ(inst->size(), 1u);
  const auto& i = (*inst)[0];
  EXPECT_EQ(i.kind, "redis");
  EXPECT_EQ(i.name, instance);
  std::string version = run(cli + "INFO server | grep '^redis_version:' | cut -d: -f2 | tr -d '\\r\\n'");
  EXPECT_EQ(i.version, version);
  bool role = false;
  for (const auto& a : i.attributes) role = role || (a.key == "role" && a.value == "master");
  EXPECT_TRUE(role);
  run(cli + "FLUSHDB");
}

TEST(RedisPlugin, UnreachableServerIsAFailureNotACrash) {
  auto p = Plugin::load({kPlugins + "/surveyor-plugin-redis.so", {{"port", std::to_string(test::free_port())}}});
  ASSERT_TRUE(p);
  Recorder r;
  EXPECT_FALSE((*p)->sample(1000, r));
  EXPECT_TRUE(r.points.empty());
  EXPECT_FALSE((*p)->instances());
  auto bad = Plugin::load({kPlugins + "/surveyor-plugin-redis.so", {{"colour", "blue"}}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, PluginErrc::open_failed);
}

}  // namespace
}  // namespace surveyor::agent::plugins
