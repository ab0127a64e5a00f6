// SPDX-License-Identifier: Apache-2.0
// An agent on a store spread over a real Redis Cluster moves with its host:
// reassigned to another host, its record and window go to that host's
// slot, one move at a time, a move outrun by a later one changing
// nothing; reports during the moves are each stored once; an agent left
// in the store's slot by an older collector moves to its host's when read.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "backends/cluster.hpp"

namespace surveyor::collector::store {
namespace {

// An agent reassigned to another host (an approved enrollment conflict)
// takes its record and window of sequences to that host's slot: reports
// for the host it left are refused as changed, a resend is still known,
// and the index names the new host.
TEST(RedisCluster, AnAgentReassignedTakesItsWindowToItsNewHost) {
  test::RedisCluster& cluster = test::test_redis_cluster();
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    auto r = s->reports->apply_report(signed_report(seq, "ci-agt-1"));
    ASSERT_TRUE(r) << r.error().describe();
  }
  ASSERT_TRUE(s->agents->reassign_agent("agt-1", "ci-new").value_or(false));
  const std::string old_tag = "{" + prefix + ":ci-agt-1}", new_tag = "{" + prefix + ":ci-new}";
  for (const char* kind : {":agent:agt-1", ":window:agt-1"}) {
    EXPECT_EQ(count_keys(cluster, cluster.master_of(old_tag), old_tag + kind), 0u) << kind;
    EXPECT_EQ(count_keys(cluster, cluster.master_of(new_tag), new_tag + kind), 1u) << kind;
  }
  EXPECT_EQ(cluster.ask(home_of(cluster, prefix), "hget '{" + prefix + "}:agent-ci' agt-1"),
            "ci-new");

  auto stale = s->reports->apply_report(signed_report(4, "ci-agt-1"));
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, StoreErrc::changed);
  auto resent = s->reports->apply_report(signed_report(3, "ci-new"));
  ASSERT_TRUE(resent) << resent.error().describe();
  EXPECT_EQ(resent->outcome, ApplyOutcome::duplicate);
  auto next = s->reports->apply_report(signed_report(4, "ci-new"));
  ASSERT_TRUE(next) << next.error().describe();
  EXPECT_EQ(next->outcome, ApplyOutcome::stored);
  auto a = s->agents->find_agent("agt-1");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->ci_id, "ci-new");
  EXPECT_EQ((*a)->last_sequence, 4u);
  EXPECT_EQ((*a)->key_hash, agent_record("agt-1").key_hash);
  // Each change of the agent counts its epoch up, which reports that
  // write in the store's slot check.
  const std::string epoch_key = "'{" + prefix + "}:agent-epoch:agt-1'";
  const std::string epoch = cluster.ask(home_of(cluster, prefix), "get " + epoch_key);
  EXPECT_NE(epoch, "") << "the reassignment counted it";
  ASSERT_TRUE(s->agents->revoke_agent("agt-1").value_or(false));
  EXPECT_EQ(cluster.ask(home_of(cluster, prefix), "get " + epoch_key),
            std::to_string(std::stoi(epoch) + 1));
  auto revoked = s->agents->find_agent("agt-1");
  ASSERT_TRUE(revoked && *revoked);
  EXPECT_EQ((*revoked)->key_hash, "");
}

// Moves are numbered by their lock: a mover that finds the record marked
// by a later move (it held its lock past its life, and another moved the
// agent since) changes nothing and is refused.
TEST(RedisCluster, AMoveOutrunByALaterOneChangesNothing) {
  test::RedisCluster& cluster = test::test_redis_cluster();
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));
  const std::size_t home = home_of(cluster, prefix);
  const std::string tag = "{" + prefix + ":ci-agt-1}";
  // The next lock's number is 1; the record says a move numbered 5 was here.
  EXPECT_EQ(cluster.ask(cluster.master_of(tag), "hset '" + tag + ":agent:agt-1' move 5"), "1");
  auto moved = s->agents->reassign_agent("agt-1", "ci-new");
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().code, StoreErrc::unavailable);
  auto a = s->agents->find_agent("agt-1");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->ci_id, "ci-agt-1");
  EXPECT_EQ(cluster.ask(home, "hget '{" + prefix + "}:agent-ci' agt-1"), "ci-agt-1");
  EXPECT_EQ(count_keys(cluster, home, "{" + prefix + "}:agent-move:*"), 0u) << "released";
  auto r = s->reports->apply_report(signed_report(1, "ci-agt-1"));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->outcome, ApplyOutcome::stored);
  // A mark that is no count (a token some build wrote, "3e9" reading as a
  // number to Lua) fences nothing.
  EXPECT_EQ(cluster.ask(cluster.master_of(tag), "hset '" + tag + ":agent:agt-1' move 3e9"), "0");
  ASSERT_TRUE(s->agents->reassign_agent("agt-1", "ci-new").value_or(false));
  auto after = s->agents->find_agent("agt-1");
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->ci_id, "ci-new");
}

// Reports go on, each read again and resent when refused as changed (as
// the intake does), while the agent is reassigned back and forth between
// two hosts whose slots are on different masters: every report is
// acknowledged once, every sample is stored once (on the host the report
// was for), and every sequence is then known to whichever host the agent
// is on.
TEST(RedisCluster, ReportsDuringReassignmentsAreEachStoredOnce) {
  test::RedisCluster& cluster = test::test_redis_cluster();
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  std::string other;  // a host whose slot is on another master than ci-agt-1's
  for (int n = 0; other.empty() && n < 200; ++n)
    if (cluster.master_of("{" + prefix + ":ci-" + std::to_string(n) + "}") !=
        cluster.master_of("{" + prefix + ":ci-agt-1}"))
      other = "ci-" + std::to_string(n);
  ASSERT_FALSE(other.empty());
  ASSERT_TRUE(s->agents->create_agent(agent_record("agt-1")));
  constexpr std::uint64_t kReports = 120;
  std::atomic<std::uint64_t> acknowledged{0};
  std::atomic<bool> failed{false};
  std::thread mover([&] {
    const std::string hosts[] = {other, "ci-agt-1"};
    for (std::uint64_t i = 0; i < 8 && !failed; ++i) {
      while (acknowledged < (i + 1) * kReports / 10 && !failed) std::this_thread::yield();
      auto moved = s->agents->reassign_agent("agt-1", hosts[i % 2]);
      if (!moved || !*moved) failed = true;
    }
  });
  std::string ci = "ci-agt-1";
  for (std::uint64_t seq = 1; seq <= kReports && !failed; ++seq) {
    for (int attempt = 0;; ++attempt) {
      ASSERT_LT(attempt, 20) << "sequence " << seq;
      auto r = s->reports->apply_report(signed_report(seq, ci));
      if (r) {
        EXPECT_EQ(r->outcome, ApplyOutcome::stored) << "sequence " << seq;
        break;
      }
      ASSERT_EQ(r.error().code, StoreErrc::changed) << r.error().describe();
      auto a = s->agents->find_agent("agt-1");
      ASSERT_TRUE(a && *a);
      ci = (*a)->ci_id;
    }
    ++acknowledged;
  }
  failed = failed || acknowledged != kReports;
  mover.join();
  ASSERT_FALSE(failed);
  std::size_t stored = 0;
  for (const std::string& host : {std::string("ci-agt-1"), other}) {
    auto got = s->series->read_samples({host, "cpu.load", {}}, 0, INT64_MAX, 1000);
    ASSERT_TRUE(got) << got.error().describe();
    stored += got->size();
  }
  EXPECT_EQ(stored, kReports);
  auto a = s->agents->find_agent("agt-1");
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->last_sequence, kReports);
  for (std::uint64_t seq = 1; seq <= kReports; ++seq) {
    auto again = s->reports->apply_report(signed_report(seq, (*a)->ci_id));
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_EQ(again->outcome, ApplyOutcome::duplicate) << "sequence " << seq;
  }
}

// An agent a spread store kept in its own slot (written before the agents
// spread, as it was then) moves to its host's slot when it is first read,
// window and all, and its host's inventory digests with its next report;
// a move that stopped half way is finished by the next read.
TEST(RedisCluster, AnAgentInTheStoresSlotMovesToItsHostWhenRead) {
  test::RedisCluster& cluster = test::test_redis_cluster();
  const std::string prefix = test::unique_prefix();
  auto s = backends::open_stores(cluster.url(prefix));
  ASSERT_TRUE(s) << s.error().describe();
  ASSERT_TRUE(s->agents->find_agent("agt-0"));  // the layout is decided: spread
  const std::size_t home = home_of(cluster, prefix);
  const std::string own = "{" + prefix + "}", tag = "{" + prefix + ":ci-agt-1}";
  EXPECT_EQ(cluster.ask(
                home, "hset '" + own + ":agent:agt-1' key_hash " + agent_record("agt-1").key_hash +
                          " ci_id ci-agt-1 hostname web01 last_sequence 5 last_seen_ms 300000"),
            "5");
  EXPECT_EQ(cluster.ask(home, "setbit '" + own + ":window:agt-1' 5 1"), "0");
  EXPECT_EQ(cluster.ask(home, "zadd '" + own + ":seen:agt-1' 4 4"), "1");
  // The digests of its host's inventory, where such a store kept them.
  EXPECT_EQ(
      cluster.ask(home,
                  "hset '" + own +
                      ":inventory-digests:ci-agt-1' disks "
                      "'{\"state\":\"collected\",\"reason\":\"\",\"digest\":\"d1\",\"data\":\"\","
                      "\"updated_ms\":1000}'"),
      "1");

  auto a = s->agents->find_agent("agt-1");
  ASSERT_TRUE(a) << a.error().describe();
  ASSERT_TRUE(*a);
  EXPECT_EQ((*a)->hostname, "web01");
  EXPECT_EQ((*a)->last_sequence, 5u);
  EXPECT_EQ(count_keys(cluster, home, own + ":agent:*"), 0u);
  EXPECT_EQ(count_keys(cluster, home, own + ":window:*"), 0u);
  EXPECT_EQ(count_keys(cluster, home, own + ":seen:*"), 0u);
  const std::size_t host = cluster.master_of(tag);
  EXPECT_EQ(cluster.ask(host, "getbit '" + tag + ":window:agt-1' 5"), "1");
  EXPECT_EQ(cluster.ask(host, "zscore '" + tag + ":seen:agt-1' 4"), "4");
  for (std::uint64_t seq : {4u, 5u}) {
    auto dup = s->reports->apply_report(signed_report(seq, "ci-agt-1"));
    ASSERT_TRUE(dup) << dup.error().describe();
    EXPECT_EQ(dup->outcome, ApplyOutcome::duplicate) << seq;
  }
  for (std::uint64_t seq :
       {6u, 7u}) {  // the digests move with the first, and are read where they went
    auto next = s->reports->apply_report(signed_report(seq, "ci-agt-1"));
    ASSERT_TRUE(next) << next.error().describe();
    EXPECT_EQ(next->outcome, ApplyOutcome::stored);
    ASSERT_EQ(next->inventory.size(), 1u) << seq;
    EXPECT_EQ(next->inventory[0].name, "disks");
    EXPECT_EQ(next->inventory[0].digest, "d1");
    EXPECT_EQ(count_keys(cluster, home, own + ":inventory-digests:*"), 0u);
  }
  EXPECT_NE(cluster.ask(host, "hget '" + tag + ":inventory-digests:ci-agt-1' disks"), "");
  // Digests left in the store's slot (a collector stopped after it moved
  // them, before it deleted them) are not moved over the host's; the next
  // report that rewrites the host's deletes them.
  const std::string leftover =
      "hset '" + own + ":inventory-digests:ci-agt-1' disks '{\"digest\":\"old\"}'";
  EXPECT_EQ(cluster.ask(home, leftover), "1");
  auto kept = s->reports->apply_report(signed_report(8, "ci-agt-1"));
  ASSERT_TRUE(kept) << kept.error().describe();
  ASSERT_EQ(kept->inventory.size(), 1u);
  EXPECT_EQ(kept->inventory[0].digest, "d1");
  EXPECT_EQ(count_keys(cluster, home, own + ":inventory-digests:*"), 1u);
  ReportBatch sections = signed_report(9, "ci-agt-1");
  sections.sections.push_back({"disks", "collected", "", "d2", R"([{"name":"sda"}])"});
  auto rewritten = s->reports->apply_report(sections);
  ASSERT_TRUE(rewritten) << rewritten.error().describe();
  ASSERT_EQ(rewritten->inventory.size(), 1u);
  EXPECT_EQ(rewritten->inventory[0].digest, "d2");
  EXPECT_EQ(count_keys(cluster, home, own + ":inventory-digests:*"), 0u);

  // A move stopped after its first step, its lock left to expire: the
  // record names the new host, nothing else moved. The next read waits
  // for the lock, then finishes the move.
  const std::string number = cluster.ask(home, "incr '" + own + ":agent-moves:agt-1'");
  EXPECT_EQ(cluster.ask(home, "set '" + own + ":agent-move:agt-1' " + number + " px 300"), "OK");
  EXPECT_EQ(cluster.ask(host, "hset '" + tag + ":agent:agt-1' ci_id ci-next move " + number), "1");
  auto moved = s->agents->find_agent("agt-1");
  ASSERT_TRUE(moved && *moved);
  EXPECT_EQ((*moved)->ci_id, "ci-next");
  EXPECT_EQ((*moved)->last_sequence, 9u);
  const std::string next_tag = "{" + prefix + ":ci-next}";
  EXPECT_EQ(cluster.ask(cluster.master_of(next_tag), "getbit '" + next_tag + ":window:agt-1' 9"),
            "1");
  EXPECT_EQ(count_keys(cluster, host, tag + ":agent:*"), 0u);
  EXPECT_EQ(cluster.ask(home, "hget '" + own + ":agent-ci' agt-1"), "ci-next");
  EXPECT_EQ(count_keys(cluster, home, own + ":agent-move:*"), 0u) << "released";
}

}  // namespace
}  // namespace surveyor::collector::store
