// SPDX-License-Identifier: Apache-2.0
// The audit trail: entries, how a CI write or a software change becomes
// entries, how they are classified against change records, and their store.
#pragma once

#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/collector/store/cmdb.hpp"
#include "surveyor/collector/store/changes.hpp"
#include "surveyor/collector/store/inventory.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

// One immutable entry of the audit trail.
struct AuditRecord {
  std::string id;  // assigned by the store; ordered by (time, id)
  std::int64_t time_ms = 0;
  std::string ci_id;
  // created, attribute, relationship, software, state, name
  std::string kind;
  std::string key;        // the attribute, "TYPE TARGET" of a relationship, the package
  std::string old_value;  // JSON text; empty: there was none
  std::string new_value;  // JSON text; empty: there is none now
  std::string origin;     // agent, user or api
  std::string actor;      // the operator's token that made it; empty: an agent or the collector
  std::string change_id;  // the change record it falls under; empty: none
  // Observed by an agent outside every change window of the CI. `alert`:
  // the first such record for this CI and key within an hour (flapping
  // values raise one alert, not one per report).
  bool unauthorized = false;
  bool alert = false;
  friend bool operator==(const AuditRecord&, const AuditRecord&) = default;
};

struct AuditFilter {
  std::string ci_id;  // empty: the whole fleet
  std::int64_t from_ms = INT64_MIN;  // from <= time < to
  std::int64_t to_ms = INT64_MAX;
  std::string kind;          // empty: any
  bool unauthorized = false;  // only alerts for unauthorised changes
  std::size_t limit = 100;    // newest first
};

// How long one unauthorised change of a CI attribute suppresses further alerts.
inline constexpr std::int64_t kFlapWindowMs = 3'600'000;

// The audit entries for a CI write: "created" for a new CI, else one per
// attribute added, changed or removed, and one for a new name or state.
[[nodiscard]] std::vector<AuditRecord> audit_ci(const std::optional<Ci>& old, const Ci& now, std::string_view origin,
                                                std::string_view actor, std::int64_t time_ms);
// The entries for a software inventory that changed: package installed,
// upgraded (or downgraded) and removed, by name (and architecture). None
// for the first inventory (old_json empty): that is the baseline.
[[nodiscard]] std::vector<AuditRecord> audit_software(std::string_view ci_id, std::string_view old_json,
                                                      std::string_view new_json, std::string_view origin,
                                                      std::int64_t time_ms);

// Links each agent-observed change to the change record of its CI whose
// window holds it, or, for a value replaced or removed, software changed or a
// relationship removed (not for something seen for the first time), marks it
// unauthorised; `alerted` answers whether an alert for that
// CI and key was raised within kFlapWindowMs before the entry.
void classify_changes(std::vector<AuditRecord>& records, std::span<const ChangeRecord> changes,
                      const std::function<bool(const AuditRecord&)>& alerted);

// How many of a CI's newest change records classification looks at.
inline constexpr std::size_t kChangesPerCi = 1000;

// What classifying a CI's entries needs from the store: its newest
// kChangesPerCi change records, and per key the time of the latest alert.
struct AuditContext {
  std::vector<ChangeRecord> changes;
  std::map<std::string, std::int64_t, std::less<>> last_alert;
};

// classify_changes for entries of several CIs, with each CI's context read
// once through `context(ci_id, keys of its entries)`; a read that fails
// fails the whole write with its own error.
core::Status classify_audit(
    std::vector<AuditRecord>& records,
    const std::function<core::Result<AuditContext>(std::string_view ci_id, const std::vector<std::string>& keys)>& context);

class AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Entries are written by the CI, report and relationship writes that make
  // them, in the same transaction; they are never changed or removed.
  virtual core::Result<std::vector<AuditRecord>> list_audit(const AuditFilter& f) = 0;
};

}  // namespace surveyor::collector::store
