// SPDX-License-Identifier: Apache-2.0
// Synchronous hiredis connections for worker threads: argv commands (binary
// safe, never formatted from strings), pipelines, and a small pool that
// reconnects by itself after Redis restarts.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/redis/redis_stores.hpp"
#include "surveyor/collector/store/errors.hpp"
#include "tls_tunnel.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::redis {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;
using Argv = std::vector<std::string>;

class Connection {
 public:
  ~Connection();
  // Connects (through `tunnel` when set: rediss://), then AUTHs when
  // `password` is set (with `user` when set too).
  static core::Result<std::unique_ptr<Connection>> open(const std::string& host, std::uint16_t port,
                                                        std::chrono::milliseconds timeout, const std::string& user,
                                                        const std::string& password, TlsTunnel* tunnel = nullptr);
  // Sends all commands, then reads all replies. A Redis error reply is
  // returned as a reply (type REDIS_REPLY_ERROR), not as a failure; a
  // connection error fails the call and marks the connection broken.
  core::Result<std::vector<Reply>> pipeline(const std::vector<Argv>& commands);
  core::Result<Reply> command(const Argv& argv);
  // Broken by a connection error, or stale: the server answered READONLY
  // (a failover made it a replica), or as a cluster node that does not
  // serve the key's slot (MOVED, ASK, TRYAGAIN, CLUSTERDOWN), so it must
  // not be reused: the pool locates the master again.
  [[nodiscard]] bool broken() const { return c_ == nullptr || c_->err != 0 || stale_; }
  // Whether keys are WATCHed: set by a WATCH sent, cleared by EXEC, DISCARD
  // or UNWATCH. Kept by the connection itself, so no code path (an early
  // return, an exception) can hand a watching connection to the next user.
  [[nodiscard]] bool watching() const { return watching_; }
  // Round trips made so far: each pipeline (or command) is one.
  [[nodiscard]] std::uint64_t round_trips() const { return round_trips_; }

 private:
  explicit Connection(redisContext* c) : c_(c) {}
  void track(const Argv& cmd);
  void note_misdirected(const redisReply* r);
  redisContext* c_;
  bool watching_ = false;
  bool stale_ = false;
  std::uint64_t round_trips_ = 0;
};

// UNWATCHes, when its scope ends, whatever the connection still watches.
class WatchScope {
 public:
  explicit WatchScope(Connection& c) : c_(c) {}
  ~WatchScope();
  WatchScope(const WatchScope&) = delete;
  WatchScope& operator=(const WatchScope&) = delete;

 private:
  Connection& c_;
};

// After a lost optimistic race: waits a random, growing while, so the
// writers that collided do not collide again in lock step.
void back_off(int attempt);

inline constexpr int kMaxOptimisticAttempts = 32;

// Redis's optimistic transaction, written once. `attempt()`, run on `c`,
// WATCHes what it reads, then either queues MULTI ... EXEC and returns a
// value (committed), returns nullopt (EXEC aborted by a concurrent writer:
// try again after a back-off), or returns an error (give up). Each attempt
// ends with nothing watched, however it ends, even by an exception.
template <class T, class F>
core::Result<T> optimistic(Connection& c, std::string_view what, F&& attempt) {
  for (int i = 0; i < kMaxOptimisticAttempts; ++i) {
    core::Result<std::optional<T>> r = [&]() -> core::Result<std::optional<T>> {
      WatchScope scope(c);
      return attempt();
    }();
    if (!r) return std::move(r).error();
    if (*r) return std::move(**r);
    back_off(i);
  }
  return core::make_error(store::StoreErrc::unavailable,
                          std::string(what) + " kept conflicting with other writers; gave up");
}

// The hash slot of `key` on a Redis Cluster, as CLUSTER KEYSLOT computes
// it: CRC16 (XMODEM) of its hash tag (what lies between its first "{" and
// the first "}" after it, when not empty) or of the whole key, mod 16384.
[[nodiscard]] std::uint16_t key_slot(std::string_view key);

// A range of a cluster's hash slots and the master serving it (CLUSTER SLOTS).
struct SlotRange {
  std::uint16_t from = 0, to = 0;  // inclusive
  RedisAddress master;
};

// Where new connections go: a fixed address; the master a set of Redis
// Sentinels names, asked again for each new connection (the Sentinel that
// answered is asked first the next time, as Sentinel's client guidelines
// say); or the master a Redis Cluster's nodes name for the hash slot of
// `slot_key` (key_slot()), asked the same way (CLUSTER SLOTS),
// every node those answers name joining the ones asked.
class Locator {
 public:
  explicit Locator(RedisAddress fixed) : fixed_(std::move(fixed)) {}
  Locator(std::vector<RedisAddress> sentinels, std::string master)
      : named_(sentinels), asked_(std::move(sentinels)), master_(std::move(master)) {}
  static Locator cluster(std::vector<RedisAddress> nodes, std::string slot_key);
  Locator(const Locator& o);
  [[nodiscard]] bool via_sentinel() const { return !master_.empty(); }
  [[nodiscard]] bool via_cluster() const { return !slot_key_.empty(); }
  // A cluster's nodes want the credentials of the store; Sentinels none.
  core::Result<RedisAddress> locate(std::chrono::milliseconds timeout, const std::string& user,
                                    const std::string& password);
  // A cluster's hash slots and their masters, asked of its nodes in turn
  // as locate() asks them.
  core::Result<std::vector<SlotRange>> slots(std::chrono::milliseconds timeout, const std::string& user,
                                             const std::string& password);
  // "redis://H:P", "redis-sentinel://H:P,H:P/MASTER" or
  // "redis-cluster://H:P,H:P", for messages.
  [[nodiscard]] std::string describe() const;

 private:
  Locator() = default;
  core::Result<RedisAddress> ask_sentinel(Connection& c);
  core::Result<RedisAddress> ask_cluster(Connection& c, const RedisAddress& asked);
  core::Result<std::vector<SlotRange>> ask_slots(Connection& c, const RedisAddress& asked);
  // ask(connection, node) of the nodes (or Sentinels) in turn, the one that
  // answered first the next time; the answers of all that failed in the error.
  template <class T, class F>
  core::Result<T> in_turn(std::chrono::milliseconds timeout, const std::string& user, const std::string& password,
                          std::string_view whom, F&& ask);
  RedisAddress fixed_;
  mutable std::mutex mu_;
  std::vector<RedisAddress> named_;  // the Sentinels, or the cluster's nodes, as configured
  std::vector<RedisAddress> asked_;  // in the order to ask them; a cluster's grows by those learned
  std::string master_;
  std::string slot_key_;
};

class Pool {
 public:
  Pool(Locator locator, std::chrono::milliseconds timeout, std::size_t max, std::string user = {},
       std::string password = {}, std::shared_ptr<TlsTunnel> tunnel = nullptr);
  [[nodiscard]] std::string describe() const { return locator_.describe(); }
  ~Pool();

  // Runs f(Connection&) on a pooled connection, opening one if needed. The
  // connection goes back to the pool however f ends: dropped if it broke or
  // f threw (its state is unknown), UNWATCHed if f left keys watched.
  template <class F>
  auto with(F&& f) -> decltype(f(std::declval<Connection&>())) {
    auto c = acquire();
    if (!c) return std::move(c).error();
    Lease lease(*this, std::move(*c));
    return f(*lease.c);
  }

 private:
  struct Lease {
    Lease(Pool& p, std::unique_ptr<Connection> conn)
        : pool(p), c(std::move(conn)), exceptions(std::uncaught_exceptions()) {}
    ~Lease() { pool.release(std::move(c), std::uncaught_exceptions() > exceptions); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Pool& pool;
    std::unique_ptr<Connection> c;
    int exceptions;
  };

  core::Result<std::unique_ptr<Connection>> acquire();
  core::Result<std::unique_ptr<Connection>> open_master();
  void release(std::unique_ptr<Connection> c, bool discard) noexcept;

  std::shared_ptr<TlsTunnel> tunnel_;  // rediss://; outlives the connections below
  Locator locator_;
  std::string user_, password_;
  std::chrono::milliseconds timeout_;
  std::size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;
};

// On a Redis Cluster, connections to the master of any key's hash slot: a
// pool per master, the masters learned from CLUSTER SLOTS, asked again once
// a request through one came back `unavailable` (a connection answered
// MOVED, a node gone: the slot may have moved or failed over).
class Shards {
 public:
  Shards(Locator nodes, std::chrono::milliseconds timeout, std::size_t max_per_master, std::string user,
         std::string password);
  ~Shards();
  Shards(const Shards&) = delete;
  Shards& operator=(const Shards&) = delete;

  // Runs f(Connection&) on a connection to the master of `key`'s slot.
  template <class F>
  auto with(std::string_view key, F&& f) -> decltype(f(std::declval<Connection&>())) {
    auto pool = master_of(key);
    if (!pool) return std::move(pool).error();
    return on(**pool, std::forward<F>(f));
  }
  // Every master that serves slots, with its address ("HOST:PORT").
  core::Result<std::vector<std::pair<std::string, Pool*>>> masters();
  // The pool of the master of `key`'s slot, for requests that group keys
  // by master; and f(Connection&) run on one of its connections.
  core::Result<Pool*> master_of(std::string_view key) { return pool_for(key_slot(key)); }
  template <class F>
  auto on(Pool& pool, F&& f) -> decltype(f(std::declval<Connection&>())) {
    auto r = pool.with(std::forward<F>(f));
    if (!r && r.error().code == store::StoreErrc::unavailable) forget();
    return r;
  }

 private:
  core::Result<Pool*> pool_for(std::uint16_t slot);
  Pool* pool_at(const RedisAddress& master);  // under mu_
  void forget();
  Locator nodes_;
  std::chrono::milliseconds timeout_;
  std::size_t max_;
  std::string user_, password_;
  std::mutex mu_;
  std::vector<SlotRange> ranges_;  // empty: to be asked
  std::vector<std::pair<std::string, std::unique_ptr<Pool>>> pools_;  // by "host:port"
};

// Reply helpers.
[[nodiscard]] bool is_error(const redisReply* r);
[[nodiscard]] std::string reply_text(const redisReply* r);  // string/status/error text, or ""
[[nodiscard]] std::optional<std::int64_t> reply_int(const redisReply* r);
core::Error reply_error(const redisReply* r, std::string_view what);

}  // namespace surveyor::collector::redis
