// SPDX-License-Identifier: Apache-2.0
// Configuration items on SQLite: rows, upserts and listings.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

namespace {

// last_seen_ms: the row's, or later, its reporting agent's sighting kept in
// the agent's row (sight_in); agents_by_ci finds the agent.
constexpr const char* kCiColumns =
    "id, type, name, source, state, attributes, first_seen_ms, "
    "MAX(last_seen_ms, COALESCE((SELECT MAX(a.ci_seen_ms) FROM agents a WHERE a.ci_id = cis.id), 0)), "
    "updated_ms, protected";

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

}  // namespace

class SqliteCmdbStore final : public Bound<CmdbStore> {
 public:
  using Bound::Bound;

  core::Result<Ci> upsert_ci(const CiUpdate& u) override {
    return b_->write([&](Connection& c) {
      return in_transaction<Ci>(c, [&] { return upsert_in(c, u); });
    });
  }

  core::Result<std::optional<Ci>> find_ci(std::string_view id) override {
    return b_->pool.with_reader([&](Connection& c) { return load_ci(c, id); });
  }

  // Only the conditions asked for, so the planner can use an index (a
  // "?1 = '' OR ..." condition makes it scan every CI). A name prefix is a
  // range: from the prefix to the prefix and a 0xFF byte, which no UTF-8
  // text holds.
  static std::string where_of(const CiFilter& f) {
    std::string where;
    if (!f.type.empty()) where += " AND type = ?1";
    if (!f.name.empty()) where += " AND name = ?2";
    if (!f.name_prefix.empty()) where += " AND name >= ?5 AND name < ?6";
    if (f.state) where += " AND state = ?7";
    return where;
  }
  static void bind_filter(Stmt& s, const CiFilter& f, const std::string& prefix_end) {
    if (!f.type.empty()) s.bind(1, f.type);
    if (!f.name.empty()) s.bind(2, f.name);
    if (!f.name_prefix.empty()) s.bind(5, f.name_prefix).bind(6, prefix_end);
    if (f.state) s.bind(7, to_string(*f.state));
  }

  core::Result<std::size_t> count_cis(const CiFilter& f) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::size_t> {
      SURVEYOR_TRY_STMT(s, c, "SELECT count(*) FROM cis WHERE 1" + where_of(f));
      const std::string prefix_end = f.name_prefix + '\xff';
      bind_filter(s, f, prefix_end);
      if (int rc = s.step(); rc != SQLITE_ROW) return c.error(rc, "count CIs");
      return static_cast<std::size_t>(s.int64(0));
    });
  }

  core::Result<std::vector<Ci>> list_cis(const CiFilter& f) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<Ci>> {
      SURVEYOR_TRY_STMT(s, c,
                        std::string("SELECT ") + kCiColumns + " FROM cis WHERE 1" + where_of(f) +
                            " ORDER BY name, id LIMIT ?3 OFFSET ?4");
      const std::string prefix_end = f.name_prefix + '\xff';
      bind_filter(s, f, prefix_end);
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
};

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

core::Status bump_counter(Connection& c, const char* name) {
  SURVEYOR_TRY_STMT(s, c,
                    "INSERT INTO counters(name, value) VALUES(?1, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1");
  s.bind(1, std::string_view(name));
  if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "count");
  return {};
}

core::Result<bool> sight_in(Connection& c, Backend& b, const CiUpdate& u, bool by_its_agent) {
  if (u.source != "agent" || u.state || !u.name.empty() || !u.replace_prefixes.empty()) return false;
  // Its agent's same update found plain before, and no row of `cis`
  // written since (Backend::cis_changed): the CI still holds it. (Another
  // CI's sighting writes the row, which would forget them all.)
  if (by_its_agent)
    if (const auto it = b.sightings.find(u.id); it != b.sightings.end() && it->second == u.attributes) return true;
  // Each attribute must hold its value already: whole numbers and strings
  // compared by SQLite's JSON functions (other types take the full path).
  std::string sql = by_its_agent ? "SELECT ?2 FROM cis WHERE id = ?1 AND state = 'active'"
                                 : "UPDATE cis SET last_seen_ms = MAX(last_seen_ms, ?2) WHERE id = ?1 AND state = 'active'";
  int param = 3;
  for (const auto& [k, v] : u.attributes) {
    if (!std::holds_alternative<std::int64_t>(v) && !std::holds_alternative<std::string>(v)) return false;
    if (k.find_first_of("\"\\") != std::string::npos) return false;
    sql += " AND json_extract(attributes, ?" + std::to_string(param) + ") IS ?" + std::to_string(param + 1);
    param += 2;
  }
  SURVEYOR_TRY_STMT(s, c, sql);
  s.bind(1, u.id).bind(2, u.seen_at_ms);
  param = 3;
  for (const auto& [k, v] : u.attributes) {
    s.bind(param, "$.\"" + k + "\"");
    if (const auto* n = std::get_if<std::int64_t>(&v)) s.bind(param + 1, *n);
    else s.bind(param + 1, std::get<std::string>(v));
    param += 2;
  }
  const int rc = s.step();
  if (by_its_agent) {
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return c.error(rc, "read CI");
    if (rc == SQLITE_DONE) return false;
    if (b.sightings.size() >= Backend::kSightingsCached && !b.sightings.contains(u.id)) b.sightings.clear();
    b.sightings.insert_or_assign(u.id, u.attributes);
    return true;
  }
  if (rc != SQLITE_DONE) return c.error(rc, "write CI");
  return c.changes() == 1;
}

core::Result<Ci> upsert_in(Connection& c, const CiUpdate& u) {
  auto existing = load_ci(c, u.id);
  if (!existing) return std::move(existing).error();
  Ci merged = merge_ci(*existing, u);
  if (auto st = save_ci(c, merged); !st) return std::move(st).error();
  if (auto st = write_audit(c, audit_ci(*existing, merged, u.source, u.actor, u.seen_at_ms)); !st) return std::move(st).error();
  return merged;
}

std::shared_ptr<store::CmdbStore> make_cmdb_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteCmdbStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
