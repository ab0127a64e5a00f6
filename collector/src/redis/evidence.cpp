// SPDX-License-Identifier: Apache-2.0
// Frozen audit evidence on Redis: one key per clause and period, set once.
#include "backend.hpp"

namespace surveyor::collector::redis {

// "evidence:CLAUSE\x1fPERIOD": a hash of created_ms and document, written
// only if the key does not exist (a script, so both fields land together).
class RedisEvidenceStore final : public Bound<EvidenceStore> {
 public:
  using Bound::Bound;

  core::Result<bool> add_evidence(const FrozenEvidence& e) override {
    static const char* kAddOnce = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'created_ms', ARGV[1], 'document', ARGV[2])
return 1)lua";
    return b_->pool.with([&](Connection& c) -> core::Result<bool> {
      auto r = c.command({"EVAL", kAddOnce, "1", key_of(e.clause, e.period), i64(e.created_ms), e.document});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "write evidence");
      return reply_int(r->get()).value_or(0) == 1;
    });
  }

  core::Result<std::optional<FrozenEvidence>> find_evidence(std::string_view clause, std::string_view period) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::optional<FrozenEvidence>> {
      auto r = c.command({"HMGET", key_of(clause, period), "created_ms", "document"});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read evidence");
      const redisReply* a = r->get();
      if (a->type != REDIS_REPLY_ARRAY || a->elements != 2) return reply_error(a, "read evidence");
      if (a->element[1]->type == REDIS_REPLY_NIL) return std::optional<FrozenEvidence>{};
      return std::optional<FrozenEvidence>{FrozenEvidence{std::string(clause), std::string(period),
                                                          reply_int(a->element[0]).value_or(0),
                                                          reply_text(a->element[1])}};
    });
  }

 private:
  [[nodiscard]] std::string key_of(std::string_view clause, std::string_view period) const {
    return b_->key("evidence", std::string(clause) + kSep + std::string(period));
  }
};

std::shared_ptr<store::EvidenceStore> make_evidence_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisEvidenceStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
