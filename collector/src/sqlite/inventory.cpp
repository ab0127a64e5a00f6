// SPDX-License-Identifier: Apache-2.0
// Inventory sections per host CI on SQLite.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

class SqliteInventoryStore final : public Bound<InventoryStore> {
 public:
  using Bound::Bound;
  core::Result<std::vector<InventorySection>> get_inventory(std::string_view ci_id) override {
    return b_->pool.with_reader([&](Connection& c) { return load_inventory(c, ci_id); });
  }
};

core::Result<std::vector<InventorySection>> load_inventory(Connection& c, std::string_view ci_id, bool with_data) {
  SURVEYOR_TRY_STMT(s, c,
                    with_data ? "SELECT section, state, reason, digest, data, updated_ms FROM inventory_sections "
                                "WHERE ci_id = ?1 ORDER BY section"
                              // Every column but the data is stored before it: no overflow page is read.
                              : "SELECT section, state, reason, digest, '', updated_ms FROM inventory_sections "
                                "WHERE ci_id = ?1 ORDER BY section");
  s.bind(1, ci_id);
  std::vector<InventorySection> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.int64(5)});
  if (rc != SQLITE_DONE) return c.error(rc, "read inventory");
  return out;
}

core::Status save_section(Connection& c, std::string_view ci_id, const InventorySection& x) {
  SURVEYOR_TRY_STMT(s, c,
                    "INSERT INTO inventory_sections(ci_id, section, state, reason, digest, data, updated_ms) "
                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(ci_id, section) DO UPDATE SET "
                    "state = ?3, reason = ?4, digest = ?5, data = ?6, updated_ms = ?7");
  s.bind(1, ci_id).bind(2, x.name).bind(3, x.state).bind(4, x.reason).bind(5, x.digest).bind(6, x.data_json);
  s.bind(7, x.updated_ms);
  if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write inventory");
  return {};
}

std::shared_ptr<store::InventoryStore> make_inventory_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteInventoryStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
