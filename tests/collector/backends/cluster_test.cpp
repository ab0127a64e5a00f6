// SPDX-License-Identifier: Apache-2.0
// The store on a real Redis Cluster (redis-cluster://): it finds the master
// of its hash slot, keeps every key there, says clearly when no node can
// name that master, and follows the slot when it moves to another master.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "redis/redis_conn.hpp"
#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

// The keys of a store under `prefix`, as `node` holds them.
std::size_t keys_of(test::RedisCluster& cluster, std::size_t node, const std::string& prefix) {
  const std::string listed = cluster.ask(node, "--scan --pattern '{" + prefix + "}:*'");
  if (listed.empty()) return 0;
  return static_cast<std::size_t>(std::count(listed.begin(), listed.end(), '\n')) + 1;
}

// Every key of the store is in the slot of "{PREFIX}", on the master that
// serves it; no other node holds any.
TEST(RedisCluster, EveryKeyIsInThePrefixsSlotOnItsMaster) {
  test::RedisCluster& cluster = test::test_redis_cluster();
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));
  ReportBatch b = report_batch("agt-1", 1, 1'000);
  b.cis.push_back(host_update("ci-agt-1", "web01", 1'000));
  b.series.push_back({series_info("ci-agt-1", "cpu.load"), {{1'000, 0.5}, {61'000, 0.75}}});
  auto applied = s->reports->apply_report(b);
  ASSERT_TRUE(applied) << applied.error().describe();

  const std::size_t master = cluster.master_of("{" + prefix + "}");
  ASSERT_LT(master, cluster.size());
  const std::string slot = cluster.ask(master, "cluster keyslot '{" + prefix + "}'");
  const std::size_t held = keys_of(cluster, master, prefix);
  EXPECT_GE(held, 5u) << "the agent, its window, the CI, its series and head";
  EXPECT_EQ(cluster.ask(master, "cluster countkeysinslot " + slot), std::to_string(held))
      << "the slot holds the store's keys and no other";
  for (std::size_t i = 0; i < cluster.size(); ++i)
    if (i != master) {
      EXPECT_EQ(keys_of(cluster, i, prefix), 0u) << "node " << i;
    }
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
  auto c = redis::Connection::open("127.0.0.1", cluster.node(other).address().port, std::chrono::seconds(5), {}, {});
  ASSERT_TRUE(c) << c.error().describe();
  auto r = (*c)->command({"GET", key});
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE((*c)->broken());
  const core::Error e = redis::reply_error(r->get(), "read");
  EXPECT_EQ(e.code, StoreErrc::unavailable) << e.message;
  EXPECT_NE(e.message.find("MOVED"), std::string::npos) << e.message;
}

// The store's slot moves to another master (as an operator's resharding
// does: IMPORTING, MIGRATING, MIGRATE, then SETSLOT NODE): the collector's
// next request may be refused as unavailable, the ones after reach the new
// master, and the data moved with the slot.
TEST(RedisCluster, TheStoreFollowsItsSlotToAnotherMaster) {
  test::RedisCluster cluster(3);
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));

  const std::string tag = "'{" + prefix + "}'";
  const std::size_t from = cluster.master_of("{" + prefix + "}");
  ASSERT_LT(from, cluster.size());
  const std::size_t to = (from + 1) % cluster.size();
  const std::string slot = cluster.ask(from, "cluster keyslot " + tag);
  const std::string from_id = cluster.ask(from, "cluster myid"), to_id = cluster.ask(to, "cluster myid");
  EXPECT_EQ(cluster.ask(to, "cluster setslot " + slot + " importing " + from_id), "OK");
  EXPECT_EQ(cluster.ask(from, "cluster setslot " + slot + " migrating " + to_id), "OK");
  std::string keys = cluster.ask(from, "cluster getkeysinslot " + slot + " 1000");
  ASSERT_FALSE(keys.empty());
  std::string quoted;
  for (std::size_t at = 0; at < keys.size();) {
    const std::size_t end = std::min(keys.find('\n', at), keys.size());
    quoted += " '" + keys.substr(at, end - at) + "'";
    at = end + 1;
  }
  EXPECT_EQ(cluster.ask(from, "migrate 127.0.0.1 " + std::to_string(cluster.node(to).address().port) +
                                  " \"\" 0 5000 keys" + quoted),
            "OK");
  for (std::size_t i : {to, from})
    EXPECT_EQ(cluster.ask(i, "cluster setslot " + slot + " node " + to_id), "OK") << i;
  ASSERT_EQ(cluster.master_of("{" + prefix + "}"), to);

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
  EXPECT_EQ(keys_of(cluster, from, prefix), 0u);
}

}  // namespace
}  // namespace surveyor::collector::store
