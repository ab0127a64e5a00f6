// SPDX-License-Identifier: Apache-2.0
// Relationships between CIs and their store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
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
                                             std::int64_t time_ms);

class RelationStore {
 public:
  virtual ~RelationStore() = default;
  // Adds the relationship (both CIs must exist: `not_found` otherwise) and an
  // audit entry on `from`; false if it existed already (nothing changes).
  virtual core::Result<bool> add_relationship(const Relationship& r) = 0;
  // Removes it, with an audit entry by `origin` at now_ms; false if absent.
  virtual core::Result<bool> remove_relationship(const Relationship& r, std::string_view origin,
                                                 std::int64_t now_ms) = 0;
  // Every relationship from or to the CI, ordered by (from, type, to).
  virtual core::Result<std::vector<Relationship>> relationships_of(std::string_view ci_id) = 0;
  // All of them (for the dependency graph), and a number that changes
  // whenever one is added or removed (so a cached graph knows it is stale).
  virtual core::Result<std::vector<Relationship>> all_relationships() = 0;
  virtual core::Result<std::int64_t> relationships_version() = 0;
};

}  // namespace surveyor::collector::store
