// SPDX-License-Identifier: Apache-2.0
// Capacity events on Redis: one open event per rule and series, found through
// the open-events index.
#include "backend.hpp"

namespace surveyor::collector::redis {

// Events: a hash per event (prefix:event:ID), a hash of the open ones by
// de-duplication key, and a sorted set of all by opening time. Raising and
// resolving are Lua scripts, so two collectors never open the same one twice.
class RedisEventStore final : public Bound<EventStore> {
 public:
  using Bound::Bound;

  // Every key a script touches is in its KEYS (as Redis Cluster requires):
  // the event's own hash is named after reading the open index, and the
  // script checks that the index still says the same, else it is run again.
  core::Result<std::pair<CapacityEvent, bool>> raise_event(const CapacityEvent& in, std::int64_t now_ms) override {
    // KEYS: the open index, all events, the event's hash. ARGV[1] the
    // de-duplication key, ARGV[2] the id the index held ('' for none) and
    // the event takes, ARGV[3] the new event's id when there was none.
    static const char* kRaise = R"lua(
local id = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if id ~= ARGV[2] then return {'', -1} end
if id ~= '' then
  redis.call('HSET', KEYS[3], 'threshold', ARGV[10], 'value', ARGV[11], 'predicted_ms', ARGV[12],
             'summary', ARGV[13], 'updated_ms', ARGV[4])
  return {id, 0}
end
id = ARGV[3]
redis.call('HSET', KEYS[3], 'kind', ARGV[5], 'rule', ARGV[6], 'ci_id', ARGV[7], 'metric', ARGV[8],
           'attributes', ARGV[9], 'state', 'open', 'opened_ms', ARGV[4], 'updated_ms', ARGV[4],
           'resolved_ms', '0', 'threshold', ARGV[10], 'value', ARGV[11], 'predicted_ms', ARGV[12],
           'summary', ARGV[13])
redis.call('HSET', KEYS[1], ARGV[1], id)
redis.call('ZADD', KEYS[2], ARGV[4], id)
return {id, 1})lua";
    return b_->pool.with([&](Connection& c) -> core::Result<std::pair<CapacityEvent, bool>> {
      const std::string key = event_key(in.rule, SeriesKey{in.ci_id, in.metric, in.attributes});
      const std::string fresh = "evt-" + core::random_hex(8);
      auto raised = optimistic<std::pair<std::string, bool>>(
          c, "event " + key, [&]() -> core::Result<std::optional<std::pair<std::string, bool>>> {
            auto held = open_id(c, key);
            if (!held) return std::move(held).error();
            const std::string& target = held->empty() ? fresh : *held;
            auto r = c.command({"EVAL", kRaise, "3", b_->key("events:open"), b_->key("events"),
                                b_->key("event", target), key, *held, fresh, i64(now_ms), in.kind, in.rule,
                                in.ci_id, in.metric, labels_to_json(in.attributes), number_text(in.threshold),
                                number_text(in.value), in.predicted_ms ? i64(*in.predicted_ms) : std::string(),
                                in.summary});
            if (!r) return std::move(r).error();
            const redisReply* arr = r->get();
            if (is_error(arr) || arr->type != REDIS_REPLY_ARRAY || arr->elements != 2)
              return reply_error(arr, "raise event");
            const std::int64_t opened = reply_int(arr->element[1]).value_or(-1);
            if (opened < 0) return std::optional<std::pair<std::string, bool>>{};  // the index moved
            return std::optional<std::pair<std::string, bool>>{{reply_text(arr->element[0]), opened == 1}};
          });
      if (!raised) return std::move(raised).error();
      auto e = load(c, raised->first);
      if (!e) return std::move(e).error();
      if (!*e) return core::make_error(StoreErrc::corrupt, "event " + raised->first + " vanished");
      return std::pair{std::move(**e), raised->second};
    });
  }

  core::Result<std::optional<CapacityEvent>> resolve_event(std::string_view rule, const SeriesKey& series,
                                                           std::int64_t now_ms) override {
    // KEYS: the open index, the event's hash; ARGV[1] the de-duplication
    // key, ARGV[2] the id the index held.
    static const char* kResolve = R"lua(
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'state', 'resolved', 'resolved_ms', ARGV[3])
return 1)lua";
    return b_->pool.with([&](Connection& c) -> core::Result<std::optional<CapacityEvent>> {
      const std::string key = event_key(rule, series);
      auto resolved = optimistic<std::string>(c, "event " + key, [&]() -> core::Result<std::optional<std::string>> {
        auto held = open_id(c, key);
        if (!held) return std::move(held).error();
        if (held->empty()) return std::optional<std::string>{std::string()};  // nothing open
        auto r = c.command({"EVAL", kResolve, "2", b_->key("events:open"), b_->key("event", *held), key, *held,
                            i64(now_ms)});
        if (!r) return std::move(r).error();
        if (is_error(r->get())) return reply_error(r->get(), "resolve event");
        if (reply_int(r->get()).value_or(0) != 1) return std::optional<std::string>{};  // the index moved
        return std::optional<std::string>{*held};
      });
      if (!resolved) return std::move(resolved).error();
      if (resolved->empty()) return std::optional<CapacityEvent>{};
      return load(c, *resolved);
    });
  }

  core::Result<std::vector<CapacityEvent>> list_events(const EventFilter& f) override {
    if (f.state == "open") return list_open(f);
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<CapacityEvent>> {
      std::vector<CapacityEvent> out;
      constexpr std::int64_t kPage = 200;
      for (std::int64_t start = 0; out.size() < f.limit; start += kPage) {
        auto ids = c.command({"ZREVRANGE", b_->key("events"), i64(start), i64(start + kPage - 1)});
        if (!ids) return std::move(ids).error();
        if (is_error(ids->get())) return reply_error(ids->get(), "list events");
        if ((*ids)->elements == 0) break;
        std::vector<Argv> reads;
        std::vector<std::string> names;
        for (std::size_t i = 0; i < (*ids)->elements; ++i) {
          names.push_back(reply_text((*ids)->element[i]));
          reads.push_back({"HGETALL", b_->key("event", names.back())});
        }
        auto rows = c.pipeline(reads);
        if (!rows) return std::move(rows).error();
        for (std::size_t i = 0; i < rows->size() && out.size() < f.limit; ++i) {
          auto e = from_hash(names[i], (*rows)[i].get());
          if (!e) return std::move(e).error();
          if (!*e) continue;
          const CapacityEvent& x = **e;
          if ((!f.state.empty() && x.state != f.state) || (!f.ci_id.empty() && x.ci_id != f.ci_id) ||
              (!f.kind.empty() && x.kind != f.kind))
            continue;
          out.push_back(std::move(**e));
        }
      }
      return out;
    });
  }

  // Walks the events by opening time, oldest first, up to the instant (a
  // resolved event was opened before it was resolved), and deletes the
  // resolved ones among them, a page at a time.
  core::Status save_hot_spots(std::string_view json, std::int64_t now_ms) override {
    return b_->pool.with([&](Connection& c) -> core::Status {
      auto r = c.command({"HSET", b_->key("hot-spots"), "json", std::string(json), "updated_ms", i64(now_ms)});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "save hot spots");
      return {};
    });
  }

  core::Result<std::optional<std::pair<std::string, std::int64_t>>> hot_spots() override {
    using Out = std::optional<std::pair<std::string, std::int64_t>>;
    return b_->pool.with([&](Connection& c) -> core::Result<Out> {
      auto r = c.command({"HMGET", b_->key("hot-spots"), "json", "updated_ms"});
      if (!r) return std::move(r).error();
      const redisReply* a = r->get();
      if (is_error(a) || a->type != REDIS_REPLY_ARRAY || a->elements != 2) return reply_error(a, "read hot spots");
      if (a->element[0]->type == REDIS_REPLY_NIL) return Out{};
      return Out{std::make_pair(reply_text(a->element[0]), std::strtoll(reply_text(a->element[1]).c_str(), nullptr, 10))};
    });
  }

  core::Result<std::size_t> prune_events(std::int64_t resolved_before_ms) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::size_t> {
      std::size_t pruned = 0;
      std::string after = "-inf";
      for (;;) {
        auto ids = c.command({"ZRANGEBYSCORE", b_->key("events"), after, "(" + i64(resolved_before_ms), "WITHSCORES",
                              "LIMIT", "0", "500"});
        if (!ids) return std::move(ids).error();
        if (is_error(ids->get())) return reply_error(ids->get(), "list events to prune");
        const redisReply* arr = ids->get();
        if (arr->elements == 0) return pruned;
        std::vector<Argv> reads;
        std::vector<std::string> names;
        for (std::size_t i = 0; i + 1 < arr->elements; i += 2) {
          names.push_back(reply_text(arr->element[i]));
          reads.push_back({"HMGET", b_->key("event", names.back()), "state", "resolved_ms"});
        }
        // The next page starts at this one's last opening time: the events
        // kept at that instant are read again, the deleted ones are gone.
        const std::string last = reply_text(arr->element[arr->elements - 1]);
        auto rows = c.pipeline(reads);
        if (!rows) return std::move(rows).error();
        std::vector<Argv> drops;
        for (std::size_t i = 0; i < rows->size(); ++i) {
          const redisReply* h = (*rows)[i].get();
          if (is_error(h)) return reply_error(h, "read event");
          if (h->type != REDIS_REPLY_ARRAY || h->elements != 2) continue;
          const bool resolved = reply_text(h->element[0]) == "resolved";
          if (!resolved || reply_int(h->element[1]).value_or(INT64_MAX) >= resolved_before_ms) continue;
          drops.push_back({"DEL", b_->key("event", names[i])});
          drops.push_back({"ZREM", b_->key("events"), names[i]});
        }
        if (!drops.empty()) {
          auto done = c.pipeline(drops);
          if (!done) return std::move(done).error();
          for (const Reply& x : *done)
            if (is_error(x.get())) return reply_error(x.get(), "prune event");
          pruned += drops.size() / 2;
        }
        if (arr->elements < 1000) return pruned;
        if (after == last && drops.empty()) return pruned;  // a full page of one instant, all kept
        after = last;
      }
    });
  }

 private:
  // The id of the open event of this de-duplication key; "" when none.
  core::Result<std::string> open_id(Connection& c, const std::string& key) {
    auto r = c.command({"HGET", b_->key("events:open"), key});
    if (!r) return std::move(r).error();
    if (is_error(r->get())) return reply_error(r->get(), "read open events");
    return reply_text(r->get());
  }

  // Open events only, through the open-events index (dedup key -> id):
  // what the evaluation reads every step.
  core::Result<std::vector<CapacityEvent>> list_open(const EventFilter& f) {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<CapacityEvent>> {
      auto ids = c.command({"HVALS", b_->key("events:open")});
      if (!ids) return std::move(ids).error();
      if (is_error(ids->get())) return reply_error(ids->get(), "list open events");
      std::vector<Argv> reads;
      std::vector<std::string> names;
      for (std::size_t i = 0; i < (*ids)->elements; ++i) {
        names.push_back(reply_text((*ids)->element[i]));
        reads.push_back({"HGETALL", b_->key("event", names.back())});
      }
      std::vector<CapacityEvent> out;
      if (reads.empty()) return out;
      auto rows = c.pipeline(reads);
      if (!rows) return std::move(rows).error();
      for (std::size_t i = 0; i < rows->size(); ++i) {
        auto e = from_hash(names[i], (*rows)[i].get());
        if (!e) return std::move(e).error();
        if (!*e || (*e)->state != "open") continue;
        if ((!f.ci_id.empty() && (*e)->ci_id != f.ci_id) || (!f.kind.empty() && (*e)->kind != f.kind)) continue;
        out.push_back(std::move(**e));
      }
      std::sort(out.begin(), out.end(), [](const CapacityEvent& a, const CapacityEvent& b) {
        return a.opened_ms != b.opened_ms ? a.opened_ms > b.opened_ms : a.id < b.id;
      });
      if (out.size() > f.limit) out.resize(f.limit);
      return out;
    });
  }

  core::Result<std::optional<CapacityEvent>> load(Connection& c, const std::string& id) {
    auto r = c.command({"HGETALL", b_->key("event", id)});
    if (!r) return std::move(r).error();
    return from_hash(id, r->get());
  }

  static core::Result<std::optional<CapacityEvent>> from_hash(const std::string& id, const redisReply* r) {
    if (is_error(r)) return reply_error(r, "read event");
    const auto h = hash_of(r);
    if (h.empty()) return std::optional<CapacityEvent>{};
    CapacityEvent e;
    e.id = id;
    e.kind = field(h, "kind");
    e.rule = field(h, "rule");
    e.ci_id = field(h, "ci_id");
    e.metric = field(h, "metric");
    auto labels = labels_from_json(field(h, "attributes"));
    if (!labels) return std::move(labels).error();
    e.attributes = std::move(*labels);
    e.state = field(h, "state");
    e.opened_ms = field_int(h, "opened_ms");
    e.updated_ms = field_int(h, "updated_ms");
    e.resolved_ms = field_int(h, "resolved_ms");
    e.threshold = std::strtod(field(h, "threshold").c_str(), nullptr);
    e.value = std::strtod(field(h, "value").c_str(), nullptr);
    if (const std::string p = field(h, "predicted_ms"); !p.empty()) e.predicted_ms = std::strtoll(p.c_str(), nullptr, 10);
    e.summary = field(h, "summary");
    return std::optional<CapacityEvent>{std::move(e)};
  }
};

std::shared_ptr<store::EventStore> make_event_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisEventStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
