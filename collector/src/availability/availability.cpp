// SPDX-License-Identifier: Apache-2.0
// Heartbeat availability and the pulse that tells the collector's own
// outages from the hosts'.
#include "surveyor/collector/availability/availability.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace surveyor::collector::availability {

using store::Availability;
using store::StateInterval;

std::vector<StateInterval> host_states(const std::string& ci, const Heartbeat& h, std::int64_t from_ms,
                                       std::int64_t to_ms) {
  std::vector<StateInterval> out;
  const std::int64_t start = std::max(from_ms, h.first_seen_ms);
  if (start >= to_ms) return out;
  const std::int64_t deadline = h.last_seen_ms + 2 * h.interval_ms;  // Zabbix's nodata rule
  if (deadline > start) out.push_back({ci, start, std::min(deadline, to_ms), Availability::up});
  if (deadline < to_ms) out.push_back({ci, std::max(deadline, start), to_ms, Availability::down});
  return out;
}

namespace {

std::int64_t heartbeat_ms(const store::Ci& ci) {
  auto it = ci.attributes.find("agent.heartbeat_interval_s");
  if (it != ci.attributes.end())
    if (const auto* v = std::get_if<std::int64_t>(&it->second); v && *v > 0 && *v < 86'400) return *v * 1000;
  return 60'000;
}

}  // namespace

std::string check_subject(std::string_view ci_id, std::string_view check) {
  return "check:" + std::string(ci_id) + "/" + std::string(check);
}

core::Result<std::optional<CheckRef>> resolve_check(store::CmdbStore& cmdb, std::string_view member) {
  const auto slash = member.find('/', 6);
  if (!member.starts_with("check:") || slash == std::string_view::npos) return std::optional<CheckRef>{};
  auto host = services::resolve_ci(cmdb, member.substr(6, slash - 6));
  if (!host) return std::move(host).error();
  if (!*host) return std::optional<CheckRef>{};
  return std::optional<CheckRef>{CheckRef{(*host)->id, std::string(member.substr(slash + 1))}};
}

Availability check_state(double status, Availability host) {
  if (host != Availability::up) return host == Availability::maintenance ? Availability::maintenance : Availability::unknown;
  if (status == 0) return Availability::up;
  if (status == 1) return Availability::degraded;
  if (status == 2) return Availability::down;
  return Availability::unknown;
}

namespace {

// The states with the windows' time (sorted or not, overlapping or not) as maintenance.
std::vector<StateInterval> with_maintenance(const std::vector<StateInterval>& states,
                                            std::vector<std::pair<std::int64_t, std::int64_t>> windows) {
  std::sort(windows.begin(), windows.end());
  std::vector<StateInterval> out;
  auto push = [&](const std::string& subject, std::int64_t a, std::int64_t b, Availability st) {
    if (b <= a) return;
    if (!out.empty() && out.back().state == st && out.back().end_ms == a) out.back().end_ms = b;
    else out.push_back({subject, a, b, st});
  };
  for (const StateInterval& s : states) {
    std::int64_t cursor = s.start_ms;
    for (const auto& [ws, we] : windows) {
      const std::int64_t a = std::max(ws, cursor), b = std::min(we, s.end_ms);
      if (b <= a) continue;
      push(s.subject, cursor, a, s.state);
      push(s.subject, a, b, Availability::maintenance);
      cursor = b;
    }
    push(s.subject, cursor, s.end_ms, s.state);
  }
  return out;
}

// Hosts whose check results are read at once.
constexpr std::size_t kCheckPage = 500;

// Check results older than this are of a check no longer run.
constexpr std::int64_t kCheckStaleMs = 86'400'000;

int severity(Availability a) {
  switch (a) {
    case Availability::up: return 0;
    case Availability::degraded: return 1;
    case Availability::maintenance: return 2;
    case Availability::unknown: return 3;
    case Availability::down: return 4;
  }
  return 3;
}

}  // namespace

Availability judge_service(const services::Service& s, const std::function<Availability(const std::string&)>& member) {
  Availability worst = Availability::up;
  for (const services::Group& g : s.groups) {
    std::size_t up = 0;
    bool degraded = false, down = false, unknown = false;
    for (const std::string& m : g.members) {
      const Availability a = member(m);
      if (a == Availability::up || a == Availability::degraded) ++up;
      degraded |= a != Availability::up;
      down |= a == Availability::down;
      unknown |= a == Availability::unknown;
    }
    Availability gv = Availability::up;
    if (up < g.redundancy.required(g.members.size()))
      gv = down ? Availability::down : unknown ? Availability::unknown : Availability::maintenance;
    else if (degraded)
      gv = Availability::degraded;
    if (severity(gv) > severity(worst)) worst = gv;
  }
  return worst;
}

core::Result<Report> evaluate(const store::Stores& st, std::int64_t now_ms, std::int64_t max_gap_ms,
                              const services::Catalog* catalog, std::int64_t resumed_ms) {
  Report rep;
  auto until = st.timelines->evaluated_until();
  if (!until) return std::move(until).error();
  rep.from_ms = *until;
  rep.to_ms = now_ms;
  if (*until == 0 || *until >= now_ms) {
    rep.from_ms = now_ms;  // no step: nothing before the first evaluation is known
    if (*until == 0)
      if (auto s = st.timelines->set_evaluated_until(now_ms); !s) return std::move(s).error();
    return rep;
  }
  rep.gap = now_ms - *until > max_gap_ms;
  std::map<std::string, Availability> host_now;  // each host's state at the end of the step
  std::vector<StateInterval> batch;              // what the step records
  std::map<std::string, std::string> host_by_name;  // name -> host id ("" when two hosts share it)
  // The approved change windows that overlap the step, per CI: one read per step.
  std::map<std::string, std::vector<std::pair<std::int64_t, std::int64_t>>> windows;
  if (!rep.gap) {
    store::ChangeFilter cf;
    cf.ends_after_ms = *until;
    cf.limit = 100'000;
    auto changes = st.changes->list_changes(cf);
    if (!changes) return std::move(changes).error();
    for (const store::ChangeRecord& c : *changes)
      if (c.start_ms < now_ms)
        for (const std::string& ci : c.ci_ids)
          windows[ci].emplace_back(std::max(c.start_ms, *until), std::min(c.end_ms, now_ms));
  }
  // Hosts whose checks are still to be read: (id, from, state at now).
  struct Checked {
    std::string id;
    std::int64_t from_ms;
    Availability host;
  };
  std::vector<Checked> checked;
  // Each check, as of now, over the whole step.
  auto read_checks = [&]() -> core::Status {
    if (checked.empty()) return {};
    std::vector<std::string> ids;
    for (const Checked& h : checked) ids.push_back(h.id);
    auto latest = st.series->latest_samples_of(ids, "surveyor.check.status");
    if (!latest) return std::move(latest).error();
    for (std::size_t n = 0; n < checked.size() && n < latest->size(); ++n)
      for (const store::LatestSample& l : (*latest)[n]) {
        if (l.series.key.metric != "surveyor.check.status" || now_ms - l.sample.time_ms > kCheckStaleMs) continue;
        std::string name;
        for (const auto& [k, v] : l.series.key.attributes)
          if (k == "check") name = v;
        if (name.empty()) continue;
        const std::string subject = check_subject(checked[n].id, name);
        const Availability a = rep.gap ? Availability::unknown : check_state(l.sample.value, checked[n].host);
        batch.push_back({subject, checked[n].from_ms, now_ms, a});
        host_now[subject] = a;
        rep.states[subject] = a;
        ++rep.checks;
      }
    checked.clear();
    return {};
  };
  auto walked = store::for_each_ci(*st.cmdb, "host", [&](const store::Ci& ci) -> core::Result<bool> {
    if (ci.source != "agent" || ci.state == store::CiState::retired) return true;
    ++rep.hosts;
    std::vector<StateInterval> states;
    if (rep.gap) {
      if (ci.first_seen_ms < now_ms)
        states.push_back({ci.id, std::max(*until, ci.first_seen_ms), now_ms, Availability::unknown});
    } else {
      states = host_states(ci.id, {ci.first_seen_ms, std::max(ci.last_seen_ms, resumed_ms), heartbeat_ms(ci)}, *until,
                           now_ms);
      // Inside an approved change window of the host: maintenance.
      if (auto w = windows.find(ci.id); w != windows.end()) states = with_maintenance(states, w->second);
    }
    batch.insert(batch.end(), states.begin(), states.end());
    if (states.empty()) return true;
    const Availability host_state = states.back().state;
    host_now[ci.id] = host_state;
    // Service members name hosts by name as often as by id.
    if (auto [it, fresh] = host_by_name.try_emplace(ci.name, ci.id); !fresh) it->second.clear();  // ambiguous
    rep.states[ci.id] = host_state;
    // Its checks, read for a page of hosts at a time.
    checked.push_back({ci.id, std::max(*until, ci.first_seen_ms), host_state});
    if (checked.size() >= kCheckPage)
      if (auto r = read_checks(); !r) return std::move(r).error();
    return true;
  });
  if (!walked) return std::move(walked).error();
  if (auto r = read_checks(); !r) return std::move(r).error();

  // Services, as of now, over the whole step.
  if (catalog != nullptr) {
    std::map<std::string, Availability> service_now;  // judged so far
    std::set<std::string> judging;                    // on the stack: a cycle reads as unknown
    std::function<core::Result<Availability>(const services::Service&)> judge;
    judge = [&](const services::Service& svc) -> core::Result<Availability> {
      if (auto it = service_now.find(svc.name); it != service_now.end()) return it->second;
      if (rep.gap) return Availability::unknown;
      judging.insert(svc.name);
      std::optional<core::Error> failed;
      const Availability a = judge_service(svc, [&](const std::string& m) -> Availability {
        if (m.starts_with("check:")) {
          auto check = resolve_check(*st.cmdb, m);
          if (!check) {
            failed = check.error();
            return Availability::unknown;
          }
          if (!*check) return Availability::unknown;
          auto c = host_now.find((*check)->subject());
          return c == host_now.end() ? Availability::unknown : c->second;
        }
        if (m.starts_with("service:")) {
          const std::string name = m.substr(8);
          if (judging.contains(name)) return Availability::unknown;
          auto dep = catalog->find(name);
          if (!dep) return Availability::unknown;
          auto r = judge(*dep);
          if (!r) {
            failed = r.error();
            return Availability::unknown;
          }
          return *r;
        }
        if (auto h = host_now.find(m); h != host_now.end()) return h->second;
        if (auto n = host_by_name.find(m); n != host_by_name.end() && !n->second.empty())
          if (auto h = host_now.find(n->second); h != host_now.end()) return h->second;
        auto ci = services::resolve_ci(*st.cmdb, m);
        if (!ci) {
          failed = ci.error();
          return Availability::unknown;
        }
        if (!*ci) return Availability::unknown;
        if (auto h = host_now.find((*ci)->id); h != host_now.end()) return h->second;
        // No heartbeats of its own: as the CMDB has it.
        return (*ci)->state == store::CiState::active ? Availability::up : Availability::down;
      });
      judging.erase(svc.name);
      if (failed) return *failed;
      service_now[svc.name] = a;
      return a;
    };
    for (const services::Service& svc : catalog->list()) {
      auto a = judge(svc);
      if (!a) return std::move(a).error();
      ++rep.services;
      rep.states["service:" + svc.name] = *a;
      batch.push_back({"service:" + svc.name, *until, now_ms, *a});
    }
  }
  // Every subject's step written, then the pulse. A step cut short between
  // the two is evaluated again from the same instant, and each subject's
  // timeline takes it up where it ends (SqliteTimelineStore writes a step
  // in parts).
  if (auto r = st.timelines->record_states(batch); !r) return std::move(r).error();
  if (auto s = st.timelines->set_evaluated_until(now_ms); !s) return std::move(s).error();
  return rep;
}

std::optional<double> Totals::availability() const {
  const std::int64_t counted = up_ms + degraded_ms + down_ms;
  if (counted <= 0) return std::nullopt;
  return 100.0 * static_cast<double>(up_ms + degraded_ms) / static_cast<double>(counted);
}

Totals totals(const std::vector<StateInterval>& timeline, std::int64_t from_ms, std::int64_t to_ms) {
  if (to_ms <= from_ms) return {};
  return totals(timeline, std::vector<Window>{{from_ms, to_ms}});
}

Totals totals(const std::vector<StateInterval>& timeline, const std::vector<Window>& windows) {
  Totals t;
  std::int64_t covered = 0, span = 0;
  for (const Window& w : windows) span += std::max<std::int64_t>(0, w.end_ms - w.start_ms);
  for (const StateInterval& s : timeline) {
    // The windows are in order: skip those that end before the interval starts.
    auto w = std::partition_point(windows.begin(), windows.end(),
                                  [&s](const Window& x) { return x.end_ms <= s.start_ms; });
    for (; w != windows.end() && w->start_ms < s.end_ms; ++w) {
      const std::int64_t a = std::max(s.start_ms, w->start_ms), b = std::min(s.end_ms, w->end_ms);
      if (b <= a) continue;
      covered += b - a;
      switch (s.state) {
        case Availability::up: t.up_ms += b - a; break;
        case Availability::down: t.down_ms += b - a; break;
        case Availability::unknown: t.unknown_ms += b - a; break;
        case Availability::maintenance: t.maintenance_ms += b - a; break;
        case Availability::degraded: t.degraded_ms += b - a; break;
      }
    }
  }
  t.unknown_ms += std::max<std::int64_t>(0, span - covered);
  return t;
}

}  // namespace surveyor::collector::availability
