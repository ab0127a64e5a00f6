// SPDX-License-Identifier: Apache-2.0
// A host's sightings by its own agent: the time its CI was last seen, on
// both backends, through a reassignment; on SQLite kept in the agent's row
// (agents.ci_seen_ms, schema 15) rather than the CI's, and a sighting found
// plain remembered by the writer until the CI changes.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

SURVEYOR_STORE_SUITE(SightingConformance);

// An agent's update of a host CI as a report without inventory carries it:
// the time and the attributes the agent sends with every report.
CiUpdate bare_sighting(const std::string& id, std::int64_t at, AttrMap attributes) {
  CiUpdate u;
  u.id = id;
  u.type = "host";
  u.source = "agent";
  u.seen_at_ms = at;
  u.attributes = std::move(attributes);
  return u;
}

// A report without inventory is a sighting of its host: last_seen moves
// forward only, unchanged attributes stay as they are, a CI that was
// missing becomes active again and a changed attribute is written, each
// with its audit entry.
TYPED_TEST(SightingConformance, ASightingMovesLastSeenAndBringsAMissingHostBack) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  ReportBatch first = report_batch("agt-1", 1, 60'000);
  CiUpdate host = host_update("ci-agt-1", "web01", 60'000);
  host.attributes = {{"cpu.cores", std::int64_t{2}}, {"agent.id", std::string("agt-1")}};
  first.cis.push_back(host);
  ASSERT_TRUE(this->stores.reports->apply_report(first));
  // As ingest sends it: the agent's own attributes with every report.
  auto sighting = [&](std::uint64_t seq, std::int64_t at, std::int64_t cores = 2) {
    ReportBatch b = report_batch("agt-1", seq, at);
    b.cis.push_back(bare_sighting("ci-agt-1", at, {{"agent.id", std::string("agt-1")}, {"cpu.cores", cores}}));
    auto r = this->stores.reports->apply_report(b);
    ASSERT_TRUE(r) << r.error().describe();
  };
  auto ci = [&] {
    auto got = this->stores.cmdb->find_ci("ci-agt-1");
    EXPECT_TRUE(got && got->has_value());
    return got && got->has_value() ? **got : Ci{};
  };
  sighting(2, 120'000);
  sighting(3, 90'000);  // an older report, delivered late
  Ci now = ci();
  EXPECT_EQ(now.last_seen_ms, 120'000);
  EXPECT_EQ(now.updated_ms, 60'000) << "a sighting changes no attribute";
  EXPECT_EQ(std::get<std::int64_t>(now.attributes.at("cpu.cores")), 2);
  EXPECT_EQ(now.state, CiState::active);

  CiUpdate missing;
  missing.id = "ci-agt-1";
  missing.type = "host";
  missing.source = "collector";
  missing.seen_at_ms = 150'000;
  missing.state = CiState::missing;
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(missing));
  sighting(4, 180'000);
  now = ci();
  EXPECT_EQ(now.state, CiState::active);
  EXPECT_EQ(now.last_seen_ms, 180'000);
  auto trail = this->stores.audit->list_audit({.ci_id = "ci-agt-1"});
  ASSERT_TRUE(trail) << trail.error().describe();
  ASSERT_FALSE(trail->empty());
  EXPECT_EQ(trail->front().key, "state");
  EXPECT_EQ(trail->front().new_value, "\"active\"");

  // An attribute that changed is written, and audited.
  sighting(5, 200'000, 4);
  now = ci();
  EXPECT_EQ(std::get<std::int64_t>(now.attributes.at("cpu.cores")), 4);
  EXPECT_EQ(now.updated_ms, 200'000);
  EXPECT_EQ(now.last_seen_ms, 200'000);
  trail = this->stores.audit->list_audit({.ci_id = "ci-agt-1"});
  ASSERT_TRUE(trail && !trail->empty());
  EXPECT_EQ(trail->front().key, "cpu.cores");
}

// A sighting found plain once is not taken for plain again after the CI
// changed in between, by whatever wrote it: the next one is checked, and
// writes the agent's attribute back.
TYPED_TEST(SightingConformance, ASightingAfterTheCiChangedIsCheckedAgain) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  ReportBatch first = report_batch("agt-1", 1, 60'000);
  CiUpdate host = host_update("ci-agt-1", "web01", 60'000);
  host.attributes = {{"agent.id", std::string("agt-1")}, {"agent.heartbeat_interval_s", std::int64_t{60}}};
  first.cis.push_back(host);
  ASSERT_TRUE(this->stores.reports->apply_report(first));
  auto sighting = [&](std::uint64_t seq, std::int64_t at) {
    ReportBatch b = report_batch("agt-1", seq, at);
    b.cis.push_back(bare_sighting("ci-agt-1", at,
                                  {{"agent.id", std::string("agt-1")}, {"agent.heartbeat_interval_s", std::int64_t{60}}}));
    auto r = this->stores.reports->apply_report(b);
    ASSERT_TRUE(r) << r.error().describe();
  };
  auto attribute = [&](const std::string& key) {
    auto got = this->stores.cmdb->find_ci("ci-agt-1");
    EXPECT_TRUE(got && got->has_value());
    return got && got->has_value() ? std::get<std::string>((*got)->attributes.at(key)) : std::string();
  };
  sighting(2, 120'000);
  sighting(3, 180'000);  // plain twice: the second as the first was found
  for (int round = 0; round < 3; ++round) {
    // Another agent's update of the same CI, between two reports.
    ASSERT_TRUE(this->stores.cmdb->upsert_ci(
        bare_sighting("ci-agt-1", 200'000 + round * 100'000, {{"agent.id", std::string("agt-2")}})));
    ASSERT_EQ(attribute("agent.id"), "agt-2");
    sighting(4 + 2 * round, 250'000 + round * 100'000);
    EXPECT_EQ(attribute("agent.id"), "agt-1") << "round " << round;
    sighting(5 + 2 * round, 260'000 + round * 100'000);
    EXPECT_EQ(attribute("agent.id"), "agt-1") << "round " << round;
  }
}

// The sightings of a host by its agent belong to that host's CI: when the
// agent is reassigned to another CI (a conflict approved), the CI it leaves
// keeps the time it was last seen, and later reports move only the new
// one's; a report that names no CI moves neither, nor does a duplicate.
TYPED_TEST(SightingConformance, AnAgentsSightingsStayWithTheCiItReportedFor) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  const auto report = [&](std::uint64_t seq, const std::string& ci, std::int64_t at, bool names_ci = true) {
    ReportBatch b = report_batch("agt-1", seq, at);
    if (names_ci) {
      CiUpdate u = host_update(ci, "", at);
      u.attributes = {{"agent.id", std::string("agt-1")}};
      b.cis.push_back(u);
    }
    auto r = this->stores.reports->apply_report(b);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? r->outcome : ApplyOutcome::duplicate;
  };
  const auto seen = [&](const std::string& id) -> std::int64_t {
    auto got = this->stores.cmdb->find_ci(id);
    EXPECT_TRUE(got && got->has_value()) << id;
    return got && got->has_value() ? (**got).last_seen_ms : -1;
  };
  const auto listed_seen = [&](const std::string& id) -> std::int64_t {
    auto all = this->stores.cmdb->list_cis({});
    EXPECT_TRUE(all);
    if (all)
      for (const Ci& c : *all)
        if (c.id == id) return c.last_seen_ms;
    return -1;
  };
  report(1, "ci-agt-1", 10'000);  // makes the CI
  report(2, "ci-agt-1", 20'000);  // a plain sighting
  EXPECT_EQ(seen("ci-agt-1"), 20'000);
  EXPECT_EQ(listed_seen("ci-agt-1"), 20'000);
  EXPECT_EQ(report(2, "ci-agt-1", 25'000), ApplyOutcome::duplicate);
  report(3, "", 30'000, false);  // no CI named: no sighting
  EXPECT_EQ(seen("ci-agt-1"), 20'000);

  CiUpdate other = host_update("ci-other", "db01", 5'000);
  other.source = "user";
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(other));
  auto moved = this->stores.agents->reassign_agent("agt-1", "ci-other");
  ASSERT_TRUE(moved && *moved);
  EXPECT_EQ(seen("ci-agt-1"), 20'000) << "the CI left keeps its last sighting";
  EXPECT_EQ(seen("ci-other"), 5'000) << "the agent's earlier reports were not of this CI";
  report(4, "ci-other", 40'000);
  report(5, "ci-other", 50'000);
  EXPECT_EQ(seen("ci-other"), 50'000);
  EXPECT_EQ(listed_seen("ci-other"), 50'000);
  EXPECT_EQ(seen("ci-agt-1"), 20'000);
  EXPECT_EQ(listed_seen("ci-agt-1"), 20'000);

  // A state set by someone keeps the time last seen; the agent's next
  // report brings the CI back.
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(
      {.id = "ci-other", .type = "host", .source = "user", .seen_at_ms = 55'000, .state = CiState::retired}));
  EXPECT_EQ(seen("ci-other"), 50'000);
  report(6, "ci-other", 60'000);
  EXPECT_EQ(seen("ci-other"), 60'000);
  auto back = this->stores.cmdb->find_ci("ci-other");
  ASSERT_TRUE(back && back->has_value());
  EXPECT_EQ((**back).state, CiState::active);
}

// Schema 14 had no agents.ci_seen_ms: opened, the column and its index are
// added, the time last seen held in the CI's row stays, and sightings go on.
// Another process's change of the CI (an operator's sqlite3, an admin
// command against the live store) between two sightings: the writer's
// remembered sighting does not hold, and the next report writes the
// agent's attribute back.
TEST(SqliteReports, ASightingAfterAnotherProcessChangedTheCiIsCheckedAgain) {
  test::TempDir dir;
  const std::string path = dir.file("s.db");
  auto s = backends::open_stores("sqlite:" + path);
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));
  const auto sighting = [&](std::uint64_t seq, std::int64_t at) {
    ReportBatch b = report_batch("agt-1", seq, at);
    b.cis.push_back(bare_sighting("ci-agt-1", at, {{"agent.id", std::string("agt-1")}}));
    auto r = s->reports->apply_report(b);
    ASSERT_TRUE(r) << r.error().describe();
  };
  const auto agent_id = [&] {
    auto ci = s->cmdb->find_ci("ci-agt-1");
    EXPECT_TRUE(ci && ci->has_value());
    return ci && ci->has_value() ? std::get<std::string>((**ci).attributes.at("agent.id")) : std::string();
  };
  ReportBatch first = report_batch("agt-1", 1, 10'000);
  CiUpdate host = host_update("ci-agt-1", "web01", 10'000);
  host.attributes = {{"agent.id", std::string("agt-1")}};
  first.cis.push_back(host);
  ASSERT_TRUE(s->reports->apply_report(first));
  sighting(2, 20'000);
  sighting(3, 30'000);
  for (int round = 0; round < 2; ++round) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* change = "UPDATE cis SET attributes = json_set(attributes, '$.\"agent.id\"', 'agt-9') WHERE id = 'ci-agt-1'";
    ASSERT_EQ(sqlite3_exec(db, change, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
    ASSERT_EQ(agent_id(), "agt-9");
    sighting(4 + 2 * round, 40'000 + round * 20'000);
    EXPECT_EQ(agent_id(), "agt-1") << "round " << round;
    sighting(5 + 2 * round, 50'000 + round * 20'000);
    EXPECT_EQ(agent_id(), "agt-1") << "round " << round;
  }
}

TEST(SqliteReports, AStoreOfSchema14GainsTheAgentsSightingsOfItsCi) {
  test::TempDir dir;
  const std::string path = dir.file("s.db");
  const auto sighting = [](std::uint64_t seq, std::int64_t at) {
    ReportBatch b = report_batch("agt-1", seq, at);
    CiUpdate u = host_update("ci-agt-1", seq == 1 ? "web01" : "", at);
    u.attributes = {{"agent.id", std::string("agt-1")}};
    b.cis.push_back(u);
    return b;
  };
  {
    auto s = backends::open_stores("sqlite:" + path);
    ASSERT_TRUE(s) << s.error().describe();
    ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));
    ASSERT_TRUE(s->reports->apply_report(sighting(1, 10'000)));
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    for (const char* statement : {"DROP INDEX agents_by_ci", "ALTER TABLE agents DROP COLUMN ci_seen_ms",
                                  "UPDATE cis SET last_seen_ms = 15000", "PRAGMA user_version = 14"})
      ASSERT_EQ(sqlite3_exec(db, statement, nullptr, nullptr, nullptr), SQLITE_OK) << statement << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto s = backends::open_stores("sqlite:" + path);
  ASSERT_TRUE(s) << s.error().describe();
  const auto seen = [&] {
    auto ci = s->cmdb->find_ci("ci-agt-1");
    EXPECT_TRUE(ci && ci->has_value());
    return ci && ci->has_value() ? (**ci).last_seen_ms : -1;
  };
  EXPECT_EQ(seen(), 15'000);
  ASSERT_TRUE(s->reports->apply_report(sighting(2, 12'000)));
  EXPECT_EQ(seen(), 15'000) << "an older sighting does not move it back";
  ASSERT_TRUE(s->reports->apply_report(sighting(3, 20'000)));
  EXPECT_EQ(seen(), 20'000);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT (SELECT ci_seen_ms FROM agents WHERE id = 'agt-1'), "
                               "(SELECT last_seen_ms FROM cis WHERE id = 'ci-agt-1'), "
                               "(SELECT count(*) FROM sqlite_schema WHERE name = 'agents_by_ci')",
                               -1, &q, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(q, 0), 20'000) << "a plain sighting goes into the agent's row";
  EXPECT_EQ(sqlite3_column_int64(q, 1), 15'000) << "and not into the CI's";
  EXPECT_EQ(sqlite3_column_int(q, 2), 1);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

}  // namespace
}  // namespace surveyor::collector::store
