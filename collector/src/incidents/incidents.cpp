// SPDX-License-Identifier: Apache-2.0
// Incidents (docs/incidents.md): the priority matrix, the timeline, the
// signals of a step applied through the store (the transitions themselves
// are in transition.cpp), people's actions and the KPIs.
#include "surveyor/collector/incidents/incidents.hpp"

#include <algorithm>
#include <sstream>

#include "surveyor/collector/incidents/transition.hpp"

namespace surveyor::collector::incidents {

using store::Incident;
using store::IncidentState;

namespace {

// An incident keeps its first entry and its newest ones: a condition that
// flaps for weeks, or a flood of comments, does not grow it without bound.
constexpr std::size_t kMaxTimeline = 500, kDropAtOnce = 100;

// Parents first (a cause that is itself caused comes after its own cause:
// chains are short, so a few passes of a stable sort by depth do).
void order_causes_first(std::vector<Signal>& signals) {
  std::map<std::string, std::string> cause_of;
  for (const Signal& s : signals)
    if (s.firing) cause_of[s.key()] = s.cause;
  auto depth = [&](const Signal& s) {
    int d = 0;
    for (std::string k = s.cause; !k.empty() && d < 8; ++d) {
      auto it = cause_of.find(k);
      k = it == cause_of.end() ? std::string() : it->second;
    }
    return d;
  };
  std::stable_sort(signals.begin(), signals.end(), [&](const Signal& a, const Signal& b) { return depth(a) < depth(b); });
}

core::Result<std::vector<Incident>> list_active(store::IncidentStore& st) {
  store::IncidentFilter f;
  f.states = {IncidentState::open, IncidentState::acknowledged};
  f.limit = SIZE_MAX;
  return st.list_incidents(f);
}

// Most signals change nothing (a host up with no incident, an outage
// already recorded as it is): those cost no write. `held` is the key's
// active incident as listed, if any.
bool changes_nothing(const Incident* held, const Signal& s, const std::string& parent, const Options& o) {
  if (!s.firing) return held == nullptr || held->recovered_ms != 0 || !s.auto_resolve;
  return held != nullptr && held->recovered_ms == 0 && held->parent == parent && held->summary == s.summary &&
         held->priority == o.matrix.priority(s.impact, s.urgency) && held->impact == s.impact &&
         held->urgency == s.urgency;
}

}  // namespace

void add_to_timeline(Incident& i, std::int64_t now, std::string_view by, std::string action, std::string text) {
  if (i.timeline.size() >= kMaxTimeline) {
    // Entry 1 says how many were left out ("elided"), after the first.
    std::size_t before = 0;
    if (i.timeline.size() > 1 && i.timeline[1].action == "elided") before = std::stoull(i.timeline[1].text);
    const std::size_t from = i.timeline.size() > 1 && i.timeline[1].action == "elided" ? 2 : 1;
    i.timeline.erase(i.timeline.begin() + static_cast<std::ptrdiff_t>(from),
                     i.timeline.begin() + static_cast<std::ptrdiff_t>(from + kDropAtOnce));
    const store::IncidentEvent elided{i.timeline[from - 1].time_ms, "surveyor", "elided",
                                      std::to_string(before + kDropAtOnce)};
    if (from == 2) i.timeline[1] = elided;
    else i.timeline.insert(i.timeline.begin() + 1, elided);
  }
  i.timeline.push_back({now, std::string(by), std::move(action), std::move(text)});
  i.updated_ms = now;
}

int Matrix::priority(int impact, int urgency) const {
  return p[std::clamp(impact, 1, 3) - 1][std::clamp(urgency, 1, 3) - 1];
}

core::Result<Matrix> Matrix::parse(const std::vector<std::string>& rows) {
  auto bad = [](const std::string& why) {
    return core::make_error(store::StoreErrc::invalid,
                            "priority matrix: " + why +
                                " (expected three rows of three priorities 1-5: impact high, medium, low by urgency "
                                "high, medium, low)");
  };
  if (rows.size() != 3) return bad("has " + std::to_string(rows.size()) + " rows");
  Matrix m;
  for (std::size_t r = 0; r < 3; ++r) {
    std::istringstream in(rows[r]);
    std::string cell;
    std::size_t c = 0;
    while (in >> cell) {
      if (c == 3 || cell.size() != 1 || cell[0] < '1' || cell[0] > '5') return bad("row '" + rows[r] + "'");
      m.p[r][c++] = cell[0] - '0';
    }
    if (c != 3) return bad("row '" + rows[r] + "'");
  }
  return m;
}

std::string Signal::key() const { return std::string(store::to_string(kind)) + ":" + subject + ":" + rule; }

core::Result<std::vector<Notice>> apply(store::IncidentStore& st, std::vector<Signal> signals, std::int64_t now,
                                        const Options& o) {
  std::vector<Notice> notices;
  if (auto done = apply_into(st, std::move(signals), now, o, notices); !done) return std::move(done).error();
  return notices;
}

core::Status apply_into(store::IncidentStore& st, std::vector<Signal> signals, std::int64_t now, const Options& o,
                        std::vector<Notice>& notices) {
  order_causes_first(signals);
  // key -> id of the active incidents whose condition holds: what others
  // can be linked to.
  std::map<std::string, std::string> active_id;
  std::map<std::string, Incident> active_now;  // key -> the active incident, as listed
  {
    auto active = list_active(st);
    if (!active) return std::move(active).error();
    for (Incident& i : *active) {
      if (i.recovered_ms == 0) active_id[i.key] = i.id;
      active_now.emplace(i.key, std::move(i));
    }
  }
  for (const Signal& s : signals) {
    const std::string key = s.key();
    std::string parent;
    if (s.firing && !s.cause.empty())
      if (auto it = active_id.find(s.cause); it != active_id.end()) parent = it->second;
    // The store has the last word for the rest (another collector may have
    // written since the listing).
    const auto held = active_now.find(key);
    if (changes_nothing(held == active_now.end() ? nullptr : &held->second, s, parent, o)) continue;
    std::string notice;
    auto changed = st.update_incident_by_key(key, [&](const std::optional<Incident>& old) {
      Transition t = transition(old, s, parent, now, o);
      notice = std::move(t.notice);
      return std::move(t.next);
    });
    // A failed write stops here; what was written so far is in `notices`.
    if (!changed) return std::move(changed).error();
    if (*changed) {
      if (store::is_active((*changed)->state) && (*changed)->recovered_ms == 0) active_id[key] = (*changed)->id;
      else active_id.erase(key);
    }
    if (*changed && !notice.empty()) notices.push_back({notice, **changed});
  }
  return {};
}

core::Result<std::vector<Notice>> resolve_recovered(store::IncidentStore& st, std::int64_t now, const Options& o) {
  std::vector<Notice> notices;
  if (auto done = resolve_recovered_into(st, now, o, notices); !done) return std::move(done).error();
  return notices;
}

core::Status resolve_recovered_into(store::IncidentStore& st, std::int64_t now, const Options& o,
                                    std::vector<Notice>& notices) {
  auto active = list_active(st);
  if (!active) return std::move(active).error();
  for (const Incident& a : *active) {
    if (!hold_down(a, now, o).next) continue;
    auto r = st.update_incident(a.id, [&](const std::optional<Incident>& old) { return hold_down(old, now, o).next; });
    if (!r) return std::move(r).error();
    if (*r) notices.push_back({"resolved", **r});
  }
  return {};
}

core::Result<Incident> act(store::IncidentStore& st, std::string_view id, std::string_view action,
                           std::string_view by, std::string_view text, std::int64_t now) {
  static const std::vector<std::string_view> kActions{"acknowledge", "resolve", "close", "reopen", "comment"};
  if (std::find(kActions.begin(), kActions.end(), action) == kActions.end())
    return core::make_error(store::StoreErrc::invalid, "unknown action '" + std::string(action) +
                                                           "' (acknowledge, resolve, close, reopen, comment)");
  if (by.empty()) return core::make_error(store::StoreErrc::invalid, "who acts must be given");
  if (action == "comment" && text.empty()) return core::make_error(store::StoreErrc::invalid, "a comment needs a text");
  std::optional<core::Error> refused;
  auto change = [&](const std::optional<Incident>& old) -> std::optional<Incident> {
    refused.reset();
    if (!old || old->id != id) {
      // Re-opening goes through the dedup key: only its newest incident may
      // become active again (a newer one may stand for the condition now).
      refused = core::make_error(store::StoreErrc::conflict,
                                 std::string(id) + " cannot be re-opened: " +
                                     (old ? old->id + " is the newer incident of the same condition" : "not found"));
      return std::nullopt;
    }
    Incident i = *old;
    const IncidentState s = i.state;
    auto refuse = [&](const std::string& why) {
      refused = core::make_error(store::StoreErrc::conflict,
                                 i.id + " is " + std::string(store::to_string(s)) + ": cannot " + std::string(action) +
                                     (why.empty() ? "" : " (" + why + ")"));
      return std::nullopt;
    };
    if (action == "acknowledge") {
      if (s != IncidentState::open) return refuse("");
      i.state = IncidentState::acknowledged;
      i.acknowledged_ms = now;
      add_to_timeline(i, now, by, "acknowledged", std::string(text));
    } else if (action == "resolve") {
      if (!store::is_active(s)) return refuse("");
      i.state = IncidentState::resolved;
      i.resolved_ms = now;
      add_to_timeline(i, now, by, "resolved", std::string(text));
    } else if (action == "close") {
      if (s != IncidentState::resolved) return refuse("only a resolved incident is closed");
      i.state = IncidentState::closed;
      i.closed_ms = now;
      add_to_timeline(i, now, by, "closed", std::string(text));
    } else if (action == "reopen") {
      if (s != IncidentState::resolved) return refuse("only a resolved incident is re-opened");
      i.state = IncidentState::open;
      i.resolved_ms = 0;
      i.recovered_ms = 0;
      i.acknowledged_ms = 0;
      ++i.reopened;
      add_to_timeline(i, now, by, "reopened", std::string(text));
    } else {
      add_to_timeline(i, now, by, "comment", std::string(text));
    }
    return i;
  };
  core::Result<std::optional<Incident>> r = std::optional<Incident>{};
  if (action == "reopen") {
    auto held = st.find_incident(id);
    if (!held) return std::move(held).error();
    if (!*held) return core::make_error(store::StoreErrc::not_found, "no incident " + std::string(id));
    r = st.update_incident_by_key((*held)->key, change);
  } else {
    r = st.update_incident(id, change);
  }
  if (!r) return std::move(r).error();
  if (refused) return *refused;
  return **r;
}

std::string timeline_subject(const Incident& i) {
  if (i.rule.starts_with("check:")) return "check:" + i.subject + "/" + i.rule.substr(6);
  return i.subject;
}

Kpis kpis(const std::vector<Incident>& incidents, std::int64_t from, std::int64_t to,
          const std::map<std::string, std::int64_t>& up_ms) {
  Kpis k;
  k.from_ms = from;
  k.to_ms = to;
  std::int64_t restore_total = 0;
  std::map<std::string, std::size_t> failures_of;
  for (const Incident& i : incidents) {
    if (i.opened_ms >= from && i.opened_ms < to) {
      ++k.opened;
      ++k.by_kind[std::string(store::to_string(i.kind))];
      ++k.by_priority[i.priority];
      // A failure of its own: consequences linked to another failure are not counted again.
      if (i.kind == store::IncidentKind::availability && i.parent.empty()) {
        ++k.failures;
        ++failures_of[timeline_subject(i)];
      }
    }
    if (i.resolved_ms >= from && i.resolved_ms < to && i.resolved_ms > 0) {
      ++k.resolved;
      // Restored when the condition cleared (the hold-down is not repair
      // time); by a person's resolve otherwise.
      const std::int64_t restored = i.recovered_ms > 0 ? std::min(i.recovered_ms, i.resolved_ms) : i.resolved_ms;
      // From its latest opening: the quiet time before a re-opening is not repair time.
      std::int64_t began = i.opened_ms;
      for (const store::IncidentEvent& e : i.timeline)
        if (e.action == "reopened" && e.time_ms <= restored) began = e.time_ms;
      restore_total += std::max<std::int64_t>(0, restored - began);
    }
  }
  if (k.resolved > 0) k.mttr_ms = restore_total / static_cast<std::int64_t>(k.resolved);
  if (k.failures > 0) {
    std::int64_t up = 0;
    for (const auto& [subject, n] : failures_of)
      if (auto it = up_ms.find(subject); it != up_ms.end()) up += it->second;
    k.mtbf_ms = up / static_cast<std::int64_t>(k.failures);
  }
  return k;
}

}  // namespace surveyor::collector::incidents
