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
  // Its place in the CI's hash chain: seq counts the CI's entries from 1,
  // prev_hash is the hash of entry seq - 1 (empty for the first), hash the
  // entry's own (audit_entry_hash). seq 0: written before the chain existed.
  std::int64_t seq = 0;
  std::string prev_hash;
  std::string hash;
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

// --- the hash chain -----------------------------------------------------
// Each CI's entries form a hash chain, so an entry edited, removed or put in
// afterwards shows: entry n holds the hash of entry n - 1, and its own hash
// covers that and every field it records. Removing a CI's newest entries or
// its whole chain shows only against a checkpoint of the chains' heads
// taken earlier and kept elsewhere (docs/security.md).

// A chain's newest entry; seq 0: the CI has none.
struct AuditLink {
  std::int64_t seq = 0;
  std::string hash;
  friend bool operator==(const AuditLink&, const AuditLink&) = default;
};
using AuditHeads = std::map<std::string, AuditLink, std::less<>>;

// The bytes an entry's hash covers: "surveyor-audit-1\n" and then, each as
// a netstring ("LENGTH:BYTES,"), seq, prev_hash, time_ms, ci_id, kind, key,
// old_value, new_value, origin, actor, change_id, unauthorized and alert
// (numbers in decimal, flags as 0 or 1). Not the store's id.
[[nodiscard]] std::string audit_entry_bytes(const AuditRecord& r);
// Lower-case hex SHA-256 of audit_entry_bytes.
[[nodiscard]] std::string audit_entry_hash(const AuditRecord& r);

// Sets seq, prev_hash and hash of each record, each CI's records continuing
// its chain from head(ci) in the order they are in; a head that cannot be
// read fails the whole write with its error.
core::Status chain_audit(std::vector<AuditRecord>& records,
                         const std::function<core::Result<AuditLink>(std::string_view ci_id)>& head);

// SHA-256 of the heads, one line "CI SEQ HASH\n" per CI in CI order: one
// value that names the whole trail at a moment.
[[nodiscard]] std::string audit_heads_digest(const AuditHeads& heads);

// Where a chain does not hold.
struct AuditBreak {
  std::string ci_id;
  std::int64_t seq = 0;   // the entry at fault, or where entries are missing
  std::string entry_id;   // empty when the entry is not there
  std::string reason;
};

// Checks chains entry by entry: feed each CI's entries in seq order, one CI
// after another, then finish(). With a checkpoint (heads taken earlier),
// each CI's chain must still pass through the checkpoint's entry.
class AuditChainCheck {
 public:
  explicit AuditChainCheck(AuditHeads checkpoint = {}) : checkpoint_(std::move(checkpoint)) {}
  void add(const AuditRecord& r);
  void finish();

  std::size_t entries = 0;    // chained entries checked
  std::size_t unchained = 0;  // entries with seq 0, not covered
  std::size_t cis = 0;
  AuditHeads heads;                      // every chain's newest entry
  std::optional<AuditBreak> first_break;  // in CI order, then seq

 private:
  void end_chain();
  void broken(const AuditRecord* r, std::string ci, std::int64_t seq, std::string reason);
  AuditHeads checkpoint_;
  std::string ci_;
  bool in_chain_ = false;
  AuditLink last_;
  bool passed_checkpoint_ = false;
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Entries are written by the CI, report and relationship writes that make
  // them, in the same transaction; they are never changed or removed.
  virtual core::Result<std::vector<AuditRecord>> list_audit(const AuditFilter& f) = 0;
  // Every entry of one CI (ci_id empty: of every CI), each CI's in seq order
  // (unchained entries, seq 0, first), one CI after another in id order.
  // Stops at, and returns, the first error `visit` returns.
  virtual core::Status walk_audit(std::string_view ci_id,
                                  const std::function<core::Status(const AuditRecord&)>& visit) = 0;
};

}  // namespace surveyor::collector::store
