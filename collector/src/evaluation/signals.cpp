// SPDX-License-Identifier: Apache-2.0
// Incident signals from an evaluation step, source by source
// (docs/incidents.md, "Kinds and what raises them").
#include "surveyor/collector/evaluation/signals.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <optional>
#include <set>

#include "surveyor/collector/sla/sla.hpp"

namespace surveyor::collector::evaluation {

using incidents::Signal;
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

// A CI's name for the summaries (its id when it cannot be read).
std::string name_of(const StepContext& c, const std::string& id) {
  auto ci = c.stores->cmdb->find_ci(id);
  return ci && *ci ? (*ci)->name : id;
}

std::string incident_key(const std::string& subject, const std::string& rule) {
  Signal s;
  s.subject = subject;
  s.rule = rule;
  return s.key();
}

// --- availability -------------------------------------------------------------

// The heartbeat incident of a CI the failing CI depends on that is down
// itself (its cause), if any.
std::string dependency_down(const StepContext& c, const std::string& ci) {
  if (c.graph == nullptr) return {};
  auto n = c.graph->find(ci);
  if (!n) return {};
  for (std::uint32_t d : c.graph->dependencies(*n)) {
    const std::string& dep = c.graph->name(d);
    if (!c.graph->service(d) && state_of(c, dep) == Availability::down) return incident_key(dep, "heartbeat");
  }
  return {};
}

// The incident key of a service member (a CI by name or id, "service:NAME"
// or "check:HOST/NAME") when it is down in the step; "" otherwise.
core::Result<std::string> member_down(const StepContext& c, const std::string& m) {
  store::CmdbStore& cmdb = *c.stores->cmdb;
  std::string member = m;
  if (!m.starts_with("service:") && !m.starts_with("check:")) {
    auto ci = services::resolve_ci(cmdb, m);
    if (!ci) return std::move(ci).error();
    if (!*ci) return std::string();
    member = (*ci)->id;
  }
  if (!m.starts_with("check:") && state_of(c, member) != Availability::down) return std::string();
  if (m.starts_with("check:")) {
    auto check = availability::resolve_check(cmdb, m);
    if (!check) return std::move(check).error();
    if (!*check || state_of(c, (*check)->subject()) != Availability::down) return std::string();
    return incident_key((*check)->host_id, "check:" + (*check)->name);
  }
  return incident_key(member, member.starts_with("service:") ? "service" : "heartbeat");
}

core::Result<std::optional<Signal>> service_signal(const StepContext& c, const std::string& subject, bool firing) {
  Signal s;
  s.subject = subject;
  s.rule = "service";
  s.summary = "service " + subject.substr(8) + " is down";
  if (!firing || c.catalog == nullptr) return std::optional<Signal>(std::move(s));
  auto svc = c.catalog->find(subject.substr(8));
  if (!svc) return std::optional<Signal>(std::move(s));
  // Linked to the incident of its first member that is down, group by group.
  for (const services::Group& g : svc->groups)
    for (const std::string& m : g.members) {
      auto cause = member_down(c, m);
      if (!cause) return std::move(cause).error();
      if (cause->empty()) continue;
      s.cause = std::move(*cause);
      return std::optional<Signal>(std::move(s));
    }
  return std::optional<Signal>(std::move(s));
}

// "check:CI/NAME"; nullopt for a subject not of that form.
std::optional<Signal> check_signal(const StepContext& c, const std::string& subject, bool firing) {
  const auto slash = subject.find('/');
  if (slash == std::string::npos) return std::nullopt;
  Signal s;
  s.subject = subject.substr(6, slash - 6);
  s.rule = "check:" + subject.substr(slash + 1);
  if (firing) s.summary = "check " + subject.substr(slash + 1) + " on " + name_of(c, s.subject) + " is CRITICAL";
  return s;
}

core::Result<Signal> host_signal(const StepContext& c, const std::string& subject, bool firing) {
  Signal s;
  s.subject = subject;
  s.rule = "heartbeat";
  if (!firing) return s;
  auto ci = c.stores->cmdb->find_ci(subject);
  if (!ci) return std::move(ci).error();
  const std::string name = *ci ? (*ci)->name : subject;
  s.summary = "host " + name + " is down: no heartbeat since " +
              (*ci ? utc_time((*ci)->last_seen_ms) : std::string("(unknown)"));
  s.cause = dependency_down(c, subject);
  return s;
}

// --- SLAs ---------------------------------------------------------------------

int criticality_impact(const services::Service& svc) {
  return high_criticality(svc.criticality) ? 1 : svc.criticality == "medium" ? 2 : 3;
}

// SLA-risk: firing while the burn rates page or ask for a ticket.
Signal burn_rate_signal(const services::Service& svc, const sla::Period& period,
                        const std::vector<store::StateInterval>& timeline, std::int64_t now) {
  const sla::BurnRates b = sla::burn_rates(*svc.sla, period, timeline, now);
  Signal risk;
  risk.kind = IncidentKind::sla_risk;
  risk.subject = "service:" + svc.name;
  risk.rule = "burn-rate";
  risk.firing = b.page || b.ticket;
  risk.impact = criticality_impact(svc);
  risk.urgency = b.page ? 1 : 2;
  char text[320];
  std::snprintf(text, sizeof text,
                "%s burns its error budget fast: %.1fx over 1 h, %.1fx over 5 min, %.1fx over 6 h, %.1fx over "
                "30 min, %.1fx over 3 d (%s at %.1fx/%.1fx/%.1fx for a %s)",
                svc.name.c_str(), b.r1h, b.r5m, b.r6h, b.r30m, b.r3d, b.page ? "page" : "ticket", 14.4 * b.scale,
                6 * b.scale, 1 * b.scale, svc.sla->period.c_str());
  risk.summary = text;
  return risk;
}

// SLA-breach: the downtime so far reaches what the whole period allows (its
// service time less the maintenance so far), so no later up time can bring
// the period back within its target.
std::optional<Signal> breach_signal(const services::Service& svc, const sla::Period& period,
                                    const std::vector<store::StateInterval>& timeline, std::int64_t now) {
  const sla::Report r = sla::evaluate(svc.name, *svc.sla, period, timeline, now);
  std::int64_t whole = 0;
  for (const sla::Window& w : sla::service_windows(*svc.sla, period.start_ms, period.end_ms))
    whole += w.end_ms - w.start_ms;
  const std::int64_t period_allowed =
      std::llround((100.0 - svc.sla->target_percent) * static_cast<double>(whole - r.maintenance_ms) / 100.0);
  if (r.downtime_ms <= 0 || r.downtime_ms < period_allowed) return std::nullopt;
  Signal breach;
  breach.kind = IncidentKind::sla_breach;
  breach.subject = "service:" + svc.name;
  breach.rule = period.name;
  breach.auto_resolve = false;
  // The same fact all period: once a person resolved or closed it, it stays so.
  breach.observed_ms = period.start_ms;
  breach.impact = criticality_impact(svc);
  breach.urgency = 1;
  char figures[256];
  std::snprintf(figures, sizeof figures,
                "%s has spent its error budget for %s: %.1f min down of %.1f min allowed in the period "
                "(target %.3f %%)",
                svc.name.c_str(), period.name.c_str(), r.downtime_ms / 60'000.0, period_allowed / 60'000.0,
                r.target_percent);
  breach.summary = figures;
  return breach;
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

core::Result<Signals> availability_signals(const StepContext& c) {
  Signals out;
  // After a gap nothing is known of the hosts, checks and services.
  if (c.step->gap) return out;
  for (const auto& [subject, state] : c.step->states) {
    const bool firing = state == Availability::down;
    if (!firing && state != Availability::up && state != Availability::degraded) continue;
    std::optional<Signal> s;
    if (subject.starts_with("service:")) {
      auto svc = service_signal(c, subject, firing);
      if (!svc) return std::move(svc).error();
      s = std::move(*svc);
    } else if (subject.starts_with("check:")) {
      s = check_signal(c, subject, firing);
    } else {
      auto host = host_signal(c, subject, firing);
      if (!host) return std::move(host).error();
      s = std::move(*host);
    }
    if (!s) continue;
    s->firing = firing;
    if (firing) {
      const Weight w = weigh(c, subject);
      s->impact = w.impact;
      s->urgency = w.urgency;
    }
    out.push_back(std::move(*s));
  }
  return out;
}

core::Result<Signals> capacity_signals(const StepContext& c) {
  Signals out;
  store::EventFilter ef;
  ef.state = "open";
  ef.limit = 100'000;
  auto events = c.stores->events->list_events(ef);
  if (!events) return std::move(events).error();
  std::set<std::string> firing_keys;
  for (const store::CapacityEvent& e : *events) {
    Signal s;
    s.kind = e.kind == "capacity-forecast" ? IncidentKind::capacity_forecast : IncidentKind::capacity;
    s.subject = e.ci_id;
    s.rule = e.rule + ":" + e.metric + store::labels_to_json(e.attributes);
    s.summary = e.summary;
    s.impact = weigh(c, e.ci_id).impact;
    // Capacity hurts later than an outage: urgency medium for a sustained
    // breach, low for a forecast.
    s.urgency = s.kind == IncidentKind::capacity ? 2 : 3;
    firing_keys.insert(s.key());
    out.push_back(std::move(s));
  }
  store::IncidentFilter active_filter;
  active_filter.states = {store::IncidentState::open, store::IncidentState::acknowledged};
  active_filter.limit = SIZE_MAX;
  auto active = c.stores->incidents->list_incidents(active_filter);
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
  return out;
}

core::Result<Signals> sla_signals(const StepContext& c) {
  Signals out;
  if (c.catalog == nullptr) return out;
  const std::int64_t now = c.step->to_ms;
  for (const services::Service& svc : c.catalog->list()) {
    if (!svc.sla) continue;
    const auto period = sla::period_at(*svc.sla, now);
    if (!period) continue;
    // The burn rates look back three days, maybe into the previous period.
    constexpr std::int64_t k3Days = 3LL * 86'400'000;
    auto timeline =
        c.stores->timelines->read_timeline("service:" + svc.name, std::min(period->start_ms, now - k3Days), now);
    if (!timeline) return std::move(timeline).error();
    out.push_back(burn_rate_signal(svc, *period, *timeline, now));
    if (auto breach = breach_signal(svc, *period, *timeline, now)) out.push_back(std::move(*breach));
  }
  return out;
}

core::Result<Signals> change_signals(const StepContext& c) {
  Signals out;
  store::AuditFilter af;
  af.unauthorized = true;
  // A minute of overlap with the last step: a report applied while that
  // step read the trail is not missed (what was seen already changes nothing).
  af.from_ms = c.step->from_ms - 60'000;
  af.to_ms = c.step->to_ms;
  af.limit = 1000;
  auto alerts = c.stores->audit->list_audit(af);
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
    s.summary = name_of(c, ci) + ": " + std::to_string(records.size()) +
                " change(s) outside any approved change, e.g. " + newest.kind + " " + newest.key + " at " +
                utc_time(newest.time_ms);
    s.impact = weigh(c, ci).impact;
    s.urgency = 2;
    out.push_back(std::move(s));
  }
  return out;
}

core::Result<Signals> gather(const StepContext& c) {
  Signals out;
  for (auto source : {availability_signals, capacity_signals, sla_signals, change_signals}) {
    auto found = source(c);
    if (!found) return std::move(found).error();
    out.insert(out.end(), std::make_move_iterator(found->begin()), std::make_move_iterator(found->end()));
  }
  return out;
}

}  // namespace surveyor::collector::evaluation
