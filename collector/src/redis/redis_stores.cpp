// SPDX-License-Identifier: Apache-2.0
// The shared store: Redis through hiredis, for several collectors on one
// dataset. Design: every key starts with "<prefix>:". A report is applied with
// optimistic locking: WATCH the agent's sequence set, the agent and the CIs it
// touches, read them, then MULTI/EXEC all writes at once; if another
// collector changed a watched key, EXEC returns nil and the whole step is
// retried. Sample members encode time and the value's exact bits, so a replay
// adds nothing. Durability is Redis's: with appendfsync always a reply means
// the write is on disk, with the default everysec up to a second can be lost.
#include "surveyor/collector/redis/redis_stores.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "redis_conn.hpp"

namespace surveyor::collector::redis {
namespace {

using namespace store;

constexpr std::uint64_t kSeenWindow = 100'000;
constexpr int kMaxAttempts = 32;
constexpr char kSep = '\x1f';

struct Backend {
  explicit Backend(const RedisOptions& o)
      : options(o), pool(o.host, o.port, o.timeout, o.max_connections) {}
  RedisOptions options;
  Pool pool;

  [[nodiscard]] std::string key(std::string_view kind, std::string_view id = {}) const {
    std::string k = options.prefix + ":" + std::string(kind);
    if (!id.empty()) k += ":" + std::string(id);
    return k;
  }
};

std::string i64(std::int64_t v) { return std::to_string(v); }

// After a lost optimistic race: wait a random, growing while, so the writers
// that collided do not collide again in lock step.
void back_off(int attempt) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  const int cap = 100 << std::min(attempt, 6);  // microseconds
  std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, cap)(rng)));
}

std::map<std::string, std::string> hash_of(const redisReply* r) {
  std::map<std::string, std::string> out;
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return out;
  for (std::size_t i = 0; i + 1 < r->elements; i += 2)
    out[reply_text(r->element[i])] = reply_text(r->element[i + 1]);
  return out;
}

std::int64_t field_int(const std::map<std::string, std::string>& h, const std::string& k) {
  auto it = h.find(k);
  if (it == h.end()) return 0;
  return std::strtoll(it->second.c_str(), nullptr, 10);
}

std::string field(const std::map<std::string, std::string>& h, const std::string& k) {
  auto it = h.find(k);
  return it == h.end() ? std::string() : it->second;
}

core::Result<std::optional<Ci>> ci_from_hash(std::string_view id, const redisReply* r) {
  if (is_error(r)) return reply_error(r, "read CI");
  auto h = hash_of(r);
  if (h.empty()) return std::optional<Ci>{};
  Ci c;
  c.id = std::string(id);
  c.type = field(h, "type");
  c.name = field(h, "name");
  c.source = field(h, "source");
  auto state = ci_state_from(field(h, "state"));
  if (!state) return core::make_error(StoreErrc::corrupt, "CI " + c.id + ": unknown state");
  c.state = *state;
  auto attrs = attrs_from_json(field(h, "attributes"));
  if (!attrs) return std::move(attrs).error();
  c.attributes = std::move(*attrs);
  c.first_seen_ms = field_int(h, "first_seen_ms");
  c.last_seen_ms = field_int(h, "last_seen_ms");
  c.updated_ms = field_int(h, "updated_ms");
  return std::optional<Ci>{std::move(c)};
}

std::string index_member(const Ci& c) { return c.name + kSep + c.id; }

// The commands that store `c`, given what was stored before (`old`).
void write_ci(const Backend& b, const std::optional<Ci>& old, const Ci& c, std::vector<Argv>& out) {
  out.push_back({"HSET", b.key("ci", c.id), "type", c.type, "name", c.name, "source", c.source,
                 "state", std::string(to_string(c.state)), "attributes", attrs_to_json(c.attributes),
                 "first_seen_ms", i64(c.first_seen_ms), "last_seen_ms", i64(c.last_seen_ms),
                 "updated_ms", i64(c.updated_ms)});
  if (old && (old->name != c.name || old->type != c.type)) {
    out.push_back({"ZREM", b.key("cis:byname"), index_member(*old)});
    out.push_back({"ZREM", b.key("cis:type", old->type), index_member(*old)});
  }
  out.push_back({"ZADD", b.key("cis:byname"), "0", index_member(c)});
  out.push_back({"ZADD", b.key("cis:type", c.type), "0", index_member(c)});
}

std::string series_member(const SeriesKey& k) { return k.metric + kSep + labels_to_json(k.attributes); }
std::string samples_key(const Backend& b, const SeriesKey& k) {
  return b.key("samples", k.ci_id + kSep + series_member(k));
}

std::string sample_member(const Sample& s) {
  char bits[17];
  std::snprintf(bits, sizeof bits, "%016llx", static_cast<unsigned long long>(std::bit_cast<std::uint64_t>(s.value)));
  return i64(s.time_ms) + ":" + bits;
}

std::optional<Sample> parse_sample_member(const std::string& m) {
  const auto colon = m.find(':');
  if (colon == std::string::npos || m.size() - colon - 1 != 16) return std::nullopt;
  Sample s;
  s.time_ms = std::strtoll(m.c_str(), nullptr, 10);
  s.value = std::bit_cast<double>(static_cast<std::uint64_t>(std::strtoull(m.c_str() + colon + 1, nullptr, 16)));
  return s;
}

// An inventory section is one field of the CI's inventory hash, a JSON record.
std::string section_record(const InventorySection& s) {
  boost::json::object o{{"state", s.state}, {"reason", s.reason}, {"digest", s.digest},
                        {"data", s.data_json}, {"updated_ms", s.updated_ms}};
  return boost::json::serialize(o);
}

core::Result<std::vector<InventorySection>> inventory_from_hash(const redisReply* r) {
  if (is_error(r)) return reply_error(r, "read inventory");
  std::vector<InventorySection> out;
  for (const auto& [name, record] : hash_of(r)) {
    boost::system::error_code ec;
    auto v = boost::json::parse(record, ec);
    if (ec || !v.is_object()) return core::make_error(StoreErrc::corrupt, "inventory section " + name + " unreadable");
    const auto& o = v.get_object();
    auto str = [&o](const char* k) {
      auto it = o.find(k);
      return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
    };
    auto it = o.find("updated_ms");
    const std::int64_t updated = it != o.end() && it->value().is_int64() ? it->value().get_int64() : 0;
    out.push_back({name, str("state"), str("reason"), str("digest"), str("data"), updated});
  }
  return out;  // hash_of is a std::map: sorted by name
}

class RedisAgentStore final : public AgentStore {
 public:
  explicit RedisAgentStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

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

 private:
  std::shared_ptr<Backend> b_;
};

class RedisCmdbStore final : public CmdbStore {
 public:
  explicit RedisCmdbStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<Ci> upsert_ci(const CiUpdate& u) override {
    return b_->pool.with([&](Connection& c) -> core::Result<Ci> {
      for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        auto pre = c.pipeline({{"WATCH", b_->key("ci", u.id)}, {"HGETALL", b_->key("ci", u.id)}});
        if (!pre) return std::move(pre).error();
        auto old = ci_from_hash(u.id, (*pre)[1].get());
        if (!old) {
          (void)c.command({"UNWATCH"});
          return std::move(old).error();
        }
        Ci merged = merge_ci(*old, u);
        std::vector<Argv> tx{{"MULTI"}};
        write_ci(*b_, *old, merged, tx);
        tx.push_back({"EXEC"});
        auto r = c.pipeline(tx);
        if (!r) return std::move(r).error();
        const redisReply* exec = r->back().get();
        if (is_error(exec)) return reply_error(exec, "write CI");
        if (exec->type == REDIS_REPLY_ARRAY) return merged;
        // nil: a watched key changed under us; read again.
        back_off(attempt);
      }
      return core::make_error(StoreErrc::unavailable, "CI " + u.id + " kept changing; gave up");
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

 private:
  std::shared_ptr<Backend> b_;
};

class RedisSeriesStore final : public SeriesStore {
 public:
  explicit RedisSeriesStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<std::vector<SeriesInfo>> list_series(std::string_view ci_id) override {
    return b_->pool.with([&](Connection& c) { return list_in(c, ci_id); });
  }

  core::Result<std::vector<Sample>> read_samples(const SeriesKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms, std::size_t limit) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Sample>> {
      auto r = c.command({"ZRANGEBYSCORE", samples_key(*b_, key), i64(from_ms), "(" + i64(to_ms), "LIMIT",
                          "0", std::to_string(limit)});
      if (!r) return std::move(r).error();
      const redisReply* arr = r->get();
      if (is_error(arr)) return reply_error(arr, "read samples");
      std::vector<Sample> out;
      for (std::size_t i = 0; arr->type == REDIS_REPLY_ARRAY && i < arr->elements; ++i) {
        auto s = parse_sample_member(reply_text(arr->element[i]));
        if (!s) return core::make_error(StoreErrc::corrupt, "bad sample entry");
        out.push_back(*s);
      }
      return out;
    });
  }

  core::Result<std::vector<LatestSample>> latest_samples(std::string_view ci_id) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<LatestSample>> {
      auto series = list_in(c, ci_id);
      if (!series) return std::move(series).error();
      std::vector<Argv> reads;
      for (const SeriesInfo& s : *series) reads.push_back({"ZRANGE", samples_key(*b_, s.key), "-1", "-1"});
      std::vector<LatestSample> out;
      if (reads.empty()) return out;
      auto rows = c.pipeline(reads);
      if (!rows) return std::move(rows).error();
      for (std::size_t i = 0; i < series->size(); ++i) {
        const redisReply* arr = (*rows)[i].get();
        if (is_error(arr)) return reply_error(arr, "latest sample");
        if (arr->type != REDIS_REPLY_ARRAY || arr->elements == 0) continue;
        auto s = parse_sample_member(reply_text(arr->element[0]));
        if (!s) return core::make_error(StoreErrc::corrupt, "bad sample entry");
        out.push_back(LatestSample{(*series)[i], *s});
      }
      return out;
    });
  }

 private:
  core::Result<std::vector<SeriesInfo>> list_in(Connection& c, std::string_view ci_id) {
    auto r = c.pipeline({{"ZRANGE", b_->key("series", ci_id), "0", "-1"}, {"HGETALL", b_->key("units", ci_id)}});
    if (!r) return std::move(r).error();
    const redisReply* arr = (*r)[0].get();
    if (is_error(arr)) return reply_error(arr, "list series");
    const auto units = hash_of((*r)[1].get());
    std::vector<SeriesInfo> out;
    for (std::size_t i = 0; arr->type == REDIS_REPLY_ARRAY && i < arr->elements; ++i) {
      const std::string m = reply_text(arr->element[i]);
      const auto sep = m.find(kSep);
      if (sep == std::string::npos) return core::make_error(StoreErrc::corrupt, "bad series entry");
      auto labels = labels_from_json(m.substr(sep + 1));
      if (!labels) return std::move(labels).error();
      out.push_back(SeriesInfo{SeriesKey{std::string(ci_id), m.substr(0, sep), std::move(*labels)}, field(units, m)});
    }
    return out;
  }

  std::shared_ptr<Backend> b_;
};

class RedisReportStore final : public ReportStore {
 public:
  explicit RedisReportStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<ApplyResult> apply_report(const ReportBatch& batch) override {
    return b_->pool.with([&](Connection& c) -> core::Result<ApplyResult> {
      for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        auto r = attempt_apply(c, batch);
        if (!r || r->has_value()) {
          if (!r) (void)c.command({"UNWATCH"});
          return r ? core::Result<ApplyResult>(std::move(**r)) : core::Result<ApplyResult>(std::move(r).error());
        }
        back_off(attempt);
      }
      return core::make_error(StoreErrc::unavailable, "report kept conflicting with other writers; gave up");
    });
  }

 private:
  // The outcome, or nullopt when EXEC was aborted by a concurrent change.
  core::Result<std::optional<ApplyResult>> attempt_apply(Connection& c, const ReportBatch& batch) {
    const std::string seen_key = b_->key("seen", batch.agent_id);
    const std::string agent_key = b_->key("agent", batch.agent_id);
    const std::string inventory_key =
        batch.inventory_ci_id.empty() ? std::string() : b_->key("inventory", batch.inventory_ci_id);
    std::vector<Argv> pre;
    Argv watch{"WATCH", seen_key, agent_key};
    for (const CiUpdate& u : batch.cis) watch.push_back(b_->key("ci", u.id));
    if (!inventory_key.empty()) watch.push_back(inventory_key);
    pre.push_back(std::move(watch));
    pre.push_back({"ZSCORE", seen_key, std::to_string(batch.sequence)});
    pre.push_back({"HMGET", agent_key, "last_seen_ms", "last_sequence"});
    pre.push_back(inventory_key.empty() ? Argv{"PING"} : Argv{"HGETALL", inventory_key});
    for (const CiUpdate& u : batch.cis) pre.push_back({"HGETALL", b_->key("ci", u.id)});
    auto got = c.pipeline(pre);
    if (!got) return std::move(got).error();
    for (const Reply& rep : *got)
      if (is_error(rep.get())) return reply_error(rep.get(), "apply report");
    ApplyResult result;
    if (!inventory_key.empty()) {
      auto held = inventory_from_hash((*got)[3].get());
      if (!held) return std::move(held).error();
      result.inventory = std::move(*held);
    }
    if ((*got)[1]->type != REDIS_REPLY_NIL) {
      (void)c.command({"UNWATCH"});
      result.outcome = ApplyOutcome::duplicate;
      return std::optional<ApplyResult>{std::move(result)};
    }
    const redisReply* agent = (*got)[2].get();
    if (agent->type != REDIS_REPLY_ARRAY || agent->elements != 2 || agent->element[0]->type == REDIS_REPLY_NIL) {
      (void)c.command({"UNWATCH"});
      return core::make_error(StoreErrc::invalid, "unknown agent " + batch.agent_id);
    }
    const std::int64_t last_seen = reply_int(agent->element[0]).value_or(0);
    const std::int64_t last_seq = reply_int(agent->element[1]).value_or(0);

    std::vector<Argv> tx{{"MULTI"}};
    for (std::size_t i = 0; i < batch.cis.size(); ++i) {
      auto old = ci_from_hash(batch.cis[i].id, (*got)[4 + i].get());
      if (!old) return std::move(old).error();
      write_ci(*b_, *old, merge_ci(*old, batch.cis[i]), tx);
    }
    for (const auto& [info, samples] : batch.series) {
      const std::string member = series_member(info.key);
      tx.push_back({"ZADD", b_->key("series", info.key.ci_id), "0", member});
      tx.push_back({"HSET", b_->key("units", info.key.ci_id), member, info.unit});
      if (samples.empty()) continue;
      // A sample at a time already held is ignored, as SQLite's primary key does.
      static const char* kAddNew =
          "for i = 1, #ARGV, 2 do "
          "if redis.call('ZCOUNT', KEYS[1], ARGV[i], ARGV[i]) == 0 then "
          "redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1]) end end return 0";
      Argv add{"EVAL", kAddNew, "1", samples_key(*b_, info.key)};
      for (const Sample& s : samples) {
        add.push_back(i64(s.time_ms));
        add.push_back(sample_member(s));
      }
      tx.push_back(std::move(add));
    }
    Argv agent_update{"HSET", agent_key, "last_seen_ms", i64(std::max(last_seen, batch.received_at_ms)),
                      "last_sequence", i64(std::max<std::int64_t>(last_seq, static_cast<std::int64_t>(batch.sequence))),
                      "heartbeat_interval_s", std::to_string(batch.heartbeat_interval_s)};
    if (batch.inventory_digest) {
      agent_update.push_back("inventory_digest");
      agent_update.push_back(*batch.inventory_digest);
    }
    tx.push_back(std::move(agent_update));
    for (const SectionUpdate& u : batch.sections) {
      auto held = std::find_if(result.inventory.begin(), result.inventory.end(),
                               [&u](const InventorySection& s) { return s.name == u.name; });
      std::optional<InventorySection> old;
      if (held != result.inventory.end()) old = *held;
      auto merged = merge_section(old, u, batch.received_at_ms);
      if (!merged || merged == old) continue;
      tx.push_back({"HSET", inventory_key, merged->name, section_record(*merged)});
      if (held != result.inventory.end()) *held = *merged;
      else result.inventory.push_back(*merged);
    }
    std::sort(result.inventory.begin(), result.inventory.end(),
              [](const InventorySection& a, const InventorySection& b) { return a.name < b.name; });
    tx.push_back({"ZADD", seen_key, std::to_string(batch.sequence), std::to_string(batch.sequence)});
    if (batch.sequence > kSeenWindow)
      tx.push_back({"ZREMRANGEBYSCORE", seen_key, "-inf", "(" + std::to_string(batch.sequence - kSeenWindow)});
    tx.push_back({"EXEC"});
    auto done = c.pipeline(tx);
    if (!done) return std::move(done).error();
    const redisReply* exec = done->back().get();
    if (is_error(exec)) return reply_error(exec, "apply report");
    if (exec->type != REDIS_REPLY_ARRAY) return std::optional<ApplyResult>{};
    for (std::size_t i = 0; i < exec->elements; ++i)
      if (is_error(exec->element[i])) return reply_error(exec->element[i], "apply report");
    return std::optional<ApplyResult>{std::move(result)};
  }

  std::shared_ptr<Backend> b_;
};

class RedisInventoryStore final : public InventoryStore {
 public:
  explicit RedisInventoryStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}
  core::Result<std::vector<InventorySection>> get_inventory(std::string_view ci_id) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<InventorySection>> {
      auto r = c.command({"HGETALL", b_->key("inventory", ci_id)});
      if (!r) return std::move(r).error();
      return inventory_from_hash(r->get());
    });
  }

 private:
  std::shared_ptr<Backend> b_;
};

class RedisHealth final : public StoreHealth {
 public:
  explicit RedisHealth(std::shared_ptr<Backend> b) : b_(std::move(b)) {}
  core::Status ping() override {
    return b_->pool.with([](Connection& c) -> core::Status {
      auto r = c.command({"PING"});
      if (!r) return std::move(r).error();
      if (reply_text(r->get()) != "PONG") return reply_error(r->get(), "ping");
      return {};
    });
  }
  std::string describe() const override {
    return "redis://" + b_->options.host + ":" + std::to_string(b_->options.port) + "/" + b_->options.prefix;
  }

 private:
  std::shared_ptr<Backend> b_;
};

}  // namespace

core::Result<Stores> open_redis(const RedisOptions& options) {
  auto backend = std::make_shared<Backend>(options);
  Stores s;
  s.agents = std::make_shared<RedisAgentStore>(backend);
  s.cmdb = std::make_shared<RedisCmdbStore>(backend);
  s.series = std::make_shared<RedisSeriesStore>(backend);
  s.reports = std::make_shared<RedisReportStore>(backend);
  s.inventory = std::make_shared<RedisInventoryStore>(backend);
  s.health = std::make_shared<RedisHealth>(backend);
  return s;
}

}  // namespace surveyor::collector::redis
