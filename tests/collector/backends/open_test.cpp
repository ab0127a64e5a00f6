// SPDX-License-Identifier: Apache-2.0
// Opening a store from its URL: data survives reopening, bad paths, servers and
// URLs are refused with a reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <thread>

#include "store/fixture.hpp"
#include "surveyor/tls/tls.hpp"

namespace surveyor::collector::store {
namespace {

using test::TempDir;

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

// A Redis with an ACL user (and no default user): the collector AUTHs as
// that user with the password it was given, never from the URL.
TEST(RedisStore, AnAclUserAuthenticatesWithItsPassword) {
  test::RedisServer redis(
      {"--user", "surveyor", "on", ">s3cret-pw", "~*", "&*", "+@all", "--user", "default", "off"});
  const std::string at = std::to_string(redis.address().port);
  auto s = backends::open_stores("redis://surveyor@127.0.0.1:" + at + "/acl", {.password = "s3cret-pw"});
  ASSERT_TRUE(s) << s.error().describe();
  auto st = s->health->ping();
  EXPECT_TRUE(st) << st.error().describe();
  ASSERT_TRUE(s->agents->create_agent({"agt-1", std::string(64, 'a'), "h", "web01", "ci-1", "0.1.0", 1, 0, 0, 0, ""}));
  auto wrong = backends::open_stores("redis://surveyor@127.0.0.1:" + at + "/acl", {.password = "guess"});
  ASSERT_TRUE(wrong);
  auto refused = wrong->health->ping();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("authentication failed"), std::string::npos) << refused.error().message;
  auto anonymous = backends::open_stores("redis://127.0.0.1:" + at + "/acl");
  ASSERT_TRUE(anonymous);
  EXPECT_FALSE(anonymous->agents->find_agent("agt-1")) << "no password: refused by Redis";
  auto in_url = backends::open_stores("redis://surveyor:s3cret-pw@127.0.0.1:" + at + "/acl");
  ASSERT_FALSE(in_url);
  EXPECT_NE(in_url.error().message.find("no password in the URL"), std::string::npos);
  auto no_password = backends::open_stores("redis://surveyor@127.0.0.1:" + at + "/acl");
  ASSERT_FALSE(no_password) << "a user without a password is a configuration error";
}

// rediss://: a Redis serving TLS only on its TLS port (its plain port is
// for this test's own checks), with a certificate from certs init.
struct TlsRedis {
  explicit TlsRedis(const std::string& auth_clients) {
    // As surveyor-collector does: hiredis writes with write(2), and a Redis
    // that refuses the client closes the tunnel under it.
    std::signal(SIGPIPE, SIG_IGN);
    auto pin = tls::make_quick_start(dir.file("certs"), {"127.0.0.1"});
    EXPECT_TRUE(pin) << pin.error().describe();
    tls_port = test::free_port();
    redis = std::make_unique<test::RedisServer>(std::vector<std::string>{
        "--tls-port", std::to_string(tls_port), "--tls-cert-file", dir.file("certs/server.pem"), "--tls-key-file",
        dir.file("certs/server-key.pem"), "--tls-ca-cert-file", dir.file("certs/ca.pem"), "--tls-auth-clients",
        auth_clients});
  }
  [[nodiscard]] std::string url(const std::string& prefix) const {
    return "rediss://127.0.0.1:" + std::to_string(tls_port) + "/" + prefix;
  }
  // Keys under `prefix`, read over the plain port by redis-cli.
  [[nodiscard]] std::string keys(const std::string& prefix) const {
    return test::run_command("redis-cli -p " + std::to_string(redis->address().port) + " --scan --pattern '" + prefix +
                             ":*' | sort");
  }
  TempDir dir;
  std::uint16_t tls_port = 0;
  std::unique_ptr<test::RedisServer> redis;
};

TEST(RedisStore, RedissSpeaksTlsToRedisAndVerifiesIt) {
  TlsRedis redis("no");
  auto s = backends::open_stores(redis.url("tls"), {.ca_file = redis.dir.file("certs/ca.pem")});
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->health->ping());
  ASSERT_TRUE(s->agents->create_agent({"agt-1", std::string(64, 'a'), "h", "web01", "ci-1", "0.1.0", 1, 0, 0, 0, ""}));
  auto found = s->agents->find_agent("agt-1");
  ASSERT_TRUE(found && found->has_value()) << (found ? "missing" : found.error().describe());
  EXPECT_NE(redis.keys("tls").find("tls:"), std::string::npos) << "written through the TLS port";
  // Many requests on the pool's connections, several threads at once.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        if (auto a = s->agents->find_agent("agt-1"); !a || !a->has_value()) ++failures;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);

  // Another CA's certificate, a plain client on the TLS port, a TLS client
  // on the plain port: all refused with a reason.
  TempDir other;
  ASSERT_TRUE(tls::make_quick_start(other.file("certs"), {"127.0.0.1"}));
  auto wrong_ca = backends::open_stores(redis.url("tls"), {.ca_file = other.file("certs/ca.pem")});
  ASSERT_TRUE(wrong_ca);
  auto refused = wrong_ca->health->ping();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, StoreErrc::unavailable);
  EXPECT_NE(refused.error().message.find("certificate"), std::string::npos) << refused.error().message;
  auto plain = backends::open_stores("redis://127.0.0.1:" + std::to_string(redis.tls_port) + "/tls");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->health->ping());
  auto on_plain_port =
      backends::open_stores("rediss://127.0.0.1:" + std::to_string(redis.redis->address().port) + "/tls",
                            {.ca_file = redis.dir.file("certs/ca.pem")});
  ASSERT_TRUE(on_plain_port);
  EXPECT_FALSE(on_plain_port->health->ping());
  auto files_on_plain = backends::open_stores(redis.redis->url("tls"), {.ca_file = redis.dir.file("certs/ca.pem")});
  ASSERT_FALSE(files_on_plain) << "TLS files with a redis:// URL are a configuration error";
  EXPECT_EQ(files_on_plain.error().code, StoreErrc::invalid);
}

TEST(RedisStore, RedissPresentsAClientCertificateWhenRedisAsksForOne) {
  TlsRedis redis("yes");
  const std::string ca = redis.dir.file("certs/ca.pem");
  auto without = backends::open_stores(redis.url("mtls"), {.ca_file = ca});
  ASSERT_TRUE(without);
  EXPECT_FALSE(without->health->ping()) << "Redis refuses a client without a certificate";
  // A client certificate signed by the same CA, made with the openssl tool.
  const std::string d = redis.dir.file("certs");
  (void)test::run_command("cd " + d + " && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=collector "
                    "-keyout client-key.pem -out client.csr 2>/dev/null && openssl x509 -req -in client.csr -CA ca.pem "
                    "-CAkey ca-key.pem -CAcreateserial -days 1 -out client.pem 2>/dev/null && chmod 600 client-key.pem");
  ASSERT_TRUE(std::filesystem::exists(d + "/client.pem"));
  auto with = backends::open_stores(redis.url("mtls"),
                                    {.ca_file = ca, .cert_file = d + "/client.pem", .key_file = d + "/client-key.pem"});
  ASSERT_TRUE(with) << with.error().describe();
  auto st = with->health->ping();
  EXPECT_TRUE(st) << st.error().describe();
  auto half = backends::open_stores(redis.url("mtls"), {.ca_file = ca, .cert_file = d + "/client.pem"});
  ASSERT_FALSE(half) << "a certificate without its key";
  EXPECT_EQ(half.error().code, StoreErrc::invalid);
}

TEST(StoreUrl, BadUrlsAreRefusedWithAReason) {
  for (const char* url : {"", "mysql://x", "sqlite:", "sqlite:/tmp/x.db?foo=bar", "redis://"}) {
    auto s = backends::open_stores(url);
    EXPECT_FALSE(s) << url;
    if (!s) {
      EXPECT_EQ(s.error().code, StoreErrc::invalid) << url;
    }
  }
  const std::pair<const char*, const char*> redis_urls[] = {
      {"redis-sentinel://", "no master name"},
      {"redis-sentinel://127.0.0.1:26379", "no master name"},
      {"redis-sentinel://127.0.0.1:26379/", "no master name"},
      {"redis-sentinel:///mymaster", "no sentinel addresses"},
      {"redis-sentinel://127.0.0.1/mymaster", "is not a sentinel HOST:PORT"},
      {"redis-sentinel://127.0.0.1:0/mymaster", "is not a sentinel HOST:PORT"},
      {"redis-sentinel://127.0.0.1:70000/mymaster", "is not a sentinel HOST:PORT"},
      {"redis-sentinel://127.0.0.1:26379,,127.0.0.2:26379/mymaster", "is not a sentinel HOST:PORT"},
      {"redis-sentinel://127.0.0.1:26x/mymaster", "is not a sentinel HOST:PORT"},
      {"redis-sentinel://u:pw@127.0.0.1:26379/mymaster", "no password in the URL"},
      {"redis-sentinel://u@127.0.0.1:26379/mymaster", "needs a password"},
      {"redis-sentinel://127.0.0.1:26379/mymaster?wait=1", "options are not supported"},
      {"redis-cluster://", "no cluster node addresses"},
      {"redis-cluster:///p", "no cluster node addresses"},
      {"redis-cluster://127.0.0.1/p", "is not a cluster node HOST:PORT"},
      {"redis-cluster://127.0.0.1:7000,127.0.0.1:99999/p", "is not a cluster node HOST:PORT"},
      {"redis-cluster://u:pw@127.0.0.1:7000", "no password in the URL"},
      {"redis-cluster://u@127.0.0.1:7000", "needs a password"},
      {"redis-cluster://127.0.0.1:7000/p?x=1", "options are not supported"},
      {"redis-cluster://127.0.0.1:7000/a{b", "cannot hold '{' or '}'"},
      {"redis-cluster://127.0.0.1:7000/ab}", "cannot hold '{' or '}'"},
  };
  for (const auto& [url, why] : redis_urls) {
    auto s = backends::open_stores(url);
    ASSERT_FALSE(s) << url;
    EXPECT_EQ(s.error().code, StoreErrc::invalid) << url;
    EXPECT_NE(s.error().message.find(why), std::string::npos) << url << ": " << s.error().message;
  }
  backends::StoreSettings tls;
  tls.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  auto cluster_tls = backends::open_stores("redis-cluster://127.0.0.1:7000/p", tls);
  ASSERT_FALSE(cluster_tls);
  EXPECT_NE(cluster_tls.error().message.find("TLS is not supported through a cluster"), std::string::npos)
      << cluster_tls.error().message;
}

// Sentinels that do not answer, or do not know the master: the store is
// unavailable, with each Sentinel's answer in the message, and no crash.
TEST(RedisStore, SentinelsThatCannotNameTheMasterMakeTheStoreUnavailable) {
  const auto nobody = test::free_port();
  test::RedisServer master;
  test::RedisSentinel sentinel(master.address(), "known", 1, std::chrono::milliseconds(5000));
  const std::string url = "redis-sentinel://127.0.0.1:" + std::to_string(nobody) + ",127.0.0.1:" +
                          std::to_string(sentinel.address().port) + "/unknown/p";
  auto s = backends::open_stores(url);
  ASSERT_TRUE(s) << s.error().describe();
  auto st = s->health->ping();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, StoreErrc::unavailable);
  EXPECT_NE(st.error().message.find("no sentinel named the master unknown"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("does not know the master unknown"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find(std::to_string(nobody)), std::string::npos) << st.error().message;
  // The Sentinel that knows the master leads to it.
  auto known = backends::open_stores("redis-sentinel://127.0.0.1:" + std::to_string(nobody) + ",127.0.0.1:" +
                                     std::to_string(sentinel.address().port) + "/known/p");
  ASSERT_TRUE(known);
  auto ok = known->health->ping();
  EXPECT_TRUE(ok) << ok.error().describe();
  EXPECT_NE(known->health->describe().find("redis-sentinel://"), std::string::npos) << known->health->describe();
}

// store_wait_replicas: a report the master holds but no replica does is not
// acknowledged; once a replica has it, the agent's resend is a duplicate
// and acknowledged.
TEST(RedisStore, AReportWaitsForTheReplicasItIsToldTo) {
  test::RedisServer master({"--repl-diskless-sync-delay", "0"});  // replicas sync at once
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(master.url(prefix), {.wait_replicas = 1, .wait_timeout = std::chrono::milliseconds(50)});
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));
  ReportBatch b = report_batch("agt-1", 1, 60'000);
  b.series.push_back({series_info("ci-agt-1", "system.cpu.utilization"), {{10'000, 0.5}}});
  auto refused = s->reports->apply_report(b);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, StoreErrc::unavailable);
  EXPECT_NE(refused.error().message.find("0 of 1 replicas"), std::string::npos) << refused.error().message;
  const auto warned = [&] {
    auto d = s->health->durability();
    EXPECT_TRUE(d) << d.error().describe();
    return d && std::any_of(d->warnings.begin(), d->warnings.end(), [](const std::string& w) {
             return w.find("store_wait_replicas 1 but Redis has 0 replica(s)") != std::string::npos;
           });
  };
  EXPECT_TRUE(warned()) << "/readyz says why every report is refused";

  test::RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(master.address().port)});
  ASSERT_TRUE(test::eventually(
      [&] {
        return test::run_command("redis-cli -p " + std::to_string(replica.address().port) + " info replication")
                   .find("master_link_status:up") != std::string::npos;
      },
      std::chrono::seconds(20)));
  EXPECT_FALSE(warned());
  // The same store, patient enough for a loaded machine.
  auto patient = backends::open_stores(master.url(prefix), {.wait_replicas = 1, .wait_timeout = std::chrono::seconds(10)});
  ASSERT_TRUE(patient);
  auto resent = patient->reports->apply_report(b);
  ASSERT_TRUE(resent) << resent.error().describe();
  EXPECT_EQ(resent->outcome, ApplyOutcome::duplicate);
  ReportBatch next = report_batch("agt-1", 2, 70'000);
  next.series.push_back({series_info("ci-agt-1", "system.cpu.utilization"), {{20'000, 0.25}}});
  auto stored = patient->reports->apply_report(next);
  ASSERT_TRUE(stored) << stored.error().describe();
  EXPECT_EQ(stored->outcome, ApplyOutcome::stored);
  // The replica holds both samples.
  auto on_replica = backends::open_stores(replica.url(prefix));
  ASSERT_TRUE(on_replica);
  auto samples = on_replica->series->read_samples(b.series[0].first.key, 0, 1'000'000, 10);
  ASSERT_TRUE(samples) << samples.error().describe();
  EXPECT_EQ(samples->size(), 2u);
}

}  // namespace
}  // namespace surveyor::collector::store
