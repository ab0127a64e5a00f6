// SPDX-License-Identifier: Apache-2.0
// Token buckets per key.
#include "rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace surveyor::collector::api {

std::optional<std::int64_t> RateLimiter::take(const std::string& key, std::int64_t now_ms) {
  if (rate_ <= 0) return std::nullopt;
  std::lock_guard lock(mu_);
  auto refill = [&](Bucket& b) {
    const double elapsed = static_cast<double>(std::max<std::int64_t>(0, now_ms - b.at_ms)) / 1000.0;
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.at_ms = std::max(b.at_ms, now_ms);
  };
  if (buckets_.size() >= kMaxKeys && !buckets_.contains(key))
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      refill(it->second);
      it = it->second.tokens >= burst_ ? buckets_.erase(it) : std::next(it);
    }
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now_ms});
  Bucket& b = it->second;
  if (!fresh) refill(b);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil((1 - b.tokens) / rate_)));
}

}  // namespace surveyor::collector::api
