// SPDX-License-Identifier: Apache-2.0
// One agent report as the store applies it: everything it changes, in one transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "surveyor/collector/store/audit.hpp"
#include "surveyor/collector/store/cmdb.hpp"
#include "surveyor/collector/store/errors.hpp"
#include "surveyor/collector/store/relations.hpp"
#include "surveyor/collector/store/series.hpp"
#include "surveyor/collector/store/inventory.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

// Everything one report changes, applied atomically by ReportStore.
struct ReportBatch {
  std::string agent_id;
  // When set: the agent's key hash, and inventory_ci_id its CI, as the
  // report was authenticated with. The store checks both against the
  // agent's record in the report's own transaction and, when either has
  // changed (a key revoked or rotated, the CI reassigned), writes nothing
  // and fails with StoreErrc::changed, duplicates included.
  std::string agent_key_hash;
  std::uint64_t sequence = 0;
  std::int64_t received_at_ms = 0;
  std::uint32_t heartbeat_interval_s = 0;
  std::optional<std::string> inventory_digest;  // set when the report carried an inventory
  std::vector<CiUpdate> cis;
  std::vector<std::pair<SeriesInfo, std::vector<Sample>>> series;
  std::string inventory_ci_id;  // whose inventory `sections` update
  std::vector<SectionUpdate> sections;
  // Set when the report carried an inventory: the components of
  // inventory_ci_id it found, followed with their links in the same
  // transaction as plan_components() describes.
  std::optional<ComponentKinds> components;
  // The most series a CI may hold once the report is applied (the agent's
  // host: max_series_per_agent); 0 for no bound. Checked only when the
  // report adds series: a report that would pass it fails whole with
  // StoreErrc::limit, and nothing of it is written.
  std::size_t max_series = 0;
};

enum class ApplyOutcome { stored, duplicate };

struct ApplyResult {
  ApplyOutcome outcome = ApplyOutcome::stored;
  // The inventory of batch.inventory_ci_id as stored after the report
  // (before it, for a duplicate), sorted by section name. A backend may leave
  // out the sections' data (data_json empty) when the report changed no
  // section or was a duplicate: their states and digests are what the
  // acknowledgement needs.
  std::vector<InventorySection> inventory;
};

// How many recent sequence numbers per agent are remembered for
// de-duplication: more than an agent's spool holds by default (10,080
// reports, a week at 60 s), so every replay is recognised.
inline constexpr std::uint64_t kSeenWindow = 16'384;

// The window kept per agent (SQLite: agents.seen; Redis: P:window:AGENT):
// a ring of kSeenWindow bits, bit s % kSeenWindow (counted from the most
// significant bit of each byte, as Redis's GETBIT) standing for sequence s
// when s is among the kSeenWindow sequences up to `highest`, the highest
// applied. An empty ring holds none (a ring of any other size than
// kSeenWindow / 8 bytes is taken as empty). 2 KiB an agent, against a
// record per sequence.
// Whether `sequence` is among the kSeenWindow up to `highest`.
[[nodiscard]] bool within_window(std::uint64_t highest, std::uint64_t sequence);
// Whether `sequence` is one the window up to `highest` has left behind:
// not known, and not kept when marked.
[[nodiscard]] bool below_window(std::uint64_t highest, std::uint64_t sequence);
// Whether `sequence` was applied, as far as the window tells: one below the
// window is not known (and is applied again, as before it was pruned).
[[nodiscard]] bool seen_in_window(std::string_view ring, std::uint64_t highest, std::uint64_t sequence);
// Marks `sequence` applied in `ring`, `highest` being the highest applied
// before it; moving the window forward forgets what falls out of it. A
// sequence below the window is not marked.
void mark_in_window(std::string& ring, std::uint64_t highest, std::uint64_t sequence);
// The places of the ring (bit positions, as runs [from, to)) that marking
// `sequence` clears, the highest before it being `highest`: those of the
// sequences skipped, whose places held ones the window leaves behind.
[[nodiscard]] std::vector<std::pair<std::uint64_t, std::uint64_t>> window_clears(std::uint64_t highest,
                                                                               std::uint64_t sequence);

// What a report's section updates change in a CI's inventory: the sections
// to write, the audit entries for software that changed, and the inventory
// as it stands afterwards (sorted by section name).
struct InventoryPlan {
  std::vector<InventorySection> writes;
  std::vector<AuditRecord> audit;
  std::vector<InventorySection> after;
};
// Why a report was refused by ReportBatch::max_series, the same on every backend.
[[nodiscard]] std::string series_limit_message(std::string_view ci_id, std::size_t held, std::size_t added,
                                               std::size_t max_series);

[[nodiscard]] InventoryPlan plan_inventory(std::string_view ci_id, std::vector<InventorySection> held,
                                           const std::vector<SectionUpdate>& updates, std::int64_t now_ms);

// How reports reached the disk since the store was opened: reports applied
// (stored, duplicate or failed) and the transactions that committed them.
struct CommitStats {
  std::uint64_t reports = 0;
  std::uint64_t commits = 0;
  // Round trips to the store server made applying them (Redis; 0 for an
  // embedded store).
  std::uint64_t round_trips = 0;
  // Embedded store: syncs of the write-ahead log that made report commits
  // durable (fewer than commits: one covers those made before it), and
  // checkpoints, by the checkpointer thread or, the log too long, inline
  // by the writer.
  std::uint64_t wal_syncs = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t inline_checkpoints = 0;
  std::uint64_t wal_frames = 0;         // frames in the write-ahead log at the last commit
  std::uint64_t wal_frames_logged = 0;  // frames the commits wrote to it, in all
  // Embedded store: wall time its one writer spent applying and committing
  // report groups (its rate: the share of the time the writer was busy).
  std::uint64_t writer_busy_ns = 0;
};

class ReportStore {
 public:
  virtual ~ReportStore() = default;
  // All or nothing: unless (agent, sequence) was applied before, apply the CI
  // updates, append the samples (a sample at a time already stored for its
  // series is ignored), advance the agent's state and remember the sequence.
  // Returns `duplicate`, having changed nothing, for a sequence seen before.
  // When this returns, the change is as durable as the backend is configured to make it.
  // Reports that arrive together may share a transaction (group commit:
  // SQLite); each returns only once the commit holding it has.
  virtual core::Result<ApplyResult> apply_report(const ReportBatch& b) = 0;
  // The same, answered through `done` rather than on return. A store whose
  // own threads apply the reports (SQLite's writer) calls `done` on one of
  // them once the report is durable, and the caller's thread does not wait:
  // `done` must hand the result over and return without blocking, and `b`
  // must live until it is called. Otherwise (the default) it is
  // apply_report on the caller's thread, `done` called before this returns.
  using ApplyDone = std::function<void(core::Result<ApplyResult>)>;
  virtual void apply_report_async(const ReportBatch& b, ApplyDone done) { done(apply_report(b)); }
  // Whether apply_report_async leaves the caller's thread free (SQLite).
  [[nodiscard]] virtual bool applies_async() const { return false; }
  [[nodiscard]] virtual CommitStats commit_stats() const = 0;
};

}  // namespace surveyor::collector::store
