// SPDX-License-Identifier: Apache-2.0
// A day of a series' hourly rollups in one block (chunk.hpp has the layout):
// the Redis store keeps one a day per series.
#include <bit>
#include <limits>

#include "bytes.hpp"
#include "surveyor/codec/chunk.hpp"

namespace surveyor::codec {

using detail::ByteReader;
using detail::put_varint;
using detail::zigzag;

namespace {

constexpr char kRollupDayVersion = 1;
constexpr std::int64_t kHourMs = 3'600'000;

void put_double(std::string& out, double v) {
  std::uint64_t bits = std::bit_cast<std::uint64_t>(v == 0 ? 0.0 : v);  // -0 as 0
  for (int i = 0; i < 8; ++i, bits >>= 8) out += static_cast<char>(bits & 0xff);
}

bool get_double(ByteReader& r, double& v) {
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) {
    std::uint8_t b;
    if (!r.byte(b)) return false;
    bits |= static_cast<std::uint64_t>(b) << (8 * i);
  }
  v = std::bit_cast<double>(bits);
  return true;
}

// The start of the UTC day holding t (floor division, also before 1970).
std::int64_t day_of(std::int64_t t) {
  const std::int64_t q = t / kDayMs;
  return q * kDayMs > t ? q - 1 : q;
}

}  // namespace

std::string encode_rollup_day(std::span<const Rollup> hours) {
  std::string out;
  out.reserve(4 + hours.size() * 27);
  out += kRollupDayMagic;
  out += kRollupDayVersion;
  const std::int64_t day = hours.empty() ? 0 : day_of(hours.front().start_ms);
  put_varint(out, zigzag(day));
  for (const Rollup& h : hours) {
    out += static_cast<char>((h.start_ms - day * kDayMs) / kHourMs);
    put_varint(out, static_cast<std::uint64_t>(h.count));
    put_double(out, h.sum);
    put_double(out, h.min);
    put_double(out, h.max);
  }
  return out;
}

core::Result<std::vector<Rollup>> decode_rollup_day(std::string_view bytes) {
  ByteReader r(bytes);
  std::uint8_t magic = 0, version = 0;
  std::int64_t day = 0;
  if (!r.byte(magic) || !r.byte(version) || !r.svarint(day))
    return core::make_error(CodecErrc::truncated, "rollup day header");
  if (magic != static_cast<std::uint8_t>(kRollupDayMagic) || version != kRollupDayVersion)
    return core::make_error(CodecErrc::malformed, "not a rollup day block (version 1)");
  // Its last hour must fit: day * kDayMs + 23 hours within 64 bits.
  constexpr std::int64_t kLastDay = (std::numeric_limits<std::int64_t>::max() - 23 * kHourMs) / kDayMs;
  constexpr std::int64_t kFirstDay = std::numeric_limits<std::int64_t>::min() / kDayMs;
  if (day > kLastDay || day < kFirstDay) return core::make_error(CodecErrc::malformed, "rollup day out of range");
  std::vector<Rollup> out;
  int last_hour = -1;
  while (!r.rest().empty()) {
    std::uint8_t hour = 0;
    std::uint64_t count = 0;
    Rollup h;
    if (!r.byte(hour) || !r.varint(count) || !get_double(r, h.sum) || !get_double(r, h.min) || !get_double(r, h.max))
      return core::make_error(CodecErrc::truncated, "rollup day entry");
    if (hour > 23 || static_cast<int>(hour) <= last_hour)
      return core::make_error(CodecErrc::unsorted, "rollup day hours out of order");
    if (count == 0 || count > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return core::make_error(CodecErrc::malformed, "rollup day count out of range");
    last_hour = hour;
    h.start_ms = day * kDayMs + hour * kHourMs;
    h.count = static_cast<std::int64_t>(count);
    out.push_back(h);  // at most 24: each hour once, in order
  }
  if (out.empty()) return core::make_error(CodecErrc::truncated, "rollup day without hours");
  return out;
}

}  // namespace surveyor::codec
