// SPDX-License-Identifier: Apache-2.0
// Enrolled agents on Redis: one hash per agent, host_key("agent", CI, ID).
// On a store spread over a cluster it is in the slot of the agent's host,
// with the window of sequences the agent reports under, and
// "{PREFIX}:agent-ci" (a hash) says which host that is, agent by agent
// (no entry: in the store's own slot, as a store written before the
// agents spread keeps them, or for an agent without a CI). An agent moves
// to another host (reassign_agent; or from the store's slot at its first
// read) in steps, each finished by whoever finds it half done: its record
// first names the CI it goes to, which refuses reports for the one it
// leaves (reports.cpp checks the CI they are for); then the record and
// the window are written in the new slot, the index points there and the
// old keys are deleted.
#include "backend.hpp"

namespace surveyor::collector::redis {

class RedisAgentStore final : public Bound<AgentStore> {
 public:
  using Bound::Bound;

  core::Status create_agent(const AgentRecord& a) override {
    static const char* kCreate =
        "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
        "redis.call('HSET', KEYS[1], unpack(ARGV)) return 1";
    if (auto st = b_->resolve_layout(); !st) return st;
    if (b_->spread()) {
      auto claimed = b_->pool.with([&](Connection& c) -> core::Result<bool> {
        auto r = c.command({"HSETNX", b_->key("agent-ci"), a.id, a.ci_id});
        if (!r) return std::move(r).error();
        if (is_error(r->get())) return reply_error(r->get(), "create agent");
        return reply_int(r->get()) == 1;
      });
      if (!claimed) return std::move(claimed).error();
      if (!*claimed) return core::make_error(StoreErrc::conflict, "agent " + a.id + " exists");
    }
    return b_->with_host(a.ci_id, [&](Connection& c) -> core::Status {
      auto r = c.command({"EVAL", kCreate, "1", b_->host_key("agent", a.ci_id, a.id), "key_hash", a.key_hash,
                          "host_id", a.host_id, "hostname", a.hostname, "ci_id", a.ci_id, "agent_version",
                          a.agent_version, "enrolled_at_ms", i64(a.enrolled_at_ms), "last_seen_ms",
                          i64(a.last_seen_ms), "last_sequence", std::to_string(a.last_sequence),
                          "heartbeat_interval_s", std::to_string(a.heartbeat_interval_s),
                          "inventory_digest", a.inventory_digest});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "create agent");
      if (reply_int(r->get()) != 1) return core::make_error(StoreErrc::conflict, "agent " + a.id + " exists");
      return {};
    });
  }

  core::Result<bool> revoke_agent(std::string_view id) override {
    static const char* kRevoke =
        "if ARGV[1] ~= '*' and redis.call('HGET', KEYS[1], 'ci_id') ~= ARGV[1] then return -1 end "
        "local h = redis.call('HGET', KEYS[1], 'key_hash') "
        "if not h or h == '' then return 0 end "
        "redis.call('HSET', KEYS[1], 'key_hash', '') return 1";
    return on_record(id, "revoke agent", kRevoke, {});
  }

  core::Result<bool> rotate_key(std::string_view id, std::string_view old_hash, std::string_view new_hash) override {
    static const char* kRotate =
        "if ARGV[1] ~= '*' and redis.call('HGET', KEYS[1], 'ci_id') ~= ARGV[1] then return -1 end "
        "local h = redis.call('HGET', KEYS[1], 'key_hash') "
        "if not h or h == '' or h ~= ARGV[2] then return 0 end "
        "redis.call('HSET', KEYS[1], 'key_hash', ARGV[3]) return 1";
    return on_record(id, "rotate agent key", kRotate, {std::string(old_hash), std::string(new_hash)});
  }

  core::Result<bool> reassign_agent(std::string_view id, std::string_view ci_id) override {
    if (auto st = b_->resolve_layout(); !st) return std::move(st).error();
    auto at = settle(id);
    if (!at) return std::move(at).error();
    if (!*at) return false;
    if (!b_->spread()) {
      return b_->pool.with([&](Connection& c) -> core::Result<bool> {
        static const char* kReassign =
            "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
            "redis.call('HSET', KEYS[1], 'ci_id', ARGV[1]) return 1";
        auto r = c.command({"EVAL", kReassign, "1", b_->key("agent", id), std::string(ci_id)});
        if (!r) return std::move(r).error();
        if (is_error(r->get())) return reply_error(r->get(), "reassign agent");
        return reply_int(r->get()) == 1;
      });
    }
    auto moved = move(id, (*at)->first, std::string(ci_id));
    if (!moved) return std::move(moved).error();
    return *moved;
  }

  core::Result<std::optional<AgentRecord>> find_agent(std::string_view id) override {
    if (auto st = b_->resolve_layout(); !st) return std::move(st).error();
    auto at = settle(id);
    if (!at) return std::move(at).error();
    if (!*at) return std::optional<AgentRecord>{};
    const Hash* h = &(*at)->second;
    AgentRecord a;
    a.id = std::string(id);
    a.key_hash = field(*h, "key_hash");
    a.host_id = field(*h, "host_id");
    a.hostname = field(*h, "hostname");
    a.ci_id = field(*h, "ci_id");
    a.agent_version = field(*h, "agent_version");
    a.enrolled_at_ms = field_int(*h, "enrolled_at_ms");
    a.last_seen_ms = field_int(*h, "last_seen_ms");
    a.last_sequence = static_cast<std::uint64_t>(field_int(*h, "last_sequence"));
    a.heartbeat_interval_s = static_cast<std::uint32_t>(field_int(*h, "heartbeat_interval_s"));
    a.inventory_digest = field(*h, "inventory_digest");
    return std::optional<AgentRecord>{std::move(a)};
  }

 private:
  using Hash = std::map<std::string, std::string>;

  // The host the agent's keys are with, as the index says ("": the
  // store's own slot).
  core::Result<std::string> indexed(std::string_view id) {
    if (!b_->spread()) return std::string();
    return b_->pool.with([&](Connection& c) -> core::Result<std::string> {
      auto r = c.command({"HGET", b_->key("agent-ci"), std::string(id)});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "find agent");
      return reply_text(r->get());
    });
  }

  core::Result<Hash> read_record(std::string_view id, const std::string& at) {
    return b_->with_host(at, [&](Connection& c) -> core::Result<Hash> {
      auto r = c.command({"HGETALL", b_->host_key("agent", at, id)});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read agent");
      return hash_of(r->get());
    });
  }

  // Where the agent's keys are (the host, as host_key takes it) and its
  // record, any move of them under way finished first; nullopt when there
  // is no such agent.
  core::Result<std::optional<std::pair<std::string, Hash>>> settle(std::string_view id) {
    using Found = std::optional<std::pair<std::string, Hash>>;
    auto at = indexed(id);
    if (!at) return std::move(at).error();
    for (int attempt = 0; attempt < kMaxOptimisticAttempts; ++attempt) {
      auto h = read_record(id, *at);
      if (!h) return std::move(h).error();
      if (h->empty()) return Found{};
      const std::string ci = field(*h, "ci_id");
      if (!b_->spread() || ci == *at) return Found{{std::move(*at), std::move(*h)}};
      auto moved = move(id, *at, ci);
      if (!moved) return std::move(moved).error();
      if (!*moved) return Found{};
      *at = ci;
    }
    return core::make_error(StoreErrc::unavailable, "agent " + std::string(id) + " kept moving; gave up");
  }

  // Runs `script` on the agent's record where it is (KEYS[1]; ARGV[1] the
  // CI it is for, then `args`): -1 from the script means the record names
  // another CI, a move begun since, which is finished and the script run
  // again. False when there is no such agent.
  core::Result<bool> on_record(std::string_view id, std::string_view what, const char* script,
                               const std::vector<std::string>& args) {
    if (auto st = b_->resolve_layout(); !st) return std::move(st).error();
    for (int attempt = 0; attempt < kMaxOptimisticAttempts; ++attempt) {
      auto at = settle(id);
      if (!at) return std::move(at).error();
      if (!*at) return false;
      auto r = b_->with_host((*at)->first, [&](Connection& c) -> core::Result<std::int64_t> {
        // One slot: the record is where it is, whatever CI it names.
        Argv cmd{"EVAL", script, "1", b_->host_key("agent", (*at)->first, id), b_->spread() ? (*at)->first : "*"};
        cmd.insert(cmd.end(), args.begin(), args.end());
        auto got = c.command(cmd);
        if (!got) return std::move(got).error();
        if (is_error(got->get())) return reply_error(got->get(), what);
        return reply_int(got->get()).value_or(0);
      });
      if (!r) return std::move(r).error();
      if (*r >= 0) return *r == 1;
    }
    return core::make_error(StoreErrc::unavailable, std::string(what) + ": the agent kept moving; gave up");
  }

  // Moves the agent's keys from host `from` to host `to` (see the top of
  // this file); false when there is no such agent.
  core::Result<bool> move(std::string_view id, const std::string& from, const std::string& to) {
    const std::string agent = b_->host_key("agent", from, id), window = b_->host_key("window", from, id),
                      seen = b_->host_key("seen", from, id);
    struct Held {
      Hash record;
      std::optional<std::string> window;
      std::vector<std::string> seen;  // member, score, ...
    };
    auto held = b_->with_host(from, [&](Connection& c) {
      return optimistic<std::optional<Held>>(c, "move agent " + std::string(id), [&]() -> core::Result<std::optional<std::optional<Held>>> {
        auto got = c.pipeline({{"WATCH", agent, window, seen},
                               {"HGETALL", agent},
                               {"GET", window},
                               {"ZRANGE", seen, "0", "-1", "WITHSCORES"}});
        if (!got) return std::move(got).error();
        for (const Reply& r : *got)
          if (is_error(r.get())) return reply_error(r.get(), "move agent " + std::string(id));
        Held h{hash_of((*got)[1].get()), std::nullopt, member_list((*got)[3].get())};
        if (h.record.empty()) return std::optional<std::optional<Held>>{std::optional<Held>{}};
        if ((*got)[2]->type == REDIS_REPLY_STRING) h.window = reply_text((*got)[2].get());
        if (field(h.record, "ci_id") == to) return std::optional<std::optional<Held>>{std::move(h)};
        // From now on the record refuses reports for the host it leaves.
        auto done = c.pipeline({{"MULTI"}, {"HSET", agent, "ci_id", to}, {"EXEC"}});
        if (!done) return std::move(done).error();
        const redisReply* exec = done->back().get();
        if (is_error(exec)) return reply_error(exec, "move agent " + std::string(id));
        if (exec->type != REDIS_REPLY_ARRAY) return std::optional<std::optional<Held>>{};  // raced: again
        h.record["ci_id"] = to;
        return std::optional<std::optional<Held>>{std::move(h)};
      });
    });
    if (!held) return std::move(held).error();
    if (!*held) return false;
    if (from == to) return true;
    auto written = b_->with_host(to, [&](Connection& c) -> core::Status {
      const std::string agent_to = b_->host_key("agent", to, id), window_to = b_->host_key("window", to, id),
                        seen_to = b_->host_key("seen", to, id);
      std::vector<Argv> tx{{"MULTI"}, {"DEL", agent_to, window_to, seen_to}};
      Argv record{"HSET", agent_to};
      for (const auto& [k, v] : (*held)->record) {
        record.push_back(k);
        record.push_back(v);
      }
      tx.push_back(std::move(record));
      if ((*held)->window) tx.push_back({"SET", window_to, *(*held)->window});
      if (!(*held)->seen.empty()) {
        Argv add{"ZADD", seen_to};
        for (std::size_t i = 0; i + 1 < (*held)->seen.size(); i += 2) {
          add.push_back((*held)->seen[i + 1]);
          add.push_back((*held)->seen[i]);
        }
        tx.push_back(std::move(add));
      }
      tx.push_back({"EXEC"});
      auto r = c.pipeline(tx);
      if (!r) return std::move(r).error();
      for (const Reply& rep : *r)
        if (is_error(rep.get())) return reply_error(rep.get(), "move agent " + std::string(id));
      return {};
    });
    if (!written) return std::move(written).error();
    auto pointed = b_->pool.with([&](Connection& c) -> core::Status {
      auto r = c.command({"HSET", b_->key("agent-ci"), std::string(id), to});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "move agent " + std::string(id));
      return {};
    });
    if (!pointed) return std::move(pointed).error();
    auto cleared = b_->with_host(from, [&](Connection& c) -> core::Status {
      auto r = c.command({"DEL", agent, window, seen});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "move agent " + std::string(id));
      return {};
    });
    if (!cleared) return std::move(cleared).error();
    return true;
  }
};

std::shared_ptr<store::AgentStore> make_agent_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisAgentStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
