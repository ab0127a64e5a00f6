// SPDX-License-Identifier: Apache-2.0
// The evaluation's side of the incident lifecycle (docs/incidents.md,
// "Lifecycle"): what one signal, or the hold-down, does to an incident.
#include "surveyor/collector/incidents/transition.hpp"

#include <algorithm>

namespace surveyor::collector::incidents {

using store::Incident;
using store::IncidentState;

namespace {

constexpr const char* kSystem = "surveyor";

std::string p_name(int p) { return "P" + std::to_string(p); }

// A clear signal: an active incident that can clear is marked recovered
// (it resolves after the hold-down unless the condition returns).
Transition recover(const std::optional<Incident>& current, const Signal& s, std::int64_t now, const Options& o) {
  if (!current || !store::is_active(current->state) || !s.auto_resolve || current->recovered_ms != 0) return {};
  Incident i = *current;
  i.recovered_ms = now;
  add_to_timeline(i, now, kSystem, "recovered",
                  "condition clear; resolves after " + std::to_string(o.hold_down_ms / 1000) + " s without relapse");
  return {std::move(i), ""};
}

// A firing signal on an active incident: relapse, priority, link and summary.
Transition update_active(const Incident& current, const Signal& s, const std::string& parent, std::int64_t now,
                         const Options& o) {
  Transition t;
  Incident i = current;
  const int priority = o.matrix.priority(s.impact, s.urgency);
  bool touched = false;
  if (i.recovered_ms != 0) {
    i.recovered_ms = 0;
    add_to_timeline(i, now, kSystem, "relapsed", s.summary);
    touched = true;
  }
  if (i.priority != priority) {
    add_to_timeline(i, now, kSystem, "priority", p_name(i.priority) + " -> " + p_name(priority));
    if (priority < i.priority) t.notice = "escalated";
    i.priority = priority;
    touched = true;
  }
  i.impact = s.impact;
  i.urgency = s.urgency;
  if (i.parent != parent) {
    // Unlinked: what it failed because of is over, yet it still fails: now
    // it is news of its own.
    add_to_timeline(i, now, kSystem, parent.empty() ? "unlinked" : "linked", parent.empty() ? i.parent : parent);
    if (parent.empty()) t.notice = "unlinked";
    i.parent = parent;
    touched = true;
  }
  if (i.summary != s.summary) {
    i.summary = s.summary;
    touched = true;
  }
  if (!touched) return {};
  i.updated_ms = now;
  t.next = std::move(i);
  return t;
}

// A firing signal whose key has no active incident: the resolved one
// re-opens within the window, else a new one opens.
Transition open_or_reopen(const std::optional<Incident>& current, const Signal& s, const std::string& parent,
                          std::int64_t now, const Options& o) {
  // Evidence from before a person resolved or closed it does not bring it
  // back (nor open another).
  if (current && s.observed_ms > 0 && s.observed_ms <= std::max(current->resolved_ms, current->closed_ms)) return {};
  const int priority = o.matrix.priority(s.impact, s.urgency);
  if (current && current->state == IncidentState::resolved && current->resolved_ms > 0 &&
      now - current->resolved_ms <= o.reopen_window_ms) {
    Incident i = *current;
    i.state = IncidentState::open;
    i.resolved_ms = 0;
    i.recovered_ms = 0;
    i.acknowledged_ms = 0;
    ++i.reopened;
    i.summary = s.summary;
    i.impact = s.impact;
    i.urgency = s.urgency;
    i.priority = priority;
    i.parent = parent;
    add_to_timeline(i, now, kSystem, "reopened", s.summary);
    if (!parent.empty()) add_to_timeline(i, now, kSystem, "linked", parent);
    return {std::move(i), "reopened"};
  }
  Incident i;
  i.kind = s.kind;
  i.key = s.key();
  i.subject = s.subject;
  i.rule = s.rule;
  i.summary = s.summary;
  i.impact = s.impact;
  i.urgency = s.urgency;
  i.priority = priority;
  i.opened_ms = now;
  i.parent = parent;
  add_to_timeline(i, now, kSystem, "opened", s.summary + " (" + p_name(priority) + ")");
  if (!parent.empty()) add_to_timeline(i, now, kSystem, "linked", parent);
  return {std::move(i), "opened"};
}

}  // namespace

Transition transition(const std::optional<Incident>& current, const Signal& s, const std::string& parent,
                      std::int64_t now, const Options& o) {
  if (!s.firing) return recover(current, s, now, o);
  if (current && store::is_active(current->state)) return update_active(*current, s, parent, now, o);
  return open_or_reopen(current, s, parent, now, o);
}

Transition hold_down(const std::optional<Incident>& current, std::int64_t now, const Options& o) {
  if (!current || !store::is_active(current->state) || current->recovered_ms == 0 ||
      now - current->recovered_ms < o.hold_down_ms)
    return {};
  Incident i = *current;
  i.state = IncidentState::resolved;
  i.resolved_ms = now;
  add_to_timeline(i, now, kSystem, "resolved",
                  "condition clear since " + std::to_string((now - i.recovered_ms) / 1000) + " s (hold-down)");
  return {std::move(i), "resolved"};
}

}  // namespace surveyor::collector::incidents
