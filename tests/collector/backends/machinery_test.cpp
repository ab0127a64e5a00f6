// SPDX-License-Identifier: Apache-2.0
// The transaction machinery under both stores, tested directly: an error or
// an exception in the middle of a write leaves the connection usable, and
// nothing half-begun or half-watched is handed to the next caller.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <unistd.h>

#include "redis/redis_conn.hpp"
#include "store/fixture.hpp"
#include "surveyor/collector/backends/open.hpp"
#include "sqlite/event_query.hpp"
#include "sqlite/sqlite_db.hpp"
#include "surveyor/collector/sqlite/sqlite_stores.hpp"
#include "test_support.hpp"

namespace surveyor::collector {
namespace {

std::unique_ptr<sqlite::Connection> open_db(const test::TempDir& dir) {
  auto c = sqlite::Connection::open(dir.file("t.db"), false);
  EXPECT_TRUE(c) << c.error().describe();
  EXPECT_TRUE((*c)->exec("CREATE TABLE t(x INTEGER)"));
  return std::move(*c);
}

std::int64_t count_rows(sqlite::Connection& c) {
  auto s = c.prepare("SELECT COUNT(*) FROM t");
  EXPECT_TRUE(s);
  EXPECT_EQ((*s)->step(), SQLITE_ROW);
  return (*s)->int64(0);
}

core::Result<bool> insert(sqlite::Connection& c) {
  auto s = c.prepare("INSERT INTO t(x) VALUES(1)");
  if (!s) return std::move(s).error();
  if (int rc = (*s)->step(); rc != SQLITE_DONE) return c.error(rc, "insert");
  return true;
}

TEST(SqliteTransaction, AThrowInsideRollsBackAndTheNextWriteSucceeds) {
  test::TempDir dir;
  auto c = open_db(dir);
  EXPECT_THROW((void)sqlite::in_transaction<bool>(*c,
                                                  [&]() -> core::Result<bool> {
                                                    EXPECT_TRUE(insert(*c));
                                                    throw std::runtime_error("injected");
                                                  }),
               std::runtime_error);
  EXPECT_EQ(count_rows(*c), 0) << "the row written before the throw is rolled back";
  auto next = sqlite::in_transaction<bool>(*c, [&] { return insert(*c); });
  ASSERT_TRUE(next) << next.error().describe();
  EXPECT_EQ(count_rows(*c), 1);
}

TEST(SqliteTransaction, AnErrorInsideRollsBack) {
  test::TempDir dir;
  auto c = open_db(dir);
  auto r = sqlite::in_transaction<bool>(*c, [&]() -> core::Result<bool> {
    EXPECT_TRUE(insert(*c));
    return core::make_error(store::StoreErrc::invalid, "injected");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(count_rows(*c), 0);
  EXPECT_TRUE(sqlite::in_transaction<bool>(*c, [&] { return insert(*c); }));
}

TEST(SqliteTransaction, ASnapshotThatCannotBeginIsAnError) {
  test::TempDir dir;
  auto c = open_db(dir);
  ASSERT_TRUE(c->exec("BEGIN"));  // a connection already inside a transaction
  auto snap = sqlite::ReadSnapshot::begin(*c);
  ASSERT_FALSE(snap) << "no read may run as if it had a snapshot of its own";
  EXPECT_NE(snap.error().describe().find("within a transaction"), std::string::npos) << snap.error().describe();
  ASSERT_TRUE(c->exec("COMMIT"));
  auto ok = sqlite::ReadSnapshot::begin(*c);
  ASSERT_TRUE(ok) << ok.error().describe();
}

redis::Pool test_pool(std::size_t max) {
  const auto a = test::test_redis();
  return redis::Pool(redis::Locator(redis::RedisAddress{a.host, a.port}), std::chrono::seconds(5), max);
}

// The SQLite stores at o.path, with agent agt-1 (key hash "a" x 64) of ci-1.
std::optional<store::Stores> stores_with_agent(const sqlite::SqliteOptions& o) {
  auto stores = sqlite::open_sqlite(o);
  EXPECT_TRUE(stores) << stores.error().describe();
  if (!stores) return std::nullopt;
  store::AgentRecord a;
  a.id = "agt-1";
  a.key_hash = std::string(64, 'a');
  a.ci_id = "ci-1";
  EXPECT_TRUE(stores->agents->create_agent(a));
  return std::move(*stores);
}

// Report groups on SQLite commit without the fsync and are acknowledged
// once a sync of the write-ahead log after their commit has returned; one
// sync may serve several commits. The log is checkpointed beside the writer
// and, though the writer never stops, starts again from its beginning: it
// stays far shorter than all that was written through it.
TEST(SqliteWal, GroupsAreSyncedAfterTheirCommitAndTheLogStartsAgainUnderLoad) {
  test::TempDir dir;
  sqlite::SqliteOptions o;
  o.path = dir.file("w.db");
  o.checkpoint_frames = 40;  // 160 KiB of 4 KiB pages
  auto stores = stores_with_agent(o);
  ASSERT_TRUE(stores);
  constexpr int kThreads = 4, kReports = 400;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kReports; ++i) {
        store::ReportBatch b;
        b.agent_id = "agt-1";
        b.sequence = static_cast<std::uint64_t>(t * kReports + i + 1);
        b.received_at_ms = 1'000;
        b.agent_key_hash = std::string(64, 'a');
        b.inventory_ci_id = "ci-1";
        // A series of its own per report: new rows in several tables.
        std::vector<store::Sample> samples;
        for (int k = 0; k < 50; ++k) samples.push_back({1'000 + k * 60'000, static_cast<double>(k * i)});
        b.series.push_back({{{"ci-1", "m" + std::to_string(b.sequence), {}}, "1"}, std::move(samples)});
        if (!stores->reports->apply_report(b)) ++failed;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  const store::CommitStats st = stores->reports->commit_stats();
  EXPECT_EQ(st.reports, static_cast<std::uint64_t>(kThreads * kReports));
  EXPECT_GE(st.wal_syncs, 1u);
  EXPECT_LE(st.wal_syncs, st.commits) << "a sync per commit at most";
  EXPECT_GE(st.checkpoints + st.inline_checkpoints, 1u);
  // Everything written went through the log...
  auto written = stores->series->list_series("ci-1");
  ASSERT_TRUE(written);
  EXPECT_EQ(written->size(), static_cast<std::size_t>(kThreads * kReports));
  // (each commit at least two pages, the agent's and the sequence's)...
  const std::uint64_t through_log = st.wal_frames_logged * 4096;
  const auto wal_bytes = std::filesystem::file_size(o.path + "-wal");
  EXPECT_GE(st.wal_frames_logged, 2 * st.commits);
  EXPECT_GT(through_log, 4u << 20) << "too few commits to tell";
  // ...which held a fraction of it at any time: it started again.
  EXPECT_LT(wal_bytes, through_log / 4) << "WAL " << wal_bytes << " bytes after " << st.commits << " commits";
}

// Every other write (a CI, an agent, a step's timelines) commits without
// the fsync too and returns once the WAL is synced past it; a write that
// changes nothing waits for no sync of its own (the log has been synced
// since the store opened), and with synchronous = NORMAL none does. A step of timelines goes in parts of 512 subjects, each its own
// commit, every subject written once.
TEST(SqliteWal, OtherWritesAreSyncedAfterTheirCommitAndTimelinesGoInParts) {
  for (const bool full : {true, false}) {
    SCOPED_TRACE(full ? "synchronous = FULL" : "synchronous = NORMAL");
    test::TempDir dir;
    sqlite::SqliteOptions o;
    o.path = dir.file("w.db");
    o.synchronous_full = full;
    auto stores = stores_with_agent(o);
    ASSERT_TRUE(stores);
    const auto syncs = [&] { return stores->reports->commit_stats().wal_syncs; };
    const std::uint64_t after_agent = syncs();
    EXPECT_EQ(after_agent, full ? 1u : 0u) << "the agent's row";

    ASSERT_TRUE(stores->cmdb->upsert_ci({.id = "ci-2", .type = "host", .name = "db01", .source = "user", .seen_at_ms = 1'000}));
    EXPECT_EQ(syncs(), after_agent + (full ? 1 : 0));
    auto unknown = stores->agents->revoke_agent("agt-nobody");
    ASSERT_TRUE(unknown);
    EXPECT_FALSE(*unknown);
    EXPECT_EQ(syncs(), after_agent + (full ? 1 : 0)) << "nothing changed, nothing to sync";

    std::vector<store::StateInterval> step;
    for (int i = 0; i < 1'200; ++i) step.push_back({"host-" + std::to_string(i), 0, 10'000, store::Availability::up});
    const std::uint64_t before_step = syncs();
    ASSERT_TRUE(stores->timelines->record_states(step));
    EXPECT_EQ(syncs(), before_step + (full ? 3 : 0)) << "1,200 subjects in parts of 512";
    ASSERT_TRUE(stores->timelines->record_states(step));
    EXPECT_EQ(syncs(), before_step + (full ? 3 : 0)) << "written already: no change";
    for (const char* subject : {"host-0", "host-511", "host-512", "host-1199"}) {
      auto t = stores->timelines->read_timeline(subject, 0, 20'000);
      ASSERT_TRUE(t);
      EXPECT_EQ(*t, (std::vector<store::StateInterval>{{subject, 0, 10'000, store::Availability::up}})) << subject;
    }
  }
}

// SQLite keeps the WAL beside the real file when the database's path is a
// symbolic link: that file is the one synced before reports are answered.
TEST(SqliteWal, ADatabaseReachedThroughASymlinkHasItsRealWalSynced) {
  test::TempDir dir;
  std::filesystem::create_directory(dir.file("real"));
  std::filesystem::create_symlink(dir.file("real") + "/w.db", dir.file("link.db"));
  sqlite::SqliteOptions o;
  o.path = dir.file("link.db");
  auto stores = stores_with_agent(o);
  ASSERT_TRUE(stores);
  store::ReportBatch b;
  b.agent_id = "agt-1";
  b.sequence = 1;
  b.received_at_ms = 1'000;
  b.series.push_back({{{"ci-1", "m", {}}, "1"}, {{1'000, 1.0}}});
  const std::uint64_t before = stores->reports->commit_stats().wal_syncs;  // the agent's row
  auto applied = stores->reports->apply_report(b);
  ASSERT_TRUE(applied) << applied.error().describe();
  EXPECT_EQ(stores->reports->commit_stats().wal_syncs, before + 1);
  EXPECT_TRUE(std::filesystem::exists(dir.file("real") + "/w.db-wal"));
}

// A report of agt-1's with one sample, `sequence` its number and time.
store::ReportBatch one_sample(std::uint64_t sequence) {
  store::ReportBatch b;
  b.agent_id = "agt-1";
  b.sequence = sequence;
  b.received_at_ms = static_cast<std::int64_t>(sequence) * 1'000;
  b.series.push_back({{{"ci-1", "m", {}}, "1"}, {{b.received_at_ms, static_cast<double>(sequence)}}});
  return b;
}

// fdatasync, or EIO while the disk is said to fail.
std::atomic<bool> disk_fails{false};
int sync_or_fail(int fd) {
  if (disk_fails.load()) {
    errno = EIO;
    return -1;
  }
  return ::fdatasync(fd);
}

// The stores of stores_with_agent in `dir`, on a disk that fails from
// when disk_fails is set (it is not yet) until a DiskHeals goes.
std::optional<store::Stores> stores_on_failing_disk(const test::TempDir& dir) {
  sqlite::SqliteOptions o;
  o.path = dir.file("w.db");
  o.sync_file = &sync_or_fail;
  disk_fails = false;
  return stores_with_agent(o);
}
struct DiskHeals {
  ~DiskHeals() { disk_fails = false; }
};

// A failed sync leaves a commit in the log that is not known to be on the
// disk: its report is refused (503), and so is its resend, which the store
// finds applied (a duplicate): an acknowledgement would have the agent drop
// a report the disk may not hold. Every report after is refused too.
TEST(SqliteWal, AfterAFailedSyncADuplicateIsRefusedLikeEveryReport) {
  test::TempDir dir;
  auto stores = stores_on_failing_disk(dir);
  ASSERT_TRUE(stores);
  auto first = stores->reports->apply_report(one_sample(1));
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_EQ(first->outcome, store::ApplyOutcome::stored);

  disk_fails = true;
  const DiskHeals heals;
  for (const std::uint64_t seq : {2, 2, 1, 3}) {  // the new one, its resend, one synced before, the next
    SCOPED_TRACE("sequence " + std::to_string(seq));
    auto r = stores->reports->apply_report(one_sample(seq));
    ASSERT_FALSE(r) << "answered " << (r->outcome == store::ApplyOutcome::duplicate ? "duplicate" : "stored");
    EXPECT_EQ(r.error().code, store::StoreErrc::unavailable);
  }
}

// Reports handed over with apply_report_async are answered through their
// callback, on the store's own threads, as apply_report would answer them:
// 64 at once stored (the caller's thread waits for none of them), a resend
// a duplicate, and once a sync has failed, refused.
TEST(SqliteWal, ReportsAnsweredThroughACallbackAreAnsweredAsOnReturn) {
  test::TempDir dir;
  auto stores = stores_on_failing_disk(dir);
  ASSERT_TRUE(stores);
  ASSERT_TRUE(stores->reports->applies_async());
  store::HandedReports handed(*stores->reports);
  for (std::uint64_t seq = 1; seq <= 64; ++seq) handed.send(one_sample(seq), std::to_string(seq));
  ASSERT_TRUE(handed.wait_for(64));
  for (const auto& [seq, r] : handed.answers()) {
    ASSERT_TRUE(r) << seq << ": " << r.error().describe();
    EXPECT_EQ(r->outcome, store::ApplyOutcome::stored) << seq;
  }
  EXPECT_FALSE(handed.on_callers_thread());
  EXPECT_GE(stores->reports->commit_stats().wal_syncs, 1u);
  auto held = stores->series->list_series("ci-1");
  ASSERT_TRUE(held);
  ASSERT_EQ(held->size(), 1u);

  handed.send(one_sample(7), "resent");
  ASSERT_TRUE(handed.wait_for(65));
  ASSERT_TRUE(handed.answers().at("resent"));
  EXPECT_EQ(handed.answers().at("resent")->outcome, store::ApplyOutcome::duplicate);

  disk_fails = true;
  const DiskHeals heals;
  handed.send(one_sample(65), "65");
  ASSERT_TRUE(handed.wait_for(66));
  ASSERT_FALSE(handed.answers().at("65")) << "acknowledged though its sync failed";
  EXPECT_EQ(handed.answers().at("65").error().code, store::StoreErrc::unavailable);
}

// The database and its log copied as a kill would leave them (the
// shared-memory index is rebuilt from the log): agt-1's report 1 and the
// CI ci-2 committed, and, for all a new process knows, not yet synced.
std::string killed_copy(const test::TempDir& dir) {
  sqlite::SqliteOptions o;
  o.path = dir.file("w.db");
  auto stores = stores_with_agent(o);
  EXPECT_TRUE(stores);
  if (!stores) return "";
  EXPECT_TRUE(stores->reports->apply_report(one_sample(1)));
  EXPECT_TRUE(stores->cmdb->upsert_ci({.id = "ci-2", .type = "host", .name = "db01", .source = "user", .seen_at_ms = 1'000}));
  std::filesystem::create_directory(dir.file("after"));
  for (const char* f : {"w.db", "w.db-wal"}) std::filesystem::copy_file(dir.file(f), dir.file("after") + "/" + f);
  return dir.file("after") + "/w.db";
}

// A collector killed between a commit and its sync leaves the commit in
// the log, maybe not on the disk. Its agent's resend, to the collector
// started again, is a duplicate, and a client's retried write finds its
// change made: each is answered only once the log is synced.
TEST(SqliteWal, WhatFindsACommitLeftUnsyncedIsAnsweredAfterASync) {
  for (const bool report : {true, false}) {
    SCOPED_TRACE(report ? "a report resent" : "a write retried");
    test::TempDir dir;
    const std::string copy = killed_copy(dir);
    ASSERT_FALSE(copy.empty());
    sqlite::SqliteOptions again;
    again.path = copy;
    auto restarted = sqlite::open_sqlite(again);
    ASSERT_TRUE(restarted) << restarted.error().describe();
    const auto syncs = [&] { return restarted->reports->commit_stats().wal_syncs; };
    EXPECT_EQ(syncs(), 0u);
    if (report) {
      auto resent = restarted->reports->apply_report(one_sample(1));
      ASSERT_TRUE(resent) << resent.error().describe();
      EXPECT_EQ(resent->outcome, store::ApplyOutcome::duplicate);
    } else {
      auto unknown = restarted->agents->revoke_agent("agt-nobody");  // changes nothing
      ASSERT_TRUE(unknown);
      EXPECT_FALSE(*unknown);
    }
    EXPECT_EQ(syncs(), 1u) << "the log as found, synced before the answer";
    // Later ones need no sync of their own.
    ASSERT_TRUE(restarted->reports->apply_report(one_sample(1)));
    ASSERT_TRUE(restarted->agents->revoke_agent("agt-nobody"));
    EXPECT_EQ(syncs(), 1u);
  }
}

// A connection to a Redis that has become a replica (a failover demoted it)
// answers writes READONLY: it is marked broken, so the pool drops it and the
// next caller gets a connection to wherever the master is now.
TEST(RedisPool, AConnectionToAReplicaIsDroppedAfterAReadonlyAnswer) {
  test::RedisServer master;
  test::RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(master.address().port)});
  auto c = redis::Connection::open("127.0.0.1", replica.address().port, std::chrono::seconds(5), {}, {});
  ASSERT_TRUE(c) << c.error().describe();
  auto read = (*c)->command({"GET", "k"});
  ASSERT_TRUE(read);
  EXPECT_FALSE((*c)->broken());
  auto r = (*c)->pipeline({{"MULTI"}, {"SET", "k", "v"}, {"EXEC"}});
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE((*c)->broken());
  EXPECT_EQ(redis::reply_error((*r)[1].get(), "write").code, store::StoreErrc::unavailable) << "to be retried";
}

// Before the pool gave back the slot of a callback that threw, the third
// `with` on a pool of two waited forever.
TEST(RedisPool, ACallbackThatThrowsGivesItsConnectionBack) {
  redis::Pool pool = test_pool(2);
  for (int i = 0; i < 5; ++i)
    EXPECT_THROW((void)pool.with([](redis::Connection&) -> core::Result<int> { throw std::runtime_error("injected"); }),
                 std::runtime_error);
  auto r = pool.with([](redis::Connection& c) -> core::Result<std::string> {
    auto pong = c.command({"PING"});
    if (!pong) return std::move(pong).error();
    return redis::reply_text(pong->get());
  });
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(*r, "PONG");
}

// A connection back in the pool watches nothing: a write made later by
// someone else to a key an earlier, failed attempt watched does not abort
// the next user's MULTI/EXEC.
void expect_nothing_watched(redis::Pool& pool, const std::string& key) {
  redis::Pool other = test_pool(1);
  auto r = pool.with([&](redis::Connection& c) -> core::Result<bool> {
    EXPECT_FALSE(c.watching());
    auto touched = other.with([&](redis::Connection& o) { return o.command({"SET", key, "changed"}); });
    EXPECT_TRUE(touched);
    auto tx = c.pipeline({{"MULTI"}, {"SET", key, "mine"}, {"EXEC"}});
    if (!tx) return std::move(tx).error();
    return tx->back()->type == REDIS_REPLY_ARRAY;
  });
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(*r) << "EXEC was aborted by a WATCH left behind";
}

TEST(RedisOptimistic, AnAttemptThatFailsOrThrowsLeavesNothingWatched) {
  redis::Pool pool = test_pool(1);
  const std::string key = test::unique_prefix() + ":watched";
  auto failed = pool.with([&](redis::Connection& c) {
    return redis::optimistic<int>(c, "test", [&]() -> core::Result<std::optional<int>> {
      auto w = c.command({"WATCH", key});
      if (!w) return std::move(w).error();
      EXPECT_TRUE(c.watching());
      return core::make_error(store::StoreErrc::invalid, "injected");
    });
  });
  ASSERT_FALSE(failed);
  expect_nothing_watched(pool, key);

  EXPECT_THROW((void)pool.with([&](redis::Connection& c) {
                 return redis::optimistic<int>(c, "test", [&]() -> core::Result<std::optional<int>> {
                   (void)c.command({"WATCH", key});
                   throw std::runtime_error("injected");
                 });
               }),
               std::runtime_error);
  expect_nothing_watched(pool, key);
}

TEST(RedisOptimistic, RetriesAnAbortedExecAndGivesUpWithAClearError) {
  redis::Pool pool = test_pool(1);
  redis::Pool other = test_pool(1);
  const std::string key = test::unique_prefix() + ":contended";
  int attempts = 0;
  // Someone else writes the key between every WATCH and EXEC.
  auto r = pool.with([&](redis::Connection& c) {
    return redis::optimistic<int>(c, "the test key", [&]() -> core::Result<std::optional<int>> {
      ++attempts;
      (void)c.command({"WATCH", key});
      (void)other.with([&](redis::Connection& o) { return o.command({"INCR", key}); });
      auto tx = c.pipeline({{"MULTI"}, {"SET", key, "0"}, {"EXEC"}});
      if (!tx) return std::move(tx).error();
      if (tx->back()->type == REDIS_REPLY_ARRAY) return std::optional<int>(1);
      return std::optional<int>{};
    });
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(attempts, redis::kMaxOptimisticAttempts);
  EXPECT_EQ(r.error().code, store::StoreErrc::unavailable);
  EXPECT_NE(r.error().message.find("the test key kept conflicting"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace surveyor::collector

namespace surveyor::collector {
namespace {

store::Durability durability_of(const std::string& url) {
  auto s = backends::open_stores(url);
  EXPECT_TRUE(s) << s.error().describe();
  auto d = s->health->durability();
  EXPECT_TRUE(d) << d.error().describe();
  return d ? *d : store::Durability{};
}

bool mentions(const store::Durability& d, const std::string& what) {
  for (const std::string& w : d.warnings)
    if (w.find(what) != std::string::npos) return true;
  return false;
}

// Each Redis is a real server of the test's own, started with the settings
// the operator would have.
TEST(StoreDurability, RedisSettingsThatLoseAcknowledgedReportsAreNamed) {
  {
    test::RedisServer r;  // Redis's own default: no append-only file
    const auto d = durability_of(r.url("p"));
    EXPECT_TRUE(mentions(d, "appendonly no")) << ::testing::PrintToString(d.warnings);
    EXPECT_FALSE(d.evicting);
  }
  {
    test::RedisServer r({"--appendonly", "yes", "--appendfsync", "always"});
    const auto d = durability_of(r.url("p"));
    EXPECT_TRUE(d.warnings.empty()) << ::testing::PrintToString(d.warnings);
    EXPECT_FALSE(d.evicting);
  }
  {
    test::RedisServer r({"--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "allkeys-lru"});
    const auto d = durability_of(r.url("p"));
    EXPECT_TRUE(mentions(d, "appendfsync everysec")) << ::testing::PrintToString(d.warnings);
    EXPECT_TRUE(mentions(d, "maxmemory-policy allkeys-lru")) << ::testing::PrintToString(d.warnings);
    EXPECT_TRUE(d.evicting);
  }
}

// Managed Redis often disables CONFIG: the settings are read from INFO.
TEST(StoreDurability, RedisWithoutConfigIsReadThroughInfo) {
  test::RedisServer r({"--rename-command", "CONFIG", "", "--maxmemory-policy", "volatile-lru"});
  const auto d = durability_of(r.url("p"));
  EXPECT_TRUE(mentions(d, "appendonly no")) << ::testing::PrintToString(d.warnings);
  EXPECT_TRUE(mentions(d, "maxmemory-policy volatile-lru")) << ::testing::PrintToString(d.warnings);
  EXPECT_TRUE(d.evicting);
}

TEST(StoreDurability, SqliteWarnsOnlyWithSynchronousNormal) {
  test::TempDir dir;
  EXPECT_TRUE(durability_of("sqlite:" + dir.file("full.db")).warnings.empty());
  const auto normal = durability_of("sqlite:" + dir.file("normal.db") + "?synchronous=normal");
  EXPECT_TRUE(mentions(normal, "synchronous=normal")) << ::testing::PrintToString(normal.warnings);
  EXPECT_FALSE(normal.evicting);
}

}  // namespace
}  // namespace surveyor::collector

namespace surveyor::collector {
namespace {

// SQLite's own account of how it runs the query the evaluation makes every
// step: through the open events' partial index, not a scan of all events.
TEST(SqliteEvents, OpenEventsAreReadThroughTheirIndex) {
  test::TempDir dir;
  ASSERT_TRUE(backends::open_stores("sqlite:" + dir.file("s.db")));  // creates the schema
  auto c = sqlite::Connection::open(dir.file("s.db"), true);
  ASSERT_TRUE(c) << c.error().describe();
  const auto plan_of = [&](const store::EventFilter& f) {
    auto s = (*c)->prepare("EXPLAIN QUERY PLAN " + sqlite::event_list_sql(f));
    EXPECT_TRUE(s) << s.error().describe();
    std::string plan;
    while ((*s)->step() == SQLITE_ROW) plan += (*s)->text(3) + "\n";
    return plan;
  };
  const std::string open = plan_of({.state = "open", .ci_id = "", .kind = "", .limit = 100});
  EXPECT_NE(open.find("events_open_by_time"), std::string::npos) << open;
  EXPECT_EQ(open.find("TEMP B-TREE"), std::string::npos) << "no sort: the index is in time order\n" << open;
  const std::string by_ci = plan_of({.state = "open", .ci_id = "h1", .kind = "", .limit = 100});
  EXPECT_NE(by_ci.find("events_open"), std::string::npos) << by_ci;
}

}  // namespace
}  // namespace surveyor::collector
