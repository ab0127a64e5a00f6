// SPDX-License-Identifier: Apache-2.0
// Frozen audit evidence on SQLite: one row per clause and period, never changed.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

class SqliteEvidenceStore final : public Bound<EvidenceStore> {
 public:
  using Bound::Bound;

  core::Result<bool> add_evidence(const FrozenEvidence& e) override {
    return b_->write([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(s, c,
                          "INSERT INTO evidence(clause, period, created_ms, document) VALUES(?1, ?2, ?3, ?4) "
                          "ON CONFLICT(clause, period) DO NOTHING");
        s.bind(1, e.clause).bind(2, e.period).bind(3, e.created_ms).bind(4, e.document);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write evidence");
        return sqlite3_changes(c.handle()) == 1;
      });
    });
  }

  core::Result<std::optional<FrozenEvidence>> find_evidence(std::string_view clause, std::string_view period) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::optional<FrozenEvidence>> {
      SURVEYOR_TRY_STMT(s, c, "SELECT created_ms, document FROM evidence WHERE clause = ?1 AND period = ?2");
      s.bind(1, clause).bind(2, period);
      const int rc = s.step();
      if (rc == SQLITE_DONE) return std::optional<FrozenEvidence>{};
      if (rc != SQLITE_ROW) return c.error(rc, "read evidence");
      return std::optional<FrozenEvidence>{FrozenEvidence{std::string(clause), std::string(period), s.int64(0), s.text(1)}};
    });
  }
};

std::shared_ptr<store::EvidenceStore> make_evidence_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteEvidenceStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
