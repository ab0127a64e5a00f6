// SPDX-License-Identifier: Apache-2.0
// Enrolled agents on Redis: one hash per agent, host_key("agent", CI, ID).
// On a store spread over a cluster it is in the slot of the agent's host,
// with the window of sequences the agent reports under, and
// "{PREFIX}:agent-ci" (a hash) says which host that is, agent by agent
// (no entry: in the store's own slot, as a store written before the
// agents spread keeps them, or for an agent without a CI). An agent moves
// to another host (reassign_agent; or from the store's slot at its first
// read) in steps, one move of an agent at a time (a lock in the store's
// slot, "{PREFIX}:agent-move:ID", that expires should its holder stop):
// its record first names the CI it goes to, which refuses reports for the
// one it leaves (they check the CI they are for, and WATCH the record);
// then the record and the window are written in the new slot, the index
// points there and the old keys are deleted. Whoever finds a record that
// names another CI than where the index says it is finishes that move.
#include <chrono>
#include <thread>

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
    if (b_->spread()) return locked(id, [&](const std::string& lock) { return move(id, std::string(ci_id), lock); });
    auto set = set_ci(id, "", std::string(ci_id), "");
    if (!set) return std::move(set).error();
    return *set == 1;
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
    return indexed_host(*b_, id);
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
      if (h->empty()) {
        // Gone, or moved on since the index was read: read it again.
        auto again = indexed(id);
        if (!again) return std::move(again).error();
        if (*again == *at) return Found{};
        *at = std::move(*again);
        continue;
      }
      if (!b_->spread() || field(*h, "ci_id") == *at) return Found{{std::move(*at), std::move(*h)}};
      auto finished = locked(id, [&](const std::string& lock) { return finish(id, lock); });
      if (!finished) return std::move(finished).error();
      auto again = indexed(id);
      if (!again) return std::move(again).error();
      *at = std::move(*again);
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
      if (*r < 0) continue;
      // Counted up whatever the script found: a call before this one may
      // have changed the record and failed before it counted.
      if (auto st = bump_epoch(id); !st) return std::move(st).error();
      return *r == 1;
    }
    return core::make_error(StoreErrc::unavailable, std::string(what) + ": the agent kept moving; gave up");
  }

  // Runs f(token) (a core::Result or Status) holding the agent's move
  // lock, whose value is `token`; waits for it while another move of the
  // agent is under way, longer than the lock lives. A holder that stops
  // leaves it to expire; one that outlives it finds its last step
  // refused (finish).
  template <class F>
  auto locked(std::string_view id, F&& f) -> decltype(f(std::string())) {
    // The lock's value is a number counted up for each holder (the fence
    // of the moves it makes: see finish).
    static const char* kTake =
        "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
        "local n = redis.call('INCR', KEYS[2]) "
        "redis.call('SET', KEYS[1], n, 'PX', ARGV[1]) return n";
    static const char* kRelease =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
    const std::string lock = b_->key("agent-move", id);
    std::string token;
    const auto deadline = std::chrono::steady_clock::now() + 2 * std::chrono::milliseconds(kMoveLockMs);
    for (int attempt = 0;; ++attempt) {
      auto taken = b_->pool.with([&](Connection& c) -> core::Result<std::int64_t> {
        auto r = c.command({"EVAL", kTake, "2", lock, b_->key("agent-moves", id), std::to_string(kMoveLockMs)});
        if (!r) return std::move(r).error();
        if (is_error(r->get())) return reply_error(r->get(), "lock agent " + std::string(id));
        return reply_int(r->get()).value_or(0);
      });
      if (!taken) return std::move(taken).error();
      if (*taken > 0) {
        token = std::to_string(*taken);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline)
        return core::make_error(StoreErrc::unavailable, "agent " + std::string(id) + " is being moved; try again");
      back_off(std::min(attempt, 6));
      if (attempt >= 16) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a holder that stopped
    }
    struct Release {  // however f() ends; a release that fails leaves the lock to expire
      RedisAgentStore& self;
      const std::string& lock;
      const std::string& token;
      ~Release() {
        try {
          (void)self.b_->pool.with([&](Connection& c) -> core::Status {
            auto r = c.command({"EVAL", kRelease, "1", lock, token});
            if (!r) return std::move(r).error();
            return {};
          });
        } catch (...) {
        }
      }
    } release{*this, lock, token};
    return f(token);
  }
  static constexpr int kMoveLockMs = 10'000;

  // After the agent's record was revoked, given a new key or moved: the
  // count reports that write in the store's slot check before they do
  // (host_reports.cpp), so that none writes there for an agent changed
  // since its record was read.
  core::Status bump_epoch(std::string_view id) {
    if (!b_->spread()) return {};
    return b_->pool.with([&](Connection& c) -> core::Status {
      auto r = c.command({"INCR", b_->key("agent-epoch", id)});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "change agent " + std::string(id));
      return {};
    });
  }

  // The CI the agent's record (with host `at`) names set to `to`, and on
  // a spread store the move that takes it there (`move`: its lock's
  // number; refused, -1, when a later move has marked the record); 0 when
  // there is no record there.
  core::Result<std::int64_t> set_ci(std::string_view id, const std::string& at, const std::string& to,
                                    const std::string& move) {
    static const char* kSetCi =
        "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end "
        "if ARGV[2] ~= '' then "
        "  local held = redis.call('HGET', KEYS[1], 'move') "
        "  if (held and string.match(held, '^%d+$') and tonumber(held) or 0) > tonumber(ARGV[2]) then return -1 end "
        "  redis.call('HSET', KEYS[1], 'move', ARGV[2]) end "
        "redis.call('HSET', KEYS[1], 'ci_id', ARGV[1]) return 1";
    return b_->with_host(at, [&](Connection& c) -> core::Result<std::int64_t> {
      auto r = c.command({"EVAL", kSetCi, "1", b_->host_key("agent", at, id), to, move});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "reassign agent " + std::string(id));
      return reply_int(r->get()).value_or(0);
    });
  }

  static core::Error superseded(std::string_view id) {
    return core::make_error(StoreErrc::unavailable, "moving agent " + std::string(id) + " took too long; try again");
  }

  // Under the lock (`lock`, its number): the agent to host `to`. False
  // when there is no such agent.
  core::Result<bool> move(std::string_view id, const std::string& to, const std::string& lock) {
    if (auto st = finish(id, lock); !st) return std::move(st).error();  // a move stopped half way
    auto at = indexed(id);
    if (!at) return std::move(at).error();
    // From now on the record refuses reports for the host it leaves: they
    // WATCH it, so one that read it before aborts.
    auto marked = set_ci(id, *at, to, lock);
    if (!marked) return std::move(marked).error();
    if (*marked < 0) return superseded(id);
    if (*marked == 0) {  // no record where the index said: gone, or moved by a later holder
      auto now = indexed(id);
      if (!now) return std::move(now).error();
      if (*now != *at) return superseded(id);
      return false;
    }
    if (auto st = finish(id, lock); !st) return std::move(st).error();
    return true;
  }

  // Under the lock: the agent's keys, from where the index says they are,
  // written where its record says they go (if elsewhere), the index
  // pointed there and the old keys deleted. Nothing writes the old keys
  // meanwhile: reports for that host are refused, and moves wait.
  core::Status finish(std::string_view id, const std::string& lock) {
    auto at = indexed(id);
    if (!at) return std::move(at).error();
    const std::string from = *at;
    const std::string agent = b_->host_key("agent", from, id), window = b_->host_key("window", from, id),
                      seen = b_->host_key("seen", from, id);
    auto got = b_->with_host(from, [&](Connection& c) {
      return c.pipeline({{"HGETALL", agent}, {"GET", window}, {"ZRANGE", seen, "0", "-1", "WITHSCORES"}});
    });
    if (!got) return std::move(got).error();
    for (const Reply& r : *got)
      if (is_error(r.get())) return reply_error(r.get(), "move agent " + std::string(id));
    const Hash record = hash_of((*got)[0].get());
    const std::string to = field(record, "ci_id"), move_id = field(record, "move");
    if (record.empty() || to == from) return {};
    // Reports that read the agent before this move began write nothing in
    // the store's slot after it (they check the epoch).
    if (auto st = bump_epoch(id); !st) return st;
    // Each step is done once for this move (`move_id`, in the record since
    // it began), whoever finishes it: the new keys written unless a
    // finisher before did, the index pointed there only from where the
    // move began and by the lock's holder, the old keys deleted only while
    // they still name this move.
    // Moves are numbered (the lock's number, in the record as `move`): a
    // step of this move is refused, -1, where a later move has been (the
    // target's record, or the mark `moved` a move leaves where it went
    // from). ARGV: the host, the move, 2n, the record's n fields and
    // values, 1 or 0 and the window, then the older set's scores and
    // members; KEYS: the new record, window, set, and the mark there.
    static const char* kWrite =
        "local function num(v) if v and string.match(v, '^%d+$') then return tonumber(v) end return 0 end "
        "local ours = num(ARGV[2]) "
        "local held = num(redis.call('HGET', KEYS[1], 'move')) "
        "if redis.call('HGET', KEYS[1], 'ci_id') == ARGV[1] and held == ours then return 0 end "
        "if held > ours or num(redis.call('GET', KEYS[4])) > ours then return -1 end "
        "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) "
        "local n = tonumber(ARGV[3]) "
        "redis.call('HSET', KEYS[1], unpack(ARGV, 4, 3 + n)) "
        "if ARGV[4 + n] == '1' then redis.call('SET', KEYS[2], ARGV[5 + n]) end "
        "for i = 6 + n, #ARGV, 1000 do "
        "  redis.call('ZADD', KEYS[3], unpack(ARGV, i, math.min(i + 999, #ARGV))) end "
        "return 1";
    static const char* kPoint =
        "if redis.call('GET', KEYS[2]) ~= ARGV[4] then return -1 end "
        "if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then return 0 end "
        "return redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])";
    static const char* kClear =
        "if redis.call('HGET', KEYS[1], 'ci_id') ~= ARGV[1] or "
        "   (redis.call('HGET', KEYS[1], 'move') or '') ~= ARGV[2] then return 0 end "
        "redis.call('SET', KEYS[4], ARGV[2]) "
        "return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])";
    Argv write{"EVAL", kWrite, "4", b_->host_key("agent", to, id), b_->host_key("window", to, id),
               b_->host_key("seen", to, id), b_->host_key("moved", to, id), to, move_id,
               std::to_string(2 * record.size())};
    for (const auto& [k, v] : record) {
      write.push_back(k);
      write.push_back(v);
    }
    const bool has_window = (*got)[1]->type == REDIS_REPLY_STRING;
    write.push_back(has_window ? "1" : "0");
    write.push_back(has_window ? reply_text((*got)[1].get()) : std::string());
    const std::vector<std::string> held = member_list((*got)[2].get());  // member, score, ...
    for (std::size_t i = 0; i + 1 < held.size(); i += 2) {
      write.push_back(held[i + 1]);
      write.push_back(held[i]);
    }
    const auto run = [&](const std::string& host, const Argv& cmd) {
      return b_->with_host(host, [&](Connection& c) -> core::Result<std::int64_t> {
        auto r = c.command(cmd);
        if (!r) return std::move(r).error();
        if (is_error(r->get())) return reply_error(r->get(), "move agent " + std::string(id));
        return reply_int(r->get()).value_or(0);
      });
    };
    auto written = run(to, write);
    if (!written) return std::move(written).error();
    if (*written < 0) return superseded(id);
    auto pointed = run({}, {"EVAL", kPoint, "2", b_->key("agent-ci"), b_->key("agent-move", id), std::string(id),
                            from, to, lock});
    if (!pointed) return std::move(pointed).error();
    if (*pointed < 0) return superseded(id);  // held past its life: another finished this move, or began the next
    auto cleared = run(from, {"EVAL", kClear, "4", agent, window, seen, b_->host_key("moved", from, id), to, move_id});
    if (!cleared) return std::move(cleared).error();
    return {};
  }
};

std::shared_ptr<store::AgentStore> make_agent_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisAgentStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
