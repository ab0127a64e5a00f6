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
  static core::Result<std::unique_ptr<Connection>> open(const std::string& host, std::uint16_t port,
                                                        std::chrono::milliseconds timeout);
  // Sends all commands, then reads all replies. A Redis error reply is
  // returned as a reply (type REDIS_REPLY_ERROR), not as a failure; a
  // connection error fails the call and marks the connection broken.
  core::Result<std::vector<Reply>> pipeline(const std::vector<Argv>& commands);
  core::Result<Reply> command(const Argv& argv);
  [[nodiscard]] bool broken() const { return c_ == nullptr || c_->err != 0; }

 private:
  explicit Connection(redisContext* c) : c_(c) {}
  redisContext* c_;
};

class Pool {
 public:
  Pool(std::string host, std::uint16_t port, std::chrono::milliseconds timeout, std::size_t max);
  ~Pool();

  // Runs f(Connection&) on a pooled connection, opening one if needed. A
  // connection that broke during f is dropped instead of returned.
  template <class F>
  auto with(F&& f) -> decltype(f(std::declval<Connection&>())) {
    auto c = acquire();
    if (!c) return std::move(c).error();
    auto r = f(**c);
    release(std::move(*c));
    return r;
  }

 private:
  core::Result<std::unique_ptr<Connection>> acquire();
  void release(std::unique_ptr<Connection> c);

  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_;
  std::size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;
};

// Reply helpers.
[[nodiscard]] bool is_error(const redisReply* r);
[[nodiscard]] std::string reply_text(const redisReply* r);  // string/status/error text, or ""
[[nodiscard]] std::optional<std::int64_t> reply_int(const redisReply* r);
core::Error reply_error(const redisReply* r, std::string_view what);

}  // namespace surveyor::collector::redis
