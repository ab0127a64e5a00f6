// SPDX-License-Identifier: Apache-2.0
// What the SQLite stores share: the backend (one writer connection, a few
// readers, caches touched under the writer lock), the row helpers one
// domain's store uses inside another's transaction, and a factory per store.
//
// Design: every write runs in one BEGIN IMMEDIATE transaction on the writer;
// with synchronous=FULL a COMMIT has reached the disk when it returns, which
// is what lets the API answer 202 only for durable reports. New samples go
// into the head as one row per report and CI (`head_log`: the report's
// samples of each series as a chunk, under the series id), appended at the
// end of the table, so a report writes a few pages whatever its number of
// series. A replayed sample is recognised against the series' newest time
// in the head (cached) and, when older, against the head rows and the chunk
// of its block. maintain() moves closed blocks of the head into one
// compressed chunk per (series, block), adding their hourly rollups then;
// until then, reads of rollups add those of the head's rows to the stored
// ones, row by row, as ingest used to. One agent report is one transaction
// across agents, CIs, series, inventory and the audit trail (reports.cpp),
// through the *_in/save/write helpers below, which expect to run inside it.
#pragma once

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sqlite_db.hpp"
#include "wal.hpp"
#include "surveyor/collector/store/bound.hpp"
#include "surveyor/collector/store/denominators.hpp"
#include "surveyor/collector/store/stores.hpp"
#include "surveyor/core/crypto.hpp"

namespace surveyor::collector::sqlite {

struct Backend {
  Backend(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers,
          std::string path_)
      : pool(std::move(writer), std::move(readers)), path(std::move(path_)) {
    // Any row of `cis` the writer changes (a CI written, its state or time
    // seen moved, by whatever statement) makes every sighting verified so
    // far one to verify again.
    pool.with_writer([this](Connection& c) { sqlite3_update_hook(c.handle(), &Backend::cis_changed, this); });
  }
  ~Backend() {
    pool.with_writer([](Connection& c) {
      sqlite3_wal_hook(c.handle(), nullptr, nullptr);
      sqlite3_update_hook(c.handle(), nullptr, nullptr);
    });
  }
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;
  Pool pool;
  std::string path;
  bool synchronous_full = true;
  // Checkpoints beside the writer, and the syncs of report groups.
  std::unique_ptr<WalKeeper> wal;
  // Group commit of reports (reports.cpp): at most this many per
  // transaction, gathered for up to this long (0: those already waiting).
  std::size_t group_commit_max = 64;
  std::chrono::milliseconds group_commit_delay{0};
  // Touched only under the writer lock:
  // series identity -> row id and unit;
  std::unordered_map<std::string, std::pair<std::int64_t, std::string>> series_ids;
  // series id -> end of its newest chunk (INT64_MIN: none), loaded on first use;
  std::unordered_map<std::int64_t, std::int64_t> chunk_end;
  // series id -> newest time it has in the head (absent: none), for the CIs
  // in head_loaded, whose head rows have been read since the last clear();
  std::unordered_map<std::int64_t, std::int64_t> head_newest;
  std::unordered_set<std::string> head_loaded;
  // CI id -> its inventory's sections without their data: the states and
  // digests that most reports' acknowledgements carry (reports.cpp), for
  // at most kInventoryStatesCached CIs; dropped when a report writes them;
  std::unordered_map<std::string, std::vector<store::InventorySection>> inventory_states;
  static constexpr std::size_t kInventoryStatesCached = 20'000;
  // CI id -> the attributes its agent's last sighting named, found held by
  // the active CI (sight_in): the same update again is a plain sighting
  // without reading the CI. Forgotten whole when the writer changes a row
  // of `cis` (cis_changed), when another connection has committed since
  // the writer last looked (check_others_wrote: another process, such as
  // `surveyor-collector agent approve` or an operator's sqlite3, may have
  // changed a CI), and with the other caches; at most kSightingsCached CIs.
  std::unordered_map<std::string, store::AttrMap> sightings;
  static constexpr std::size_t kSightingsCached = 100'000;
  std::int64_t data_version = -1;  // PRAGMA data_version, as the writer last read it
  // the last CI maintain() visited.
  std::string maintain_cursor;
  // Not a view of rows (never cleared), used outside the writer lock:
  // hash of a series' identity -> what the codec learned of its values.
  store::DenominatorHints denominators;

  // Forgets every cache above but the cursor (a rolled-back transaction).
  void clear_caches() {
    series_ids.clear();
    chunk_end.clear();
    head_newest.clear();
    head_loaded.clear();
    inventory_states.clear();
    sightings.clear();
  }

  // sqlite3_update_hook on the writer (under the writer lock, as every use
  // of its connection): a row of `cis` inserted, updated or deleted.
  static void cis_changed(void* self, int, const char*, const char* table, sqlite3_int64) {
    if (std::string_view(table) == "cis") static_cast<Backend*>(self)->sightings.clear();
  }

  // Every write to the store goes through these. With synchronous = FULL
  // what `f` commits on the writer is written with NORMAL (the WAL written,
  // not synced), and the fdatasync that makes it durable
  // (WalKeeper::sync_through) is left until the writer is released: the
  // next write goes on while the disk answers, rather than wait behind an
  // incident's or a timeline's sync. What a crash can lose is what FULL
  // can, as long as nobody hears of a write before its sync has returned.
  //
  // write_unsynced: `f`'s result and the commit to sync (0: none), for a
  // caller that answers after syncing it (the report groups, reports.cpp).
  template <class F>
  auto write_unsynced(F&& f) {
    using R = std::invoke_result_t<F&, Connection&>;
    std::uint64_t to_sync = 0;
    R r = pool.with_writer([&](Connection& c) -> R {
      if (!synchronous_full || !wal) return f(c);
      if (auto normal = run_cached(c, "PRAGMA synchronous = NORMAL"); !normal) return R(std::move(normal).error());
      struct Full {  // back to FULL if `f` throws
        Connection* c;
        ~Full() {
          if (c != nullptr) (void)run_cached(*c, "PRAGMA synchronous = FULL");
        }
      } full{&c};
      const sqlite3_int64 before = sqlite3_total_changes64(c.handle());
      R out = f(c);
      // Rows changed: a commit to sync (or a rollback, which costs a sync
      // of nothing new).
      if (sqlite3_total_changes64(c.handle()) != before) to_sync = wal->committed();
      full.c = nullptr;
      // The writer's transactions outside these keep their own fsync.
      if (auto back = run_cached(c, "PRAGMA synchronous = FULL"); !back && out) return R(std::move(back).error());
      return out;
    });
    return std::pair<R, std::uint64_t>(std::move(r), to_sync);
  }
  // write: `f`'s result once the sync has returned, or the sync's error. A
  // write that changed nothing may have found what a collector killed
  // before its sync had committed (a client's retry finding its change
  // made): it is answered once the log as found at open (commit 1) is
  // synced, at once after the first sync, so a no-op step (maintenance, a
  // lease held elsewhere) never waits for the reports' syncs.
  template <class F>
  auto write(F&& f) {
    auto [r, to_sync] = write_unsynced(std::forward<F>(f));
    if (to_sync == 0 && r && synchronous_full && wal) to_sync = 1;
    if (to_sync != 0)
      if (auto synced = wal->sync_through(to_sync); !synced) return decltype(r)(std::move(synced).error());
    return std::move(r);
  }
  // A statement that returns nothing, prepared once on the connection.
  static core::Status run_cached(Connection& c, const char* sql);
  // In a write transaction, before reading through the caches that only
  // this writer's changes keep true (sightings): forgets those when
  // another connection has committed since the writer last looked.
  core::Status check_others_wrote(Connection& c);
};

using namespace store;  // every domain file here implements store interfaces

// The base of each domain's store class: Bound<AgentStore>, ...
template <class Interface>
using Bound = store::Bound<Interface, Backend>;

// Prepares `sql` on `conn` as `var`, or returns the error from the caller.
#define SURVEYOR_TRY_STMT(var, conn, sql) \
  auto var##_r = (conn).prepare(sql);     \
  if (!var##_r) return std::move(var##_r).error(); \
  Stmt& var = **var##_r

inline core::Status Backend::check_others_wrote(Connection& c) {
  SURVEYOR_TRY_STMT(s, c, "PRAGMA data_version");
  const int rc = s.step();
  if (rc != SQLITE_ROW) return c.error(rc, "read the data version");
  const std::int64_t now = s.int64(0);
  if (now != data_version) sightings.clear();
  data_version = now;
  return {};
}

inline core::Status Backend::run_cached(Connection& c, const char* sql) {
  SURVEYOR_TRY_STMT(s, c, sql);
  if (int rc = s.step(); rc != SQLITE_DONE && rc != SQLITE_ROW) return c.error(rc, sql);
  return {};
}

// The head keeps a value's bits, as the chunks do: -0.0 and NaN payloads
// survive (a REAL column turns -0.0 into 0 and NaN into NULL).
inline std::int64_t to_bits(double v) { return std::bit_cast<std::int64_t>(v); }
inline double from_bits(std::int64_t b) { return std::bit_cast<double>(b); }

// Schema (schema.cpp): creates or upgrades the database, in one transaction.
core::Status migrate(Connection& c);

// Inside a write transaction (cmdb.cpp, audit.cpp, changes.cpp):
core::Result<std::optional<store::Ci>> load_ci(Connection& c, std::string_view id);
core::Result<store::Ci> upsert_in(Connection& c, const store::CiUpdate& u);
// An agent's sighting of an active CI that changes nothing else (no name,
// prefixes or state; attributes, whole numbers or strings, all equal to the
// stored ones): only last_seen_ms moves, without parsing or rewriting the
// attributes (what merge_ci and upsert_in would do, with nothing to audit).
// False, and nothing written, when the update is more than that or the CI
// is not there or not active: then upsert_in. by_its_agent: the CI is the
// reporting agent's own, whose row keeps the time (agents.ci_seen_ms, which
// the CI's readers take into last_seen_ms): the CI is only checked, and its
// page is not written with every report.
// Backend::sightings holds the updates found plain already.
core::Result<bool> sight_in(Connection& c, Backend& b, const store::CiUpdate& u, bool by_its_agent);
core::Status bump_counter(Connection& c, const char* name);
core::Status write_audit(Connection& c, std::vector<store::AuditRecord> records);
// The audit table's columns as audit_row reads them, and one row of them.
#define SURVEYOR_AUDIT_COLUMNS                                                                                  \
  "id, time_ms, ci_id, kind, key, old_value, new_value, origin, change_id, unauthorized, alert, actor, seq, " \
  "prev_hash, hash"
store::AuditRecord audit_row(Stmt& s);
core::Result<std::vector<store::ChangeRecord>> changes_of(Connection& c, std::string_view ci_id, std::size_t limit);

// Relationships inside a write transaction (relations.cpp); a report's
// components are followed with them.
core::Result<std::vector<store::Relationship>> relationships_in(Connection& c, std::string_view ci_id);
core::Result<bool> add_relationship_in(Connection& c, const store::Relationship& r, std::string_view actor);
core::Result<bool> remove_relationship_in(Connection& c, const store::Relationship& r, std::string_view origin,
                                          std::string_view actor,
                                          std::int64_t now_ms);
core::Status follow_components(Connection& c, std::string_view host_ci, const store::ComponentKinds& kinds,
                               std::int64_t now_ms);

// Series and inventory inside a report's transaction (series.cpp, inventory.cpp):
// The samples of one head row: series id -> samples (sorted, unique).
using RowSamples = std::map<std::int64_t, std::vector<store::Sample>>;
// Writes one head row for a CI (rolled_up: its rollups are stored already),
// unless it holds no sample. A series found in `encoded` takes that chunk
// (encode_chunk of its samples, made already); the others are encoded here.
core::Status insert_head_row(Connection& c, std::string_view ci_id, const RowSamples& by_series, bool rolled_up,
                             const std::map<std::int64_t, std::string_view>* encoded = nullptr);

using ReportSeries = std::vector<std::pair<store::SeriesInfo, std::vector<store::Sample>>>;
// What a report's series need that the writer does not: worked out on the
// report's own thread before it waits for the writer, so that the writer,
// which applies one report at a time, only reads and writes rows.
struct PreparedSeries {
  std::string identity;              // the key of Backend::series_ids (series_identity)
  std::vector<store::Sample> sorted; // merge_samples: sorted, one sample a time
  std::string chunk;                 // encode_chunk(sorted), with the series' denominator hint
};
// One for each of `series`, in order. Throws only bad_alloc.
// (report_series.cpp, as append_samples.)
std::vector<PreparedSeries> prepare_series(Backend& b, const ReportSeries& series);
// The samples of `sorted` (merge_samples) series `id` does not hold yet
// (series.cpp), as append_samples asks.
core::Result<std::vector<store::Sample>> fresh_samples(Connection& c, Backend& b, const std::string& ci_id,
                                                       std::int64_t id, const std::vector<store::Sample>& sorted);
// Appends a report's samples (new times only) to the head: one row per CI.
// `prepared` is prepare_series(b, series). A CI its new series would take
// past `max_series` (0: no bound) fails the call with StoreErrc::limit.
core::Status append_samples(Connection& c, Backend& b, const ReportSeries& series,
                            const std::vector<PreparedSeries>& prepared, std::size_t max_series);
// A CI's inventory sections; without their data (only states and digests,
// read without the data's overflow pages) when `with_data` is false.
core::Result<std::vector<store::InventorySection>> load_inventory(Connection& c, std::string_view ci_id,
                                                                  bool with_data = true);
core::Status save_section(Connection& c, std::string_view ci_id, const store::InventorySection& x);

// One factory per store, each in its domain's file.
SURVEYOR_STORE_FACTORIES(Backend);

}  // namespace surveyor::collector::sqlite
