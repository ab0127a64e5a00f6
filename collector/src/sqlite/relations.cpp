// SPDX-License-Identifier: Apache-2.0
// Relationships between CIs on SQLite, each change on the audit trail.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

namespace {

core::Result<std::vector<Relationship>> query_relationships(Connection& c, const char* sql, std::string_view arg) {
  SURVEYOR_TRY_STMT(s, c, sql);
  if (!arg.empty()) s.bind(1, arg);
  std::vector<Relationship> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.int64(4)});
  if (rc != SQLITE_DONE) return c.error(rc, "read relationships");
  return out;
}

}  // namespace

core::Result<std::vector<Relationship>> relationships_in(Connection& c, std::string_view ci_id) {
  return query_relationships(c,
                             "SELECT from_ci, type, to_ci, origin, created_ms FROM relationships WHERE from_ci = ?1 "
                             "UNION SELECT from_ci, type, to_ci, origin, created_ms FROM relationships WHERE to_ci = ?1 "
                             "ORDER BY 1, 2, 3",
                             ci_id);
}

core::Result<bool> add_relationship_in(Connection& c, const Relationship& r, std::string_view actor) {
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
  if (auto st = write_audit(c, {relationship_audit(r, true, r.origin, actor, r.created_ms)}); !st) return std::move(st).error();
  return true;
}

core::Result<bool> remove_relationship_in(Connection& c, const Relationship& r, std::string_view origin,
                                          std::string_view actor, std::int64_t now_ms) {
  SURVEYOR_TRY_STMT(del, c, "DELETE FROM relationships WHERE from_ci = ?1 AND type = ?2 AND to_ci = ?3");
  del.bind(1, r.from).bind(2, r.type).bind(3, r.to);
  if (int rc = del.step(); rc != SQLITE_DONE) return c.error(rc, "remove relationship");
  if (c.changes() == 0) return false;
  if (auto st = bump_counter(c, "relationships"); !st) return std::move(st).error();
  if (auto st = write_audit(c, {relationship_audit(r, false, origin, actor, now_ms)}); !st) return std::move(st).error();
  return true;
}

core::Status follow_components(Connection& c, std::string_view host_ci, const ComponentKinds& kinds,
                               std::int64_t now_ms) {
  auto held = relationships_in(c, host_ci);
  if (!held) return std::move(held).error();
  const ComponentPlan plan = plan_components(host_ci, *held, kinds, now_ms);
  for (const Relationship& r : plan.add)
    if (auto added = add_relationship_in(c, r, ""); !added) return std::move(added).error();
  for (const Relationship& r : plan.remove) {
    if (auto removed = remove_relationship_in(c, r, "agent", "", now_ms); !removed) return std::move(removed).error();
    auto ci = load_ci(c, r.to);
    if (!ci) return std::move(ci).error();
    if (auto retire = retirement(*ci, now_ms))
      if (auto st = upsert_in(c, *retire); !st) return std::move(st).error();
  }
  return {};
}

class SqliteRelationStore final : public Bound<RelationStore> {
 public:
  using Bound::Bound;

  core::Result<bool> add_relationship(const Relationship& r, std::string_view actor) override {
    return b_->write(
        [&](Connection& c) { return in_transaction<bool>(c, [&] { return add_relationship_in(c, r, actor); }); });
  }

  core::Result<bool> remove_relationship(const Relationship& r, std::string_view origin, std::string_view actor,
                                         std::int64_t now_ms) override {
    return b_->write([&](Connection& c) {
      return in_transaction<bool>(c, [&] { return remove_relationship_in(c, r, origin, actor, now_ms); });
    });
  }

  core::Result<std::vector<Relationship>> relationships_of(std::string_view ci_id) override {
    return b_->pool.with_reader([&](Connection& c) { return relationships_in(c, ci_id); });
  }

  core::Result<std::vector<Relationship>> all_relationships() override {
    return b_->pool.with_reader([&](Connection& c) {
      return query_relationships(c, "SELECT from_ci, type, to_ci, origin, created_ms FROM relationships ORDER BY 1, 2, 3", {});
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

};

std::shared_ptr<store::RelationStore> make_relation_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteRelationStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
