// SPDX-License-Identifier: Apache-2.0
// The audit trail on SQLite: immutable rows, written in the transaction of the change they record.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

AuditRecord audit_row(Stmt& s) {
  AuditRecord r;
  r.id = std::to_string(s.int64(0));
  r.time_ms = s.int64(1);
  r.ci_id = s.text(2);
  r.kind = s.text(3);
  r.key = s.text(4);
  r.old_value = s.text(5);
  r.new_value = s.text(6);
  r.origin = s.text(7);
  r.change_id = s.text(8);
  r.unauthorized = s.int64(9) != 0;
  r.alert = s.int64(10) != 0;
  r.actor = s.text(11);
  r.seq = s.int64(12);
  r.prev_hash = s.text(13);
  r.hash = s.text(14);
  return r;
}

class SqliteAuditStore final : public Bound<AuditStore> {
 public:
  using Bound::Bound;

  core::Result<std::vector<AuditRecord>> list_audit(const AuditFilter& f) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<AuditRecord>> {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT " SURVEYOR_AUDIT_COLUMNS " FROM audit WHERE (?1 = '' OR ci_id = ?1) AND time_ms >= ?2 AND time_ms < ?3 "
                        "AND (?4 = '' OR kind = ?4) AND (?5 = 0 OR alert = 1) ORDER BY time_ms DESC, id DESC LIMIT ?6");
      s.bind(1, f.ci_id).bind(2, f.from_ms).bind(3, f.to_ms).bind(4, f.kind);
      s.bind(5, std::int64_t{f.unauthorized}).bind(6, static_cast<std::int64_t>(f.limit));
      std::vector<AuditRecord> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        out.push_back(audit_row(s));
      }
      if (rc != SQLITE_DONE) return c.error(rc, "read audit");
      return out;
    });
  }

  core::Status walk_audit(std::string_view ci_id,
                          const std::function<core::Status(const AuditRecord&)>& visit) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Status {
      // One read transaction: the walk sees one state of the trail.
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT " SURVEYOR_AUDIT_COLUMNS " FROM audit WHERE (?1 = '' OR ci_id = ?1) ORDER BY ci_id, seq, id");
      s.bind(1, ci_id);
      int rc;
      while ((rc = s.step()) == SQLITE_ROW)
        if (auto st = visit(audit_row(s)); !st) return st;
      if (rc != SQLITE_DONE) return c.error(rc, "read audit");
      return {};
    });
  }
};

// Appends audit entries, linked to the CI's change records or flagged.
core::Status write_audit(Connection& c, std::vector<AuditRecord> records) {
  if (records.empty()) return {};
  auto classified = classify_audit(records, [&c](std::string_view ci, const std::vector<std::string>& keys)
                                                -> core::Result<AuditContext> {
    AuditContext ctx;
    auto ch = changes_of(c, ci, kChangesPerCi);
    if (!ch) return std::move(ch).error();
    ctx.changes = std::move(*ch);
    SURVEYOR_TRY_STMT(last, c, "SELECT MAX(time_ms) FROM audit WHERE ci_id = ?1 AND key = ?2 AND alert = 1");
    for (const std::string& key : keys) {
      last.reset();
      last.bind(1, ci).bind(2, key);
      if (int rc = last.step(); rc != SQLITE_ROW) return c.error(rc, "read the last alert");
      if (!last.is_null(0)) ctx.last_alert[key] = last.int64(0);
    }
    return ctx;
  });
  if (!classified) return classified;
  SURVEYOR_TRY_STMT(head, c, "SELECT seq, hash FROM audit WHERE ci_id = ?1 ORDER BY seq DESC LIMIT 1");
  auto chained = chain_audit(records, [&](std::string_view ci) -> core::Result<AuditLink> {
    head.reset();
    head.bind(1, ci);
    const int rc = head.step();
    if (rc == SQLITE_DONE) return AuditLink{};
    if (rc != SQLITE_ROW) return c.error(rc, "read the head of the audit chain");
    return AuditLink{head.int64(0), head.text(1)};
  });
  if (!chained) return chained;
  SURVEYOR_TRY_STMT(ins, c,
                    "INSERT INTO audit(time_ms, ci_id, kind, key, old_value, new_value, origin, change_id, "
                    "unauthorized, alert, actor, seq, prev_hash, hash) "
                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  for (const AuditRecord& r : records) {
    ins.reset();
    ins.bind(1, r.time_ms).bind(2, r.ci_id).bind(3, r.kind).bind(4, r.key).bind(5, r.old_value);
    ins.bind(6, r.new_value).bind(7, r.origin).bind(8, r.change_id);
    ins.bind(9, std::int64_t{r.unauthorized}).bind(10, std::int64_t{r.alert}).bind(11, r.actor);
    ins.bind(12, r.seq).bind(13, r.prev_hash).bind(14, r.hash);
    if (int rc = ins.step(); rc != SQLITE_DONE) return c.error(rc, "write audit entry");
  }
  return {};
}

std::shared_ptr<store::AuditStore> make_audit_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteAuditStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
