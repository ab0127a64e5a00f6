// SPDX-License-Identifier: Apache-2.0
// The shared store: Redis through hiredis, for several collectors on one
// dataset. Design: every key starts with "<prefix>:". A report is applied with
// optimistic locking: WATCH the agent's sequence set, the agent and the CIs it
// touches, read them, then MULTI/EXEC all writes at once; if another
// collector changed a watched key, EXEC returns nil and the whole step is
// retried. Sample members encode time and the value's exact bits, so a replay
// adds nothing.
//
// Series: each has a raw head (sorted set: score time, member time:bits), a
// sorted set of compressed chunks (score block start), a sorted set of hourly
// rollups (member hour:count:sum:min:max, %.17g so doubles come back exact),
// and "chunkend", the end of its newest chunk. Ingest WATCHes chunkend, so a
// late sample is checked against the chunk it would fall in without racing a
// compaction; compaction WATCHes head, chunks and chunkend. Durability is Redis's: with appendfsync always a reply means
// the write is on disk, with the default everysec up to a second can be lost.
#include "surveyor/collector/redis/redis_stores.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <climits>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/array.hpp>

#include "redis_conn.hpp"
#include "surveyor/core/crypto.hpp"

namespace surveyor::collector::redis {
namespace {

using namespace store;
namespace json = boost::json;

constexpr std::uint64_t kSeenWindow = 16'384;  // as the SQLite store: more than an agent's spool holds
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
  auto keys = keys_from_json(field(h, "protected"));
  if (!keys) return std::move(keys).error();
  c.protected_keys = std::move(*keys);
  return std::optional<Ci>{std::move(c)};
}

std::string index_member(const Ci& c) { return c.name + kSep + c.id; }

// The commands that store `c`, given what was stored before (`old`).
void write_ci(const Backend& b, const std::optional<Ci>& old, const Ci& c, std::vector<Argv>& out) {
  out.push_back({"HSET", b.key("ci", c.id), "type", c.type, "name", c.name, "source", c.source,
                 "state", std::string(to_string(c.state)), "attributes", attrs_to_json(c.attributes),
                 "first_seen_ms", i64(c.first_seen_ms), "last_seen_ms", i64(c.last_seen_ms),
                 "updated_ms", i64(c.updated_ms), "protected", keys_to_json(c.protected_keys)});
  if (old && (old->name != c.name || old->type != c.type)) {
    out.push_back({"ZREM", b.key("cis:byname"), index_member(*old)});
    out.push_back({"ZREM", b.key("cis:type", old->type), index_member(*old)});
  }
  out.push_back({"ZADD", b.key("cis:byname"), "0", index_member(c)});
  out.push_back({"ZADD", b.key("cis:type", c.type), "0", index_member(c)});
}

// --- audit trail ------------------------------------------------------------
// Entries live in sorted sets scored by time, "audit" for the fleet,
// "audit:ci:CI" per CI and "audit:alerts" for unauthorised-change alerts, as JSON members that start with their random id (so
// entries of the same millisecond are ordered by id). "audit:alert:CI" holds,
// per key, the time of the last unauthorised-change alert (flap suppression).
// Change records: hash "change:ID", sorted sets "changes" and "changes:ci:CI"
// scored by start.

std::string audit_member(const AuditRecord& r) {
  boost::json::object o;
  o["id"] = r.id;
  o["t"] = r.time_ms;
  o["ci"] = r.ci_id;
  o["kind"] = r.kind;
  o["key"] = r.key;
  o["old"] = r.old_value;
  o["new"] = r.new_value;
  o["origin"] = r.origin;
  o["change"] = r.change_id;
  o["unauthorized"] = r.unauthorized;
  o["alert"] = r.alert;
  return boost::json::serialize(o);
}

core::Result<AuditRecord> audit_from_member(std::string_view m) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(m, ec);
  if (ec || !v.is_object()) return core::make_error(StoreErrc::corrupt, "unreadable audit entry");
  const auto& o = v.get_object();
  auto str = [&o](const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
  };
  auto flag = [&o](const char* k) {
    auto it = o.find(k);
    return it != o.end() && it->value().is_bool() && it->value().get_bool();
  };
  AuditRecord r;
  r.id = str("id");
  auto t = o.find("t");
  r.time_ms = t != o.end() && t->value().is_int64() ? t->value().get_int64() : 0;
  r.ci_id = str("ci");
  r.kind = str("kind");
  r.key = str("key");
  r.old_value = str("old");
  r.new_value = str("new");
  r.origin = str("origin");
  r.change_id = str("change");
  r.unauthorized = flag("unauthorized");
  r.alert = flag("alert");
  return r;
}

core::Result<std::vector<ChangeRecord>> load_changes(Connection& c, const Backend& b,
                                                    const std::vector<std::string>& ids) {
  std::vector<ChangeRecord> out;
  if (ids.empty()) return out;
  std::vector<Argv> reads;
  for (const std::string& id : ids) reads.push_back({"HGETALL", b.key("change", id)});
  auto rows = c.pipeline(reads);
  if (!rows) return std::move(rows).error();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (is_error((*rows)[i].get())) return reply_error((*rows)[i].get(), "read change");
    auto h = hash_of((*rows)[i].get());
    if (h.empty()) continue;
    ChangeRecord ch;
    ch.id = ids[i];
    ch.reference = field(h, "reference");
    ch.start_ms = field_int(h, "start_ms");
    ch.end_ms = field_int(h, "end_ms");
    ch.description = field(h, "description");
    ch.origin = field(h, "origin");
    ch.created_ms = field_int(h, "created_ms");
    auto cis = keys_from_json(field(h, "cis"));
    if (!cis) return std::move(cis).error();
    ch.ci_ids = std::move(*cis);
    out.push_back(std::move(ch));
  }
  return out;
}

std::vector<std::string> member_list(const redisReply* r) {
  std::vector<std::string> out;
  for (std::size_t i = 0; r != nullptr && r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i)
    out.push_back(reply_text(r->element[i]));
  return out;
}

// Classifies `records` (reading the CIs' change records and last alerts) and
// adds the commands that store them to `tx`.
core::Status add_audit(Connection& c, const Backend& b, std::vector<AuditRecord> records, std::vector<Argv>& tx) {
  if (records.empty()) return {};
  std::map<std::string, std::vector<AuditRecord*>> by_ci;
  for (AuditRecord& r : records) by_ci[r.ci_id].push_back(&r);
  for (auto& [ci, list] : by_ci) {
    auto ids = c.command({"ZREVRANGE", b.key("changes:ci", ci), "0", "999"});
    if (!ids) return std::move(ids).error();
    if (is_error(ids->get())) return reply_error(ids->get(), "read changes");
    auto changes = load_changes(c, b, member_list(ids->get()));
    if (!changes) return std::move(changes).error();
    Argv last{"HMGET", b.key("audit:alert", ci)};
    for (const AuditRecord* r : list) last.push_back(r->key);
    auto alerts = c.command(last);
    if (!alerts) return std::move(alerts).error();
    if (is_error(alerts->get())) return reply_error(alerts->get(), "read alerts");
    std::map<std::string, std::int64_t> last_alert;
    for (std::size_t i = 0; i < list.size() && i < (*alerts)->elements; ++i)
      if (auto t = reply_int((*alerts)->element[i])) last_alert[list[i]->key] = *t;
    std::vector<AuditRecord> part;
    for (const AuditRecord* r : list) part.push_back(*r);
    classify_changes(part, *changes, [&last_alert](const AuditRecord& r) {
      auto it = last_alert.find(r.key);
      return it != last_alert.end() && it->second > r.time_ms - kFlapWindowMs;
    });
    for (std::size_t i = 0; i < list.size(); ++i) *list[i] = std::move(part[i]);
  }
  for (AuditRecord& r : records) {
    r.id = core::random_hex(8);
    const std::string member = audit_member(r);
    tx.push_back({"ZADD", b.key("audit"), i64(r.time_ms), member});
    tx.push_back({"ZADD", b.key("audit:ci", r.ci_id), i64(r.time_ms), member});
    if (r.alert) {
      tx.push_back({"HSET", b.key("audit:alert", r.ci_id), r.key, i64(r.time_ms)});
      tx.push_back({"ZADD", b.key("audit:alerts"), i64(r.time_ms), member});
    }
  }
  return {};
}

std::string series_member(const SeriesKey& k) { return k.metric + kSep + labels_to_json(k.attributes); }

std::string series_id(const SeriesKey& k) { return k.ci_id + kSep + series_member(k); }

struct SeriesKeys {
  std::string head, chunks, rollups, chunkend;
};
SeriesKeys keys_of(const Backend& b, std::string_view sid) {
  return {b.key("samples", sid), b.key("chunks", sid), b.key("rollups", sid), b.key("chunkend", sid)};
}

std::string number_text(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

core::Result<std::vector<Sample>> decode_stored(const std::string& bytes, std::string_view sid) {
  auto d = codec::decode_chunk(bytes);
  if (!d) return core::make_error(StoreErrc::corrupt, "chunk of series " + std::string(sid) + ": " + d.error().describe());
  return d;
}

std::optional<Rollup> parse_rollup_member(const std::string& m) {
  Rollup r;
  const char* p = m.c_str();
  char* end = nullptr;
  r.start_ms = std::strtoll(p, &end, 10);
  if (*end != ':') return std::nullopt;
  r.count = std::strtoll(end + 1, &end, 10);
  double* parts[] = {&r.sum, &r.min, &r.max};
  for (double* d : parts) {
    if (*end != ':') return std::nullopt;
    *d = std::strtod(end + 1, &end);
  }
  if (*end != '\0' || r.count <= 0) return std::nullopt;
  return r;
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
    return b_->pool.with([&](Connection& c) {
      return optimistic<Ci>(c, "CI " + u.id, [&]() -> core::Result<std::optional<Ci>> {
        auto pre = c.pipeline({{"WATCH", b_->key("ci", u.id)}, {"HGETALL", b_->key("ci", u.id)}});
        if (!pre) return std::move(pre).error();
        auto old = ci_from_hash(u.id, (*pre)[1].get());
        if (!old) return std::move(old).error();
        Ci merged = merge_ci(*old, u);
        std::vector<Argv> tx{{"MULTI"}};
        write_ci(*b_, *old, merged, tx);
        if (auto st = add_audit(c, *b_, audit_ci(*old, merged, u.source, u.seen_at_ms), tx); !st)
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
    if (from_ms >= to_ms || limit == 0) return std::vector<Sample>{};
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Sample>> {
      const std::string sid = series_id(key);
      const SeriesKeys k = keys_of(*b_, sid);
      // MULTI: the chunks and the head are read as of one moment.
      const std::int64_t first_block = from_ms <= INT64_MIN + kBlockMs ? INT64_MIN : floor_to(from_ms, kBlockMs);
      auto r = c.pipeline({{"MULTI"},
                           {"ZRANGEBYSCORE", k.chunks, i64(first_block), "(" + i64(to_ms)},
                           {"ZRANGEBYSCORE", k.head, i64(from_ms), "(" + i64(to_ms), "LIMIT", "0", std::to_string(limit)},
                           {"EXEC"}});
      if (!r) return std::move(r).error();
      const redisReply* exec = r->back().get();
      if (is_error(exec) || exec->type != REDIS_REPLY_ARRAY || exec->elements != 2)
        return reply_error(exec, "read samples");
      const redisReply* chunks = exec->element[0];
      const redisReply* head = exec->element[1];
      if (is_error(chunks) || is_error(head)) return reply_error(is_error(chunks) ? chunks : head, "read samples");
      std::vector<Sample> held;
      for (std::size_t i = 0; held.size() < limit && i < chunks->elements; ++i) {
        auto d = decode_stored(reply_text(chunks->element[i]), sid);
        if (!d) return std::move(d).error();
        for (const Sample& x : *d)
          if (x.time_ms >= from_ms && x.time_ms < to_ms) held.push_back(x);
      }
      std::vector<Sample> raw;
      for (std::size_t i = 0; i < head->elements; ++i) {
        auto x = parse_sample_member(reply_text(head->element[i]));
        if (!x) return core::make_error(StoreErrc::corrupt, "bad sample entry");
        raw.push_back(*x);
      }
      auto out = merge_samples(std::move(held), raw);
      if (out.size() > limit) out.resize(limit);
      return out;
    });
  }

  core::Result<std::vector<LatestSample>> latest_samples(std::string_view ci_id, std::string_view metric) override {
    auto all = latest_samples_of({std::string(ci_id)}, metric);
    if (!all) return std::move(all).error();
    return std::move(all->front());
  }

  // Two round trips for any number of CIs: their series lists, then the
  // newest head entry and chunk of each series wanted, in one transaction.
  core::Result<std::vector<std::vector<LatestSample>>> latest_samples_of(const std::vector<std::string>& ci_ids,
                                                                        std::string_view metric) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<std::vector<LatestSample>>> {
      std::vector<std::vector<LatestSample>> out(ci_ids.size());
      if (ci_ids.empty()) return out;
      std::vector<Argv> lists;
      for (const std::string& id : ci_ids) {
        lists.push_back({"ZRANGE", b_->key("series", id), "0", "-1"});
        lists.push_back({"HGETALL", b_->key("units", id)});
      }
      auto listed = c.pipeline(lists);
      if (!listed) return std::move(listed).error();
      std::vector<std::pair<std::size_t, SeriesInfo>> wanted;  // (CI index, series)
      for (std::size_t n = 0; n < ci_ids.size(); ++n) {
        auto series = series_from(ci_ids[n], (*listed)[2 * n].get(), (*listed)[2 * n + 1].get());
        if (!series) return std::move(series).error();
        for (SeriesInfo& info : *series)
          if (metric.empty() || info.key.metric == metric) wanted.emplace_back(n, std::move(info));
      }
      if (wanted.empty()) return out;
      std::vector<Argv> reads{{"MULTI"}};
      for (const auto& [n, info] : wanted) {
        const SeriesKeys k = keys_of(*b_, series_id(info.key));
        reads.push_back({"ZRANGE", k.head, "-1", "-1"});
        reads.push_back({"ZRANGE", k.chunks, "-1", "-1"});
      }
      reads.push_back({"EXEC"});
      auto rows = c.pipeline(reads);
      if (!rows) return std::move(rows).error();
      const redisReply* exec = rows->back().get();
      if (is_error(exec) || exec->type != REDIS_REPLY_ARRAY || exec->elements != 2 * wanted.size())
        return reply_error(exec, "latest samples");
      for (std::size_t i = 0; i < wanted.size(); ++i) {
        const redisReply* head = exec->element[2 * i];
        const redisReply* chunk = exec->element[2 * i + 1];
        if (is_error(head) || is_error(chunk)) return reply_error(is_error(head) ? head : chunk, "latest sample");
        std::optional<Sample> best;
        if (head->elements > 0) {
          auto x = parse_sample_member(reply_text(head->element[0]));
          if (!x) return core::make_error(StoreErrc::corrupt, "bad sample entry");
          best = *x;
        }
        if (chunk->elements > 0) {
          auto d = decode_stored(reply_text(chunk->element[0]), series_id(wanted[i].second.key));
          if (!d) return std::move(d).error();
          if (!d->empty() && (!best || d->back().time_ms > best->time_ms)) best = d->back();
        }
        if (best) out[wanted[i].first].push_back(LatestSample{wanted[i].second, *best});
      }
      return out;
    });
  }

  core::Result<std::vector<Rollup>> read_rollups(const SeriesKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Rollup>> {
      auto r = c.command({"ZRANGEBYSCORE", keys_of(*b_, series_id(key)).rollups, i64(from_ms), "(" + i64(to_ms)});
      if (!r) return std::move(r).error();
      const redisReply* arr = r->get();
      if (is_error(arr)) return reply_error(arr, "read rollups");
      std::vector<Rollup> out;
      for (std::size_t i = 0; arr->type == REDIS_REPLY_ARRAY && i < arr->elements; ++i) {
        auto x = parse_rollup_member(reply_text(arr->element[i]));
        if (!x) return core::make_error(StoreErrc::corrupt, "bad rollup entry");
        out.push_back(*x);
      }
      return out;
    });
  }

  core::Result<MaintenanceReport> maintain(const SeriesMaintenance& m) override {
    std::lock_guard lock(maintain_mu_);
    return b_->pool.with([&](Connection& c) -> core::Result<MaintenanceReport> {
      MaintenanceReport rep;
      const std::string count = std::to_string(std::max<std::size_t>(1, m.series_per_step));
      while (rep.series_visited < m.max_series) {
        auto r = c.command({"SSCAN", b_->key("allseries"), cursor_, "COUNT", count});
        if (!r) return std::move(r).error();
        const redisReply* arr = r->get();
        if (is_error(arr) || arr->type != REDIS_REPLY_ARRAY || arr->elements != 2) return reply_error(arr, "list series");
        for (std::size_t i = 0; i < arr->element[1]->elements; ++i) {
          if (auto st = maintain_series(c, reply_text(arr->element[1]->element[i]), m, rep); !st) {
            if (st.error().code != StoreErrc::corrupt) return std::move(st).error();
            ++rep.damaged;
            rep.damage = st.error().describe();
          }
          ++rep.series_visited;
        }
        cursor_ = reply_text(arr->element[0]);
        if (cursor_ == "0") return rep;
      }
      rep.more = true;
      return rep;
    });
  }

 private:
  core::Status maintain_series(Connection& c, const std::string& sid, const SeriesMaintenance& m,
                               MaintenanceReport& rep) {
    const SeriesKeys k = keys_of(*b_, sid);
    const ExpiryBounds e = expiry_bounds(m);
    auto dropped = c.pipeline({{"ZREMRANGEBYSCORE", k.chunks, "-inf", "(" + i64(e.raw_before)},
                               {"ZREMRANGEBYSCORE", k.head, "-inf", "(" + i64(e.raw_before)},
                               {"ZREMRANGEBYSCORE", k.rollups, "-inf", "(" + i64(e.rollups_before)}});
    if (!dropped) return std::move(dropped).error();
    for (const Reply& x : *dropped)
      if (is_error(x.get())) return reply_error(x.get(), "expire series data");
    rep.chunks_expired += static_cast<std::size_t>(reply_int((*dropped)[0].get()).value_or(0));
    rep.samples_expired += static_cast<std::size_t>(reply_int((*dropped)[1].get()).value_or(0));
    rep.rollups_expired += static_cast<std::size_t>(reply_int((*dropped)[2].get()).value_or(0));

    const std::int64_t closed_before = floor_to(m.now_ms - m.grace_ms, kBlockMs);
    // One closed block at a time, each an optimistic transaction; true when
    // a block was compacted, false when none is left.
    const auto compact_oldest = [&]() -> core::Result<std::optional<bool>> {
      auto seen = c.pipeline({{"WATCH", k.head, k.chunks, k.chunkend},
                              {"ZRANGEBYSCORE", k.head, "-inf", "(" + i64(closed_before), "LIMIT", "0", "1"}});
      if (!seen) return std::move(seen).error();
      const redisReply* first = (*seen)[1].get();
      if (is_error(first)) return reply_error(first, "oldest sample");
      if (first->elements == 0) return std::optional<bool>(false);
      auto oldest = parse_sample_member(reply_text(first->element[0]));
      if (!oldest) return core::make_error(StoreErrc::corrupt, "bad sample entry");
      const std::int64_t block = floor_to(oldest->time_ms, kBlockMs);
      auto got = c.pipeline({{"ZRANGEBYSCORE", k.head, i64(block), "(" + i64(block + kBlockMs)},
                             {"ZRANGEBYSCORE", k.chunks, i64(block), i64(block)},
                             {"GET", k.chunkend}});
      if (!got) return std::move(got).error();
      for (const Reply& x : *got)
        if (is_error(x.get())) return reply_error(x.get(), "read block");
      std::vector<Sample> raw;
      for (std::size_t i = 0; i < (*got)[0]->elements; ++i) {
        auto x = parse_sample_member(reply_text((*got)[0]->element[i]));
        if (!x) return core::make_error(StoreErrc::corrupt, "bad sample entry");
        raw.push_back(*x);
      }
      std::vector<Sample> held;
      if ((*got)[1]->elements > 0) {
        auto d = decode_stored(reply_text((*got)[1]->element[0]), sid);
        if (!d) return std::move(d).error();
        held = std::move(*d);
      }
      const std::int64_t end = std::max(reply_int((*got)[2].get()).value_or(INT64_MIN), block + kBlockMs);
      auto done = c.pipeline({{"MULTI"},
                              {"ZREMRANGEBYSCORE", k.head, i64(block), "(" + i64(block + kBlockMs)},
                              {"ZREMRANGEBYSCORE", k.chunks, i64(block), i64(block)},
                              {"ZADD", k.chunks, i64(block), codec::encode_chunk(merge_samples(std::move(held), raw))},
                              {"SET", k.chunkend, i64(end)},
                              {"EXEC"}});
      if (!done) return std::move(done).error();
      const redisReply* exec = done->back().get();
      if (is_error(exec)) return reply_error(exec, "compact block");
      if (exec->type != REDIS_REPLY_ARRAY) return std::optional<bool>{};  // raced with ingest or another collector
      ++rep.blocks_compacted;
      rep.samples_compacted += raw.size();
      return std::optional<bool>(true);
    };
    for (;;) {
      auto compacted = optimistic<bool>(c, "compaction of " + sid, compact_oldest);
      if (!compacted) return std::move(compacted).error();
      if (!*compacted) return {};
    }
  }

  core::Result<std::vector<SeriesInfo>> list_in(Connection& c, std::string_view ci_id) {
    auto r = c.pipeline({{"ZRANGE", b_->key("series", ci_id), "0", "-1"}, {"HGETALL", b_->key("units", ci_id)}});
    if (!r) return std::move(r).error();
    return series_from(ci_id, (*r)[0].get(), (*r)[1].get());
  }

  // A CI's series from the replies of ZRANGE on its series set and HGETALL of its units.
  static core::Result<std::vector<SeriesInfo>> series_from(std::string_view ci_id, const redisReply* arr,
                                                           const redisReply* units_reply) {
    if (is_error(arr)) return reply_error(arr, "list series");
    const auto units = hash_of(units_reply);
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
  std::mutex maintain_mu_;
  std::string cursor_ = "0";
};

class RedisReportStore final : public ReportStore {
 public:
  explicit RedisReportStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<ApplyResult> apply_report(const ReportBatch& batch) override {
    return b_->pool.with([&](Connection& c) {
      return optimistic<ApplyResult>(c, "report", [&] { return attempt_apply(c, batch); });
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
    std::vector<std::string> sids;
    for (const auto& entry : batch.series) sids.push_back(series_id(entry.first.key));
    Argv watch{"WATCH", seen_key, agent_key};
    for (const CiUpdate& u : batch.cis) watch.push_back(b_->key("ci", u.id));
    if (!inventory_key.empty()) watch.push_back(inventory_key);
    for (const std::string& sid : sids) watch.push_back(keys_of(*b_, sid).chunkend);
    pre.push_back(std::move(watch));
    pre.push_back({"ZSCORE", seen_key, std::to_string(batch.sequence)});
    pre.push_back({"HMGET", agent_key, "last_seen_ms", "last_sequence"});
    pre.push_back(inventory_key.empty() ? Argv{"PING"} : Argv{"HGETALL", inventory_key});
    for (const CiUpdate& u : batch.cis) pre.push_back({"HGETALL", b_->key("ci", u.id)});
    const std::size_t chunkend_at = pre.size();
    for (const std::string& sid : sids) pre.push_back({"GET", keys_of(*b_, sid).chunkend});
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
      result.outcome = ApplyOutcome::duplicate;
      return std::optional<ApplyResult>{std::move(result)};
    }
    const redisReply* agent = (*got)[2].get();
    if (agent->type != REDIS_REPLY_ARRAY || agent->elements != 2 || agent->element[0]->type == REDIS_REPLY_NIL)
      return core::make_error(StoreErrc::invalid, "unknown agent " + batch.agent_id);
    const std::int64_t last_seen = reply_int(agent->element[0]).value_or(0);
    const std::int64_t last_seq = reply_int(agent->element[1]).value_or(0);

    std::vector<Argv> tx{{"MULTI"}};
    std::vector<AuditRecord> audit;
    for (std::size_t i = 0; i < batch.cis.size(); ++i) {
      auto old = ci_from_hash(batch.cis[i].id, (*got)[4 + i].get());
      if (!old) return std::move(old).error();
      Ci merged = merge_ci(*old, batch.cis[i]);
      write_ci(*b_, *old, merged, tx);
      for (AuditRecord& r : audit_ci(*old, merged, batch.cis[i].source, batch.cis[i].seen_at_ms))
        audit.push_back(std::move(r));
    }
    for (std::size_t i = 0; i < batch.series.size(); ++i) {
      const auto& [info, samples] = batch.series[i];
      const std::string member = series_member(info.key);
      const SeriesKeys k = keys_of(*b_, sids[i]);
      tx.push_back({"ZADD", b_->key("series", info.key.ci_id), "0", member});
      tx.push_back({"HSET", b_->key("units", info.key.ci_id), member, info.unit});
      tx.push_back({"SADD", b_->key("allseries"), sids[i]});
      auto fresh = not_in_chunks(c, sids[i], samples, reply_int((*got)[chunkend_at + i].get()).value_or(INT64_MIN));
      if (!fresh) return std::move(fresh).error();
      if (fresh->empty()) continue;
      // A sample at a time already held is ignored, as SQLite's primary key
      // does; the new ones are added to their hour's rollup (NaN excepted).
      // The batch's figures are summed first and then added to the stored
      // ones, in the same order as the SQLite store, so both agree to the bit.
      static const char* kAddNew = R"lua(
local acc, hours = {}, {}
for i = 1, #ARGV, 4 do
  if redis.call('ZCOUNT', KEYS[1], ARGV[i], ARGV[i]) == 0 then
    redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
    if ARGV[i + 2] ~= '' then
      local x, h = tonumber(ARGV[i + 2]), ARGV[i + 3]
      local a = acc[h]
      if a == nil then
        acc[h] = {1, x, x, x}
        hours[#hours + 1] = h
      else
        a[1] = a[1] + 1
        a[2] = a[2] + x
        if x < a[3] then a[3] = x end
        if a[4] < x then a[4] = x end
      end
    end
  end
end
for _, h in ipairs(hours) do
  local a = acc[h]
  local old = redis.call('ZRANGEBYSCORE', KEYS[2], h, h)
  if #old > 0 then
    local c, s, mn, mx = string.match(old[1], '^[^:]+:([^:]+):([^:]+):([^:]+):([^:]+)$')
    redis.call('ZREM', KEYS[2], old[1])
    mn, mx = tonumber(mn), tonumber(mx)
    if a[3] < mn then mn = a[3] end
    if mx < a[4] then mx = a[4] end
    a = {tonumber(c) + a[1], tonumber(s) + a[2], mn, mx}
  end
  for j = 2, 4 do if a[j] == 0 then a[j] = 0 end end  -- -0 as 0, as a REAL column keeps it
  redis.call('ZADD', KEYS[2], h, string.format('%s:%d:%.17g:%.17g:%.17g', h, a[1], a[2], a[3], a[4]))
end
return 0)lua";
      Argv add{"EVAL", kAddNew, "2", k.head, k.rollups};
      for (const Sample& s : *fresh) {
        add.push_back(i64(s.time_ms));
        add.push_back(sample_member(s));
        add.push_back(std::isnan(s.value) ? std::string() : number_text(s.value));
        add.push_back(i64(floor_to(s.time_ms, kRollupMs)));
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
      if (merged->name == "packages" && has_baseline(old) && old->data_json != merged->data_json)
        for (AuditRecord& r :
             audit_software(batch.inventory_ci_id, old->data_json, merged->data_json, "agent", batch.received_at_ms))
          audit.push_back(std::move(r));
      if (held != result.inventory.end()) *held = *merged;
      else result.inventory.push_back(*merged);
    }
    std::sort(result.inventory.begin(), result.inventory.end(),
              [](const InventorySection& a, const InventorySection& b) { return a.name < b.name; });
    if (auto st = add_audit(c, *b_, std::move(audit), tx); !st) return std::move(st).error();
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

  // `samples` without those a chunk already holds. Only samples before the
  // series' chunk end (late ones, after an outage) need a look at a chunk.
  core::Result<std::vector<Sample>> not_in_chunks(Connection& c, const std::string& sid,
                                                  const std::vector<Sample>& samples, std::int64_t chunk_end) {
    std::vector<std::int64_t> blocks;
    for (const Sample& s : samples)
      if (s.time_ms < chunk_end) blocks.push_back(floor_to(s.time_ms, kBlockMs));
    if (blocks.empty()) return samples;
    std::sort(blocks.begin(), blocks.end());
    blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
    const std::string chunks_key = keys_of(*b_, sid).chunks;
    std::vector<Argv> reads;
    for (std::int64_t b : blocks) reads.push_back({"ZRANGEBYSCORE", chunks_key, i64(b), i64(b)});
    auto got = c.pipeline(reads);
    if (!got) return std::move(got).error();
    std::vector<std::int64_t> held_times;
    for (const Reply& r : *got) {
      if (is_error(r.get())) return reply_error(r.get(), "read chunk");
      for (std::size_t i = 0; i < r->elements; ++i) {
        // A damaged chunk must not stop ingest: its block takes the sample
        // into the head, and maintain() reports the damage.
        auto d = decode_stored(reply_text(r->element[i]), sid);
        if (!d) continue;
        for (const Sample& x : *d) held_times.push_back(x.time_ms);
      }
    }
    std::sort(held_times.begin(), held_times.end());
    std::vector<Sample> out;
    for (const Sample& s : samples)
      if (!std::binary_search(held_times.begin(), held_times.end(), s.time_ms)) out.push_back(s);
    return out;
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

// Events: a hash per event (prefix:event:ID), a hash of the open ones by
// de-duplication key, and a sorted set of all by opening time. Raising and
// resolving are Lua scripts, so two collectors never open the same one twice.
class RedisEventStore final : public EventStore {
 public:
  explicit RedisEventStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<std::pair<CapacityEvent, bool>> raise_event(const CapacityEvent& in, std::int64_t now_ms) override {
    static const char* kRaise = R"lua(
local id = redis.call('HGET', KEYS[1], ARGV[1])
if id then
  redis.call('HSET', ARGV[13] .. id, 'threshold', ARGV[9], 'value', ARGV[10], 'predicted_ms', ARGV[11],
             'summary', ARGV[12], 'updated_ms', ARGV[3])
  return {id, 0}
end
id = ARGV[2]
redis.call('HSET', ARGV[13] .. id, 'kind', ARGV[4], 'rule', ARGV[5], 'ci_id', ARGV[6], 'metric', ARGV[7],
           'attributes', ARGV[8], 'state', 'open', 'opened_ms', ARGV[3], 'updated_ms', ARGV[3],
           'resolved_ms', '0', 'threshold', ARGV[9], 'value', ARGV[10], 'predicted_ms', ARGV[11],
           'summary', ARGV[12])
redis.call('HSET', KEYS[1], ARGV[1], id)
redis.call('ZADD', KEYS[2], ARGV[3], id)
return {id, 1})lua";
    return b_->pool.with([&](Connection& c) -> core::Result<std::pair<CapacityEvent, bool>> {
      const std::string key = event_key(in.rule, SeriesKey{in.ci_id, in.metric, in.attributes});
      auto r = c.command({"EVAL", kRaise, "2", b_->key("events:open"), b_->key("events"), key,
                          "evt-" + core::random_hex(8), i64(now_ms), in.kind, in.rule, in.ci_id, in.metric,
                          labels_to_json(in.attributes), number_text(in.threshold), number_text(in.value),
                          in.predicted_ms ? i64(*in.predicted_ms) : std::string(), in.summary,
                          b_->key("event") + ":"});
      if (!r) return std::move(r).error();
      const redisReply* arr = r->get();
      if (is_error(arr) || arr->type != REDIS_REPLY_ARRAY || arr->elements != 2) return reply_error(arr, "raise event");
      const std::string id = reply_text(arr->element[0]);
      auto e = load(c, id);
      if (!e) return std::move(e).error();
      if (!*e) return core::make_error(StoreErrc::corrupt, "event " + id + " vanished");
      return std::pair{std::move(**e), reply_int(arr->element[1]).value_or(0) == 1};
    });
  }

  core::Result<std::optional<CapacityEvent>> resolve_event(std::string_view rule, const SeriesKey& series,
                                                           std::int64_t now_ms) override {
    static const char* kResolve = R"lua(
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', ARGV[3] .. id, 'state', 'resolved', 'resolved_ms', ARGV[2])
return id)lua";
    return b_->pool.with([&](Connection& c) -> core::Result<std::optional<CapacityEvent>> {
      auto r = c.command({"EVAL", kResolve, "1", b_->key("events:open"), event_key(rule, series), i64(now_ms),
                          b_->key("event") + ":"});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "resolve event");
      if ((*r)->type != REDIS_REPLY_STRING) return std::optional<CapacityEvent>{};
      return load(c, reply_text(r->get()));
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

  std::shared_ptr<Backend> b_;
};

class RedisRelationStore final : public RelationStore {
 public:
  explicit RedisRelationStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<bool> add_relationship(const Relationship& r) override {
    return change(r, true, r.origin, r.created_ms);
  }

  core::Result<bool> remove_relationship(const Relationship& r, std::string_view origin,
                                         std::int64_t now_ms) override {
    return change(r, false, std::string(origin), now_ms);
  }

  core::Result<std::vector<Relationship>> relationships_of(std::string_view ci_id) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Relationship>> {
      auto got = c.pipeline({{"SMEMBERS", b_->key("rel:out", ci_id)}, {"SMEMBERS", b_->key("rel:in", ci_id)}});
      if (!got) return std::move(got).error();
      std::vector<std::string> ids;
      for (const std::string& m : member_list((*got)[0].get())) ids.push_back(std::string(ci_id) + kSep + m);
      for (const std::string& m : member_list((*got)[1].get())) {
        const auto sep = m.find(kSep);
        if (sep == std::string::npos) return core::make_error(StoreErrc::corrupt, "bad relationship index entry");
        ids.push_back(m.substr(sep + 1) + kSep + m.substr(0, sep) + kSep + std::string(ci_id));
      }
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      if (ids.empty()) return std::vector<Relationship>{};
      Argv get{"HMGET", b_->key("rel:meta")};
      get.insert(get.end(), ids.begin(), ids.end());
      auto meta = c.command(get);
      if (!meta) return std::move(meta).error();
      if (is_error(meta->get())) return reply_error(meta->get(), "read relationships");
      std::vector<Relationship> out;
      for (std::size_t i = 0; i < ids.size() && i < (*meta)->elements; ++i) {
        auto rel = parse(ids[i], reply_text((*meta)->element[i]));
        if (!rel) return std::move(rel).error();
        out.push_back(std::move(*rel));
      }
      return out;
    });
  }

  core::Result<std::vector<Relationship>> all_relationships() override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Relationship>> {
      std::vector<Relationship> out;
      std::string cursor = "0";
      do {
        auto r = c.command({"HSCAN", b_->key("rel:meta"), cursor, "COUNT", "2000"});
        if (!r) return std::move(r).error();
        const redisReply* rep = r->get();
        if (is_error(rep) || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
          return reply_error(rep, "scan relationships");
        cursor = reply_text(rep->element[0]);
        const redisReply* kv = rep->element[1];
        for (std::size_t i = 0; i + 1 < kv->elements; i += 2) {
          auto rel = parse(reply_text(kv->element[i]), reply_text(kv->element[i + 1]));
          if (!rel) return std::move(rel).error();
          out.push_back(std::move(*rel));
        }
      } while (cursor != "0");
      std::sort(out.begin(), out.end(), [](const Relationship& a, const Relationship& b) {
        return std::tie(a.from, a.type, a.to) < std::tie(b.from, b.type, b.to);
      });
      return out;
    });
  }

  core::Result<std::int64_t> relationships_version() override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::int64_t> {
      auto r = c.command({"GET", b_->key("rel:version")});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read version");
      return reply_int(r->get()).value_or(0);
    });
  }

 private:
  // "FROM\x1fTYPE\x1fTO" and "origin\x1fcreated_ms".
  static core::Result<Relationship> parse(const std::string& id, const std::string& meta) {
    const auto a = id.find(kSep);
    const auto b = a == std::string::npos ? a : id.find(kSep, a + 1);
    const auto m = meta.find(kSep);
    if (b == std::string::npos || m == std::string::npos)
      return core::make_error(StoreErrc::corrupt, "bad relationship entry");
    return Relationship{id.substr(0, a), id.substr(a + 1, b - a - 1), id.substr(b + 1), meta.substr(0, m),
                        std::strtoll(meta.c_str() + m + 1, nullptr, 10)};
  }

  core::Result<bool> change(const Relationship& r, bool add, const std::string& origin, std::int64_t t) {
    const std::string id = r.from + kSep + r.type + kSep + r.to;
    return b_->pool.with([&](Connection& c) {
      return optimistic<bool>(c, "relationships of " + r.from, [&]() -> core::Result<std::optional<bool>> {
        // Writers of the same CI's relationships serialise on its lock key
        // (bumped by every write); others do not contend.
        const std::string lock = b_->key("rel:lock", r.from);
        auto pre = c.pipeline({{"WATCH", lock, b_->key("ci", r.from), b_->key("ci", r.to)},
                               {"HEXISTS", b_->key("rel:meta"), id},
                               {"EXISTS", b_->key("ci", r.from)},
                               {"EXISTS", b_->key("ci", r.to)}});
        if (!pre) return std::move(pre).error();
        const bool exists = reply_int((*pre)[1].get()).value_or(0) == 1;
        if (add) {
          for (int i : {2, 3})
            if (reply_int((*pre)[i].get()).value_or(0) != 1)
              return core::make_error(StoreErrc::not_found,
                                      "no CI with id '" + (i == 2 ? r.from : r.to) + "'");
        }
        if (exists == add) return std::optional<bool>(false);
        std::vector<Argv> tx{{"MULTI"}};
        const std::string out_member = r.type + kSep + r.to, in_member = r.type + kSep + r.from;
        if (add) {
          tx.push_back({"HSET", b_->key("rel:meta"), id, r.origin + kSep + i64(r.created_ms)});
          tx.push_back({"SADD", b_->key("rel:out", r.from), out_member});
          tx.push_back({"SADD", b_->key("rel:in", r.to), in_member});
        } else {
          tx.push_back({"HDEL", b_->key("rel:meta"), id});
          tx.push_back({"SREM", b_->key("rel:out", r.from), out_member});
          tx.push_back({"SREM", b_->key("rel:in", r.to), in_member});
        }
        tx.push_back({"INCR", b_->key("rel:version")});
        tx.push_back({"INCR", lock});
        AuditRecord a;
        a.time_ms = t;
        a.ci_id = r.from;
        a.kind = "relationship";
        a.key = r.type + " " + r.to;
        (add ? a.new_value : a.old_value) = "true";
        a.origin = origin;
        if (auto st = add_audit(c, *b_, {a}, tx); !st) return std::move(st).error();
        tx.push_back({"EXEC"});
        auto res = c.pipeline(tx);
        if (!res) return std::move(res).error();
        const redisReply* exec = res->back().get();
        if (is_error(exec)) return reply_error(exec, "write relationship");
        if (exec->type == REDIS_REPLY_ARRAY) return std::optional<bool>(true);
        return std::optional<bool>{};
      });
    });
  }

  std::shared_ptr<Backend> b_;
};

class RedisAuditStore final : public AuditStore {
 public:
  explicit RedisAuditStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<std::vector<AuditRecord>> list_audit(const AuditFilter& f) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<AuditRecord>> {
      // Alerts have their own set, so asking for them reads only them.
      const std::string key = f.unauthorized ? b_->key("audit:alerts")
                              : f.ci_id.empty() ? b_->key("audit")
                                                : b_->key("audit:ci", f.ci_id);
      const std::string max = f.to_ms == INT64_MAX ? "+inf" : "(" + i64(f.to_ms);
      const std::string min = f.from_ms == INT64_MIN ? "-inf" : i64(f.from_ms);
      std::vector<AuditRecord> out;
      // Pages newest first; filters apply as they come.
      constexpr std::size_t kPage = 1000;
      for (std::size_t offset = 0; out.size() < f.limit; offset += kPage) {
        auto r = c.command({"ZREVRANGEBYSCORE", key, max, min, "LIMIT", std::to_string(offset), std::to_string(kPage)});
        if (!r) return std::move(r).error();
        if (is_error(r->get())) return reply_error(r->get(), "read audit");
        const auto members = member_list(r->get());
        for (const std::string& m : members) {
          auto rec = audit_from_member(m);
          if (!rec) return std::move(rec).error();
          if (!f.kind.empty() && rec->kind != f.kind) continue;
          if (f.unauthorized && !rec->alert) continue;
          if (!f.ci_id.empty() && rec->ci_id != f.ci_id) continue;
          out.push_back(std::move(*rec));
          if (out.size() == f.limit) break;
        }
        if (members.size() < kPage) break;
      }
      return out;
    });
  }

 private:
  std::shared_ptr<Backend> b_;
};

class RedisChangeStore final : public ChangeStore {
 public:
  explicit RedisChangeStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<ChangeRecord> create_change(const ChangeRecord& in) override {
    ChangeRecord ch = in;
    ch.id = "chg-" + core::random_hex(8);
    std::sort(ch.ci_ids.begin(), ch.ci_ids.end());
    ch.ci_ids.erase(std::unique(ch.ci_ids.begin(), ch.ci_ids.end()), ch.ci_ids.end());
    return b_->pool.with([&](Connection& c) -> core::Result<ChangeRecord> {
      std::vector<Argv> tx{{"MULTI"},
                           {"HSET", b_->key("change", ch.id), "reference", ch.reference, "start_ms", i64(ch.start_ms),
                            "end_ms", i64(ch.end_ms), "description", ch.description, "origin", ch.origin,
                            "created_ms", i64(ch.created_ms), "cis", keys_to_json(ch.ci_ids)},
                           {"ZADD", b_->key("changes"), i64(ch.start_ms), ch.id}};
      for (const std::string& id : ch.ci_ids) tx.push_back({"ZADD", b_->key("changes:ci", id), i64(ch.start_ms), ch.id});
      tx.push_back({"EXEC"});
      auto r = c.pipeline(tx);
      if (!r) return std::move(r).error();
      if (is_error(r->back().get())) return reply_error(r->back().get(), "write change");
      return ch;
    });
  }

  core::Result<std::optional<ChangeRecord>> find_change(std::string_view id) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::optional<ChangeRecord>> {
      auto list = load_changes(c, *b_, {std::string(id)});
      if (!list) return std::move(list).error();
      if (list->empty()) return std::optional<ChangeRecord>{};
      return std::optional<ChangeRecord>{std::move(list->front())};
    });
  }

  core::Result<std::vector<ChangeRecord>> list_changes(const ChangeFilter& f) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<ChangeRecord>> {
      const std::string key = f.ci_id.empty() ? b_->key("changes") : b_->key("changes:ci", f.ci_id);
      std::vector<ChangeRecord> out;
      constexpr std::size_t kPage = 500;
      for (std::size_t offset = 0; out.size() < f.limit; offset += kPage) {
        auto ids = c.command({"ZREVRANGE", key, std::to_string(offset), std::to_string(offset + kPage - 1)});
        if (!ids) return std::move(ids).error();
        if (is_error(ids->get())) return reply_error(ids->get(), "list changes");
        const auto page = member_list(ids->get());
        auto list = load_changes(c, *b_, page);
        if (!list) return std::move(list).error();
        for (ChangeRecord& ch : *list) {
          if (ch.end_ms <= f.ends_after_ms) continue;
          out.push_back(std::move(ch));
          if (out.size() == f.limit) break;
        }
        if (page.size() < kPage) break;
      }
      // Same start: by id, as the SQLite store orders them.
      std::stable_sort(out.begin(), out.end(), [](const ChangeRecord& a, const ChangeRecord& b) {
        return a.start_ms != b.start_ms ? a.start_ms > b.start_ms : a.id < b.id;
      });
      return out;
    });
  }

 private:
  std::shared_ptr<Backend> b_;
};

// Service definitions: hash "services" (name -> JSON of definition, origin,
// updated_ms) and the counter "services:version".
class RedisServiceStore final : public ServiceStore {
 public:
  explicit RedisServiceStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Status put_service(const StoredService& sv) override {
    boost::json::object o{{"definition", sv.definition}, {"origin", sv.origin}, {"updated_ms", sv.updated_ms}};
    return run({{"MULTI"},
                {"HSET", b_->key("services"), sv.name, boost::json::serialize(o)},
                {"INCR", b_->key("services:version")},
                {"EXEC"}});
  }

  core::Result<bool> delete_service(std::string_view name) override {
    return b_->pool.with([&](Connection& c) -> core::Result<bool> {
      auto r = c.pipeline({{"MULTI"}, {"HDEL", b_->key("services"), std::string(name)},
                           {"INCR", b_->key("services:version")}, {"EXEC"}});
      if (!r) return std::move(r).error();
      const redisReply* exec = r->back().get();
      if (is_error(exec) || exec->type != REDIS_REPLY_ARRAY || exec->elements < 1)
        return reply_error(exec, "delete service");
      return reply_int(exec->element[0]).value_or(0) == 1;
    });
  }

  core::Result<std::vector<StoredService>> list_services() override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<StoredService>> {
      auto r = c.command({"HGETALL", b_->key("services")});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read services");
      std::vector<StoredService> out;
      for (const auto& [name, text] : hash_of(r->get())) {
        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(text, ec);
        if (ec || !v.is_object()) return core::make_error(StoreErrc::corrupt, "service " + name + " is unreadable");
        const auto& o = v.get_object();
        StoredService sv;
        sv.name = name;
        if (auto d = o.find("definition"); d != o.end() && d->value().is_string()) sv.definition = std::string(d->value().get_string());
        if (auto d = o.find("origin"); d != o.end() && d->value().is_string()) sv.origin = std::string(d->value().get_string());
        if (auto d = o.find("updated_ms"); d != o.end() && d->value().is_int64()) sv.updated_ms = d->value().get_int64();
        out.push_back(std::move(sv));
      }
      return out;  // hash_of is a std::map: by name
    });
  }

  core::Result<std::int64_t> services_version() override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::int64_t> {
      auto r = c.command({"GET", b_->key("services:version")});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read version");
      return reply_int(r->get()).value_or(0);
    });
  }

 private:
  core::Status run(const std::vector<Argv>& tx) {
    return b_->pool.with([&](Connection& c) -> core::Status {
      auto r = c.pipeline(tx);
      if (!r) return std::move(r).error();
      if (is_error(r->back().get())) return reply_error(r->back().get(), "write service");
      return {};
    });
  }

  std::shared_ptr<Backend> b_;
};

// Timelines: sorted set "timeline:SUBJECT" scored by start, members
// "start:end:state"; the last interval is extended by a Lua script, so a
// record is atomic across collectors. "availability:until" is the pulse.
class RedisTimelineStore final : public TimelineStore {
 public:
  explicit RedisTimelineStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

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

 private:
  std::shared_ptr<Backend> b_;
};

// Leases: hash "lease:NAME" {holder, until}, taken or renewed by a script so
// the check and the write are one step. Times are the collectors' clocks
// (kept in sync by NTP); a lease runs for its ttl.
class RedisLeaseStore final : public LeaseStore {
 public:
  explicit RedisLeaseStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

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

 private:
  std::shared_ptr<Backend> b_;
};

// Incidents: "incident:ID" holds the JSON document, "incident:key:KEY" the id
// of the newest incident of a dedup key, "incidents:opened" orders them by
// opening time and "incidents:active" holds the open and acknowledged ones.
// An update WATCHes the key's pointer and the incident, and retries if
// another collector wrote either in between.
class RedisIncidentStore final : public IncidentStore {
 public:
  explicit RedisIncidentStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<std::optional<Incident>> update_incident_by_key(std::string_view key, const Change& change) override {
    return update(key, {}, change);
  }

  core::Result<std::optional<Incident>> update_incident(std::string_view id, const Change& change) override {
    return update({}, id, change);
  }

  core::Result<std::optional<Incident>> find_incident(std::string_view id) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::optional<Incident>> {
      auto r = c.command({"GET", b_->key("incident", id)});
      if (!r) return std::move(r).error();
      return parse(r->get());
    });
  }

  core::Result<std::vector<Incident>> list_incidents(const IncidentFilter& f) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Incident>> {
      std::vector<Incident> out;
      auto keep = [&](const Incident& i) {
        if (!f.states.empty() && std::find(f.states.begin(), f.states.end(), i.state) == f.states.end()) return false;
        if (f.kind && i.kind != *f.kind) return false;
        if (!f.subject.empty() && i.subject != f.subject) return false;
        return i.priority <= f.max_priority && i.opened_ms >= f.opened_from_ms && i.opened_ms < f.opened_to_ms;
      };
      auto load = [&](const redisReply* ids) -> core::Status {
        if (is_error(ids)) return reply_error(ids, "list incidents");
        Argv mget{"MGET"};
        for (std::size_t i = 0; ids->type == REDIS_REPLY_ARRAY && i < ids->elements; ++i)
          mget.push_back(b_->key("incident", reply_text(ids->element[i])));
        if (mget.size() == 1) return {};
        auto docs = c.command(mget);
        if (!docs) return std::move(docs).error();
        for (std::size_t i = 0; (*docs)->type == REDIS_REPLY_ARRAY && i < (*docs)->elements; ++i) {
          auto inc = parse((*docs)->element[i]);
          if (!inc) return std::move(inc).error();
          if (*inc && keep(**inc)) out.push_back(std::move(**inc));
        }
        return {};
      };
      const bool active_only = !f.states.empty() && std::all_of(f.states.begin(), f.states.end(), is_active);
      if (active_only) {
        auto ids = c.command({"SMEMBERS", b_->key("incidents:active")});
        if (!ids) return std::move(ids).error();
        if (auto st = load(ids->get()); !st) return std::move(st).error();
        std::sort(out.begin(), out.end(), [](const Incident& a, const Incident& b) {
          return std::tie(a.opened_ms, a.id) > std::tie(b.opened_ms, b.id);
        });
        if (out.size() > f.limit) out.resize(f.limit);
        return out;
      }
      // Newest first, a page at a time, until the limit is filled.
      const std::string max = f.opened_to_ms == INT64_MAX ? "+inf" : "(" + i64(f.opened_to_ms);
      const std::string min = f.opened_from_ms == INT64_MIN ? "-inf" : i64(f.opened_from_ms);
      constexpr std::size_t kPage = 500;
      for (std::size_t offset = 0; out.size() < f.limit; offset += kPage) {
        auto ids = c.command({"ZREVRANGEBYSCORE", b_->key("incidents:opened"), max, min, "LIMIT",
                              std::to_string(offset), std::to_string(kPage)});
        if (!ids) return std::move(ids).error();
        const std::size_t got = (*ids)->type == REDIS_REPLY_ARRAY ? (*ids)->elements : 0;
        if (auto st = load(ids->get()); !st) return std::move(st).error();
        if (got < kPage) break;
      }
      if (out.size() > f.limit) out.resize(f.limit);
      return out;
    });
  }

  core::Status record_delivery(const Delivery& d) override {
    return b_->pool.with([&](Connection& c) -> core::Status {
      json::array ids;
      for (const std::string& i : d.incidents) ids.push_back(json::string(i));
      const std::string doc = json::serialize(json::object{{"time_ms", d.time_ms},
                                                           {"webhook", d.webhook},
                                                           {"message_id", d.message_id},
                                                           {"incidents", std::move(ids)},
                                                           {"attempt", d.attempt},
                                                           {"status", d.status},
                                                           {"error", d.error},
                                                           {"delivered", d.delivered}});
      auto r = c.pipeline({{"LPUSH", b_->key("deliveries"), doc}, {"LTRIM", b_->key("deliveries"), "0", "9999"}});
      if (!r) return std::move(r).error();
      if (is_error((*r)[0].get())) return reply_error((*r)[0].get(), "write delivery");
      return {};
    });
  }

  core::Result<std::vector<Delivery>> list_deliveries(std::size_t limit) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Delivery>> {
      if (limit == 0) return std::vector<Delivery>{};
      auto r = c.command({"LRANGE", b_->key("deliveries"), "0", std::to_string(std::min<std::size_t>(limit, 10'000) - 1)});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read deliveries");
      std::vector<Delivery> out;
      for (std::size_t i = 0; (*r)->type == REDIS_REPLY_ARRAY && i < (*r)->elements; ++i) {
        boost::system::error_code ec;
        json::value v = json::parse(reply_text((*r)->element[i]), ec);
        if (ec || !v.is_object()) return core::make_error(StoreErrc::corrupt, "stored delivery is not JSON");
        try {
          const json::object& o = v.get_object();
          Delivery d;
          d.time_ms = o.at("time_ms").to_number<std::int64_t>();
          d.webhook = std::string(o.at("webhook").as_string());
          d.message_id = std::string(o.at("message_id").as_string());
          for (const json::value& id : o.at("incidents").as_array()) d.incidents.emplace_back(id.as_string());
          d.attempt = o.at("attempt").to_number<int>();
          d.status = o.at("status").to_number<int>();
          d.error = std::string(o.at("error").as_string());
          d.delivered = o.at("delivered").as_bool();
          out.push_back(std::move(d));
        } catch (const std::exception& e) {
          return core::make_error(StoreErrc::corrupt, std::string("stored delivery: ") + e.what());
        }
      }
      return out;
    });
  }

 private:
  static core::Result<std::optional<Incident>> parse(const redisReply* r) {
    if (is_error(r)) return reply_error(r, "read incident");
    if (r->type == REDIS_REPLY_NIL) return std::optional<Incident>{};
    auto i = incident_from_json(reply_text(r));
    if (!i) return std::move(i).error();
    return std::optional<Incident>{std::move(*i)};
  }

  // By dedup key (`id` empty) or by id.
  core::Result<std::optional<Incident>> update(std::string_view key, std::string_view id_in, const Change& change) {
    // The outcome is itself optional (nullopt: `change` wanted no write), so
    // an attempt returns it wrapped once more; nullopt there means "retry".
    using Outcome = std::optional<Incident>;
    return b_->pool.with([&](Connection& c) {
      return optimistic<Outcome>(c, "incident", [&]() -> core::Result<std::optional<Outcome>> {
        std::string id(id_in);
        if (id.empty()) {
          auto pre = c.pipeline({{"WATCH", b_->key("incident:key", key)}, {"GET", b_->key("incident:key", key)}});
          if (!pre) return std::move(pre).error();
          if (is_error((*pre)[1].get())) return reply_error((*pre)[1].get(), "read incident key");
          id = reply_text((*pre)[1].get());
        }
        std::optional<Incident> old;
        if (!id.empty()) {
          auto pre = c.pipeline({{"WATCH", b_->key("incident", id)}, {"GET", b_->key("incident", id)}});
          if (!pre) return std::move(pre).error();
          auto got = parse((*pre)[1].get());
          if (!got) return std::move(got).error();
          old = std::move(*got);
        }
        if (!old && !id_in.empty())
          return core::make_error(StoreErrc::not_found, "no incident " + std::string(id_in));
        std::optional<Incident> next = change(old);
        if (!next) return std::optional<Outcome>(Outcome{});
        const bool fresh = next->id.empty();
        if (fresh) {
          auto n = c.command({"INCR", b_->key("incidents:seq")});
          if (!n) return std::move(n).error();
          if (!reply_int(n->get())) return reply_error(n->get(), "number incident");
          next->id = "INC-" + i64(*reply_int(n->get()));
        } else if (!old || old->id != next->id) {
          return core::make_error(StoreErrc::invalid, "an incident keeps its id");
        }
        std::vector<Argv> tx{{"MULTI"},
                             {"SET", b_->key("incident", next->id), incident_to_json(*next)},
                             {"ZADD", b_->key("incidents:opened"), i64(next->opened_ms), next->id},
                             {is_active(next->state) ? "SADD" : "SREM", b_->key("incidents:active"), next->id}};
        // A new incident becomes its key's newest (the key was WATCHed); a
        // change to an older one, by id, leaves the pointer alone.
        if (fresh) tx.push_back({"SET", b_->key("incident:key", next->key), next->id});
        tx.push_back({"EXEC"});
        auto r = c.pipeline(tx);
        if (!r) return std::move(r).error();
        const redisReply* exec = r->back().get();
        if (is_error(exec)) return reply_error(exec, "write incident");
        if (exec->type == REDIS_REPLY_ARRAY) return std::optional<Outcome>(std::move(next));
        return std::optional<Outcome>{};
      });
    });
  }

  std::shared_ptr<Backend> b_;
};

// Each period's SLA report versions: a list "slareport:SERVICE\x1fPERIOD" of
// JSON documents, appended to by a script that checks the expected length.
class RedisSlaReportStore final : public SlaReportStore {
 public:
  explicit RedisSlaReportStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

  core::Result<bool> add_sla_report(const SlaReportVersion& v) override {
    static const char* kAppend = R"lua(
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
return 1)lua";
    const std::string doc = json::serialize(json::object{{"version", v.version},
                                                         {"created_ms", v.created_ms},
                                                         {"by", v.by},
                                                         {"reason", v.reason},
                                                         {"report", v.report}});
    return b_->pool.with([&](Connection& c) -> core::Result<bool> {
      auto r = c.command({"EVAL", kAppend, "1", list_key(v.service, v.period), std::to_string(v.version - 1), doc});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "write SLA report");
      return reply_int(r->get()).value_or(0) == 1;
    });
  }

  core::Result<std::vector<SlaReportVersion>> sla_reports(std::string_view service, std::string_view period) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<SlaReportVersion>> {
      auto r = c.command({"LRANGE", list_key(service, period), "0", "-1"});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read SLA reports");
      std::vector<SlaReportVersion> out;
      for (std::size_t i = 0; (*r)->type == REDIS_REPLY_ARRAY && i < (*r)->elements; ++i) {
        boost::system::error_code ec;
        json::value v = json::parse(reply_text((*r)->element[i]), ec);
        if (ec || !v.is_object()) return core::make_error(StoreErrc::corrupt, "stored SLA report is not JSON");
        try {
          const json::object& o = v.get_object();
          out.push_back({std::string(service), std::string(period), o.at("version").to_number<int>(),
                         o.at("created_ms").to_number<std::int64_t>(), std::string(o.at("by").as_string()),
                         std::string(o.at("reason").as_string()), std::string(o.at("report").as_string())});
        } catch (const std::exception& e) {
          return core::make_error(StoreErrc::corrupt, std::string("stored SLA report: ") + e.what());
        }
      }
      return out;
    });
  }

 private:
  [[nodiscard]] std::string list_key(std::string_view service, std::string_view period) const {
    return b_->key("slareport", std::string(service) + kSep + std::string(period));
  }

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

  // CONFIG GET where the server allows it; where it is disabled or renamed
  // (managed Redis), INFO, which tells persistence and eviction but not
  // the fsync policy.
  core::Result<Durability> durability() override {
    return b_->pool.with([](Connection& c) -> core::Result<Durability> {
      auto got = c.pipeline({{"CONFIG", "GET", "appendonly"},
                             {"CONFIG", "GET", "appendfsync"},
                             {"CONFIG", "GET", "maxmemory-policy"}});
      if (!got) return std::move(got).error();
      std::map<std::string, std::string> conf;
      for (const Reply& r : *got)
        if (!is_error(r.get()) && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
          conf[reply_text(r->element[0])] = reply_text(r->element[1]);
      if (!conf.contains("appendonly") || !conf.contains("maxmemory-policy")) {
        auto info = c.command({"INFO", "all"});
        if (!info) return std::move(info).error();
        if (is_error(info->get())) return reply_error(info->get(), "read Redis settings");
        const std::string text = reply_text(info->get());
        const auto field_of = [&text](const std::string& name) -> std::string {
          const auto at = text.find("\n" + name + ":");
          if (at == std::string::npos) return {};
          const auto from = at + name.size() + 2;
          return text.substr(from, text.find_first_of("\r\n", from) - from);
        };
        if (const std::string aof = field_of("aof_enabled"); !aof.empty()) conf["appendonly"] = aof == "1" ? "yes" : "no";
        conf["maxmemory-policy"] = field_of("maxmemory_policy");
      }
      return durability_of(conf);
    });
  }

 private:
  static Durability durability_of(const std::map<std::string, std::string>& conf) {
    Durability d;
    const auto value = [&conf](const char* k) {
      auto it = conf.find(k);
      return it == conf.end() ? std::string() : it->second;
    };
    if (value("appendonly") == "no")
      d.warnings.push_back("appendonly no: reports acknowledged since Redis's last snapshot are lost when Redis "
                           "restarts; set appendonly yes and appendfsync always");
    else if (value("appendfsync") == "everysec")
      d.warnings.push_back("appendfsync everysec: up to a second of acknowledged reports can be lost when the Redis "
                           "host loses power; set appendfsync always");
    else if (value("appendfsync") == "no")
      d.warnings.push_back("appendfsync no: acknowledged reports reach the disk when the kernel decides, and can be "
                           "lost when the Redis host loses power; set appendfsync always");
    const std::string policy = value("maxmemory-policy");
    if (!policy.empty() && policy != "noeviction") {
      d.evicting = true;
      d.warnings.push_back("maxmemory-policy " + policy +
                           ": Redis deletes keys when memory runs short, and a deleted key is lost data; set "
                           "maxmemory-policy noeviction");
    }
    return d;
  }

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
  s.events = std::make_shared<RedisEventStore>(backend);
  s.relations = std::make_shared<RedisRelationStore>(backend);
  s.audit = std::make_shared<RedisAuditStore>(backend);
  s.changes = std::make_shared<RedisChangeStore>(backend);
  s.services = std::make_shared<RedisServiceStore>(backend);
  s.timelines = std::make_shared<RedisTimelineStore>(backend);
  s.leases = std::make_shared<RedisLeaseStore>(backend);
  s.incidents = std::make_shared<RedisIncidentStore>(backend);
  s.sla_reports = std::make_shared<RedisSlaReportStore>(backend);
  s.health = std::make_shared<RedisHealth>(backend);
  return s;
}

}  // namespace surveyor::collector::redis
