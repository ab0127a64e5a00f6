// SPDX-License-Identifier: Apache-2.0
// One suite, run unchanged against every backend: SQLite on a real file and
// Redis on a real redis-server. A backend passes only what the other passes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

#include "backend_fixture.hpp"

namespace surveyor::collector::store {
namespace {

using test::TempDir;

template <class B>
class StoreConformance : public OnBackend<B> {
 protected:
  AgentRecord agent(const std::string& id) {
    AgentRecord a;
    a.id = id;
    a.key_hash = std::string(64, 'a');
    a.host_id = "host-" + id;
    a.hostname = "web01";
    a.ci_id = "ci-" + id;
    a.agent_version = "0.1.0";
    a.enrolled_at_ms = 1'000;
    return a;
  }

  static CiUpdate host_update(const std::string& id, const std::string& name, std::int64_t at) {
    CiUpdate u;
    u.id = id;
    u.type = "host";
    u.name = name;
    u.source = "agent";
    u.seen_at_ms = at;
    return u;
  }

  static SeriesInfo series(const std::string& ci, const std::string& metric, Labels attrs = {}) {
    return SeriesInfo{SeriesKey{ci, metric, std::move(attrs)}, "1"};
  }
};

TYPED_TEST_SUITE(StoreConformance, Backends, BackendNames);

TYPED_TEST(StoreConformance, PingAndDescribe) {
  auto st = this->stores.health->ping();
  EXPECT_TRUE(st) << st.error().describe();
  EXPECT_EQ(this->stores.health->describe().rfind(TypeParam::kName, 0), 0u);
}

TYPED_TEST(StoreConformance, AgentsAreCreatedOnceAndFound) {
  const AgentRecord a = this->agent("agt-1");
  ASSERT_TRUE(this->stores.agents->create_agent(a));
  auto again = this->stores.agents->create_agent(a);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, StoreErrc::conflict);

  auto found = this->stores.agents->find_agent("agt-1");
  ASSERT_TRUE(found) << found.error().describe();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, a);

  auto missing = this->stores.agents->find_agent("agt-2");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

TYPED_TEST(StoreConformance, CiUpsertMergesAttributes) {
  CiUpdate u = this->host_update("ci-1", "web01", 1000);
  u.attributes = {{"cpu.cores", std::int64_t{4}}, {"cpu.model", std::string("Xeon")},
                  {"memory.total_bytes", std::int64_t{8} << 30}, {"virtual", true}, {"load", 0.25}};
  auto c1 = this->stores.cmdb->upsert_ci(u);
  ASSERT_TRUE(c1) << c1.error().describe();
  EXPECT_EQ(c1->first_seen_ms, 1000);
  EXPECT_EQ(c1->state, CiState::active);

  // A later update of the cpu section replaces cpu.* but leaves the rest.
  CiUpdate u2 = this->host_update("ci-1", "", 2000);
  u2.attributes = {{"cpu.cores", std::int64_t{8}}};
  u2.replace_prefixes = {"cpu."};
  auto c2 = this->stores.cmdb->upsert_ci(u2);
  ASSERT_TRUE(c2);

  auto got = this->stores.cmdb->find_ci("ci-1");
  ASSERT_TRUE(got && got->has_value());
  const Ci& ci = **got;
  EXPECT_EQ(ci, *c2);
  EXPECT_EQ(ci.name, "web01");
  EXPECT_EQ(ci.first_seen_ms, 1000);
  EXPECT_EQ(ci.last_seen_ms, 2000);
  EXPECT_EQ(ci.updated_ms, 2000);
  EXPECT_EQ(std::get<std::int64_t>(ci.attributes.at("cpu.cores")), 8);
  EXPECT_FALSE(ci.attributes.contains("cpu.model"));
  EXPECT_EQ(std::get<std::int64_t>(ci.attributes.at("memory.total_bytes")), std::int64_t{8} << 30);
  EXPECT_EQ(std::get<bool>(ci.attributes.at("virtual")), true);
  EXPECT_EQ(std::get<double>(ci.attributes.at("load")), 0.25);

  // Seen again without changes: last_seen moves, updated does not.
  auto c3 = this->stores.cmdb->upsert_ci(this->host_update("ci-1", "web01", 3000));
  ASSERT_TRUE(c3);
  EXPECT_EQ(c3->last_seen_ms, 3000);
  EXPECT_EQ(c3->updated_ms, 2000);
}

TYPED_TEST(StoreConformance, CisAreListedByNameWithFilters) {
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(this->host_update("ci-b", "beta", 1)));
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(this->host_update("ci-a", "alpha", 1)));
  CiUpdate disk = this->host_update("ci-d", "alpha", 1);
  disk.type = "disk";
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(disk));

  auto all = this->stores.cmdb->list_cis({});
  ASSERT_TRUE(all) << all.error().describe();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "ci-a");
  EXPECT_EQ((*all)[1].id, "ci-d");
  EXPECT_EQ((*all)[2].id, "ci-b");

  auto hosts = this->stores.cmdb->list_cis({.type = "host"});
  ASSERT_TRUE(hosts);
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[0].id, "ci-a");

  auto named = this->stores.cmdb->list_cis({.name = "alpha"});
  ASSERT_TRUE(named);
  EXPECT_EQ(named->size(), 2u);

  auto page = this->stores.cmdb->list_cis({.limit = 1, .offset = 1});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, "ci-d");

  // Renaming moves the CI in the name order.
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(this->host_update("ci-b", "aardvark", 2)));
  auto renamed = this->stores.cmdb->list_cis({.type = "host"});
  ASSERT_TRUE(renamed);
  ASSERT_EQ(renamed->size(), 2u);
  EXPECT_EQ((*renamed)[0].id, "ci-b");
  auto old_name = this->stores.cmdb->list_cis({.name = "beta"});
  ASSERT_TRUE(old_name);
  EXPECT_TRUE(old_name->empty());
}

TYPED_TEST(StoreConformance, ReportIsAppliedOnceAndDuplicatesChangeNothing) {
  ASSERT_TRUE(this->stores.agents->create_agent(this->agent("agt-1")));
  ReportBatch b;
  b.agent_id = "agt-1";
  b.sequence = 7;
  b.received_at_ms = 60'000;
  b.heartbeat_interval_s = 60;
  b.inventory_digest = std::string(64, 'f');
  CiUpdate host = this->host_update("ci-agt-1", "web01", 60'000);
  host.attributes = {{"cpu.cores", std::int64_t{2}}};
  b.cis.push_back(host);
  b.series.push_back({this->series("ci-agt-1", "system.cpu.utilization"), {{10'000, 0.5}, {20'000, 0.25}}});
  b.series.push_back({this->series("ci-agt-1", "system.filesystem.usage", {{"mountpoint", "/"}, {"state", "used"}}),
                      {{10'000, 1e9}}});

  auto first = this->stores.reports->apply_report(b);
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_EQ(first->outcome, ApplyOutcome::stored);

  // The same sequence again, even with different content, changes nothing.
  ReportBatch replay = b;
  replay.series[0].second = {{30'000, 0.75}};
  replay.cis[0].attributes = {{"cpu.cores", std::int64_t{64}}};
  auto second = this->stores.reports->apply_report(replay);
  ASSERT_TRUE(second) << second.error().describe();
  EXPECT_EQ(second->outcome, ApplyOutcome::duplicate);

  auto samples = this->stores.series->read_samples(b.series[0].first.key, 0, 1'000'000, 100);
  ASSERT_TRUE(samples);
  ASSERT_EQ(samples->size(), 2u);
  EXPECT_EQ((*samples)[0].time_ms, 10'000);
  EXPECT_EQ((*samples)[0].value, 0.5);
  EXPECT_EQ((*samples)[1].value, 0.25);

  auto ci = this->stores.cmdb->find_ci("ci-agt-1");
  ASSERT_TRUE(ci && ci->has_value());
  EXPECT_EQ(std::get<std::int64_t>((*ci)->attributes.at("cpu.cores")), 2);

  auto agent = this->stores.agents->find_agent("agt-1");
  ASSERT_TRUE(agent && agent->has_value());
  EXPECT_EQ((*agent)->last_sequence, 7u);
  EXPECT_EQ((*agent)->last_seen_ms, 60'000);
  EXPECT_EQ((*agent)->heartbeat_interval_s, 60u);
  EXPECT_EQ((*agent)->inventory_digest, std::string(64, 'f'));

  auto series = this->stores.series->list_series("ci-agt-1");
  ASSERT_TRUE(series);
  ASSERT_EQ(series->size(), 2u);
  EXPECT_EQ((*series)[0], b.series[0].first);
  EXPECT_EQ((*series)[1], b.series[1].first);
}

TYPED_TEST(StoreConformance, OlderSequenceArrivingLateIsStoredAndStateOnlyMovesForward) {
  ASSERT_TRUE(this->stores.agents->create_agent(this->agent("agt-1")));
  ReportBatch later;
  later.agent_id = "agt-1";
  later.sequence = 5;
  later.received_at_ms = 50'000;
  later.heartbeat_interval_s = 60;
  ASSERT_TRUE(this->stores.reports->apply_report(later));
  ReportBatch earlier = later;
  earlier.sequence = 4;
  earlier.received_at_ms = 40'000;
  earlier.series.push_back({this->series("ci-agt-1", "m"), {{1'000, 1.0}}});
  auto r = this->stores.reports->apply_report(earlier);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, ApplyOutcome::stored);
  auto agent = this->stores.agents->find_agent("agt-1");
  ASSERT_TRUE(agent && agent->has_value());
  EXPECT_EQ((*agent)->last_sequence, 5u);
  EXPECT_EQ((*agent)->last_seen_ms, 50'000);
  // Digest unchanged when the report carried no inventory.
  EXPECT_EQ((*agent)->inventory_digest, "");
}

TYPED_TEST(StoreConformance, ReportFromUnknownAgentStoresNothing) {
  ReportBatch b;
  b.agent_id = "agt-ghost";
  b.sequence = 1;
  b.received_at_ms = 1;
  b.heartbeat_interval_s = 60;
  b.cis.push_back(this->host_update("ci-ghost", "ghost", 1));
  b.series.push_back({this->series("ci-ghost", "m"), {{1'000, 1.0}}});
  auto r = this->stores.reports->apply_report(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, StoreErrc::invalid);
  auto ci = this->stores.cmdb->find_ci("ci-ghost");
  ASSERT_TRUE(ci);
  EXPECT_FALSE(ci->has_value());
  auto samples = this->stores.series->read_samples(b.series[0].first.key, 0, 10'000, 10);
  ASSERT_TRUE(samples);
  EXPECT_TRUE(samples->empty());
}

TYPED_TEST(StoreConformance, SamplesKeepExactValuesAndRangeIsHalfOpen) {
  ASSERT_TRUE(this->stores.agents->create_agent(this->agent("agt-1")));
  const double kNaN = std::numeric_limits<double>::quiet_NaN();
  const double kInf = std::numeric_limits<double>::infinity();
  const std::vector<Sample> in{{1'000, 0.1},  {2'000, -0.0},   {3'000, kInf}, {4'000, -kInf},
                               {5'000, kNaN}, {6'000, 1e-308}, {7'000, 123456789.123456789}};
  ReportBatch b;
  b.agent_id = "agt-1";
  b.sequence = 1;
  b.received_at_ms = 10'000;
  b.heartbeat_interval_s = 60;
  b.series.push_back({this->series("ci-1", "m"), in});
  ASSERT_TRUE(this->stores.reports->apply_report(b));

  auto all = this->stores.series->read_samples(b.series[0].first.key, 1'000, 8'000, 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ((*all)[i].time_ms, in[i].time_ms);
    if (std::isnan(in[i].value)) EXPECT_TRUE(std::isnan((*all)[i].value));
    else EXPECT_EQ((*all)[i].value, in[i].value) << i;
  }
  auto window = this->stores.series->read_samples(b.series[0].first.key, 2'000, 4'000, 100);
  ASSERT_TRUE(window);
  ASSERT_EQ(window->size(), 2u);
  EXPECT_EQ((*window)[0].time_ms, 2'000);
  EXPECT_EQ((*window)[1].time_ms, 3'000);
  auto limited = this->stores.series->read_samples(b.series[0].first.key, 0, 100'000, 3);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 3u);

  // A later report repeating a stored time adds nothing, even with another value.
  ReportBatch again = b;
  again.sequence = 2;
  again.series[0].second = {{7'000, 999.0}, {8'000, 2.0}};
  again.series[0].first.unit = "By";
  ASSERT_TRUE(this->stores.reports->apply_report(again));
  auto after = this->stores.series->read_samples(b.series[0].first.key, 0, 100'000, 100);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), in.size() + 1);
  EXPECT_EQ((*after)[6].value, 123456789.123456789) << "the first value at a time stays";
  auto latest = this->stores.series->latest_samples("ci-1");
  ASSERT_TRUE(latest);
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ(latest->front().sample.value, 2.0);
  EXPECT_EQ(latest->front().series.unit, "By") << "a changed unit is stored";
}

TYPED_TEST(StoreConformance, LatestSamplesAreTheNewestPerSeries) {
  ASSERT_TRUE(this->stores.agents->create_agent(this->agent("agt-1")));
  ReportBatch b;
  b.agent_id = "agt-1";
  b.sequence = 1;
  b.received_at_ms = 10'000;
  b.heartbeat_interval_s = 60;
  b.series.push_back({this->series("ci-1", "b.metric"), {{1'000, 1.0}, {3'000, 3.0}}});
  b.series.push_back({this->series("ci-1", "a.metric", {{"state", "idle"}}), {{2'000, 2.0}}});
  b.series.push_back({this->series("ci-2", "other"), {{9'000, 9.0}}});
  ASSERT_TRUE(this->stores.reports->apply_report(b));
  auto latest = this->stores.series->latest_samples("ci-1");
  ASSERT_TRUE(latest) << latest.error().describe();
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].series.key.metric, "a.metric");
  EXPECT_EQ((*latest)[0].sample.value, 2.0);
  EXPECT_EQ((*latest)[1].series.key.metric, "b.metric");
  EXPECT_EQ((*latest)[1].sample.time_ms, 3'000);
  EXPECT_EQ((*latest)[1].sample.value, 3.0);
  auto only_b = this->stores.series->latest_samples("ci-1", "b.metric");
  ASSERT_TRUE(only_b);
  ASSERT_EQ(only_b->size(), 1u);
  EXPECT_EQ(only_b->front().sample.value, 3.0);
  EXPECT_TRUE(this->stores.series->latest_samples("ci-1", "nope")->empty());
  // Several CIs at once, in their order, as one by one.
  auto many = this->stores.series->latest_samples_of({"ci-2", "nobody", "ci-1"}, "");
  ASSERT_TRUE(many) << many.error().describe();
  ASSERT_EQ(many->size(), 3u);
  ASSERT_EQ((*many)[0].size(), 1u);
  EXPECT_EQ((*many)[0][0].sample.value, 9.0);
  EXPECT_TRUE((*many)[1].empty());
  ASSERT_EQ((*many)[2].size(), 2u);
  EXPECT_EQ((*many)[2][1].sample.value, 3.0);
  auto some = this->stores.series->latest_samples_of({"ci-1", "ci-2"}, "a.metric");
  ASSERT_TRUE(some);
  EXPECT_EQ((*some)[0].size(), 1u);
  EXPECT_TRUE((*some)[1].empty());
}

TYPED_TEST(StoreConformance, ConcurrentReportsAreAllStored) {
  ASSERT_TRUE(this->stores.agents->create_agent(this->agent("agt-1")));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int seq = t * kPerThread + i + 1;
        ReportBatch b;
        b.agent_id = "agt-1";
        b.sequence = static_cast<std::uint64_t>(seq);
        b.received_at_ms = seq;
        b.heartbeat_interval_s = 60;
        CiUpdate host;
        host.id = "ci-1";
        host.type = "host";
        host.name = "web01";
        host.source = "agent";
        host.seen_at_ms = seq;
        b.cis.push_back(host);
        b.series.push_back({SeriesInfo{SeriesKey{"ci-1", "m", {}}, "1"}, {{seq * 1000, double(seq)}}});
        auto r = this->stores.reports->apply_report(b);
        if (!r || r->outcome != ApplyOutcome::stored) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto samples = this->stores.series->read_samples(SeriesKey{"ci-1", "m", {}}, 0, 1'000'000'000, 1000);
  ASSERT_TRUE(samples);
  EXPECT_EQ(samples->size(), static_cast<std::size_t>(kThreads * kPerThread));
  auto agent = this->stores.agents->find_agent("agt-1");
  ASSERT_TRUE(agent && agent->has_value());
  EXPECT_EQ((*agent)->last_sequence, static_cast<std::uint64_t>(kThreads * kPerThread));
  auto ci = this->stores.cmdb->find_ci("ci-1");
  ASSERT_TRUE(ci && ci->has_value());
  EXPECT_EQ((*ci)->last_seen_ms, kThreads * kPerThread);
}

TYPED_TEST(StoreConformance, InventorySectionsMergeByState) {
  ASSERT_TRUE(this->stores.agents->create_agent(this->agent("agt-1")));
  auto report = [&](std::uint64_t seq, std::vector<SectionUpdate> sections) {
    ReportBatch b;
    b.agent_id = "agt-1";
    b.sequence = seq;
    b.received_at_ms = static_cast<std::int64_t>(seq) * 1000;
    b.heartbeat_interval_s = 60;
    b.inventory_ci_id = "ci-1";
    b.sections = std::move(sections);
    return this->stores.reports->apply_report(b);
  };
  auto first = report(1, {{"disks", "collected", "", "d1", R"([{"name":"sda"}])"},
                          {"hardware", "failed", "permission denied", "", ""},
                          {"packages", "empty", "", "e0", "[]"},
                          {"nics", "unchanged", "", "n0", ""}});
  ASSERT_TRUE(first) << first.error().describe();
  ASSERT_EQ(first->inventory.size(), 3u) << "an unchanged section with nothing held stores nothing";
  EXPECT_EQ(first->inventory[0], (InventorySection{"disks", "collected", "", "d1", R"([{"name":"sda"}])", 1000}));
  EXPECT_EQ(first->inventory[1], (InventorySection{"hardware", "failed", "permission denied", "", "", 1000}));
  EXPECT_EQ(first->inventory[2].name, "packages");

  // The disks section failing later keeps the disks known before.
  auto second = report(2, {{"disks", "failed", "cannot read /sys/block", "", ""},
                           {"hardware", "collected", "", "h1", R"({"system_vendor":"Dell Inc."})"},
                           {"packages", "unchanged", "", "e0", ""}});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->inventory[0], (InventorySection{"disks", "failed", "cannot read /sys/block", "d1",
                                                    R"([{"name":"sda"}])", 2000}));
  EXPECT_EQ(second->inventory[1].state, "collected");
  EXPECT_EQ(second->inventory[1].data_json, R"({"system_vendor":"Dell Inc."})");
  EXPECT_EQ(second->inventory[2].updated_ms, 1000) << "unchanged is not rewritten";

  auto held = this->stores.inventory->get_inventory("ci-1");
  ASSERT_TRUE(held) << held.error().describe();
  EXPECT_EQ(*held, second->inventory);

  // A replayed report changes nothing and reports what is held.
  auto dup = report(1, {{"disks", "collected", "", "zz", "[]"}});
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->outcome, ApplyOutcome::duplicate);
  EXPECT_EQ(dup->inventory, second->inventory);
  auto none = this->stores.inventory->get_inventory("ci-other");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(SqliteStore, DataSurvivesReopening) {
  TempDir dir;
  const std::string url = "sqlite:" + dir.file("s.db");
  {
    auto s = backends::open_stores(url);
    ASSERT_TRUE(s);
    CiUpdate u;
    u.id = "ci-1";
    u.type = "host";
    u.name = "web01";
    u.source = "agent";
    u.seen_at_ms = 5;
    ASSERT_TRUE(s->cmdb->upsert_ci(u));
  }
  auto s = backends::open_stores(url);
  ASSERT_TRUE(s);
  auto ci = s->cmdb->find_ci("ci-1");
  ASSERT_TRUE(ci && ci->has_value());
  EXPECT_EQ((*ci)->name, "web01");
}

TEST(SqliteStore, RefusesAPathItCannotCreate) {
  auto s = backends::open_stores("sqlite:/nonexistent-dir/x/y.db");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, StoreErrc::unavailable);
}

TEST(RedisStore, UnreachableServerIsUnavailableNotACrash) {
  const auto port = test::free_port();  // nothing listens there
  auto s = backends::open_stores("redis://127.0.0.1:" + std::to_string(port) + "/x");
  ASSERT_TRUE(s);
  auto st = s->health->ping();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, StoreErrc::unavailable);
  auto a = s->agents->find_agent("agt-1");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, StoreErrc::unavailable);
}

TEST(StoreUrl, BadUrlsAreRefusedWithAReason) {
  for (const char* url : {"", "mysql://x", "sqlite:", "sqlite:/tmp/x.db?foo=bar", "redis://"}) {
    auto s = backends::open_stores(url);
    EXPECT_FALSE(s) << url;
    if (!s) {
      EXPECT_EQ(s.error().code, StoreErrc::invalid) << url;
    }
  }
}

}  // namespace
}  // namespace surveyor::collector::store
