// SPDX-License-Identifier: Apache-2.0
// Whether the SQLite store answers, and what its settings put at risk.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

class SqliteHealth final : public Bound<StoreHealth> {
 public:
  using Bound::Bound;
  core::Status ping() override {
    return b_->pool.with_reader([](Connection& c) -> core::Status {
      SURVEYOR_TRY_STMT(s, c, "SELECT COUNT(*) FROM sqlite_master");
      const int rc = s.step();
      if (rc != SQLITE_ROW) return c.error(rc, "ping");
      return {};
    });
  }
  std::string describe() const override { return "sqlite:" + b_->path; }
  core::Result<Durability> durability() override {
    Durability d;
    if (!b_->synchronous_full)
      d.warnings.push_back("synchronous=normal: reports acknowledged in the last moments before a power loss can be "
                           "lost (a crash of the collector alone loses nothing); drop ?synchronous=normal for FULL");
    return d;
  }
};

std::shared_ptr<store::StoreHealth> make_health(std::shared_ptr<Backend> b) { return std::make_shared<SqliteHealth>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
