// SPDX-License-Identifier: Apache-2.0
// The audit trail's hash chains: what an entry's hash covers (against
// digests computed outside the project), chaining, and every way of
// tampering a check must catch; then both backends: chains written by CI
// writes and reports, also concurrently, verify; entries edited, removed or
// a chain cut short in the store itself are caught.
#include <gtest/gtest.h>

#include <hiredis/hiredis.h>
#include <sqlite3.h>

#include <thread>

#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

AuditRecord entry(const std::string& ci, int n) {
  AuditRecord r;
  r.id = ci + "#" + std::to_string(n);
  r.time_ms = 1'700'000'000'000 + n * 60'000;
  r.ci_id = ci;
  r.kind = "attribute";
  r.key = "cpu.cores";
  r.old_value = std::to_string(n);
  r.new_value = std::to_string(n + 1);
  r.origin = "agent";
  return r;
}

// `n` entries of `ci`, chained as a store chains them.
std::vector<AuditRecord> chain_of(const std::string& ci, int n) {
  std::vector<AuditRecord> v;
  for (int i = 1; i <= n; ++i) v.push_back(entry(ci, i));
  EXPECT_TRUE(chain_audit(v, [](std::string_view) -> core::Result<AuditLink> { return AuditLink{}; }));
  return v;
}

AuditChainCheck checked(const std::vector<AuditRecord>& entries, AuditHeads checkpoint = {}) {
  AuditChainCheck check(std::move(checkpoint));
  for (const AuditRecord& r : entries) check.add(r);
  check.finish();
  return check;
}

std::vector<AuditRecord> joined(std::vector<AuditRecord> a, const std::vector<AuditRecord>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The expected digests were computed with Python's hashlib from the bytes
// docs/security.md describes, not with the project's code.
TEST(AuditChain, AnEntrysHashCoversItsFieldsAsDocumented) {
  AuditRecord r;
  r.seq = 1;
  r.time_ms = 1'700'000'000'000;
  r.ci_id = "host-1";
  r.kind = "attribute";
  r.key = "memory.total_bytes";
  r.old_value = "8589934592";
  r.new_value = "17179869184";
  r.origin = "agent";
  r.unauthorized = true;
  r.alert = true;
  EXPECT_EQ(audit_entry_bytes(r),
            "surveyor-audit-1\n1:1,0:,13:1700000000000,6:host-1,9:attribute,18:memory.total_bytes,10:8589934592,"
            "11:17179869184,5:agent,0:,0:,1:1,1:1,");
  EXPECT_EQ(audit_entry_hash(r), "bde033abce6e48bc56bc5af8ae08be079a083a3a9f66849a3db46b7a60546471");

  AuditRecord next;
  next.seq = 2;
  next.prev_hash = audit_entry_hash(r);
  next.time_ms = 1'700'000'060'000;
  next.ci_id = "host-1";
  next.kind = "software";
  next.key = "libc6 amd64";
  next.old_value = R"("2.36-9")";
  next.new_value = R"("2.36-9+deb12u4")";
  next.origin = "user";
  next.actor = "ops-ana";
  next.change_id = "chg-7";
  EXPECT_EQ(audit_entry_hash(next), "fa188ae05bc1bda975383464299c292e9d30ce571aac7a398d3668f429cee04a");

  // Every field is covered: changing any one changes the hash; the store's
  // own id is not.
  const std::string h = audit_entry_hash(next);
  std::vector<std::function<void(AuditRecord&)>> edits{
      [](AuditRecord& x) { ++x.seq; },
      [](AuditRecord& x) { x.prev_hash[0] = 'f'; },
      [](AuditRecord& x) { ++x.time_ms; },
      [](AuditRecord& x) { x.ci_id += "x"; },
      [](AuditRecord& x) { x.kind = "state"; },
      [](AuditRecord& x) { x.key += " "; },
      [](AuditRecord& x) { x.old_value.clear(); },
      [](AuditRecord& x) { x.new_value = R"("2.36-9+deb12u5")"; },
      [](AuditRecord& x) { x.origin = "api"; },
      [](AuditRecord& x) { x.actor.clear(); },
      [](AuditRecord& x) { x.change_id.clear(); },
      [](AuditRecord& x) { x.unauthorized = true; },
      [](AuditRecord& x) { x.alert = true; },
      // Moving bytes between fields keeps their concatenation, not the hash.
      [](AuditRecord& x) { x.kind = "softwarelibc6"; x.key = " amd64"; },
  };
  for (std::size_t i = 0; i < edits.size(); ++i) {
    AuditRecord x = next;
    edits[i](x);
    EXPECT_NE(audit_entry_hash(x), h) << "edit " << i;
  }
  AuditRecord other_id = next;
  other_id.id = "elsewhere";
  EXPECT_EQ(audit_entry_hash(other_id), h);
}

TEST(AuditChain, NewEntriesContinueEachCisChainFromItsHead) {
  std::vector<AuditRecord> v{entry("b", 1), entry("a", 1), entry("b", 2)};
  const std::string head_of_b(64, 'e');
  ASSERT_TRUE(chain_audit(v, [&](std::string_view ci) -> core::Result<AuditLink> {
    if (ci == "b") return AuditLink{7, head_of_b};
    return AuditLink{};
  }));
  EXPECT_EQ(v[0].seq, 8);
  EXPECT_EQ(v[0].prev_hash, head_of_b);
  EXPECT_EQ(v[1].seq, 1);
  EXPECT_EQ(v[1].prev_hash, "");
  EXPECT_EQ(v[2].seq, 9);
  EXPECT_EQ(v[2].prev_hash, v[0].hash);
  EXPECT_EQ(v[2].hash, audit_entry_hash(v[2]));
  // A head that cannot be read fails the write.
  std::vector<AuditRecord> w{entry("c", 1)};
  EXPECT_FALSE(chain_audit(w, [](std::string_view) -> core::Result<AuditLink> {
    return core::make_error(StoreErrc::unavailable, "down");
  }));
}

TEST(AuditChain, IntactChainsVerifyAndNameTheirHeads) {
  const auto a = chain_of("a", 5), b = chain_of("b", 3);
  std::vector<AuditRecord> all = joined(a, b);
  AuditRecord legacy = entry("b", 0);  // written before chaining: seq 0
  all.insert(all.begin() + 5, legacy);
  const auto check = checked(all);
  EXPECT_FALSE(check.first_break) << check.first_break->reason;
  EXPECT_EQ(check.entries, 8u);
  EXPECT_EQ(check.unchained, 1u);
  EXPECT_EQ(check.cis, 2u);
  ASSERT_EQ(check.heads.size(), 2u);
  EXPECT_EQ(check.heads.at("a"), (AuditLink{5, a.back().hash}));
  EXPECT_EQ(check.heads.at("b"), (AuditLink{3, b.back().hash}));
  // The digest is over "CI SEQ HASH" lines in CI order (Python's hashlib
  // over the same lines gives the same).
  EXPECT_EQ(audit_heads_digest({{"a", {5, std::string(64, '1')}}, {"b", {3, std::string(64, '2')}}}),
            "e08487aff3cf45288343169a5959653abecd0613760fcd3d75a88fd86c231eda");
}

TEST(AuditChain, AnEditedRemovedDuplicatedOrMovedEntryBreaksTheChainThere) {
  const auto a = chain_of("a", 5), b = chain_of("b", 4);
  {
    auto edited = b;
    edited[2].new_value = "64";  // a value changed afterwards
    const auto check = checked(joined(a, edited));
    ASSERT_TRUE(check.first_break);
    EXPECT_EQ(check.first_break->ci_id, "b");
    EXPECT_EQ(check.first_break->seq, 3);
    EXPECT_EQ(check.first_break->entry_id, "b#3");
    EXPECT_NE(check.first_break->reason.find("changed after it was written"), std::string::npos);
  }
  {
    auto rehashed = b;  // changed, and its own hash recomputed: the next entry no longer follows it
    rehashed[1].new_value = "64";
    rehashed[1].hash = audit_entry_hash(rehashed[1]);
    const auto check = checked(rehashed);
    ASSERT_TRUE(check.first_break);
    EXPECT_EQ(check.first_break->seq, 3);
    EXPECT_NE(check.first_break->reason.find("hash of the entry before"), std::string::npos);
  }
  {
    auto removed = a;
    removed.erase(removed.begin() + 1, removed.begin() + 3);
    const auto check = checked(removed);
    ASSERT_TRUE(check.first_break);
    EXPECT_EQ(check.first_break->seq, 2);
    EXPECT_EQ(check.first_break->reason, "entries 2 to 3 are missing");
  }
  {
    auto doubled = a;
    doubled.insert(doubled.begin() + 2, a[1]);
    const auto check = checked(doubled);
    ASSERT_TRUE(check.first_break);
    EXPECT_EQ(check.first_break->seq, 2);
    EXPECT_EQ(check.first_break->reason, "entry 2 is there twice");
  }
  {
    auto moved = a;  // an entry given to another CI, read back in CI order
    AuditRecord to_z = moved[3];
    to_z.ci_id = "z";
    moved.erase(moved.begin() + 3);
    moved.push_back(to_z);
    const auto check = checked(moved);
    ASSERT_TRUE(check.first_break);
    EXPECT_EQ(check.first_break->ci_id, "a");
    EXPECT_EQ(check.first_break->reason, "entry 4 is missing");
  }
  {
    auto first_gone = a;  // a chain must start at 1
    first_gone.erase(first_gone.begin());
    const auto check = checked(first_gone);
    ASSERT_TRUE(check.first_break);
    EXPECT_EQ(check.first_break->seq, 1);
  }
}

TEST(AuditChain, ACheckpointCatchesChainsCutShortRemovedOrRewritten) {
  const auto a = chain_of("a", 5), b = chain_of("b", 4);
  const AuditHeads checkpoint = checked(joined(a, b)).heads;
  // Entries added since the checkpoint are fine.
  const auto more = chain_of("b", 6);
  EXPECT_FALSE(checked(joined(a, more), checkpoint).first_break);
  {
    auto cut = a;  // the newest entries removed: a shorter chain is intact on its own
    cut.resize(3);
    EXPECT_FALSE(checked(joined(cut, b)).first_break);
    const auto check = checked(joined(cut, b), checkpoint);
    ASSERT_TRUE(check.first_break);
    EXPECT_EQ(check.first_break->ci_id, "a");
    EXPECT_EQ(check.first_break->seq, 4);
    EXPECT_NE(check.first_break->reason.find("checkpoint holds entry 5"), std::string::npos);
  }
  {
    const auto check = checked(a, checkpoint);  // b's chain removed whole
    ASSERT_TRUE(check.first_break);
    EXPECT_EQ(check.first_break->ci_id, "b");
    EXPECT_NE(check.first_break->reason.find("chain was removed"), std::string::npos);
  }
  {
    auto rewritten = a;  // edited, then every hash after it recomputed
    rewritten[1].new_value = "64";
    ASSERT_TRUE(chain_audit(rewritten, [](std::string_view) -> core::Result<AuditLink> { return AuditLink{}; }));
    EXPECT_FALSE(checked(joined(rewritten, b)).first_break) << "a rewritten chain holds on its own";
    const auto check = checked(joined(rewritten, b), checkpoint);
    ASSERT_TRUE(check.first_break);
    EXPECT_EQ(check.first_break->ci_id, "a");
    EXPECT_EQ(check.first_break->seq, 5);
    EXPECT_NE(check.first_break->reason.find("rewritten"), std::string::npos);
  }
}

// --- on both backends ---------------------------------------------------

template <class B>
class AuditChainConformance : public OnBackend<B> {
 protected:
  void upsert(const std::string& id, AttrMap attrs, std::int64_t at, const std::string& source = "agent") {
    CiUpdate u = host_update(id, id, at);
    u.source = source;
    u.attributes = std::move(attrs);
    auto r = this->stores.cmdb->upsert_ci(u);
    ASSERT_TRUE(r) << r.error().describe();
  }

  std::vector<AuditRecord> walk(const std::string& ci = {}) {
    std::vector<AuditRecord> out;
    auto st = this->stores.audit->walk_audit(ci, [&](const AuditRecord& r) -> core::Status {
      out.push_back(r);
      return {};
    });
    EXPECT_TRUE(st) << st.error().describe();
    return out;
  }

  AuditChainCheck verify(const std::string& ci = {}, AuditHeads checkpoint = {}) { return checked(walk(ci), std::move(checkpoint)); }
};
TYPED_TEST_SUITE(AuditChainConformance, Backends, BackendNames);

TYPED_TEST(AuditChainConformance, EveryWriteChainsItsEntriesPerCi) {
  this->add_agent("agt-1", "host-1");
  this->upsert("host-1", {{"cpu.cores", std::int64_t{4}}}, 1'000);
  this->upsert("host-2", {{"cpu.cores", std::int64_t{2}}}, 1'500);
  this->upsert("host-1", {{"cpu.cores", std::int64_t{8}}, {"memory.total_bytes", std::int64_t{1} << 33}}, 2'000);
  ReportBatch b = report_batch("agt-1", 1, 3'000);
  CiUpdate u = host_update("host-1", "web01", 3'000);
  u.attributes = {{"cpu.cores", std::int64_t{16}}};
  b.cis.push_back(u);
  ASSERT_TRUE(this->stores.reports->apply_report(b));
  Relationship rel{"host-1", "runs_on", "host-2", "user", 3'500};
  ASSERT_TRUE(this->stores.relations->add_relationship(rel, "ops-ana"));

  const auto entries = this->walk();
  auto listed = this->stores.audit->list_audit({.limit = 1000});
  ASSERT_TRUE(listed);
  EXPECT_EQ(entries.size(), listed->size()) << "the walk reads every entry";
  std::map<std::string, std::int64_t> last_seq;
  std::string last_ci;
  for (const AuditRecord& r : entries) {
    EXPECT_GE(r.ci_id, last_ci) << "CIs come one after another in id order";
    last_ci = r.ci_id;
    EXPECT_EQ(r.seq, ++last_seq[r.ci_id]) << r.ci_id;
    EXPECT_EQ(r.hash, audit_entry_hash(r));
  }
  EXPECT_GE(last_seq["host-1"], 5);  // created, cores, memory, cores again, the relationship
  EXPECT_EQ(last_seq["host-2"], 1);
  const auto check = this->verify();
  EXPECT_FALSE(check.first_break) << check.first_break->reason;
  EXPECT_EQ(check.entries, entries.size());
  EXPECT_EQ(check.unchained, 0u);
  EXPECT_EQ(check.heads.at("host-1").seq, last_seq["host-1"]);
  // One CI's chain alone.
  const auto one = this->walk("host-2");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].kind, "created");
  // What the API lists carries the chain too.
  for (const AuditRecord& r : *listed) EXPECT_EQ(r.hash, audit_entry_hash(r));
}

TYPED_TEST(AuditChainConformance, ConcurrentWritersOfOneCiKeepOneChain) {
  this->upsert("host-1", {}, 1'000, "api");
  std::vector<std::thread> writers;
  constexpr int kThreads = 4, kWrites = 10;
  for (int t = 0; t < kThreads; ++t)
    writers.emplace_back([this, t] {
      for (int i = 0; i < kWrites; ++i) {
        CiUpdate u = host_update("host-1", "host-1", 2'000 + i);
        u.source = "api";
        u.attributes = {{"writer." + std::to_string(t), std::int64_t{i}}};
        auto r = this->stores.cmdb->upsert_ci(u);
        EXPECT_TRUE(r) << r.error().describe();
      }
    });
  for (auto& w : writers) w.join();
  const auto check = this->verify("host-1");
  EXPECT_FALSE(check.first_break) << check.first_break->reason;
  EXPECT_EQ(check.entries, 1u + kThreads * kWrites);
  EXPECT_EQ(check.heads.at("host-1").seq, 1 + kThreads * kWrites);
}

// Tampering with the SQLite file itself, as someone with the file and the
// sqlite3 shell could: the immutability triggers dropped first.
TEST(SqliteAuditChain, EditsAndRemovalsInTheFileAreCaught) {
  test::TempDir dir;
  const std::string path = dir.file("s.db");
  auto walk_check = [&](AuditHeads checkpoint = {}) {
    auto s = backends::open_stores("sqlite:" + path);
    EXPECT_TRUE(s);
    AuditChainCheck check(std::move(checkpoint));
    EXPECT_TRUE(s->audit->walk_audit("", [&](const AuditRecord& r) -> core::Status {
      check.add(r);
      return {};
    }));
    check.finish();
    return check;
  };
  {
    auto s = backends::open_stores("sqlite:" + path);
    ASSERT_TRUE(s);
    for (int i = 0; i < 5; ++i) {
      CiUpdate u = host_update("ci-1", "web01", 1'000 + i);
      u.source = "api";
      u.attributes = {{"cpu.cores", std::int64_t{i}}};
      ASSERT_TRUE(s->cmdb->upsert_ci(u));
    }
  }
  const auto before = walk_check();
  ASSERT_FALSE(before.first_break);
  ASSERT_EQ(before.heads.at("ci-1").seq, 5);
  // The collector puts the triggers back whenever it opens the file.
  auto sql = [&](const std::string& statement) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    const std::string tamper = "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete; " + statement;
    EXPECT_EQ(sqlite3_exec(db, tamper.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  };
  sql("UPDATE audit SET new_value = '99' WHERE ci_id = 'ci-1' AND seq = 3");
  auto check = walk_check();
  ASSERT_TRUE(check.first_break);
  EXPECT_EQ(check.first_break->seq, 3);
  EXPECT_NE(check.first_break->reason.find("changed after it was written"), std::string::npos);

  sql("DELETE FROM audit WHERE ci_id = 'ci-1' AND seq = 3");
  check = walk_check();
  ASSERT_TRUE(check.first_break);
  EXPECT_EQ(check.first_break->reason, "entry 3 is missing");

  sql("DELETE FROM audit WHERE ci_id = 'ci-1' AND seq >= 3");  // only the first two remain: intact on their own
  EXPECT_FALSE(walk_check().first_break);
  check = walk_check(before.heads);
  ASSERT_TRUE(check.first_break);
  EXPECT_EQ(check.first_break->seq, 3);
  EXPECT_NE(check.first_break->reason.find("entries were removed"), std::string::npos);
}

// A database of schema 9 (entries without chain) is chained when opened.
TEST(SqliteAuditChain, EntriesOfAnOlderSchemaAreChainedByTheMigration) {
  test::TempDir dir;
  const std::string path = dir.file("s.db");
  {
    auto s = backends::open_stores("sqlite:" + path);
    ASSERT_TRUE(s);
    for (int i = 0; i < 3; ++i) {
      CiUpdate u = host_update(i == 1 ? "ci-2" : "ci-1", "web01", 1'000 + i);
      u.source = "api";
      u.attributes = {{"cpu.cores", std::int64_t{i}}};
      ASSERT_TRUE(s->cmdb->upsert_ci(u));
    }
  }
  {
    // Back to schema 9 as it was: no chain columns.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    for (const char* statement :
         {"DROP INDEX audit_chain", "ALTER TABLE audit DROP COLUMN seq", "ALTER TABLE audit DROP COLUMN prev_hash",
          "ALTER TABLE audit DROP COLUMN hash", "PRAGMA user_version = 9"})
      ASSERT_EQ(sqlite3_exec(db, statement, nullptr, nullptr, nullptr), SQLITE_OK) << statement << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto s = backends::open_stores("sqlite:" + path);
  ASSERT_TRUE(s) << s.error().describe();
  CiUpdate u = host_update("ci-1", "web01", 5'000);
  u.source = "api";
  u.attributes = {{"cpu.cores", std::int64_t{9}}};
  ASSERT_TRUE(s->cmdb->upsert_ci(u));  // continues the migrated chain
  AuditChainCheck check;
  std::vector<AuditRecord> seen;
  ASSERT_TRUE(s->audit->walk_audit("", [&](const AuditRecord& r) -> core::Status {
    seen.push_back(r);
    check.add(r);
    return {};
  }));
  check.finish();
  EXPECT_FALSE(check.first_break) << check.first_break->reason;
  EXPECT_EQ(check.unchained, 0u);
  EXPECT_EQ(check.heads.at("ci-1").seq, 3);  // created, cores, and the new one
  EXPECT_EQ(check.heads.at("ci-2").seq, 1);
  // Still immutable after the migration.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit SET origin = 'nobody'", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

// Tampering with Redis itself: an entry's member replaced by an edited copy.
TEST(RedisAuditChain, AnEntryEditedInRedisIsCaught) {
  RedisBackend backend;
  auto s = backends::open_stores(backend.url());
  ASSERT_TRUE(s) << s.error().describe();
  for (int i = 0; i < 4; ++i) {
    CiUpdate u = host_update("ci-1", "web01", 1'000 + i);
    u.source = "api";
    u.attributes = {{"cpu.cores", std::int64_t{i}}};
    ASSERT_TRUE(s->cmdb->upsert_ci(u));
  }
  auto verify = [&] {
    AuditChainCheck check;
    EXPECT_TRUE(s->audit->walk_audit("", [&](const AuditRecord& r) -> core::Status {
      check.add(r);
      return {};
    }));
    check.finish();
    return check;
  };
  ASSERT_FALSE(verify().first_break);
  const auto addr = test::test_redis();
  redisContext* rc = redisConnect(addr.host.c_str(), addr.port);
  ASSERT_TRUE(rc != nullptr && rc->err == 0);
  const std::string key = backend.prefix + ":audit:ci:ci-1";
  auto* all = static_cast<redisReply*>(redisCommand(rc, "ZRANGE %s 0 -1 WITHSCORES", key.c_str()));
  ASSERT_TRUE(all != nullptr && all->type == REDIS_REPLY_ARRAY && all->elements >= 8);
  std::string victim, score;
  for (std::size_t i = 0; i + 1 < all->elements; i += 2) {
    const std::string m(all->element[i]->str, all->element[i]->len);
    if (m.find("\"seq\":2,") != std::string::npos) {
      victim = m;
      score = std::string(all->element[i + 1]->str, all->element[i + 1]->len);
    }
  }
  freeReplyObject(all);
  ASSERT_FALSE(victim.empty());
  std::string edited = victim;
  const auto at = edited.find("\"origin\":\"api\"");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, 14, "\"origin\":\"agent\"");
  freeReplyObject(redisCommand(rc, "ZREM %s %b", key.c_str(), victim.data(), victim.size()));
  freeReplyObject(redisCommand(rc, "ZADD %s %s %b", key.c_str(), score.c_str(), edited.data(), edited.size()));
  redisFree(rc);
  const auto check = verify();
  ASSERT_TRUE(check.first_break);
  EXPECT_EQ(check.first_break->ci_id, "ci-1");
  EXPECT_EQ(check.first_break->seq, 2);
}

}  // namespace
}  // namespace surveyor::collector::store
