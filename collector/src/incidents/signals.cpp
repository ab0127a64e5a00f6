// SPDX-License-Identifier: Apache-2.0
// Incident signals from an evaluation step (docs/incidents.md).
#include "surveyor/collector/incidents/signals.hpp"

#include "surveyor/collector/sla/sla.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>

namespace surveyor::collector::incidents {

using store::Availability;
using store::IncidentKind;

namespace {

bool high_criticality(const std::string& c) { return c == "critical" || c == "high"; }

Availability state_of(const StepContext& c, const std::string& subject) {
  auto it = c.step->states.find(subject);
  return it == c.step->states.end() ? Availability::unknown : it->second;
}

std::string utc_time(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string heartbeat_key(const std::string& ci) {
  Signal s;
  s.subject = ci;
  s.rule = "heartbeat";
  return s.key();
}

}  // namespace

Weight weigh(const StepContext& c, const std::string& subject) {
  Weight w;
  std::size_t affected = 0;
  bool critical_down = false, any_down = false, sla_down = false;
  auto count = [&](const std::string& criticality, const std::optional<services::Sla>& sla, bool down) {
    ++affected;
    any_down |= down;
    critical_down |= down && high_criticality(criticality);
    sla_down |= down && sla.has_value();
  };
  if (subject.starts_with("service:") && c.catalog != nullptr)
    if (auto svc = c.catalog->find(subject.substr(8))) count(svc->criticality, svc->sla, true);
  // A check is in no dependency graph: the services naming it as a member,
  // as judged in this step.
  if (subject.starts_with("check:") && c.catalog != nullptr && c.stores != nullptr) {
    for (const services::Service& svc : c.catalog->list()) {
      const Availability now = state_of(c, "service:" + svc.name);
      if (now != Availability::down && now != Availability::degraded) continue;
      bool member = false;
      for (const services::Group& g : svc.groups)
        for (const std::string& m : g.members) {
          if (member || !m.starts_with("check:")) continue;
          auto check = availability::resolve_check(*c.stores->cmdb, m);
          member = check && *check && (*check)->subject() == subject;
        }
      if (member) count(svc.criticality, svc.sla, now == Availability::down);
    }
  }
  if (c.graph != nullptr) {
    const impact::ImpactResult r = impact::analyse(*c.graph, subject, [&](std::string_view ci) {
      auto it = c.step->states.find(std::string(ci));
      return it == c.step->states.end() || it->second == Availability::up || it->second == Availability::degraded;
    });
    for (const impact::ServiceImpact& s : r.services)
      if (s.verdict != impact::Verdict::unaffected) count(s.criticality, s.sla, s.verdict == impact::Verdict::down);
  }
  if (critical_down || affected >= 5) w.impact = 1;
  else if (affected > 0) w.impact = 2;
  if (sla_down) w.urgency = 1;
  else if (affected > 0 || state_of(c, subject) == Availability::down) w.urgency = 2;
  return w;
}

core::Result<std::vector<Signal>> gather(const StepContext& c) {
  std::vector<Signal> out;
  const store::Stores& st = *c.stores;
  const std::int64_t now = c.step->to_ms;

  // Names for the summaries.
  auto name_of = [&](const std::string& id) -> std::string {
    auto ci = st.cmdb->find_ci(id);
    return ci && *ci ? (*ci)->name : id;
  };
  // The CI a failing CI depends on that is down itself (its cause), if any.
  auto cause_of = [&](const std::string& ci) -> std::string {
    if (c.graph == nullptr) return {};
    auto n = c.graph->find(ci);
    if (!n) return {};
    for (std::uint32_t d : c.graph->dependencies(*n)) {
      const std::string& dep = c.graph->name(d);
      if (!c.graph->service(d) && state_of(c, dep) == Availability::down) return heartbeat_key(dep);
    }
    return {};
  };

  // Hosts, checks and services: down fires, up (or degraded) clears, other
  // states (unknown, maintenance) say nothing.
  // (After a gap nothing is known of them: no availability signals.)
  static const std::map<std::string, Availability> kNothing;
  const auto& states = c.step->gap ? kNothing : c.step->states;
  for (const auto& [subject, state] : states) {
    Signal s;
    s.kind = IncidentKind::availability;
    s.firing = state == Availability::down;
    if (!s.firing && state != Availability::up && state != Availability::degraded) continue;
    if (subject.starts_with("service:")) {
      s.subject = subject;
      s.rule = "service";
      s.summary = "service " + subject.substr(8) + " is down";
      if (s.firing && c.catalog != nullptr)
        if (auto svc = c.catalog->find(subject.substr(8))) {
          // Linked to the incident of a member that is down.
          for (const services::Group& g : svc->groups)
            for (const std::string& m : g.members) {
              if (!s.cause.empty()) break;
              std::string member = m;
              if (!m.starts_with("service:") && !m.starts_with("check:")) {
                auto ci = services::resolve_ci(*st.cmdb, m);
                if (!ci) return std::move(ci).error();
                if (!*ci) continue;
                member = (*ci)->id;
              }
              if (!m.starts_with("check:") && state_of(c, member) != Availability::down) continue;
              Signal parent;
              parent.subject = member;
              parent.rule = "heartbeat";
              if (member.starts_with("service:")) parent.rule = "service";
              if (m.starts_with("check:")) {
                auto check = availability::resolve_check(*st.cmdb, m);
                if (!check) return std::move(check).error();
                if (!*check || state_of(c, (*check)->subject()) != Availability::down) continue;
                parent.subject = (*check)->host_id;
                parent.rule = "check:" + (*check)->name;
              }
              s.cause = parent.key();
            }
        }
    } else if (subject.starts_with("check:")) {
      const auto slash = subject.find('/');
      if (slash == std::string::npos) continue;
      s.subject = subject.substr(6, slash - 6);
      s.rule = "check:" + subject.substr(slash + 1);
      if (s.firing) s.summary = "check " + subject.substr(slash + 1) + " on " + name_of(s.subject) + " is CRITICAL";
    } else {
      s.subject = subject;
      s.rule = "heartbeat";
      if (s.firing) {
        auto ci = st.cmdb->find_ci(subject);
        if (!ci) return std::move(ci).error();
        const std::string name = *ci ? (*ci)->name : subject;
        s.summary = "host " + name + " is down: no heartbeat since " +
                    (*ci ? utc_time((*ci)->last_seen_ms) : std::string("(unknown)"));
        s.cause = cause_of(subject);
      }
    }
    if (s.firing) {
      const Weight w = weigh(c, subject);
      s.impact = w.impact;
      s.urgency = w.urgency;
    }
    out.push_back(std::move(s));
  }

  // Capacity events: open ones fire; active incidents of events since over clear.
  store::EventFilter ef;
  ef.state = "open";
  ef.limit = 100'000;
  auto events = st.events->list_events(ef);
  if (!events) return std::move(events).error();
  std::set<std::string> firing_keys;
  for (const store::CapacityEvent& e : *events) {
    Signal s;
    s.kind = e.kind == "capacity-forecast" ? IncidentKind::capacity_forecast : IncidentKind::capacity;
    s.subject = e.ci_id;
    s.rule = e.rule + ":" + e.metric + store::labels_to_json(e.attributes);
    s.summary = e.summary;
    const Weight w = weigh(c, e.ci_id);
    s.impact = w.impact;
    // Capacity hurts later than an outage: urgency medium for a sustained
    // breach, low for a forecast.
    s.urgency = s.kind == IncidentKind::capacity ? 2 : 3;
    firing_keys.insert(s.key());
    out.push_back(std::move(s));
  }
  store::IncidentFilter active_filter;
  active_filter.states = {store::IncidentState::open, store::IncidentState::acknowledged};
  active_filter.limit = SIZE_MAX;
  auto active = st.incidents->list_incidents(active_filter);
  if (!active) return std::move(active).error();
  for (const store::Incident& i : *active) {
    if ((i.kind != IncidentKind::capacity && i.kind != IncidentKind::capacity_forecast) || firing_keys.contains(i.key))
      continue;
    Signal s;
    s.kind = i.kind;
    s.subject = i.subject;
    s.rule = i.rule;
    s.firing = false;
    out.push_back(std::move(s));
  }

  // SLAs: error-budget burn rates (SLA-risk, page or ticket) and a budget
  // spent (SLA-breach, one per period, closed out by a person).
  if (c.catalog != nullptr)
    for (const services::Service& svc : c.catalog->list()) {
      if (!svc.sla) continue;
      const auto period = sla::period_at(*svc.sla, now);
      if (!period) continue;
      const std::string subject = "service:" + svc.name;
      constexpr std::int64_t k3Days = 3LL * 86'400'000;
      auto timeline = st.timelines->read_timeline(subject, std::min(period->start_ms, now - k3Days), now);
      if (!timeline) return std::move(timeline).error();
      const int impact = high_criticality(svc.criticality) ? 1 : svc.criticality == "medium" ? 2 : 3;
      const sla::BurnRates b = sla::burn_rates(*svc.sla, *period, *timeline, now);
      Signal risk;
      risk.kind = IncidentKind::sla_risk;
      risk.subject = subject;
      risk.rule = "burn-rate";
      risk.firing = b.page || b.ticket;
      risk.impact = impact;
      risk.urgency = b.page ? 1 : 2;
      char text[320];
      std::snprintf(text, sizeof text,
                    "%s burns its error budget fast: %.1fx over 1 h, %.1fx over 5 min, %.1fx over 6 h, %.1fx over "
                    "30 min, %.1fx over 3 d (%s at %.1fx/%.1fx/%.1fx for a %s)",
                    svc.name.c_str(), b.r1h, b.r5m, b.r6h, b.r30m, b.r3d, b.page ? "page" : "ticket",
                    14.4 * b.scale, 6 * b.scale, 1 * b.scale, svc.sla->period.c_str());
      risk.summary = text;
      out.push_back(std::move(risk));
      // Spent: the downtime so far reaches what the whole period allows (its
      // service time less the maintenance so far), so no later up time can
      // bring the period back within its target.
      const sla::Report r = sla::evaluate(svc.name, *svc.sla, *period, *timeline, now);
      std::int64_t whole = 0;
      for (const sla::Window& w : sla::service_windows(*svc.sla, period->start_ms, period->end_ms))
        whole += w.end_ms - w.start_ms;
      const std::int64_t period_allowed =
          std::llround((100.0 - svc.sla->target_percent) * static_cast<double>(whole - r.maintenance_ms) / 100.0);
      if (r.downtime_ms > 0 && r.downtime_ms >= period_allowed) {
        Signal breach;
        breach.kind = IncidentKind::sla_breach;
        breach.subject = subject;
        breach.rule = period->name;
        breach.auto_resolve = false;
        // The same fact all period: once a person resolved or closed it, it stays so.
        breach.observed_ms = period->start_ms;
        breach.impact = impact;
        breach.urgency = 1;
        char figures[256];
        std::snprintf(figures, sizeof figures,
                      "%s has spent its error budget for %s: %.1f min down of %.1f min allowed in the period "
                      "(target %.3f %%)",
                      svc.name.c_str(), period->name.c_str(), r.downtime_ms / 60'000.0, period_allowed / 60'000.0,
                      r.target_percent);
        breach.summary = figures;
        out.push_back(std::move(breach));
      }
    }

  // Unauthorised changes seen in this step: one incident per CI, closed out
  // by a person.
  store::AuditFilter af;
  af.unauthorized = true;
  // A minute of overlap with the last step: a report applied while that
  // step read the trail is not missed (what was seen already changes nothing).
  af.from_ms = c.step->from_ms - 60'000;
  af.to_ms = now;
  af.limit = 1000;
  auto alerts = st.audit->list_audit(af);
  if (!alerts) return std::move(alerts).error();
  std::map<std::string, std::vector<const store::AuditRecord*>> by_ci;
  for (const store::AuditRecord& r : *alerts) by_ci[r.ci_id].push_back(&r);
  for (const auto& [ci, records] : by_ci) {
    Signal s;
    s.kind = IncidentKind::unauthorised_change;
    s.subject = ci;
    s.rule = "unapproved";
    s.auto_resolve = false;
    const store::AuditRecord& newest = *records.front();
    s.observed_ms = newest.time_ms;
    s.summary = name_of(ci) + ": " + std::to_string(records.size()) + " change(s) outside any approved change, e.g. " +
                newest.kind + " " + newest.key + " at " + utc_time(newest.time_ms);
    const Weight w = weigh(c, ci);
    s.impact = w.impact;
    s.urgency = 2;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace surveyor::collector::incidents
