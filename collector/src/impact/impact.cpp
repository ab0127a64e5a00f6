// SPDX-License-Identifier: Apache-2.0
// The dependency graph and the upward walk of impact analysis.
#include "surveyor/collector/impact/impact.hpp"

#include <algorithm>
#include <deque>

#include "surveyor/core/names.hpp"

namespace surveyor::collector::impact {

std::string service_node(std::string_view name) { return "service:" + std::string(name); }

std::string_view to_string(Verdict v) {
  static constexpr core::Names<Verdict, 3> kNames{
      {{{Verdict::unaffected, "unaffected"}, {Verdict::degraded, "degraded"}, {Verdict::down, "down"}}}};
  return kNames.name(v);
}

std::uint32_t Graph::intern(const std::string& node) {
  auto [it, added] = ids_.emplace(node, static_cast<std::uint32_t>(names_.size()));
  if (added) {
    names_.push_back(node);
    up_.emplace_back();
    down_.emplace_back();
  }
  return it->second;
}

std::optional<std::uint32_t> Graph::find(std::string_view node) const {
  auto it = ids_.find(std::string(node));
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

const std::vector<std::vector<std::uint32_t>>& Graph::member_nodes(std::uint32_t service) const {
  static const std::vector<std::vector<std::uint32_t>> kNone;
  auto it = members_.find(service);
  return it == members_.end() ? kNone : it->second;
}

const ResolvedService* Graph::service(std::uint32_t n) const {
  auto it = services_.find(n);
  return it == services_.end() ? nullptr : &it->second;
}

Graph Graph::build(std::span<const store::Relationship> relationships, std::vector<ResolvedService> services) {
  Graph g;
  g.names_.reserve(relationships.size() / 2 + services.size());
  auto depend = [&g](std::uint32_t a, std::uint32_t b) {  // a depends on b
    if (a == b) return;
    g.down_[a].push_back(b);
    g.up_[b].push_back(a);
    ++g.edges_;
  };
  for (const store::Relationship& r : relationships) {
    const std::uint32_t from = g.intern(r.from), to = g.intern(r.to);
    if (r.type == "member_of") depend(to, from);
    else depend(from, to);
  }
  for (ResolvedService& s : services) {
    const std::uint32_t node = g.intern(service_node(s.name));
    auto& groups = g.members_[node];
    for (const ResolvedGroup& grp : s.groups) {
      groups.emplace_back();
      for (const std::string& m : grp.members) {
        const std::uint32_t n = g.intern(m);
        groups.back().push_back(n);
        depend(node, n);
      }
    }
    g.inactive_.insert(s.inactive.begin(), s.inactive.end());
    g.services_.emplace(node, std::move(s));
  }
  // A relationship stated twice in different words is one edge.
  for (auto* lists : {&g.up_, &g.down_})
    for (auto& v : *lists) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
    }
  return g;
}

namespace {

// A service's groups, given which nodes are down and the verdicts so far of
// the services it depends on.
Verdict judge(const Graph& g, std::uint32_t service, const std::vector<Verdict>& state,
              const std::function<bool(std::string_view)>& is_up, std::vector<GroupState>* groups) {
  const ResolvedService& s = *g.service(service);
  const auto& nodes = g.member_nodes(service);
  Verdict worst = Verdict::unaffected;
  for (std::size_t gi = 0; gi < s.groups.size(); ++gi) {
    const ResolvedGroup& grp = s.groups[gi];
    const std::size_t n = grp.members.size();
    const std::size_t required = grp.redundancy.required(n);
    std::size_t up = 0;
    bool member_degraded = false;
    std::vector<std::string> down;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t m = nodes[gi][i];
      const Verdict v = state[m];
      // A member not reached by this failure is as it is now.
      const bool ok = v != Verdict::down && (v != Verdict::unaffected || g.service(m) != nullptr || is_up(g.name(m)));
      if (ok) ++up;
      else if (groups) down.push_back(g.name(m));
      if (v == Verdict::degraded) member_degraded = true;
    }
    Verdict gv = Verdict::unaffected;
    if (up < required) gv = Verdict::down;
    else if (up < n || member_degraded) gv = Verdict::degraded;
    worst = std::max(worst, gv);
    if (groups) groups->push_back({grp.name, describe(grp.redundancy), n, up, required, std::move(down)});
  }
  return worst;
}

}  // namespace

ImpactResult analyse(const Graph& g, std::string_view ci, const std::function<bool(std::string_view)>& is_up,
                     std::size_t max_depth) {
  ImpactResult out;
  out.ci = std::string(ci);
  const auto start = g.find(ci);
  if (!start) return out;
  constexpr std::uint32_t kNone = UINT32_MAX;
  std::vector<std::uint32_t> parent(g.nodes(), kNone);
  std::vector<std::uint32_t> depth(g.nodes(), 0);
  std::vector<std::uint32_t> order;  // reached, in BFS order
  std::vector<bool> seen(g.nodes(), false);
  std::deque<std::uint32_t> queue{*start};
  seen[*start] = true;
  while (!queue.empty()) {
    const std::uint32_t n = queue.front();
    queue.pop_front();
    order.push_back(n);
    for (std::uint32_t up : g.dependents(n)) {
      if (seen[up]) continue;
      if (depth[n] >= max_depth) {
        out.truncated = true;
        continue;
      }
      seen[up] = true;
      parent[up] = n;
      depth[up] = depth[n] + 1;
      queue.push_back(up);
    }
  }

  // Verdicts: a CI reached fails with the CI (it has no redundancy of its
  // own); a service is judged by its groups. Services are judged again until
  // nothing changes, so a service reached through another, or through a
  // cycle, sees its members' final verdicts. Verdicts only get worse, so this
  // ends within (services + 1) rounds.
  std::vector<Verdict> state(g.nodes(), Verdict::unaffected);
  std::vector<std::uint32_t> services;
  for (std::uint32_t n : order) {
    if (g.service(n)) services.push_back(n);
    else state[n] = Verdict::down;
  }
  for (std::size_t round = 0; round <= services.size(); ++round) {
    bool changed = false;
    for (std::uint32_t n : services) {
      const Verdict v = judge(g, n, state, is_up, nullptr);
      if (v > state[n]) {
        state[n] = v;
        changed = true;
      }
    }
    if (!changed) break;
  }

  auto path_to = [&](std::uint32_t n) {
    std::vector<std::string> path;
    for (std::uint32_t at = n; at != kNone; at = parent[at]) path.push_back(g.name(at));
    std::reverse(path.begin(), path.end());
    return path;
  };
  for (std::uint32_t n : order) {
    if (n == *start) continue;
    if (const ResolvedService* s = g.service(n)) {
      ServiceImpact si;
      si.service = s->name;
      si.criticality = s->criticality;
      si.sla = s->sla;
      si.verdict = state[n];
      si.path = path_to(n);
      (void)judge(g, n, state, is_up, &si.groups);
      out.services.push_back(std::move(si));
    } else {
      out.cis.push_back({g.name(n), depth[n], g.name(parent[n])});
    }
  }
  std::stable_sort(out.services.begin(), out.services.end(),
                   [](const ServiceImpact& a, const ServiceImpact& b) { return a.verdict > b.verdict; });
  return out;
}

std::vector<DependencyNode> dependencies(const Graph& g, std::string_view node, std::size_t max_depth,
                                         bool* truncated) {
  std::vector<DependencyNode> out;
  if (truncated) *truncated = false;
  const auto start = g.find(node);
  if (!start) return out;
  std::vector<bool> seen(g.nodes(), false);
  std::deque<std::pair<std::uint32_t, std::size_t>> queue{{*start, 0}};
  seen[*start] = true;
  while (!queue.empty()) {
    const auto [n, d] = queue.front();
    queue.pop_front();
    for (std::uint32_t down : g.dependencies(n)) {
      if (seen[down]) continue;
      if (d >= max_depth) {
        if (truncated) *truncated = true;
        continue;
      }
      seen[down] = true;
      out.push_back({d + 1, g.name(down), g.name(n)});
      queue.push_back({down, d + 1});
    }
  }
  return out;
}

}  // namespace surveyor::collector::impact

namespace surveyor::collector::impact {

core::Result<ResolvedService> resolve(const services::Service& s, store::CmdbStore& cmdb) {
  ResolvedService out{s.name, s.criticality, s.sla, {}, {}};
  for (const services::Group& g : s.groups) {
    ResolvedGroup rg{g.name, g.redundancy, {}};
    for (const std::string& m : g.members) {
      if (m.starts_with("service:")) {
        rg.members.push_back(m);
        continue;
      }
      auto ci = services::resolve_ci(cmdb, m);
      if (!ci) return std::move(ci).error();
      if (!*ci) {
        out.unresolved.push_back(m);
        continue;
      }
      rg.members.push_back((*ci)->id);
      if ((*ci)->state != store::CiState::active) out.inactive.push_back((*ci)->id);
    }
    out.groups.push_back(std::move(rg));
  }
  return out;
}

GraphSource::GraphSource(store::Stores stores, std::shared_ptr<services::Catalog> catalog, std::int64_t max_age_ms)
    : stores_(std::move(stores)), catalog_(std::move(catalog)), max_age_ms_(max_age_ms) {}

core::Result<std::shared_ptr<const Graph>> GraphSource::graph(std::int64_t now_ms) {
  auto version = stores_.relations->relationships_version();
  if (!version) return std::move(version).error();
  if (catalog_) catalog_->refresh();
  const std::uint64_t generation = catalog_ ? catalog_->generation() : 0;
  std::lock_guard lock(mu_);
  if (graph_ && *version == version_ && generation == generation_ && now_ms - built_ms_ < max_age_ms_) return graph_;
  auto rels = stores_.relations->all_relationships();
  if (!rels) return std::move(rels).error();
  std::vector<ResolvedService> resolved;
  if (catalog_)
    for (const services::Service& s : catalog_->list()) {
      auto r = resolve(s, *stores_.cmdb);
      if (!r) return std::move(r).error();
      resolved.push_back(std::move(*r));
    }
  graph_ = std::make_shared<const Graph>(Graph::build(*rels, std::move(resolved)));
  version_ = *version;
  generation_ = generation;
  built_ms_ = now_ms;
  return graph_;
}

}  // namespace surveyor::collector::impact
