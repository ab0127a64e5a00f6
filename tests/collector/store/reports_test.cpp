// SPDX-License-Identifier: Apache-2.0
// One agent report applied on both backends: once (the window of
// sequences: window_test.cpp), in order, from known agents only,
// concurrently, with its inventory merged by state and its host's
// components followed in the same transaction.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

SURVEYOR_STORE_SUITE(ReportConformance);

// max_series: a report that would take the host past it is refused whole
// (nothing of it written, its sequence not taken), naming the bound; the
// host's existing series go on being stored.
TYPED_TEST(ReportConformance, ASeriesLimitRefusesAReportThatAddsSeriesBeyondIt) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  const auto batch = [](std::uint64_t seq, int series, std::int64_t t) {
    ReportBatch b = report_batch("agt-1", seq, t);
    b.max_series = 4;
    for (int i = 0; i < series; ++i) {
      b.series.push_back({series_info("ci-agt-1", "m" + std::to_string(i)), {{t, static_cast<double>(i)}}});
    }
    return b;
  };
  auto first = this->stores.reports->apply_report(batch(1, 3, 10'000));
  ASSERT_TRUE(first) << first.error().describe();

  auto refused = this->stores.reports->apply_report(batch(2, 5, 20'000));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, StoreErrc::limit);
  EXPECT_NE(refused.error().message.find("CI ci-agt-1 has 3 series and the report adds 2; the collector's "
                                         "max_series_per_agent is 4"),
            std::string::npos)
      << refused.error().message;
  auto listed = this->stores.series->list_series("ci-agt-1");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 3u);
  auto m0 = this->stores.series->read_samples(series_info("ci-agt-1", "m0").key, 0, 1'000'000, 10);
  ASSERT_TRUE(m0);
  EXPECT_EQ(m0->size(), 1u) << "nothing of the refused report is stored";

  // The existing series: stored. Then one more series
  // reaches the bound exactly; the refused report's sequence was not taken.
  auto known = this->stores.reports->apply_report(batch(3, 3, 30'000));
  ASSERT_TRUE(known) << known.error().describe();
  EXPECT_EQ(known->outcome, ApplyOutcome::stored);
  auto at_bound = this->stores.reports->apply_report(batch(2, 4, 40'000));
  ASSERT_TRUE(at_bound) << at_bound.error().describe();
  EXPECT_EQ(at_bound->outcome, ApplyOutcome::stored);
  listed = this->stores.series->list_series("ci-agt-1");
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 4u);
  m0 = this->stores.series->read_samples(series_info("ci-agt-1", "m0").key, 0, 1'000'000, 10);
  ASSERT_TRUE(m0);
  EXPECT_EQ(m0->size(), 3u);
  // Without a bound any number may be added.
  ReportBatch unbounded = batch(5, 6, 50'000);
  unbounded.max_series = 0;
  auto taken = this->stores.reports->apply_report(unbounded);
  ASSERT_TRUE(taken) << taken.error().describe();
}

// A report carries the key hash and CI its agent was authenticated with
// (the intake remembers agents between reports): the store checks both in
// the report's transaction. A key revoked or rotated, or the CI reassigned,
// since: StoreErrc::changed, nothing written, duplicates included.
TYPED_TEST(ReportConformance, AReportCheckedAgainstAnOutOfDateKeyOrCiWritesNothing) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  const std::string key(64, 'a');
  const auto batch = [&](std::uint64_t seq, const std::string& hash, const std::string& ci) {
    ReportBatch b = report_batch("agt-1", seq, 10'000 * static_cast<std::int64_t>(seq));
    b.agent_key_hash = hash;
    b.inventory_ci_id = ci;
    b.series.push_back({series_info("ci-agt-1", "m"), {{10'000 * static_cast<std::int64_t>(seq), 1.0}}});
    return b;
  };
  auto samples = [&] {
    auto got = this->stores.series->read_samples(series_info("ci-agt-1", "m").key, 0, 1'000'000, 10);
    EXPECT_TRUE(got);
    return got ? got->size() : 0u;
  };
  auto first = this->stores.reports->apply_report(batch(1, key, "ci-agt-1"));
  ASSERT_TRUE(first) << first.error().describe();
  ASSERT_EQ(samples(), 1u);

  for (const auto& [hash, ci] : {std::pair{std::string(64, 'b'), std::string("ci-agt-1")},
                                 std::pair{key, std::string("ci-other")}}) {
    for (std::uint64_t seq : {2u, 1u}) {  // a new report, and a duplicate
      auto stale = this->stores.reports->apply_report(batch(seq, hash, ci));
      ASSERT_FALSE(stale) << "sequence " << seq;
      EXPECT_EQ(stale.error().code, StoreErrc::changed);
      EXPECT_NE(stale.error().message.find("agent agt-1 changed"), std::string::npos) << stale.error().message;
    }
  }
  EXPECT_EQ(samples(), 1u) << "nothing of the refused reports is stored";
  auto agent = this->stores.agents->find_agent("agt-1");
  ASSERT_TRUE(agent && *agent);
  EXPECT_EQ((*agent)->last_sequence, 1u) << "their sequences were not taken";

  ASSERT_TRUE(*this->stores.agents->revoke_agent("agt-1"));
  auto revoked = this->stores.reports->apply_report(batch(2, key, "ci-agt-1"));
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().code, StoreErrc::changed);
  ReportBatch unchecked = batch(2, "", "ci-agt-1");  // no key to check: as before
  auto stored = this->stores.reports->apply_report(unchecked);
  ASSERT_TRUE(stored) << stored.error().describe();
  EXPECT_EQ(samples(), 2u);
}

// A series' unit is the one its latest report gave.
TYPED_TEST(ReportConformance, ASeriesKeepsTheUnitOfItsLatestReport) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    ReportBatch b = report_batch("agt-1", seq, 10'000 * static_cast<std::int64_t>(seq));
    SeriesInfo info = series_info("ci-agt-1", "m");
    info.unit = seq == 2 ? "By" : "1";
    b.series.push_back({info, {{10'000 * static_cast<std::int64_t>(seq), 1.0}}});
    ASSERT_TRUE(this->stores.reports->apply_report(b));
    auto listed = this->stores.series->list_series("ci-agt-1");
    ASSERT_TRUE(listed && listed->size() == 1u);
    EXPECT_EQ((*listed)[0].unit, info.unit) << "after report " << seq;
  }
}

TYPED_TEST(ReportConformance, ReportIsAppliedOnceAndDuplicatesChangeNothing) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  ReportBatch b = report_batch("agt-1", 7, 60'000);
  b.inventory_digest = std::string(64, 'f');
  CiUpdate host = host_update("ci-agt-1", "web01", 60'000);
  host.attributes = {{"cpu.cores", std::int64_t{2}}};
  b.cis.push_back(host);
  b.series.push_back({series_info("ci-agt-1", "system.cpu.utilization"), {{10'000, 0.5}, {20'000, 0.25}}});
  b.series.push_back({series_info("ci-agt-1", "system.filesystem.usage", {{"mountpoint", "/"}, {"state", "used"}}),
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

TYPED_TEST(ReportConformance, OlderSequenceArrivingLateIsStoredAndStateOnlyMovesForward) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  ReportBatch later = report_batch("agt-1", 5, 50'000);
  ASSERT_TRUE(this->stores.reports->apply_report(later));
  ReportBatch earlier = later;
  earlier.sequence = 4;
  earlier.received_at_ms = 40'000;
  earlier.series.push_back({series_info("ci-agt-1", "m"), {{1'000, 1.0}}});
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

TYPED_TEST(ReportConformance, ReportFromUnknownAgentStoresNothing) {
  ReportBatch b = report_batch("agt-ghost", 1, 1);
  b.cis.push_back(host_update("ci-ghost", "ghost", 1));
  b.series.push_back({series_info("ci-ghost", "m"), {{1'000, 1.0}}});
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

TYPED_TEST(ReportConformance, ConcurrentReportsAreAllStored) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int seq = t * kPerThread + i + 1;
        ReportBatch b = report_batch("agt-1", static_cast<std::uint64_t>(seq), seq);
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

// Groups on Redis: reports of different agents that arrive together share a
// round trip of reads and one MULTI/EXEC; a report from an unknown agent
// among them fails alone, and every good one is stored once.
using RedisGroups = OnBackend<RedisBackend>;

TEST_F(RedisGroups, ConcurrentReportsShareTransactionsAndABadOneFailsAlone) {
  constexpr int kThreads = 32;  // four times the pool's connections: reports queue, and groups form
  constexpr int kPerThread = 20;
  for (int t = 1; t < kThreads; ++t) add_agent("agt-" + std::to_string(t), "ci-" + std::to_string(t));
  std::vector<std::thread> threads;
  std::atomic<int> good_failed{0}, bad_passed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int seq = i + 1;
        const bool bad = t == 0;  // thread 0's agent was never enrolled
        const std::string ci = "ci-" + std::to_string(t);
        ReportBatch b = report_batch("agt-" + std::to_string(t), static_cast<std::uint64_t>(seq), seq);
        b.cis.push_back(host_update(ci, "host-" + std::to_string(t), seq));
        b.series.push_back({SeriesInfo{SeriesKey{ci, "m", {}}, "1"}, {{seq * 1000, double(t)}}});
        auto r = stores.reports->apply_report(b);
        if (bad && r) ++bad_passed;
        if (!bad && (!r || r->outcome != ApplyOutcome::stored)) ++good_failed;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good_failed.load(), 0);
  EXPECT_EQ(bad_passed.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    auto samples = stores.series->read_samples(SeriesKey{"ci-" + std::to_string(t), "m", {}}, 0, 1'000'000, 1000);
    ASSERT_TRUE(samples);
    ASSERT_EQ(samples->size(), t == 0 ? 0u : static_cast<std::size_t>(kPerThread)) << t;
    for (const Sample& x : *samples) EXPECT_EQ(x.value, double(t)) << "a report's samples went to its own series";
  }
  auto ghost = stores.cmdb->find_ci("ci-0");
  ASSERT_TRUE(ghost);
  EXPECT_FALSE(ghost->has_value()) << "the failed reports wrote nothing";
  const CommitStats stats = stores.reports->commit_stats();
  EXPECT_EQ(stats.reports, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LT(stats.commits, static_cast<std::uint64_t>((kThreads - 1) * kPerThread))
      << "reports waiting together were committed together";
}

// Two collectors on one Redis receive the same reports (agents resending
// to the other after a timeout): groups of each race the other's on every
// agent, and each report is stored exactly once, the other copy answered
// as a duplicate.
TEST_F(RedisGroups, TwoCollectorsRacingOnTheSameReportsStoreEachOnce) {
  constexpr int kAgents = 8;
  constexpr int kReports = 40;
  for (int a = 1; a <= kAgents; ++a) add_agent("agt-" + std::to_string(a), "ci-" + std::to_string(a));
  auto other = backends::open_stores(backend.url());
  ASSERT_TRUE(other) << other.error().describe();
  std::atomic<int> stored{0}, duplicates{0}, failed{0};
  std::vector<std::thread> threads;
  for (Stores* s : {&stores, &*other})
    for (int a = 1; a <= kAgents; ++a)
      threads.emplace_back([&, s, a] {
        for (int i = 1; i <= kReports; ++i) {
          // The two collectors see an agent's reports in opposite orders.
          const int seq = s == &stores ? i : kReports + 1 - i;
          const std::string ci = "ci-" + std::to_string(a);
          ReportBatch b = report_batch("agt-" + std::to_string(a), static_cast<std::uint64_t>(seq), seq);
          b.cis.push_back(host_update(ci, "host-" + std::to_string(a), seq));
          b.series.push_back({SeriesInfo{SeriesKey{ci, "m", {}}, "1"}, {{seq * 1000, double(a)}}});
          auto r = s->reports->apply_report(b);
          if (!r) ++failed;
          else if (r->outcome == ApplyOutcome::stored) ++stored;
          else ++duplicates;
        }
      });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(stored.load(), kAgents * kReports);
  EXPECT_EQ(duplicates.load(), kAgents * kReports);
  for (int a = 1; a <= kAgents; ++a) {
    auto samples = stores.series->read_samples(SeriesKey{"ci-" + std::to_string(a), "m", {}}, 0, 1'000'000, 1000);
    ASSERT_TRUE(samples);
    ASSERT_EQ(samples->size(), static_cast<std::size_t>(kReports)) << a;
    for (const Sample& x : *samples) EXPECT_EQ(x.value, double(a));
    auto agent = stores.agents->find_agent("agt-" + std::to_string(a));
    ASSERT_TRUE(agent && agent->has_value());
    EXPECT_EQ((*agent)->last_sequence, static_cast<std::uint64_t>(kReports));
  }
}

// Group commit (SQLite): reports from many threads share transactions; a bad
// report among them fails alone and every good one is stored.
TEST(SqliteGroupCommit, ConcurrentReportsShareCommitsAndABadOneFailsAlone) {
  test::TempDir dir;
  backends::StoreSettings settings;
  settings.group_commit_max = 16;
  settings.group_commit_delay = std::chrono::milliseconds(20);  // gather whoever comes
  auto stores = backends::open_stores("sqlite:" + dir.file("s.db"), settings);
  ASSERT_TRUE(stores) << stores.error().describe();
  ASSERT_TRUE(stores->agents->create_agent(agent_record("agt-1")));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20;
  std::vector<std::thread> threads;
  std::atomic<int> good_failed{0}, bad_passed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int seq = t * kPerThread + i + 1;
        // Every fifth report of thread 0 comes from an agent nobody enrolled.
        const bool bad = t == 0 && i % 5 == 0;
        const std::string ci = bad ? "ci-ghost-" + std::to_string(seq) : "ci-1";
        ReportBatch b = report_batch(bad ? "agt-ghost" : "agt-1", static_cast<std::uint64_t>(seq), seq);
        b.cis.push_back(host_update(ci, bad ? "ghost" : "web01", seq));
        b.series.push_back({SeriesInfo{SeriesKey{ci, "m", {}}, "1"}, {{seq * 1000, double(seq)}}});
        auto r = stores->reports->apply_report(b);
        if (bad && r) ++bad_passed;
        if (!bad && (!r || r->outcome != ApplyOutcome::stored)) ++good_failed;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good_failed.load(), 0);
  EXPECT_EQ(bad_passed.load(), 0);
  const int bad_count = kPerThread / 5;
  auto samples = stores->series->read_samples(SeriesKey{"ci-1", "m", {}}, 0, 1'000'000'000, 1000);
  ASSERT_TRUE(samples);
  EXPECT_EQ(samples->size(), static_cast<std::size_t>(kThreads * kPerThread - bad_count));
  for (int i = 0; i < kPerThread; i += 5) {
    auto ghost = stores->cmdb->find_ci("ci-ghost-" + std::to_string(i + 1));
    ASSERT_TRUE(ghost);
    EXPECT_FALSE(ghost->has_value()) << "a failed report's CI is rolled back with it";
  }
  const CommitStats stats = stores->reports->commit_stats();
  EXPECT_EQ(stats.reports, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LT(stats.commits, stats.reports) << "reports waiting together were committed together";
  EXPECT_GE(stats.commits, stats.reports / settings.group_commit_max);
  // Reopened, the file holds the same: what was acknowledged was committed.
  stores = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(stores);
  auto again = stores->series->read_samples(SeriesKey{"ci-1", "m", {}}, 0, 1'000'000'000, 1000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), samples->size());
}

// group_commit_delay bounds how long a group gathers, not how long it
// waits once it is full: reports that fill it are applied at once.
TEST(SqliteGroupCommit, AGroupFilledBeforeItsDelayIsAppliedAtOnce) {
  test::TempDir dir;
  backends::StoreSettings settings;
  settings.group_commit_max = 4;
  settings.group_commit_delay = std::chrono::minutes(2);
  auto stores = backends::open_stores("sqlite:" + dir.file("s.db"), settings);
  ASSERT_TRUE(stores) << stores.error().describe();
  ASSERT_TRUE(stores->agents->create_agent(agent_record("agt-1")));
  std::vector<std::future<bool>> done;
  const auto send = [&](int i) {
    done.push_back(std::async(std::launch::async, [&, i] {
      ReportBatch b = report_batch("agt-1", static_cast<std::uint64_t>(i), i * 1000);
      b.series.push_back({SeriesInfo{SeriesKey{"ci-1", "m", {}}, "1"}, {{i * 1000, double(i)}}});
      auto r = stores->reports->apply_report(b);
      return r && r->outcome == ApplyOutcome::stored;
    }));
  };
  // A lone report waits for its group to fill (and the writer is then
  // gathering when the others come)...
  send(1);
  EXPECT_EQ(done[0].wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  // ...which the next three do.
  for (int i = 2; i <= 4; ++i) send(i);
  for (auto& d : done) {
    // Far less than the delay: a group that waited it out never returns here.
    ASSERT_EQ(d.wait_for(std::chrono::seconds(60)), std::future_status::ready);
    EXPECT_TRUE(d.get());
  }
  const CommitStats stats = stores->reports->commit_stats();
  EXPECT_EQ(stats.reports, 4u);
  EXPECT_EQ(stats.commits, 1u) << "the four in one group";
}

TYPED_TEST(ReportConformance, InventorySectionsMergeByState) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  auto report = [&](std::uint64_t seq, std::vector<SectionUpdate> sections) {
    ReportBatch b = report_batch("agt-1", seq, static_cast<std::int64_t>(seq) * 1000);
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

  // A replayed report changes nothing and reports what is held: its
  // sections' states and digests (a backend may leave out their data).
  auto dup = report(1, {{"disks", "collected", "", "zz", "[]"}});
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->outcome, ApplyOutcome::duplicate);
  auto without_data = [](std::vector<InventorySection> v) {
    for (InventorySection& x : v) x.data_json.clear();
    return v;
  };
  EXPECT_EQ(without_data(dup->inventory), without_data(second->inventory));
  // So does a report that changes no section.
  auto plain = report(3, {});
  ASSERT_TRUE(plain);
  EXPECT_EQ(without_data(plain->inventory), without_data(second->inventory));
  // And, asked again after a section changed, the new state and digest
  // (however a backend keeps what it answers with between reports).
  auto third = report(4, {{"packages", "collected", "", "p1", R"([{"name":"bash"}])"}});
  ASSERT_TRUE(third);
  auto after = report(5, {});
  ASSERT_TRUE(after);
  ASSERT_EQ(after->inventory.size(), 3u);
  EXPECT_EQ(after->inventory[2].digest, "p1");
  EXPECT_EQ(after->inventory[2].updated_ms, 4000);
  EXPECT_EQ(without_data(after->inventory), without_data(third->inventory));
  auto replayed = report(3, {});
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->outcome, ApplyOutcome::duplicate);
  EXPECT_EQ(without_data(replayed->inventory), without_data(third->inventory));
  auto none = this->stores.inventory->get_inventory("ci-other");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

// Redis keeps each inventory's digests beside it for the reports without
// inventory; a store written before they existed gets them at the next
// inventory report (the missing digests make the collector ask for it).
TEST(RedisReports, InventoryDigestsAreRebuiltForAStoreWrittenWithoutThem) {
  RedisBackend backend;
  auto stores = backends::open_stores(backend.url());
  ASSERT_TRUE(stores) << stores.error().describe();
  ASSERT_TRUE(stores->agents->create_agent(agent_record("agt-1")));
  auto report = [&](std::uint64_t seq, std::vector<SectionUpdate> sections) {
    ReportBatch b = report_batch("agt-1", seq, static_cast<std::int64_t>(seq) * 1000);
    b.inventory_ci_id = "ci-1";
    b.sections = std::move(sections);
    return stores->reports->apply_report(b);
  };
  const std::vector<SectionUpdate> full = {{"disks", "collected", "", "d1", R"([{"name":"sda"}])"},
                                           {"packages", "collected", "", "p1", R"([{"name":"bash"}])"}};
  ASSERT_TRUE(report(1, full));
  auto plain = report(2, {});
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->inventory.size(), 2u);
  EXPECT_EQ(plain->inventory[1].digest, "p1");
  EXPECT_EQ(plain->inventory[1].data_json, "") << "the digests, not the data";

  const auto a = test::test_redis();
  (void)test::run_command("redis-cli -h " + a.host + " -p " + std::to_string(a.port) + " DEL " + backend.prefix +
                          ":inventory-digests:ci-1");
  auto before = report(3, {});
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->inventory.empty()) << "no digests: the inventory will be asked for";
  ASSERT_TRUE(report(4, full));  // the same sections again: nothing to write but the digests
  auto after = report(5, {});
  ASSERT_TRUE(after);
  ASSERT_EQ(after->inventory.size(), 2u);
  EXPECT_EQ(after->inventory[0].digest, "d1");
  auto held = stores->inventory->get_inventory("ci-1");
  ASSERT_TRUE(held);
  EXPECT_EQ((*held)[1].data_json, R"([{"name":"bash"}])") << "the data stays in the inventory itself";

  // Records are read member by member: others, nested ones among them, and
  // members of another type are skipped; a damaged record fails the report
  // with a clear error and changes nothing.
  auto set_disks = [&](const std::string& record) {
    (void)test::run_command("redis-cli -h " + a.host + " -p " + std::to_string(a.port) + " HSET " + backend.prefix +
                            ":inventory-digests:ci-1 disks '" + record + "'");
  };
  set_disks(R"({"extra":{"state":"no","x":[1,{"digest":"no"}]},"state":"collected","reason":3,"digest":"d9","updated_ms":7})");
  auto odd = report(6, {});
  ASSERT_TRUE(odd) << odd.error().describe();
  ASSERT_EQ(odd->inventory.size(), 2u);
  EXPECT_EQ(odd->inventory[0].name, "disks");
  EXPECT_EQ(odd->inventory[0].state, "collected");
  EXPECT_EQ(odd->inventory[0].digest, "d9");
  EXPECT_EQ(odd->inventory[0].reason, "");
  EXPECT_EQ(odd->inventory[0].updated_ms, 7);
  std::uint64_t seq = 7;
  for (const std::string bad : {R"({"state":"collected")", "[1]", R"("collected")", "", R"({"a":1} {})"}) {
    set_disks(bad);
    auto refused = report(seq++, {});
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, StoreErrc::corrupt) << bad;
    EXPECT_NE(refused.error().message.find("inventory section disks unreadable"), std::string::npos) << bad;
  }
  ASSERT_TRUE(report(seq++, full));  // the inventory again rewrites the digests
  auto mended = report(seq++, {});
  ASSERT_TRUE(mended) << mended.error().describe();
  EXPECT_EQ(mended->inventory[0].digest, "d1");
}

// The host's components and their contains links are part of the report:
// applied with it, once, and not at all when the report is refused.
TYPED_TEST(ReportConformance, ComponentsAndTheirLinksAreAppliedWithTheReport) {
  Stores& s = this->stores;
  ASSERT_TRUE(s.agents->create_agent(agent_record("agt-1")));
  const std::string host = "ci-agt-1";
  auto disk = [](const std::string& id, std::int64_t at) {
    CiUpdate u = host_update(id, id, at);
    u.type = "disk";
    return u;
  };
  auto report = [&](const std::string& agent, std::uint64_t seq, std::int64_t at, std::vector<std::string> disks) {
    ReportBatch b = report_batch(agent, seq, at);
    b.cis.push_back(host_update(host, "web01", at));
    for (const std::string& d : disks) b.cis.push_back(disk(d, at));
    b.inventory_ci_id = host;
    b.components = ComponentKinds{{"disk-", std::move(disks)}};
    return s.reports->apply_report(b);
  };
  auto contained = [&] {
    std::vector<std::string> out;
    auto held = s.relations->relationships_of(host);
    if (!held) return std::vector<std::string>{"error: " + held.error().describe()};
    for (const Relationship& r : *held)
      if (r.from == host && r.type == "contains") out.push_back(r.to + " by " + r.origin);
    return out;
  };
  using Names = std::vector<std::string>;

  ASSERT_TRUE(report("agt-1", 1, 1'000, {"disk-a", "disk-b"}));
  EXPECT_EQ(contained(), (Names{"disk-a by agent", "disk-b by agent"}));
  // A person's link to a disk the agent does not report stays theirs.
  CiUpdate spare = disk("disk-p", 1'500);
  spare.source = "api";
  ASSERT_TRUE(s.cmdb->upsert_ci(spare));
  ASSERT_TRUE(s.relations->add_relationship({host, "contains", "disk-p", "user", 1'500}, ""));

  // disk-b pulled: its link goes and it is retired, in the same report.
  ASSERT_TRUE(report("agt-1", 2, 2'000, {"disk-a"}));
  EXPECT_EQ(contained(), (Names{"disk-a by agent", "disk-p by user"}));
  auto b = s.cmdb->find_ci("disk-b");
  ASSERT_TRUE(b && *b);
  EXPECT_EQ((*b)->state, CiState::retired);
  auto trail = s.audit->list_audit({.ci_id = host});
  ASSERT_TRUE(trail) << trail.error().describe();
  EXPECT_TRUE(std::any_of(trail->begin(), trail->end(), [](const AuditRecord& a) {
    return a.kind == "relationship" && a.key == "contains disk-b" && a.old_value == "true" && a.time_ms == 2'000;
  })) << "the link's removal is on the host's audit trail";

  // A replay of the first report changes nothing: disk-b stays gone.
  auto dup = report("agt-1", 1, 1'000, {"disk-a", "disk-b"});
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->outcome, ApplyOutcome::duplicate);
  EXPECT_EQ(contained(), (Names{"disk-a by agent", "disk-p by user"}));

  // A refused report (its agent is unknown) links nothing.
  EXPECT_FALSE(report("agt-ghost", 1, 3'000, {"disk-a", "disk-n"}));
  EXPECT_EQ(contained(), (Names{"disk-a by agent", "disk-p by user"}));
  auto n = s.cmdb->find_ci("disk-n");
  ASSERT_TRUE(n);
  EXPECT_FALSE(*n);
}

}  // namespace
}  // namespace surveyor::collector::store
