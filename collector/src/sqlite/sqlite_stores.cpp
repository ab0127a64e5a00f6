// SPDX-License-Identifier: Apache-2.0
// The embedded store: SQLite in WAL mode, one writer connection and a few
// readers. Design: every write runs in one BEGIN IMMEDIATE transaction on the
// writer; with synchronous=FULL a COMMIT has reached the disk when it returns,
// which is what lets the API answer 202 only for durable reports. New samples
// are raw rows keyed (series, time) -- the head -- so a replayed sample is
// ignored by the key; maintain() moves closed blocks of the head into one
// compressed chunk per (series, block). A late sample for a block already
// compacted is checked against its chunk at ingest and merged into it by the
// next pass. Hourly rollups are updated in the same transaction as the
// samples, from the samples that were new.
#include "surveyor/collector/sqlite/sqlite_stores.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <unordered_map>

#include "event_query.hpp"
#include "sqlite_db.hpp"
#include "surveyor/core/crypto.hpp"

namespace surveyor::collector::sqlite {
namespace {

using namespace store;

constexpr int kSchemaVersion = 6;
// How many recent sequence numbers per agent are remembered for
// de-duplication: more than an agent's spool holds by default (10,080
// reports, a week at 60 s), so every replay is recognised.
constexpr std::uint64_t kSeenWindow = 16'384;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS agents(
  id TEXT PRIMARY KEY, key_hash TEXT NOT NULL, host_id TEXT NOT NULL, hostname TEXT NOT NULL,
  ci_id TEXT NOT NULL, agent_version TEXT NOT NULL, enrolled_at_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL DEFAULT 0, last_sequence INTEGER NOT NULL DEFAULT 0,
  heartbeat_interval_s INTEGER NOT NULL DEFAULT 0, inventory_digest TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS reports_seen(
  agent_id TEXT NOT NULL, sequence INTEGER NOT NULL, received_at_ms INTEGER NOT NULL,
  PRIMARY KEY(agent_id, sequence)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cis(
  id TEXT PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL, source TEXT NOT NULL,
  state TEXT NOT NULL, attributes TEXT NOT NULL, first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, protected TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS cis_by_name ON cis(name, id);
CREATE INDEX IF NOT EXISTS cis_by_type ON cis(type, name, id);
CREATE TABLE IF NOT EXISTS series(
  id INTEGER PRIMARY KEY, ci_id TEXT NOT NULL, metric TEXT NOT NULL, attributes TEXT NOT NULL,
  unit TEXT NOT NULL, UNIQUE(ci_id, metric, attributes));
CREATE TABLE IF NOT EXISTS inventory_sections(
  ci_id TEXT NOT NULL, section TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL,
  digest TEXT NOT NULL, data TEXT NOT NULL, updated_ms INTEGER NOT NULL,
  PRIMARY KEY(ci_id, section)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS head(
  series_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, bits INTEGER NOT NULL,
  PRIMARY KEY(series_id, time_ms)) WITHOUT ROWID;
-- A rowid table: chunks (1-3 KB) fit in its pages; a WITHOUT ROWID table
-- would spill each into a half-empty overflow page.
CREATE TABLE IF NOT EXISTS chunks(
  series_id INTEGER NOT NULL, block_start INTEGER NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY(series_id, block_start));
CREATE TABLE IF NOT EXISTS events(
  id TEXT PRIMARY KEY, dedup_key TEXT NOT NULL, kind TEXT NOT NULL, rule TEXT NOT NULL, ci_id TEXT NOT NULL,
  metric TEXT NOT NULL, attributes TEXT NOT NULL, state TEXT NOT NULL, opened_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL, resolved_ms INTEGER NOT NULL, threshold REAL, value REAL,
  predicted_ms INTEGER, summary TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS events_open ON events(dedup_key) WHERE state = 'open';
CREATE INDEX IF NOT EXISTS events_by_time ON events(opened_ms);
CREATE INDEX IF NOT EXISTS events_open_by_time ON events(opened_ms DESC, id) WHERE state = 'open';
CREATE INDEX IF NOT EXISTS events_resolved ON events(resolved_ms) WHERE state = 'resolved';
CREATE TABLE IF NOT EXISTS relationships(
  from_ci TEXT NOT NULL, type TEXT NOT NULL, to_ci TEXT NOT NULL, origin TEXT NOT NULL, created_ms INTEGER NOT NULL,
  PRIMARY KEY(from_ci, type, to_ci)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS relationships_to ON relationships(to_ci);
CREATE TABLE IF NOT EXISTS audit(
  id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, ci_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
  old_value TEXT NOT NULL, new_value TEXT NOT NULL, origin TEXT NOT NULL, change_id TEXT NOT NULL,
  unauthorized INTEGER NOT NULL, alert INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_ci ON audit(ci_id, time_ms);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit(time_ms);
CREATE INDEX IF NOT EXISTS audit_alerts ON audit(ci_id, key, time_ms) WHERE alert = 1;
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit entries are immutable'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit entries are immutable'); END;
CREATE TABLE IF NOT EXISTS changes(
  id TEXT PRIMARY KEY, reference TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
  description TEXT NOT NULL, origin TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS change_cis(
  ci_id TEXT NOT NULL, change_id TEXT NOT NULL, PRIMARY KEY(ci_id, change_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS timeline(
  subject TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, state TEXT NOT NULL,
  PRIMARY KEY(subject, start_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases(name TEXT PRIMARY KEY, holder TEXT NOT NULL, until_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS services(
  name TEXT PRIMARY KEY, definition TEXT NOT NULL, origin TEXT NOT NULL, updated_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rollups(
  series_id INTEGER NOT NULL, hour_ms INTEGER NOT NULL, count INTEGER NOT NULL, sum REAL,
  min REAL, max REAL, PRIMARY KEY(series_id, hour_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incidents(
  id TEXT PRIMARY KEY, number INTEGER NOT NULL UNIQUE, dedup_key TEXT NOT NULL, kind TEXT NOT NULL,
  subject TEXT NOT NULL, state TEXT NOT NULL, priority INTEGER NOT NULL, opened_ms INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS incidents_by_key ON incidents(dedup_key, number);
CREATE INDEX IF NOT EXISTS incidents_by_opened ON incidents(opened_ms, number);
CREATE TABLE IF NOT EXISTS deliveries(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL, webhook TEXT NOT NULL, message_id TEXT NOT NULL,
  incidents TEXT NOT NULL, attempt INTEGER NOT NULL, status INTEGER NOT NULL, error TEXT NOT NULL,
  delivered INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sla_reports(
  service TEXT NOT NULL, period TEXT NOT NULL, version INTEGER NOT NULL, created_ms INTEGER NOT NULL,
  by TEXT NOT NULL, reason TEXT NOT NULL, report TEXT NOT NULL, PRIMARY KEY(service, period, version)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS sla_reports_immutable BEFORE UPDATE ON sla_reports
  BEGIN SELECT RAISE(ABORT, 'stored SLA reports are never changed'); END;
CREATE TRIGGER IF NOT EXISTS sla_reports_kept BEFORE DELETE ON sla_reports
  BEGIN SELECT RAISE(ABORT, 'stored SLA reports are never removed'); END;
)sql";

constexpr const char* kCiColumns =
    "id, type, name, source, state, attributes, first_seen_ms, last_seen_ms, updated_ms, protected";

struct Backend {
  Backend(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers,
          std::string path_)
      : pool(std::move(writer), std::move(readers)), path(std::move(path_)) {}
  Pool pool;
  std::string path;
  bool synchronous_full = true;
  // Touched only under the writer lock:
  // series identity -> row id and unit;
  std::unordered_map<std::string, std::pair<std::int64_t, std::string>> series_ids;
  // series id -> end of its newest chunk (INT64_MIN: none), loaded on first use;
  std::unordered_map<std::int64_t, std::int64_t> chunk_end;
  // the last series id maintain() visited.
  std::int64_t maintain_cursor = 0;
};

#define SURVEYOR_TRY_STMT(var, conn, sql) \
  auto var##_r = (conn).prepare(sql);     \
  if (!var##_r) return std::move(var##_r).error(); \
  Stmt& var = **var##_r

core::Result<Ci> read_ci(Stmt& s) {
  Ci c;
  c.id = s.text(0);
  c.type = s.text(1);
  c.name = s.text(2);
  c.source = s.text(3);
  auto state = ci_state_from(s.text(4));
  if (!state) return core::make_error(StoreErrc::corrupt, "CI " + c.id + ": unknown state");
  c.state = *state;
  auto attrs = attrs_from_json(s.text(5));
  if (!attrs) return std::move(attrs).error();
  c.attributes = std::move(*attrs);
  c.first_seen_ms = s.int64(6);
  c.last_seen_ms = s.int64(7);
  c.updated_ms = s.int64(8);
  auto keys = keys_from_json(s.text(9));
  if (!keys) return std::move(keys).error();
  c.protected_keys = std::move(*keys);
  return c;
}

core::Result<std::optional<Ci>> load_ci(Connection& c, std::string_view id) {
  SURVEYOR_TRY_STMT(s, c, std::string("SELECT ") + kCiColumns + " FROM cis WHERE id = ?1");
  s.bind(1, id);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<Ci>{};
  if (rc != SQLITE_ROW) return c.error(rc, "read CI");
  auto ci = read_ci(s);
  if (!ci) return std::move(ci).error();
  return std::optional<Ci>{std::move(*ci)};
}

core::Status save_ci(Connection& c, const Ci& ci) {
  SURVEYOR_TRY_STMT(s, c,
                    "INSERT INTO cis(id, type, name, source, state, attributes, first_seen_ms, "
                    "last_seen_ms, updated_ms, protected) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                    "ON CONFLICT(id) DO UPDATE SET type = ?2, name = ?3, source = ?4, state = ?5, "
                    "attributes = ?6, first_seen_ms = ?7, last_seen_ms = ?8, updated_ms = ?9, protected = ?10");
  s.bind(1, ci.id).bind(2, ci.type).bind(3, ci.name).bind(4, ci.source).bind(5, to_string(ci.state));
  const std::string attrs = attrs_to_json(ci.attributes);
  s.bind(6, attrs).bind(7, ci.first_seen_ms).bind(8, ci.last_seen_ms).bind(9, ci.updated_ms);
  const std::string keys = keys_to_json(ci.protected_keys);
  s.bind(10, keys);
  const int rc = s.step();
  if (rc != SQLITE_DONE) return c.error(rc, "write CI");
  return {};
}

core::Result<std::vector<ChangeRecord>> changes_of(Connection& c, std::string_view ci_id, std::size_t limit);

core::Status bump_counter(Connection& c, const char* name) {
  SURVEYOR_TRY_STMT(s, c,
                    "INSERT INTO counters(name, value) VALUES(?1, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1");
  s.bind(1, std::string_view(name));
  if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "count");
  return {};
}

// Appends audit entries, linked to the CI's change records or flagged.
core::Status write_audit(Connection& c, std::vector<AuditRecord> records) {
  if (records.empty()) return {};
  std::map<std::string, std::vector<ChangeRecord>> changes;  // per CI
  for (const AuditRecord& r : records)
    if (!changes.contains(r.ci_id)) {
      auto ch = changes_of(c, r.ci_id, 1000);
      if (!ch) return std::move(ch).error();
      changes[r.ci_id] = std::move(*ch);
    }
  std::string failure;
  for (auto& [ci, list] : changes) {
    std::vector<AuditRecord> part;
    for (AuditRecord& r : records)
      if (r.ci_id == ci) part.push_back(r);
    classify_changes(part, list, [&c, &failure](const AuditRecord& r) {
      auto q = c.prepare("SELECT 1 FROM audit WHERE ci_id = ?1 AND key = ?2 AND alert = 1 AND time_ms > ?3 LIMIT 1");
      if (!q) {
        failure = q.error().message;
        return false;
      }
      Stmt& s = **q;
      s.bind(1, r.ci_id).bind(2, r.key).bind(3, r.time_ms - kFlapWindowMs);
      return s.step() == SQLITE_ROW;
    });
    std::size_t k = 0;
    for (AuditRecord& r : records)
      if (r.ci_id == ci) r = part[k++];
  }
  if (!failure.empty()) return core::make_error(StoreErrc::io, failure);
  SURVEYOR_TRY_STMT(ins, c,
                    "INSERT INTO audit(time_ms, ci_id, kind, key, old_value, new_value, origin, change_id, "
                    "unauthorized, alert) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  for (const AuditRecord& r : records) {
    ins.reset();
    ins.bind(1, r.time_ms).bind(2, r.ci_id).bind(3, r.kind).bind(4, r.key).bind(5, r.old_value);
    ins.bind(6, r.new_value).bind(7, r.origin).bind(8, r.change_id);
    ins.bind(9, std::int64_t{r.unauthorized}).bind(10, std::int64_t{r.alert});
    if (int rc = ins.step(); rc != SQLITE_DONE) return c.error(rc, "write audit entry");
  }
  return {};
}

core::Result<Ci> upsert_in(Connection& c, const CiUpdate& u) {
  auto existing = load_ci(c, u.id);
  if (!existing) return std::move(existing).error();
  Ci merged = merge_ci(*existing, u);
  if (auto st = save_ci(c, merged); !st) return std::move(st).error();
  if (auto st = write_audit(c, audit_ci(*existing, merged, u.source, u.seen_at_ms)); !st) return std::move(st).error();
  return merged;
}

std::string series_identity(const SeriesKey& k, const std::string& attrs_json) {
  return k.ci_id + '\x1f' + k.metric + '\x1f' + attrs_json;
}

core::Result<std::int64_t> series_id_for(Connection& c, Backend& b, const SeriesInfo& info) {
  const std::string attrs = labels_to_json(info.key.attributes);
  const std::string identity = series_identity(info.key, attrs);
  // A known series with an unchanged unit needs no write.
  if (auto it = b.series_ids.find(identity); it != b.series_ids.end() && it->second.second == info.unit)
    return it->second.first;
  {
    SURVEYOR_TRY_STMT(ins, c,
                      "INSERT INTO series(ci_id, metric, attributes, unit) VALUES(?1, ?2, ?3, ?4) "
                      "ON CONFLICT(ci_id, metric, attributes) DO UPDATE SET unit = ?4");
    ins.bind(1, info.key.ci_id).bind(2, info.key.metric).bind(3, attrs).bind(4, info.unit);
    if (int rc = ins.step(); rc != SQLITE_DONE) return c.error(rc, "write series");
  }
  SURVEYOR_TRY_STMT(sel, c, "SELECT id FROM series WHERE ci_id = ?1 AND metric = ?2 AND attributes = ?3");
  sel.bind(1, info.key.ci_id).bind(2, info.key.metric).bind(3, attrs);
  if (int rc = sel.step(); rc != SQLITE_ROW) return c.error(rc, "read series id");
  const std::int64_t id = sel.int64(0);
  b.series_ids[identity] = {id, info.unit};
  return id;
}

core::Result<std::vector<InventorySection>> load_inventory(Connection& c, std::string_view ci_id) {
  SURVEYOR_TRY_STMT(s, c,
                    "SELECT section, state, reason, digest, data, updated_ms FROM inventory_sections "
                    "WHERE ci_id = ?1 ORDER BY section");
  s.bind(1, ci_id);
  std::vector<InventorySection> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.int64(5)});
  if (rc != SQLITE_DONE) return c.error(rc, "read inventory");
  return out;
}

core::Status save_section(Connection& c, std::string_view ci_id, const InventorySection& x) {
  SURVEYOR_TRY_STMT(s, c,
                    "INSERT INTO inventory_sections(ci_id, section, state, reason, digest, data, updated_ms) "
                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(ci_id, section) DO UPDATE SET "
                    "state = ?3, reason = ?4, digest = ?5, data = ?6, updated_ms = ?7");
  s.bind(1, ci_id).bind(2, x.name).bind(3, x.state).bind(4, x.reason).bind(5, x.digest).bind(6, x.data_json);
  s.bind(7, x.updated_ms);
  if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write inventory");
  return {};
}

constexpr std::int64_t kNoChunk = std::numeric_limits<std::int64_t>::min();

// The head keeps a value's bits, as the chunks do: -0.0 and NaN payloads
// survive (a REAL column turns -0.0 into 0 and NaN into NULL).
std::int64_t to_bits(double v) { return std::bit_cast<std::int64_t>(v); }
double from_bits(std::int64_t b) { return std::bit_cast<double>(b); }

// The lowest block start whose block can hold times >= from_ms.
std::int64_t first_block_for(std::int64_t from_ms) {
  return from_ms <= kNoChunk + kBlockMs ? kNoChunk : floor_to(from_ms, kBlockMs);
}

core::Result<std::optional<std::int64_t>> find_series_id(Connection& c, const SeriesKey& key) {
  SURVEYOR_TRY_STMT(s, c, "SELECT id FROM series WHERE ci_id = ?1 AND metric = ?2 AND attributes = ?3");
  s.bind(1, key.ci_id).bind(2, key.metric).bind(3, labels_to_json(key.attributes));
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<std::int64_t>{};
  if (rc != SQLITE_ROW) return c.error(rc, "find series");
  return std::optional<std::int64_t>{s.int64(0)};
}

core::Result<std::vector<Sample>> decode_stored(std::string_view bytes, std::int64_t series_id, std::int64_t block) {
  auto d = codec::decode_chunk(bytes);
  if (!d)
    return core::make_error(StoreErrc::corrupt, "chunk of series " + std::to_string(series_id) + " at " +
                                                    std::to_string(block) + ": " + d.error().describe());
  return d;
}

// The chunk of one block, or nothing.
core::Result<std::vector<Sample>> load_chunk(Connection& c, std::int64_t series_id, std::int64_t block) {
  SURVEYOR_TRY_STMT(s, c, "SELECT data FROM chunks WHERE series_id = ?1 AND block_start = ?2");
  s.bind(1, series_id).bind(2, block);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::vector<Sample>{};
  if (rc != SQLITE_ROW) return c.error(rc, "read chunk");
  return decode_stored(s.blob(0), series_id, block);
}

// Samples of a series with from <= time < to, oldest first, at most `limit`:
// chunks and head merged (run inside one read snapshot).
core::Result<std::vector<Sample>> read_series(Connection& c, std::int64_t id, std::int64_t from_ms,
                                              std::int64_t to_ms, std::size_t limit) {
  std::vector<Sample> held;
  {
    SURVEYOR_TRY_STMT(s, c,
                      "SELECT block_start, data FROM chunks WHERE series_id = ?1 AND block_start >= ?2 "
                      "AND block_start < ?3 ORDER BY block_start");
    s.bind(1, id).bind(2, first_block_for(from_ms)).bind(3, to_ms);
    int rc = SQLITE_DONE;
    // Chunks come in time order: once `limit` samples are held, later ones cannot make the cut.
    while (held.size() < limit && (rc = s.step()) == SQLITE_ROW) {
      auto d = decode_stored(s.blob(1), id, s.int64(0));
      if (!d) return std::move(d).error();
      for (const Sample& x : *d)
        if (x.time_ms >= from_ms && x.time_ms < to_ms) held.push_back(x);
    }
    if (held.size() < limit && rc != SQLITE_DONE) return c.error(rc, "read chunks");
  }
  std::vector<Sample> raw;
  {
    SURVEYOR_TRY_STMT(s, c,
                      "SELECT time_ms, bits FROM head WHERE series_id = ?1 AND time_ms >= ?2 "
                      "AND time_ms < ?3 ORDER BY time_ms LIMIT ?4");
    s.bind(1, id).bind(2, from_ms).bind(3, to_ms).bind(4, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) raw.push_back({s.int64(0), from_bits(s.int64(1))});
    if (rc != SQLITE_DONE) return c.error(rc, "read samples");
  }
  auto out = merge_samples(std::move(held), raw);
  if (out.size() > limit) out.resize(limit);
  return out;
}

// The newest sample of a series, head or chunks, if any.
core::Result<std::optional<Sample>> newest_sample(Connection& c, std::int64_t id) {
  std::optional<Sample> best;
  {
    SURVEYOR_TRY_STMT(s, c, "SELECT time_ms, bits FROM head WHERE series_id = ?1 ORDER BY time_ms DESC LIMIT 1");
    s.bind(1, id);
    const int rc = s.step();
    if (rc == SQLITE_ROW) best = Sample{s.int64(0), from_bits(s.int64(1))};
    else if (rc != SQLITE_DONE) return c.error(rc, "newest sample");
  }
  SURVEYOR_TRY_STMT(s, c,
                    "SELECT block_start, data FROM chunks WHERE series_id = ?1 ORDER BY block_start DESC LIMIT 1");
  s.bind(1, id);
  const int rc = s.step();
  if (rc == SQLITE_ROW) {
    auto d = decode_stored(s.blob(1), id, s.int64(0));
    if (!d) return std::move(d).error();
    if (!d->empty() && (!best || d->back().time_ms > best->time_ms)) best = d->back();
  } else if (rc != SQLITE_DONE) {
    return c.error(rc, "newest chunk");
  }
  return best;
}

core::Result<std::int64_t> chunk_end_of(Connection& c, Backend& b, std::int64_t id) {
  if (auto it = b.chunk_end.find(id); it != b.chunk_end.end()) return it->second;
  SURVEYOR_TRY_STMT(s, c, "SELECT MAX(block_start) FROM chunks WHERE series_id = ?1");
  s.bind(1, id);
  if (int rc = s.step(); rc != SQLITE_ROW) return c.error(rc, "newest chunk");
  const std::int64_t end = s.is_null(0) ? kNoChunk : s.int64(0) + kBlockMs;
  b.chunk_end[id] = end;
  return end;
}

// Appends the samples of one series inside the report's transaction: new
// times only (head and chunks both checked), and their rollups.
core::Status append_samples(Connection& c, Backend& b, std::int64_t id, const std::vector<Sample>& samples) {
  auto end = chunk_end_of(c, b, id);
  if (!end) return std::move(end).error();
  std::vector<Sample> fresh;
  fresh.reserve(samples.size());
  std::int64_t cached_block = kNoChunk;
  std::vector<Sample> cached;
  SURVEYOR_TRY_STMT(ins, c, "INSERT OR IGNORE INTO head(series_id, time_ms, bits) VALUES(?1, ?2, ?3)");
  for (const Sample& s : samples) {
    if (s.time_ms < *end) {  // late: the block may be compacted already
      const std::int64_t block = floor_to(s.time_ms, kBlockMs);
      if (block != cached_block) {
        auto chunk = load_chunk(c, id, block);
        // A damaged chunk must not stop ingest: its block takes the sample
        // into the head, and maintain() reports the damage.
        if (!chunk && chunk.error().code != StoreErrc::corrupt) return std::move(chunk).error();
        cached = chunk ? std::move(*chunk) : std::vector<Sample>{};
        cached_block = block;
      }
      if (std::binary_search(cached.begin(), cached.end(), s,
                             [](const Sample& x, const Sample& y) { return x.time_ms < y.time_ms; }))
        continue;
    }
    ins.bind(1, id).bind(2, s.time_ms).bind(3, to_bits(s.value));
    if (int rc = ins.step(); rc != SQLITE_DONE) return c.error(rc, "write sample");
    if (c.changes() == 1) fresh.push_back(s);
    ins.reset();
  }
  SURVEYOR_TRY_STMT(up, c,
                    "INSERT INTO rollups(series_id, hour_ms, count, sum, min, max) VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
                    "ON CONFLICT(series_id, hour_ms) DO UPDATE SET count = count + excluded.count, "
                    "sum = sum + excluded.sum, min = MIN(min, excluded.min), max = MAX(max, excluded.max)");
  for (const Rollup& r : rollups_of(fresh)) {
    up.bind(1, id).bind(2, r.start_ms).bind(3, r.count).bind(4, r.sum).bind(5, r.min).bind(6, r.max);
    if (int rc = up.step(); rc != SQLITE_DONE) return c.error(rc, "write rollup");
    up.reset();
  }
  return {};
}

// Retention, then compaction of every closed block of one series' head.
core::Status maintain_series(Connection& c, Backend& b, std::int64_t id, const SeriesMaintenance& m,
                             MaintenanceReport& rep) {
  const ExpiryBounds e = expiry_bounds(m);
  auto drop = [&](const char* sql, std::int64_t bound, std::size_t& counter) -> core::Status {
    SURVEYOR_TRY_STMT(d, c, sql);
    d.bind(1, id).bind(2, bound);
    if (int rc = d.step(); rc != SQLITE_DONE) return c.error(rc, "expire series data");
    counter += static_cast<std::size_t>(c.changes());
    return {};
  };
  if (auto st = drop("DELETE FROM chunks WHERE series_id = ?1 AND block_start < ?2", e.raw_before,
                     rep.chunks_expired); !st)
    return st;
  if (auto st = drop("DELETE FROM head WHERE series_id = ?1 AND time_ms < ?2", e.raw_before,
                     rep.samples_expired); !st)
    return st;
  if (auto st = drop("DELETE FROM rollups WHERE series_id = ?1 AND hour_ms < ?2", e.rollups_before,
                     rep.rollups_expired); !st)
    return st;

  const std::int64_t closed_before = floor_to(m.now_ms - m.grace_ms, kBlockMs);
  for (;;) {
    std::int64_t block;
    {
      SURVEYOR_TRY_STMT(s, c, "SELECT MIN(time_ms) FROM head WHERE series_id = ?1");
      s.bind(1, id);
      if (int rc = s.step(); rc != SQLITE_ROW) return c.error(rc, "oldest sample");
      if (s.is_null(0) || s.int64(0) >= closed_before) return {};
      block = floor_to(s.int64(0), kBlockMs);
    }
    std::vector<Sample> raw;
    {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT time_ms, bits FROM head WHERE series_id = ?1 AND time_ms >= ?2 "
                        "AND time_ms < ?3 ORDER BY time_ms");
      s.bind(1, id).bind(2, block).bind(3, block + kBlockMs);
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) raw.push_back({s.int64(0), from_bits(s.int64(1))});
      if (rc != SQLITE_DONE) return c.error(rc, "read head");
    }
    auto held = load_chunk(c, id, block);
    if (!held) return std::move(held).error();
    const std::vector<Sample> merged = merge_samples(std::move(*held), raw);
    {
      SURVEYOR_TRY_STMT(s, c, "INSERT OR REPLACE INTO chunks(series_id, block_start, data) VALUES(?1, ?2, ?3)");
      s.bind(1, id).bind(2, block).bind_blob(3, codec::encode_chunk(merged));
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write chunk");
    }
    {
      SURVEYOR_TRY_STMT(s, c, "DELETE FROM head WHERE series_id = ?1 AND time_ms >= ?2 AND time_ms < ?3");
      s.bind(1, id).bind(2, block).bind(3, block + kBlockMs);
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "trim head");
    }
    // A cached end moves; an uncached one is loaded from the table when needed.
    if (auto it = b.chunk_end.find(id); it != b.chunk_end.end()) it->second = std::max(it->second, block + kBlockMs);
    ++rep.blocks_compacted;
    rep.samples_compacted += raw.size();
  }
}

class SqliteAgentStore final : public AgentStore {
 public:
  explicit SqliteAgentStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Status create_agent(const AgentRecord& a) override {
    return b_->pool.with_writer([&](Connection& c) -> core::Status {
      SURVEYOR_TRY_STMT(s, c,
                        "INSERT INTO agents(id, key_hash, host_id, hostname, ci_id, agent_version, "
                        "enrolled_at_ms, last_seen_ms, last_sequence, heartbeat_interval_s, "
                        "inventory_digest) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
      s.bind(1, a.id).bind(2, a.key_hash).bind(3, a.host_id).bind(4, a.hostname).bind(5, a.ci_id);
      s.bind(6, a.agent_version).bind(7, a.enrolled_at_ms).bind(8, a.last_seen_ms);
      s.bind(9, static_cast<std::int64_t>(a.last_sequence));
      s.bind(10, static_cast<std::int64_t>(a.heartbeat_interval_s)).bind(11, a.inventory_digest);
      const int rc = s.step();
      if (rc != SQLITE_DONE) return c.error(rc, "create agent " + a.id);
      return {};
    });
  }

  core::Result<std::optional<AgentRecord>> find_agent(std::string_view id) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::optional<AgentRecord>> {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT id, key_hash, host_id, hostname, ci_id, agent_version, enrolled_at_ms, "
                        "last_seen_ms, last_sequence, heartbeat_interval_s, inventory_digest "
                        "FROM agents WHERE id = ?1");
      s.bind(1, id);
      const int rc = s.step();
      if (rc == SQLITE_DONE) return std::optional<AgentRecord>{};
      if (rc != SQLITE_ROW) return c.error(rc, "read agent");
      AgentRecord a;
      a.id = s.text(0);
      a.key_hash = s.text(1);
      a.host_id = s.text(2);
      a.hostname = s.text(3);
      a.ci_id = s.text(4);
      a.agent_version = s.text(5);
      a.enrolled_at_ms = s.int64(6);
      a.last_seen_ms = s.int64(7);
      a.last_sequence = static_cast<std::uint64_t>(s.int64(8));
      a.heartbeat_interval_s = static_cast<std::uint32_t>(s.int64(9));
      a.inventory_digest = s.text(10);
      return std::optional<AgentRecord>{std::move(a)};
    });
  }

 private:
  std::shared_ptr<Backend> b_;
};

class SqliteCmdbStore final : public CmdbStore {
 public:
  explicit SqliteCmdbStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<Ci> upsert_ci(const CiUpdate& u) override {
    return b_->pool.with_writer([&](Connection& c) {
      return in_transaction<Ci>(c, [&] { return upsert_in(c, u); });
    });
  }

  core::Result<std::optional<Ci>> find_ci(std::string_view id) override {
    return b_->pool.with_reader([&](Connection& c) { return load_ci(c, id); });
  }

  core::Result<std::vector<Ci>> list_cis(const CiFilter& f) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<Ci>> {
      // Only the conditions asked for, so the planner can use an index
      // (a "?1 = '' OR ..." condition makes it scan every CI).
      std::string where;
      if (!f.type.empty()) where += " AND type = ?1";
      if (!f.name.empty()) where += " AND name = ?2";
      SURVEYOR_TRY_STMT(s, c,
                        std::string("SELECT ") + kCiColumns + " FROM cis WHERE 1" + where +
                            " ORDER BY name, id LIMIT ?3 OFFSET ?4");
      if (!f.type.empty()) s.bind(1, f.type);
      if (!f.name.empty()) s.bind(2, f.name);
      s.bind(3, static_cast<std::int64_t>(f.limit)).bind(4, static_cast<std::int64_t>(f.offset));
      std::vector<Ci> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        auto ci = read_ci(s);
        if (!ci) return std::move(ci).error();
        out.push_back(std::move(*ci));
      }
      if (rc != SQLITE_DONE) return c.error(rc, "list CIs");
      return out;
    });
  }

 private:
  std::shared_ptr<Backend> b_;
};

class SqliteSeriesStore final : public SeriesStore {
 public:
  explicit SqliteSeriesStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<std::vector<SeriesInfo>> list_series(std::string_view ci_id) override {
    return b_->pool.with_reader([&](Connection& c) { return list_in(c, ci_id); });
  }

  core::Result<std::vector<Sample>> read_samples(const SeriesKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms, std::size_t limit) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<Sample>> {
      auto snap = ReadSnapshot::begin(c);
      if (!snap) return std::move(snap).error();
      auto id = find_series_id(c, key);
      if (!id) return std::move(id).error();
      if (!*id || from_ms >= to_ms || limit == 0) return std::vector<Sample>{};
      return read_series(c, **id, from_ms, to_ms, limit);
    });
  }

  core::Result<std::vector<LatestSample>> latest_samples(std::string_view ci_id, std::string_view metric) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<LatestSample>> {
      auto snap = ReadSnapshot::begin(c);
      if (!snap) return std::move(snap).error();
      auto series = list_in(c, ci_id);
      if (!series) return std::move(series).error();
      std::vector<LatestSample> out;
      for (const SeriesInfo& info : *series) {
        if (!metric.empty() && info.key.metric != metric) continue;
        auto id = find_series_id(c, info.key);
        if (!id) return std::move(id).error();
        if (!*id) continue;
        auto newest = newest_sample(c, **id);
        if (!newest) return std::move(newest).error();
        if (*newest) out.push_back(LatestSample{info, **newest});
      }
      return out;
    });
  }

  core::Result<std::vector<Rollup>> read_rollups(const SeriesKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<Rollup>> {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT r.hour_ms, r.count, r.sum, r.min, r.max FROM series s JOIN rollups r "
                        "ON r.series_id = s.id WHERE s.ci_id = ?1 AND s.metric = ?2 AND s.attributes = ?3 "
                        "AND r.hour_ms >= ?4 AND r.hour_ms < ?5 ORDER BY r.hour_ms");
      s.bind(1, key.ci_id).bind(2, key.metric).bind(3, labels_to_json(key.attributes));
      s.bind(4, from_ms).bind(5, to_ms);
      std::vector<Rollup> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.int64(0), s.int64(1), s.real(2), s.real(3), s.real(4)});
      if (rc != SQLITE_DONE) return c.error(rc, "read rollups");
      return out;
    });
  }

  core::Result<MaintenanceReport> maintain(const SeriesMaintenance& m) override {
    MaintenanceReport rep;
    const std::size_t per_step = std::max<std::size_t>(1, m.series_per_step);
    while (rep.series_visited < m.max_series) {
      // One short write transaction per step: ingest waits for one step at most.
      auto done = b_->pool.with_writer([&](Connection& c) {
        return in_transaction<bool>(c, [&]() -> core::Result<bool> {
          std::vector<std::int64_t> ids;
          {
            SURVEYOR_TRY_STMT(s, c, "SELECT id FROM series WHERE id > ?1 ORDER BY id LIMIT ?2");
            s.bind(1, b_->maintain_cursor).bind(2, static_cast<std::int64_t>(per_step));
            int rc;
            while ((rc = s.step()) == SQLITE_ROW) ids.push_back(s.int64(0));
            if (rc != SQLITE_DONE) return c.error(rc, "list series");
          }
          for (std::int64_t id : ids) {
            // A chunk that cannot be read fails before anything of its block is written.
            if (auto st = maintain_series(c, *b_, id, m, rep); !st) {
              if (st.error().code != StoreErrc::corrupt) return std::move(st).error();
              ++rep.damaged;
              rep.damage = st.error().describe();
            }
          }
          rep.series_visited += ids.size();
          b_->maintain_cursor = ids.empty() ? 0 : ids.back();
          return ids.size() < per_step;  // the walk came round
        });
      });
      if (!done) {
        b_->chunk_end.clear();  // the step was rolled back
        return std::move(done).error();
      }
      if (*done) {
        b_->maintain_cursor = 0;
        return rep;
      }
    }
    rep.more = true;
    return rep;
  }

 private:
  static core::Result<std::vector<SeriesInfo>> list_in(Connection& c, std::string_view ci_id) {
    SURVEYOR_TRY_STMT(s, c, "SELECT metric, attributes, unit FROM series WHERE ci_id = ?1 ORDER BY metric, attributes");
    s.bind(1, ci_id);
    std::vector<SeriesInfo> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      auto labels = labels_from_json(s.text(1));
      if (!labels) return std::move(labels).error();
      out.push_back(SeriesInfo{SeriesKey{std::string(ci_id), s.text(0), std::move(*labels)}, s.text(2)});
    }
    if (rc != SQLITE_DONE) return c.error(rc, "list series");
    return out;
  }

  std::shared_ptr<Backend> b_;
};

class SqliteReportStore final : public ReportStore {
 public:
  explicit SqliteReportStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<ApplyResult> apply_report(const ReportBatch& batch) override {
    return b_->pool.with_writer([&](Connection& c) {
      auto r = in_transaction<ApplyResult>(c, [&] { return apply(c, batch); });
      // Rows of a rolled-back transaction are gone: forget what was cached of them.
      if (!r) {
        b_->series_ids.clear();
        b_->chunk_end.clear();
      }
      return r;
    });
  }

 private:
  core::Result<ApplyResult> apply(Connection& c, const ReportBatch& batch) {
    const auto seq = static_cast<std::int64_t>(batch.sequence);
    ApplyResult result;
    {
      SURVEYOR_TRY_STMT(seen, c, "SELECT 1 FROM reports_seen WHERE agent_id = ?1 AND sequence = ?2");
      seen.bind(1, batch.agent_id).bind(2, seq);
      const int rc = seen.step();
      if (rc == SQLITE_ROW) result.outcome = ApplyOutcome::duplicate;
      else if (rc != SQLITE_DONE) return c.error(rc, "check sequence");
    }
    if (result.outcome == ApplyOutcome::duplicate) {
      if (batch.inventory_ci_id.empty()) return result;
      auto inv = load_inventory(c, batch.inventory_ci_id);
      if (!inv) return std::move(inv).error();
      result.inventory = std::move(*inv);
      return result;
    }
    for (const CiUpdate& u : batch.cis) {
      if (auto ci = upsert_in(c, u); !ci) return std::move(ci).error();
    }
    for (const auto& [info, samples] : batch.series) {
      auto id = series_id_for(c, *b_, info);
      if (!id) return std::move(id).error();
      if (auto st = append_samples(c, *b_, *id, samples); !st) return std::move(st).error();
    }
    {
      SURVEYOR_TRY_STMT(upd, c,
                        "UPDATE agents SET last_seen_ms = MAX(last_seen_ms, ?2), "
                        "last_sequence = MAX(last_sequence, ?3), heartbeat_interval_s = ?4, "
                        "inventory_digest = COALESCE(?5, inventory_digest) WHERE id = ?1");
      upd.bind(1, batch.agent_id).bind(2, batch.received_at_ms).bind(3, seq);
      upd.bind(4, static_cast<std::int64_t>(batch.heartbeat_interval_s));
      if (batch.inventory_digest) upd.bind(5, *batch.inventory_digest);
      if (int rc = upd.step(); rc != SQLITE_DONE) return c.error(rc, "update agent");
      if (c.changes() != 1) return core::make_error(StoreErrc::invalid, "unknown agent " + batch.agent_id);
    }
    {
      SURVEYOR_TRY_STMT(mark, c, "INSERT INTO reports_seen(agent_id, sequence, received_at_ms) VALUES(?1, ?2, ?3)");
      mark.bind(1, batch.agent_id).bind(2, seq).bind(3, batch.received_at_ms);
      if (int rc = mark.step(); rc != SQLITE_DONE) return c.error(rc, "remember sequence");
    }
    if (batch.sequence > kSeenWindow && batch.sequence % 1024 == 0) {
      SURVEYOR_TRY_STMT(prune, c, "DELETE FROM reports_seen WHERE agent_id = ?1 AND sequence < ?2");
      prune.bind(1, batch.agent_id).bind(2, static_cast<std::int64_t>(batch.sequence - kSeenWindow));
      if (int rc = prune.step(); rc != SQLITE_DONE) return c.error(rc, "prune sequences");
    }
    if (batch.inventory_ci_id.empty()) return result;
    auto held = load_inventory(c, batch.inventory_ci_id);
    if (!held) return std::move(held).error();
    for (const SectionUpdate& u : batch.sections) {
      std::optional<InventorySection> old;
      for (const InventorySection& s : *held)
        if (s.name == u.name) old = s;
      auto merged = merge_section(old, u, batch.received_at_ms);
      if (merged && merged != old) {
        if (auto st = save_section(c, batch.inventory_ci_id, *merged); !st) return std::move(st).error();
        if (merged->name == "packages" && has_baseline(old) && old->data_json != merged->data_json)
          if (auto st = write_audit(c, audit_software(batch.inventory_ci_id, old->data_json, merged->data_json, "agent",
                                                      batch.received_at_ms));
              !st)
            return std::move(st).error();
      }
    }
    auto after = load_inventory(c, batch.inventory_ci_id);
    if (!after) return std::move(after).error();
    result.inventory = std::move(*after);
    return result;
  }

  std::shared_ptr<Backend> b_;
};

class SqliteInventoryStore final : public InventoryStore {
 public:
  explicit SqliteInventoryStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}
  core::Result<std::vector<InventorySection>> get_inventory(std::string_view ci_id) override {
    return b_->pool.with_reader([&](Connection& c) { return load_inventory(c, ci_id); });
  }

 private:
  std::shared_ptr<Backend> b_;
};


core::Result<CapacityEvent> read_event(Stmt& s) {
  CapacityEvent e;
  e.id = s.text(0);
  e.kind = s.text(1);
  e.rule = s.text(2);
  e.ci_id = s.text(3);
  e.metric = s.text(4);
  auto labels = labels_from_json(s.text(5));
  if (!labels) return std::move(labels).error();
  e.attributes = std::move(*labels);
  e.state = s.text(6);
  e.opened_ms = s.int64(7);
  e.updated_ms = s.int64(8);
  e.resolved_ms = s.int64(9);
  e.threshold = s.real(10);
  e.value = s.real(11);
  if (!s.is_null(12)) e.predicted_ms = s.int64(12);
  e.summary = s.text(13);
  return e;
}

core::Result<std::optional<CapacityEvent>> open_event(Connection& c, const std::string& key) {
  SURVEYOR_TRY_STMT(s, c, std::string("SELECT ") + kEventColumns + " FROM events WHERE dedup_key = ?1 AND state = 'open'");
  s.bind(1, key);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<CapacityEvent>{};
  if (rc != SQLITE_ROW) return c.error(rc, "read event");
  auto e = read_event(s);
  if (!e) return std::move(e).error();
  return std::optional<CapacityEvent>{std::move(*e)};
}

class SqliteEventStore final : public EventStore {
 public:
  explicit SqliteEventStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<std::pair<CapacityEvent, bool>> raise_event(const CapacityEvent& in, std::int64_t now_ms) override {
    return b_->pool.with_writer([&](Connection& c) {
      return in_transaction<std::pair<CapacityEvent, bool>>(c, [&]() -> core::Result<std::pair<CapacityEvent, bool>> {
        const std::string key = event_key(in.rule, SeriesKey{in.ci_id, in.metric, in.attributes});
        auto held = open_event(c, key);
        if (!held) return std::move(held).error();
        if (*held) {
          CapacityEvent e = **held;
          e.value = in.value;
          e.threshold = in.threshold;
          e.predicted_ms = in.predicted_ms;
          e.summary = in.summary;
          e.updated_ms = now_ms;
          SURVEYOR_TRY_STMT(u, c,
                            "UPDATE events SET value = ?2, threshold = ?3, predicted_ms = ?4, summary = ?5, "
                            "updated_ms = ?6 WHERE id = ?1");
          u.bind(1, e.id).bind(2, e.value).bind(3, e.threshold);
          if (e.predicted_ms) u.bind(4, *e.predicted_ms);
          u.bind(5, e.summary).bind(6, now_ms);
          if (int rc = u.step(); rc != SQLITE_DONE) return c.error(rc, "update event");
          return std::pair{e, false};
        }
        CapacityEvent e = in;
        e.id = "evt-" + core::random_hex(8);
        e.state = "open";
        e.opened_ms = e.updated_ms = now_ms;
        e.resolved_ms = 0;
        SURVEYOR_TRY_STMT(i, c,
                          "INSERT INTO events(id, dedup_key, kind, rule, ci_id, metric, attributes, state, opened_ms, "
                          "updated_ms, resolved_ms, threshold, value, predicted_ms, summary) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8, ?8, 0, ?9, ?10, ?11, ?12)");
        i.bind(1, e.id).bind(2, key).bind(3, e.kind).bind(4, e.rule).bind(5, e.ci_id).bind(6, e.metric);
        i.bind(7, labels_to_json(e.attributes)).bind(8, now_ms).bind(9, e.threshold).bind(10, e.value);
        if (e.predicted_ms) i.bind(11, *e.predicted_ms);
        i.bind(12, e.summary);
        if (int rc = i.step(); rc != SQLITE_DONE) return c.error(rc, "open event");
        return std::pair{e, true};
      });
    });
  }

  core::Result<std::optional<CapacityEvent>> resolve_event(std::string_view rule, const SeriesKey& series,
                                                           std::int64_t now_ms) override {
    return b_->pool.with_writer([&](Connection& c) {
      return in_transaction<std::optional<CapacityEvent>>(c, [&]() -> core::Result<std::optional<CapacityEvent>> {
        auto held = open_event(c, event_key(rule, series));
        if (!held || !*held) return held;
        SURVEYOR_TRY_STMT(u, c, "UPDATE events SET state = 'resolved', resolved_ms = ?2 WHERE id = ?1");
        u.bind(1, (*held)->id).bind(2, now_ms);
        if (int rc = u.step(); rc != SQLITE_DONE) return c.error(rc, "resolve event");
        (*held)->state = "resolved";
        (*held)->resolved_ms = now_ms;
        return held;
      });
    });
  }

  core::Result<std::vector<CapacityEvent>> list_events(const EventFilter& f) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<CapacityEvent>> {
      SURVEYOR_TRY_STMT(s, c, event_list_sql(f));
      if (!f.state.empty() && f.state != "open") s.bind(1, f.state);
      if (!f.ci_id.empty()) s.bind(2, f.ci_id);
      if (!f.kind.empty()) s.bind(3, f.kind);
      s.bind(4, static_cast<std::int64_t>(std::min<std::size_t>(f.limit, INT64_MAX)));
      std::vector<CapacityEvent> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        auto e = read_event(s);
        if (!e) return std::move(e).error();
        out.push_back(std::move(*e));
      }
      if (rc != SQLITE_DONE) return c.error(rc, "list events");
      return out;
    });
  }

  core::Result<std::size_t> prune_events(std::int64_t resolved_before_ms) override {
    return b_->pool.with_writer([&](Connection& c) {
      return in_transaction<std::size_t>(c, [&]() -> core::Result<std::size_t> {
        SURVEYOR_TRY_STMT(s, c, "DELETE FROM events WHERE state = 'resolved' AND resolved_ms < ?1");
        s.bind(1, resolved_before_ms);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "prune events");
        return static_cast<std::size_t>(c.changes());
      });
    });
  }

 private:
  std::shared_ptr<Backend> b_;
};

core::Result<std::vector<ChangeRecord>> read_changes(Connection& c, Stmt& s) {
  std::vector<ChangeRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    ChangeRecord ch;
    ch.id = s.text(0);
    ch.reference = s.text(1);
    ch.start_ms = s.int64(2);
    ch.end_ms = s.int64(3);
    ch.description = s.text(4);
    ch.origin = s.text(5);
    ch.created_ms = s.int64(6);
    out.push_back(std::move(ch));
  }
  if (rc != SQLITE_DONE) return c.error(rc, "read changes");
  SURVEYOR_TRY_STMT(cis, c, "SELECT ci_id FROM change_cis WHERE change_id = ?1 ORDER BY ci_id");
  for (ChangeRecord& ch : out) {
    cis.reset();
    cis.bind(1, ch.id);
    while ((rc = cis.step()) == SQLITE_ROW) ch.ci_ids.push_back(cis.text(0));
    if (rc != SQLITE_DONE) return c.error(rc, "read change CIs");
  }
  return out;
}

constexpr const char* kChangeColumns = "id, reference, start_ms, end_ms, description, origin, created_ms";

core::Result<std::vector<ChangeRecord>> changes_of(Connection& c, std::string_view ci_id, std::size_t limit) {
  SURVEYOR_TRY_STMT(s, c,
                    std::string("SELECT ") + kChangeColumns +
                        " FROM changes WHERE id IN (SELECT change_id FROM change_cis WHERE ci_id = ?1) "
                        "ORDER BY start_ms DESC, id LIMIT ?2");
  s.bind(1, ci_id).bind(2, static_cast<std::int64_t>(limit));
  return read_changes(c, s);
}

class SqliteRelationStore final : public RelationStore {
 public:
  explicit SqliteRelationStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<bool> add_relationship(const Relationship& r) override {
    return b_->pool.with_writer([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        for (const std::string* id : {&r.from, &r.to}) {
          auto ci = load_ci(c, *id);
          if (!ci) return std::move(ci).error();
          if (!*ci) return core::make_error(StoreErrc::not_found, "no CI with id '" + *id + "'");
        }
        SURVEYOR_TRY_STMT(ins, c,
                          "INSERT OR IGNORE INTO relationships(from_ci, type, to_ci, origin, created_ms) "
                          "VALUES(?1, ?2, ?3, ?4, ?5)");
        ins.bind(1, r.from).bind(2, r.type).bind(3, r.to).bind(4, r.origin).bind(5, r.created_ms);
        if (int rc = ins.step(); rc != SQLITE_DONE) return c.error(rc, "add relationship");
        if (c.changes() == 0) return false;
        if (auto st = bump_counter(c, "relationships"); !st) return std::move(st).error();
        AuditRecord a;
        a.time_ms = r.created_ms;
        a.ci_id = r.from;
        a.kind = "relationship";
        a.key = r.type + " " + r.to;
        a.new_value = "true";
        a.origin = r.origin;
        if (auto st = write_audit(c, {a}); !st) return std::move(st).error();
        return true;
      });
    });
  }

  core::Result<bool> remove_relationship(const Relationship& r, std::string_view origin,
                                         std::int64_t now_ms) override {
    return b_->pool.with_writer([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(del, c, "DELETE FROM relationships WHERE from_ci = ?1 AND type = ?2 AND to_ci = ?3");
        del.bind(1, r.from).bind(2, r.type).bind(3, r.to);
        if (int rc = del.step(); rc != SQLITE_DONE) return c.error(rc, "remove relationship");
        if (c.changes() == 0) return false;
        if (auto st = bump_counter(c, "relationships"); !st) return std::move(st).error();
        AuditRecord a;
        a.time_ms = now_ms;
        a.ci_id = r.from;
        a.kind = "relationship";
        a.key = r.type + " " + r.to;
        a.old_value = "true";
        a.origin = std::string(origin);
        if (auto st = write_audit(c, {a}); !st) return std::move(st).error();
        return true;
      });
    });
  }

  core::Result<std::vector<Relationship>> relationships_of(std::string_view ci_id) override {
    return b_->pool.with_reader([&](Connection& c) {
      return query(c, "SELECT from_ci, type, to_ci, origin, created_ms FROM relationships WHERE from_ci = ?1 "
                      "UNION SELECT from_ci, type, to_ci, origin, created_ms FROM relationships WHERE to_ci = ?1 "
                      "ORDER BY 1, 2, 3",
                   ci_id);
    });
  }

  core::Result<std::vector<Relationship>> all_relationships() override {
    return b_->pool.with_reader([&](Connection& c) {
      return query(c, "SELECT from_ci, type, to_ci, origin, created_ms FROM relationships ORDER BY 1, 2, 3", {});
    });
  }

  core::Result<std::int64_t> relationships_version() override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::int64_t> {
      SURVEYOR_TRY_STMT(s, c, "SELECT value FROM counters WHERE name = 'relationships'");
      const int rc = s.step();
      if (rc == SQLITE_DONE) return std::int64_t{0};
      if (rc != SQLITE_ROW) return c.error(rc, "read version");
      return s.int64(0);
    });
  }

 private:
  static core::Result<std::vector<Relationship>> query(Connection& c, const char* sql, std::string_view arg) {
    SURVEYOR_TRY_STMT(s, c, sql);
    if (!arg.empty()) s.bind(1, arg);
    std::vector<Relationship> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.int64(4)});
    if (rc != SQLITE_DONE) return c.error(rc, "read relationships");
    return out;
  }

  std::shared_ptr<Backend> b_;
};

class SqliteAuditStore final : public AuditStore {
 public:
  explicit SqliteAuditStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<std::vector<AuditRecord>> list_audit(const AuditFilter& f) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<AuditRecord>> {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT id, time_ms, ci_id, kind, key, old_value, new_value, origin, change_id, unauthorized, "
                        "alert FROM audit WHERE (?1 = '' OR ci_id = ?1) AND time_ms >= ?2 AND time_ms < ?3 "
                        "AND (?4 = '' OR kind = ?4) AND (?5 = 0 OR alert = 1) ORDER BY time_ms DESC, id DESC LIMIT ?6");
      s.bind(1, f.ci_id).bind(2, f.from_ms).bind(3, f.to_ms).bind(4, f.kind);
      s.bind(5, std::int64_t{f.unauthorized}).bind(6, static_cast<std::int64_t>(f.limit));
      std::vector<AuditRecord> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        AuditRecord r;
        r.id = std::to_string(s.int64(0));
        r.time_ms = s.int64(1);
        r.ci_id = s.text(2);
        r.kind = s.text(3);
        r.key = s.text(4);
        r.old_value = s.text(5);
        r.new_value = s.text(6);
        r.origin = s.text(7);
        r.change_id = s.text(8);
        r.unauthorized = s.int64(9) != 0;
        r.alert = s.int64(10) != 0;
        out.push_back(std::move(r));
      }
      if (rc != SQLITE_DONE) return c.error(rc, "read audit");
      return out;
    });
  }

 private:
  std::shared_ptr<Backend> b_;
};

class SqliteChangeStore final : public ChangeStore {
 public:
  explicit SqliteChangeStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<ChangeRecord> create_change(const ChangeRecord& in) override {
    return b_->pool.with_writer([&](Connection& c) {
      return in_transaction<ChangeRecord>(c, [&]() -> core::Result<ChangeRecord> {
        ChangeRecord ch = in;
        ch.id = "chg-" + core::random_hex(8);
        std::sort(ch.ci_ids.begin(), ch.ci_ids.end());
        ch.ci_ids.erase(std::unique(ch.ci_ids.begin(), ch.ci_ids.end()), ch.ci_ids.end());
        SURVEYOR_TRY_STMT(ins, c,
                          "INSERT INTO changes(id, reference, start_ms, end_ms, description, origin, created_ms) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        ins.bind(1, ch.id).bind(2, ch.reference).bind(3, ch.start_ms).bind(4, ch.end_ms).bind(5, ch.description);
        ins.bind(6, ch.origin).bind(7, ch.created_ms);
        if (int rc = ins.step(); rc != SQLITE_DONE) return c.error(rc, "write change");
        SURVEYOR_TRY_STMT(link, c, "INSERT INTO change_cis(ci_id, change_id) VALUES(?1, ?2)");
        for (const std::string& id : ch.ci_ids) {
          link.reset();
          link.bind(1, id).bind(2, ch.id);
          if (int rc = link.step(); rc != SQLITE_DONE) return c.error(rc, "write change CI");
        }
        return ch;
      });
    });
  }

  core::Result<std::optional<ChangeRecord>> find_change(std::string_view id) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::optional<ChangeRecord>> {
      SURVEYOR_TRY_STMT(s, c, std::string("SELECT ") + kChangeColumns + " FROM changes WHERE id = ?1");
      s.bind(1, id);
      auto list = read_changes(c, s);
      if (!list) return std::move(list).error();
      if (list->empty()) return std::optional<ChangeRecord>{};
      return std::optional<ChangeRecord>{std::move(list->front())};
    });
  }

  core::Result<std::vector<ChangeRecord>> list_changes(const ChangeFilter& f) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<ChangeRecord>> {
      SURVEYOR_TRY_STMT(s, c,
                        std::string("SELECT ") + kChangeColumns +
                            " FROM changes WHERE (?1 = '' OR id IN (SELECT change_id FROM change_cis WHERE ci_id = ?1)) "
                            "AND end_ms > ?2 ORDER BY start_ms DESC, id LIMIT ?3");
      s.bind(1, f.ci_id).bind(2, f.ends_after_ms).bind(3, static_cast<std::int64_t>(f.limit));
      return read_changes(c, s);
    });
  }

 private:
  std::shared_ptr<Backend> b_;
};

class SqliteServiceStore final : public ServiceStore {
 public:
  explicit SqliteServiceStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Status put_service(const StoredService& sv) override {
    auto r = b_->pool.with_writer([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(s, c,
                          "INSERT INTO services(name, definition, origin, updated_ms) VALUES(?1, ?2, ?3, ?4) "
                          "ON CONFLICT(name) DO UPDATE SET definition = ?2, origin = ?3, updated_ms = ?4");
        s.bind(1, sv.name).bind(2, sv.definition).bind(3, sv.origin).bind(4, sv.updated_ms);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write service");
        if (auto st = bump_counter(c, "services"); !st) return std::move(st).error();
        return true;
      });
    });
    if (!r) return std::move(r).error();
    return {};
  }

  core::Result<bool> delete_service(std::string_view name) override {
    return b_->pool.with_writer([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(s, c, "DELETE FROM services WHERE name = ?1");
        s.bind(1, name);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "delete service");
        if (c.changes() == 0) return false;
        if (auto st = bump_counter(c, "services"); !st) return std::move(st).error();
        return true;
      });
    });
  }

  core::Result<std::vector<StoredService>> list_services() override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<StoredService>> {
      SURVEYOR_TRY_STMT(s, c, "SELECT name, definition, origin, updated_ms FROM services ORDER BY name");
      std::vector<StoredService> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.text(0), s.text(1), s.text(2), s.int64(3)});
      if (rc != SQLITE_DONE) return c.error(rc, "read services");
      return out;
    });
  }

  core::Result<std::int64_t> services_version() override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::int64_t> {
      SURVEYOR_TRY_STMT(s, c, "SELECT value FROM counters WHERE name = 'services'");
      const int rc = s.step();
      if (rc == SQLITE_DONE) return std::int64_t{0};
      if (rc != SQLITE_ROW) return c.error(rc, "read version");
      return s.int64(0);
    });
  }

 private:
  std::shared_ptr<Backend> b_;
};

class SqliteTimelineStore final : public TimelineStore {
 public:
  explicit SqliteTimelineStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Status record_states(const std::vector<StateInterval>& states) override {
    if (states.empty()) return {};
    auto r = b_->pool.with_writer([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(last, c,
                          "SELECT start_ms, end_ms, state FROM timeline WHERE subject = ?1 "
                          "ORDER BY start_ms DESC LIMIT 1");
        SURVEYOR_TRY_STMT(ext, c, "UPDATE timeline SET end_ms = ?3 WHERE subject = ?1 AND start_ms = ?2");
        SURVEYOR_TRY_STMT(ins, c, "INSERT INTO timeline(subject, start_ms, end_ms, state) VALUES(?1, ?2, ?3, ?4)");
        for (const StateInterval& iv : states) {
          last.reset();
          last.bind(1, iv.subject);
          const int rc = last.step();
          if (rc != SQLITE_ROW && rc != SQLITE_DONE) return c.error(rc, "read timeline");
          std::int64_t from = iv.start_ms;
          if (rc == SQLITE_ROW) {
            const std::int64_t start = last.int64(0), end = last.int64(1);
            const std::string held = last.text(2);
            from = std::max(from, end);
            if (from >= iv.end_ms) continue;
            if (held == to_string(iv.state) && from == end) {
              ext.reset();
              ext.bind(1, iv.subject).bind(2, start).bind(3, iv.end_ms);
              if (int e = ext.step(); e != SQLITE_DONE) return c.error(e, "extend timeline");
              continue;
            }
          }
          if (from >= iv.end_ms) continue;
          ins.reset();
          ins.bind(1, iv.subject).bind(2, from).bind(3, iv.end_ms).bind(4, to_string(iv.state));
          if (int e = ins.step(); e != SQLITE_DONE) return c.error(e, "write timeline");
        }
        return true;
      });
    });
    if (!r) return std::move(r).error();
    return {};
  }

  core::Result<std::vector<StateInterval>> read_timeline(std::string_view subject, std::int64_t from_ms,
                                                         std::int64_t to_ms) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<StateInterval>> {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT start_ms, end_ms, state FROM timeline WHERE subject = ?1 AND end_ms > ?2 "
                        "AND start_ms < ?3 ORDER BY start_ms");
      s.bind(1, subject).bind(2, from_ms).bind(3, to_ms);
      std::vector<StateInterval> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        auto state = availability_from(s.text(2));
        if (!state) return core::make_error(StoreErrc::corrupt, "timeline of " + std::string(subject) + ": bad state");
        out.push_back({std::string(subject), s.int64(0), s.int64(1), *state});
      }
      if (rc != SQLITE_DONE) return c.error(rc, "read timeline");
      return out;
    });
  }

  core::Result<std::int64_t> evaluated_until() override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::int64_t> {
      SURVEYOR_TRY_STMT(s, c, "SELECT value FROM counters WHERE name = 'availability_until'");
      const int rc = s.step();
      if (rc == SQLITE_DONE) return std::int64_t{0};
      if (rc != SQLITE_ROW) return c.error(rc, "read pulse");
      return s.int64(0);
    });
  }

  core::Status set_evaluated_until(std::int64_t t_ms) override {
    auto r = b_->pool.with_writer([&](Connection& c) -> core::Result<bool> {
      SURVEYOR_TRY_STMT(s, c,
                        "INSERT INTO counters(name, value) VALUES('availability_until', ?1) "
                        "ON CONFLICT(name) DO UPDATE SET value = MAX(value, ?1)");
      s.bind(1, t_ms);
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write pulse");
      return true;
    });
    if (!r) return std::move(r).error();
    return {};
  }

 private:
  std::shared_ptr<Backend> b_;
};

// One collector per SQLite file, but the lease is kept all the same (the
// same contract as on Redis, and a second process would respect it).
class SqliteLeaseStore final : public LeaseStore {
 public:
  explicit SqliteLeaseStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<bool> acquire_lease(std::string_view name, std::string_view holder, std::int64_t now_ms,
                                   std::int64_t ttl_ms) override {
    return b_->pool.with_writer([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(s, c,
                          "INSERT INTO leases(name, holder, until_ms) VALUES(?1, ?2, ?3) ON CONFLICT(name) DO UPDATE "
                          "SET holder = ?2, until_ms = ?3 WHERE leases.holder = ?2 OR leases.until_ms <= ?4");
        s.bind(1, name).bind(2, holder).bind(3, now_ms + ttl_ms).bind(4, now_ms);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "take lease");
        return c.changes() == 1;
      });
    });
  }

 private:
  std::shared_ptr<Backend> b_;
};

class SqliteIncidentStore final : public IncidentStore {
 public:
  explicit SqliteIncidentStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<std::optional<Incident>> update_incident_by_key(std::string_view key, const Change& change) override {
    return update("dedup_key = ?1 ORDER BY number DESC LIMIT 1", key, false, change);
  }

  core::Result<std::optional<Incident>> update_incident(std::string_view id, const Change& change) override {
    return update("id = ?1", id, true, change);
  }

  core::Result<std::optional<Incident>> find_incident(std::string_view id) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::optional<Incident>> {
      SURVEYOR_TRY_STMT(s, c, "SELECT doc FROM incidents WHERE id = ?1");
      s.bind(1, id);
      return read_one(c, s);
    });
  }

  core::Result<std::vector<Incident>> list_incidents(const IncidentFilter& f) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<Incident>> {
      std::string states;
      for (IncidentState st : f.states) states += (states.empty() ? "" : ",") + std::string(to_string(st));
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT doc FROM incidents WHERE (?1 = '' OR kind = ?1) AND (?2 = '' OR subject = ?2) "
                        "AND priority <= ?3 AND opened_ms >= ?4 AND opened_ms < ?5 "
                        "AND (?6 = '' OR instr(',' || ?6 || ',', ',' || state || ',') > 0) "
                        "ORDER BY opened_ms DESC, number DESC LIMIT ?7");
      s.bind(1, f.kind ? std::string(to_string(*f.kind)) : std::string()).bind(2, f.subject);
      s.bind(3, std::int64_t{f.max_priority}).bind(4, f.opened_from_ms).bind(5, f.opened_to_ms).bind(6, states);
      s.bind(7, static_cast<std::int64_t>(std::min<std::size_t>(f.limit, INT64_MAX)));
      std::vector<Incident> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        auto i = incident_from_json(s.text(0));
        if (!i) return std::move(i).error();
        out.push_back(std::move(*i));
      }
      if (rc != SQLITE_DONE) return c.error(rc, "read incidents");
      return out;
    });
  }

  core::Status record_delivery(const Delivery& d) override {
    auto r = b_->pool.with_writer([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(s, c,
                          "INSERT INTO deliveries(time_ms, webhook, message_id, incidents, attempt, status, error, "
                          "delivered) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        std::string ids;
        for (const std::string& i : d.incidents) ids += (ids.empty() ? "" : ",") + i;
        s.bind(1, d.time_ms).bind(2, d.webhook).bind(3, d.message_id).bind(4, ids);
        s.bind(5, std::int64_t{d.attempt}).bind(6, std::int64_t{d.status}).bind(7, d.error);
        s.bind(8, std::int64_t{d.delivered});
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write delivery");
        SURVEYOR_TRY_STMT(trim, c, "DELETE FROM deliveries WHERE seq <= (SELECT MAX(seq) FROM deliveries) - 10000");
        if (int rc = trim.step(); rc != SQLITE_DONE) return c.error(rc, "trim deliveries");
        return true;
      });
    });
    if (!r) return std::move(r).error();
    return {};
  }

  core::Result<std::vector<Delivery>> list_deliveries(std::size_t limit) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<Delivery>> {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT time_ms, webhook, message_id, incidents, attempt, status, error, delivered "
                        "FROM deliveries ORDER BY seq DESC LIMIT ?1");
      s.bind(1, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
      std::vector<Delivery> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) {
        Delivery d;
        d.time_ms = s.int64(0);
        d.webhook = s.text(1);
        d.message_id = s.text(2);
        const std::string all_ids = s.text(3);
        for (std::string_view ids = all_ids; !ids.empty();) {
          const auto comma = ids.find(',');
          d.incidents.emplace_back(ids.substr(0, comma));
          ids = comma == std::string_view::npos ? std::string_view{} : ids.substr(comma + 1);
        }
        d.attempt = static_cast<int>(s.int64(4));
        d.status = static_cast<int>(s.int64(5));
        d.error = s.text(6);
        d.delivered = s.int64(7) != 0;
        out.push_back(std::move(d));
      }
      if (rc != SQLITE_DONE) return c.error(rc, "read deliveries");
      return out;
    });
  }

 private:
  static core::Result<std::optional<Incident>> read_one(Connection& c, Stmt& s) {
    const int rc = s.step();
    if (rc == SQLITE_DONE) return std::optional<Incident>{};
    if (rc != SQLITE_ROW) return c.error(rc, "read incident");
    auto i = incident_from_json(s.text(0));
    if (!i) return std::move(i).error();
    return std::optional<Incident>{std::move(*i)};
  }

  core::Result<std::optional<Incident>> update(const char* where, std::string_view arg, bool must_exist,
                                               const Change& change) {
    return b_->pool.with_writer([&](Connection& c) {
      return in_transaction<std::optional<Incident>>(c, [&]() -> core::Result<std::optional<Incident>> {
        std::optional<Incident> old;
        {
          SURVEYOR_TRY_STMT(s, c, std::string("SELECT doc FROM incidents WHERE ") + where);
          s.bind(1, arg);
          auto r = read_one(c, s);
          if (!r) return std::move(r).error();
          old = std::move(*r);
        }
        if (!old && must_exist) return core::make_error(StoreErrc::not_found, "no incident " + std::string(arg));
        std::optional<Incident> next = change(old);
        if (!next) return next;
        if (next->id.empty()) {
          if (auto st = bump_counter(c, "incidents"); !st) return std::move(st).error();
          SURVEYOR_TRY_STMT(n, c, "SELECT value FROM counters WHERE name = 'incidents'");
          if (int rc = n.step(); rc != SQLITE_ROW) return c.error(rc, "number incident");
          next->id = "INC-" + std::to_string(n.int64(0));
        } else if (!old || old->id != next->id) {
          return core::make_error(StoreErrc::invalid, "an incident keeps its id");
        }
        const std::int64_t number = std::stoll(next->id.substr(4));
        SURVEYOR_TRY_STMT(w, c,
                          "INSERT INTO incidents(id, number, dedup_key, kind, subject, state, priority, opened_ms, doc) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(id) DO UPDATE SET dedup_key = ?3, "
                          "kind = ?4, subject = ?5, state = ?6, priority = ?7, opened_ms = ?8, doc = ?9");
        w.bind(1, next->id).bind(2, number).bind(3, next->key).bind(4, to_string(next->kind)).bind(5, next->subject);
        w.bind(6, to_string(next->state)).bind(7, std::int64_t{next->priority}).bind(8, next->opened_ms);
        w.bind(9, incident_to_json(*next));
        if (int rc = w.step(); rc != SQLITE_DONE) return c.error(rc, "write incident");
        return next;
      });
    });
  }

  std::shared_ptr<Backend> b_;
};

class SqliteSlaReportStore final : public SlaReportStore {
 public:
  explicit SqliteSlaReportStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<bool> add_sla_report(const SlaReportVersion& v) override {
    return b_->pool.with_writer([&](Connection& c) {
      return in_transaction<bool>(c, [&]() -> core::Result<bool> {
        SURVEYOR_TRY_STMT(n, c, "SELECT COUNT(*) FROM sla_reports WHERE service = ?1 AND period = ?2");
        n.bind(1, v.service).bind(2, v.period);
        if (int rc = n.step(); rc != SQLITE_ROW) return c.error(rc, "count SLA reports");
        if (n.int64(0) != v.version - 1) return false;
        SURVEYOR_TRY_STMT(s, c,
                          "INSERT INTO sla_reports(service, period, version, created_ms, by, reason, report) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
        s.bind(1, v.service).bind(2, v.period).bind(3, std::int64_t{v.version}).bind(4, v.created_ms);
        s.bind(5, v.by).bind(6, v.reason).bind(7, v.report);
        if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write SLA report");
        return true;
      });
    });
  }

  core::Result<std::vector<SlaReportVersion>> sla_reports(std::string_view service, std::string_view period) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<SlaReportVersion>> {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT version, created_ms, by, reason, report FROM sla_reports WHERE service = ?1 AND "
                        "period = ?2 ORDER BY version");
      s.bind(1, service).bind(2, period);
      std::vector<SlaReportVersion> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW)
        out.push_back({std::string(service), std::string(period), static_cast<int>(s.int64(0)), s.int64(1), s.text(2),
                       s.text(3), s.text(4)});
      if (rc != SQLITE_DONE) return c.error(rc, "read SLA reports");
      return out;
    });
  }

 private:
  std::shared_ptr<Backend> b_;
};

class SqliteHealth final : public StoreHealth {
 public:
  explicit SqliteHealth(std::shared_ptr<Backend> b) : b_(std::move(b)) {}
  core::Status ping() override {
    return b_->pool.with_reader([](Connection& c) -> core::Status {
      SURVEYOR_TRY_STMT(s, c, "SELECT COUNT(*) FROM sqlite_master");
      const int rc = s.step();
      if (rc != SQLITE_ROW) return c.error(rc, "ping");
      return {};
    });
  }
  std::string describe() const override { return "sqlite:" + b_->path; }
  core::Result<Durability> durability() override {
    Durability d;
    if (!b_->synchronous_full)
      d.warnings.push_back("synchronous=normal: reports acknowledged in the last moments before a power loss can be "
                           "lost (a crash of the collector alone loses nothing); drop ?synchronous=normal for FULL");
    return d;
  }

 private:
  std::shared_ptr<Backend> b_;
};

core::Status migrate(Connection& c) {
  SURVEYOR_TRY_STMT(v, c, "PRAGMA user_version");
  if (int rc = v.step(); rc != SQLITE_ROW) return c.error(rc, "read schema version");
  const std::int64_t version = v.int64(0);
  v.reset();
  if (version > kSchemaVersion)
    return core::make_error(StoreErrc::invalid, "database schema version " + std::to_string(version) +
                                                    " is newer than this collector (" +
                                                    std::to_string(kSchemaVersion) + ")");
  auto tx = WriteTransaction::begin(c);
  if (!tx) return std::move(tx).error();
  if (auto st = c.exec(kSchema); !st) return st;
  // Version 2 kept raw samples as REAL: move them into the head as bits.
  if (version == 2) {
    sqlite3_create_function(c.handle(), "f64bits", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                            [](sqlite3_context* ctx, int, sqlite3_value** argv) {
                              const double x = sqlite3_value_type(argv[0]) == SQLITE_NULL
                                                   ? std::numeric_limits<double>::quiet_NaN()
                                                   : sqlite3_value_double(argv[0]);
                              sqlite3_result_int64(ctx, to_bits(x));
                            },
                            nullptr, nullptr);
    if (auto st = c.exec("INSERT OR IGNORE INTO head(series_id, time_ms, bits) "
                         "SELECT series_id, time_ms, f64bits(value) FROM samples; DROP TABLE samples;");
        !st)
      return st;
  }
  // Versions before 5 had no protected keys on CIs (a table created just
  // now by the schema above has them).
  if (version > 0 && version < 5) {
    bool has_column = false;
    {
      auto q = c.prepare("SELECT 1 FROM pragma_table_info('cis') WHERE name = 'protected'");
      if (!q) return std::move(q).error();
      has_column = (*q)->step() == SQLITE_ROW;
    }
    if (!has_column)
      if (auto st = c.exec("ALTER TABLE cis ADD COLUMN protected TEXT NOT NULL DEFAULT '[]'"); !st)
        return st;
  }
  // Version 3 kept chunks in a WITHOUT ROWID table.
  if (version == 3) {
    if (auto st = c.exec("ALTER TABLE chunks RENAME TO chunks_v3;"
                         "CREATE TABLE chunks(series_id INTEGER NOT NULL, block_start INTEGER NOT NULL,"
                         " data BLOB NOT NULL, PRIMARY KEY(series_id, block_start));"
                         "INSERT INTO chunks(series_id, block_start, data)"
                         " SELECT series_id, block_start, data FROM chunks_v3 ORDER BY series_id, block_start;"
                         "DROP TABLE chunks_v3;");
        !st)
      return st;
  }
  const std::string set_version = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
  if (auto st = c.exec(set_version.c_str()); !st) return st;
  return tx->commit();
}

}  // namespace

core::Result<Stores> open_sqlite(const SqliteOptions& options) {
  auto writer = Connection::open(options.path, false);
  if (!writer) return std::move(writer).error();
  Connection& w = **writer;
  {
    // journal_mode answers with the mode it ended up in; WAL is required.
    SURVEYOR_TRY_STMT(jm, w, "PRAGMA journal_mode = WAL");
    if (int rc = jm.step(); rc != SQLITE_ROW) return w.error(rc, "set WAL mode");
    if (jm.text(0) != "wal")
      return core::make_error(StoreErrc::io, options.path + ": cannot use WAL mode (got " + jm.text(0) + ")");
  }
  if (auto st = w.exec(options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"); !st)
    return std::move(st).error();
  if (auto st = migrate(w); !st) return std::move(st).error();

  std::vector<std::unique_ptr<Connection>> readers;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options.readers); ++i) {
    auto r = Connection::open(options.path, true);
    if (!r) return std::move(r).error();
    readers.push_back(std::move(*r));
  }
  auto backend = std::make_shared<Backend>(std::move(*writer), std::move(readers), options.path);
  backend->synchronous_full = options.synchronous_full;
  Stores s;
  s.agents = std::make_shared<SqliteAgentStore>(backend);
  s.cmdb = std::make_shared<SqliteCmdbStore>(backend);
  s.series = std::make_shared<SqliteSeriesStore>(backend);
  s.reports = std::make_shared<SqliteReportStore>(backend);
  s.inventory = std::make_shared<SqliteInventoryStore>(backend);
  s.events = std::make_shared<SqliteEventStore>(backend);
  s.relations = std::make_shared<SqliteRelationStore>(backend);
  s.audit = std::make_shared<SqliteAuditStore>(backend);
  s.changes = std::make_shared<SqliteChangeStore>(backend);
  s.services = std::make_shared<SqliteServiceStore>(backend);
  s.timelines = std::make_shared<SqliteTimelineStore>(backend);
  s.leases = std::make_shared<SqliteLeaseStore>(backend);
  s.incidents = std::make_shared<SqliteIncidentStore>(backend);
  s.sla_reports = std::make_shared<SqliteSlaReportStore>(backend);
  s.health = std::make_shared<SqliteHealth>(backend);
  return s;
}

}  // namespace surveyor::collector::sqlite
