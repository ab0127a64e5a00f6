// SPDX-License-Identifier: Apache-2.0
// Incidents (docs/incidents.md): what the evaluation finds becomes signals,
// a signal keyed by kind, subject and rule opens, updates, recovers or
// re-opens the one active incident of its key; a recovered incident
// resolves after the hold-down; people acknowledge, resolve, close and
// comment. Every change goes on the incident's timeline with who and when.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::incidents {

// Priority (1 critical .. 5 planning) from impact and urgency (1 high, 2
// medium, 3 low): p[impact-1][urgency-1]. The default is ITIL's usual matrix.
struct Matrix {
  std::array<std::array<int, 3>, 3> p{{{1, 2, 3}, {2, 3, 4}, {3, 4, 5}}};
  [[nodiscard]] int priority(int impact, int urgency) const;
  // Three rows (impact high, medium, low) of three priorities (urgency
  // high, medium, low), e.g. {"1 2 3", "2 3 4", "3 4 5"}.
  static core::Result<Matrix> parse(const std::vector<std::string>& rows);
};

struct Options {
  // An incident whose condition cleared resolves once it stayed clear this
  // long (a relapse within it just carries on the incident).
  std::int64_t hold_down_ms = 300'000;
  // A condition that returns within this time after its incident resolved
  // re-opens that incident instead of opening a new one.
  std::int64_t reopen_window_ms = 3'600'000;
  Matrix matrix;
};

// What an evaluation found about one condition: it holds (firing) or it is
// known to be clear. Conditions neither known to hold nor to be clear (a host
// whose state is unknown) give no signal: their incidents stay as they are.
struct Signal {
  store::IncidentKind kind = store::IncidentKind::availability;
  std::string subject;  // CI id or "service:NAME"
  std::string rule;
  std::string summary;
  bool firing = true;
  int impact = 3, urgency = 3;
  // The key of the incident this one fails because of (topology-aware
  // suppression): the incident is linked to it and not notified alone.
  std::string cause;
  // False for what only a person can close out (unauthorised changes, SLA
  // breaches): such an incident does not resolve when the signal clears.
  bool auto_resolve = true;
  // When the evidence was seen (0: now). A resolved incident is re-opened
  // only by evidence newer than its resolution.
  std::int64_t observed_ms = 0;

  // "KIND:SUBJECT:RULE", the dedup key.
  [[nodiscard]] std::string key() const;
};

// A change worth a notification: opened, reopened, escalated (priority
// raised) or resolved.
struct Notice {
  std::string event;
  store::Incident incident;
};

// Appends an entry to the incident's timeline and sets updated_ms. A full
// timeline (500 entries) keeps its first entry and its newest ones: the 100
// oldest after the first give way to one "elided" entry counting them.
void add_to_timeline(store::Incident& i, std::int64_t now_ms, std::string_view by, std::string action,
                     std::string text = {});

// Applies the signals of one evaluation at now_ms, each through transition()
// (transition.hpp) inside one atomic update of its key; signals with a cause
// come after the ones they name, so a parent opened in the same step is linked.
core::Result<std::vector<Notice>> apply(store::IncidentStore& st, std::vector<Signal> signals, std::int64_t now_ms,
                                        const Options& o);
// Resolves the active incidents whose condition has been clear for the
// hold-down (hold_down(), transition.hpp).
core::Result<std::vector<Notice>> resolve_recovered(store::IncidentStore& st, std::int64_t now_ms, const Options& o);
// The same, adding to `notices` as they are written: on a failure, what was
// written before it is there to be sent all the same.
core::Status apply_into(store::IncidentStore& st, std::vector<Signal> signals, std::int64_t now_ms, const Options& o,
                        std::vector<Notice>& notices);
core::Status resolve_recovered_into(store::IncidentStore& st, std::int64_t now_ms, const Options& o,
                                    std::vector<Notice>& notices);

// What a person may do: acknowledge, resolve, close, reopen, comment.
// `conflict` for an action the state does not allow (closing an open
// incident, acknowledging a resolved one), `invalid` for an unknown action.
core::Result<store::Incident> act(store::IncidentStore& st, std::string_view id, std::string_view action,
                                  std::string_view by, std::string_view text, std::int64_t now_ms);

// Incident KPIs over [from, to) (docs/incidents.md).
struct Kpis {
  std::int64_t from_ms = 0, to_ms = 0;
  std::size_t opened = 0, resolved = 0;
  std::map<std::string, std::size_t> by_kind;      // opened in the period
  std::map<int, std::size_t> by_priority;          // opened in the period
  // Mean time to restore, of those resolved: latest opening -> condition clear (or resolved).
  std::optional<std::int64_t> mttr_ms;
  std::optional<std::int64_t> mtbf_ms;  // mean time between availability failures, per subject
  std::size_t failures = 0;             // availability incidents opened (the MTBF's denominator)
};
// The availability timeline an incident is about: its subject's, or for a
// check ("check:NAME" rule) the check's, "check:CI/NAME".
[[nodiscard]] std::string timeline_subject(const store::Incident& i);

// From the incidents opened or resolved in the period, and the up time of
// the timelines that failed (timeline_subject -> up ms within the period).
// Failures are the availability incidents not linked to another.
[[nodiscard]] Kpis kpis(const std::vector<store::Incident>& incidents, std::int64_t from_ms, std::int64_t to_ms,
                        const std::map<std::string, std::int64_t>& up_ms);

}  // namespace surveyor::collector::incidents
