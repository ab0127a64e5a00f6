// SPDX-License-Identifier: Apache-2.0
// Relationships between CIs on Redis, each change on the audit trail.
#include "backend.hpp"

namespace surveyor::collector::redis {

namespace {

// "FROM\x1fTYPE\x1fTO" and "origin\x1fcreated_ms".
core::Result<Relationship> parse_relationship(const std::string& id, const std::string& meta) {
  const auto a = id.find(kSep);
  const auto b = a == std::string::npos ? a : id.find(kSep, a + 1);
  const auto m = meta.find(kSep);
  if (b == std::string::npos || m == std::string::npos)
    return core::make_error(StoreErrc::corrupt, "bad relationship entry");
  return Relationship{id.substr(0, a), id.substr(a + 1, b - a - 1), id.substr(b + 1), meta.substr(0, m),
                      std::strtoll(meta.c_str() + m + 1, nullptr, 10)};
}

}  // namespace

core::Result<std::vector<Relationship>> relationships_on(Connection& c, const Backend& b, std::string_view ci_id) {
  auto got = c.pipeline({{"SMEMBERS", b.key("rel:out", ci_id)}, {"SMEMBERS", b.key("rel:in", ci_id)}});
  if (!got) return std::move(got).error();
  std::vector<std::string> ids;
  for (const std::string& m : member_list((*got)[0].get())) ids.push_back(std::string(ci_id) + kSep + m);
  for (const std::string& m : member_list((*got)[1].get())) {
    const auto sep = m.find(kSep);
    if (sep == std::string::npos) return core::make_error(StoreErrc::corrupt, "bad relationship index entry");
    ids.push_back(m.substr(sep + 1) + kSep + m.substr(0, sep) + kSep + std::string(ci_id));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.empty()) return std::vector<Relationship>{};
  Argv get{"HMGET", b.key("rel:meta")};
  get.insert(get.end(), ids.begin(), ids.end());
  auto meta = c.command(get);
  if (!meta) return std::move(meta).error();
  if (is_error(meta->get())) return reply_error(meta->get(), "read relationships");
  std::vector<Relationship> out;
  for (std::size_t i = 0; i < ids.size() && i < (*meta)->elements; ++i) {
    auto rel = parse_relationship(ids[i], reply_text((*meta)->element[i]));
    if (!rel) return std::move(rel).error();
    out.push_back(std::move(*rel));
  }
  return out;
}

void relationship_writes(const Backend& b, const Relationship& r, bool add, std::vector<Argv>& tx) {
  const std::string id = r.from + kSep + r.type + kSep + r.to;
  const std::string out_member = r.type + kSep + r.to, in_member = r.type + kSep + r.from;
  if (add) {
    tx.push_back({"HSET", b.key("rel:meta"), id, r.origin + kSep + i64(r.created_ms)});
    tx.push_back({"SADD", b.key("rel:out", r.from), out_member});
    tx.push_back({"SADD", b.key("rel:in", r.to), in_member});
  } else {
    tx.push_back({"HDEL", b.key("rel:meta"), id});
    tx.push_back({"SREM", b.key("rel:out", r.from), out_member});
    tx.push_back({"SREM", b.key("rel:in", r.to), in_member});
  }
  tx.push_back({"INCR", b.key("rel:version")});
  tx.push_back({"INCR", b.key("rel:lock", r.from)});
}

core::Result<ComponentReads> read_components(Connection& c, const Backend& b, std::string_view host_ci,
                                             const ComponentKinds& kinds, std::int64_t now_ms) {
  auto watch = c.command({"WATCH", b.key("rel:lock", host_ci)});
  if (!watch) return std::move(watch).error();
  if (is_error(watch->get())) return reply_error(watch->get(), "watch relationships");
  auto held = relationships_on(c, b, host_ci);
  if (!held) return std::move(held).error();
  ComponentReads out;
  out.plan = plan_components(host_ci, *held, kinds, now_ms);
  if (out.plan.remove.empty()) return out;
  std::vector<Argv> reads;
  Argv watch_cis{"WATCH"};
  for (const Relationship& r : out.plan.remove) watch_cis.push_back(b.key("ci", r.to));
  reads.push_back(std::move(watch_cis));
  for (const Relationship& r : out.plan.remove) reads.push_back({"HGETALL", b.key("ci", r.to)});
  auto got = c.pipeline(reads);
  if (!got) return std::move(got).error();
  for (std::size_t i = 0; i < out.plan.remove.size(); ++i) {
    auto ci = ci_from_hash(out.plan.remove[i].to, (*got)[i + 1].get());
    if (!ci) return std::move(ci).error();
    out.removed_cis.push_back(std::move(*ci));
  }
  return out;
}

void write_components(const Backend& b, const ComponentReads& reads, std::int64_t now_ms, std::vector<Argv>& tx,
                      std::vector<AuditRecord>& audit) {
  for (const Relationship& r : reads.plan.add) {
    relationship_writes(b, r, true, tx);
    audit.push_back(relationship_audit(r, true, r.origin, "", r.created_ms));
  }
  for (std::size_t i = 0; i < reads.plan.remove.size(); ++i) {
    const Relationship& r = reads.plan.remove[i];
    relationship_writes(b, r, false, tx);
    audit.push_back(relationship_audit(r, false, "agent", "", now_ms));
    const std::optional<Ci>& held = reads.removed_cis[i];
    if (auto retire = retirement(held, now_ms)) {
      const Ci merged = merge_ci(held, *retire);
      write_ci(b, held, merged, tx);
      for (AuditRecord& a : audit_ci(held, merged, retire->source, retire->actor, retire->seen_at_ms)) audit.push_back(std::move(a));
    }
  }
}

class RedisRelationStore final : public Bound<RelationStore> {
 public:
  using Bound::Bound;

  core::Result<bool> add_relationship(const Relationship& r, std::string_view actor) override {
    return change(r, true, r.origin, actor, r.created_ms);
  }

  core::Result<bool> remove_relationship(const Relationship& r, std::string_view origin, std::string_view actor,
                                         std::int64_t now_ms) override {
    return change(r, false, std::string(origin), actor, now_ms);
  }

  core::Result<std::vector<Relationship>> relationships_of(std::string_view ci_id) override {
    return b_->pool.with([&](Connection& c) { return relationships_on(c, *b_, ci_id); });
  }

  core::Result<std::vector<Relationship>> all_relationships() override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Relationship>> {
      std::vector<Relationship> out;
      std::string cursor = "0";
      do {
        auto r = c.command({"HSCAN", b_->key("rel:meta"), cursor, "COUNT", "2000"});
        if (!r) return std::move(r).error();
        const redisReply* rep = r->get();
        if (is_error(rep) || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
          return reply_error(rep, "scan relationships");
        cursor = reply_text(rep->element[0]);
        const redisReply* kv = rep->element[1];
        for (std::size_t i = 0; i + 1 < kv->elements; i += 2) {
          auto rel = parse_relationship(reply_text(kv->element[i]), reply_text(kv->element[i + 1]));
          if (!rel) return std::move(rel).error();
          out.push_back(std::move(*rel));
        }
      } while (cursor != "0");
      std::sort(out.begin(), out.end(), [](const Relationship& a, const Relationship& b) {
        return std::tie(a.from, a.type, a.to) < std::tie(b.from, b.type, b.to);
      });
      return out;
    });
  }

  core::Result<std::int64_t> relationships_version() override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::int64_t> {
      auto r = c.command({"GET", b_->key("rel:version")});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read version");
      return reply_int(r->get()).value_or(0);
    });
  }

 private:


  core::Result<bool> change(const Relationship& r, bool add, const std::string& origin, std::string_view actor,
                            std::int64_t t) {
    const std::string id = r.from + kSep + r.type + kSep + r.to;
    return b_->pool.with([&](Connection& c) {
      return optimistic<bool>(c, "relationships of " + r.from, [&]() -> core::Result<std::optional<bool>> {
        // Writers of the same CI's relationships serialise on its lock key
        // (bumped by every write); others do not contend.
        const std::string lock = b_->key("rel:lock", r.from);
        auto pre = c.pipeline({{"WATCH", lock, b_->key("ci", r.from), b_->key("ci", r.to)},
                               {"HEXISTS", b_->key("rel:meta"), id},
                               {"EXISTS", b_->key("ci", r.from)},
                               {"EXISTS", b_->key("ci", r.to)}});
        if (!pre) return std::move(pre).error();
        const bool exists = reply_int((*pre)[1].get()).value_or(0) == 1;
        if (add) {
          for (int i : {2, 3})
            if (reply_int((*pre)[i].get()).value_or(0) != 1)
              return core::make_error(StoreErrc::not_found,
                                      "no CI with id '" + (i == 2 ? r.from : r.to) + "'");
        }
        if (exists == add) return std::optional<bool>(false);
        std::vector<Argv> tx{{"MULTI"}};
        relationship_writes(*b_, r, add, tx);
        if (auto st = add_audit(c, *b_, {relationship_audit(r, add, origin, actor, t)}, tx); !st) return std::move(st).error();
        tx.push_back({"EXEC"});
        auto res = c.pipeline(tx);
        if (!res) return std::move(res).error();
        const redisReply* exec = res->back().get();
        if (is_error(exec)) return reply_error(exec, "write relationship");
        if (exec->type == REDIS_REPLY_ARRAY) return std::optional<bool>(true);
        return std::optional<bool>{};
      });
    });
  }
};

std::shared_ptr<store::RelationStore> make_relation_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisRelationStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
