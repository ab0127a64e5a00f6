// SPDX-License-Identifier: Apache-2.0
// The collector on Redis as operators run it: refusing an evicting server,
// as an ACL user, and through a failover under load, by Sentinel or by a
// Redis Cluster, with every acknowledged report counted back.
#include <gtest/gtest.h>

#include "stack.hpp"

namespace surveyor::e2e {
namespace {

// A Redis that evicts keys under memory pressure would lose acknowledged
// reports: the collector refuses it unless told to, and then says so on
// /readyz, with the append-only setting that loses data on a Redis restart.
TEST(EndToEnd, ACollectorRefusesAnEvictingRedisUnlessToldTo) {
  test::RedisServer redis({"--maxmemory-policy", "allkeys-lru"});
  test::TempDir dir;
  const auto start = [&](bool allow) {
    std::ofstream(dir.file("collector.toml")) << "listen = \"127.0.0.1:0\"\nstore = \"" << redis.url("e2e") << "\"\n"
                                              << "enrollment_token = \"e2e-token\"\n"
                                              << "allow_evicting_store = " << (allow ? "true" : "false") << "\n";
    return std::make_unique<Process>(
        std::vector<std::string>{test::binary("surveyor-collector"), "--config", dir.file("collector.toml")},
        dir.path(), kEnv);
  };
  auto refused = start(false);
  const auto st = refused->stop(0, 20s);  // waits for it to exit by itself
  ASSERT_TRUE(st) << refused->output();
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 2) << refused->output();

  auto allowed = start(true);
  const std::uint16_t port = listening_port(*allowed);
  ASSERT_NE(port, 0) << allowed->output();
  const json::value ready = json::parse(fetch_body(port, "/readyz"));
  EXPECT_EQ(ready.at("status").as_string(), "ready");
  const std::string warnings = json::serialize(ready.at("warnings"));
  EXPECT_NE(warnings.find("maxmemory-policy allkeys-lru"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("appendonly no"), std::string::npos) << warnings;
}

// A collector on a Redis with an ACL user: the password from a file of mode
// 0600 (one others may read is refused), never from the URL.
TEST(EndToEnd, ACollectorAuthenticatesToRedisAsAnAclUser) {
  test::RedisServer redis({"--user", "surveyor", "on", ">e2e-pw", "~*", "&*", "+@all", "--user", "default", "off"});
  test::TempDir dir;
  std::ofstream(dir.file("pw")) << "e2e-pw\n";
  const std::string url = "redis://surveyor@127.0.0.1:" + std::to_string(redis.address().port) + "/e2e";
  auto start = [&] {
    return std::make_unique<Process>(std::vector<std::string>{test::binary("surveyor-collector"), "--listen",
                                                              "127.0.0.1:0", "--store", url, "--store-password-file",
                                                              dir.file("pw")},
                                     dir.path(), kEnv);
  };
  std::filesystem::permissions(dir.file("pw"), std::filesystem::perms::owner_read | std::filesystem::perms::group_read);
  auto readable = start();
  const auto st = readable->stop(0, 20s);  // waits for it to exit by itself
  ASSERT_TRUE(st) << readable->output();
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 2) << readable->output();
  EXPECT_NE(readable->output().find("chmod 600"), std::string::npos) << readable->output();

  std::filesystem::permissions(dir.file("pw"), std::filesystem::perms::owner_read);
  auto collector = start();
  const std::uint16_t port = listening_port(*collector);
  ASSERT_NE(port, 0) << collector->output();
  std::string ready;
  EXPECT_TRUE(test::eventually(
      [&] {
        ready = fetch_body(port, "/readyz");
        return ready.find("\"ready\"") != std::string::npos;
      },
      15s))
      << ready << collector->output();
}

// Reports arrive without pause at a collector on `url` while the store's
// master is killed (SIGKILL, `kill`, given the reporting host's CI): the
// collector answers 503 until a replica is promoted (`promoted`, `explain`
// says what is known), then follows it. Afterwards every acknowledged report's sample is read back
// through the API, and the counts printed (`what` names the setup).
struct Failover {
  int acked = 0;        // reports acknowledged (202)
  int acked_after = 0;  // of those, after the kill
  int lost = 0;         // acknowledged, and missing from the promoted replica
};

Failover failover_under_load(const std::string& what, const std::string& url, int wait_replicas,
                             const std::function<void(const std::string& ci)>& kill,
                             const std::function<bool(const std::string& ci)>& promoted,
                             const std::function<std::string()>& explain) {
  Stack s(url, 0, {"--store-wait-replicas", std::to_string(wait_replicas)});
  const auto id = s.enrolled_identity();
  const std::string ci_id = [&] {
    std::optional<json::object> list;
    EXPECT_TRUE(test::eventually(
        [&] { return (list = s.get("/api/v1/cis?type=host")) && !list->at("items").as_array().empty(); }, 20s));
    return list ? std::string(list->at("items").as_array()[0].as_object().at("id").as_string()) : std::string();
  }();

  // One sample per report, a second apart, in the two hours before now: the
  // report of sequence N holds the value N at t0 + N s.
  const std::int64_t t0 = now_ms() - 7'200'000;
  constexpr int kMaxReports = 7'000;
  std::atomic<int> acked{0}, acked_after{0};
  std::atomic<bool> killed{false}, stop{false};
  std::vector<int> acknowledged;  // written by the sender alone, read after it ends
  std::thread sender([&] {
    const http::Url target{"http", "127.0.0.1", s.port, ""};
    for (int seq = 1; seq <= kMaxReports && !stop; ++seq) {
      wire::Report r;
      r.agent_id = id.at("agent_id");
      r.sequence = 2'000'000 + static_cast<std::uint64_t>(seq);
      r.sent_at_ms = now_ms();
      r.heartbeat_interval_s = 60;
      r.series.push_back({"e2e.failover", "1", {}, {{t0 + seq * 1000LL, static_cast<double>(seq)}}});
      const http::Request req = Stack::report_request(id, r);
      while (!stop) {  // resent until acknowledged, as the agent's spool does
        auto res = http::fetch(target, req);
        if (res && res->status == 202) {
          acknowledged.push_back(seq);
          if (killed) ++acked_after;
          ++acked;
          break;
        }
        std::this_thread::sleep_for(20ms);  // the agent's back-off, shortened
      }
    }
  });
  EXPECT_TRUE(test::eventually([&] { return acked >= 50; }, 30s)) << s.collector->output();
  kill(ci_id);
  killed = true;
  EXPECT_TRUE(test::eventually([&] { return promoted(ci_id); }, 30s)) << explain();
  EXPECT_TRUE(test::eventually([&] { return acked_after >= 50; }, 30s)) << s.collector->output();
  stop = true;
  sender.join();

  Failover out{acked.load(), acked_after.load(), 0};
  const std::int64_t to = t0 + (kMaxReports + 1) * 1000LL;
  auto got = s.get("/api/v1/series?ci=" + ci_id + "&metric=e2e.failover&from=" + std::to_string(t0) +
                   "&to=" + std::to_string(to) + "&limit=100000");
  EXPECT_TRUE(got) << s.collector->output();
  std::map<std::int64_t, double> stored;
  if (got && !got->at("series").as_array().empty())
    for (const auto& p : got->at("series").as_array()[0].as_object().at("points").as_array())
      stored[p.as_array()[0].to_number<std::int64_t>()] = p.as_array()[1].to_number<double>();
  for (int seq : acknowledged) {
    auto it = stored.find(t0 + seq * 1000LL);
    if (it == stored.end()) ++out.lost;
    else EXPECT_EQ(it->second, seq);
  }
  std::printf("%s failover, store_wait_replicas = %d: %d reports acknowledged, %d after the kill, %d lost\n",
              what.c_str(), wait_replicas, out.acked, out.acked_after, out.lost);
  return out;
}

// The store is the master three Redis Sentinels name (quorum 2), with two
// replicas (after the failover one is left for WAIT); all write with
// appendfsync always.
Failover sentinel_failover(int wait_replicas) {
  const std::vector<std::string> durable{"--appendonly", "yes", "--appendfsync", "always",
                                         "--repl-diskless-sync-delay", "0"};  // replicas sync at once
  auto master = std::make_unique<test::RedisServer>(durable);
  std::vector<std::string> replica_args = durable;
  replica_args.insert(replica_args.end(), {"--replicaof", "127.0.0.1", std::to_string(master->address().port)});
  test::RedisServer replica(replica_args), second_replica(replica_args);
  const std::string replica_port = std::to_string(replica.address().port);
  const std::string second_port = std::to_string(second_replica.address().port);
  for (const std::string& port : {replica_port, second_port})
    EXPECT_TRUE(test::eventually(
        [&] {
          return run("redis-cli -p " + port + " info replication").find("master_link_status:up") != std::string::npos;
        },
        20s));
  std::vector<std::unique_ptr<test::RedisSentinel>> sentinels;
  std::string url = "redis-sentinel://";
  for (int i = 0; i < 3; ++i) {
    sentinels.push_back(std::make_unique<test::RedisSentinel>(master->address(), "e2e-master", 2, 1000ms));
    url += (i ? "," : "") + std::string("127.0.0.1:") + std::to_string(sentinels.back()->address().port);
  }
  url += "/e2e-master/e2e";
  // Each Sentinel knows the other two and the replica before the kill.
  for (const auto& sentinel : sentinels) {
    EXPECT_TRUE(test::eventually(
        [&] {
          std::istringstream others(sentinel->ask("sentinel sentinels e2e-master"));
          int names = 0;
          for (std::string line; std::getline(others, line);) names += line == "name";
          const std::string replicas = sentinel->ask("sentinel replicas e2e-master");
          return names == 2 && replicas.find(replica_port) != std::string::npos &&
                 replicas.find(second_port) != std::string::npos;
        },
        30s))
        << sentinel->ask("sentinel sentinels e2e-master");
  }
  return failover_under_load(
      "sentinel", url, wait_replicas, [&](const std::string&) { master->kill(); },
      [&](const std::string&) {
        const std::string now_master = sentinels[0]->ask("sentinel get-master-addr-by-name e2e-master");
        return now_master.find(replica_port) != std::string::npos || now_master.find(second_port) != std::string::npos;
      },
      [&] { return sentinels[0]->ask("sentinel masters"); });
}

// The same on a Redis Cluster of three masters (a majority is left to vote)
// with two replicas each (after the failover one is left for WAIT), all
// with appendfsync always: the master of the store's own slot, or of the
// slot of the host's series ("{e2e:CI}"), is killed and the cluster
// promotes one of its replicas.
Failover cluster_failover(int wait_replicas, bool series_slot) {
  test::RedisCluster cluster(3, 2, {"--appendonly", "yes", "--appendfsync", "always", "--repl-diskless-sync-delay", "0"});
  const auto tag = [&](const std::string& ci) { return series_slot ? "{e2e:" + ci + "}" : std::string("{e2e}"); };
  std::size_t master = cluster.size();
  return failover_under_load(
      series_slot ? "cluster (the series' slot)" : "cluster (the store's slot)", cluster.url("e2e"), wait_replicas,
      [&](const std::string& ci) {
        master = cluster.master_of(tag(ci));
        ASSERT_LT(master, cluster.size());
        cluster.node(master).kill();
      },
      [&](const std::string& ci) {
        const std::size_t now = cluster.master_of(tag(ci));
        return now != master && now < cluster.size();
      },
      [&] { return cluster.ask((master + 1) % cluster.size(), "cluster nodes"); });
}

TEST(EndToEnd, ASentinelFailoverWithWaitLosesNoAcknowledgedReport) {
  const Failover f = sentinel_failover(1);
  EXPECT_GE(f.acked_after, 50);
  EXPECT_EQ(f.lost, 0);
}

// Without WAIT the collector follows the failover just the same; a report
// acknowledged by the master just before the kill may not have reached the
// replica (Redis replicates asynchronously). The count is printed.
TEST(EndToEnd, ASentinelFailoverWithoutWaitCarriesOn) {
  const Failover f = sentinel_failover(0);
  EXPECT_GE(f.acked_after, 50);
}

// With WAIT, the master holding the samples is the one killed.
TEST(EndToEnd, AClusterFailoverWithWaitLosesNoAcknowledgedReport) {
  const Failover f = cluster_failover(1, true);
  EXPECT_GE(f.acked_after, 50);
  EXPECT_EQ(f.lost, 0);
}

TEST(EndToEnd, AClusterFailoverWithoutWaitCarriesOn) {
  const Failover f = cluster_failover(0, false);
  EXPECT_GE(f.acked_after, 50);
}

}  // namespace
}  // namespace surveyor::e2e
