// SPDX-License-Identifier: Apache-2.0
// The incident transitions of docs/incidents.md ("Lifecycle", "Linked
// incidents", "The timeline") as one table: each row the incident the store
// holds for a condition (or none), what the step brings (a signal, or the
// hold-down at its end), and the incident and notice that follow. No store:
// the transitions are pure functions.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "surveyor/collector/incidents/transition.hpp"

namespace surveyor::collector::incidents {
namespace {

using store::Incident;
using store::IncidentKind;
using store::IncidentState;

constexpr std::int64_t kS = 1000, kMin = 60 * kS, kHour = 60 * kMin;
constexpr std::int64_t kT0 = 1'795'000'000'000;  // when the held incident opened
constexpr std::int64_t kNow = kT0 + 3 * kHour;   // the step
// The defaults: hold-down 5 min, re-open window 1 h, ITIL's matrix.
const Options kOptions;

// Host h1 is down: impact and urgency medium, P3.
Signal firing(int impact = 2, int urgency = 2) {
  Signal s;
  s.subject = "h1";
  s.rule = "heartbeat";
  s.summary = "h1 is down";
  s.impact = impact;
  s.urgency = urgency;
  return s;
}

Signal clear(Signal s = firing()) {
  s.firing = false;
  s.summary.clear();
  return s;
}

Signal summarised(std::string summary) {
  Signal s = firing();
  s.summary = std::move(summary);
  return s;
}

// An unauthorised change on h1 recorded at `observed`: a person closes it out.
Signal change_seen(std::int64_t observed) {
  Signal s = firing();
  s.kind = IncidentKind::unauthorised_change;
  s.rule = "unapproved";
  s.summary = "h1: 1 change(s) outside any approved change";
  s.auto_resolve = false;
  s.observed_ms = observed;
  return s;
}

// The incident of `s` as the store holds it: INC-7, opened at kT0, P3.
Incident held(const Signal& s = firing()) {
  Incident i;
  i.id = "INC-7";
  i.kind = s.kind;
  i.key = s.key();
  i.subject = s.subject;
  i.rule = s.rule;
  i.summary = s.summary;
  i.impact = 2;
  i.urgency = 2;
  i.priority = 3;
  i.opened_ms = kT0;
  i.updated_ms = kT0;
  i.timeline = {{kT0, "surveyor", "opened", s.summary + " (P3)"}};
  return i;
}

Incident acknowledged(Incident i) {
  i.state = IncidentState::acknowledged;
  i.acknowledged_ms = kT0 + kMin;
  i.timeline.push_back({i.acknowledged_ms, "alice", "acknowledged", ""});
  return i;
}

Incident recovered(Incident i, std::int64_t at) {
  i.recovered_ms = at;
  i.timeline.push_back({at, "surveyor", "recovered", "condition clear; resolves after 300 s without relapse"});
  return i;
}

Incident resolved(Incident i, std::int64_t at, const char* by = "alice") {
  i.state = IncidentState::resolved;
  i.resolved_ms = at;
  i.timeline.push_back({at, by, "resolved", ""});
  return i;
}

Incident closed(Incident i, std::int64_t at) {
  i.state = IncidentState::closed;
  i.closed_ms = at;
  i.timeline.push_back({at, "alice", "closed", ""});
  return i;
}

Incident linked(Incident i, std::string parent) {
  i.parent = std::move(parent);
  return i;
}

struct Row {
  std::string name;
  std::optional<Incident> current;  // the newest incident of the key, if any
  std::optional<Signal> signal;     // none: the hold-down at the end of the step
  std::string parent;               // the active incident the signal's cause names
  // What follows. No write at all, or the incident to write:
  bool writes = false;
  std::string notice;
  IncidentState state = IncidentState::open;
  bool same_incident = true;        // false: a new incident, numbered by the store
  std::vector<std::string> added;   // timeline actions appended, by surveyor, at kNow
  std::string text;                 // the text of the last one ("": none added)
  int priority = 3;
  std::string parent_after;
  std::int64_t acknowledged_ms = 0, recovered_ms = 0, resolved_ms = 0;
  int reopened = 0;
};

// What a signal does to the newest incident of its key.
std::vector<Row> on_a_signal() {
  const Incident open = held();
  const Incident acked = acknowledged(held());
  const std::int64_t ack_ms = kT0 + kMin;
  return {
      // Opened.
      {.name = "no incident, firing: opened", .signal = firing(), .writes = true, .notice = "opened",
       .same_incident = false, .added = {"opened"}, .text = "h1 is down (P3)"},
      {.name = "no incident, firing with its cause active: opened and linked", .signal = firing(1, 1),
       .parent = "INC-1", .writes = true, .notice = "opened", .same_incident = false,
       .added = {"opened", "linked"}, .text = "INC-1", .priority = 1, .parent_after = "INC-1"},
      {.name = "no incident, clear: nothing", .signal = clear()},
      // Active: the same condition, recovered, relapse.
      {.name = "open, the same firing: nothing", .current = open, .signal = firing()},
      {.name = "open, clear: recovered, still open", .current = open, .signal = clear(), .writes = true,
       .added = {"recovered"}, .text = "condition clear; resolves after 300 s without relapse",
       .recovered_ms = kNow},
      {.name = "acknowledged, clear: recovered, still acknowledged", .current = acked, .signal = clear(),
       .writes = true, .state = IncidentState::acknowledged, .added = {"recovered"},
       .text = "condition clear; resolves after 300 s without relapse", .acknowledged_ms = ack_ms,
       .recovered_ms = kNow},
      {.name = "recovered, clear again: nothing", .current = recovered(open, kNow - kMin), .signal = clear()},
      {.name = "recovered, firing within the hold-down: relapsed", .current = recovered(open, kNow - 2 * kMin),
       .signal = firing(), .writes = true, .added = {"relapsed"}, .text = "h1 is down"},
      {.name = "acknowledged and recovered, firing: relapsed, still acknowledged",
       .current = recovered(acked, kNow - 2 * kMin), .signal = firing(), .writes = true,
       .state = IncidentState::acknowledged, .added = {"relapsed"}, .text = "h1 is down",
       .acknowledged_ms = ack_ms},
      // Active: priority, summary.
      {.name = "open, priority rises: escalated", .current = open, .signal = firing(1, 1), .writes = true,
       .notice = "escalated", .added = {"priority"}, .text = "P3 -> P1", .priority = 1},
      {.name = "open, priority falls: on the timeline, no notice", .current = open, .signal = firing(3, 3),
       .writes = true, .added = {"priority"}, .text = "P3 -> P5", .priority = 5},
      {.name = "acknowledged, priority rises: escalated, still acknowledged", .current = acked,
       .signal = firing(1, 2), .writes = true, .notice = "escalated", .state = IncidentState::acknowledged,
       .added = {"priority"}, .text = "P3 -> P2", .priority = 2, .acknowledged_ms = ack_ms},
      {.name = "open, a new summary: replaced without a timeline entry", .current = open,
       .signal = summarised("h1 is down: no heartbeat since 14:00"), .writes = true},
      // Active: linked and unlinked.
      {.name = "open, its cause active: linked, no notice", .current = open, .signal = firing(), .parent = "INC-1",
       .writes = true, .added = {"linked"}, .text = "INC-1", .parent_after = "INC-1"},
      {.name = "linked, the same cause: nothing", .current = linked(open, "INC-1"), .signal = firing(),
       .parent = "INC-1"},
      {.name = "linked, its cause over: unlinked", .current = linked(open, "INC-1"), .signal = firing(),
       .writes = true, .notice = "unlinked", .added = {"unlinked"}, .text = "INC-1"},
      {.name = "linked, another cause: linked to that", .current = linked(open, "INC-1"), .signal = firing(),
       .parent = "INC-2", .writes = true, .added = {"linked"}, .text = "INC-2", .parent_after = "INC-2"},
      {.name = "linked, escalated and its cause over: unlinked wins", .current = linked(open, "INC-1"),
       .signal = firing(1, 1), .writes = true, .notice = "unlinked", .added = {"priority", "unlinked"},
       .text = "INC-1", .priority = 1},
      // Resolved: the re-open window.
      {.name = "resolved by the hold-down 30 min ago, firing: reopened",
       .current = resolved(recovered(open, kNow - 35 * kMin), kNow - 30 * kMin, "surveyor"), .signal = firing(),
       .writes = true, .notice = "reopened", .added = {"reopened"}, .text = "h1 is down", .reopened = 1},
      {.name = "resolved exactly the re-open window ago, firing: reopened",
       .current = resolved(open, kNow - kHour), .signal = firing(), .writes = true, .notice = "reopened",
       .added = {"reopened"}, .text = "h1 is down", .reopened = 1},
      {.name = "acknowledged then resolved, firing: reopened, the acknowledgement cleared",
       .current = resolved(acked, kNow - 10 * kMin), .signal = firing(1, 1), .writes = true,
       .notice = "reopened", .added = {"reopened"}, .text = "h1 is down", .priority = 1, .reopened = 1},
      {.name = "resolved, firing with its cause active: reopened and linked",
       .current = resolved(open, kNow - 10 * kMin), .signal = firing(), .parent = "INC-1", .writes = true,
       .notice = "reopened", .added = {"reopened", "linked"}, .text = "INC-1", .parent_after = "INC-1",
       .reopened = 1},
      {.name = "resolved longer than the window ago, firing: a new incident",
       .current = resolved(open, kNow - kHour - 1), .signal = firing(), .writes = true, .notice = "opened",
       .same_incident = false, .added = {"opened"}, .text = "h1 is down (P3)"},
      {.name = "resolved, clear: nothing", .current = resolved(open, kNow - 10 * kMin), .signal = clear()},
      {.name = "closed, firing: a new incident", .current = closed(resolved(open, kNow - 20 * kMin), kNow - 10 * kMin),
       .signal = firing(), .writes = true, .notice = "opened", .same_incident = false, .added = {"opened"},
       .text = "h1 is down (P3)"},
      // What only a person closes out, and evidence older than their word.
      {.name = "waiting for a person, clear: nothing", .current = held(change_seen(kT0)),
       .signal = clear(change_seen(kT0))},
      {.name = "resolved by a person, older evidence: stays resolved",
       .current = resolved(held(change_seen(kT0)), kNow - 30 * kMin), .signal = change_seen(kNow - 31 * kMin)},
      {.name = "resolved by a person, evidence of that moment: stays resolved",
       .current = resolved(held(change_seen(kT0)), kNow - 30 * kMin), .signal = change_seen(kNow - 30 * kMin)},
      {.name = "resolved by a person, newer evidence: reopened",
       .current = resolved(held(change_seen(kT0)), kNow - 30 * kMin), .signal = change_seen(kNow - kMin),
       .writes = true, .notice = "reopened", .added = {"reopened"},
       .text = "h1: 1 change(s) outside any approved change", .reopened = 1},
      {.name = "closed by a person, older evidence: stays closed",
       .current = closed(resolved(held(change_seen(kT0)), kNow - 30 * kMin), kNow - 20 * kMin),
       .signal = change_seen(kNow - 25 * kMin)},
      {.name = "closed by a person, newer evidence: a new incident",
       .current = closed(resolved(held(change_seen(kT0)), kNow - 30 * kMin), kNow - 20 * kMin),
       .signal = change_seen(kNow - kMin), .writes = true, .notice = "opened", .same_incident = false,
       .added = {"opened"}, .text = "h1: 1 change(s) outside any approved change (P3)"},
  };
}

// What the hold-down at the end of a step does to an incident.
std::vector<Row> at_the_hold_down() {
  const Incident open = held();
  const Incident acked = acknowledged(held());
  return {
      {.name = "hold-down: no incident, nothing"},
      {.name = "hold-down: not recovered, nothing", .current = open},
      {.name = "hold-down: recovered, not long enough, nothing", .current = recovered(open, kNow - 5 * kMin + 1)},
      {.name = "hold-down: recovered for the hold-down, resolved", .current = recovered(open, kNow - 5 * kMin),
       .writes = true, .notice = "resolved", .state = IncidentState::resolved, .added = {"resolved"},
       .text = "condition clear since 300 s (hold-down)", .recovered_ms = kNow - 5 * kMin, .resolved_ms = kNow},
      {.name = "hold-down: acknowledged and recovered, resolved", .current = recovered(acked, kNow - 10 * kMin),
       .writes = true, .notice = "resolved", .state = IncidentState::resolved, .added = {"resolved"},
       .text = "condition clear since 600 s (hold-down)", .acknowledged_ms = kT0 + kMin,
       .recovered_ms = kNow - 10 * kMin, .resolved_ms = kNow},
      {.name = "hold-down: resolved already, nothing",
       .current = resolved(recovered(open, kNow - 20 * kMin), kNow - 15 * kMin, "surveyor")},
  };
}

Transition run(const Row& r) {
  return r.signal ? transition(r.current, *r.signal, r.parent, kNow, kOptions) : hold_down(r.current, kNow, kOptions);
}

TEST(IncidentTransition, EveryTransitionOfTheLifecycle) {
  std::vector<Row> rows = on_a_signal();
  for (Row& r : at_the_hold_down()) rows.push_back(std::move(r));
  for (const Row& r : rows) {
    SCOPED_TRACE(r.name);
    const Transition t = run(r);
    const Transition again = run(r);
    EXPECT_EQ(t.next, again.next) << "the same input gives the same answer";
    if (!r.writes) {
      EXPECT_FALSE(t.next) << "nothing to write";
      EXPECT_EQ(t.notice, "");
      continue;
    }
    ASSERT_TRUE(t.next);
    const Incident& n = *t.next;
    EXPECT_EQ(t.notice, r.notice);
    EXPECT_EQ(n.state, r.state);
    std::size_t kept = 0;  // timeline entries carried over
    if (r.same_incident) {
      ASSERT_TRUE(r.current);
      const Incident& c = *r.current;
      EXPECT_EQ(n.id, c.id);
      EXPECT_EQ(std::tie(n.kind, n.key, n.subject, n.rule, n.opened_ms, n.closed_ms),
                std::tie(c.kind, c.key, c.subject, c.rule, c.opened_ms, c.closed_ms));
      ASSERT_GE(n.timeline.size(), c.timeline.size());
      EXPECT_TRUE(std::equal(c.timeline.begin(), c.timeline.end(), n.timeline.begin())) << "history kept";
      kept = c.timeline.size();
    } else {
      EXPECT_EQ(n.id, "") << "numbered by the store";
      EXPECT_EQ(n.key, r.signal->key());
      EXPECT_EQ(std::tie(n.kind, n.subject, n.rule), std::tie(r.signal->kind, r.signal->subject, r.signal->rule));
      EXPECT_EQ(n.opened_ms, kNow);
    }
    std::vector<std::string> added;
    for (std::size_t k = kept; k < n.timeline.size(); ++k) {
      added.push_back(n.timeline[k].action);
      EXPECT_EQ(n.timeline[k].time_ms, kNow);
      EXPECT_EQ(n.timeline[k].by, "surveyor");
    }
    EXPECT_EQ(added, r.added);
    if (!r.added.empty()) {
      EXPECT_EQ(n.timeline.back().text, r.text);
    }
    if (r.signal && r.signal->firing) {
      EXPECT_EQ(n.summary, r.signal->summary);
      EXPECT_EQ(std::tie(n.impact, n.urgency), std::tie(r.signal->impact, r.signal->urgency));
    }
    EXPECT_EQ(n.priority, r.priority);
    EXPECT_EQ(n.parent, r.parent_after);
    EXPECT_EQ(n.acknowledged_ms, r.acknowledged_ms);
    EXPECT_EQ(n.recovered_ms, r.recovered_ms);
    EXPECT_EQ(n.resolved_ms, r.resolved_ms);
    EXPECT_EQ(n.reopened, r.reopened);
    EXPECT_EQ(n.updated_ms, kNow);
  }
}

// The options are the ones configured: another hold-down and re-open window
// move the edges.
TEST(IncidentTransition, TheHoldDownAndTheReopenWindowAreOptions) {
  Options o;
  o.hold_down_ms = 10 * kMin;
  o.reopen_window_ms = 5 * kMin;
  EXPECT_FALSE(hold_down(recovered(held(), kNow - 9 * kMin), kNow, o).next);
  EXPECT_EQ(hold_down(recovered(held(), kNow - 10 * kMin), kNow, o).notice, "resolved");
  EXPECT_EQ(transition(resolved(held(), kNow - 5 * kMin), firing(), "", kNow, o).notice, "reopened");
  EXPECT_EQ(transition(resolved(held(), kNow - 6 * kMin), firing(), "", kNow, o).notice, "opened");
  const Transition r = transition(held(), clear(), "", kNow, o);
  ASSERT_TRUE(r.next);
  EXPECT_EQ(r.next->timeline.back().text, "condition clear; resolves after 600 s without relapse");
  o.matrix = *Matrix::parse({"1 1 1", "1 1 1", "1 1 1"});
  EXPECT_EQ(transition(std::nullopt, firing(3, 3), "", kNow, o).next->priority, 1);
}

}  // namespace
}  // namespace surveyor::collector::incidents
