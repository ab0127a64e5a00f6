// SPDX-License-Identifier: Apache-2.0
// The SQLite schema and its migrations from every earlier version.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

namespace {

// 9: the hot_spots table (created by kSchema; nothing else to migrate).
// 10: audit entries in hash chains per CI (seq, prev_hash, hash); the
//     entries of earlier versions are chained by the migration.
// 11: the evidence table (created by kSchema; nothing else to migrate).
// 12: changes.impact (added to older tables below).
// 13: the covering index of the inventory sections' digests (kSchema).
// 14: each agent's de-duplication window in agents.seen (2 KiB), not a row
//     per agent and sequence in reports_seen (moved, then dropped).
// 15: agents.ci_seen_ms, the agent's latest sighting of its own CI, which
//     the CI's row is no longer written for with every report; the index
//     agents_by_ci that reads it with the CI.
constexpr int kSchemaVersion = 15;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS agents(
  id TEXT PRIMARY KEY, key_hash TEXT NOT NULL, host_id TEXT NOT NULL, hostname TEXT NOT NULL,
  ci_id TEXT NOT NULL, agent_version TEXT NOT NULL, enrolled_at_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL DEFAULT 0, last_sequence INTEGER NOT NULL DEFAULT 0,
  heartbeat_interval_s INTEGER NOT NULL DEFAULT 0, inventory_digest TEXT NOT NULL DEFAULT '',
  seen BLOB NOT NULL DEFAULT x'', ci_seen_ms INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS agents_by_ci ON agents(ci_id);
CREATE TABLE IF NOT EXISTS cis(
  id TEXT PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL, source TEXT NOT NULL,
  state TEXT NOT NULL, attributes TEXT NOT NULL, first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, protected TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS cis_by_name ON cis(name, id);
CREATE INDEX IF NOT EXISTS cis_by_type ON cis(type, name, id);
CREATE TABLE IF NOT EXISTS series(
  id INTEGER PRIMARY KEY, ci_id TEXT NOT NULL, metric TEXT NOT NULL, attributes TEXT NOT NULL,
  unit TEXT NOT NULL, UNIQUE(ci_id, metric, attributes));
-- data last: the columns before it are read without its overflow pages.
CREATE TABLE IF NOT EXISTS inventory_sections(
  ci_id TEXT NOT NULL, section TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL,
  digest TEXT NOT NULL, updated_ms INTEGER NOT NULL, data TEXT NOT NULL,
  PRIMARY KEY(ci_id, section)) WITHOUT ROWID;
-- What each report reads of its host's inventory (states and digests). The
-- table's own b-tree holds the data in its cells, a few to a page even in
-- its interior pages: a lookup there reads pages no cache keeps; the index
-- holds a host's sections in one or two small pages.
CREATE INDEX IF NOT EXISTS inventory_section_digests
  ON inventory_sections(ci_id, section, state, reason, digest, updated_ms);
-- The head: a row per report and CI, appended at the table's end; data is
-- a codec batch (a chunk per series id). rolled_up: rows from schema 7,
-- whose rollups are stored already.
CREATE TABLE IF NOT EXISTS head_log(
  id INTEGER PRIMARY KEY, ci_id TEXT NOT NULL, min_ms INTEGER NOT NULL, max_ms INTEGER NOT NULL,
  rolled_up INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS head_log_by_ci ON head_log(ci_id, max_ms);
-- A rowid table: chunks (1-3 KB) fit in its pages; a WITHOUT ROWID table
-- would spill each into a half-empty overflow page.
CREATE TABLE IF NOT EXISTS chunks(
  series_id INTEGER NOT NULL, block_start INTEGER NOT NULL, data BLOB NOT NULL,
  PRIMARY KEY(series_id, block_start));
CREATE TABLE IF NOT EXISTS hot_spots(
  id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, updated_ms INTEGER NOT NULL);
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
  unauthorized INTEGER NOT NULL, alert INTEGER NOT NULL, actor TEXT NOT NULL DEFAULT '',
  seq INTEGER NOT NULL DEFAULT 0, prev_hash TEXT NOT NULL DEFAULT '', hash TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS audit_by_ci ON audit(ci_id, time_ms);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit(time_ms);
CREATE INDEX IF NOT EXISTS audit_alerts ON audit(ci_id, key, time_ms) WHERE alert = 1;
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit entries are immutable'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit entries are immutable'); END;
CREATE TABLE IF NOT EXISTS evidence(
  clause TEXT NOT NULL, period TEXT NOT NULL, created_ms INTEGER NOT NULL, document TEXT NOT NULL,
  PRIMARY KEY(clause, period)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS evidence_no_update BEFORE UPDATE ON evidence
  BEGIN SELECT RAISE(ABORT, 'frozen evidence is immutable'); END;
CREATE TRIGGER IF NOT EXISTS evidence_no_delete BEFORE DELETE ON evidence
  BEGIN SELECT RAISE(ABORT, 'frozen evidence is immutable'); END;
CREATE TABLE IF NOT EXISTS changes(
  id TEXT PRIMARY KEY, reference TEXT NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
  description TEXT NOT NULL, origin TEXT NOT NULL, created_ms INTEGER NOT NULL, actor TEXT NOT NULL DEFAULT '',
  impact TEXT NOT NULL DEFAULT '');
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
CREATE TABLE IF NOT EXISTS tokens(
  name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS enrollment_grants(
  id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, uses INTEGER NOT NULL, used INTEGER NOT NULL,
  created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL);
)sql";

// Adds a column to a table of an older schema (a table created by kSchema
// just now has it already).
core::Status add_column_if_missing(Connection& c, const std::string& table, const std::string& column,
                                   const std::string& type) {
  auto q = c.prepare("SELECT 1 FROM pragma_table_info('" + table + "') WHERE name = '" + column + "'");
  if (!q) return std::move(q).error();
  const bool has_column = (*q)->step() == SQLITE_ROW;
  (*q)->reset();
  if (has_column) return {};
  const std::string alter = "ALTER TABLE " + table + " ADD COLUMN " + column + " " + type;
  return c.exec(alter.c_str());
}

// Whether the database holds a table of that name (of an older schema).
core::Result<bool> has_table(Connection& c, const char* name) {
  SURVEYOR_TRY_STMT(has, c, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  has.bind(1, std::string_view(name));
  const int rc = has.step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return c.error(rc, std::string("find the table ") + name);
  return rc == SQLITE_ROW;
}

// Moves the de-duplication records of schemas 1 to 13, a row per agent and
// sequence in reports_seen, into each agent's window (agents.seen), and
// drops them.
core::Status seen_rows_to_windows(Connection& c) {
  auto old = has_table(c, "reports_seen");
  if (!old) return std::move(old).error();
  if (!*old) return {};
  SURVEYOR_TRY_STMT(rows, c, "SELECT agent_id, sequence FROM reports_seen ORDER BY agent_id, sequence");
  SURVEYOR_TRY_STMT(last, c, "SELECT last_sequence FROM agents WHERE id = ?1");
  SURVEYOR_TRY_STMT(put, c, "UPDATE agents SET seen = ?2 WHERE id = ?1");
  std::string agent, ring;
  std::uint64_t highest = 0;
  auto flush = [&]() -> core::Status {
    if (agent.empty()) return {};
    put.reset();
    put.bind(1, agent).bind_blob(2, ring);
    if (int rc = put.step(); rc != SQLITE_DONE) return c.error(rc, "write an agent's window");
    return {};
  };
  for (;;) {
    const int rc = rows.step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return c.error(rc, "read the old de-duplication records");
    if (std::string id = rows.text(0); id != agent) {
      if (auto st = flush(); !st) return st;
      agent = std::move(id);
      ring.clear();
      last.reset();
      last.bind(1, agent);
      const int found = last.step();
      if (found != SQLITE_ROW && found != SQLITE_DONE) return c.error(found, "read an agent");
      highest = found == SQLITE_ROW ? static_cast<std::uint64_t>(std::max<std::int64_t>(0, last.int64(0))) : 0;
      last.reset();  // a statement left running keeps DROP TABLE from the connection ("table is locked")
    }
    const std::int64_t seq = rows.int64(1);
    // Every record is at most the agent's highest, which the same
    // transaction raised; one that is not is left out, not let move the window.
    if (seq > 0 && static_cast<std::uint64_t>(seq) <= highest)
      store::mark_in_window(ring, highest, static_cast<std::uint64_t>(seq));
  }
  if (auto st = flush(); !st) return st;
  rows.reset();
  put.reset();
  return c.exec("DROP TABLE reports_seen");
}

// Moves a head of one row per sample (schema 2 to 7) into head_log: a row
// per CI, marked as having its rollups stored.
core::Status head_rows_per_report(Connection& c) {
  auto old = has_table(c, "head");
  if (!old) return std::move(old).error();
  if (!*old) return {};
  std::string ci;
  RowSamples by_series;
  auto flush = [&]() -> core::Status {
    auto st = insert_head_row(c, ci, by_series, true);
    by_series.clear();
    return st;
  };
  {
    SURVEYOR_TRY_STMT(s, c,
                      "SELECT s.ci_id, h.series_id, h.time_ms, h.bits FROM head h JOIN series s ON s.id = h.series_id "
                      "ORDER BY s.ci_id, h.series_id, h.time_ms");
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      if (s.text(0) != ci) {
        if (auto st = flush(); !st) return st;
        ci = s.text(0);
      }
      by_series[s.int64(1)].push_back({s.int64(2), from_bits(s.int64(3))});
    }
    if (rc != SQLITE_DONE) return c.error(rc, "read the old head");
  }
  if (auto st = flush(); !st) return st;
  return c.exec("DROP TABLE head");
}

// Chains the audit entries of a schema before 10, each CI's in the order
// of their time and id, as they would have been chained when written.
core::Status chain_old_audit(Connection& c) {
  for (const char* column : {"seq", "prev_hash", "hash"})
    if (auto st = add_column_if_missing(c, "audit", column,
                                        std::string(column) == "seq" ? "INTEGER NOT NULL DEFAULT 0"
                                                                     : "TEXT NOT NULL DEFAULT ''");
        !st)
      return st;
  // The triggers that keep entries immutable come back with kSchema.
  if (auto st = c.exec("DROP TRIGGER IF EXISTS audit_no_update"); !st) return st;
  std::vector<AuditRecord> rows;
  {
    SURVEYOR_TRY_STMT(s, c,
                      "SELECT " SURVEYOR_AUDIT_COLUMNS " FROM audit WHERE seq = 0 ORDER BY ci_id, time_ms, id");
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) rows.push_back(audit_row(s));
    if (rc != SQLITE_DONE) return c.error(rc, "read the audit entries to chain");
  }
  if (auto st = chain_audit(rows, [](std::string_view) -> core::Result<AuditLink> { return AuditLink{}; }); !st)
    return st;
  SURVEYOR_TRY_STMT(up, c, "UPDATE audit SET seq = ?2, prev_hash = ?3, hash = ?4 WHERE id = ?1");
  for (const AuditRecord& r : rows) {
    up.reset();
    up.bind(1, std::int64_t{std::stoll(r.id)}).bind(2, r.seq).bind(3, r.prev_hash).bind(4, r.hash);
    if (int rc = up.step(); rc != SQLITE_DONE) return c.error(rc, "chain an audit entry");
  }
  return {};
}

}  // namespace

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
    if (auto st = c.exec("CREATE TABLE IF NOT EXISTS head(series_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, "
                         "bits INTEGER NOT NULL, PRIMARY KEY(series_id, time_ms)) WITHOUT ROWID;"
                         "INSERT OR IGNORE INTO head(series_id, time_ms, bits) "
                         "SELECT series_id, time_ms, f64bits(value) FROM samples; DROP TABLE samples;");
        !st)
      return st;
  }
  // Versions before 5 had no protected keys on CIs (a table created just
  // now by the schema above has them).
  if (version > 0 && version < 5)
    if (auto st = add_column_if_missing(c, "cis", "protected", "TEXT NOT NULL DEFAULT '[]'"); !st) return st;
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
  // Versions before 7 did not record who made audit entries and change records.
  if (version > 0 && version < 7)
    for (const char* table : {"audit", "changes"})
      if (auto st = add_column_if_missing(c, table, "actor", "TEXT NOT NULL DEFAULT ''"); !st) return st;
  // Versions before 8 kept the head as a row per sample, its rollups
  // stored as samples arrived.
  // Versions before 8 also kept updated_ms after an inventory section's
  // data, so that reading it read the whole chain of the data's overflow
  // pages.
  if (version > 0 && version < 8) {
    if (auto st = head_rows_per_report(c); !st) return st;
    if (auto st = c.exec("ALTER TABLE inventory_sections RENAME TO inventory_sections_v7;"
                         "CREATE TABLE inventory_sections(ci_id TEXT NOT NULL, section TEXT NOT NULL,"
                         " state TEXT NOT NULL, reason TEXT NOT NULL, digest TEXT NOT NULL,"
                         " updated_ms INTEGER NOT NULL, data TEXT NOT NULL,"
                         " PRIMARY KEY(ci_id, section)) WITHOUT ROWID;"
                         "INSERT INTO inventory_sections(ci_id, section, state, reason, digest, updated_ms, data)"
                         " SELECT ci_id, section, state, reason, digest, updated_ms, data FROM inventory_sections_v7;"
                         "DROP TABLE inventory_sections_v7;");
        !st)
      return st;
  }
  // Versions before 12 did not keep a change's impact analysis.
  if (version > 0 && version < 12)
    if (auto st = add_column_if_missing(c, "changes", "impact", "TEXT NOT NULL DEFAULT ''"); !st) return st;
  if (version > 0 && version < 10) {
    if (auto st = chain_old_audit(c); !st) return st;
    if (auto st = c.exec(kSchema); !st) return st;
  }
  if (version > 0 && version < 14) {
    if (auto st = add_column_if_missing(c, "agents", "seen", "BLOB NOT NULL DEFAULT x''"); !st) return st;
    if (auto st = seen_rows_to_windows(c); !st) return st;
  }
  if (version > 0 && version < 15)
    if (auto st = add_column_if_missing(c, "agents", "ci_seen_ms", "INTEGER NOT NULL DEFAULT 0"); !st) return st;
  // After the migrations: older audit tables have no seq until just now.
  if (auto st = c.exec("CREATE UNIQUE INDEX IF NOT EXISTS audit_chain ON audit(ci_id, seq)"); !st) return st;
  const std::string set_version = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
  if (auto st = c.exec(set_version.c_str()); !st) return st;
  return tx->commit();
}

}  // namespace surveyor::collector::sqlite
