// SPDX-License-Identifier: Apache-2.0
// Availability timelines and the evaluation lease on Redis.
#include "backend.hpp"

namespace surveyor::collector::redis {

// Timelines: sorted set "timeline:SUBJECT" scored by start, members
// "start:end:state"; the last interval is extended by a Lua script, so a
// record is atomic across collectors. "availability:until" is the pulse.
class RedisTimelineStore final : public Bound<TimelineStore> {
 public:
  using Bound::Bound;

  core::Status record_states(const std::vector<StateInterval>& states) override {
    static const char* kRecord = R"lua(
local from, to, state = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local last = redis.call('ZRANGE', KEYS[1], -1, -1)
if #last > 0 then
  local s, e, st = string.match(last[1], '^(-?%d+):(-?%d+):(%a+)$')
  s, e = tonumber(s), tonumber(e)
  if e > from then from = e end
  if from >= to then return 0 end
  if st == state and from == e then
    redis.call('ZREM', KEYS[1], last[1])
    redis.call('ZADD', KEYS[1], s, string.format('%d:%d:%s', s, to, state))
    return 1
  end
end
if from >= to then return 0 end
redis.call('ZADD', KEYS[1], from, string.format('%d:%d:%s', from, to, state))
return 1)lua";
    if (states.empty()) return {};
    return b_->pool.with([&](Connection& c) -> core::Status {
      std::vector<Argv> batch;
      batch.reserve(states.size());
      for (const StateInterval& iv : states)
        batch.push_back({"EVAL", kRecord, "1", b_->key("timeline", iv.subject), i64(iv.start_ms), i64(iv.end_ms),
                         std::string(to_string(iv.state))});
      auto r = c.pipeline(batch);
      if (!r) return std::move(r).error();
      for (const Reply& reply : *r)
        if (is_error(reply.get())) return reply_error(reply.get(), "write timeline");
      return {};
    });
  }

  core::Result<std::vector<StateInterval>> read_timeline(std::string_view subject, std::int64_t from_ms,
                                                         std::int64_t to_ms) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<StateInterval>> {
      // The intervals of a subject follow each other without overlap: those
      // overlapping [from, to) are the last one starting at or before `from`
      // and those starting in (from, to); any ending by `from` is dropped below.
      const std::string key = b_->key("timeline", subject);
      auto r = c.pipeline({{"ZREVRANGEBYSCORE", key, i64(from_ms), "-inf", "LIMIT", "0", "1"},
                           {"ZRANGEBYSCORE", key, "(" + i64(from_ms), "(" + i64(to_ms)}});
      if (!r) return std::move(r).error();
      for (const Reply& reply : *r)
        if (is_error(reply.get())) return reply_error(reply.get(), "read timeline");
      std::vector<std::string> members = member_list((*r)[0].get());
      for (std::string& m : member_list((*r)[1].get())) members.push_back(std::move(m));
      std::vector<StateInterval> out;
      for (const std::string& m : members) {
        const auto a = m.find(':'), b = a == std::string::npos ? a : m.find(':', a + 1);
        if (b == std::string::npos) return core::make_error(StoreErrc::corrupt, "bad timeline entry");
        auto state = availability_from(m.substr(b + 1));
        if (!state) return core::make_error(StoreErrc::corrupt, "bad timeline state");
        StateInterval iv{std::string(subject), std::strtoll(m.c_str(), nullptr, 10),
                         std::strtoll(m.c_str() + a + 1, nullptr, 10), *state};
        if (iv.end_ms > from_ms) out.push_back(std::move(iv));
      }
      return out;
    });
  }

  core::Result<std::int64_t> evaluated_until() override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::int64_t> {
      auto r = c.command({"GET", b_->key("availability:until")});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read pulse");
      return reply_int(r->get()).value_or(0);
    });
  }

  core::Status set_evaluated_until(std::int64_t t_ms) override {
    static const char* kMax =
        "local v = tonumber(redis.call('GET', KEYS[1]) or '0') "
        "if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1]) end return 0";
    return b_->pool.with([&](Connection& c) -> core::Status {
      auto r = c.command({"EVAL", kMax, "1", b_->key("availability:until"), i64(t_ms)});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "write pulse");
      return {};
    });
  }
};

// Leases: hash "lease:NAME" {holder, until}, taken or renewed by a script so
// the check and the write are one step. Times are the collectors' clocks
// (kept in sync by NTP); a lease runs for its ttl.
class RedisLeaseStore final : public Bound<LeaseStore> {
 public:
  using Bound::Bound;

  core::Result<bool> acquire_lease(std::string_view name, std::string_view holder, std::int64_t now_ms,
                                   std::int64_t ttl_ms) override {
    static const char* kAcquire = R"lua(
local h = redis.call('HMGET', KEYS[1], 'holder', 'until')
if h[1] and h[1] ~= ARGV[1] and tonumber(h[2]) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'until', ARGV[3])
return 1)lua";
    return b_->pool.with([&](Connection& c) -> core::Result<bool> {
      auto r = c.command({"EVAL", kAcquire, "1", b_->key("lease", name), std::string(holder), i64(now_ms),
                          i64(now_ms + ttl_ms)});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "take lease");
      return reply_int(r->get()).value_or(0) == 1;
    });
  }
};

std::shared_ptr<store::TimelineStore> make_timeline_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisTimelineStore>(std::move(b)); }

std::shared_ptr<store::LeaseStore> make_lease_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisLeaseStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
