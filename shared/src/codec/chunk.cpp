// SPDX-License-Identifier: Apache-2.0
// The series chunk codec, shared by every store. Gorilla's two ideas
// (delta-of-delta timestamps, XOR of successive floats) with two additions
// that matter for host metrics:
//
//  - Timestamps are counted in the chunk's common step (the gcd of its
//    deltas: 10 s for a 10 s sampler, 1 s once it jitters), so a regular
//    series costs one bit per timestamp whatever its resolution.
//  - Values that are exactly n/D for one integer D across the chunk (whole
//    numbers, 2-decimal load averages, busy/total jiffies, bytes/total
//    ratios) are stored as the integers n, found with continued fractions on
//    the exact binary value and verified bit for bit: (double)n / D is the
//    double that was given, because an IEEE division of exact operands is
//    correctly rounded, as the agent's own division was. The integers, over
//    their common step, are coded as offsets, deltas or deltas of deltas,
//    whichever is smallest, with a Rice code whose parameter fits the chunk.
//    Anything else (NaN, -0.0, true measurements in full precision) falls
//    back to Gorilla's XOR coding. Either way the round trip is exact.
//
// Layout: 'S' 1 | n | t0 | [unit | first delta | Rice k] | mode | mode
// header | bit stream (timestamps, then values). Integers in the header are
// LEB128 varints (signed ones zigzagged).
#include "surveyor/codec/chunk.hpp"

#include "bytes.hpp"
#include "rational.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <span>

#include "surveyor/core/error_category.hpp"

namespace surveyor::codec {
namespace {

using detail::as_rationals;
using detail::ByteReader;
using detail::kMaxDenominator;
using detail::put_varint;
using detail::unzigzag;
using detail::zigzag;

constexpr char kMagic = 'S';
constexpr char kVersion = 1;
constexpr unsigned kRiceEscape = 40;  // a quotient this large is written raw instead

enum : std::uint8_t { kRational = 0, kXor = 1 };
enum : std::uint8_t { kOffset = 0, kDelta = 1, kDeltaOfDelta = 2 };

class BitWriter {
 public:
  explicit BitWriter(std::string& out) : out_(out) {}
  // The low `bits` bits of v, most significant first. Whole bytes go out
  // as they fill; finish() writes the last, zero-padded.
  void put(std::uint64_t v, unsigned bits) {
    if (bits > 32) {
      put(v >> 32, bits - 32);
      bits = 32;
    }
    if (bits == 0) return;
    acc_ = (acc_ << bits) | (v & ((std::uint64_t{1} << bits) - 1));
    pending_ += bits;  // at most 7 + 32
    while (pending_ >= 8) {
      pending_ -= 8;
      out_ += static_cast<char>(static_cast<unsigned char>(acc_ >> pending_));
    }
  }
  void rice(std::uint64_t z, unsigned k) {
    const std::uint64_t q = z >> k;
    if (q >= kRiceEscape) {
      put((std::uint64_t{1} << kRiceEscape) - 1, kRiceEscape);
      put(z, 64);
      return;
    }
    put(((std::uint64_t{1} << q) - 1) << 1, static_cast<unsigned>(q) + 1);  // q ones, then a zero
    if (k > 0) put(z, k);
  }
  void finish() {
    if (pending_ > 0) out_ += static_cast<char>(static_cast<unsigned char>(acc_ << (8 - pending_)));
    pending_ = 0;
  }

 private:
  std::string& out_;
  std::uint64_t acc_ = 0;
  unsigned pending_ = 0;  // bits in acc_ not yet written, its lowest
};

class BitReader {
 public:
  explicit BitReader(std::string_view in) : in_(in) {}
  bool get(unsigned bits, std::uint64_t& v) {
    if (bits > 64 || bits > left()) return false;
    v = 0;
    while (bits > 0) {
      const unsigned byte = static_cast<unsigned char>(in_[pos_ / 8]);
      const unsigned offset = pos_ % 8;
      const unsigned n = std::min(8 - offset, bits);
      const unsigned chunk = (byte >> (8 - offset - n)) & ((1u << n) - 1);
      v = (n == 64 ? 0 : v << n) | chunk;
      pos_ += n;
      bits -= n;
    }
    return true;
  }
  bool rice(unsigned k, std::uint64_t& z) {
    std::uint64_t q = 0, bit = 0;
    while (q < kRiceEscape) {
      if (!get(1, bit)) return false;
      if (bit == 0) break;
      ++q;
    }
    if (q == kRiceEscape) return get(64, z);
    std::uint64_t low = 0;
    if (k > 0 && !get(k, low)) return false;
    z = (q << k) | low;
    return true;
  }
  [[nodiscard]] std::size_t left() const { return in_.size() * 8 - pos_; }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

// The Rice parameter with the fewest bits for these values, and that count
// (the smallest such parameter). A value's cost never rises from k to k + 1
// while k is below its bit width: escaped, it stays kRiceEscape + 64 or
// falls below it; not escaped, its quotient q plus k falls by
// ceil(q / 2) - 1 >= 0 for q >= 1. So the total never rises up to the
// narrowest value's width, and the first k of the fewest bits there is
// found from that width backwards, one step past the plateau. From there
// on, once no value is escaped, the count is convex in k (each value's
// z >> k, plus k, falls by ceil((z >> k) / 2) - 1 from k to k + 1, which
// never grows with k), so once it stops falling it never falls again; past
// the widest value's bit width every quotient is 0 and each larger k only
// adds bits.
std::pair<unsigned, std::uint64_t> best_rice(const std::vector<std::uint64_t>& zs) {
  std::uint64_t widest = 0, narrowest = std::numeric_limits<std::uint64_t>::max();
  for (std::uint64_t z : zs) {
    widest |= z;
    narrowest = std::min(narrowest, z);
  }
  const auto cost = [&zs](unsigned k) {
    std::uint64_t bits = 0;
    for (std::uint64_t z : zs) {
      const std::uint64_t q = z >> k;
      bits += q >= kRiceEscape ? kRiceEscape + 64 : q + 1 + k;
    }
    return bits;
  };
  const unsigned last = std::min(62u, static_cast<unsigned>(std::bit_width(widest)));
  // Below `first` every value escapes: each costs kRiceEscape + 64 bits,
  // more than any value costs at `first` (XOR-coded values start near 50).
  unsigned first = 0;
  while (first < last && (narrowest >> first) >= kRiceEscape) ++first;
  const unsigned top = std::max(first, std::min(last, static_cast<unsigned>(std::bit_width(narrowest))));
  std::pair<unsigned, std::uint64_t> best{top, cost(top)};
  while (best.first > first) {
    const std::uint64_t below = cost(best.first - 1);
    if (below != best.second) break;  // it is more: the plateau starts here
    --best.first;
  }
  std::uint64_t before = best.second;
  for (unsigned k = top + 1; k <= last; ++k) {
    const std::uint64_t bits = cost(k);
    if (bits < best.second) best = {k, bits};
    if (bits >= before && (widest >> (k - 1)) < kRiceEscape) break;
    before = bits;
  }
  return best;
}

std::vector<std::uint64_t> method_values(const std::vector<std::int64_t>& m, std::uint8_t method, std::int64_t& base) {
  std::vector<std::uint64_t> z;
  z.reserve(m.size());
  if (method == kOffset) {
    base = *std::min_element(m.begin(), m.end());
    for (std::int64_t x : m) z.push_back(static_cast<std::uint64_t>(x - base));
  } else if (method == kDelta) {
    for (std::size_t i = 1; i < m.size(); ++i) z.push_back(zigzag(m[i] - m[i - 1]));
  } else {
    if (m.size() > 1) z.push_back(zigzag(m[1] - m[0]));
    for (std::size_t i = 2; i < m.size(); ++i) z.push_back(zigzag((m[i] - m[i - 1]) - (m[i - 1] - m[i - 2])));
  }
  return z;
}

}  // namespace

const std::error_category& codec_category() {
  static const core::TableCategory c("codec", {{CodecErrc::malformed, "malformed chunk"},
                                               {CodecErrc::truncated, "truncated chunk"},
                                               {CodecErrc::unsorted, "times not increasing"}});
  return c;
}

std::string encode_chunk(std::span<const Sample> s, ChunkInfo* info, std::int64_t denominator_hint) {
  std::string out{kMagic, kVersion};
  put_varint(out, s.size());
  ChunkInfo local;
  ChunkInfo& ci = info ? *info : local;
  ci = {};
  ci.count = s.size();
  if (s.empty()) return out;
  put_varint(out, zigzag(s[0].time_ms));

  // Timestamps in units of their common step: at a regular interval, that
  // interval (the gcd of equal deltas), without a gcd a sample.
  std::int64_t unit = 0;
  std::size_t regular = 1;
  if (s.size() >= 2) {
    const std::int64_t first = s[1].time_ms - s[0].time_ms;
    unit = std::gcd(first, first);
    for (regular = 2; regular < s.size() && s[regular].time_ms - s[regular - 1].time_ms == first;) ++regular;
  }
  for (std::size_t i = regular; i < s.size(); ++i) unit = std::gcd(unit, s[i].time_ms - s[i - 1].time_ms);
  std::vector<std::uint64_t> dods;
  unsigned kt = 0;
  if (s.size() >= 2) {
    put_varint(out, static_cast<std::uint64_t>(unit));
    put_varint(out, static_cast<std::uint64_t>((s[1].time_ms - s[0].time_ms) / unit));
    for (std::size_t i = 2; i < s.size(); ++i)
      dods.push_back(zigzag(((s[i].time_ms - s[i - 1].time_ms) - (s[i - 1].time_ms - s[i - 2].time_ms)) / unit));
    kt = best_rice(dods).first;
    out += static_cast<char>(kt);
  }
  ci.time_unit_ms = unit;

  std::int64_t d = 0;
  std::vector<std::int64_t> n;
  const bool rational = as_rationals(s, denominator_hint, d, n, ci.search);
  std::vector<std::uint64_t> zs;
  unsigned kv = 0;
  std::uint8_t method = 0;
  std::int64_t base = 0;
  if (rational) {
    std::int64_t g = 0;
    for (std::int64_t x : n)
      if ((g = std::gcd(g, x - n[0])) == 1) break;  // it stays 1
    if (g == 0) g = 1;
    std::vector<std::int64_t> m(n.size());
    for (std::size_t i = 0; i < n.size(); ++i) m[i] = (n[i] - n[0]) / g;
    std::uint64_t best_bits = std::numeric_limits<std::uint64_t>::max();
    for (std::uint8_t candidate : {kOffset, kDelta, kDeltaOfDelta}) {
      std::int64_t b = 0;
      auto z = method_values(m, candidate, b);
      const auto [k, bits] = best_rice(z);
      if (bits < best_bits) {
        best_bits = bits;
        method = candidate;
        kv = k;
        base = b;
        zs = std::move(z);
      }
    }
    out += static_cast<char>(kRational);
    put_varint(out, static_cast<std::uint64_t>(d));
    put_varint(out, zigzag(n[0]));
    put_varint(out, static_cast<std::uint64_t>(g));
    out += static_cast<char>(method);
    put_varint(out, zigzag(base));
    out += static_cast<char>(kv);
    ci.rational = true;
    ci.denominator = d;
    ci.factor = g;
    ci.method = method;
  } else {
    out += static_cast<char>(kXor);
    ci.method = -1;
  }

  BitWriter w(out);
  for (std::uint64_t z : dods) w.rice(z, kt);
  if (rational) {
    for (std::uint64_t z : zs) w.rice(z, kv);
    w.finish();
    return out;
  }
  std::uint64_t prev = std::bit_cast<std::uint64_t>(s[0].value);
  w.put(prev, 64);
  int lead_prev = -1, trail_prev = 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const std::uint64_t cur = std::bit_cast<std::uint64_t>(s[i].value);
    const std::uint64_t x = cur ^ prev;
    prev = cur;
    if (x == 0) {
      w.put(0, 1);
      continue;
    }
    w.put(1, 1);
    const int lead = std::min(std::countl_zero(x), 31);
    const int trail = std::countr_zero(x);
    if (lead_prev >= 0 && lead >= lead_prev && trail >= trail_prev) {
      w.put(0, 1);
      w.put(x >> trail_prev, static_cast<unsigned>(64 - lead_prev - trail_prev));
    } else {
      const int sig = 64 - lead - trail;
      w.put(1, 1);
      w.put(static_cast<std::uint64_t>(lead), 5);
      w.put(static_cast<std::uint64_t>(sig - 1), 6);
      w.put(x >> trail, static_cast<unsigned>(sig));
      lead_prev = lead;
      trail_prev = trail;
    }
  }
  w.finish();
  return out;
}

core::Result<std::vector<Sample>> decode_chunk(std::string_view bytes) {
  auto bad = [](CodecErrc c, const char* what) { return core::make_error(c, what); };
  ByteReader r(bytes);
  std::uint8_t magic = 0, version = 0;
  if (!r.byte(magic) || !r.byte(version) || magic != kMagic || version != kVersion)
    return bad(CodecErrc::malformed, "not a chunk of this version");
  std::uint64_t count = 0;
  if (!r.varint(count)) return bad(CodecErrc::truncated, "count");
  std::vector<Sample> out;
  if (count == 0) return out;
  // Every sample after the second takes at least one bit; nothing larger can be real.
  if (count > bytes.size() * 8 + 2) return bad(CodecErrc::malformed, "count larger than the chunk can hold");
  std::int64_t t0 = 0;
  if (!r.svarint(t0)) return bad(CodecErrc::truncated, "first time");
  std::uint64_t unit = 0, d1 = 0;
  std::uint8_t kt = 0;
  if (count >= 2) {
    if (!r.varint(unit) || !r.varint(d1) || !r.byte(kt)) return bad(CodecErrc::truncated, "time header");
    if (unit == 0 || unit > (std::uint64_t{1} << 62) || d1 == 0 || kt > 63) return bad(CodecErrc::malformed, "time header");
  }
  std::uint8_t mode = 0;
  if (!r.byte(mode) || mode > kXor) return bad(CodecErrc::malformed, "value mode");
  std::uint64_t d = 0, g = 1;
  std::int64_t n0 = 0, base = 0;
  std::uint8_t method = 0, kv = 0;
  if (mode == kRational) {
    if (!r.varint(d) || !r.svarint(n0) || !r.varint(g) || !r.byte(method) || !r.svarint(base) || !r.byte(kv))
      return bad(CodecErrc::truncated, "value header");
    if (d == 0 || d > static_cast<std::uint64_t>(kMaxDenominator) || g == 0 || method > kDeltaOfDelta || kv > 63)
      return bad(CodecErrc::malformed, "value header");
  }
  BitReader bits(r.rest());
  out.resize(static_cast<std::size_t>(count));
  // Times: wrapping arithmetic, then a check that they increase.
  out[0].time_ms = t0;
  std::uint64_t prev_t = static_cast<std::uint64_t>(t0), delta = d1 * unit;
  if (count >= 2) {
    prev_t += delta;
    out[1].time_ms = static_cast<std::int64_t>(prev_t);
  }
  for (std::size_t i = 2; i < count; ++i) {
    std::uint64_t z = 0;
    if (!bits.rice(kt, z)) return bad(CodecErrc::truncated, "times");
    delta += static_cast<std::uint64_t>(unzigzag(z)) * unit;
    prev_t += delta;
    out[i].time_ms = static_cast<std::int64_t>(prev_t);
  }
  for (std::size_t i = 1; i < count; ++i)
    if (out[i].time_ms <= out[i - 1].time_ms) return bad(CodecErrc::unsorted, "times do not increase");

  if (mode == kRational) {
    const double dd = static_cast<double>(d);
    std::uint64_t m = 0, step = 0;  // wrapping integer arithmetic: garbage in, garbage numbers out, no UB
    auto value = [&](std::uint64_t mi) {
      const auto n = static_cast<std::int64_t>(static_cast<std::uint64_t>(n0) + mi * g);
      return static_cast<double>(n) / dd;
    };
    for (std::size_t i = 0; i < count; ++i) {
      std::uint64_t z = 0;
      if (method == kOffset) {
        if (!bits.rice(kv, z)) return bad(CodecErrc::truncated, "values");
        m = static_cast<std::uint64_t>(base) + z;
      } else if (i > 0) {
        if (!bits.rice(kv, z)) return bad(CodecErrc::truncated, "values");
        const auto signed_z = static_cast<std::uint64_t>(unzigzag(z));
        // Deltas replace the step; deltas of deltas (after the first delta) adjust it.
        if (method == kDelta || i == 1) step = signed_z;
        else step += signed_z;
        m += step;
      }
      out[i].value = value(m);
    }
    return out;
  }
  std::uint64_t prev = 0;
  if (!bits.get(64, prev)) return bad(CodecErrc::truncated, "first value");
  out[0].value = std::bit_cast<double>(prev);
  unsigned lead = 0, sig = 0;
  bool window = false;
  for (std::size_t i = 1; i < count; ++i) {
    std::uint64_t flag = 0;
    if (!bits.get(1, flag)) return bad(CodecErrc::truncated, "values");
    if (flag == 1) {
      std::uint64_t fresh = 0;
      if (!bits.get(1, fresh)) return bad(CodecErrc::truncated, "values");
      if (fresh == 1) {
        std::uint64_t l = 0, s = 0;
        if (!bits.get(5, l) || !bits.get(6, s)) return bad(CodecErrc::truncated, "values");
        lead = static_cast<unsigned>(l);
        sig = static_cast<unsigned>(s) + 1;
        if (lead + sig > 64) return bad(CodecErrc::malformed, "XOR window");
        window = true;
      } else if (!window) {
        return bad(CodecErrc::malformed, "XOR window used before one was set");
      }
      std::uint64_t x = 0;
      if (!bits.get(sig, x)) return bad(CodecErrc::truncated, "values");
      prev ^= x << (64 - lead - sig);
    }
    out[i].value = std::bit_cast<double>(prev);
  }
  return out;
}

void append_to_batch(std::string& batch, std::uint64_t id, std::span<const Sample> samples, std::int64_t denominator_hint,
                     ChunkInfo* info) {
  append_chunk_to_batch(batch, id, encode_chunk(samples, info, denominator_hint));
}

void append_chunk_to_batch(std::string& batch, std::uint64_t id, std::string_view chunk) {
  put_varint(batch, id);
  put_varint(batch, chunk.size());
  batch += chunk;
}

core::Result<std::vector<BatchEntry>> split_batch(std::string_view bytes) {
  std::vector<BatchEntry> out;
  ByteReader r(bytes);
  while (!r.rest().empty()) {
    BatchEntry e;
    std::uint64_t length = 0;
    if (!r.varint(e.id) || !r.varint(length)) return core::make_error(CodecErrc::truncated, "batch entry header");
    const std::string_view rest = r.rest();
    if (length > rest.size()) return core::make_error(CodecErrc::truncated, "batch entry longer than the batch");
    e.chunk = rest.substr(0, length);
    r = ByteReader(rest.substr(length));
    out.push_back(e);  // each entry takes at least two bytes: at most size/2 of them
  }
  return out;
}

std::string place_batch(std::uint64_t sequence, std::int64_t min_ms, std::int64_t max_ms, std::string_view batch) {
  std::string out;
  put_varint(out, sequence);
  put_varint(out, zigzag(min_ms));
  put_varint(out, static_cast<std::uint64_t>(max_ms) - static_cast<std::uint64_t>(min_ms));
  out += batch;
  return out;
}

core::Result<PlacedBatch> split_placed_batch(std::string_view bytes) {
  PlacedBatch p;
  ByteReader r(bytes);
  std::uint64_t span = 0;
  if (!r.varint(p.sequence) || !r.svarint(p.min_ms) || !r.varint(span))
    return core::make_error(CodecErrc::truncated, "placed batch header");
  // Unsigned arithmetic: the room above min_ms is below 2^64 for any min_ms.
  const std::uint64_t room =
      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - static_cast<std::uint64_t>(p.min_ms);
  if (span > room) return core::make_error(CodecErrc::malformed, "placed batch span past the end of time");
  p.max_ms = static_cast<std::int64_t>(static_cast<std::uint64_t>(p.min_ms) + span);
  auto entries = split_batch(r.rest());
  if (!entries) return std::move(entries).error();
  if (entries->empty()) return core::make_error(CodecErrc::truncated, "placed batch without entries");
  p.entries = std::move(*entries);
  return p;
}

}  // namespace surveyor::codec
