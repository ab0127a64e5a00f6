// SPDX-License-Identifier: Apache-2.0
// hiredis connections and their pool: pipelined argv commands, WATCH tracked so no connection
// goes back to the pool still watching, and reply helpers.
#include "redis_conn.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <random>
#include <thread>

#include <unistd.h>

#include <boost/crc.hpp>

#include "surveyor/collector/store/errors.hpp"

namespace surveyor::collector::redis {

using store::StoreErrc;

namespace {

timeval to_timeval(std::chrono::milliseconds t) {
  return timeval{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>((t.count() % 1000) * 1000)};
}

}  // namespace

Connection::~Connection() {
  if (c_) redisFree(c_);
}

core::Result<std::unique_ptr<Connection>> Connection::open(const std::string& host, std::uint16_t port,
                                                           std::chrono::milliseconds timeout, const std::string& user,
                                                           const std::string& password, TlsTunnel* tunnel) {
  redisContext* c = nullptr;
  if (tunnel != nullptr) {
    auto fd = tunnel->open(host, port, timeout);  // TCP keep-alive is set on the TLS side
    if (!fd) return std::move(fd).error();
    c = redisConnectFd(*fd);
    if (c == nullptr) ::close(*fd);
  } else {
    c = redisConnectWithTimeout(host.c_str(), port, to_timeval(timeout));
  }
  if (c == nullptr) return core::make_error(StoreErrc::unavailable, "redis: out of memory");
  std::unique_ptr<Connection> conn(new Connection(c));
  if (c->err)
    return core::make_error(StoreErrc::unavailable,
                            "redis " + host + ":" + std::to_string(port) + ": " + c->errstr);
  redisSetTimeout(c, to_timeval(timeout));
  if (tunnel == nullptr) redisEnableKeepAlive(c);
  if (!password.empty()) {
    Argv auth{"AUTH"};
    if (!user.empty()) auth.push_back(user);
    auth.push_back(password);
    auto r = conn->command(auth);
    if (!r) return std::move(r).error();
    if (is_error(r->get()))
      return core::make_error(StoreErrc::unavailable, "redis " + host + ":" + std::to_string(port) +
                                                          ": authentication failed: " + reply_text(r->get()));
  }
  return conn;
}

core::Result<std::vector<Reply>> Connection::pipeline(const std::vector<Argv>& commands) {
  ++round_trips_;
  // The whole pipeline in one buffer, in the protocol's own form (RESP:
  // *argc, then $len and the bytes of each argument), handed to hiredis at
  // once: formatting each command apart cost an allocation for each, and
  // the output buffer grew by as many copies.
  std::size_t size = 0;
  for (const Argv& cmd : commands) {
    size += 16;
    for (const std::string& a : cmd) size += a.size() + 24;
  }
  std::string out_buf;
  out_buf.reserve(size);
  const auto append_count = [&](char kind, std::size_t n) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, n);
    out_buf.push_back(kind);
    out_buf.append(digits, r.ptr);
    out_buf.append("\r\n", 2);
  };
  for (const Argv& cmd : commands) {
    append_count('*', cmd.size());
    for (const std::string& a : cmd) {
      append_count('$', a.size());
      out_buf.append(a);
      out_buf.append("\r\n", 2);
    }
    track(cmd);
  }
  if (redisAppendFormattedCommand(c_, out_buf.data(), out_buf.size()) != REDIS_OK)
    return core::make_error(StoreErrc::unavailable, std::string("redis: ") + c_->errstr);
  std::vector<Reply> out;
  out.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c_, &raw) != REDIS_OK || raw == nullptr)
      return core::make_error(StoreErrc::unavailable, std::string("redis: ") + (c_->err ? c_->errstr : "no reply"));
    out.emplace_back(static_cast<redisReply*>(raw));
    note_misdirected(out.back().get());
  }
  return out;
}

namespace {

// An error reply that says the command went to the wrong server: a replica
// now (READONLY: a failover demoted it), or a cluster node that no longer
// serves the key's hash slot (MOVED, ASK), or a slot being moved or a
// cluster that cannot serve it yet (TRYAGAIN, CLUSTERDOWN).
bool misdirected(const redisReply* r) {
  if (r == nullptr || r->type != REDIS_REPLY_ERROR) return false;
  const std::string_view text(r->str, r->len);
  for (std::string_view code : {"READONLY", "MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN"})
    if (text.starts_with(code)) return true;
  return false;
}

}  // namespace

void Connection::note_misdirected(const redisReply* r) {
  if (r == nullptr) return;
  if (misdirected(r)) stale_ = true;
  if (r->type == REDIS_REPLY_ARRAY)  // EXEC's replies
    for (std::size_t i = 0; i < r->elements; ++i)
      if (r->element[i]->type == REDIS_REPLY_ERROR) note_misdirected(r->element[i]);
}

void Connection::track(const Argv& cmd) {
  if (cmd.empty()) return;
  const auto is = [&](std::string_view name) {
    return std::ranges::equal(cmd[0], name, [](char a, char b) {
      return std::toupper(static_cast<unsigned char>(a)) == static_cast<unsigned char>(b);
    });
  };
  if (is("WATCH")) watching_ = true;
  else if (is("EXEC") || is("DISCARD") || is("UNWATCH")) watching_ = false;
}

WatchScope::~WatchScope() {
  if (!c_.watching() || c_.broken()) return;
  try {
    (void)c_.command({"UNWATCH"});
  } catch (...) {  // bad_alloc: the pool drops a connection left watching
  }
}

void back_off(int attempt) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  const int cap = 100 << std::min(attempt, 6);  // microseconds
  std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, cap)(rng)));
}

core::Result<Reply> Connection::command(const Argv& argv) {
  auto r = pipeline({argv});
  if (!r) return std::move(r).error();
  return std::move((*r)[0]);
}

Locator Locator::cluster(std::vector<RedisAddress> nodes, std::string slot_key) {
  Locator l;
  l.named_ = nodes;
  l.asked_ = std::move(nodes);
  l.slot_key_ = std::move(slot_key);
  return l;
}

Locator::Locator(const Locator& o) : fixed_(o.fixed_), named_(o.named_), master_(o.master_), slot_key_(o.slot_key_) {
  std::lock_guard lock(o.mu_);
  asked_ = o.asked_;
}

namespace {

std::string address_text(const RedisAddress& a) { return a.host + ":" + std::to_string(a.port); }

bool same(const RedisAddress& a, const RedisAddress& b) { return a.host == b.host && a.port == b.port; }

// An address in a reply of SENTINEL get-master-addr-by-name or CLUSTER
// SLOTS: [host, port, ...]; an empty or "?" host is the node asked's.
std::optional<RedisAddress> address_in(const redisReply* a, const RedisAddress& asked) {
  if (a == nullptr || a->type != REDIS_REPLY_ARRAY || a->elements < 2) return std::nullopt;
  const std::optional<std::int64_t> port = reply_int(a->element[1]);
  if (!port || *port <= 0 || *port > 65535) return std::nullopt;
  std::string host = reply_text(a->element[0]);
  if (host.empty() || host == "?") host = asked.host;
  return RedisAddress{std::move(host), static_cast<std::uint16_t>(*port)};
}

}  // namespace

std::string Locator::describe() const {
  if (!via_sentinel() && !via_cluster()) return "redis://" + address_text(fixed_);
  std::string out = via_sentinel() ? "redis-sentinel://" : "redis-cluster://";
  for (std::size_t i = 0; i < named_.size(); ++i) out += (i ? "," : "") + address_text(named_[i]);
  return via_sentinel() ? out + "/" + master_ : out;
}

core::Result<RedisAddress> Locator::ask_sentinel(Connection& c) {
  auto r = c.command({"SENTINEL", "get-master-addr-by-name", master_});
  if (!r) return std::move(r).error();
  const redisReply* a = r->get();
  if (auto at = address_in(a, {}); at && !at->host.empty()) return *at;
  return core::make_error(StoreErrc::unavailable, a->type == REDIS_REPLY_NIL ? "does not know the master " + master_
                                                                             : "answered: " + reply_text(a));
}

// The slots CLUSTER SLOTS names, with their masters; every node it names
// joins those asked.
core::Result<std::vector<SlotRange>> Locator::ask_slots(Connection& c, const RedisAddress& asked) {
  auto r = c.command({"CLUSTER", "SLOTS"});
  if (!r) return std::move(r).error();
  const redisReply* ranges = r->get();
  if (ranges->type != REDIS_REPLY_ARRAY)
    return core::make_error(StoreErrc::unavailable, "answered: " + reply_text(ranges) + " (is it a node of a Redis Cluster?)");
  std::vector<SlotRange> out;
  std::vector<RedisAddress> learned;
  for (std::size_t i = 0; i < ranges->elements; ++i) {
    const redisReply* range = ranges->element[i];
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) continue;
    for (std::size_t n = 2; n < range->elements; ++n)
      if (auto node = address_in(range->element[n], asked)) learned.push_back(*node);
    const auto from = reply_int(range->element[0]), to = reply_int(range->element[1]);
    auto master = address_in(range->element[2], asked);
    if (from && to && master && 0 <= *from && *from <= *to && *to < 16384)
      out.push_back({static_cast<std::uint16_t>(*from), static_cast<std::uint16_t>(*to), std::move(*master)});
  }
  std::lock_guard lock(mu_);
  for (const RedisAddress& n : learned)
    if (std::none_of(asked_.begin(), asked_.end(), [&](const RedisAddress& x) { return same(x, n); }))
      asked_.push_back(n);
  return out;
}

// The master CLUSTER SLOTS names for the slot of slot_key_ (key_slot()).
core::Result<RedisAddress> Locator::ask_cluster(Connection& c, const RedisAddress& asked) {
  const std::uint16_t slot = key_slot(slot_key_);
  auto ranges = ask_slots(c, asked);
  if (!ranges) return std::move(ranges).error();
  for (const SlotRange& x : *ranges)
    if (x.from <= slot && slot <= x.to) return x.master;
  return core::make_error(StoreErrc::unavailable,
                          "knows no master for hash slot " + std::to_string(slot) + " (cluster_state not ok?)");
}

template <class T, class F>
core::Result<T> Locator::in_turn(std::chrono::milliseconds timeout, const std::string& user,
                                 const std::string& password, std::string_view whom, F&& ask) {
  std::vector<RedisAddress> order;
  {
    std::lock_guard lock(mu_);
    order = asked_;
  }
  const char* kind = via_sentinel() ? "sentinel " : "cluster node ";
  std::string why;
  for (const RedisAddress& s : order) {
    const std::string at = kind + address_text(s);
    auto c = via_sentinel() ? Connection::open(s.host, s.port, timeout, {}, {})
                            : Connection::open(s.host, s.port, timeout, user, password);
    core::Result<T> found = c ? ask(**c, s) : core::Result<T>(std::move(c).error());
    if (!found) {
      why += "; " + at + ": " + found.error().message;
      continue;
    }
    std::lock_guard lock(mu_);  // the one that answered is asked first next time
    auto it = std::find_if(asked_.begin(), asked_.end(), [&](const RedisAddress& x) { return same(x, s); });
    if (it != asked_.end()) std::rotate(asked_.begin(), it, it + 1);
    return found;
  }
  return core::make_error(StoreErrc::unavailable, std::string(whom) + (why.empty() ? "" : why.substr(1)));
}

core::Result<RedisAddress> Locator::locate(std::chrono::milliseconds timeout, const std::string& user,
                                           const std::string& password) {
  if (!via_sentinel() && !via_cluster()) return fixed_;
  const std::string whom = via_sentinel() ? "no sentinel named the master " + master_
                                          : "no cluster node named the master of " + slot_key_ + "'s hash slot";
  return in_turn<RedisAddress>(timeout, user, password, whom, [&](Connection& c, const RedisAddress& s) {
    return via_sentinel() ? ask_sentinel(c) : ask_cluster(c, s);
  });
}

core::Result<std::vector<SlotRange>> Locator::slots(std::chrono::milliseconds timeout, const std::string& user,
                                                    const std::string& password) {
  return in_turn<std::vector<SlotRange>>(timeout, user, password, "no cluster node named the masters of its slots",
                                         [&](Connection& c, const RedisAddress& s) { return ask_slots(c, s); });
}

Pool::Pool(Locator locator, std::chrono::milliseconds timeout, std::size_t max, std::string user,
           std::string password, std::shared_ptr<TlsTunnel> tunnel)
    : tunnel_(std::move(tunnel)),
      locator_(std::move(locator)),
      user_(std::move(user)),
      password_(std::move(password)),
      timeout_(timeout),
      max_(max == 0 ? 1 : max) {}

Pool::~Pool() = default;

core::Result<std::unique_ptr<Connection>> Pool::acquire() {
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++open_;
  }
  auto c = open_master();
  if (!c) {
    std::lock_guard lock(mu_);
    --open_;
    cv_.notify_one();
  }
  return c;
}

core::Result<std::unique_ptr<Connection>> Pool::open_master() {
  auto where = locator_.locate(timeout_, user_, password_);
  if (!where) return std::move(where).error();
  auto c = Connection::open(where->host, where->port, timeout_, user_, password_, tunnel_.get());
  if (!c || (!locator_.via_sentinel() && !locator_.via_cluster())) return c;
  // Sentinel, or a cluster node, may still name a master not yet seen demoted.
  auto role = (*c)->command({"ROLE"});
  if (!role) return std::move(role).error();
  const redisReply* r = role->get();
  if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 || reply_text(r->element[0]) != "master")
    return core::make_error(StoreErrc::unavailable, "redis " + where->host + ":" + std::to_string(where->port) +
                                                        " is not a master yet (failover under way?)");
  return c;
}

void Pool::release(std::unique_ptr<Connection> c, bool discard) noexcept {
  if (!discard && c->watching() && !c->broken()) {
    try {
      (void)c->command({"UNWATCH"});
    } catch (...) {
      discard = true;
    }
  }
  if (discard || c->broken() || c->watching()) c.reset();
  std::lock_guard lock(mu_);
  if (c) idle_.push_back(std::move(c));
  else --open_;
  cv_.notify_one();
}

std::uint16_t key_slot(std::string_view key) {
  if (const auto open = key.find('{'); open != std::string_view::npos)
    if (const auto close = key.find('}', open + 1); close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  boost::crc_optimal<16, 0x1021, 0, 0, false, false> crc;  // CRC-16/XMODEM, as Redis computes it
  crc.process_bytes(key.data(), key.size());
  return static_cast<std::uint16_t>(crc.checksum() % 16384);
}

Shards::Shards(Locator nodes, std::chrono::milliseconds timeout, std::size_t max_per_master, std::string user,
               std::string password)
    : nodes_(std::move(nodes)), timeout_(timeout), max_(max_per_master), user_(std::move(user)),
      password_(std::move(password)) {}

Shards::~Shards() = default;

core::Result<Pool*> Shards::pool_for(std::uint16_t slot) {
  std::unique_lock lock(mu_);
  if (ranges_.empty()) {
    lock.unlock();  // not held while the nodes are asked
    auto ranges = nodes_.slots(timeout_, user_, password_);
    if (!ranges) return std::move(ranges).error();
    lock.lock();
    ranges_ = std::move(*ranges);
  }
  const auto range = std::find_if(ranges_.begin(), ranges_.end(),
                                  [&](const SlotRange& r) { return r.from <= slot && slot <= r.to; });
  if (range == ranges_.end()) {
    ranges_.clear();
    return core::make_error(StoreErrc::unavailable,
                            "no master serves hash slot " + std::to_string(slot) + " (cluster_state not ok?)");
  }
  return pool_at(range->master);
}

Pool* Shards::pool_at(const RedisAddress& master) {
  const std::string at = address_text(master);
  for (auto& [address, pool] : pools_)
    if (address == at) return pool.get();
  pools_.emplace_back(at, std::make_unique<Pool>(Locator(master), timeout_, max_, user_, password_));
  return pools_.back().second.get();
}

core::Result<std::vector<std::pair<std::string, Pool*>>> Shards::masters() {
  auto ranges = nodes_.slots(timeout_, user_, password_);  // as they are now
  if (!ranges) return std::move(ranges).error();
  std::lock_guard lock(mu_);
  ranges_ = std::move(*ranges);
  std::vector<std::pair<std::string, Pool*>> out;
  for (const SlotRange& r : ranges_) {
    const std::string at = address_text(r.master);
    if (std::none_of(out.begin(), out.end(), [&](const auto& m) { return m.first == at; }))
      out.emplace_back(at, pool_at(r.master));
  }
  return out;
}

void Shards::forget() {
  std::lock_guard lock(mu_);
  ranges_.clear();
}

bool is_error(const redisReply* r) { return r != nullptr && r->type == REDIS_REPLY_ERROR; }

std::string reply_text(const redisReply* r) {
  if (r == nullptr) return {};
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR)
    return std::string(r->str, r->len);
  return {};
}

std::optional<std::int64_t> reply_int(const redisReply* r) {
  if (r == nullptr) return std::nullopt;
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  if (r->type == REDIS_REPLY_STRING) {
    char* end = nullptr;
    const std::string s(r->str, r->len);
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (end != s.c_str() && *end == '\0') return v;
  }
  return std::nullopt;
}

core::Error reply_error(const redisReply* r, std::string_view what) {
  // A misdirected command is retried on the right server by the next try.
  return core::make_error(misdirected(r) ? StoreErrc::unavailable : StoreErrc::io,
                          std::string(what) + ": " + (r ? reply_text(r) : "no reply"));
}

}  // namespace surveyor::collector::redis
