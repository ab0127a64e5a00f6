// SPDX-License-Identifier: Apache-2.0
// The report of clause 9.1 (monitoring, measurement, analysis and
// evaluation): the other clauses' key figures over the last 12 periods, as
// trends for the management review.
#include <algorithm>
#include <charconv>
#include <cmath>

#include "internal.hpp"
#include "surveyor/core/clock.hpp"

namespace surveyor::collector::evidence::detail {
namespace {

constexpr std::size_t kPeriods = 12;

std::string day_of(std::int64_t ms) { return core::format_rfc3339(ms).substr(0, 10); }

// Share of the decided (within + late), or null when none was.
json::value share(std::size_t within, std::size_t late) {
  if (within + late == 0) return nullptr;
  return percent(100.0 * static_cast<double>(within) / static_cast<double>(within + late));
}

}  // namespace

std::optional<Period> previous_period(const Period& p) {
  const std::string& n = p.name;
  auto calendar = [&](const char* kind) -> std::optional<Period> {
    auto q = sla::period_at(kind, p.start_ms - 1);
    if (!q) return std::nullopt;
    return Period{q->name, q->start_ms, q->end_ms};
  };
  if (n.find("..") != std::string::npos) {
    const std::int64_t len = p.end_ms - p.start_ms;
    const std::int64_t start = p.start_ms - len;
    return Period{day_of(start) + ".." + day_of(p.start_ms - 86'400'000), start, p.start_ms};
  }
  if (n.find("-W") != std::string::npos) return calendar("week");
  if (n.find("-Q") != std::string::npos) return calendar("quarter");
  if (n.size() == 4) {
    int year = 0;
    std::from_chars(n.data(), n.data() + 4, year);
    return year > 1970 ? parse_period(std::to_string(year - 1)) : std::nullopt;
  }
  return calendar("month");
}

// --- 9.1 monitoring, measurement, analysis and evaluation --------------------
core::Status review(const Context& c, const Period& p, Builder& b) {
  const store::Stores& s = *c.stores;
  b.sources = {"the same records as the reports of clauses 8.2.6, 8.3.3, 8.4.3, 8.5.1, 8.6.1 and 8.7.1, over "
               "each of the 12 periods"};
  b.method = {
      "The 12 periods of the same kind (month, ISO week, quarter, year, or as many days) that end with the "
      "report's period, oldest first; a running period counts up to the report's generation.",
      "Service levels: SLA periods ending in the period, met and breached, as in the 8.3.3 report; the mean "
      "availability of the services with data, and how many were below their SLA target over the period, as "
      "in the 8.7.1 report.",
      "Incidents: opened, resolved, the share acknowledged and resolved within the target of their priority "
      "(of those decided: done, or late), MTTR and MTBF, as in the 8.6.1 report.",
      "Changes and capacity: change records with a window in the period, changes observed by agents, those "
      "outside every window, CIs appeared and retired (8.2.6, 8.5.1), capacity events raised (8.4.3).",
      "Figures are computed when the report is generated from the records as they are then; the frozen "
      "reports of each clause and period remain the evidence of record."};

  std::vector<Period> periods{p};
  while (periods.size() < kPeriods) {
    auto prev = previous_period(periods.back());
    if (!prev) break;
    periods.push_back(std::move(*prev));
  }
  std::reverse(periods.begin(), periods.end());

  // Incidents, change records and capacity events of the whole span, read once.
  const Period span{p.name, periods.front().start_ms, p.end_ms};
  auto all_incidents = incidents_before(s, p.end_ms);
  if (!all_incidents) return std::move(all_incidents).error();
  auto all_records = changes_in(s, span);
  if (!all_records) return std::move(all_records).error();
  auto all_events = events_in(s, span);
  if (!all_events) return std::move(all_events).error();

  std::vector<json::array> levels, incidents, changes;
  for (const Period& q : periods) {
    if (q.start_ms > c.now_ms) continue;
    // Service levels.
    auto slas = sla_results(c, q);
    if (!slas) return std::move(slas).error();
    std::size_t met = 0, breached = 0;
    for (const SlaResult& r : *slas) {
      if (!r.report.achieved_percent) continue;
      (r.report.breached ? breached : met) += 1;
    }
    double sum = 0;
    std::size_t known = 0, below = 0;
    if (c.catalog)
      for (const services::Service& svc : c.catalog->list()) {
        auto t = totals_of(c, "service:" + svc.name, q.start_ms, q.end_ms);
        if (!t) return std::move(t).error();
        const auto a = t->availability();
        if (!a) continue;
        sum += *a;
        ++known;
        below += svc.sla && *a < svc.sla->target_percent ? 1 : 0;
      }
    levels.push_back(json::array{json::string(q.name), slas->size(), met, breached,
                                 known ? percent(sum / static_cast<double>(known)) : json::value(nullptr), below});

    // Incidents.
    std::size_t ack_in = 0, ack_late = 0, res_in = 0, res_late = 0;
    for (const store::Incident& i : *all_incidents) {
      if (i.opened_ms < q.start_ms || i.opened_ms >= q.end_ms) continue;
      const IncidentTimeliness t = timeliness(i, c.targets, c.now_ms);
      ack_in += t.acknowledge == Timeliness::within ? 1 : 0;
      ack_late += t.acknowledge == Timeliness::late ? 1 : 0;
      res_in += t.resolve == Timeliness::within ? 1 : 0;
      res_late += t.resolve == Timeliness::late ? 1 : 0;
    }
    auto k = kpis_of(s, *all_incidents, q.start_ms, q.end_ms, c.now_ms);
    if (!k) return std::move(k).error();
    auto opt_s = [](const std::optional<std::int64_t>& v) { return v ? json::value(seconds(*v)) : json::value(nullptr); };
    incidents.push_back(json::array{json::string(q.name), k->opened, k->resolved, share(ack_in, ack_late),
                                    share(res_in, res_late), opt_s(k->mttr_ms), opt_s(k->mtbf_ms), k->failures});

    // Changes and capacity.
    const auto records = std::count_if(all_records->items.begin(), all_records->items.end(),
                                       [&q](const store::ChangeRecord& ch) {
                                         return ch.end_ms > q.start_ms && ch.start_ms < q.end_ms;
                                       });
    auto entries = audit_in(s, q, false);
    if (!entries) return std::move(entries).error();
    std::size_t by_agents = 0, outside = 0, appeared = 0, retired = 0;
    for (const store::AuditRecord& r : *entries) {
      by_agents += r.origin == "agent" ? 1 : 0;
      outside += r.unauthorized ? 1 : 0;
      appeared += r.kind == "created" ? 1 : 0;
      retired += r.kind == "state" && r.new_value == "\"retired\"" ? 1 : 0;
    }
    const auto raised = std::count_if(all_events->items.begin(), all_events->items.end(),
                                      [&q](const store::CapacityEvent& e) {
                                        return e.opened_ms >= q.start_ms && e.opened_ms < q.end_ms;
                                      });
    changes.push_back(json::array{json::string(q.name), static_cast<std::int64_t>(records), by_agents, outside,
                                  appeared, retired, static_cast<std::int64_t>(raised)});
  }
  b.figure("periods", "periods compared", levels.size());
  b.figure("from", "first period", periods.empty() ? json::value(nullptr) : json::value(periods.front().name));
  b.figure("to", "last period", json::string(p.name));
  if (all_records->truncated || all_events->truncated)
    b.figure("truncated", "change records or capacity events read only up to (the newest)", kMaxRead);
  b.table("service_levels", "Service levels per period",
          {"period", "sla_periods", "sla_met", "sla_breached", "mean_service_availability_percent",
           "services_below_target"},
          std::move(levels));
  b.table("incidents", "Incidents per period",
          {"period", "opened", "resolved", "acknowledged_within_target_percent", "resolved_within_target_percent",
           "mttr_s", "mtbf_s", "availability_failures"},
          std::move(incidents));
  b.table("changes_capacity", "Changes and capacity per period",
          {"period", "change_records", "observed_changes", "outside_windows", "cis_appeared", "cis_retired",
           "capacity_events_raised"},
          std::move(changes));
  return {};
}

}  // namespace surveyor::collector::evidence::detail
