// SPDX-License-Identifier: Apache-2.0
// Enrolled agents on Redis: one hash per agent.
#include "backend.hpp"

namespace surveyor::collector::redis {

class RedisAgentStore final : public Bound<AgentStore> {
 public:
  using Bound::Bound;

  core::Status create_agent(const AgentRecord& a) override {
    static const char* kCreate =
        "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
        "redis.call('HSET', KEYS[1], unpack(ARGV)) return 1";
    return b_->pool.with([&](Connection& c) -> core::Status {
      auto r = c.command({"EVAL", kCreate, "1", b_->key("agent", a.id), "key_hash", a.key_hash, "host_id",
                          a.host_id, "hostname", a.hostname, "ci_id", a.ci_id, "agent_version",
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
        "local h = redis.call('HGET', KEYS[1], 'key_hash') "
        "if not h or h == '' then return 0 end "
        "redis.call('HSET', KEYS[1], 'key_hash', '') return 1";
    return b_->pool.with([&](Connection& c) -> core::Result<bool> {
      auto r = c.command({"EVAL", kRevoke, "1", b_->key("agent", id)});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "revoke agent");
      return reply_int(r->get()) == 1;
    });
  }

  core::Result<bool> rotate_key(std::string_view id, std::string_view old_hash, std::string_view new_hash) override {
    static const char* kRotate =
        "local h = redis.call('HGET', KEYS[1], 'key_hash') "
        "if not h or h == '' or h ~= ARGV[1] then return 0 end "
        "redis.call('HSET', KEYS[1], 'key_hash', ARGV[2]) return 1";
    return b_->pool.with([&](Connection& c) -> core::Result<bool> {
      auto r = c.command({"EVAL", kRotate, "1", b_->key("agent", id), std::string(old_hash), std::string(new_hash)});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "rotate agent key");
      return reply_int(r->get()) == 1;
    });
  }

  core::Result<bool> reassign_agent(std::string_view id, std::string_view ci_id) override {
    static const char* kReassign =
        "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
        "redis.call('HSET', KEYS[1], 'ci_id', ARGV[1]) return 1";
    return b_->pool.with([&](Connection& c) -> core::Result<bool> {
      auto r = c.command({"EVAL", kReassign, "1", b_->key("agent", id), std::string(ci_id)});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "reassign agent");
      return reply_int(r->get()) == 1;
    });
  }

  core::Result<std::optional<AgentRecord>> find_agent(std::string_view id) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::optional<AgentRecord>> {
      auto r = c.command({"HGETALL", b_->key("agent", id)});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read agent");
      auto h = hash_of(r->get());
      if (h.empty()) return std::optional<AgentRecord>{};
      AgentRecord a;
      a.id = std::string(id);
      a.key_hash = field(h, "key_hash");
      a.host_id = field(h, "host_id");
      a.hostname = field(h, "hostname");
      a.ci_id = field(h, "ci_id");
      a.agent_version = field(h, "agent_version");
      a.enrolled_at_ms = field_int(h, "enrolled_at_ms");
      a.last_seen_ms = field_int(h, "last_seen_ms");
      a.last_sequence = static_cast<std::uint64_t>(field_int(h, "last_sequence"));
      a.heartbeat_interval_s = static_cast<std::uint32_t>(field_int(h, "heartbeat_interval_s"));
      a.inventory_digest = field(h, "inventory_digest");
      return std::optional<AgentRecord>{std::move(a)};
    });
  }
};

std::shared_ptr<store::AgentStore> make_agent_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisAgentStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
