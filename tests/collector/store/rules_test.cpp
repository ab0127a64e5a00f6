// SPDX-License-Identifier: Apache-2.0
// The rules every backend follows, written once in store/ and tested here
// on their own: the inventory plan, audit classification, the incident
// write protocol, change records, relationship audit entries, following
// a host's components, plain sightings and the window of reports applied.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::store {
namespace {

SectionUpdate collected(const std::string& name, const std::string& data) {
  return SectionUpdate{name, "collected", "", "d-" + data, data};
}

TEST(InventoryPlan, WritesWhatChangedAuditsSoftwareAndSortsTheResult) {
  std::vector<InventorySection> held{
      {"packages", "collected", "", "d1", R"([{"name":"openssl","version":"3.0.11","arch":"amd64"}])", 10},
      {"disks", "collected", "", "d-x", "x", 10}};
  const auto plan = plan_inventory(
      "h1", held,
      {collected("packages", R"([{"name":"openssl","version":"3.0.13","arch":"amd64"}])"), SectionUpdate{"disks", "unchanged", "", "", ""},
       collected("cpus", "c")},
      20);
  ASSERT_EQ(plan.writes.size(), 2u) << "the report says disks did not change";
  EXPECT_EQ(plan.writes[0].name, "packages");
  EXPECT_EQ(plan.writes[1].name, "cpus");
  ASSERT_EQ(plan.audit.size(), 1u);
  EXPECT_EQ(plan.audit[0].kind, "software");
  EXPECT_EQ(plan.audit[0].old_value, R"("3.0.11")") << "values are JSON, as every audit value";
  EXPECT_EQ(plan.audit[0].new_value, R"("3.0.13")");
  ASSERT_EQ(plan.after.size(), 3u);
  EXPECT_EQ(plan.after[0].name, "cpus");
  EXPECT_EQ(plan.after[1].name, "disks");
  EXPECT_EQ(plan.after[2].name, "packages");
  EXPECT_EQ(plan.after[2].updated_ms, 20);
  // The first packages section is the baseline: no audit entries.
  EXPECT_TRUE(plan_inventory("h1", {}, {collected("packages", held[0].data_json)}, 20).audit.empty());
}

TEST(AuditClassification, ReadsEachCisContextOnceAndPassesItsErrorOn) {
  std::vector<AuditRecord> records(3);
  records[0].ci_id = records[1].ci_id = "a";
  records[2].ci_id = "b";
  for (auto& r : records) {
    r.kind = "attribute";
    r.key = "memory.total_bytes";
    r.old_value = "1";
    r.new_value = "2";
    r.origin = "agent";
    r.time_ms = 5 * kFlapWindowMs;
  }
  std::vector<std::string> asked;
  auto st = classify_audit(records, [&](std::string_view ci, const std::vector<std::string>& keys) -> core::Result<AuditContext> {
    asked.emplace_back(ci);
    EXPECT_EQ(keys.size(), ci == "a" ? 2u : 1u);
    AuditContext ctx;
    if (ci == "a") {
      ChangeRecord ch;
      ch.id = "chg-1";
      ch.start_ms = 0;
      ch.end_ms = 10 * kFlapWindowMs;
      ch.ci_ids = {"a"};
      ctx.changes.push_back(ch);
    }
    return ctx;
  });
  ASSERT_TRUE(st);
  EXPECT_EQ(asked, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(records[0].change_id, "chg-1");
  EXPECT_FALSE(records[0].unauthorized);
  EXPECT_TRUE(records[2].unauthorized) << "no change record covers b";

  auto failed = classify_audit(records, [](std::string_view, const std::vector<std::string>&) -> core::Result<AuditContext> {
    return core::make_error(StoreErrc::unavailable, "down");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, StoreErrc::unavailable) << "the store's own error, not a generic one";
}

TEST(IncidentWriteProtocol, NumbersNewIncidentsAndKeepsIds) {
  std::int64_t counter = 41;
  const auto number = [&]() -> core::Result<std::int64_t> { return ++counter; };
  const auto fresh = [](const std::optional<Incident>&) -> std::optional<Incident> { return Incident{}; };
  auto made = incident_update(std::nullopt, "", fresh, number);
  ASSERT_TRUE(made && *made);
  EXPECT_EQ((*made)->id, "INC-42");

  auto missing = incident_update(std::nullopt, "INC-7", fresh, number);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, StoreErrc::not_found);

  Incident held;
  held.id = "INC-42";
  auto renamed = incident_update(held, "", [](const std::optional<Incident>& o) -> std::optional<Incident> {
    Incident n = *o;
    n.id = "INC-1";
    return n;
  }, number);
  ASSERT_FALSE(renamed);
  EXPECT_EQ(renamed.error().code, StoreErrc::invalid);

  auto nothing = incident_update(held, "", [](const std::optional<Incident>&) { return std::optional<Incident>{}; }, number);
  ASSERT_TRUE(nothing);
  EXPECT_FALSE(*nothing);
  EXPECT_EQ(counter, 42) << "a number is drawn only for a new incident";
}

TEST(ChangeRecords, NewOnesGetAnIdAndTheirCisOnceInOrder) {
  ChangeRecord in;
  in.ci_ids = {"b", "a", "b"};
  const ChangeRecord ch = new_change(in);
  EXPECT_EQ(ch.id.rfind("chg-", 0), 0u);
  EXPECT_EQ(ch.ci_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_NE(new_change(in).id, ch.id);
}

TEST(Relationships, AddedAndRemovedAreAuditedOnTheirSource) {
  const Relationship r{"app", "runs_on", "host", "api", 5};
  const AuditRecord added = relationship_audit(r, true, "api", "carol (10.0.0.7)", 5);
  EXPECT_EQ(added.ci_id, "app");
  EXPECT_EQ(added.kind, "relationship");
  EXPECT_EQ(added.key, "runs_on host");
  EXPECT_EQ(added.new_value, "true");
  EXPECT_EQ(added.old_value, "");
  EXPECT_EQ(added.actor, "carol (10.0.0.7)");
  const AuditRecord removed = relationship_audit(r, false, "alice", "", 9);
  EXPECT_EQ(removed.old_value, "true");
  EXPECT_EQ(removed.new_value, "");
  EXPECT_EQ(removed.origin, "alice");
  EXPECT_EQ(removed.time_ms, 9);
}

TEST(Components, LinksFollowTheKindsCollectedAndOnlyTheAgentsGo) {
  const std::vector<Relationship> held{
      {"h", "contains", "disk-a", "agent", 1},   // still there
      {"h", "contains", "disk-b", "agent", 1},   // pulled
      {"h", "contains", "disk-p", "user", 1},    // a person's link stays
      {"h", "contains", "nic-x", "agent", 1},    // nics not collected: stays
      {"h", "runs_on", "disk-q", "agent", 1},    // not a contains link
      {"other", "contains", "disk-z", "agent", 1},
      {"g", "contains", "h", "agent", 1}};       // to the host, not from it
  const ComponentKinds kinds{{"disk-", {"disk-a", "disk-c"}}, {"cpu-", {}}};
  const ComponentPlan plan = plan_components("h", held, kinds, 50);
  EXPECT_EQ(plan.add, (std::vector<Relationship>{{"h", "contains", "disk-c", "agent", 50}}));
  EXPECT_EQ(plan.remove, (std::vector<Relationship>{{"h", "contains", "disk-b", "agent", 1}}));
  EXPECT_TRUE(plan_components("h", {}, {}, 50).add.empty()) << "no kind collected: nothing changes";
}

TEST(Components, AComponentGoneIsRetiredOnceByTheAgent) {
  Ci disk;
  disk.id = "disk-b";
  disk.type = "disk";
  disk.state = CiState::active;
  const auto retire = retirement(disk, 70);
  ASSERT_TRUE(retire);
  EXPECT_EQ(retire->id, "disk-b");
  EXPECT_EQ(retire->type, "disk");
  EXPECT_EQ(retire->source, "agent");
  EXPECT_EQ(retire->state, CiState::retired);
  EXPECT_EQ(retire->seen_at_ms, 70);
  disk.state = CiState::retired;
  EXPECT_FALSE(retirement(disk, 80)) << "retired already";
  EXPECT_FALSE(retirement(std::nullopt, 80)) << "not held";
}

TEST(Series, TheNewestSampleIsTheLaterOfHeadAndNewestChunk) {
  const std::vector<Sample> chunk{{10, 1.0}, {20, 2.0}};
  EXPECT_EQ(newest_of(std::nullopt, chunk)->time_ms, 20);
  EXPECT_EQ(newest_of(Sample{30, 3.0}, chunk)->time_ms, 30);
  EXPECT_EQ(newest_of(Sample{15, 3.0}, chunk)->time_ms, 20) << "a late sample in the head";
  EXPECT_EQ(newest_of(Sample{15, 3.0}, {})->time_ms, 15);
  EXPECT_FALSE(newest_of(std::nullopt, {}));
}

// is_plain_sighting reads a few attributes of the stored text where the
// Redis store used to read the CI whole and merge: it must say yes exactly
// when merge_ci changes nothing but the time last seen. Random CIs and
// updates (values of every type, equal or not, protected keys, states,
// names, prefixes, non-finite numbers) against merge_ci itself.
TEST(PlainSighting, IsExactlyAMergeThatMovesOnlyTheTimeSeen) {
  std::mt19937_64 rng(20261205);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> keys{"agent.id", "os.name", "cpu.count", "memory.total_bytes", "x.flag", "y.ratio"};
  auto value = [&]() -> AttrValue {
    switch (pick(7)) {
      case 0: return std::string(pick(2) ? "a" : "b");
      case 1: return std::int64_t{pick(3)};
      case 2: return static_cast<double>(pick(3));  // 1.0 is not the integer 1
      case 3: return pick(2) == 1;
      case 4: return 0.1 * pick(3);
      case 5: return std::numeric_limits<double>::quiet_NaN();  // merge_ci skips it
      default: return std::string("agt-") + std::to_string(pick(2));
    }
  };
  int said_yes = 0, said_no = 0;
  for (int round = 0; round < 20'000; ++round) {
    Ci held;
    held.id = "h1";
    held.type = "host";
    held.name = "web-1";
    held.source = "agent";
    held.state = pick(4) == 0 ? CiState::missing : CiState::active;
    held.last_seen_ms = 1'000;
    for (const std::string& k : keys)
      if (pick(3) != 0)
        if (AttrValue v = value(); !(std::holds_alternative<double>(v) && std::isnan(std::get<double>(v))))
          held.attributes[k] = v;  // what is stored is finite
    for (const std::string& k : keys)
      if (pick(5) == 0) held.protected_keys.push_back(k);
    std::sort(held.protected_keys.begin(), held.protected_keys.end());  // as a Ci holds them
    CiUpdate u;
    u.id = "h1";
    u.type = "host";
    u.source = pick(6) == 0 ? "user" : "agent";
    u.seen_at_ms = 500 + pick(1'000);
    if (pick(8) == 0) u.name = pick(2) ? "web-1" : "web-2";
    if (pick(8) == 0) u.replace_prefixes = {"x."};
    if (pick(10) == 0) u.state = CiState::active;
    for (const std::string& k : keys)
      if (pick(3) == 0) {
        // Often the value held, so that the yes cases are many.
        const auto it = held.attributes.find(k);
        u.attributes[k] = it != held.attributes.end() && pick(3) != 0 ? it->second : value();
      }
    Ci merged = merge_ci(held, u);
    Ci only_seen = held;
    only_seen.last_seen_ms = merged.last_seen_ms;
    const bool plain = merged == only_seen;
    const bool said =
        is_plain_sighting(u, held.state, attrs_to_json(held.attributes), keys_to_json(held.protected_keys));
    // An update with a name, prefixes or a state is never taken as one, even
    // when it would change nothing: the full merge handles it all the same.
    const bool simple = u.source == "agent" && u.name.empty() && u.replace_prefixes.empty() && !u.state;
    if (simple) {
      ASSERT_EQ(said, plain) << "round " << round << ": " << attrs_to_json(held.attributes) << " <- "
                             << attrs_to_json(u.attributes);
    } else {
      ASSERT_FALSE(said) << "round " << round;
    }
    (said ? said_yes : said_no)++;
  }
  EXPECT_GT(said_yes, 1'000);
  EXPECT_GT(said_no, 1'000);
  // Text it cannot read is no sighting: the caller's full read reports it.
  CiUpdate u;
  u.source = "agent";
  u.attributes["os.name"] = std::string("a");
  EXPECT_FALSE(is_plain_sighting(u, CiState::active, "{not json", "[]"));
  EXPECT_FALSE(is_plain_sighting(u, CiState::active, "[1]", "[]"));
  EXPECT_FALSE(is_plain_sighting(u, CiState::active, R"({"x":1})", "{bad"));
  EXPECT_TRUE(is_plain_sighting(u, CiState::active, R"({"os.name":"a"})", "{bad")) << "the keys are read only when needed";
}

// The window of an agent's reports applied, held to a set of every
// sequence marked as the oracle: a sequence is seen exactly when it was
// marked and is among the kSeenWindow up to the highest marked. Sequences
// arrive mostly in order, with replays, gaps, jumps past the window and
// some far below it.
TEST(SeenWindow, KnowsExactlyTheSequencesMarkedWithinTheWindow) {
  std::mt19937_64 rng(20261205);
  auto pick = [&](std::uint64_t n) { return rng() % n; };
  std::string ring;
  std::uint64_t highest = 0;
  std::set<std::uint64_t> marked;
  const auto expect_seen = [&](std::uint64_t s) {
    return marked.count(s) == 1 && s <= highest && highest - s < kSeenWindow;
  };
  for (int step = 0; step < 60'000; ++step) {
    std::uint64_t s = 0;
    switch (pick(10)) {
      case 0: s = highest + 2 + pick(kSeenWindow + 10); break;                       // a gap or a jump
      case 1: s = highest > 0 ? highest - pick(std::min<std::uint64_t>(highest, 40)) : 1; break;  // a replay
      case 2: s = highest > kSeenWindow ? highest - kSeenWindow + pick(3) - 1 : 1; break;  // the window's edge
      case 3: s = 1 + pick(highest + 1); break;                                        // anywhere below
      default: s = highest + 1;
    }
    if (s == 0) s = 1;
    ASSERT_EQ(seen_in_window(ring, highest, s), expect_seen(s)) << "step " << step << ", sequence " << s;
    if (expect_seen(s)) continue;  // a duplicate is not applied again
    mark_in_window(ring, highest, s);
    if (s <= highest && highest - s >= kSeenWindow) {
      EXPECT_FALSE(seen_in_window(ring, highest, s)) << "below the window: not kept";
      continue;
    }
    marked.insert(s);
    highest = std::max(highest, s);
    ASSERT_EQ(ring.size(), kSeenWindow / 8);
    ASSERT_TRUE(seen_in_window(ring, highest, s));
  }
  // Every sequence of the window at the end, against the oracle.
  for (std::uint64_t s = highest > kSeenWindow + 5 ? highest - kSeenWindow - 5 : 1; s <= highest + 5; ++s)
    ASSERT_EQ(seen_in_window(ring, highest, s), expect_seen(s)) << s;
  // A ring of another size (damaged, or none yet) holds nothing, and is
  // made whole by the next mark.
  EXPECT_FALSE(seen_in_window(ring.substr(1), highest, highest));
  std::string bad(7, '\xff');
  EXPECT_FALSE(seen_in_window(bad, 10, 9));
  mark_in_window(bad, 10, 11);
  EXPECT_EQ(bad.size(), kSeenWindow / 8);
  EXPECT_TRUE(seen_in_window(bad, 11, 11));
  EXPECT_FALSE(seen_in_window(bad, 11, 9));
}

}  // namespace
}  // namespace surveyor::collector::store
