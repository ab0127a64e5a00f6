// SPDX-License-Identifier: Apache-2.0
// The CMDB's stores on both backends: CIs (attributes merged by source,
// listing by name with filters and pages), relationships, the audit trail (CI
// attributes, a RAM change, a package upgrade, relationships), values a person
// set that agents leave alone, and changes observed inside and outside an
// approved change window.
#include <gtest/gtest.h>

#include <algorithm>

#include <sqlite3.h>

#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

template <class B>
class CmdbConformance : public OnBackend<B> {
 protected:
  void SetUp() override {
    OnBackend<B>::SetUp();
    this->add_agent("agt-1", "host-1");
  }

  Ci upsert(const std::string& id, const std::string& source, AttrMap attrs, std::int64_t at,
            std::vector<std::string> replace = {}) {
    CiUpdate u;
    u.id = id;
    u.type = "host";
    u.name_if_new = id;
    u.source = source;
    u.attributes = std::move(attrs);
    u.replace_prefixes = std::move(replace);
    u.seen_at_ms = at;
    auto r = this->stores.cmdb->upsert_ci(u);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? *r : Ci{};
  }

  // A report from agt-1 at `at` with the host's attributes and packages.
  void report(std::uint64_t seq, std::int64_t at, AttrMap attrs, const std::string& packages) {
    ReportBatch b = report_batch("agt-1", seq, at);
    CiUpdate u;
    u.id = "host-1";
    u.type = "host";
    u.name_if_new = "web01";
    u.source = "agent";
    u.attributes = std::move(attrs);
    u.replace_prefixes = {"memory."};
    u.seen_at_ms = at;
    b.cis.push_back(u);
    b.inventory_ci_id = "host-1";
    b.sections.push_back({"packages", "collected", "", "p" + std::to_string(seq), packages});
    auto r = this->stores.reports->apply_report(b);
    ASSERT_TRUE(r) << r.error().describe();
  }

  std::vector<AuditRecord> audit(AuditFilter f = {}) {
    f.limit = 1000;
    auto r = this->stores.audit->list_audit(f);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? *r : std::vector<AuditRecord>{};
  }

  static const AuditRecord* find(const std::vector<AuditRecord>& list, const std::string& kind, const std::string& key) {
    auto it = std::find_if(list.begin(), list.end(),
                           [&](const AuditRecord& r) { return r.kind == kind && r.key == key; });
    return it == list.end() ? nullptr : &*it;
  }
};

TYPED_TEST_SUITE(CmdbConformance, Backends, BackendNames);

TYPED_TEST(CmdbConformance, RelationshipsAreAddedOnceListedBothWaysAndRemoved) {
  this->upsert("app-1", "api", {}, 10);
  this->upsert("host-1", "agent", {}, 10);
  auto& rel = *this->stores.relations;
  auto v0 = rel.relationships_version();
  ASSERT_TRUE(v0);
  const Relationship r{"app-1", "runs_on", "host-1", "user", 100};
  auto added = rel.add_relationship(r, "alice (10.0.0.7)");
  ASSERT_TRUE(added) << added.error().describe();
  EXPECT_TRUE(*added);
  EXPECT_FALSE(*rel.add_relationship(r, "alice (10.0.0.7)")) << "the same relationship twice is one";
  auto missing = rel.add_relationship({"app-1", "runs_on", "nowhere", "user", 100}, "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, StoreErrc::not_found);

  for (const char* ci : {"app-1", "host-1"}) {
    auto of = rel.relationships_of(ci);
    ASSERT_TRUE(of) << of.error().describe();
    ASSERT_EQ(of->size(), 1u) << ci;
    EXPECT_EQ(of->front(), r);
  }
  auto all = rel.all_relationships();
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, std::vector<Relationship>{r});
  auto v1 = rel.relationships_version();
  ASSERT_TRUE(v1);
  EXPECT_NE(*v1, *v0);

  auto removed = rel.remove_relationship(r, "user", "bob", 200);
  ASSERT_TRUE(removed) << removed.error().describe();
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(*rel.remove_relationship(r, "user", "bob", 200));
  EXPECT_TRUE(rel.relationships_of("app-1")->empty());
  EXPECT_NE(*rel.relationships_version(), *v1);

  // Both recorded on the app's trail, newest first.
  auto trail = this->audit({.ci_id = "app-1", .kind = "relationship"});
  ASSERT_EQ(trail.size(), 2u);
  EXPECT_EQ(trail[0].key, "runs_on host-1");
  EXPECT_EQ(trail[0].old_value, "true");
  EXPECT_EQ(trail[0].new_value, "");
  EXPECT_EQ(trail[0].time_ms, 200);
  EXPECT_EQ(trail[0].actor, "bob") << "who removed it is on the trail";
  EXPECT_EQ(trail[1].new_value, "true");
  EXPECT_EQ(trail[1].origin, "user");
  EXPECT_EQ(trail[1].actor, "alice (10.0.0.7)");
}

TYPED_TEST(CmdbConformance, TheTrailRecordsARamChangeAndAPackageUpgrade) {
  const std::string v1 = R"([{"name":"openssl","version":"3.0.11-1","architecture":"amd64"},)"
                         R"({"name":"bash","version":"5.2.15-2","architecture":"amd64"}])";
  const std::string v2 = R"([{"name":"openssl","version":"3.0.13-1","architecture":"amd64"},)"
                         R"({"name":"curl","version":"7.88.1-10","architecture":"amd64"}])";
  this->report(1, 1'000, {{"memory.total_bytes", std::int64_t{8} << 30}, {"os.name", std::string("Debian")}}, v1);
  auto first = this->audit({.ci_id = "host-1"});
  ASSERT_EQ(first.size(), 1u) << "a new CI is one entry; its first packages are the baseline";
  EXPECT_EQ(first[0].kind, "created");

  this->report(2, 2'000, {{"memory.total_bytes", std::int64_t{16} << 30}, {"os.name", std::string("Debian")}}, v2);
  auto trail = this->audit({.ci_id = "host-1", .from_ms = 2'000});
  const AuditRecord* ram = this->find(trail, "attribute", "memory.total_bytes");
  ASSERT_NE(ram, nullptr);
  EXPECT_EQ(ram->old_value, "8589934592");
  EXPECT_EQ(ram->new_value, "17179869184");
  EXPECT_EQ(ram->origin, "agent");
  EXPECT_EQ(ram->time_ms, 2'000);
  const AuditRecord* upgrade = this->find(trail, "software", "openssl:amd64");
  ASSERT_NE(upgrade, nullptr);
  EXPECT_EQ(upgrade->old_value, "\"3.0.11-1\"");
  EXPECT_EQ(upgrade->new_value, "\"3.0.13-1\"");
  const AuditRecord* removed = this->find(trail, "software", "bash:amd64");
  ASSERT_NE(removed, nullptr);
  EXPECT_EQ(removed->new_value, "");
  const AuditRecord* installed = this->find(trail, "software", "curl:amd64");
  ASSERT_NE(installed, nullptr);
  EXPECT_EQ(installed->old_value, "");
  EXPECT_EQ(trail.size(), 4u);
  EXPECT_EQ(this->find(trail, "attribute", "os.name"), nullptr) << "unchanged values are not entries";

  // The fleet-wide feed has them too; a replayed report adds nothing.
  EXPECT_EQ(this->audit({.from_ms = 2'000}).size(), 4u);
  ReportBatch replay;
  replay.agent_id = "agt-1";
  replay.sequence = 2;
  ASSERT_TRUE(this->stores.reports->apply_report(replay));
  EXPECT_EQ(this->audit({.from_ms = 2'000}).size(), 4u);
}

TYPED_TEST(CmdbConformance, AValueAPersonSetIsNotOverwrittenByAgents) {
  this->upsert("host-1", "agent", {{"location", std::string("rack 1")}, {"memory.total_bytes", std::int64_t{1}}}, 1);
  Ci set = this->upsert("host-1", "user", {{"location", std::string("DC2 rack 7")}}, 2);
  EXPECT_EQ(set.protected_keys, std::vector<std::string>{"location"});
  // An agent reporting its own idea of the location, and replacing the
  // memory.* keys, changes only what is its own.
  Ci after = this->upsert("host-1", "agent",
                          {{"location", std::string("rack 1")}, {"memory.total_bytes", std::int64_t{2}}}, 3, {"memory.", "location"});
  EXPECT_EQ(std::get<std::string>(after.attributes.at("location")), "DC2 rack 7");
  EXPECT_EQ(std::get<std::int64_t>(after.attributes.at("memory.total_bytes")), 2);
  auto stored = this->stores.cmdb->find_ci("host-1");
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->protected_keys, std::vector<std::string>{"location"});
  auto trail = this->audit({.ci_id = "host-1", .kind = "attribute"});
  ASSERT_EQ(trail.size(), 2u);
  EXPECT_EQ(trail[0].key, "memory.total_bytes");
  EXPECT_EQ(trail[1].key, "location");
  EXPECT_EQ(trail[1].origin, "user");
}

TYPED_TEST(CmdbConformance, ChangesOutsideAnApprovedWindowAreFlaggedOnce) {
  this->upsert("host-1", "agent", {{"memory.total_bytes", std::int64_t{1}}}, 1'000);
  ChangeRecord change;
  change.reference = "CHG0042";
  change.ci_ids = {"host-1", "host-2", "host-1"};
  change.start_ms = 10'000;
  change.end_ms = 20'000;
  change.description = "add RAM";
  change.origin = "api";
  change.created_ms = 5'000;
  auto created = this->stores.changes->create_change(change);
  ASSERT_TRUE(created) << created.error().describe();
  EXPECT_EQ(created->ci_ids, (std::vector<std::string>{"host-1", "host-2"}));
  auto found = this->stores.changes->find_change(created->id);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ(**found, *created);
  auto listed = this->stores.changes->list_changes({.ci_id = "host-2"});
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(this->stores.changes->list_changes({.ends_after_ms = 20'000})->empty());

  // Inside the window: linked to the change. Outside: unauthorised, with one
  // alert for a value that then flaps within the hour.
  this->upsert("host-1", "agent", {{"memory.total_bytes", std::int64_t{2}}}, 15'000);
  this->upsert("host-1", "agent", {{"memory.total_bytes", std::int64_t{3}}}, 30'000);
  this->upsert("host-1", "agent", {{"memory.total_bytes", std::int64_t{2}}}, 40'000);
  this->upsert("host-1", "agent", {{"memory.total_bytes", std::int64_t{3}}}, 30'000 + kFlapWindowMs + 1);
  auto trail = this->audit({.ci_id = "host-1", .kind = "attribute"});
  ASSERT_EQ(trail.size(), 4u);
  std::sort(trail.begin(), trail.end(), [](const AuditRecord& a, const AuditRecord& b) { return a.time_ms < b.time_ms; });
  EXPECT_EQ(trail[0].change_id, created->id);
  EXPECT_FALSE(trail[0].unauthorized);
  EXPECT_TRUE(trail[1].unauthorized);
  EXPECT_TRUE(trail[1].alert);
  EXPECT_TRUE(trail[2].unauthorized);
  EXPECT_FALSE(trail[2].alert) << "flapping within the hour: one alert";
  EXPECT_TRUE(trail[3].alert) << "an hour after the last alert: a new one";
  auto alerts = this->audit({.unauthorized = true});
  EXPECT_EQ(alerts.size(), 2u);
  // A person's change is not an observed one: never flagged.
  this->upsert("host-1", "user", {{"memory.total_bytes", std::int64_t{4}}}, 50'000);
  EXPECT_EQ(this->audit({.unauthorized = true}).size(), 2u);
}

TYPED_TEST(CmdbConformance, ServiceDefinitionsAreStoredReplacedAndDeleted) {
  auto& sv = *this->stores.services;
  auto v0 = sv.services_version();
  ASSERT_TRUE(v0) << v0.error().describe();
  const StoredService a{"shop", "name = \"shop\"\nowner = \"o\"\n", "api", 10};
  ASSERT_TRUE(sv.put_service(a));
  ASSERT_TRUE(sv.put_service({"billing", "name = \"billing\"\nowner = \"o\"\n", "user", 11}));
  StoredService a2 = a;
  a2.definition += "criticality = \"high\"\n";
  a2.updated_ms = 12;
  ASSERT_TRUE(sv.put_service(a2));
  auto list = sv.list_services();
  ASSERT_TRUE(list) << list.error().describe();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "billing");
  EXPECT_EQ((*list)[1], a2);
  auto v1 = sv.services_version();
  ASSERT_TRUE(v1);
  EXPECT_NE(*v1, *v0);
  auto gone = sv.delete_service("shop");
  ASSERT_TRUE(gone);
  EXPECT_TRUE(*gone);
  EXPECT_FALSE(*sv.delete_service("shop"));
  EXPECT_EQ(sv.list_services()->size(), 1u);
  EXPECT_NE(*sv.services_version(), *v1);
}

TEST(SqliteCmdb, AuditEntriesCannotBeChangedOrRemoved) {
  test::TempDir dir;
  const std::string path = dir.file("s.db");
  {
    auto s = backends::open_stores("sqlite:" + path);
    ASSERT_TRUE(s);
    CiUpdate u = host_update("ci-1", "web01", 1);
    u.source = "api";
    ASSERT_TRUE(s->cmdb->upsert_ci(u));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit SET origin = 'nobody'", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

SURVEYOR_STORE_SUITE(CiConformance);

// The ids a listing returns, in its order ("error: ..." when it fails).
std::vector<std::string> listed_ids(CmdbStore& cmdb, const CiFilter& q) {
  std::vector<std::string> out;
  auto r = cmdb.list_cis(q);
  if (!r) return std::vector<std::string>{"error: " + r.error().describe()};
  for (const Ci& c : *r) out.push_back(c.id);
  return out;
}

TYPED_TEST(CiConformance, CiUpsertMergesAttributes) {
  CiUpdate u = host_update("ci-1", "web01", 1000);
  u.attributes = {{"cpu.cores", std::int64_t{4}}, {"cpu.model", std::string("Xeon")},
                  {"memory.total_bytes", std::int64_t{8} << 30}, {"virtual", true}, {"load", 0.25}};
  auto c1 = this->stores.cmdb->upsert_ci(u);
  ASSERT_TRUE(c1) << c1.error().describe();
  EXPECT_EQ(c1->first_seen_ms, 1000);
  EXPECT_EQ(c1->state, CiState::active);

  // A later update of the cpu section replaces cpu.* but leaves the rest.
  CiUpdate u2 = host_update("ci-1", "", 2000);
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
  auto c3 = this->stores.cmdb->upsert_ci(host_update("ci-1", "web01", 3000));
  ASSERT_TRUE(c3);
  EXPECT_EQ(c3->last_seen_ms, 3000);
  EXPECT_EQ(c3->updated_ms, 2000);
}

TYPED_TEST(CiConformance, CisAreListedByNameWithFilters) {
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(host_update("ci-b", "beta", 1)));
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(host_update("ci-a", "alpha", 1)));
  CiUpdate disk = host_update("ci-d", "alpha", 1);
  disk.type = "disk";
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(disk));

  auto ids = [this](const CiFilter& q) { return listed_ids(*this->stores.cmdb, q); };
  using Ids = std::vector<std::string>;
  EXPECT_EQ(ids({}), (Ids{"ci-a", "ci-d", "ci-b"}));
  EXPECT_EQ(ids({.type = "host"}), (Ids{"ci-a", "ci-b"}));
  EXPECT_EQ(ids({.name = "alpha"}), (Ids{"ci-a", "ci-d"}));
  EXPECT_EQ(ids({.limit = 1, .offset = 1}), (Ids{"ci-d"}));

  // Renaming moves the CI in the name order.
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(host_update("ci-b", "aardvark", 2)));
  EXPECT_EQ(ids({.type = "host"}), (Ids{"ci-b", "ci-a"}));
  EXPECT_EQ(ids({.name = "beta"}), Ids{});
}

// The fleet page's search: a name prefix and a state, paged, with the
// count of all that match.
TYPED_TEST(CiConformance, CisAreFoundByNamePrefixAndStateAndCounted) {
  for (int i = 0; i < 12; ++i) {
    const std::string n = (i < 10 ? "web" : "db") + std::to_string(10 + i);
    ASSERT_TRUE(this->stores.cmdb->upsert_ci(host_update("ci-" + n, n, 1)));
  }
  CiUpdate gone = host_update("ci-web13", "web13", 1);
  gone.state = CiState::missing;
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(gone));
  gone = host_update("ci-web17", "web17", 1);
  gone.state = CiState::missing;
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(gone));
  auto ids = [this](const CiFilter& q) { return listed_ids(*this->stores.cmdb, q); };
  auto count = [this](const CiFilter& q) {
    auto n = this->stores.cmdb->count_cis(q);
    EXPECT_TRUE(n) << n.error().describe();
    return n ? *n : 999u;
  };
  using Ids = std::vector<std::string>;
  EXPECT_EQ(ids({.name_prefix = "db"}), (Ids{"ci-db20", "ci-db21"}));
  EXPECT_EQ(count({.name_prefix = "db"}), 2u);
  EXPECT_EQ(count({.name_prefix = "web"}), 10u);
  EXPECT_EQ(count({.name_prefix = "web1", .limit = 2}), 10u) << "the count ignores the page";
  EXPECT_EQ(ids({.name_prefix = "web1", .limit = 2, .offset = 3}), (Ids{"ci-web13", "ci-web14"}));
  EXPECT_EQ(ids({.name_prefix = "Web"}), Ids{}) << "case matters";
  EXPECT_EQ(ids({.name = "web12", .name_prefix = "web1"}), Ids{"ci-web12"}) << "both: the name, if it has the prefix";
  EXPECT_EQ(ids({.name = "web12", .name_prefix = "db"}), Ids{});
  EXPECT_EQ(count({.name = "web12", .name_prefix = "db"}), 0u);
  EXPECT_EQ(ids({.name_prefix = "web", .state = CiState::missing}), (Ids{"ci-web13", "ci-web17"}));
  EXPECT_EQ(count({.state = CiState::missing}), 2u);
  EXPECT_EQ(count({.state = CiState::active}), 10u);
  EXPECT_EQ(ids({.state = CiState::active, .limit = 2, .offset = 8}), (Ids{"ci-web18", "ci-web19"}));
  EXPECT_EQ(count({.type = "disk"}), 0u);
  EXPECT_EQ(count({}), 12u);
}

}  // namespace
}  // namespace surveyor::collector::store
