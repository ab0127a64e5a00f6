// SPDX-License-Identifier: Apache-2.0
// Approved change records on SQLite.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

namespace {

core::Result<std::vector<ChangeRecord>> read_changes(Connection& c, Stmt& s) {
  std::vector<ChangeRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    ChangeRecord ch;
    ch.id = s.text(0);
    ch.reference = s.text(1);
    ch.start_ms = s.int64(2);
    ch.end_ms = s.int64(3);
    ch.description = s.text(4);
    ch.origin = s.text(5);
    ch.created_ms = s.int64(6);
    ch.actor = s.text(7);
    ch.impact = s.text(8);
    out.push_back(std::move(ch));
  }
  if (rc != SQLITE_DONE) return c.error(rc, "read changes");
  SURVEYOR_TRY_STMT(cis, c, "SELECT ci_id FROM change_cis WHERE change_id = ?1 ORDER BY ci_id");
  for (ChangeRecord& ch : out) {
    cis.reset();
    cis.bind(1, ch.id);
    while ((rc = cis.step()) == SQLITE_ROW) ch.ci_ids.push_back(cis.text(0));
    if (rc != SQLITE_DONE) return c.error(rc, "read change CIs");
  }
  return out;
}

constexpr const char* kChangeColumns = "id, reference, start_ms, end_ms, description, origin, created_ms, actor, impact";

}  // namespace

class SqliteChangeStore final : public Bound<ChangeStore> {
 public:
  using Bound::Bound;

  core::Result<ChangeRecord> create_change(const ChangeRecord& in) override {
    return b_->write([&](Connection& c) {
      return in_transaction<ChangeRecord>(c, [&]() -> core::Result<ChangeRecord> {
        const ChangeRecord ch = new_change(in);
        SURVEYOR_TRY_STMT(ins, c,
                          "INSERT INTO changes(id, reference, start_ms, end_ms, description, origin, created_ms, actor, "
                          "impact) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
        ins.bind(1, ch.id).bind(2, ch.reference).bind(3, ch.start_ms).bind(4, ch.end_ms).bind(5, ch.description);
        ins.bind(6, ch.origin).bind(7, ch.created_ms).bind(8, ch.actor).bind(9, ch.impact);
        if (int rc = ins.step(); rc != SQLITE_DONE) return c.error(rc, "write change");
        SURVEYOR_TRY_STMT(link, c, "INSERT INTO change_cis(ci_id, change_id) VALUES(?1, ?2)");
        for (const std::string& id : ch.ci_ids) {
          link.reset();
          link.bind(1, id).bind(2, ch.id);
          if (int rc = link.step(); rc != SQLITE_DONE) return c.error(rc, "write change CI");
        }
        return ch;
      });
    });
  }

  core::Result<std::optional<ChangeRecord>> find_change(std::string_view id) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::optional<ChangeRecord>> {
      SURVEYOR_TRY_STMT(s, c, std::string("SELECT ") + kChangeColumns + " FROM changes WHERE id = ?1");
      s.bind(1, id);
      auto list = read_changes(c, s);
      if (!list) return std::move(list).error();
      if (list->empty()) return std::optional<ChangeRecord>{};
      return std::optional<ChangeRecord>{std::move(list->front())};
    });
  }

  core::Result<std::vector<ChangeRecord>> list_changes(const ChangeFilter& f) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<ChangeRecord>> {
      SURVEYOR_TRY_STMT(s, c,
                        std::string("SELECT ") + kChangeColumns +
                            " FROM changes WHERE (?1 = '' OR id IN (SELECT change_id FROM change_cis WHERE ci_id = ?1)) "
                            "AND end_ms > ?2 ORDER BY start_ms DESC, id LIMIT ?3");
      s.bind(1, f.ci_id).bind(2, f.ends_after_ms).bind(3, static_cast<std::int64_t>(f.limit));
      return read_changes(c, s);
    });
  }
};

core::Result<std::vector<ChangeRecord>> changes_of(Connection& c, std::string_view ci_id, std::size_t limit) {
  SURVEYOR_TRY_STMT(s, c,
                    std::string("SELECT ") + kChangeColumns +
                        " FROM changes WHERE id IN (SELECT change_id FROM change_cis WHERE ci_id = ?1) "
                        "ORDER BY start_ms DESC, id LIMIT ?2");
  s.bind(1, ci_id).bind(2, static_cast<std::int64_t>(limit));
  return read_changes(c, s);
}

std::shared_ptr<store::ChangeStore> make_change_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteChangeStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
