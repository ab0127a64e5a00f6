// SPDX-License-Identifier: Apache-2.0
// Impact analysis: if this CI fails, what fails with it? The dependency graph
// joins the CMDB's relationships and the services' groups; the walk goes
// upward from a CI (cycle-safe, depth-limited), and every service reached is
// judged down, degraded or unaffected by its redundancy rules, given the
// current state of its other members.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "surveyor/collector/services/services.hpp"
#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::impact {

// A service with its members resolved to graph nodes: CI ids, or
// "service:NAME" for the services it depends on.
struct ResolvedGroup {
  std::string name;
  services::Redundancy redundancy;
  std::vector<std::string> members;
};
struct ResolvedService {
  std::string name;
  std::string criticality;
  std::optional<services::Sla> sla;
  std::vector<ResolvedGroup> groups;
  std::vector<std::string> unresolved;
  std::vector<std::string> inactive;  // member CIs whose CMDB state is not active
};

// "service:NAME", the node of a service.
[[nodiscard]] std::string service_node(std::string_view name);

class Graph {
 public:
  // Who depends on whom: `A runs_on|depends_on|uses|connected_to B` and
  // `A contains B` make A depend on B; `A member_of B` makes B depend on A;
  // a service depends on the members of its groups.
  static Graph build(std::span<const store::Relationship> relationships, std::vector<ResolvedService> services);

  [[nodiscard]] std::size_t nodes() const { return names_.size(); }
  [[nodiscard]] std::size_t edges() const { return edges_; }
  [[nodiscard]] std::optional<std::uint32_t> find(std::string_view node) const;
  [[nodiscard]] const std::string& name(std::uint32_t n) const { return names_[n]; }
  [[nodiscard]] const std::vector<std::uint32_t>& dependents(std::uint32_t n) const { return up_[n]; }
  [[nodiscard]] const std::vector<std::uint32_t>& dependencies(std::uint32_t n) const { return down_[n]; }
  // The service a node stands for (nullptr for a CI).
  [[nodiscard]] const ResolvedService* service(std::uint32_t n) const;
  // Whether a CI was active when the graph was built (as far as the
  // services' members go: other CIs count as active).
  [[nodiscard]] bool active(std::string_view ci) const { return !inactive_.contains(std::string(ci)); }
  // Its groups' members as nodes, group by group.
  [[nodiscard]] const std::vector<std::vector<std::uint32_t>>& member_nodes(std::uint32_t service) const;

 private:
  std::uint32_t intern(const std::string& node);
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<std::vector<std::uint32_t>> up_, down_;
  std::unordered_map<std::uint32_t, ResolvedService> services_;
  std::unordered_map<std::uint32_t, std::vector<std::vector<std::uint32_t>>> members_;
  std::unordered_set<std::string> inactive_;
  std::size_t edges_ = 0;
};

enum class Verdict { unaffected, degraded, down };
[[nodiscard]] std::string_view to_string(Verdict v);

struct GroupState {
  std::string name;
  std::string redundancy;  // "all", "at least 2", ...
  std::size_t members = 0, up = 0, required = 0;
  std::vector<std::string> down;  // members counted down
};

struct ServiceImpact {
  std::string service;
  std::string criticality;
  std::optional<services::Sla> sla;
  Verdict verdict = Verdict::unaffected;
  std::vector<std::string> path;  // from the CI to the service, node by node
  std::vector<GroupState> groups;
};

struct AffectedCi {
  std::string id;
  std::size_t depth = 0;
  std::string via;  // the node it fails through (its path is via's path, then it)
};

struct ImpactResult {
  std::string ci;
  std::vector<AffectedCi> cis;  // CIs that fail with it (by depth), the CI itself excluded
  std::vector<ServiceImpact> services;  // every service reached, worst first
  bool truncated = false;  // the depth limit stopped the walk somewhere
};

// What fails if `ci` fails. `is_up` says whether a CI is up now apart from
// this failure (an unknown CI is up); it is asked only about members of the
// services reached. `ci` not in the graph: nothing depends on it.
[[nodiscard]] ImpactResult analyse(const Graph& g, std::string_view ci,
                                   const std::function<bool(std::string_view)>& is_up, std::size_t max_depth = 10);

// What a service stands on, downward, as (depth, node) in walk order.
struct DependencyNode {
  std::size_t depth = 0;
  std::string node;
  std::string via;  // the node it was reached from
};
[[nodiscard]] std::vector<DependencyNode> dependencies(const Graph& g, std::string_view node,
                                                       std::size_t max_depth = 10, bool* truncated = nullptr);

}  // namespace surveyor::collector::impact

namespace surveyor::collector::impact {

// The graph of the current relationships and service definitions, rebuilt
// when either changed (the store's relationships version, the catalog's
// generation) or is older than `max_age_ms` (service members are resolved
// by CI name, and CIs come and go). Thread-safe.
class GraphSource {
 public:
  GraphSource(store::Stores stores, std::shared_ptr<services::Catalog> catalog, std::int64_t max_age_ms = 60'000);
  [[nodiscard]] core::Result<std::shared_ptr<const Graph>> graph(std::int64_t now_ms);

 private:
  store::Stores stores_;
  std::shared_ptr<services::Catalog> catalog_;
  std::int64_t max_age_ms_;
  std::mutex mu_;
  std::shared_ptr<const Graph> graph_;
  std::int64_t version_ = -1;
  std::uint64_t generation_ = 0;
  std::int64_t built_ms_ = 0;
};

// A service's members resolved against the CMDB.
[[nodiscard]] core::Result<ResolvedService> resolve(const services::Service& s, store::CmdbStore& cmdb);

}  // namespace surveyor::collector::impact
