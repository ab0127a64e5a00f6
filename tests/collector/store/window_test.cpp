// SPDX-License-Identifier: Apache-2.0
// Each agent's window of the sequences it applied (store::kSeenWindow):
// duplicates known within it on both backends, in any order, and the
// records of older stores (SQLite's reports_seen table, Redis's sorted
// sets) moved into it. The ring itself is tested in rules_test.cpp.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

SURVEYOR_STORE_SUITE(WindowConformance);

// The window of sequences remembered per agent (kSeenWindow): a report is
// a duplicate if its sequence was applied and is among the last kSeenWindow
// up to the agent's highest, whatever the order they came in; one that
// falls below the window is no longer known and is applied again.
TYPED_TEST(WindowConformance, SequencesAreKnownWithinTheWindowInAnyOrder) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  const auto apply = [&](std::uint64_t seq) {
    ReportBatch b = report_batch("agt-1", seq, 1'000 + static_cast<std::int64_t>(seq % 1'000'000));
    auto r = this->stores.reports->apply_report(b);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? r->outcome : ApplyOutcome::duplicate;
  };
  for (std::uint64_t seq : {10u, 12u, 11u, 5u}) EXPECT_EQ(apply(seq), ApplyOutcome::stored) << seq;
  for (std::uint64_t seq : {5u, 10u, 11u, 12u}) EXPECT_EQ(apply(seq), ApplyOutcome::duplicate) << seq;
  EXPECT_EQ(apply(6), ApplyOutcome::stored) << "a gap is filled";
  // The window up to `top` is 12 .. top: 5 falls out of it.
  const std::uint64_t top = 12 + kSeenWindow - 1;
  EXPECT_EQ(apply(top), ApplyOutcome::stored);
  EXPECT_EQ(apply(12), ApplyOutcome::duplicate);
  EXPECT_EQ(apply(5), ApplyOutcome::stored) << "below the window: applied again";
  EXPECT_EQ(apply(top + 2), ApplyOutcome::stored);
  EXPECT_EQ(apply(top + 1), ApplyOutcome::stored) << "the gap the jump left is not taken for seen";
  EXPECT_EQ(apply(top), ApplyOutcome::duplicate);
  auto agent = this->stores.agents->find_agent("agt-1");
  ASSERT_TRUE(agent && agent->has_value());
  EXPECT_EQ((*agent)->last_sequence, top + 2);
}

// Schema 13 kept a row per agent and sequence (reports_seen): opened, the
// rows become each agent's window, the table is gone, and what was applied
// before is still known as a duplicate.
TEST(SqliteReports, TheSequencesOfAnOlderSchemaMoveIntoEachAgentsWindow) {
  test::TempDir dir;
  const std::string path = dir.file("s.db");
  {
    auto s = backends::open_stores("sqlite:" + path);
    ASSERT_TRUE(s) << s.error().describe();
    for (const char* id : {"agt-1", "agt-2"}) ASSERT_TRUE(s->agents->create_agent(agent_record(id)));
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    // agt-1 applied 1 to 3 and 20,000 (1 to 3 then fell out of its
    // window), agt-2 applied 7 and 9.
    for (const char* statement :
         {"ALTER TABLE agents DROP COLUMN seen",
          "CREATE TABLE reports_seen(agent_id TEXT NOT NULL, sequence INTEGER NOT NULL, "
          "received_at_ms INTEGER NOT NULL, PRIMARY KEY(agent_id, sequence)) WITHOUT ROWID",
          "INSERT INTO reports_seen VALUES('agt-1', 1, 1), ('agt-1', 2, 1), ('agt-1', 3, 1), ('agt-1', 20000, 1), "
          "('agt-0-gone', 4, 1), ('agt-2', 7, 1), ('agt-2', 9, 1)",
          "UPDATE agents SET last_sequence = 20000 WHERE id = 'agt-1'",
          "UPDATE agents SET last_sequence = 9 WHERE id = 'agt-2'", "PRAGMA user_version = 13"})
      ASSERT_EQ(sqlite3_exec(db, statement, nullptr, nullptr, nullptr), SQLITE_OK) << statement << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  {
    auto s = backends::open_stores("sqlite:" + path);
    ASSERT_TRUE(s) << s.error().describe();
    const auto outcome = [&](const std::string& agent, std::uint64_t seq) {
      auto r = s->reports->apply_report(report_batch(agent, seq, 5'000));
      EXPECT_TRUE(r) << r.error().describe();
      return r ? r->outcome : ApplyOutcome::duplicate;
    };
    EXPECT_EQ(outcome("agt-1", 20'000), ApplyOutcome::duplicate);
    EXPECT_EQ(outcome("agt-1", 3), ApplyOutcome::stored) << "below the window of 20,000";
    EXPECT_EQ(outcome("agt-1", 19'999), ApplyOutcome::stored);
    EXPECT_EQ(outcome("agt-2", 7), ApplyOutcome::duplicate);
    EXPECT_EQ(outcome("agt-2", 9), ApplyOutcome::duplicate);
    EXPECT_EQ(outcome("agt-2", 8), ApplyOutcome::stored);
    EXPECT_EQ(outcome("agt-2", 8), ApplyOutcome::duplicate);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM sqlite_schema WHERE name = 'reports_seen'), "
                                   "(SELECT length(seen) FROM agents WHERE id = 'agt-2')", -1, &q, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 0) << "the old table is dropped";
  EXPECT_EQ(sqlite3_column_int(q, 1), static_cast<int>(kSeenWindow / 8));
  sqlite3_finalize(q);
  sqlite3_close(db);
}

// A Redis store from before the window kept each agent's sequences in a
// sorted set (P:seen:AGENT): an agent's next report that is not a duplicate
// moves them into its window and removes the set; duplicates are known
// from either.
TEST(RedisReports, TheSequencesOfAnOlderStoreMoveIntoEachAgentsWindow) {
  RedisBackend backend;
  auto s = backends::open_stores(backend.url());
  ASSERT_TRUE(s) << s.error().describe();
  for (const char* id : {"agt-1", "agt-2"}) ASSERT_TRUE(s->agents->create_agent(agent_record(id)));
  const auto a = test::test_redis();
  const auto cli = [&](const std::string& args) {
    return test::run_command("redis-cli -h " + a.host + " -p " + std::to_string(a.port) + " " + args);
  };
  const std::string p = backend.prefix + ":";
  (void)cli("ZADD " + p + "seen:agt-1 1 1 2 2 3 3 20000 20000");
  (void)cli("HSET " + p + "agent:agt-1 last_sequence 20000");
  (void)cli("ZADD " + p + "seen:agt-2 7 7 9 9");
  (void)cli("HSET " + p + "agent:agt-2 last_sequence 9");
  const auto outcome = [&](const std::string& agent, std::uint64_t seq) {
    auto r = s->reports->apply_report(report_batch(agent, seq, 5'000));
    EXPECT_TRUE(r) << r.error().describe();
    return r ? r->outcome : ApplyOutcome::duplicate;
  };
  EXPECT_EQ(outcome("agt-2", 7), ApplyOutcome::duplicate) << "from the sorted set";
  EXPECT_NE(cli("EXISTS " + p + "seen:agt-2").find('1'), std::string::npos) << "a duplicate writes nothing";
  EXPECT_EQ(outcome("agt-2", 8), ApplyOutcome::stored);
  EXPECT_NE(cli("EXISTS " + p + "seen:agt-2").find('0'), std::string::npos) << "moved into the window";
  EXPECT_NE(cli("STRLEN " + p + "window:agt-2").find("2048"), std::string::npos);
  for (std::uint64_t seq : {7u, 8u, 9u}) EXPECT_EQ(outcome("agt-2", seq), ApplyOutcome::duplicate) << seq;
  EXPECT_EQ(outcome("agt-2", 10), ApplyOutcome::stored);

  EXPECT_EQ(outcome("agt-1", 20'000), ApplyOutcome::duplicate);
  EXPECT_EQ(outcome("agt-1", 3), ApplyOutcome::stored) << "below the window of 20,000";
  EXPECT_EQ(outcome("agt-1", 19'999), ApplyOutcome::stored);
  EXPECT_EQ(outcome("agt-1", 20'000), ApplyOutcome::duplicate);
  EXPECT_EQ(outcome("agt-1", 19'999), ApplyOutcome::duplicate);

  // A full set, as an agent of eleven days leaves it: 1 .. 16,384. The
  // next report moves the window on by one, and 1 falls out of it.
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-3")));
  (void)cli("EVAL \"for s = 1, tonumber(ARGV[1]) do redis.call('ZADD', KEYS[1], s, s) end\" 1 " + p +
            "seen:agt-3 " + std::to_string(kSeenWindow));
  (void)cli("HSET " + p + "agent:agt-3 last_sequence " + std::to_string(kSeenWindow));
  EXPECT_NE(cli("ZCARD " + p + "seen:agt-3").find(std::to_string(kSeenWindow)), std::string::npos);
  EXPECT_EQ(outcome("agt-3", kSeenWindow + 1), ApplyOutcome::stored);
  EXPECT_NE(cli("EXISTS " + p + "seen:agt-3").find('0'), std::string::npos);
  EXPECT_EQ(outcome("agt-3", 1), ApplyOutcome::stored) << "out of the window now";
  for (std::uint64_t seq : {std::uint64_t{2}, kSeenWindow / 2, kSeenWindow, kSeenWindow + 1})
    EXPECT_EQ(outcome("agt-3", seq), ApplyOutcome::duplicate) << seq;

  // A set that holds something other than sequences fails the report
  // clearly and changes nothing.
  (void)cli("ZADD " + p + "seen:agt-2 1 one");
  auto bad = s->reports->apply_report(report_batch("agt-2", 11, 6'000));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, StoreErrc::corrupt);
  EXPECT_NE(bad.error().message.find("holds one, not a sequence"), std::string::npos) << bad.error().message;
  auto agent = s->agents->find_agent("agt-2");
  ASSERT_TRUE(agent && agent->has_value());
  EXPECT_EQ((*agent)->last_sequence, 10u);
}

}  // namespace
}  // namespace surveyor::collector::store
