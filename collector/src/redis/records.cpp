// SPDX-License-Identifier: Apache-2.0
// How the Redis stores write and read their records: CI hashes and their
// indexes, audit members, series keys and sample members, inventory
// sections. Shared by the domain stores, which compose them in one MULTI.
#include "backend.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <limits>

namespace surveyor::collector::redis {

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

core::Result<std::string> indexed_host(Backend& b, std::string_view agent) {
  return b.pool.with([&](Connection& c) -> core::Result<std::string> {
    auto r = c.command({"HGET", b.key("agent-ci"), std::string(agent)});
    if (!r) return std::move(r).error();
    if (is_error(r->get())) return reply_error(r->get(), "find agent " + std::string(agent));
    return reply_text(r->get());
  });
}

core::Status add_sightings(Backend& b, std::vector<Ci*> cis) {
  if (cis.empty()) return {};
  if (auto st = b.resolve_layout(); !st) return st;
  if (!b.spread()) return {};
  std::map<Pool*, std::vector<Ci*>> by_master;
  for (Ci* c : cis) {
    auto master = b.shards->master_of(b.host_key("sighted", c->id));
    if (!master) return std::move(master).error();
    by_master[*master].push_back(c);
  }
  for (const auto& [master, of] : by_master) {
    auto st = b.shards->on(*master, [&](Connection& c) -> core::Status {
      std::vector<Argv> reads;
      for (const Ci* ci : of) reads.push_back({"GET", b.host_key("sighted", ci->id)});
      auto got = c.pipeline(reads);
      if (!got) return std::move(got).error();
      for (std::size_t i = 0; i < of.size(); ++i) {
        if (is_error((*got)[i].get())) return reply_error((*got)[i].get(), "read the sighting of CI " + of[i]->id);
        if (auto t = reply_int((*got)[i].get())) of[i]->last_seen_ms = std::max(of[i]->last_seen_ms, *t);
      }
      return {};
    });
    if (!st) return st;
  }
  return {};
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
// Each CI's hash chain has its head, "SEQ HASH", in "audit:head:CI"; the set
// "audit:chains" names the CIs that have one.
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
  if (!r.actor.empty()) o["actor"] = r.actor;
  o["change"] = r.change_id;
  o["unauthorized"] = r.unauthorized;
  o["alert"] = r.alert;
  o["seq"] = r.seq;
  o["prev"] = r.prev_hash;
  o["hash"] = r.hash;
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
  r.actor = str("actor");
  r.change_id = str("change");
  r.unauthorized = flag("unauthorized");
  r.alert = flag("alert");
  auto seq = o.find("seq");
  r.seq = seq != o.end() && seq->value().is_int64() ? seq->value().get_int64() : 0;
  r.prev_hash = str("prev");
  r.hash = str("hash");
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
    ch.actor = field(h, "actor");
    ch.created_ms = field_int(h, "created_ms");
    ch.impact = field(h, "impact");
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
  auto classified = classify_audit(records, [&](std::string_view ci, const std::vector<std::string>& keys)
                                                -> core::Result<AuditContext> {
    AuditContext ctx;
    Argv last{"HMGET", b.key("audit:alert", ci)};
    last.insert(last.end(), keys.begin(), keys.end());
    auto got = c.pipeline({{"ZREVRANGE", b.key("changes:ci", ci), "0", std::to_string(kChangesPerCi - 1)}, last});
    if (!got) return std::move(got).error();
    for (const Reply& r : *got)
      if (is_error(r.get())) return reply_error(r.get(), "read changes and alerts");
    auto changes = load_changes(c, b, member_list((*got)[0].get()));
    if (!changes) return std::move(changes).error();
    ctx.changes = std::move(*changes);
    const redisReply* alerts = (*got)[1].get();
    for (std::size_t i = 0; i < keys.size() && i < alerts->elements; ++i)
      if (auto t = reply_int(alerts->element[i])) ctx.last_alert[keys[i]] = *t;
    return ctx;
  });
  if (!classified) return classified;
  // Each CI's chain goes on from its head, WATCHed: a concurrent writer
  // that moves it makes this transaction fail and run again.
  std::vector<std::string> cis;
  for (const AuditRecord& r : records)
    if (std::find(cis.begin(), cis.end(), r.ci_id) == cis.end()) cis.push_back(r.ci_id);
  std::vector<Argv> reads{{"WATCH"}};
  for (const std::string& ci : cis) {
    reads.front().push_back(b.key("audit:head", ci));
    reads.push_back({"GET", b.key("audit:head", ci)});
  }
  auto got = c.pipeline(reads);
  if (!got) return std::move(got).error();
  for (const Reply& r : *got)
    if (is_error(r.get())) return reply_error(r.get(), "read the heads of the audit chains");
  auto chained = chain_audit(records, [&](std::string_view ci) -> core::Result<AuditLink> {
    const auto at = static_cast<std::size_t>(std::find(cis.begin(), cis.end(), ci) - cis.begin());
    const redisReply* held = (*got)[1 + at].get();
    if (held->type == REDIS_REPLY_NIL) return AuditLink{};
    const std::string text = reply_text(held);
    const auto space = text.find(' ');
    if (space == std::string::npos)
      return core::make_error(StoreErrc::corrupt, "audit chain head of " + std::string(ci) + " unreadable");
    return AuditLink{std::strtoll(text.c_str(), nullptr, 10), text.substr(space + 1)};
  });
  if (!chained) return chained;
  std::map<std::string, AuditLink> new_heads;
  for (AuditRecord& r : records) {
    new_heads[r.ci_id] = {r.seq, r.hash};
    r.id = core::random_hex(8);
    const std::string member = audit_member(r);
    tx.push_back({"ZADD", b.key("audit"), i64(r.time_ms), member});
    tx.push_back({"ZADD", b.key("audit:ci", r.ci_id), i64(r.time_ms), member});
    if (r.alert) {
      tx.push_back({"HSET", b.key("audit:alert", r.ci_id), r.key, i64(r.time_ms)});
      tx.push_back({"ZADD", b.key("audit:alerts"), i64(r.time_ms), member});
    }
  }
  for (const auto& [ci, link] : new_heads) {
    tx.push_back({"SET", b.key("audit:head", ci), i64(link.seq) + " " + link.hash});
    tx.push_back({"SADD", b.key("audit:chains"), ci});
  }
  return {};
}

std::string series_member(const SeriesKey& k) { return k.metric + kSep + labels_to_json(k.attributes); }

std::string series_id(const SeriesKey& k) { return series_id(k.ci_id, series_member(k)); }

std::string series_id(std::string_view ci_id, std::string_view member) {
  std::string out;
  out.reserve(ci_id.size() + 1 + member.size());
  return out.append(ci_id).append(1, kSep).append(member);
}

SeriesKeys keys_of(const Backend& b, std::string_view sid) {
  const std::string_view ci = sid.substr(0, sid.find(kSep));
  return {b.ci_key("samples", ci, sid), b.ci_key("chunks", ci, sid), b.ci_key("rollups", ci, sid),
          b.ci_key("chunkend", ci, sid), b.ci_key("rollpend", ci, sid)};
}

core::Status Backend::resolve_layout() {
  if (shards == nullptr || layout_.load(std::memory_order_acquire) != kUnknown) return {};
  // A store that holds series already keeps them where they are.
  static const std::string kDecide =
      "local v = redis.call('GET', KEYS[1]) if v then return v end "
      "if redis.call('EXISTS', KEYS[2]) == 1 then v = 'one-slot' else v = 'spread' end "
      "redis.call('SET', KEYS[1], v) return v";
  auto r = pool.with([&](Connection& c) { return c.command({"EVAL", kDecide, "2", key("layout"), key("allseries")}); });
  if (!r) return std::move(r).error();
  const std::string v = reply_text(r->get());
  if (is_error(r->get()) || (v != "spread" && v != "one-slot"))
    return reply_error(r->get(), "read the store's layout (" + key("layout") + ")");
  layout_.store(v == "spread" ? kSpread : kOneSlot, std::memory_order_release);
  return {};
}

std::optional<HeadEntry> parse_head_entry(std::string_view bytes) {
  auto placed = codec::split_placed_batch(bytes);
  if (!placed) return std::nullopt;
  return HeadEntry{placed->sequence, placed->min_ms, placed->max_ms, bytes, std::move(placed->entries)};
}

std::string head_number_field(std::string_view member) { return '#' + std::string(member); }

std::string head_newest_field(std::string_view member) { return '@' + std::string(member); }

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

namespace {
// Hours a day block can hold: a day clear of the ends of 64-bit time.
bool in_day_range(std::int64_t t) { return t > INT64_MIN + codec::kDayMs && t < INT64_MAX - codec::kDayMs; }
}  // namespace

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
  // On the hour, and a day clear of the ends of time (days are computed from it).
  if (r.start_ms % kRollupMs != 0 || !in_day_range(r.start_ms)) return std::nullopt;
  return r;
}

core::Status read_rollup_members(const redisReply* r, std::int64_t from_ms, std::int64_t to_ms,
                                 std::map<std::int64_t, Rollup>& hours) {
  for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
    const std::string m = reply_text(r->element[i]);
    std::vector<Rollup> held;
    if (!m.empty() && m.front() == codec::kRollupDayMagic) {
      auto day = codec::decode_rollup_day(m);
      if (!day) return core::make_error(StoreErrc::corrupt, "bad rollup day block: " + day.error().describe());
      held = std::move(*day);
    } else if (auto one = parse_rollup_member(m)) {  // an hour a member, as stores before day blocks wrote them
      held.push_back(*one);
    } else {
      return core::make_error(StoreErrc::corrupt, "bad rollup entry");
    }
    for (const Rollup& h : held) {
      if (h.start_ms < from_ms || h.start_ms >= to_ms) continue;
      if (!hours.emplace(h.start_ms, h).second)
        return core::make_error(StoreErrc::corrupt, "rollup hour " + i64(h.start_ms) + " stored twice");
    }
  }
  return {};
}

std::string rollup_day_score(std::int64_t t) {
  return t <= INT64_MIN + codec::kDayMs ? "-inf" : i64(floor_to(t, codec::kDayMs));
}

std::pair<std::int64_t, std::int64_t> rollup_days_span(std::int64_t first_ms, std::int64_t last_ms) {
  return {in_day_range(first_ms) ? floor_to(first_ms, codec::kDayMs) : INT64_MIN,
          in_day_range(last_ms) ? floor_to(last_ms, codec::kDayMs) + (codec::kDayMs - 1) : INT64_MAX};
}

void write_rollup_days(const std::string& key, const std::map<std::int64_t, Rollup>& hours,
                       const std::set<std::int64_t>& touched, std::vector<Argv>& tx) {
  std::set<std::int64_t> days;
  // (Samples hundreds of millions of years from 1970 have no rollups.)
  for (std::int64_t h : touched)
    if (in_day_range(h)) days.insert(floor_to(h, codec::kDayMs));
  for (std::int64_t day : days) {
    std::vector<Rollup> of_day;
    for (auto it = hours.lower_bound(day); it != hours.end() && it->first < day + codec::kDayMs; ++it)
      of_day.push_back(it->second);
    // The day's block, and any hour members of older stores in it, go.
    tx.push_back({"ZREMRANGEBYSCORE", key, i64(day), i64(day + codec::kDayMs - 1)});
    if (!of_day.empty()) tx.push_back({"ZADD", key, i64(day), codec::encode_rollup_day(of_day)});
  }
}

std::size_t rollup_hours_in(const redisReply* r) {
  std::size_t n = 0;
  for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
    const std::string m = reply_text(r->element[i]);
    if (!m.empty() && m.front() == codec::kRollupDayMagic)
      if (auto day = codec::decode_rollup_day(m)) {
        n += day->size();
        continue;
      }
    ++n;
  }
  return n;
}

core::Result<std::vector<Rollup>> fold_pending(const redisReply* rollups, const redisReply* pending,
                                               std::int64_t from_ms, std::int64_t to_ms) {
  std::map<std::int64_t, Rollup> hours;
  if (auto st = read_rollup_members(rollups, from_ms, to_ms, hours); !st) return std::move(st).error();
  for (std::size_t i = 0; pending->type == REDIS_REPLY_ARRAY && i < pending->elements; ++i) {
    auto r = parse_rollup_member(reply_text(pending->element[i]));
    if (!r) return core::make_error(StoreErrc::corrupt, "bad pending rollup entry");
    if (r->start_ms < from_ms || r->start_ms >= to_ms) continue;
    auto [it, fresh] = hours.try_emplace(r->start_ms, *r);
    if (!fresh) fold_rollup(it->second, *r);
  }
  std::vector<Rollup> out;
  out.reserve(hours.size());
  for (auto& [hour, r] : hours) out.push_back(r);
  return out;
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

// An inventory section is one field of the CI's inventory hash
// ("inventory:CI"), a JSON record; "inventory-digests:CI" holds the same
// records without their data, for reports that need only the digests.
std::string section_record(const InventorySection& s) {
  boost::json::object o{{"state", s.state}, {"reason", s.reason}, {"digest", s.digest},
                        {"data", s.data_json}, {"updated_ms", s.updated_ms}};
  return boost::json::serialize(o);
}

namespace {

// Reads one inventory record into a section as it is parsed, without
// building a JSON value: the strings state, reason, digest and data and the
// integer updated_ms of the top-level object. Members of other names or
// types are skipped (a section keeps "" or 0 for them), nested ones too.
struct RecordReader {
  static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();
  using error_code = boost::system::error_code;
  using string_view = boost::json::string_view;

  InventorySection* out = nullptr;
  int depth = 0;         // 1: the record's own members
  bool object = false;   // the record is an object
  std::string key, text; // the member being read, its string's parts

  // The field the member being read fills, if it is one and a string.
  std::string* text_field() {
    if (depth != 1) return nullptr;
    if (key == "state") return &out->state;
    if (key == "reason") return &out->reason;
    if (key == "digest") return &out->digest;
    if (key == "data") return &out->data_json;
    return nullptr;
  }
  bool value_done() {  // a value ends: at the top level, its member too
    if (depth == 1) key.clear();
    return true;
  }
  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    if (depth == 0) object = true;
    ++depth;
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    --depth;
    return value_done();
  }
  bool on_array_begin(error_code&) {
    ++depth;
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    --depth;
    return value_done();
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    if (depth == 1) key.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code& ec) { return on_key_part(s, 0, ec); }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    if (text_field() != nullptr) text.append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    if (std::string* field = text_field()) {
      text.append(s.data(), s.size());
      field->swap(text);
      text.clear();
    }
    return value_done();
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, string_view, error_code&) {
    if (depth == 1 && key == "updated_ms") out->updated_ms = i;
    return value_done();
  }
  bool on_uint64(std::uint64_t, string_view, error_code&) { return value_done(); }
  bool on_double(double, string_view, error_code&) { return value_done(); }
  bool on_bool(bool, error_code&) { return value_done(); }
  bool on_null(error_code&) { return value_done(); }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }
};

}  // namespace

core::Result<std::vector<InventorySection>> inventory_from_hash(const redisReply* r) {
  if (is_error(r)) return reply_error(r, "read inventory");
  std::vector<InventorySection> out;
  boost::json::basic_parser<RecordReader> parser{boost::json::parse_options{}};
  for (auto& [name, record] : hash_of(r)) {
    InventorySection& s = out.emplace_back();
    s.name = name;
    parser.reset();
    RecordReader& reader = parser.handler();
    reader = RecordReader{};
    reader.out = &s;
    boost::system::error_code ec;
    const std::size_t used = parser.write_some(false, record.data(), record.size(), ec);
    if (ec || used != record.size() || !reader.object)
      return core::make_error(StoreErrc::corrupt, "inventory section " + name + " unreadable");
  }
  return out;  // hash_of is a std::map: sorted by name
}

}  // namespace surveyor::collector::redis
