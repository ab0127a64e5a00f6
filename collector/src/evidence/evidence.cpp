// SPDX-License-Identifier: Apache-2.0
// Audit evidence: periods, targets, the document frame (metadata, digest,
// freezing) and the reports of each clause.
#include "surveyor/collector/evidence/evidence.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <set>

#include "internal.hpp"
#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/sla/sla.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/crypto.hpp"
#include "surveyor/core/duration.hpp"

#ifndef SURVEYOR_VERSION
#define SURVEYOR_VERSION "unknown"
#endif

namespace surveyor::collector::evidence {
namespace {

namespace json = boost::json;
using store::StoreErrc;

constexpr std::array kClauses{
    Clause{"8.2.6", "Configuration management", true},
    Clause{"8.3.3", "Service level management", true},
    Clause{"8.4.3", "Capacity management", true},
    Clause{"8.5.1", "Change management", true},
    Clause{"8.6.1", "Incident management", true},
    Clause{"8.7.1", "Service availability management", true},
    Clause{"9.1", "Monitoring, measurement, analysis and evaluation", true},
};

}  // namespace

namespace detail {

json::value opt_time(std::int64_t ms) { return ms > 0 ? json::value(core::format_rfc3339(ms)) : json::value(nullptr); }

json::value percent(std::optional<double> v) {
  if (!v) return nullptr;
  return std::round(*v * 10'000.0) / 10'000.0;
}

void Builder::figure(std::string_view name, std::string_view label, json::value v) {
  figures.push_back(json::object{{"name", name}, {"label", label}, {"value", std::move(v)}});
}

void Builder::table(std::string_view name, std::string_view title, std::initializer_list<std::string_view> columns,
                    std::vector<json::array> rows) {
  json::array cols;
  for (std::string_view c : columns) cols.emplace_back(c);
  const std::size_t total = rows.size();
  json::array out;
  for (std::size_t i = 0; i < rows.size() && i < kMaxRows; ++i) out.push_back(std::move(rows[i]));
  tables.push_back(json::object{{"name", name},
                                {"title", title},
                                {"columns", std::move(cols)},
                                {"rows", std::move(out)},
                                {"total_rows", total},
                                {"truncated", total > kMaxRows}});
}

core::Result<std::vector<store::AuditRecord>> audit_in(const store::Stores& s, const Period& p, bool unauthorized) {
  store::AuditFilter f;
  f.from_ms = p.start_ms;
  f.to_ms = p.end_ms;
  f.unauthorized = unauthorized;
  f.limit = kMaxRead;
  auto r = s.audit->list_audit(f);
  if (!r) return std::move(r).error();
  std::reverse(r->begin(), r->end());  // oldest first
  return r;
}

core::Result<std::vector<store::Incident>> incidents_opened_in(const store::Stores& s, std::int64_t from,
                                                              std::int64_t to) {
  store::IncidentFilter f;
  f.opened_from_ms = from;
  f.opened_to_ms = to;
  f.limit = kMaxRead;
  auto r = s.incidents->list_incidents(f);
  if (!r) return std::move(r).error();
  std::reverse(r->begin(), r->end());
  return r;
}

core::Result<std::vector<store::Incident>> incidents_before(const store::Stores& s, std::int64_t to,
                                                           std::size_t limit) {
  store::IncidentFilter f;
  f.opened_to_ms = to;
  f.limit = limit;
  return s.incidents->list_incidents(f);
}

core::Result<incidents::Kpis> kpis_of(const store::Stores& s, const std::vector<store::Incident>& before,
                                      std::int64_t from, std::int64_t to, std::int64_t now_ms) {
  // The up time of each subject that failed, for the MTBF.
  const std::int64_t until = std::min(to, now_ms);
  std::map<std::string, std::int64_t> up;
  for (const store::Incident& i : before) {
    const std::string subject = incidents::timeline_subject(i);
    if (i.kind != store::IncidentKind::availability || i.opened_ms < from || i.opened_ms >= to ||
        up.contains(subject))
      continue;
    auto tl = s.timelines->read_timeline(subject, from, until);
    if (!tl) return std::move(tl).error();
    const auto t = availability::totals(*tl, from, until);
    up[subject] = t.up_ms + t.degraded_ms;
  }
  return incidents::kpis(before, from, to, up);
}

core::Result<availability::Totals> totals_of(const Context& c, const std::string& subject, std::int64_t from,
                                             std::int64_t to) {
  to = std::min(to, c.now_ms);
  auto tl = c.stores->timelines->read_timeline(subject, from, to);
  if (!tl) return std::move(tl).error();
  return availability::totals(*tl, from, to);
}

core::Result<std::map<std::string, std::string>> states_at(const store::Stores& s, std::int64_t end) {
  // Newest first, a page at a time back to `end`: the oldest change after
  // it says the state at it (its old value).
  std::map<std::string, std::string> out;
  std::set<std::string> seen;
  store::AuditFilter f;
  f.kind = "state";
  f.from_ms = end;
  f.limit = 10'000;
  for (;;) {
    auto page = s.audit->list_audit(f);
    if (!page) return std::move(page).error();
    std::size_t fresh = 0;
    for (const store::AuditRecord& r : *page) {
      if (!seen.insert(r.id).second) continue;
      ++fresh;
      boost::system::error_code ec;
      const json::value v = json::parse(r.old_value, ec);
      if (!ec && v.is_string()) out[r.ci_id] = std::string(v.get_string());
    }
    if (page->size() < f.limit || fresh == 0) return out;
    f.to_ms = page->back().time_ms + 1;  // entries at that instant again, the seen ones skipped
  }
}

IncidentTimeliness timeliness(const store::Incident& i, const Targets& targets, std::int64_t now_ms) {
  const auto t = targets.find(i.priority);
  const Target target = t == targets.end() ? Target{} : t->second;
  IncidentTimeliness out;
  if (i.acknowledged_ms > 0)
    out.acknowledge = i.acknowledged_ms - i.opened_ms <= target.acknowledge_ms ? Timeliness::within : Timeliness::late;
  else if (i.resolved_ms > 0 || now_ms - i.opened_ms > target.acknowledge_ms)
    out.acknowledge = Timeliness::late;  // resolved without acknowledgement, or the target passed
  if (i.resolved_ms > 0)
    out.resolve = i.resolved_ms - i.opened_ms <= target.resolve_ms ? Timeliness::within : Timeliness::late;
  else if (now_ms - i.opened_ms > target.resolve_ms)
    out.resolve = Timeliness::late;
  return out;
}

namespace {

// How many a tally holds under `key` (0 when none).
std::size_t count_of(const std::map<std::string, std::size_t>& tally, const char* key) {
  const auto it = tally.find(key);
  return it == tally.end() ? 0 : it->second;
}

}  // namespace

// --- 8.2.6 configuration management -----------------------------------------
core::Status configuration(const Context& c, const Period& p, Builder& b) {
  const store::Stores& s = *c.stores;
  b.sources = {"the CMDB: configuration items, with their states at the period's end read back through the audit "
               "trail",
               "the audit trail: every change to a CI in the period, with its origin",
               "incidents of kind unauthorised-change opened in the period",
               "the audit trail's hash chains, checked when the report was generated"};
  b.method = {
      "CIs are counted by type and state as they were at the period's end (for a running period, at "
      "generation): those first seen before it, in the state they had then, which is their state now with "
      "the state changes the audit trail recorded since undone.",
      "Recorded against observed: a CI whose agent stopped reporting is in state missing (no report for "
      "two heartbeat intervals) at the period's end; its last report (when before the end) and since when it "
      "was missing are listed.",
      "Changes are the audit entries of the period, by origin: agent (observed on the host), user (made "
      "by a person), api (made by an integration), collector (a CI gone missing or retired for want of "
      "reports).",
      "Components appeared: entries of kind created; retired: entries of kind state whose new value is "
      "retired.",
      "Unauthorised changes: changes observed by an agent outside every approved change window of the CI "
      "(docs/cmdb.md); their follow-up is the unauthorised-change incident of the CI.",
      "The audit trail is verified as surveyor audit verify does (docs/security.md)."};

  // The CIs as they were at the period's end (now, for a running period):
  // those that existed by then, each in the state it had, which is its
  // state now with the state changes recorded since undone.
  const std::int64_t end = std::min(p.end_ms, c.now_ms);
  auto state_at_end = states_at(s, end);
  if (!state_at_end) return std::move(state_at_end).error();
  std::map<std::string, std::map<std::string, std::size_t>> by_type;  // type -> state -> n
  std::vector<json::array> missing;
  std::size_t cis = 0;
  for (std::size_t offset = 0;; offset += 1000) {
    store::CiFilter f;
    f.limit = 1000;
    f.offset = offset;
    auto page = s.cmdb->list_cis(f);
    if (!page) return std::move(page).error();
    for (const store::Ci& ci : *page) {
      if (ci.first_seen_ms >= end) continue;
      ++cis;
      const auto held = state_at_end->find(ci.id);
      const std::string state = held != state_at_end->end() ? held->second : std::string(store::to_string(ci.state));
      ++by_type[ci.type][state];
      if (state != "missing") continue;
      // Since when: the latest state change to missing by the end.
      store::AuditFilter went;
      went.ci_id = ci.id;
      went.kind = "state";
      went.to_ms = end;
      went.limit = 1;
      auto last = s.audit->list_audit(went);
      if (!last) return std::move(last).error();
      missing.push_back(json::array{json::string(ci.id), json::string(ci.name), json::string(ci.type),
                                    ci.last_seen_ms < end ? opt_time(ci.last_seen_ms) : json::value(nullptr),
                                    last->empty() ? json::value(nullptr) : opt_time(last->front().time_ms)});
    }
    if (page->size() < 1000) break;
  }
  std::vector<json::array> type_rows;
  for (const auto& [type, states] : by_type) {
    const auto n = [&m = states](const char* key) { return count_of(m, key); };
    type_rows.push_back(json::array{json::string(type), n("active"), n("missing"), n("retired"),
                                    n("active") + n("missing") + n("retired")});
  }

  auto entries = audit_in(s, p, false);
  if (!entries) return std::move(entries).error();
  std::map<std::string, std::map<std::string, std::size_t>> by_kind;  // kind -> origin -> n
  std::map<std::string, std::size_t> by_origin;
  std::vector<json::array> lifecycle, unauthorized;
  std::size_t appeared = 0, retired = 0, flagged = 0, alerts = 0;
  for (const store::AuditRecord& r : *entries) {
    ++by_kind[r.kind][r.origin];
    ++by_origin[r.origin];
    const bool is_retired = r.kind == "state" && r.new_value == "\"retired\"";
    if (r.kind == "created" || is_retired) {
      (r.kind == "created" ? appeared : retired) += 1;
      lifecycle.push_back(json::array{json::string(core::format_rfc3339(r.time_ms)), json::string(r.ci_id),
                                      r.kind == "created" ? "appeared" : "retired", json::string(r.origin)});
    }
    if (r.unauthorized) {
      ++flagged;
      alerts += r.alert ? 1 : 0;
      unauthorized.push_back(json::array{json::string(core::format_rfc3339(r.time_ms)), json::string(r.ci_id),
                                         json::string(r.kind), json::string(r.key), json::string(r.old_value),
                                         json::string(r.new_value), r.alert});
    }
  }
  std::vector<json::array> kind_rows;
  for (const auto& [kind, origins] : by_kind) {
    const auto n = [&m = origins](const char* key) { return count_of(m, key); };
    std::size_t total = 0;
    for (const auto& entry : origins) total += entry.second;
    kind_rows.push_back(json::array{json::string(kind), n("agent"), n("user"), n("api"), n("collector"), total});
  }

  auto opened = incidents_opened_in(s, p.start_ms, p.end_ms);
  if (!opened) return std::move(opened).error();
  std::vector<json::array> follow_up;
  std::size_t followed = 0;
  for (const store::Incident& i : *opened) {
    if (i.kind != store::IncidentKind::unauthorised_change) continue;
    const bool done = i.state == store::IncidentState::resolved || i.state == store::IncidentState::closed;
    followed += done ? 1 : 0;
    follow_up.push_back(json::array{json::string(i.id), json::string(i.subject), i.priority,
                                    json::string(store::to_string(i.state)), opt_time(i.opened_ms),
                                    opt_time(i.acknowledged_ms), opt_time(i.resolved_ms)});
  }

  store::AuditChainCheck check;
  auto walked = s.audit->walk_audit("", [&check](const store::AuditRecord& r) -> core::Status {
    check.add(r);
    return {};
  });
  if (!walked) return walked;
  check.finish();

  b.figure("cis", "configuration items recorded", cis);
  b.figure("cis_not_reporting", "CIs whose agent stopped reporting (missing)", missing.size());
  b.figure("changes", "changes recorded in the period", entries->size());
  b.figure("changes_by_agents", "observed by agents", by_origin["agent"]);
  b.figure("changes_by_people", "made by people (origin user)", by_origin["user"]);
  b.figure("changes_by_integrations", "made by integrations (origin api)", by_origin["api"]);
  b.figure("changes_by_collector", "made by the collector (CIs gone missing or retired)", by_origin["collector"]);
  b.figure("appeared", "CIs and components that appeared", appeared);
  b.figure("retired", "CIs retired", retired);
  b.figure("unauthorized_changes", "changes outside every approved window", flagged);
  b.figure("unauthorized_alerts", "alerts raised for them (one per CI and key an hour)", alerts);
  b.figure("unauthorized_incidents", "unauthorised-change incidents opened", follow_up.size());
  b.figure("unauthorized_incidents_resolved", "of which resolved or closed", followed);
  b.figure("audit_trail_verified", "audit trail verified (hash chains intact)", !check.first_break);
  b.figure("audit_trail_first_break",
           "where the audit trail breaks",
           check.first_break ? json::value("CI " + check.first_break->ci_id + ", entry " +
                                           std::to_string(check.first_break->seq) + ": " + check.first_break->reason)
                             : json::value(nullptr));
  b.figure("audit_entries_chained", "audit entries in hash chains", check.entries);
  b.figure("audit_heads_digest", "digest of the chains' heads (a checkpoint)", json::string(store::audit_heads_digest(check.heads)));
  if (entries->size() == kMaxRead) b.figure("changes_truncated", "changes read only up to", kMaxRead);

  b.table("cis_by_type", "Configuration items by type and state", {"type", "active", "missing", "retired", "total"},
          std::move(type_rows));
  b.table("not_reporting", "CIs whose agent stopped reporting", {"ci", "name", "type", "last_seen", "missing_since"},
          std::move(missing));
  b.table("changes_by_kind", "Changes in the period by kind and origin",
          {"kind", "agent", "user", "api", "collector", "total"},
          std::move(kind_rows));
  b.table("appeared_retired", "CIs and components appeared and retired", {"time", "ci", "event", "origin"},
          std::move(lifecycle));
  b.table("unauthorized", "Unauthorised changes", {"time", "ci", "kind", "key", "old", "new", "alert"},
          std::move(unauthorized));
  b.table("follow_up", "Their follow-up: unauthorised-change incidents",
          {"incident", "ci", "priority", "state", "opened", "acknowledged", "resolved"}, std::move(follow_up));
  return {};
}

// --- 8.6.1 incident management ----------------------------------------------
core::Status incident_management(const Context& c, const Period& p, Builder& b) {
  const store::Stores& s = *c.stores;
  b.sources = {"incidents opened in the period, as recorded when the report was generated",
               "availability timelines of the subjects that failed (for the MTBF)"};
  b.method = {
      "Time to acknowledge: from opening to the first acknowledgement; time to resolve: from opening to "
      "resolution. An incident counts within target when it was acknowledged (resolved) no later than the "
      "target of its priority; one not yet acknowledged (resolved) counts as outside target once the target "
      "has passed, else as pending.",
      "Re-opened: incidents re-opened at least once after being resolved.",
      "MTTR and MTBF as in docs/incidents.md (MTTR from the latest opening to the condition clearing; MTBF: "
      "up time of the failed subjects divided by their availability failures)."};
  auto before = incidents_before(s, p.end_ms);
  if (!before) return std::move(before).error();
  auto k = kpis_of(s, *before, p.start_ms, p.end_ms, c.now_ms);
  if (!k) return std::move(k).error();
  std::vector<store::Incident> list;  // opened in the period, oldest first
  for (auto i = before->rbegin(); i != before->rend(); ++i)
    if (i->opened_ms >= p.start_ms) list.push_back(*i);

  struct Row {
    std::size_t opened = 0, acked = 0, ack_in = 0, ack_out = 0, resolved = 0, res_in = 0, res_out = 0;
    std::int64_t ack_sum = 0, res_sum = 0;
  };
  std::map<int, Row> rows;
  std::map<std::string, std::size_t> by_kind;
  std::vector<json::array> listing;
  std::size_t reopened = 0;
  for (const store::Incident& i : list) {
    Row& r = rows[i.priority];
    ++r.opened;
    ++by_kind[std::string(store::to_string(i.kind))];
    reopened += i.reopened > 0 ? 1 : 0;
    const IncidentTimeliness on_time = timeliness(i, c.targets, c.now_ms);
    if (i.acknowledged_ms > 0) {
      ++r.acked;
      r.ack_sum += i.acknowledged_ms - i.opened_ms;
    }
    if (on_time.acknowledge != Timeliness::pending) (on_time.acknowledge == Timeliness::within ? r.ack_in : r.ack_out) += 1;
    if (i.resolved_ms > 0) {
      ++r.resolved;
      r.res_sum += i.resolved_ms - i.opened_ms;
    }
    if (on_time.resolve != Timeliness::pending) (on_time.resolve == Timeliness::within ? r.res_in : r.res_out) += 1;
    listing.push_back(json::array{json::string(i.id), json::string(store::to_string(i.kind)), json::string(i.subject),
                                  i.priority, json::string(store::to_string(i.state)), opt_time(i.opened_ms),
                                  opt_time(i.acknowledged_ms), opt_time(i.resolved_ms), i.reopened});
  }
  std::vector<json::array> priority_rows;
  for (const auto& [prio, r] : rows) {
    const auto t = c.targets.find(prio);
    const Target target = t == c.targets.end() ? Target{} : t->second;
    auto mean = [](std::int64_t sum, std::size_t n) {
      return n == 0 ? json::value(nullptr) : json::value(seconds(sum) / static_cast<double>(n));
    };
    priority_rows.push_back(json::array{json::string("P" + std::to_string(prio)), r.opened, seconds(target.acknowledge_ms),
                                        r.acked, r.ack_in, r.ack_out, mean(r.ack_sum, r.acked),
                                        seconds(target.resolve_ms), r.resolved, r.res_in, r.res_out,
                                        mean(r.res_sum, r.resolved)});
  }
  std::vector<json::array> kind_rows;
  for (const auto& [kind, n] : by_kind) kind_rows.push_back(json::array{json::string(kind), n});

  auto opt_s = [](const std::optional<std::int64_t>& v) { return v ? json::value(seconds(*v)) : json::value(nullptr); };
  b.figure("opened", "incidents opened", k->opened);
  b.figure("resolved", "incidents resolved in the period", k->resolved);
  b.figure("reopened", "incidents re-opened", reopened);
  b.figure("availability_failures", "availability failures", k->failures);
  b.figure("mttr_seconds", "mean time to restore (s)", opt_s(k->mttr_ms));
  b.figure("mtbf_seconds", "mean time between failures (s)", opt_s(k->mtbf_ms));
  b.table("by_priority", "By priority, against targets",
          {"priority", "opened", "acknowledge_target_s", "acknowledged", "acknowledged_within", "acknowledged_late",
           "mean_to_acknowledge_s", "resolve_target_s", "resolved", "resolved_within", "resolved_late",
           "mean_to_resolve_s"},
          std::move(priority_rows));
  b.table("by_kind", "By kind", {"kind", "opened"}, std::move(kind_rows));
  b.table("incidents", "Incidents opened in the period",
          {"incident", "kind", "subject", "priority", "state", "opened", "acknowledged", "resolved", "reopened"},
          std::move(listing));
  return {};
}

// --- 8.7.1 service availability management ----------------------------------
core::Status availability_management(const Context& c, const Period& p, Builder& b) {
  const store::Stores& s = *c.stores;
  b.sources = {"availability timelines of services and hosts", "service definitions (docs/cmdb.md)",
               "the CMDB's hosts first seen before the period's end"};
  b.method = {
      "Availability = (up + degraded) / (up + degraded + down) over the period up to the report's "
      "generation: maintenance is excluded from the time that counts, and time with no knowledge (no "
      "agent, collector down) is unknown, shown apart and not counted (docs/incidents.md).",
      "A service's timeline comes from its groups and their redundancy (docs/cmdb.md); the SLA result "
      "within agreed service hours is the clause 8.3.3 report (docs/sla.md)."};
  auto row = [&](const std::string& subject, json::array head) -> core::Result<json::array> {
    auto t = totals_of(c, subject, p.start_ms, p.end_ms);
    if (!t) return std::move(t).error();
    head.push_back(percent(t->availability()));
    for (std::int64_t ms : {t->up_ms, t->degraded_ms, t->down_ms, t->maintenance_ms, t->unknown_ms}) head.push_back(seconds(ms));
    return head;
  };
  std::vector<json::array> services, hosts;
  std::size_t below = 0;
  for (const services::Service& svc : c.catalog ? c.catalog->list() : std::vector<services::Service>{}) {
    json::value target = svc.sla ? json::value(svc.sla->target_percent) : json::value(nullptr);
    auto r = row("service:" + svc.name, json::array{json::string(svc.name), json::string(svc.owner), target});
    if (!r) return std::move(r).error();
    const json::value& got = (*r)[3];
    if (svc.sla && got.is_double() && got.get_double() < svc.sla->target_percent) ++below;
    services.push_back(std::move(*r));
  }
  for (std::size_t offset = 0;; offset += 1000) {
    store::CiFilter f;
    f.type = "host";
    f.limit = 1000;
    f.offset = offset;
    auto page = s.cmdb->list_cis(f);
    if (!page) return std::move(page).error();
    for (const store::Ci& ci : *page) {
      if (ci.first_seen_ms >= std::min(p.end_ms, c.now_ms)) continue;  // not there yet
      auto r = row(ci.id, json::array{json::string(ci.id), json::string(ci.name)});
      if (!r) return std::move(r).error();
      hosts.push_back(std::move(*r));
    }
    if (page->size() < 1000) break;
  }
  b.figure("services", "services", services.size());
  b.figure("services_below_target", "services below their SLA target over the whole period", below);
  b.figure("hosts", "hosts", hosts.size());
  b.table("services", "Services",
          {"service", "owner", "sla_target_percent", "availability_percent", "up_s", "degraded_s", "down_s",
           "maintenance_s", "unknown_s"},
          std::move(services));
  b.table("hosts", "Hosts",
          {"ci", "name", "availability_percent", "up_s", "degraded_s", "down_s", "maintenance_s", "unknown_s"},
          std::move(hosts));
  return {};
}

}  // namespace detail

namespace {

using namespace detail;

std::string_view doc_anchor(std::string_view clause) {
  if (clause == "8.2.6") return "docs/iso20000.md#826-configuration-management";
  if (clause == "8.3.3") return "docs/iso20000.md#833-service-level-management";
  if (clause == "8.4.3") return "docs/iso20000.md#843-capacity-management";
  if (clause == "8.5.1") return "docs/iso20000.md#851-change-management";
  if (clause == "8.6.1") return "docs/iso20000.md#861-incident-management";
  if (clause == "8.7.1") return "docs/iso20000.md#871-service-availability-management";
  return "docs/iso20000.md#91-monitoring-measurement-analysis-and-evaluation";
}

core::Result<std::string> generate(const Context& c, const Clause& clause, const Period& p, bool frozen) {
  Builder b;
  core::Status st;
  if (clause.id == "8.2.6") st = configuration(c, p, b);
  else if (clause.id == "8.3.3") st = service_level(c, p, b);
  else if (clause.id == "8.4.3") st = capacity_plan(c, p, b);
  else if (clause.id == "8.5.1") st = change_management(c, p, b);
  else if (clause.id == "8.6.1") st = incident_management(c, p, b);
  else if (clause.id == "8.7.1") st = availability_management(c, p, b);
  else st = review(c, p, b);
  if (!st) return std::move(st).error();
  json::object doc{
      {"clause", clause.id},
      {"title", clause.title},
      {"standard", "ISO/IEC 20000-1:2018"},
      {"period", json::object{{"name", p.name},
                              {"start", core::format_rfc3339(p.start_ms)},
                              {"end", core::format_rfc3339(p.end_ms)},
                              {"time_zone", "UTC"},
                              {"closed", p.end_ms <= c.now_ms}}},
      {"generated", json::object{{"at", core::format_rfc3339(c.now_ms)},
                                 {"by", c.by},
                                 {"collector_version", SURVEYOR_VERSION},
                                 {"frozen", frozen}}},
      {"sources", std::move(b.sources)},
      {"method", std::move(b.method)},
      {"documentation", doc_anchor(clause.id)},
      {"figures", std::move(b.figures)},
      {"tables", std::move(b.tables)},
  };
  const std::string content = json::serialize(doc);
  doc["digest"] = core::sha256_hex(content);
  return json::serialize(doc);
}

std::optional<std::int64_t> day_start(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return std::nullopt;
  return core::parse_time(std::string(d) + "T00:00:00Z");
}

}  // namespace

std::span<const Clause> clauses() { return kClauses; }

std::optional<Clause> find_clause(std::string_view id) {
  for (const Clause& c : kClauses)
    if (c.id == id) return c;
  return std::nullopt;
}

std::optional<Period> parse_period(std::string_view name) {
  if (name.size() > 32) return std::nullopt;
  for (const char* kind : {"month", "week", "quarter"})
    if (auto p = sla::period_named(kind, name)) return Period{p->name, p->start_ms, p->end_ms};
  if (name.size() == 4 && std::all_of(name.begin(), name.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    int year = 0;
    std::from_chars(name.data(), name.data() + 4, year);
    auto first = sla::period_named("month", std::string(name) + "-01");
    auto next = sla::period_named("month", std::to_string(year + 1) + "-01");
    if (first && next) return Period{std::string(name), first->start_ms, next->start_ms};
    return std::nullopt;
  }
  if (const auto dots = name.find(".."); dots != std::string_view::npos) {
    auto from = day_start(name.substr(0, dots));
    auto to = day_start(name.substr(dots + 2));
    // At most three years (1,096 days): the reports walk the SLA periods and
    // records of the whole stretch at each request while it runs.
    if (!from || !to || *to < *from || *to - *from >= 1'096LL * 86'400'000) return std::nullopt;
    return Period{std::string(name), *from, *to + 86'400'000};
  }
  return std::nullopt;
}

Targets default_targets() {
  constexpr std::int64_t m = 60'000, h = 60 * m, d = 24 * h;
  return {{1, {15 * m, 4 * h}}, {2, {30 * m, 8 * h}}, {3, {4 * h, 3 * d}}, {4, {d, 10 * d}}, {5, {3 * d, 30 * d}}};
}

core::Result<Targets> parse_targets(std::string_view text) {
  Targets out = default_targets();
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view part = text.substr(start, comma - start);
    start = comma + 1;
    if (part.empty()) continue;
    auto bad = [&part] {
      return core::make_error(StoreErrc::invalid, "incident target '" + std::string(part) +
                                                      "': expected P1..P5=ACKNOWLEDGE/RESOLVE, such as P1=15m/4h");
    };
    const auto eq = part.find('='), slash = part.find('/');
    if (part.size() < 4 || part[0] != 'P' || eq != 2 || slash == std::string_view::npos || slash < eq) return bad();
    const int prio = part[1] - '0';
    if (prio < 1 || prio > 5) return bad();
    auto ack = core::parse_duration(part.substr(3, slash - 3));
    auto res = core::parse_duration(part.substr(slash + 1));
    if (!ack || !res || ack->count() <= 0 || res->count() <= 0) return bad();
    out[prio] = {ack->count(), res->count()};
  }
  return out;
}

core::Result<incidents::Kpis> period_kpis(const store::Stores& stores, std::int64_t from_ms, std::int64_t to_ms,
                                          std::int64_t now_ms) {
  auto list = incidents_before(stores, to_ms, 100'000);
  if (!list) return std::move(list).error();
  return kpis_of(stores, *list, from_ms, to_ms, now_ms);
}

core::Result<std::string> report(const Context& c, std::string_view clause_id, const Period& period) {
  const auto clause = find_clause(clause_id);
  if (!clause || !clause->available)
    return core::make_error(StoreErrc::not_found,
                            "no report of clause " + std::string(clause_id.substr(0, 32)) +
                                (clause ? " yet" : "") + " (reports: 8.2.6, 8.3.3, 8.4.3, 8.5.1, 8.6.1, 8.7.1, 9.1)");
  if (period.start_ms > c.now_ms)
    return core::make_error(StoreErrc::invalid, "period " + period.name + " has not begun");
  const bool closed = period.end_ms <= c.now_ms;
  if (!closed) return generate(c, *clause, period, false);
  auto held = c.stores->evidence->find_evidence(clause->id, period.name);
  if (!held) return std::move(held).error();
  if (*held) return (*held)->document;
  auto doc = generate(c, *clause, period, true);
  if (!doc) return doc;
  auto added = c.stores->evidence->add_evidence({std::string(clause->id), period.name, c.now_ms, *doc});
  if (!added) return std::move(added).error();
  if (*added) return doc;
  // Another collector froze it first: theirs is the report.
  held = c.stores->evidence->find_evidence(clause->id, period.name);
  if (!held) return std::move(held).error();
  if (!*held) return core::make_error(StoreErrc::unavailable, "frozen evidence vanished");
  return (*held)->document;
}

std::string digest_of(std::string_view document_json) {
  boost::system::error_code ec;
  json::value v = json::parse(document_json, ec);
  if (ec || !v.is_object()) return {};
  v.get_object().erase("digest");
  return core::sha256_hex(json::serialize(v));
}

}  // namespace surveyor::collector::evidence
