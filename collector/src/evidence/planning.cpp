// SPDX-License-Identifier: Apache-2.0
// The reports of clauses 8.3.3 (service level management: the SLA results
// with their amendments), 8.4.3 (capacity management: the capacity plan and
// the capacity events) and 8.5.1 (change management: change records with
// their impact at creation, and what was observed inside and outside their
// windows).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "internal.hpp"
#include "surveyor/collector/capacity/report.hpp"
#include "surveyor/core/clock.hpp"

namespace surveyor::collector::evidence::detail {
namespace {

// A measured value to 6 significant digits (what a plan can claim of a
// ratio or a byte count), or null.
json::value opt_number(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return std::strtod(buf, nullptr);
}

json::value opt_instant(const std::optional<std::int64_t>& t) {
  return t ? json::value(core::format_rfc3339(*t)) : json::value(nullptr);
}

std::string joined(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string s;
  for (const std::string& i : items) s += (s.empty() ? "" : std::string(sep)) + i;
  return s;
}

}  // namespace

// --- shared readings ---------------------------------------------------------

core::Result<std::vector<SlaResult>> sla_results(const Context& c, const Period& p) {
  std::vector<SlaResult> out;
  if (!c.catalog) return out;
  for (const services::Service& svc : c.catalog->list()) {
    if (!svc.sla) continue;
    auto sp = sla::period_at(*svc.sla, p.start_ms);
    // The SLA periods that end in (start, end]: each once, in the evidence
    // period where it closes; none that has not begun.
    while (sp && sp->start_ms < p.end_ms && sp->start_ms < c.now_ms) {
      if (sp->end_ms > p.start_ms && sp->end_ms <= p.end_ms) {
        SlaResult r;
        r.service = svc.name;
        if (sp->end_ms <= c.now_ms) {
          auto held = c.stores->sla_reports->sla_reports(svc.name, sp->name);
          if (!held) return std::move(held).error();
          r.versions = std::move(*held);
        }
        if (!r.versions.empty()) {
          auto frozen = sla::report_from_json(r.versions.back().report);
          if (!frozen) return std::move(frozen).error();
          r.report = std::move(*frozen);
          r.record = r.versions.size() > 1 ? "amended" : "frozen";
        } else {
          const std::int64_t to = std::min(sp->end_ms, c.now_ms);
          auto tl = c.stores->timelines->read_timeline("service:" + svc.name, sp->start_ms, to);
          if (!tl) return std::move(tl).error();
          r.report = sla::evaluate(svc.name, *svc.sla, *sp, *tl, c.now_ms);
          r.record = sp->end_ms <= c.now_ms ? "not frozen" : "running";
          if (tl->empty()) {
            // Nothing known of the service in it (it may not have existed
            // yet): no result rather than a perfect one.
            r.report.achieved_percent.reset();
            r.report.breached = false;
            r.record = "no data";
          }
        }
        out.push_back(std::move(r));
      }
      sp = sla::period_at(*svc.sla, sp->end_ms);
    }
  }
  return out;
}

core::Result<Read<store::ChangeRecord>> changes_in(const store::Stores& s, const Period& p) {
  store::ChangeFilter f;
  f.ends_after_ms = p.start_ms;
  f.limit = kMaxRead;
  auto list = s.changes->list_changes(f);
  if (!list) return std::move(list).error();
  Read<store::ChangeRecord> out;
  out.truncated = list->size() == kMaxRead;
  for (store::ChangeRecord& ch : *list)
    if (ch.start_ms < p.end_ms) out.items.push_back(std::move(ch));
  std::reverse(out.items.begin(), out.items.end());
  return out;
}

core::Result<Read<store::CapacityEvent>> events_in(const store::Stores& s, const Period& p) {
  store::EventFilter f;
  f.limit = kMaxRead;
  auto list = s.events->list_events(f);
  if (!list) return std::move(list).error();
  Read<store::CapacityEvent> out;
  out.truncated = list->size() == kMaxRead;
  for (store::CapacityEvent& e : *list)
    if (e.opened_ms < p.end_ms && (e.resolved_ms == 0 || e.resolved_ms >= p.start_ms)) out.items.push_back(std::move(e));
  std::stable_sort(out.items.begin(), out.items.end(), [](const store::CapacityEvent& a, const store::CapacityEvent& b) {
    return a.opened_ms != b.opened_ms ? a.opened_ms < b.opened_ms : a.id < b.id;
  });
  return out;
}

// --- 8.3.3 service level management ------------------------------------------
core::Status service_level(const Context& c, const Period& p, Builder& b) {
  b.sources = {"service definitions with their SLA (target, period, time zone, service hours; docs/sla.md)",
               "the SLA reports frozen when each SLA period closed, and their amendments",
               "availability timelines of services, for SLA periods not frozen or still running"};
  b.method = {
      "Every SLA period of every service that ends in the report's period is listed once, in the SLA's own "
      "calendar (time zone) and kind (week, month, quarter).",
      "A closed SLA period's figures are its frozen report's latest version; a version after the first is an "
      "amendment (a recomputation, for instance after late data or a correction of the timeline), stored "
      "with when, by whom and why. A closed period without a frozen report, and a running one, is computed "
      "when this report is generated and says so; one in which nothing is known of the service (no "
      "availability timeline at all) has no result (no data).",
      "Achieved = (agreed time - downtime) / agreed time, where agreed time is the service hours less "
      "maintenance; unknown time is shown apart and not counted as downtime (docs/sla.md). Met: achieved "
      "at or above the target."};
  auto results = sla_results(c, p);
  if (!results) return std::move(results).error();
  std::set<std::string> services;
  std::size_t met = 0, breached = 0, no_data = 0, amended = 0, amendments = 0, not_frozen = 0;
  std::vector<json::array> rows, amendment_rows;
  for (const SlaResult& r : *results) {
    services.insert(r.service);
    const sla::Report& rep = r.report;
    json::value outcome = nullptr;
    if (!rep.achieved_percent) {
      ++no_data;
    } else {
      (rep.breached ? breached : met) += 1;
      outcome = rep.breached ? "breached" : "met";
    }
    if (r.record == "amended") ++amended;
    if (r.record == "not frozen" || r.record == "running") ++not_frozen;
    const bool has = !r.versions.empty();
    rows.push_back(json::array{json::string(r.service), json::string(rep.period.name),
                               json::string(rep.period.time_zone), rep.target_percent,
                               percent(rep.achieved_percent), std::move(outcome), seconds(rep.agreed_ms),
                               seconds(rep.downtime_ms), seconds(rep.allowed_downtime_ms),
                               seconds(rep.budget_left_ms), seconds(rep.maintenance_ms), seconds(rep.unknown_ms),
                               json::string(r.record), has ? json::value(r.versions.back().version) : nullptr,
                               has ? opt_time(r.versions.front().created_ms) : nullptr});
    for (std::size_t i = 1; i < r.versions.size(); ++i) {
      ++amendments;
      const store::SlaReportVersion& v = r.versions[i];
      auto before = sla::report_from_json(r.versions[i - 1].report);
      auto after = sla::report_from_json(v.report);
      if (!before) return std::move(before).error();
      if (!after) return std::move(after).error();
      amendment_rows.push_back(json::array{json::string(r.service), json::string(v.period), v.version,
                                           opt_time(v.created_ms), json::string(v.by), json::string(v.reason),
                                           percent(before->achieved_percent), percent(after->achieved_percent)});
    }
  }
  b.figure("services_with_sla", "services with an SLA", services.size());
  b.figure("sla_periods", "SLA periods ending in the period", results->size());
  b.figure("sla_met", "of which met", met);
  b.figure("sla_breached", "of which breached", breached);
  b.figure("sla_no_data", "of which with no agreed time known", no_data);
  b.figure("sla_amended", "SLA periods whose report was amended", amended);
  b.figure("amendments", "amendments", amendments);
  b.figure("sla_not_frozen", "SLA periods computed at generation (not frozen, or running)", not_frozen);
  b.table("results", "SLA results",
          {"service", "sla_period", "time_zone", "target_percent", "achieved_percent", "outcome", "agreed_s",
           "downtime_s", "allowed_downtime_s", "budget_left_s", "maintenance_s", "unknown_s", "record", "version",
           "frozen_at"},
          std::move(rows));
  b.table("amendments", "Amendments of frozen SLA reports",
          {"service", "sla_period", "version", "at", "by", "reason", "achieved_before_percent",
           "achieved_after_percent"},
          std::move(amendment_rows));
  return {};
}

// --- 8.4.3 capacity management -----------------------------------------------
core::Status capacity_plan(const Context& c, const Period& p, Builder& b) {
  const store::Stores& s = *c.stores;
  // The plan as it stood at the period's end (or now, for a running period).
  const std::int64_t at = std::min(p.end_ms, c.now_ms);
  const std::int64_t window = at - p.start_ms;
  b.sources = {"capacity rules: the collector's and each service's own (docs/capacity.md)",
               "the series store: raw samples and hourly rollups of the period",
               "capacity events open at some time in the period"};
  b.method = {
      "The plan is as it stood at the period's end (for a running period, at generation): for every series "
      "a capacity rule watches, the current value (the latest sample), the 95th percentile (5th for a floor) "
      "and the peak (hourly maxima; minima for a floor) over the period, the headroom (threshold - 95th "
      "percentile) and when the least-squares trend of the hourly maxima over the period reaches the "
      "threshold, with its 95 % prediction interval (docs/capacity.md); values to 6 significant digits. Raw "
      "samples older than the raw retention are gone: a report generated long after its period shows no "
      "current value or percentile.",
      "The collector's rules apply to every CI of their type (or their CIs); each service's own rules to its "
      "members. The services column names the services a CI is a member of.",
      "Capacity events: raised by the rules when a threshold is breached for long enough or forecast to be "
      "reached within the rule's horizon; listed when open at some time in the period."};
  if (window <= 0) return core::make_error(store::StoreErrc::invalid, "the period has not begun");

  auto state_at_end = states_at(s, at);
  if (!state_at_end) return std::move(state_at_end).error();
  // A CI the plan covered then: there by then, and not retired at the time.
  auto in_plan = [&](const store::Ci& ci) {
    if (ci.first_seen_ms >= at) return false;
    const auto held = state_at_end->find(ci.id);
    return held != state_at_end->end() ? held->second != "retired" : ci.state != store::CiState::retired;
  };
  // Which services each CI belongs to, and the services' own rules.
  std::map<std::string, std::vector<std::string>> member_of;
  std::vector<std::pair<std::string, capacity::CapacityRule>> service_rules;
  if (c.catalog)
    for (const services::Service& svc : c.catalog->list()) {
      auto members = services::member_cis(*c.catalog, *s.cmdb, svc.name);
      if (!members) return std::move(members).error();
      std::vector<std::string> ids;
      for (const store::Ci& ci : members->cis) {
        member_of[ci.id].push_back(svc.name);
        ids.push_back(ci.id);
      }
      for (capacity::CapacityRule r : svc.capacity_rules) {
        r.name = svc.name + "/" + r.name;
        r.ci_ids = ids;
        service_rules.emplace_back(svc.name, std::move(r));
      }
    }
  auto cis_of = [&](const capacity::CapacityRule& r) -> core::Result<std::vector<store::Ci>> {
    std::vector<store::Ci> out;
    if (r.ci_ids) {
      for (const std::string& ref : *r.ci_ids) {
        auto ci = services::resolve_ci(*s.cmdb, ref);
        if (!ci) return std::move(ci).error();
        if (*ci && in_plan(**ci)) out.push_back(std::move(**ci));
      }
      return out;
    }
    for (std::size_t offset = 0;; offset += 1000) {
      store::CiFilter f;
      f.type = r.ci_type;
      f.limit = 1000;
      f.offset = offset;
      auto page = s.cmdb->list_cis(f);
      if (!page) return std::move(page).error();
      for (store::Ci& ci : *page)
        if (in_plan(ci)) out.push_back(std::move(ci));
      if (page->size() < 1000) return out;
    }
  };

  std::vector<json::array> plan;
  std::size_t past = 0, within_30d = 0, no_data = 0;
  auto add_rows = [&](const capacity::CapacityRule& rule, const std::string* service) -> core::Status {
    auto cis = cis_of(rule);
    if (!cis) return std::move(cis).error();
    // Nothing from the period's end on: a closed period reads [start, end).
    auto rows = capacity::capacity_report(*s.series, *cis, std::span(&rule, 1), at, window,
                                          p.end_ms <= c.now_ms ? std::optional<std::int64_t>(at) : std::nullopt);
    if (!rows) return std::move(rows).error();
    for (const capacity::ReportRow& r : *rows) {
      using O = capacity::ThresholdForecast::Outcome;
      if (r.outcome == O::already) ++past;
      if (r.outcome == O::at && r.days_to_threshold && *r.days_to_threshold <= 30) ++within_30d;
      if (!r.current) ++no_data;
      const std::string services = service ? *service : joined(member_of[r.ci_id]);
      plan.push_back(json::array{json::string(services), json::string(r.ci_id), json::string(r.ci_name),
                                 json::string(r.rule), json::string(r.metric), json::string(capacity::attributes_text(r.attributes)),
                                 json::string(r.unit), opt_number(r.current), opt_number(r.p95), opt_number(r.peak),
                                 r.threshold, r.rising ? "above" : "below", opt_number(r.headroom),
                                 json::string(capacity::to_string(r.outcome)), opt_instant(r.reaches_at_ms),
                                 opt_instant(r.earliest_ms), opt_instant(r.latest_ms), opt_number(r.r2)});
    }
    return {};
  };
  for (const capacity::CapacityRule& rule : c.rules)
    if (auto st = add_rows(rule, nullptr); !st) return st;
  for (const auto& [service, rule] : service_rules)
    if (auto st = add_rows(rule, &service); !st) return st;

  auto events = events_in(s, p);
  if (!events) return std::move(events).error();
  std::size_t raised = 0, resolved = 0, open_at_end = 0;
  std::vector<json::array> event_rows;
  for (const store::CapacityEvent& e : events->items) {
    raised += e.opened_ms >= p.start_ms ? 1 : 0;
    resolved += e.resolved_ms >= p.start_ms && e.resolved_ms < p.end_ms ? 1 : 0;
    open_at_end += e.resolved_ms == 0 || e.resolved_ms >= p.end_ms ? 1 : 0;
    event_rows.push_back(json::array{json::string(e.id), json::string(e.kind), json::string(e.rule),
                                     json::string(e.ci_id), json::string(e.metric),
                                     json::string(capacity::attributes_text(e.attributes)), opt_time(e.opened_ms),
                                     opt_time(e.resolved_ms), e.threshold, opt_number(e.value),
                                     opt_instant(e.predicted_ms), json::string(e.summary)});
  }
  b.figure("plan_at", "the plan as it stood at", json::string(core::format_rfc3339(at)));
  b.figure("series_watched", "series watched by capacity rules", plan.size());
  b.figure("series_past_threshold", "at or past their threshold", past);
  b.figure("series_reaching_within_30_days", "trend reaching the threshold within 30 days", within_30d);
  b.figure("series_without_data", "without samples in the period", no_data);
  b.figure("events_raised", "capacity events raised in the period", raised);
  b.figure("events_resolved", "capacity events resolved in the period", resolved);
  b.figure("events_open_at_end", "capacity events open at the period's end", open_at_end);
  if (events->truncated) b.figure("events_truncated", "capacity events read only up to (the newest)", kMaxRead);
  b.table("plan", "Capacity plan: use, headroom and forecast per service and CI",
          {"services", "ci", "name", "rule", "metric", "attributes", "unit", "current", "p95", "peak", "threshold",
           "direction", "headroom", "outcome", "reaches_at", "earliest", "latest", "r2"},
          std::move(plan));
  b.table("events", "Capacity events",
          {"event", "kind", "rule", "ci", "metric", "attributes", "opened", "resolved", "threshold", "value",
           "predicted", "summary"},
          std::move(event_rows));
  return {};
}

// --- 8.5.1 change management -------------------------------------------------
core::Status change_management(const Context& c, const Period& p, Builder& b) {
  const store::Stores& s = *c.stores;
  b.sources = {"change records whose window overlaps the period, with the impact analysis made when each was "
               "recorded",
               "the audit trail: changes observed on the CIs, linked to the change whose window covered them, or "
               "flagged as outside every window"};
  b.method = {
      "A change record is the approval of a change to some CIs within a window [start, end); it is recorded "
      "by a change manager (the actor) through the API or the console.",
      "Impact at creation: when the record was made, each of its CIs was analysed as if it failed alone "
      "(docs/cmdb.md): the services it would take down or degrade, and how many CIs would fail with it. "
      "Records made before the collector kept this analysis show none.",
      "Recorded in advance: the record was made no later than its window opened.",
      "Observed in a window: audit entries of the period that fall in the window of a change record of "
      "their CI and are linked to it. Outside every window: changes observed by an agent when no change "
      "record covered the CI (unauthorised; their incidents are in the 8.2.6 and 8.6.1 reports)."};
  auto changes = changes_in(s, p);
  if (!changes) return std::move(changes).error();
  auto entries = audit_in(s, p, false);
  if (!entries) return std::move(entries).error();

  std::map<std::string, std::size_t> observed_per_change;
  std::map<std::string, std::string> reference;
  for (const store::ChangeRecord& ch : changes->items) reference[ch.id] = ch.reference;
  std::vector<json::array> observed, outside;
  std::size_t by_agents = 0;
  for (const store::AuditRecord& r : *entries) {
    by_agents += r.origin == "agent" ? 1 : 0;
    if (!r.change_id.empty()) {
      ++observed_per_change[r.change_id];
      auto ref = reference.find(r.change_id);
      observed.push_back(json::array{opt_time(r.time_ms), json::string(r.ci_id), json::string(r.kind),
                                     json::string(r.key), json::string(r.old_value), json::string(r.new_value),
                                     json::string(r.origin), json::string(r.change_id),
                                     ref == reference.end() ? json::value(nullptr) : json::value(ref->second)});
    }
    if (r.unauthorized)
      outside.push_back(json::array{opt_time(r.time_ms), json::string(r.ci_id), json::string(r.kind),
                                    json::string(r.key), json::string(r.old_value), json::string(r.new_value),
                                    r.alert});
  }

  std::vector<json::array> rows;
  std::size_t with_impact = 0, in_advance = 0, touching_down = 0;
  for (const store::ChangeRecord& ch : changes->items) {
    json::value services = nullptr, affected = nullptr;
    boost::system::error_code ec;
    const json::value v = ch.impact.empty() ? json::value(nullptr) : json::parse(ch.impact, ec);
    const json::value* list = !ec && v.is_object() ? v.get_object().if_contains("services") : nullptr;
    if (list && list->is_array()) {
      ++with_impact;
      std::vector<std::string> parts;
      bool down = false;
      for (const json::value& svc : list->get_array()) {
        if (!svc.is_object()) continue;
        const auto* name = svc.get_object().if_contains("service");
        const auto* verdict = svc.get_object().if_contains("verdict");
        if (!name || !verdict || !name->is_string() || !verdict->is_string()) continue;
        down = down || verdict->get_string() == "down";
        parts.push_back(std::string(name->get_string()) + ": " + std::string(verdict->get_string()));
      }
      touching_down += down ? 1 : 0;
      services = json::string(joined(parts, "; "));
      if (const auto* n = v.get_object().if_contains("cis_affected"); n && n->is_number()) affected = *n;
    }
    const bool advance = ch.created_ms <= ch.start_ms;
    in_advance += advance ? 1 : 0;
    rows.push_back(json::array{json::string(ch.reference), json::string(ch.id), json::string(joined(ch.ci_ids)),
                               opt_time(ch.start_ms), opt_time(ch.end_ms), opt_time(ch.created_ms),
                               json::string(ch.actor), json::string(ch.origin), advance, std::move(services),
                               std::move(affected), observed_per_change[ch.id], json::string(ch.description)});
  }
  std::size_t observed_total = observed.size();
  b.figure("changes", "change records with a window in the period", changes->items.size());
  b.figure("changes_with_impact", "with the impact analysis made at their creation", with_impact);
  b.figure("changes_taking_a_service_down", "whose analysis said a service would go down", touching_down);
  b.figure("changes_recorded_in_advance", "recorded no later than their window opened", in_advance);
  b.figure("observed_changes", "changes observed on CIs by agents in the period", by_agents);
  b.figure("observed_in_windows", "changes in the period linked to a change record", observed_total);
  b.figure("observed_outside_windows", "changes observed outside every window (unauthorised)", outside.size());
  if (changes->truncated) b.figure("changes_truncated", "change records read only up to (the newest)", kMaxRead);
  b.table("changes", "Change records",
          {"reference", "change", "cis", "start", "end", "recorded", "recorded_by", "origin", "recorded_in_advance",
           "impact_at_creation", "cis_affected", "observed_changes", "description"},
          std::move(rows));
  b.table("observed", "Changes observed within a change's window",
          {"time", "ci", "kind", "key", "old", "new", "origin", "change", "reference"}, std::move(observed));
  b.table("outside_windows", "Changes observed outside every window",
          {"time", "ci", "kind", "key", "old", "new", "alert"}, std::move(outside));
  return {};
}

}  // namespace surveyor::collector::evidence::detail
