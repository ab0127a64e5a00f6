// SPDX-License-Identifier: Apache-2.0
// The SQL that lists capacity events for a filter: only the conditions the
// filter sets, so SQLite can use the index that fits (open events through
// their partial index, in time order) instead of scanning every event ever
// raised. Values are bound (?1 state, ?2 CI, ?3 kind, ?4 limit), never
// written into the text.
#pragma once

#include <string>

#include "surveyor/collector/store/events.hpp"

namespace surveyor::collector::sqlite {

inline constexpr const char* kEventColumns =
    "id, kind, rule, ci_id, metric, attributes, state, opened_ms, updated_ms, resolved_ms, threshold, value, "
    "predicted_ms, summary";

[[nodiscard]] inline std::string event_list_sql(const store::EventFilter& f) {
  std::string where;
  const auto add = [&where](const char* condition) { where += (where.empty() ? " WHERE " : " AND ") + std::string(condition); };
  if (f.state == "open") add("state = 'open'");  // the partial indexes' own condition
  else if (!f.state.empty()) add("state = ?1");
  if (!f.ci_id.empty()) add("ci_id = ?2");
  if (!f.kind.empty()) add("kind = ?3");
  return std::string("SELECT ") + kEventColumns + " FROM events" + where + " ORDER BY opened_ms DESC, id LIMIT ?4";
}

}  // namespace surveyor::collector::sqlite
