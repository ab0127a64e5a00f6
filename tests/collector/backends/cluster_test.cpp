// SPDX-License-Identifier: Apache-2.0
// The store on a real Redis Cluster (redis-cluster://): its own keys in the
// hash slot of its prefix, each host's (agent, window, sighting, inventory,
// series) in a slot of their own, on whichever master serves it; a report
// interrupted between the two applied once; a store written before the
// series spread kept as it is; a clear error when no node can name a
// master; a slot followed to another master. An agent moved between
// hosts' slots: cluster_agents_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "backends/cluster.hpp"

namespace surveyor::collector::store {
namespace {

// The slot a key hashes to, computed here, is the one the cluster says
// (CLUSTER KEYSLOT), hash tags and their corner cases included.
TEST(RedisCluster, KeySlotsAreTheClustersOwn) {
  test::RedisCluster& cluster = test::test_redis_cluster();
  // Shell-quoted as they are ('...'), so no quote or backslash in them.
  const std::vector<std::string> keys{"",         "a",  "foo", "{user1000}.following", "{user1000}.followers",
                                      "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "{}", "}{", "{a", "a}",
                                      "{p:ci-1/uuid}:headlog", "surveyor:window:agt-1", "{surveyor}:agent:agt-1"};
  for (const std::string& k : keys)
    EXPECT_EQ(cluster.ask(0, "cluster keyslot '" + k + "'"), std::to_string(redis::key_slot(k))) << k;
}

// A report from hosts whose CIs hash to each master: the store's own keys
// (CIs, their indexes, the index of series and of agents) are in the slot
// of "{PREFIX}" on its master; each host's (its agent's record and window,
// the time the agent saw it, its series' index, units and head) in the
// slot of "{PREFIX:CI}" on that one's; so every master holds some; and
// each host's samples and sighting read back.
TEST(RedisCluster, EachCIsSeriesAreInASlotOfItsOwnOnEveryMaster) {
  test::RedisCluster& cluster = test::test_redis_cluster();
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  // Hosts until every master serves one's slot.
  std::vector<std::string> cis;
  std::vector<bool> served(cluster.size(), false);
  for (int n = 0; std::count(served.begin(), served.end(), false) > 0 && n < 200; ++n) {
    const std::string ci = "ci-" + std::to_string(n);
    const std::size_t m = cluster.master_of("{" + prefix + ":" + ci + "}");
    ASSERT_LT(m, cluster.size());
    if (served[m]) continue;
    served[m] = true;
    cis.push_back(ci);
  }
  ASSERT_EQ(cis.size(), cluster.size());
  for (std::size_t i = 0; i < cis.size(); ++i) {
    const std::string agent = "agt-" + std::to_string(i);
    AgentRecord a = agent_record(agent);
    a.ci_id = cis[i];
    ASSERT_TRUE(s->agents->create_agent(a));
    ReportBatch b = report_batch(agent, 1, 1'000);
    b.cis.push_back(host_update(cis[i], "host" + std::to_string(i), 1'000));
    b.series.push_back({series_info(cis[i], "cpu.load"), {{1'000, 0.5 + i}, {61'000, 0.75 + i}}});
    auto applied = s->reports->apply_report(b);
    ASSERT_TRUE(applied) << applied.error().describe();
    EXPECT_EQ(applied->outcome, ApplyOutcome::stored);
  }

  const std::size_t home = home_of(cluster, prefix);
  ASSERT_LT(home, cluster.size());
  EXPECT_EQ(count_keys(cluster, home, "{" + prefix + "}:ci:*"), cis.size());
  EXPECT_EQ(count_keys(cluster, home, "{" + prefix + "}:agent*"), 1u) << "the agents' index only";
  EXPECT_EQ(count_keys(cluster, home, "{" + prefix + "}:window*"), 0u);
  EXPECT_TRUE(all_in_slot_of(cluster, home, "{" + prefix + "}:*", "{" + prefix + "}"));
  EXPECT_EQ(cluster.ask(home, "get '{" + prefix + "}:layout'"), "spread");
  for (std::size_t i = 0; i < cluster.size(); ++i)
    if (i != home) {
      EXPECT_EQ(count_keys(cluster, i, "{" + prefix + "}:*"), 0u) << "node " << i;
    }
  for (std::size_t i = 0; i < cis.size(); ++i) {
    const std::string tag = "{" + prefix + ":" + cis[i] + "}";
    const std::size_t m = cluster.master_of(tag);
    EXPECT_GE(count_keys(cluster, m, tag + ":*"), 4u) << cis[i] << ": its series index, units, head and metadata";
    for (const char* kind : {":agent:agt-", ":window:agt-"})
      EXPECT_EQ(count_keys(cluster, m, tag + kind + std::to_string(i)), 1u) << cis[i] << kind;
    EXPECT_TRUE(all_in_slot_of(cluster, m, tag + ":*", tag));
    for (std::size_t n = 0; n < cluster.size(); ++n)
      if (n != m) {
        EXPECT_EQ(count_keys(cluster, n, tag + ":*"), 0u) << cis[i] << " on node " << n;
      }
    auto got = s->series->read_samples({cis[i], "cpu.load", {}}, 0, 100'000, 10);
    ASSERT_TRUE(got) << got.error().describe();
    ASSERT_EQ(got->size(), 2u) << cis[i];
    EXPECT_EQ((*got)[1].value, 0.75 + static_cast<double>(i));
    auto latest = s->series->latest_samples_of(cis, "cpu.load");
    ASSERT_TRUE(latest) << latest.error().describe();
    ASSERT_EQ(latest->at(i).size(), 1u);
    EXPECT_EQ(latest->at(i).front().sample.time_ms, 61'000);
  }
}

// A report that changes its host's CI writes that in the store's slot
// first, then its host's transaction (series, sequence). Should the
// collector stop in between, the report comes back and is applied again:
// the CI's change is found made and not recorded twice, the samples held
// are not written twice, and then the report is known. Plain sightings
// that follow write the host's slot alone: the CI's own record keeps the
// time of its last change while reads see the latest sighting.
TEST(RedisCluster, AReportInterruptedBetweenItsCiAndItsHostIsAppliedOnce) {
  test::RedisCluster& cluster = test::test_redis_cluster();
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));
  ReportBatch b = report_batch("agt-1", 7, 1'000);
  b.cis.push_back(host_update("ci-agt-1", "web01", 1'000));
  b.cis.back().attributes["os.name"] = "debian";
  b.series.push_back({series_info("ci-agt-1", "cpu.load"), {{1'000, 0.5}, {61'000, 0.75}}});
  b.series.push_back({series_info("ci-agt-1", "mem.used"), {{1'000, 10.0}}});
  ASSERT_TRUE(s->reports->apply_report(b));
  const std::string tag = "{" + prefix + ":ci-agt-1}";
  const std::size_t host = cluster.master_of(tag);
  auto audited = [&] { return audit_records(*s, "ci-agt-1"); };
  const std::size_t records = audited();
  ASSERT_GE(records, 1u) << "the CI's creation";
  // As if the host's transaction had not run: the report's bit is cleared.
  EXPECT_EQ(cluster.ask(host, "setbit '" + tag + ":window:agt-1' 7 0"), "1");
  const std::string entries = cluster.ask(host, "zcard '" + tag + ":headlog'");

  auto again = s->reports->apply_report(b);
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_EQ(again->outcome, ApplyOutcome::stored);
  EXPECT_EQ(cluster.ask(host, "zcard '" + tag + ":headlog'"), entries) << "no new head entry";
  EXPECT_EQ(audited(), records) << "the CI's change is not recorded twice";
  auto got = s->series->read_samples({"ci-agt-1", "cpu.load", {}}, 0, 100'000, 10);
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(got->size(), 2u);
  auto third = s->reports->apply_report(b);
  ASSERT_TRUE(third) << third.error().describe();
  EXPECT_EQ(third->outcome, ApplyOutcome::duplicate);

  // A plain sighting: written on the host's slot only.
  const std::size_t home = home_of(cluster, prefix);
  const std::string ci_key = "{" + prefix + "}:ci:ci-agt-1";
  ReportBatch seen = report_batch("agt-1", 8, 121'000);
  seen.cis.push_back(host_update("ci-agt-1", "", 121'000));
  seen.cis.back().name_if_new = "web01";  // as the intake sends the host
  seen.cis.back().attributes["os.name"] = "debian";
  ASSERT_TRUE(s->reports->apply_report(seen));
  EXPECT_EQ(cluster.ask(home, "hget '" + ci_key + "' last_seen_ms"), "1000");
  EXPECT_EQ(cluster.ask(host, "get '" + tag + ":sighted'"), "121000");
  auto ci = s->cmdb->find_ci("ci-agt-1");
  ASSERT_TRUE(ci && *ci);
  EXPECT_EQ((*ci)->last_seen_ms, 121'000);
  auto listed = s->cmdb->list_cis({});
  ASSERT_TRUE(listed) << listed.error().describe();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().last_seen_ms, 121'000);
  EXPECT_EQ(audited(), records) << "a sighting is no change";
}


// A host's inventory is in its host's slot, beside its digests; the audit
// records of a change of its packages are in the store's, written first
// with a mark of the report's sequence. Should the collector stop between
// the two transactions, the report comes back: the change is recorded
// once and the inventory written. An inventory that a collector of before
// kept in the store's slot is read there, and moved to the host's by the
// host's next report that carries inventory.
TEST(RedisCluster, AHostsInventoryIsInItsSlotAndItsChangeRecordedOnce) {
  test::RedisCluster& cluster = test::test_redis_cluster();
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));
  const std::string own = "{" + prefix + "}", tag = "{" + prefix + ":ci-agt-1}";
  const std::string inventory = "'" + tag + ":inventory:ci-agt-1'", digests = "'" + tag + ":inventory-digests:ci-agt-1'";
  auto with_packages = [](std::uint64_t seq, const std::string& digest, const std::string& version) {
    ReportBatch b = signed_report(seq, "ci-agt-1");
    b.cis.push_back(host_update("ci-agt-1", "web01", b.received_at_ms));
    b.sections.push_back({"packages", "collected", "", digest, R"([{"name":"bash","version":")" + version + R"("}])"});
    return b;
  };
  auto audited = [&] { return audit_records(*s, "ci-agt-1"); };
  auto packages_digest = [&] {
    auto held = s->inventory->get_inventory("ci-agt-1");
    EXPECT_TRUE(held) << held.error().describe();
    return held && held->size() == 1 ? held->front().digest : std::string("(none)");
  };
  auto first = s->reports->apply_report(with_packages(1, "p1", "5.1"));
  ASSERT_TRUE(first) << first.error().describe();
  const std::size_t home = home_of(cluster, prefix);
  const std::size_t host = cluster.master_of(tag);
  EXPECT_EQ(count_keys(cluster, home, own + ":inventory*"), 0u);
  EXPECT_EQ(cluster.ask(host, "exists " + inventory), "1");
  EXPECT_EQ(packages_digest(), "p1");
  const std::size_t created = audited();

  // A change, as if the collector had stopped after the store's transaction.
  EXPECT_EQ(cluster.ask(host, "copy " + inventory + " '" + tag + ":saved-inventory'"), "1");
  EXPECT_EQ(cluster.ask(host, "copy " + digests + " '" + tag + ":saved-digests'"), "1");
  const ReportBatch change = with_packages(2, "p2", "5.2");
  auto changed = s->reports->apply_report(change);
  ASSERT_TRUE(changed) << changed.error().describe();
  EXPECT_EQ(changed->outcome, ApplyOutcome::stored);
  const std::size_t recorded = audited();
  ASSERT_GT(recorded, created) << "bash 5.1 -> 5.2 recorded";
  EXPECT_EQ(count_keys(cluster, home, own + ":inventory-audited:*"), 0u) << "the mark goes once the report is applied";
  EXPECT_EQ(cluster.ask(host, "copy '" + tag + ":saved-inventory' " + inventory + " replace"), "1");
  EXPECT_EQ(cluster.ask(host, "copy '" + tag + ":saved-digests' " + digests + " replace"), "1");
  EXPECT_EQ(cluster.ask(host, "setbit '" + tag + ":window:agt-1' 2 0"), "1");
  EXPECT_EQ(cluster.ask(home, "set '" + own + ":inventory-audited:agt-1' 2"), "OK");
  EXPECT_EQ(packages_digest(), "p1");

  auto again = s->reports->apply_report(change);
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_EQ(again->outcome, ApplyOutcome::stored);
  EXPECT_EQ(audited(), recorded) << "the change is not recorded twice";
  EXPECT_EQ(packages_digest(), "p2");
  EXPECT_EQ(count_keys(cluster, home, own + ":inventory-audited:*"), 0u);
  auto third = s->reports->apply_report(change);
  ASSERT_TRUE(third) << third.error().describe();
  EXPECT_EQ(third->outcome, ApplyOutcome::duplicate);
  ASSERT_EQ(third->inventory.size(), 1u);
  EXPECT_EQ(third->inventory.front().digest, "p2");

  // Where a collector of before kept it: the store's slot.
  const std::string record = cluster.ask(host, "hget " + inventory + " packages");
  ASSERT_NE(record.find("\"p2\""), std::string::npos) << record;
  EXPECT_EQ(cluster.ask(home, "hset '" + own + ":inventory:ci-agt-1' packages '" + record + "'"), "1");
  EXPECT_EQ(cluster.ask(host, "del " + inventory), "1");
  EXPECT_EQ(packages_digest(), "p2") << "read in the store's slot";
  auto moved = s->reports->apply_report(with_packages(3, "p3", "5.3"));
  ASSERT_TRUE(moved) << moved.error().describe();
  EXPECT_EQ(count_keys(cluster, home, own + ":inventory*"), 0u);
  EXPECT_EQ(packages_digest(), "p3");
  EXPECT_GT(audited(), recorded) << "bash 5.2 -> 5.3, from the inventory moved";
}

// A store that held series on the cluster before they spread keeps them
// where they are: every key in the slot of "{PREFIX}".
TEST(RedisCluster, AStoreWithSeriesInItsOwnSlotKeepsThemThere) {
  test::RedisCluster& cluster = test::test_redis_cluster();
  const std::string prefix = test::unique_prefix();
  const std::string home_key = "{" + prefix + "}";
  const std::size_t home = home_of(cluster, prefix);
  ASSERT_LT(home, cluster.size());
  EXPECT_EQ(cluster.ask(home, "sadd '" + home_key + ":allseries' 'old-series'"), "1");
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));
  ASSERT_TRUE(s->reports->apply_report(load_report(1, 1'000, 0.5)));
  EXPECT_EQ(cluster.ask(home, "get '" + home_key + ":layout'"), "one-slot");
  EXPECT_TRUE(all_in_slot_of(cluster, home, home_key + ":*", home_key));
  EXPECT_GE(count_keys(cluster, home, home_key + ":headlog:*"), 1u);
  for (std::size_t i = 0; i < cluster.size(); ++i)
    EXPECT_EQ(count_keys(cluster, i, "{" + prefix + ":*"), 0u) << "node " << i;
  auto got = s->series->read_samples({"ci-agt-1", "cpu.load", {}}, 0, 100'000, 10);
  ASSERT_TRUE(got) << got.error().describe();
  EXPECT_EQ(got->size(), 1u);
}

// The durability warnings of a cluster store are every master's, each
// naming its master: a master that would evict keys (it may hold some
// host's series) makes the store evicting, even when the store's own
// master would not.
TEST(RedisCluster, EveryMastersSettingsAreChecked) {
  test::RedisCluster cluster(3, 0, {"--appendonly", "yes", "--appendfsync", "always"});
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  auto clean = s->health->durability();
  ASSERT_TRUE(clean) << clean.error().describe();
  EXPECT_TRUE(clean->warnings.empty()) << clean->warnings.front();
  EXPECT_FALSE(clean->evicting);

  const std::size_t home = home_of(cluster, prefix);
  ASSERT_LT(home, cluster.size());
  const std::size_t other = (home + 1) % cluster.size();
  EXPECT_EQ(cluster.ask(other, "config set maxmemory-policy allkeys-lru"), "OK");
  auto d = s->health->durability();
  ASSERT_TRUE(d) << d.error().describe();
  EXPECT_TRUE(d->evicting);
  ASSERT_EQ(d->warnings.size(), 1u);
  const std::string& w = d->warnings.front();
  EXPECT_NE(w.find("redis 127.0.0.1:" + std::to_string(cluster.address(other).port) + ": maxmemory-policy allkeys-lru"),
            std::string::npos)
      << w;
}

// A layout the collector does not know is an error that names it; nothing
// is written.
TEST(RedisCluster, AnUnknownLayoutIsRefused) {
  test::RedisCluster& cluster = test::test_redis_cluster();
  const std::string prefix = test::unique_prefix();
  const std::string home_key = "{" + prefix + "}";
  const std::size_t home = home_of(cluster, prefix);
  ASSERT_LT(home, cluster.size());
  EXPECT_EQ(cluster.ask(home, "set '" + home_key + ":layout' sideways"), "OK");
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  auto created = s->agents->create_agent(agent_record("agt-1"));
  ASSERT_FALSE(created);
  EXPECT_NE(created.error().message.find(home_key + ":layout"), std::string::npos) << created.error().message;
  auto applied = s->reports->apply_report(load_report(1, 1'000, 0.5));
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().message.find(home_key + ":layout"), std::string::npos) << applied.error().message;
  EXPECT_NE(applied.error().message.find("sideways"), std::string::npos) << applied.error().message;
  EXPECT_EQ(count_keys(cluster, home, home_key + ":agent*"), 0u);
  EXPECT_FALSE(s->series->list_series("ci-agt-1"));
  EXPECT_EQ(count_keys(cluster, home, home_key + ":window:*"), 0u);
}

// Nodes that do not answer, or are no cluster's: the store is unavailable,
// with each node's answer in the message, and no crash.
TEST(RedisCluster, NodesThatCannotNameTheMasterMakeTheStoreUnavailable) {
  const auto nobody = test::free_port();
  test::RedisServer lone;  // a Redis, but not a cluster's node
  auto s = backends::open_stores("redis-cluster://127.0.0.1:" + std::to_string(nobody) + ",127.0.0.1:" +
                                 std::to_string(lone.address().port) + "/p");
  ASSERT_TRUE(s) << s.error().describe();
  auto st = s->health->ping();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, StoreErrc::unavailable);
  const std::string& m = st.error().message;
  EXPECT_NE(m.find("no cluster node named the master of {p}'s hash slot"), std::string::npos) << m;
  EXPECT_NE(m.find("cluster node 127.0.0.1:" + std::to_string(nobody)), std::string::npos) << m;
  EXPECT_NE(m.find("is it a node of a Redis Cluster?"), std::string::npos) << m;
  EXPECT_EQ(s->health->describe(), "redis-cluster://127.0.0.1:" + std::to_string(nobody) + ",127.0.0.1:" +
                                       std::to_string(lone.address().port) + "/p");
}

// A connection to a node that does not serve the key's slot is answered
// MOVED: it is marked broken, so the pool drops it, and the error is one
// to retry (unavailable), not a fault of the store.
TEST(RedisCluster, AConnectionAnsweredMovedIsDropped) {
  test::RedisCluster& cluster = test::test_redis_cluster();
  const std::string key = "{" + test::unique_prefix() + "}:k";
  const std::size_t master = cluster.master_of(key);
  ASSERT_LT(master, cluster.size());
  const std::size_t other = (master + 1) % cluster.size();
  auto c = redis::Connection::open("127.0.0.1", cluster.address(other).port, std::chrono::seconds(5), {}, {});
  ASSERT_TRUE(c) << c.error().describe();
  auto r = (*c)->command({"GET", key});
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE((*c)->broken());
  const core::Error e = redis::reply_error(r->get(), "read");
  EXPECT_EQ(e.code, StoreErrc::unavailable) << e.message;
  EXPECT_NE(e.message.find("MOVED"), std::string::npos) << e.message;
}

// Moves the slot of `tag` from its master to the next one, as an
// operator's resharding does (IMPORTING, MIGRATING, MIGRATE, then SETSLOT
// NODE); returns the master it left.
std::size_t move_slot(test::RedisCluster& cluster, const std::string& tag) {
  const std::size_t from = cluster.master_of(tag);
  EXPECT_LT(from, cluster.size());
  if (from >= cluster.size()) return from;
  const std::size_t to = (from + 1) % cluster.size();
  const std::string slot = cluster.ask(from, "cluster keyslot '" + tag + "'");
  const std::string from_id = cluster.ask(from, "cluster myid"), to_id = cluster.ask(to, "cluster myid");
  EXPECT_EQ(cluster.ask(to, "cluster setslot " + slot + " importing " + from_id), "OK");
  EXPECT_EQ(cluster.ask(from, "cluster setslot " + slot + " migrating " + to_id), "OK");
  std::string keys = cluster.ask(from, "cluster getkeysinslot " + slot + " 1000");
  EXPECT_FALSE(keys.empty());
  std::string quoted;
  for (std::size_t at = 0; at < keys.size();) {
    const std::size_t end = std::min(keys.find('\n', at), keys.size());
    quoted += " '" + keys.substr(at, end - at) + "'";
    at = end + 1;
  }
  EXPECT_EQ(cluster.ask(from, "migrate 127.0.0.1 " + std::to_string(cluster.address(to).port) +
                                  " \"\" 0 5000 keys" + quoted),
            "OK");
  for (std::size_t i : {to, from})
    EXPECT_EQ(cluster.ask(i, "cluster setslot " + slot + " node " + to_id), "OK") << i;
  EXPECT_EQ(cluster.master_of(tag), to);
  return from;
}

// The store's slot moves to another master: the collector's next request
// may be refused as unavailable, the ones after reach the new master, and
// the data moved with the slot.
TEST(RedisCluster, TheStoreFollowsItsSlotToAnotherMaster) {
  test::RedisCluster cluster(3);
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));
  const std::size_t from = move_slot(cluster, "{" + prefix + "}");
  ASSERT_LT(from, cluster.size());

  int refused = 0;
  core::Result<std::optional<AgentRecord>> found = core::make_error(StoreErrc::io, "not read");
  for (int attempt = 0; attempt < 5; ++attempt) {
    found = s->agents->find_agent("agt-1");
    if (found) break;
    ++refused;
    EXPECT_EQ(found.error().code, StoreErrc::unavailable) << found.error().describe();
  }
  ASSERT_TRUE(found) << found.error().describe();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->ci_id, "ci-agt-1");
  EXPECT_LE(refused, 1) << "one request, on the connection left to the old master, at most";
  EXPECT_EQ(count_keys(cluster, from, "{" + prefix + "}:*"), 0u);
}

// A host's series slot moves to another master: reads and reports are
// refused as unavailable at most once (the connection left to the old
// master), then the collector has learned the slots again and writes and
// reads the series there, nothing lost.
TEST(RedisCluster, AHostsSeriesFollowTheirSlotToAnotherMaster) {
  test::RedisCluster cluster(3);
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));
  ASSERT_TRUE(s->reports->apply_report(load_report(1, 1'000, 0.5)));
  const std::string tag = "{" + prefix + ":ci-agt-1}";
  const std::size_t from = move_slot(cluster, tag);
  ASSERT_LT(from, cluster.size());

  int refused = 0;
  const ReportBatch next = load_report(2, 61'000, 0.75);
  core::Result<ApplyResult> applied = core::make_error(StoreErrc::io, "not applied");
  for (int attempt = 0; attempt < 5 && !applied; ++attempt) {
    applied = s->reports->apply_report(next);
    if (applied) break;
    ++refused;
    EXPECT_EQ(applied.error().code, StoreErrc::unavailable) << applied.error().describe();
  }
  ASSERT_TRUE(applied) << applied.error().describe();
  EXPECT_EQ(refused, 1) << "the pooled connection to the old master is answered MOVED once";
  auto got = s->series->read_samples({"ci-agt-1", "cpu.load", {}}, 0, 100'000, 10);
  ASSERT_TRUE(got) << got.error().describe();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].value, 0.5);
  EXPECT_EQ((*got)[1].value, 0.75);
  EXPECT_EQ(count_keys(cluster, from, tag + ":*"), 0u);
  EXPECT_GE(count_keys(cluster, cluster.master_of(tag), tag + ":*"), 4u);
}

}  // namespace
}  // namespace surveyor::collector::store
