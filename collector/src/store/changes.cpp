// SPDX-License-Identifier: Apache-2.0
// Change records and relationships as every backend writes them.
#include <algorithm>

#include "surveyor/collector/store/changes.hpp"
#include "surveyor/collector/store/relations.hpp"
#include "surveyor/core/crypto.hpp"

namespace surveyor::collector::store {

ChangeRecord new_change(const ChangeRecord& in) {
  ChangeRecord ch = in;
  ch.id = "chg-" + core::random_hex(8);
  std::sort(ch.ci_ids.begin(), ch.ci_ids.end());
  ch.ci_ids.erase(std::unique(ch.ci_ids.begin(), ch.ci_ids.end()), ch.ci_ids.end());
  return ch;
}

AuditRecord relationship_audit(const Relationship& r, bool added, std::string_view origin, std::string_view actor,
                               std::int64_t time_ms) {
  AuditRecord a;
  a.time_ms = time_ms;
  a.ci_id = r.from;
  a.kind = "relationship";
  a.key = r.type + " " + r.to;
  (added ? a.new_value : a.old_value) = "true";
  a.origin = std::string(origin);
  a.actor = std::string(actor);
  return a;
}

}  // namespace surveyor::collector::store
