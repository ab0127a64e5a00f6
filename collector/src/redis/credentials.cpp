// SPDX-License-Identifier: Apache-2.0
// Operators' tokens and enrollment grants on Redis.
#include "backend.hpp"

namespace surveyor::collector::redis {

// Tokens: hash "token:NAME" (role, hash, created_ms, expires_ms, revoked_ms),
// string "token:hash:HASH" -> NAME, set "tokens" of names. Grants: hash
// "grant:ID" (hash, uses, used, created_ms, expires_ms, revoked_ms), string
// "grant:hash:HASH" -> ID, set "grants" of ids. A grant's use is one HINCRBY,
// taken back when it went past the grant's uses, so concurrent enrollments
// never contend and never spend more than there is.
class RedisCredentialStore final : public Bound<CredentialStore> {
 public:
  using Bound::Bound;

  core::Result<bool> add_token(const OperatorToken& t) override {
    const std::string key = b_->key("token", t.name);
    return b_->pool.with([&](Connection& c) {
      return optimistic<bool>(c, "token " + t.name, [&]() -> core::Result<std::optional<bool>> {
        auto pre = c.pipeline({{"WATCH", key}, {"EXISTS", key}});
        if (!pre) return std::move(pre).error();
        if (reply_int((*pre)[1].get()).value_or(0) == 1) return std::optional<bool>(false);
        return exec(c, {{"MULTI"},
                        {"HSET", key, "role", std::string(to_string(t.role)), "hash", t.hash, "created_ms",
                         i64(t.created_ms), "expires_ms", i64(t.expires_ms), "revoked_ms", i64(t.revoked_ms)},
                        {"SET", b_->key("token:hash", t.hash), t.name},
                        {"SADD", b_->key("tokens"), t.name},
                        {"EXEC"}},
                    "add token");
      });
    });
  }

  core::Result<std::optional<OperatorToken>> token_by_hash(std::string_view hash) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::optional<OperatorToken>> {
      auto name = c.command({"GET", b_->key("token:hash", hash)});
      if (!name) return std::move(name).error();
      if (is_error(name->get())) return reply_error(name->get(), "read token");
      if ((*name)->type != REDIS_REPLY_STRING) return std::optional<OperatorToken>{};
      auto tokens = read_tokens(c, {reply_text(name->get())});
      if (!tokens) return std::move(tokens).error();
      if (tokens->empty()) return std::optional<OperatorToken>{};
      return std::optional<OperatorToken>{std::move(tokens->front())};
    });
  }

  core::Result<std::vector<OperatorToken>> list_tokens() override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<OperatorToken>> {
      auto names = members(c, "tokens");
      if (!names) return std::move(names).error();
      return read_tokens(c, *names);
    });
  }

  core::Result<bool> revoke_token(std::string_view name, std::int64_t now_ms) override {
    return revoke(b_->key("token", name), now_ms);
  }

  core::Status add_grant(const EnrollmentGrant& g) override {
    const std::string key = b_->key("grant", g.id), by_hash = b_->key("grant:hash", g.hash);
    auto r = b_->pool.with([&](Connection& c) {
      return optimistic<bool>(c, "enrollment grant " + g.id, [&]() -> core::Result<std::optional<bool>> {
        auto pre = c.pipeline({{"WATCH", key, by_hash}, {"EXISTS", key, by_hash}});
        if (!pre) return std::move(pre).error();
        if (reply_int((*pre)[1].get()).value_or(0) != 0)
          return core::make_error(StoreErrc::conflict, "enrollment grant " + g.id + " exists");
        return exec(c, {{"MULTI"},
                        {"HSET", key, "hash", g.hash, "uses", i64(g.uses), "used", i64(g.used), "created_ms",
                         i64(g.created_ms), "expires_ms", i64(g.expires_ms), "revoked_ms", i64(g.revoked_ms)},
                        {"SET", by_hash, g.id},
                        {"SADD", b_->key("grants"), g.id},
                        {"EXEC"}},
                    "add enrollment grant");
      });
    });
    if (!r) return std::move(r).error();
    return {};
  }

  core::Result<std::vector<EnrollmentGrant>> list_grants() override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<EnrollmentGrant>> {
      auto ids = members(c, "grants");
      if (!ids) return std::move(ids).error();
      return read_grants(c, *ids);
    });
  }

  core::Result<bool> revoke_grant(std::string_view id, std::int64_t now_ms) override {
    return revoke(b_->key("grant", id), now_ms);
  }

  core::Result<GrantUse> use_grant(std::string_view hash, std::int64_t now_ms) override {
    return b_->pool.with([&](Connection& c) -> core::Result<GrantUse> {
      auto id = c.command({"GET", b_->key("grant:hash", hash)});
      if (!id) return std::move(id).error();
      if (is_error(id->get())) return reply_error(id->get(), "read enrollment grant");
      if ((*id)->type != REDIS_REPLY_STRING) return GrantUse::unknown;
      auto grants = read_grants(c, {reply_text(id->get())});
      if (!grants) return std::move(grants).error();
      if (grants->empty()) return GrantUse::unknown;
      const EnrollmentGrant& g = grants->front();
      if (GrantUse u = grant_use(g, now_ms); u != GrantUse::accepted) return u;
      const std::string key = b_->key("grant", g.id);
      auto used = c.command({"HINCRBY", key, "used", "1"});
      if (!used) return std::move(used).error();
      if (is_error(used->get())) return reply_error(used->get(), "use enrollment grant");
      if (reply_int(used->get()).value_or(0) <= g.uses) return GrantUse::accepted;
      auto back = c.command({"HINCRBY", key, "used", "-1"});
      if (!back) return std::move(back).error();
      return GrantUse::used_up;
    });
  }

 private:
  core::Result<std::optional<bool>> exec(Connection& c, const std::vector<Argv>& tx, std::string_view what) {
    auto res = c.pipeline(tx);
    if (!res) return std::move(res).error();
    const redisReply* r = res->back().get();
    if (is_error(r)) return reply_error(r, what);
    if (r->type == REDIS_REPLY_ARRAY) return std::optional<bool>(true);
    return std::optional<bool>{};  // a concurrent writer: try again
  }

  core::Result<std::vector<std::string>> members(Connection& c, std::string_view set) {
    auto r = c.command({"SMEMBERS", b_->key(set)});
    if (!r) return std::move(r).error();
    if (is_error(r->get())) return reply_error(r->get(), "read " + std::string(set));
    std::vector<std::string> out = member_list(r->get());
    std::sort(out.begin(), out.end());
    return out;
  }

  // The hashes "KIND:ID" of `ids`, in order; those gone are left out.
  core::Result<std::vector<std::pair<std::string, std::map<std::string, std::string>>>> hashes(
      Connection& c, std::string_view kind, const std::vector<std::string>& ids) {
    std::vector<Argv> reads;
    for (const std::string& id : ids) reads.push_back({"HGETALL", b_->key(kind, id)});
    std::vector<std::pair<std::string, std::map<std::string, std::string>>> out;
    if (reads.empty()) return out;
    auto r = c.pipeline(reads);
    if (!r) return std::move(r).error();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (is_error((*r)[i].get())) return reply_error((*r)[i].get(), "read " + std::string(kind));
      auto h = hash_of((*r)[i].get());
      if (!h.empty()) out.emplace_back(ids[i], std::move(h));
    }
    return out;
  }

  core::Result<std::vector<OperatorToken>> read_tokens(Connection& c, const std::vector<std::string>& names) {
    auto hs = hashes(c, "token", names);
    if (!hs) return std::move(hs).error();
    std::vector<OperatorToken> out;
    for (const auto& [name, h] : *hs) {
      auto role = role_from(field(h, "role"));
      if (!role) return core::make_error(StoreErrc::corrupt, "token " + name + " has an unknown role");
      out.push_back({name, *role, field(h, "hash"), field_int(h, "created_ms"), field_int(h, "expires_ms"),
                     field_int(h, "revoked_ms")});
    }
    return out;
  }

  core::Result<std::vector<EnrollmentGrant>> read_grants(Connection& c, const std::vector<std::string>& ids) {
    auto hs = hashes(c, "grant", ids);
    if (!hs) return std::move(hs).error();
    std::vector<EnrollmentGrant> out;
    for (const auto& [id, h] : *hs)
      out.push_back({id, field(h, "hash"), field_int(h, "uses"), field_int(h, "used"), field_int(h, "created_ms"),
                     field_int(h, "expires_ms"), field_int(h, "revoked_ms")});
    return out;
  }

  // Sets revoked_ms of the hash at `key` unless it is missing or revoked.
  core::Result<bool> revoke(const std::string& key, std::int64_t now_ms) {
    return b_->pool.with([&](Connection& c) {
      return optimistic<bool>(c, "revocation", [&]() -> core::Result<std::optional<bool>> {
        auto pre = c.pipeline({{"WATCH", key}, {"HGET", key, "revoked_ms"}});
        if (!pre) return std::move(pre).error();
        const redisReply* held = (*pre)[1].get();
        if (is_error(held)) return reply_error(held, "read for revocation");
        if (held->type != REDIS_REPLY_STRING || reply_text(held) != "0") return std::optional<bool>(false);
        return exec(c, {{"MULTI"}, {"HSET", key, "revoked_ms", i64(now_ms)}, {"EXEC"}}, "revoke");
      });
    });
  }
};

std::shared_ptr<store::CredentialStore> make_credential_store(std::shared_ptr<Backend> b) {
  return std::make_shared<RedisCredentialStore>(std::move(b));
}

}  // namespace surveyor::collector::redis
