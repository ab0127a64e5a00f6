// SPDX-License-Identifier: Apache-2.0
// One agent report applied as one SQLite transaction across agents, CIs,
// series, inventory, the host's component links and the audit trail.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

class SqliteReportStore final : public Bound<ReportStore> {
 public:
  using Bound::Bound;

  core::Result<ApplyResult> apply_report(const ReportBatch& batch) override {
    return b_->pool.with_writer([&](Connection& c) {
      auto r = in_transaction<ApplyResult>(c, [&] { return apply(c, batch); });
      // Rows of a rolled-back transaction are gone: forget what was cached of them.
      if (!r) {
        b_->series_ids.clear();
        b_->chunk_end.clear();
      }
      return r;
    });
  }

 private:
  core::Result<ApplyResult> apply(Connection& c, const ReportBatch& batch) {
    const auto seq = static_cast<std::int64_t>(batch.sequence);
    ApplyResult result;
    {
      SURVEYOR_TRY_STMT(seen, c, "SELECT 1 FROM reports_seen WHERE agent_id = ?1 AND sequence = ?2");
      seen.bind(1, batch.agent_id).bind(2, seq);
      const int rc = seen.step();
      if (rc == SQLITE_ROW) result.outcome = ApplyOutcome::duplicate;
      else if (rc != SQLITE_DONE) return c.error(rc, "check sequence");
    }
    if (result.outcome == ApplyOutcome::duplicate) {
      if (batch.inventory_ci_id.empty()) return result;
      auto inv = load_inventory(c, batch.inventory_ci_id);
      if (!inv) return std::move(inv).error();
      result.inventory = std::move(*inv);
      return result;
    }
    for (const CiUpdate& u : batch.cis) {
      if (auto ci = upsert_in(c, u); !ci) return std::move(ci).error();
    }
    for (const auto& [info, samples] : batch.series) {
      auto id = series_id_for(c, *b_, info);
      if (!id) return std::move(id).error();
      if (auto st = append_samples(c, *b_, *id, samples); !st) return std::move(st).error();
    }
    {
      SURVEYOR_TRY_STMT(upd, c,
                        "UPDATE agents SET last_seen_ms = MAX(last_seen_ms, ?2), "
                        "last_sequence = MAX(last_sequence, ?3), heartbeat_interval_s = ?4, "
                        "inventory_digest = COALESCE(?5, inventory_digest) WHERE id = ?1");
      upd.bind(1, batch.agent_id).bind(2, batch.received_at_ms).bind(3, seq);
      upd.bind(4, static_cast<std::int64_t>(batch.heartbeat_interval_s));
      if (batch.inventory_digest) upd.bind(5, *batch.inventory_digest);
      if (int rc = upd.step(); rc != SQLITE_DONE) return c.error(rc, "update agent");
      if (c.changes() != 1) return core::make_error(StoreErrc::invalid, "unknown agent " + batch.agent_id);
    }
    {
      SURVEYOR_TRY_STMT(mark, c, "INSERT INTO reports_seen(agent_id, sequence, received_at_ms) VALUES(?1, ?2, ?3)");
      mark.bind(1, batch.agent_id).bind(2, seq).bind(3, batch.received_at_ms);
      if (int rc = mark.step(); rc != SQLITE_DONE) return c.error(rc, "remember sequence");
    }
    if (batch.sequence > kSeenWindow && batch.sequence % 1024 == 0) {
      SURVEYOR_TRY_STMT(prune, c, "DELETE FROM reports_seen WHERE agent_id = ?1 AND sequence < ?2");
      prune.bind(1, batch.agent_id).bind(2, static_cast<std::int64_t>(batch.sequence - kSeenWindow));
      if (int rc = prune.step(); rc != SQLITE_DONE) return c.error(rc, "prune sequences");
    }
    if (batch.inventory_ci_id.empty()) return result;
    if (batch.components)
      if (auto st = follow_components(c, batch.inventory_ci_id, *batch.components, batch.received_at_ms); !st)
        return std::move(st).error();
    auto held = load_inventory(c, batch.inventory_ci_id);
    if (!held) return std::move(held).error();
    InventoryPlan plan = plan_inventory(batch.inventory_ci_id, std::move(*held), batch.sections, batch.received_at_ms);
    for (const InventorySection& s : plan.writes)
      if (auto st = save_section(c, batch.inventory_ci_id, s); !st) return std::move(st).error();
    if (auto st = write_audit(c, std::move(plan.audit)); !st) return std::move(st).error();
    result.inventory = std::move(plan.after);
    return result;
  }
};

std::shared_ptr<store::ReportStore> make_report_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteReportStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
