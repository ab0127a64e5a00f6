// SPDX-License-Identifier: Apache-2.0
// What the Redis stores share: the backend (the connection pool and the key
// layout), the record helpers of records.cpp, and a factory per store.
//
// Design: every key starts with "<prefix>:" (on a Redis Cluster "{<prefix>}:",
// one hash slot, so every transaction below works there as on one server;
// the keys of each host, its agent's and its series, may be in a slot of
// their own: ci_key, host_key). A report is applied with
// optimistic locking: WATCH the agent's sequence set, the agent and the CIs
// it touches, read them, then MULTI/EXEC all writes at once; if another
// collector changed a watched key, EXEC returns nil and the whole step is
// retried (optimistic() in redis_conn.hpp). On a spread cluster store the
// host's keys and the store's are WATCHed and written apart, each on its
// master (host_reports.cpp). Sample members encode time and
// the value's exact bits, so a replay adds nothing.
//
// Series: the samples of each report are appended, per CI, to the CI's head
// ("headlog:CI", a sorted set scored by the entry's newest time): one
// entry per report and CI, a codec placed batch (its number in the CI, the
// span of its samples, and the new samples under each series' number). "hmeta:CI" (a hash) holds
// the CI's last entry number ("seq"), how many series numbers it gave out
// ("n"), and per series (by its member) its number ("#MEMBER") and the
// newest time it holds, head or chunks ("@MEMBER"). A report WATCHes
// hmeta:CI: a sample after @MEMBER is new and needs no other read; an older
// one is looked up in the head and the chunk of its block. Per series,
// compressed chunks (a sorted set scored by block start), hourly rollups
// (a sorted set of a block per UTC day, codec::encode_rollup_day, scored by
// the day's start; stores before them wrote a member per hour,
// hour:count:sum:min:max with %.17g, still read) and "chunkend", the end
// of its newest chunk. Maintenance compacts a CI's
// head entries whose samples all lie in closed blocks into the chunks and
// adds their rollups; reads fold the head's rollups in, entry by entry in
// the order they were written, as the SQLite store folds its head rows.
// Stores written before the per-CI head keep, per series, a head of their
// own ("samples", member time:bits) and a list of figures not yet folded
// into the rollups ("rollpend"): both are still read, and maintenance
// empties them. Durability is Redis's: with appendonly yes and appendfsync
// always a reply means the write is on disk (health.cpp reads and reports
// the settings).
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "redis_conn.hpp"
#include "surveyor/codec/chunk.hpp"
#include "surveyor/collector/redis/redis_stores.hpp"
#include "surveyor/collector/store/bound.hpp"
#include "surveyor/collector/store/denominators.hpp"
#include "surveyor/collector/store/stores.hpp"
#include "surveyor/core/crypto.hpp"

namespace surveyor::collector::redis {

namespace json = boost::json;

inline constexpr char kSep = '\x1f';

struct Backend {
  Backend(const RedisOptions& o, std::shared_ptr<TlsTunnel> tunnel)
      : options(o),
        base(o.cluster_nodes.empty() ? o.prefix : "{" + o.prefix + "}"),
        pool(locator_of(o, base), o.timeout, o.max_connections, o.user, o.password, std::move(tunnel)),
        shards(o.cluster_nodes.empty() ? nullptr
                                       : std::make_unique<Shards>(Locator::cluster(o.cluster_nodes, base), o.timeout,
                                                                  o.max_connections, o.user, o.password)) {}
  RedisOptions options;
  // What the store's own keys start with: the prefix, or on a cluster its
  // hash tag, which puts them in the one slot of the prefix.
  std::string base;
  Pool pool;
  // On a cluster: the masters of the CIs' own slots (see ci_key).
  std::unique_ptr<Shards> shards;
  // A series' id hashed -> what the codec learned of its values (a clash
  // costs one check: hints are verified).
  store::DenominatorHints denominators;

  static Locator locator_of(const RedisOptions& o, const std::string& base) {
    if (!o.cluster_nodes.empty()) return Locator::cluster(o.cluster_nodes, base);
    if (!o.sentinels.empty()) return Locator(o.sentinels, o.sentinel_master);
    return Locator(RedisAddress{o.host, o.port});
  }

  [[nodiscard]] std::string key(std::string_view kind, std::string_view id = {}) const {
    std::string k = base + ":" + std::string(kind);
    if (!id.empty()) k += ":" + std::string(id);
    return k;
  }

  // Where the series of each CI are kept. On one Redis (or Sentinel), and
  // on a cluster store whose series were written before they spread, with
  // everything else. On a cluster otherwise, in a hash slot of the CI's
  // own: its series index, units, head and the chunks and rollups of its
  // series are "{PREFIX:CI}:…", so a fleet's samples spread over every
  // master. A cluster store says which in "{PREFIX}:layout", decided by
  // the first collector to use it. Every use of ci_key() and with_ci()
  // follows a call of resolve_layout().
  core::Status resolve_layout();
  [[nodiscard]] bool spread() const { return layout_.load(std::memory_order_acquire) == kSpread; }
  // A key of CI `ci`'s series: `id` is the series id for a series' keys,
  // empty for the CI's own (its index, units, head).
  [[nodiscard]] std::string ci_key(std::string_view kind, std::string_view ci, std::string_view id = {}) const {
    if (!spread()) return key(kind, id.empty() ? ci : id);
    std::string k = "{" + options.prefix + ":" + std::string(ci) + "}:" + std::string(kind);
    if (!id.empty()) k += ":" + std::string(id);
    return k;
  }
  // Runs f(Connection&) on a connection that serves CI `ci`'s series keys.
  template <class F>
  auto with_ci(std::string_view ci, F&& f) -> decltype(f(std::declval<Connection&>())) {
    if (spread()) return shards->with(ci_key("head", ci), std::forward<F>(f));
    return pool.with(std::forward<F>(f));
  }
  // A key of the host whose CI is `ci`, beside its series: its agent's
  // record, window and (before the window) set of sequences ("agent",
  // "window", "seen", with the agent's id), the time the agent last saw
  // its CI ("sighted") and its inventory's digests. On a spread store all
  // in the slot of "{PREFIX:CI}", so that a report is one transaction on
  // one master; otherwise, or for an agent without a CI, with everything
  // else, as key() names them.
  [[nodiscard]] std::string host_key(std::string_view kind, std::string_view ci, std::string_view id = {}) const {
    if (!spread() || ci.empty()) return key(kind, id.empty() ? ci : id);
    return ci_key(kind, ci, id);
  }
  // Runs f(Connection&) on a connection that serves host_key(..., ci, ...).
  template <class F>
  auto with_host(std::string_view ci, F&& f) -> decltype(f(std::declval<Connection&>())) {
    if (spread() && !ci.empty()) return shards->with(ci_key("head", ci), std::forward<F>(f));
    return pool.with(std::forward<F>(f));
  }

 private:
  enum Layout : int { kUnknown, kOneSlot, kSpread };
  std::atomic<int> layout_{kUnknown};
};

using namespace store;  // every domain file here implements store interfaces

// The base of each domain's store class: Bound<AgentStore>, ...
template <class Interface>
using Bound = store::Bound<Interface, Backend>;

inline std::string i64(std::int64_t v) { return std::to_string(v); }

// A series' keys: its own raw head and list of figures not folded yet (of
// stores written before the per-CI head), chunks, rollups, and the end of
// its newest chunk.
struct SeriesKeys {
  std::string head, chunks, rollups, chunkend, pending;
};

// One entry of a CI's head (a codec placed batch), parsed: views into the
// reply that holds it.
struct HeadEntry {
  std::uint64_t seq = 0;  // written in this order
  std::int64_t min_ms = 0, max_ms = 0;
  std::string_view bytes;                 // the whole member (ZREM takes it)
  std::vector<codec::BatchEntry> series;  // chunks by series number
};
// An entry read back from the store: nullopt when its framing is damaged.
std::optional<HeadEntry> parse_head_entry(std::string_view bytes);
// The series of a CI: its member (metric and labels), as the hmeta fields name it.
std::string head_number_field(std::string_view member);  // "#MEMBER"
std::string head_newest_field(std::string_view member);  // "@MEMBER"

// The rollups of `key` (its rollups and pending lists) over [from_ms,
// to_ms): each pending entry folded, in the order it was pushed, into the
// hour it names. Entries that do not parse are a `corrupt` error.
core::Result<std::vector<store::Rollup>> fold_pending(const redisReply* rollups, const redisReply* pending,
                                                      std::int64_t from_ms, std::int64_t to_ms);

std::map<std::string, std::string> hash_of(const redisReply* r);
std::int64_t field_int(const std::map<std::string, std::string>& h, const std::string& k);
std::string field(const std::map<std::string, std::string>& h, const std::string& k);
core::Result<std::optional<store::Ci>> ci_from_hash(std::string_view id, const redisReply* r);
// The host CI an agent's keys are with on a spread store, as the index
// "{PREFIX}:agent-ci" says ("": none there, so in the store's own slot).
core::Result<std::string> indexed_host(Backend& b, std::string_view agent);
// On a spread store, each CI's last_seen_ms made the later of its hash's
// and the time its agent last saw it (host_key "sighted", written by
// reports on the host's slot: host_reports.cpp), read grouped by master.
core::Status add_sightings(Backend& b, std::vector<store::Ci*> cis);
std::string index_member(const store::Ci& c);
void write_ci(const Backend& b, const std::optional<store::Ci>& old, const store::Ci& c, std::vector<Argv>& out);
std::string audit_member(const store::AuditRecord& r);
core::Result<store::AuditRecord> audit_from_member(std::string_view m);
core::Result<std::vector<store::ChangeRecord>> load_changes(Connection& c, const Backend& b,
                                                    const std::vector<std::string>& ids);
std::vector<std::string> member_list(const redisReply* r);
core::Status add_audit(Connection& c, const Backend& b, std::vector<store::AuditRecord> records, std::vector<Argv>& tx);
std::string series_member(const store::SeriesKey& k);
std::string series_id(const store::SeriesKey& k);
std::string series_id(std::string_view ci_id, std::string_view member);  // member: series_member(k)
SeriesKeys keys_of(const Backend& b, std::string_view sid);
std::string number_text(double v);
core::Result<std::vector<store::Sample>> decode_stored(const std::string& bytes, std::string_view sid);
// Rollups. A series' rollups:SID holds a block per UTC day (codec::
// encode_rollup_day), scored by the day's start; stores before them wrote
// a member per hour ("hour:count:sum:min:max", scored by the hour), still
// read, and replaced by their day's block when it is next written.
std::optional<store::Rollup> parse_rollup_member(const std::string& m);  // an hour member
// The hours in [from_ms, to_ms) held in a reply of rollups:SID members,
// into `hours`; a member that does not parse, or an hour held twice, is
// `corrupt`.
core::Status read_rollup_members(const redisReply* r, std::int64_t from_ms, std::int64_t to_ms,
                                 std::map<std::int64_t, store::Rollup>& hours);
// The scores to read so that the days of [first_ms, last_ms] come whole
// (hours of stored rollups: a day clear of the ends of time).
std::pair<std::int64_t, std::int64_t> rollup_days_span(std::int64_t first_ms, std::int64_t last_ms);
// The score from which a read of the rollups from `t` on starts: its day's.
std::string rollup_day_score(std::int64_t t);
// The writes that store, for each day holding an hour of `touched`, that
// day's hours of `hours` (which must hold all of the day's) as its block.
void write_rollup_days(const std::string& key, const std::map<std::int64_t, store::Rollup>& hours,
                       const std::set<std::int64_t>& touched, std::vector<Argv>& tx);
// How many hours the members in `r` hold (a member that does not parse: one).
std::size_t rollup_hours_in(const redisReply* r);
std::string sample_member(const store::Sample& s);
std::optional<store::Sample> parse_sample_member(const std::string& m);
std::string section_record(const store::InventorySection& s);

// Relationships (relations.cpp): those from or to a CI, and the writes of one
// added or removed, for a MULTI the caller runs (they bump rel:lock:FROM,
// which writers WATCH). A report follows its host's components with them:
// read_components WATCHes and reads what the plan needs inside the report's
// optimistic attempt, write_components adds its writes and audit entries.
core::Result<std::vector<store::Relationship>> relationships_on(Connection& c, const Backend& b, std::string_view ci_id);
void relationship_writes(const Backend& b, const store::Relationship& r, bool add, std::vector<Argv>& tx);
struct ComponentReads {
  store::ComponentPlan plan;
  std::vector<std::optional<store::Ci>> removed_cis;  // as held, one per plan.remove
};
core::Result<ComponentReads> read_components(Connection& c, const Backend& b, std::string_view host_ci,
                                             const store::ComponentKinds& kinds, std::int64_t now_ms);
void write_components(const Backend& b, const ComponentReads& reads, std::int64_t now_ms, std::vector<Argv>& tx,
                      std::vector<store::AuditRecord>& audit);
core::Result<std::vector<store::InventorySection>> inventory_from_hash(const redisReply* r);

// One factory per store, each in its domain's file.
SURVEYOR_STORE_FACTORIES(Backend);

}  // namespace surveyor::collector::redis
