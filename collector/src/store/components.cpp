// SPDX-License-Identifier: Apache-2.0
// Following a host's components, as every backend does it inside the
// transaction of the report that found them.
#include <algorithm>

#include "surveyor/collector/store/cmdb.hpp"
#include "surveyor/collector/store/relations.hpp"

namespace surveyor::collector::store {

ComponentPlan plan_components(std::string_view host_ci, const std::vector<Relationship>& held,
                              const ComponentKinds& kinds, std::int64_t now_ms) {
  ComponentPlan plan;
  const std::string host(host_ci);
  auto links = [&](const Relationship& h) { return h.from == host && h.type == "contains"; };
  for (const auto& [prefix, ids] : kinds) {
    for (const std::string& id : ids)
      if (std::none_of(held.begin(), held.end(), [&](const Relationship& h) { return links(h) && h.to == id; }))
        plan.add.push_back({host, "contains", id, "agent", now_ms});
    for (const Relationship& h : held)
      if (links(h) && h.origin == "agent" && h.to.starts_with(prefix) &&
          !std::binary_search(ids.begin(), ids.end(), h.to))
        plan.remove.push_back(h);
  }
  return plan;
}

std::optional<CiUpdate> retirement(const std::optional<Ci>& held, std::int64_t now_ms) {
  if (!held || held->state == CiState::retired) return std::nullopt;
  CiUpdate retire;
  retire.id = held->id;
  retire.type = held->type;
  retire.source = "agent";
  retire.state = CiState::retired;
  retire.seen_at_ms = now_ms;
  return retire;
}

}  // namespace surveyor::collector::store
