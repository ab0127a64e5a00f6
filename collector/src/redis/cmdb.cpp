// SPDX-License-Identifier: Apache-2.0
// Configuration items on Redis: a hash per CI and the name and type indexes.
#include "backend.hpp"

namespace surveyor::collector::redis {

class RedisCmdbStore final : public Bound<CmdbStore> {
 public:
  using Bound::Bound;

  core::Result<Ci> upsert_ci(const CiUpdate& u) override {
    auto written = b_->pool.with([&](Connection& c) {
      return optimistic<Ci>(c, "CI " + u.id, [&]() -> core::Result<std::optional<Ci>> {
        auto pre = c.pipeline({{"WATCH", b_->key("ci", u.id)}, {"HGETALL", b_->key("ci", u.id)}});
        if (!pre) return std::move(pre).error();
        auto old = ci_from_hash(u.id, (*pre)[1].get());
        if (!old) return std::move(old).error();
        Ci merged = merge_ci(*old, u);
        std::vector<Argv> tx{{"MULTI"}};
        write_ci(*b_, *old, merged, tx);
        if (auto st = add_audit(c, *b_, audit_ci(*old, merged, u.source, u.actor, u.seen_at_ms), tx); !st)
          return std::move(st).error();
        tx.push_back({"EXEC"});
        auto r = c.pipeline(tx);
        if (!r) return std::move(r).error();
        const redisReply* exec = r->back().get();
        if (is_error(exec)) return reply_error(exec, "write CI");
        if (exec->type == REDIS_REPLY_ARRAY) return std::optional<Ci>(std::move(merged));
        return std::optional<Ci>{};  // nil: a watched key changed under us; read again
      });
    });
    if (!written) return written;
    if (auto st = add_sightings(*b_, {&*written}); !st) return std::move(st).error();
    return written;
  }

  core::Result<std::optional<Ci>> find_ci(std::string_view id) override {
    auto found = b_->pool.with([&](Connection& c) -> core::Result<std::optional<Ci>> {
      auto r = c.command({"HGETALL", b_->key("ci", id)});
      if (!r) return std::move(r).error();
      return ci_from_hash(id, r->get());
    });
    if (!found || !*found) return found;
    if (auto st = add_sightings(*b_, {&**found}); !st) return std::move(st).error();
    return found;
  }

  // The index the filter reads and its lexical range ("name<sep>id"
  // members): an exact name, a name prefix (to the prefix and a 0xFF byte,
  // which no UTF-8 text holds), or all.
  struct Range {
    std::string index, min = "-", max = "+";
  };
  Range range_of(const CiFilter& f) const {
    Range r{f.type.empty() ? b_->key("cis:byname") : b_->key("cis:type", f.type)};
    if (!f.name.empty()) {
      r.min = "[" + f.name + kSep;
      r.max = "(" + f.name + kSep + '\x7f';
    } else if (!f.name_prefix.empty()) {
      r.min = "[" + f.name_prefix;
      r.max = "(" + f.name_prefix + '\xff';
    }
    return r;
  }

  // The ids in the filter's range, in name order (a page of them unless
  // `all`), without the state condition.
  core::Result<std::vector<std::string>> ids_in_range(Connection& c, const CiFilter& f, bool all) {
    if (!f.name.empty() && !f.name.starts_with(f.name_prefix)) return std::vector<std::string>{};  // both asked
    const Range rg = range_of(f);
    Argv cmd{"ZRANGEBYLEX", rg.index, rg.min, rg.max};
    if (!all) cmd.insert(cmd.end(), {"LIMIT", std::to_string(f.offset), std::to_string(f.limit)});
    auto r = c.command(cmd);
    if (!r) return std::move(r).error();
    const redisReply* arr = r->get();
    if (is_error(arr)) return reply_error(arr, "list CIs");
    std::vector<std::string> ids;
    for (std::size_t i = 0; arr->type == REDIS_REPLY_ARRAY && i < arr->elements; ++i) {
      const std::string m = reply_text(arr->element[i]);
      const auto sep = m.rfind(kSep);
      if (sep == std::string::npos) return core::make_error(StoreErrc::corrupt, "bad CI index entry");
      ids.push_back(m.substr(sep + 1));
    }
    return ids;
  }

  // The ids the whole filter matches: a state condition reads every CI's
  // state in the range (one pipelined HGET each), then pages.
  core::Result<std::vector<std::string>> matching_ids(Connection& c, const CiFilter& f, bool all) {
    if (!f.state) return ids_in_range(c, f, all);
    auto ids = ids_in_range(c, f, true);
    if (!ids) return ids;
    std::vector<Argv> reads;
    for (const std::string& id : *ids) reads.push_back({"HGET", b_->key("ci", id), "state"});
    std::vector<std::string> kept;
    if (reads.empty()) return kept;
    auto states = c.pipeline(reads);
    if (!states) return std::move(states).error();
    const std::string want(to_string(*f.state));
    std::size_t matched = 0;
    for (std::size_t i = 0; i < ids->size(); ++i) {
      if (reply_text((*states)[i].get()) != want) continue;
      if (all || (matched >= f.offset && kept.size() < f.limit)) kept.push_back((*ids)[i]);
      ++matched;
    }
    return kept;
  }

  core::Result<std::size_t> count_cis(const CiFilter& f) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::size_t> {
      if (f.state) {
        auto ids = matching_ids(c, f, true);
        if (!ids) return std::move(ids).error();
        return ids->size();
      }
      if (!f.name.empty() && !f.name.starts_with(f.name_prefix)) return std::size_t{0};  // both asked
      const Range rg = range_of(f);
      auto r = c.command({"ZLEXCOUNT", rg.index, rg.min, rg.max});
      if (!r) return std::move(r).error();
      if (is_error(r->get()) || r->get()->type != REDIS_REPLY_INTEGER) return reply_error(r->get(), "count CIs");
      return static_cast<std::size_t>(r->get()->integer);
    });
  }

  core::Result<std::vector<Ci>> list_cis(const CiFilter& f) override {
    auto listed = b_->pool.with([&](Connection& c) -> core::Result<std::vector<Ci>> {
      auto found = matching_ids(c, f, false);
      if (!found) return std::move(found).error();
      const std::vector<std::string>& ids = *found;
      std::vector<Argv> reads;
      for (const std::string& id : ids) reads.push_back({"HGETALL", b_->key("ci", id)});
      std::vector<Ci> out;
      if (reads.empty()) return out;
      auto rows = c.pipeline(reads);
      if (!rows) return std::move(rows).error();
      for (std::size_t i = 0; i < ids.size(); ++i) {
        auto ci = ci_from_hash(ids[i], (*rows)[i].get());
        if (!ci) return std::move(ci).error();
        if (*ci) out.push_back(std::move(**ci));
      }
      return out;
    });
    if (!listed) return listed;
    std::vector<Ci*> cis;
    for (Ci& c : *listed) cis.push_back(&c);
    if (auto st = add_sightings(*b_, std::move(cis)); !st) return std::move(st).error();
    return listed;
  }
};

std::shared_ptr<store::CmdbStore> make_cmdb_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisCmdbStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
