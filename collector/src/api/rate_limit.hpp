// SPDX-License-Identifier: Apache-2.0
// Token buckets per key (a client's address, an operator's token): how many
// requests each may make per second, with a burst.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace surveyor::collector::api {

class RateLimiter {
 public:
  // `per_second` requests a second on average, `burst` at once; 0 per
  // second: no limit.
  RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst) {}

  // Takes one request of `key` at now_ms: nothing when it may go on, else
  // the seconds until it may (for Retry-After, at least 1).
  [[nodiscard]] std::optional<std::int64_t> take(const std::string& key, std::int64_t now_ms);

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t at_ms = 0;
  };
  // Beyond this many keys, the full buckets are dropped (they are the same
  // as new ones), so a flood of addresses cannot grow the map without bound.
  static constexpr std::size_t kMaxKeys = 100'000;

  double rate_, burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace surveyor::collector::api
