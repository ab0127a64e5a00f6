// SPDX-License-Identifier: Apache-2.0
// Relationships between CIs and their store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "surveyor/collector/store/audit.hpp"
#include "surveyor/collector/store/errors.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

// A typed, directed link between two CIs: `from` runs_on / depends_on /
// connected_to / contains `to`. Identity is (from, type, to).
struct Relationship {
  std::string from;
  std::string type;
  std::string to;
  std::string origin;  // agent, user or api
  std::int64_t created_ms = 0;
  friend bool operator==(const Relationship&, const Relationship&) = default;
};
// runs_on, depends_on, connected_to, contains, uses, member_of.
[[nodiscard]] bool valid_relationship_type(std::string_view type);

// The audit entry (on `from`) of a relationship added or removed.
[[nodiscard]] AuditRecord relationship_audit(const Relationship& r, bool added, std::string_view origin,
                                             std::string_view actor, std::int64_t time_ms);

// A host's components as a report's inventory found them: per kind whose
// section was collected (or found empty), the id prefix ("disk-") and the
// sorted ids of those the host contains now. Kinds absent were not known:
// what is held of them stays.
using ComponentKinds = std::vector<std::pair<std::string, std::vector<std::string>>>;

// What following the host's components changes: "contains" links (by the
// agent) to components it does not have yet, and the links the agent made
// to components gone from the host (a swapped NIC, a pulled disk), whose CIs
// are then retired. A link a person made stays theirs.
struct ComponentPlan {
  std::vector<Relationship> add;
  std::vector<Relationship> remove;
};
[[nodiscard]] ComponentPlan plan_components(std::string_view host_ci, const std::vector<Relationship>& held,
                                            const ComponentKinds& kinds, std::int64_t now_ms);

class RelationStore {
 public:
  virtual ~RelationStore() = default;
  // Adds the relationship (both CIs must exist: `not_found` otherwise) and an
  // audit entry on `from`; false if it existed already (nothing changes).
  // `actor`: the operator's token behind it (empty: none).
  virtual core::Result<bool> add_relationship(const Relationship& r, std::string_view actor) = 0;
  // Removes it, with an audit entry by `origin` and `actor` at now_ms; false if absent.
  virtual core::Result<bool> remove_relationship(const Relationship& r, std::string_view origin,
                                                 std::string_view actor, std::int64_t now_ms) = 0;
  // Every relationship from or to the CI, ordered by (from, type, to).
  virtual core::Result<std::vector<Relationship>> relationships_of(std::string_view ci_id) = 0;
  // All of them (for the dependency graph), and a number that changes
  // whenever one is added or removed (so a cached graph knows it is stale).
  virtual core::Result<std::vector<Relationship>> all_relationships() = 0;
  virtual core::Result<std::int64_t> relationships_version() = 0;
};

}  // namespace surveyor::collector::store
