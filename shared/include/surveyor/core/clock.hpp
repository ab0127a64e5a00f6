// SPDX-License-Identifier: Apache-2.0
// The clock seam (system, offset for end-to-end tests, manual) and time as Unix milliseconds
// and RFC 3339.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "surveyor/core/result.hpp"

namespace surveyor::core {

using TimePoint = std::chrono::system_clock::time_point;

// The only way code reads the time of day, so evaluations and tests can run
// on simulated time.
class Clock {
 public:
  virtual ~Clock() = default;
  // The current wall-clock time. Must be safe to call from any thread.
  [[nodiscard]] virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  SystemClock() = default;
  // The wall clock shifted by `offset`. The end-to-end tests run the real
  // binaries years away from today, so that a fixture written with a fixed
  // date fails at once rather than on the day that date falls out of a
  // retention or a window.
  explicit SystemClock(std::chrono::milliseconds offset) : offset_(offset) {}
  [[nodiscard]] TimePoint now() const override { return std::chrono::system_clock::now() + offset_; }
  [[nodiscard]] std::chrono::milliseconds offset() const { return offset_; }

 private:
  std::chrono::milliseconds offset_{0};
};

// The environment variable a binary reads its clock offset from (tests only).
inline constexpr const char* kClockOffsetEnv = "SURVEYOR_CLOCK_OFFSET";

// The offset in $SURVEYOR_CLOCK_OFFSET, a duration with an optional sign
// ("1000d", "-90d"); zero when unset; an error when it is not a duration.
[[nodiscard]] Result<std::chrono::milliseconds> clock_offset_from_env();

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{}) : ms_(to_ms(start)) {}
  [[nodiscard]] TimePoint now() const override {
    return TimePoint{std::chrono::milliseconds{ms_.load()}};
  }
  void set(TimePoint t) { ms_.store(to_ms(t)); }
  void advance(std::chrono::milliseconds d) { ms_.fetch_add(d.count()); }

 private:
  static std::int64_t to_ms(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }
  std::atomic<std::int64_t> ms_;
};

[[nodiscard]] inline std::int64_t to_unix_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
[[nodiscard]] inline TimePoint from_unix_ms(std::int64_t ms) {
  return TimePoint{std::chrono::milliseconds{ms}};
}

// RFC 3339 in UTC with millisecond precision: "2026-11-25T08:52:05.123Z".
[[nodiscard]] std::string format_rfc3339(std::int64_t unix_ms);

// A time given as RFC 3339 ("2026-11-25T08:52:05Z", fractions and offsets
// allowed) or as Unix milliseconds ("1795000000000"); nullopt if neither.
[[nodiscard]] std::optional<std::int64_t> parse_time(std::string_view text);

}  // namespace surveyor::core
