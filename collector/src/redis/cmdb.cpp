// SPDX-License-Identifier: Apache-2.0
// Configuration items on Redis: a hash per CI and the name and type indexes.
#include "backend.hpp"

namespace surveyor::collector::redis {

class RedisCmdbStore final : public Bound<CmdbStore> {
 public:
  using Bound::Bound;

  core::Result<Ci> upsert_ci(const CiUpdate& u) override {
    return b_->pool.with([&](Connection& c) {
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
  }

  core::Result<std::optional<Ci>> find_ci(std::string_view id) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::optional<Ci>> {
      auto r = c.command({"HGETALL", b_->key("ci", id)});
      if (!r) return std::move(r).error();
      return ci_from_hash(id, r->get());
    });
  }

  core::Result<std::vector<Ci>> list_cis(const CiFilter& f) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Ci>> {
      const std::string index = f.type.empty() ? b_->key("cis:byname") : b_->key("cis:type", f.type);
      std::string min = "-", max = "+";
      if (!f.name.empty()) {
        min = "[" + f.name + kSep;
        max = "(" + f.name + kSep + '\x7f';
      }
      auto r = c.command({"ZRANGEBYLEX", index, min, max, "LIMIT", std::to_string(f.offset), std::to_string(f.limit)});
      if (!r) return std::move(r).error();
      const redisReply* arr = r->get();
      if (is_error(arr)) return reply_error(arr, "list CIs");
      std::vector<std::string> ids;
      std::vector<Argv> reads;
      for (std::size_t i = 0; arr->type == REDIS_REPLY_ARRAY && i < arr->elements; ++i) {
        const std::string m = reply_text(arr->element[i]);
        const auto sep = m.rfind(kSep);
        if (sep == std::string::npos) return core::make_error(StoreErrc::corrupt, "bad CI index entry");
        ids.push_back(m.substr(sep + 1));
        reads.push_back({"HGETALL", b_->key("ci", ids.back())});
      }
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
  }
};

std::shared_ptr<store::CmdbStore> make_cmdb_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisCmdbStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
