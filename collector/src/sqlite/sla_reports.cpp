// SPDX-License-Identifier: Apache-2.0
// Frozen SLA reports and their amendments on SQLite: versions that are never changed.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

class SqliteSlaReportStore final : public Bound<SlaReportStore> {
 public:
  using Bound::Bound;

  core::Result<bool> add_sla_report(const SlaReportVersion& v) override {
    return b_->write([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(n, c, "SELECT COUNT(*) FROM sla_reports WHERE service = ?1 AND period = ?2");
        n.bind(1, v.service).bind(2, v.period);
        if (int rc = n.step(); rc != SQLITE_ROW) return c.error(rc, "count SLA reports");
        if (n.int64(0) != v.version - 1) return false;
        SURVEYOR_TRY_STMT(s, c,
                          "INSERT INTO sla_reports(service, period, version, created_ms, by, reason, report) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        s.bind(1, v.service).bind(2, v.period).bind(3, std::int64_t{v.version}).bind(4, v.created_ms);
        s.bind(5, v.by).bind(6, v.reason).bind(7, v.report);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write SLA report");
        return true;
      });
    });
  }

  core::Result<std::vector<SlaReportVersion>> sla_reports(std::string_view service, std::string_view period) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<SlaReportVersion>> {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT version, created_ms, by, reason, report FROM sla_reports WHERE service = ?1 AND "
                        "period = ?2 ORDER BY version");
      s.bind(1, service).bind(2, period);
      std::vector<SlaReportVersion> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW)
        out.push_back({std::string(service), std::string(period), static_cast<int>(s.int64(0)), s.int64(1), s.text(2),
                       s.text(3), s.text(4)});
      if (rc != SQLITE_DONE) return c.error(rc, "read SLA reports");
      return out;
    });
  }
};

std::shared_ptr<store::SlaReportStore> make_sla_report_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteSlaReportStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
