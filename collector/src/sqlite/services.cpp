// SPDX-License-Identifier: Apache-2.0
// Service definitions kept by the collector on SQLite.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

class SqliteServiceStore final : public Bound<ServiceStore> {
 public:
  using Bound::Bound;

  core::Status put_service(const StoredService& sv) override {
    auto r = b_->write([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(s, c,
                          "INSERT INTO services(name, definition, origin, updated_ms) VALUES(?1, ?2, ?3, ?4) "
                          "ON CONFLICT(name) DO UPDATE SET definition = ?2, origin = ?3, updated_ms = ?4");
        s.bind(1, sv.name).bind(2, sv.definition).bind(3, sv.origin).bind(4, sv.updated_ms);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write service");
        if (auto st = bump_counter(c, "services"); !st) return std::move(st).error();
        return true;
      });
    });
    if (!r) return std::move(r).error();
    return {};
  }

  core::Result<bool> delete_service(std::string_view name) override {
    return b_->write([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(s, c, "DELETE FROM services WHERE name = ?1");
        s.bind(1, name);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "delete service");
        if (c.changes() == 0) return false;
        if (auto st = bump_counter(c, "services"); !st) return std::move(st).error();
        return true;
      });
    });
  }

  core::Result<std::vector<StoredService>> list_services() override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<StoredService>> {
      SURVEYOR_TRY_STMT(s, c, "SELECT name, definition, origin, updated_ms FROM services ORDER BY name");
      std::vector<StoredService> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.text(0), s.text(1), s.text(2), s.int64(3)});
      if (rc != SQLITE_DONE) return c.error(rc, "read services");
      return out;
    });
  }

  core::Result<std::int64_t> services_version() override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::int64_t> {
      SURVEYOR_TRY_STMT(s, c, "SELECT value FROM counters WHERE name = 'services'");
      const int rc = s.step();
      if (rc == SQLITE_DONE) return std::int64_t{0};
      if (rc != SQLITE_ROW) return c.error(rc, "read version");
      return s.int64(0);
    });
  }
};

std::shared_ptr<store::ServiceStore> make_service_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteServiceStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
