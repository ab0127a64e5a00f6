// SPDX-License-Identifier: Apache-2.0
// Durations as text ("1h30m", a bare "90" is seconds) read and written, and their errors.
#include "surveyor/core/error_category.hpp"
#include "surveyor/core/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace surveyor::core {
namespace {

struct Unit {
  std::string_view name;
  std::int64_t ms;
};
constexpr std::array<Unit, 5> kUnits{{{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000},
                                      {"d", 86'400'000}}};

}  // namespace

const std::error_category& duration_category() {
  static const core::TableCategory c("duration", {
      {DurationErrc::empty, "empty duration"},
      {DurationErrc::bad_number, "expected a number"},
      {DurationErrc::bad_unit, "unknown unit (use ms, s, m, h, d)"},
      {DurationErrc::overflow, "duration too large"}});
  return c;
}

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return make_error(DurationErrc::empty, quoted);
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return make_error(DurationErrc::bad_number, quoted);
    std::int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (kMax - 9) / 10) return make_error(DurationErrc::overflow, quoted);
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    std::size_t j = i;
    while (j < text.size() && (text[j] < '0' || text[j] > '9')) ++j;
    const std::string_view unit = text.substr(i, j - i);
    std::int64_t scale = 0;
    if (unit.empty()) {
      // A bare number is seconds, but only on its own ("90"), not in "1m30".
      if (i != text.size() || total != 0) return make_error(DurationErrc::bad_unit, quoted);
      scale = 1000;
    } else {
      for (const Unit& u : kUnits)
        if (u.name == unit) scale = u.ms;
      if (scale == 0) return make_error(DurationErrc::bad_unit, quoted);
    }
    if (n > (kMax - total) / scale) return make_error(DurationErrc::overflow, quoted);
    total += n * scale;
    i = j;
  }
  return std::chrono::milliseconds{total};
}

std::string format_duration(std::chrono::milliseconds d) {
  std::int64_t left = d.count();
  if (left == 0) return "0s";
  std::string out;
  if (left < 0) {
    out = "-";
    left = -left;
  }
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it) {
    if (left >= it->ms) {
      out += std::to_string(left / it->ms);
      out += it->name;
      left %= it->ms;
    }
  }
  return out;
}

}  // namespace surveyor::core
