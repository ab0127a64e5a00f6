// SPDX-License-Identifier: Apache-2.0
// The chunk codec: values and times read back exactly, and damaged chunks
// refused; the same of batches, placed batches and rollup day blocks.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "surveyor/codec/chunk.hpp"

namespace surveyor::codec {
namespace {

bool same(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

// Equal to the bit, NaNs included.
bool same_samples(const std::vector<Sample>& a, const std::vector<Sample>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].time_ms != b[i].time_ms || !same(a[i].value, b[i].value)) return false;
  return true;
}

void round_trip(const std::vector<Sample>& in, ChunkInfo* info = nullptr) {
  const std::string bytes = encode_chunk(in, info);
  auto out = decode_chunk(bytes);
  ASSERT_TRUE(out) << out.error().describe();
  ASSERT_EQ(out->size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    ASSERT_EQ((*out)[i].time_ms, in[i].time_ms) << i;
    ASSERT_TRUE(same((*out)[i].value, in[i].value)) << i << ": " << in[i].value << " came back as " << (*out)[i].value;
  }
}

std::string hex(const std::string& b) {
  std::string out;
  for (unsigned char c : b) {
    out += "0123456789abcdef"[c >> 4];
    out += "0123456789abcdef"[c & 15];
  }
  return out;
}

std::vector<Sample> regular(std::vector<double> values, std::int64_t t0 = 1'790'000'000'000, std::int64_t step = 10'000) {
  std::vector<Sample> s;
  for (std::size_t i = 0; i < values.size(); ++i) s.push_back({t0 + static_cast<std::int64_t>(i) * step, values[i]});
  return s;
}

TEST(Codec, EdgeValuesRoundTripBitForBit) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const double big = std::numeric_limits<double>::max(), tiny = std::numeric_limits<double>::denorm_min();
  round_trip({});
  round_trip(regular({42.0}));
  round_trip(regular({1.5, -0.0}));
  round_trip(regular({nan, inf, -inf, -0.0, 0.0, big, -big, tiny, -tiny, 1e-300, 1e300}));
  round_trip(regular({0.1, 0.2, 0.30000000000000004, 1.0 / 3, 2.0 / 3, M_PI, std::nextafter(1.0, 2.0)}));
  // Huge jumps, in integers and in floats.
  round_trip(regular({0, 9007199254740991.0, -9007199254740991.0, 0, 1}));
  round_trip(regular({1e-10, 1e10, 1e-10, 1e10}));
  // A NaN with a payload keeps its bits.
  round_trip(regular({std::bit_cast<double>(0x7ff8dead0000beefULL), 1.0}));
}

// The bytes of a chunk are a format: stored chunks are read by every later
// version. Rational offsets, Gorilla XOR (NaN included), huge deltas, a
// Rice quotient written raw (40 ones, then 64 bits), a jittered step and
// small fractions, as the encoder of the first version wrote them, byte
// for byte.
TEST(Codec, EncodedBytesAreStable) {
  EXPECT_EQ(hex(encode_chunk(regular({100, 103, 101, 250, 99, 100}))),
            "53010680b083c59868904e01000001c8010100010400905ff38020");
  EXPECT_EQ(hex(encode_chunk(regular({0.1, M_PI, -2.5e-7, 1e300, std::nan(""), 0.1}))),
            "53010680b083c59868904e01000103fb999999999999ac3effb0b862cdddb48383ffe99e70cf4f1c095b029c8b2ca2d66046"
            "01cfe43c8800759c901066666666666680");
  EXPECT_EQ(hex(encode_chunk(regular({0, 9007199254740991.0, -9007199254740991.0, 0, 1}))),
            "53010580b083c59868904e01000001000101003517ffffffffffffbbffffffffffff77ffffffffffff80000000000002");
  EXPECT_EQ(hex(encode_chunk(regular({0, 1, 0, 0, 1125899906842624.0}))),
            "53010580b083c59868904e01000001000100000008ffffffffff0004000000000000");
  EXPECT_EQ(hex(encode_chunk(std::vector<Sample>{{1'790'000'000'000, 0.25},
                                                 {1'790'000'010'000, 0.5},
                                                 {1'790'000'021'000, 0.75},
                                                 {1'790'000'030'000, 0.125}})),
            "53010480b083c59868e8070a010008040100010195ba00");
  EXPECT_EQ(hex(encode_chunk(regular({1234.0 / 16000000000.0 * 1e6, 7.0 / 100, 13.0 / 100, 99.0 / 100}))),
            "53010480b083c59868904e010000c03ed2090101000b01c4f03f5c00");
}

// The encoder's shortcuts (binary fractions taken without continued
// fractions when those could give no other denominator, a power of two
// verified without rounding, a regular step without a gcd per sample, the
// Rice parameter searched from the narrowest value's width) must not change
// a byte: inputs at their edges, with the bytes the encoder wrote before
// them.
TEST(Codec, ShortcutsWriteTheSameBytes) {
  const auto fnv = [](const std::string& b) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : b) h = (h ^ c) * 1099511628211ULL;
    return h;
  };
  // Binary fractions at the edge of the shortcut: 2s + e = 53, then 54.
  EXPECT_EQ(hex(encode_chunk(regular({1 + 1.0 / (1 << 26), 1 + 3.0 / (1 << 26), 1.5, 1 + 5.0 / (1 << 26)}))),
            "53010480b083c59868904e0100008080802082808040010100190000004bfffff57ffffd40");
  EXPECT_EQ(hex(encode_chunk(regular({0.5 + 1.0 / (1 << 27), 0.75, 0.5 + 3.0 / (1 << 27), 0.625}))),
            "53010480b083c59868904e0100008080804082808040010100192ffffff5fffff97ffffe80");
  EXPECT_EQ(hex(encode_chunk(regular({std::ldexp(1.0, -20) * 3, std::ldexp(1.0, -40) * 5, std::ldexp(1.0, -13) * 7}))),
            "53010380b083c59868904e010000808080808020808080030101001d00bfffebcffffff6");
  // A binary fraction (2s + e = 60) that a fraction of a smaller
  // denominator, 117440513 / 134217729, gives back: that one is taken.
  EXPECT_EQ(hex(encode_chunk(regular({939524097.0 / (1 << 30), 939524097.0 / (1 << 30), 0.75}))),
            "53010380b083c59868904e010000e4ffffff01d0ffffbf03fdffff1f01000020");
  EXPECT_EQ(hex(encode_chunk(regular({939524097.0 / (1 << 30)}))), "53010180b083c5986800f9ffff3ff4ffff6f01010000");
  // Deltas of +1 and -2: the Rice cost is flat from k = 1 to the narrowest
  // value's width, and the smallest k is taken.
  std::vector<double> walk{100};
  for (int i = 1; i < 40; ++i) walk.push_back(walk.back() + (i % 2 ? 1 : -2));
  EXPECT_EQ(hex(encode_chunk(regular(walk))),
            "53012880b083c59868904e01000001c801010100010000000002596596596596596596596596596580");
  // -0.0 among binary fractions; whole numbers past 2^53; negative fractions.
  EXPECT_EQ(hex(encode_chunk(regular({0.5, -0.0, 0.25, 0.75}))),
            "53010480b083c59868904e0100010ff800000000000030157ff0177fba82e0");
  EXPECT_EQ(hex(encode_chunk(regular({9007199254740992.0, 9007199254740994.0, 18014398509481984.0}))),
            "53010380b083c59868904e01000121a00000000000007f8000000003af4800000000000080");
  EXPECT_EQ(hex(encode_chunk(regular({-0.75, -0.5, 0.25, -1.125, 3.0}))), "53010580b083c59868904e010000080b0100050306b30f10");
  // A regular step, then jitter.
  EXPECT_EQ(hex(encode_chunk(std::vector<Sample>{{1'790'000'000'000, 1},
                                                 {1'790'000'010'000, 2},
                                                 {1'790'000'020'000, 3},
                                                 {1'790'000'030'000, 4},
                                                 {1'790'000'041'000, 5},
                                                 {1'790'000'050'000, 6}})),
            "53010680b083c59868e8070a00000102010200003760");
  // Zeros beside wide values, and a day of counters: the Rice search
  // across escaped values.
  const std::string wide = encode_chunk(regular({0, 0, 5e9, 3, 0, 1e12, 7, 0, 1, 2, 4e15, 0}));
  EXPECT_EQ(wide.size(), 63u);
  EXPECT_EQ(fnv(wide), 0x873cff6bed2431ffULL);
  std::vector<double> counter;
  for (std::int64_t i = 0; i < 1440; ++i) counter.push_back(static_cast<double>((i * i * 7919) % 1000003 * (i % 3 ? 1 : 4096)));
  const std::string day = encode_chunk(regular(counter));
  EXPECT_EQ(day.size(), 5796u);
  EXPECT_EQ(fnv(day), 0xed7a6369372b2907ULL);
  round_trip(regular(counter));
}

TEST(Codec, IrregularAndExtremeTimes) {
  round_trip({{-5'000, 1}, {-1, 2}, {0, 3}, {1, 4}, {1'000'000'000'000'000, 5}});
  round_trip({{1, 1}, {2, 1}, {4, 1}, {7, 1}, {11, 1}, {1'000'011, 1}});
  ChunkInfo info;
  round_trip(regular({1, 2, 3}, 1'790'000'000'000, 10'000), &info);
  EXPECT_EQ(info.time_unit_ms, 10'000);
  std::vector<Sample> jitter = regular(std::vector<double>(100, 1.0));
  jitter[50].time_ms += 1000;
  round_trip(jitter, &info);
  EXPECT_EQ(info.time_unit_ms, 1000);
}

TEST(Codec, FindsTheExactDenominator) {
  ChunkInfo info;
  // busy / total jiffies, as the agent divides them.
  std::vector<double> cpu;
  for (int busy : {893, 1200, 77, 1999, 0, 2000}) cpu.push_back(busy / 2000.0);
  round_trip(regular(cpu), &info);
  EXPECT_TRUE(info.rational);
  EXPECT_EQ(2000 % info.denominator, 0) << info.denominator;
  // bytes / total: 4096-byte pages over 100 GiB.
  std::vector<double> fs;
  for (std::int64_t pages = 5'000'000; pages < 5'000'100; pages += 7) fs.push_back(double(pages * 4096) / double(100LL << 30));
  round_trip(regular(fs), &info);
  EXPECT_TRUE(info.rational);
  // Two decimals.
  round_trip(regular({0.52, 0.58, 0.59, 1.07, 12.34}), &info);
  EXPECT_TRUE(info.rational);
  EXPECT_EQ(info.denominator, 100);
  // Page-multiple integers: the step is found.
  round_trip(regular({4096.0 * 1000, 4096.0 * 1003, 4096.0 * 990}), &info);
  EXPECT_EQ(info.factor, 4096 * 1);
  // Full-precision noise is not rational: XOR.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.5, 0.1);
  std::vector<double> random;
  for (int i = 0; i < 100; ++i) random.push_back(noise(rng));
  round_trip(regular(random), &info);
  EXPECT_FALSE(info.rational);
}

// used / total of a size no power of two (blocks of a filesystem): no one
// value gives the total away, so the codec searches for it; given as the
// hint, it is found at once, and a wrong or useless hint changes nothing.
TEST(Codec, ALargeTotalIsSearchedForOnceAndThenHinted) {
  const double total = 1'000'000'007.0;
  auto ratios = [&](std::initializer_list<double> shares) {
    std::vector<double> v;
    for (double r : shares) v.push_back(std::floor(total * r) / total);
    return regular(v);
  };
  const std::vector<Sample> first = ratios({0.31, 0.42, 0.37, 0.55, 0.61, 0.48});
  ChunkInfo info;
  round_trip(first, &info);
  ASSERT_TRUE(info.rational);
  EXPECT_EQ(info.search, Search::found);
  const std::int64_t d = info.denominator;
  EXPECT_EQ(d, 1'000'000'007);
  const std::string plain = encode_chunk(first);
  EXPECT_EQ(encode_chunk(first, &info, d), plain);
  EXPECT_EQ(info.search, Search::hinted);
  // The next report's samples, with the hint: the same denominator.
  const std::vector<Sample> next = ratios({0.33, 0.34, 0.52, 0.29, 0.44, 0.47});
  ChunkInfo hinted;
  const std::string bytes = encode_chunk(next, &hinted, d);
  EXPECT_TRUE(hinted.rational);
  EXPECT_EQ(hinted.search, Search::hinted);
  EXPECT_EQ(hinted.denominator, d);
  auto back = decode_chunk(bytes);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_TRUE(same_samples(*back, next));
  // Hints that do not verify, or are out of range, leave the output as it is without one.
  for (std::int64_t wrong : {d + 1, std::int64_t{7}, std::int64_t{1} << 41}) {
    EXPECT_EQ(encode_chunk(first, &info, wrong), plain) << wrong;
    EXPECT_EQ(info.search, Search::found);
  }
  // Values that small fractions settle are not searched for, hint or not.
  std::vector<double> cpu;
  for (int busy : {893, 1200, 77, 1999}) cpu.push_back(busy / 2000.0);
  ChunkInfo small;
  EXPECT_EQ(encode_chunk(regular(cpu), &small, d), encode_chunk(regular(cpu)));
  EXPECT_EQ(encode_chunk(regular(cpu), &small, -1), encode_chunk(regular(cpu)));
  EXPECT_TRUE(small.rational);
  EXPECT_EQ(small.search, Search::not_needed);
  // Noise: the search fails, and told so, the codec does not search again
  // and writes what the failed search gave.
  const std::vector<Sample> noise = regular({M_PI, M_E, std::sqrt(2.0), std::sqrt(3.0)});
  round_trip(noise, &small);
  EXPECT_EQ(small.search, Search::failed);
  EXPECT_EQ(encode_chunk(noise, &small, -1), encode_chunk(noise));
  EXPECT_EQ(small.search, Search::skipped);
  // A total past what the search can find (RAM bytes, about 2^34) fails too.
  const double ram = 16'000'000'000.0 + 4096.0 * 12'345;
  std::vector<double> used;
  for (double r : {0.31, 0.42, 0.37, 0.55}) used.push_back(std::floor(ram * r) / ram);
  round_trip(regular(used), &small);
  EXPECT_EQ(small.search, Search::failed);
}

TEST(Codec, ShapedSeriesAreSmall) {
  // 1,440 points of a slowly growing filesystem, 10 s apart.
  std::vector<double> fs;
  std::mt19937_64 rng(1);
  std::int64_t used = 40LL << 30;
  for (int i = 0; i < 1440; ++i) {
    used += (std::uniform_int_distribution<std::int64_t>(128, 384)(rng)) * 4096;
    fs.push_back(static_cast<double>(used));
  }
  const std::string bytes = encode_chunk(regular(fs));
  EXPECT_LT(bytes.size(), 1440u * 13 / 10) << "about a byte per point";
  // A constant series costs almost nothing.
  EXPECT_LT(encode_chunk(regular(std::vector<double>(1440, 150.0))).size(), 400u);
}

TEST(Codec, RandomSeriesRoundTrip) {
  std::mt19937_64 rng(99);
  for (int round = 0; round < 200; ++round) {
    const int n = std::uniform_int_distribution<int>(0, 300)(rng);
    std::vector<Sample> s;
    std::int64_t t = std::uniform_int_distribution<std::int64_t>(-1'000'000'000, 2'000'000'000'000)(rng);
    const int kind = round % 4;
    for (int i = 0; i < n; ++i) {
      t += std::uniform_int_distribution<std::int64_t>(1, round % 3 == 0 ? 10'000'000 : 3)(rng);
      double v = 0;
      if (kind == 0) v = std::bit_cast<double>(rng());  // any bits at all
      if (kind == 1) v = static_cast<double>(static_cast<std::int64_t>(rng() >> 12) - (1LL << 51));
      if (kind == 2) v = std::uniform_int_distribution<int>(0, 10000)(rng) / 100.0;
      if (kind == 3) v = std::normal_distribution<double>(0, 1e6)(rng);
      s.push_back({t, v});
    }
    round_trip(s);
  }
}

TEST(Codec, DamagedChunksAreErrors) {
  std::vector<double> v;
  for (int i = 0; i < 200; ++i) v.push_back(i * 0.25 + (i % 7));
  const std::string good = encode_chunk(regular(v));
  EXPECT_FALSE(decode_chunk(""));
  EXPECT_FALSE(decode_chunk("X"));
  EXPECT_FALSE(decode_chunk(std::string("S\x02", 2)));
  // Every truncation fails cleanly (or, when only padding bits were cut, decodes).
  const auto samples = decode_chunk(good);
  ASSERT_TRUE(samples);
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto r = decode_chunk(std::string_view(good).substr(0, n));
    if (r) {
      EXPECT_TRUE(same_samples(*r, *samples)) << n;
    } else {
      EXPECT_TRUE(r.error().code == CodecErrc::truncated || r.error().code == CodecErrc::malformed)
          << n << ": " << r.error().describe();
    }
  }
  // A count far beyond the bytes is refused before anything is allocated.
  std::string huge = "S\x01\xff\xff\xff\xff\xff\xff\xff\xff\x7f";
  auto r = decode_chunk(huge);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, CodecErrc::malformed);
  // A bit flip is refused as malformed, truncated or unsorted, or decodes
  // to samples that are in time order and encode back to a chunk that
  // decodes to them again: never to something the store could not hold.
  std::size_t refused = 0;
  for (std::size_t i = 0; i < good.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string s = good;
      s[i] = static_cast<char>(s[i] ^ (1 << bit));
      auto d = decode_chunk(s);
      if (!d) {
        ++refused;
        EXPECT_TRUE(d.error().code == CodecErrc::malformed || d.error().code == CodecErrc::truncated ||
                    d.error().code == CodecErrc::unsorted)
            << i << "/" << bit << ": " << d.error().describe();
        continue;
      }
      for (std::size_t k = 1; k < d->size(); ++k) ASSERT_LT((*d)[k - 1].time_ms, (*d)[k].time_ms) << i << "/" << bit;
      auto again = decode_chunk(encode_chunk(*d));
      ASSERT_TRUE(again) << i << "/" << bit;
      EXPECT_TRUE(same_samples(*again, *d)) << i << "/" << bit;
    }
  EXPECT_GT(refused, 0u);
}

TEST(Codec, BatchesSplitIntoTheirEntriesAndRefuseBadFraming) {
  std::string batch;
  const std::vector<Sample> a{{1000, 0.5}, {2000, -0.0}}, b{{1500, 7.0}};
  append_to_batch(batch, 3, a);
  append_to_batch(batch, 300, b);  // an id of two varint bytes
  append_to_batch(batch, 4, {});
  auto entries = split_batch(batch);
  ASSERT_TRUE(entries) << entries.error().describe();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].id, 3u);
  EXPECT_EQ((*entries)[1].id, 300u);
  EXPECT_EQ((*entries)[2].id, 4u);
  auto first = decode_chunk((*entries)[0].chunk);
  ASSERT_TRUE(first);
  EXPECT_TRUE(same_samples(*first, a));
  auto second = decode_chunk((*entries)[1].chunk);
  ASSERT_TRUE(second);
  EXPECT_TRUE(same_samples(*second, b));
  // A chunk encoded before the batch was started makes the same bytes.
  std::string again;
  append_chunk_to_batch(again, 3, encode_chunk(a));
  append_to_batch(again, 300, b);
  append_chunk_to_batch(again, 4, encode_chunk({}));
  EXPECT_EQ(again, batch);
  auto empty = split_batch("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  // Each cut ends at an entry's end (fewer entries) or fails as truncated.
  std::size_t whole = 0;
  for (std::size_t n = 0; n < batch.size(); ++n) {
    auto r = split_batch(std::string_view(batch).substr(0, n));
    if (r) {
      ++whole;
      for (const BatchEntry& e : *r) EXPECT_TRUE(decode_chunk(e.chunk)) << n;
    } else {
      EXPECT_EQ(r.error().code, CodecErrc::truncated) << n;
    }
  }
  EXPECT_EQ(whole, 3u) << "the empty batch and the two whole-entry prefixes";
  // A length past the end, and a varint that never ends.
  EXPECT_FALSE(split_batch(std::string("\x01\xff\xff\xff\xff\x0fS", 7)));
  EXPECT_FALSE(split_batch(std::string(12, '\xff')));
}

TEST(Codec, PlacedBatchesKeepTheirSequenceAndSpanAndRefuseBadHeaders) {
  std::string batch;
  append_to_batch(batch, 1, std::vector<Sample>{{-5000, 1.0}, {7000, 2.0}});
  const std::int64_t lo = std::numeric_limits<std::int64_t>::min(), hi = std::numeric_limits<std::int64_t>::max();
  for (auto [min, max] : {std::pair{std::int64_t{-5000}, std::int64_t{7000}}, std::pair{lo, hi}, std::pair{hi, hi}}) {
    const std::string placed = place_batch(300, min, max, batch);
    auto p = split_placed_batch(placed);
    ASSERT_TRUE(p) << p.error().describe();
    EXPECT_EQ(p->sequence, 300u);
    EXPECT_EQ(p->min_ms, min);
    EXPECT_EQ(p->max_ms, max);
    ASSERT_EQ(p->entries.size(), 1u);
    EXPECT_EQ(p->entries[0].id, 1u);
    // Every cut fails: inside the header as truncated, inside the batch as truncated.
    for (std::size_t n = 0; n < placed.size(); ++n) {
      auto cut = split_placed_batch(std::string_view(placed).substr(0, n));
      ASSERT_FALSE(cut) << n;
      EXPECT_EQ(cut.error().code, CodecErrc::truncated) << n;
    }
  }
  // min = INT64_MAX with a span of 1: past the end of time.
  auto past = split_placed_batch(place_batch(1, hi, hi, batch).replace(11, 1, 1, '\x01'));
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, CodecErrc::malformed);
  EXPECT_FALSE(split_placed_batch(std::string(12, '\xff')));
}

// A day of rollups reads back exactly (-0 as 0), before 1970 too, and at the
// last day 64-bit milliseconds can hold.
TEST(Codec, RollupDaysReadBackExactly) {
  constexpr std::int64_t kHour = 3'600'000;
  const double kInf = std::numeric_limits<double>::infinity();
  const std::int64_t last_day = (std::numeric_limits<std::int64_t>::max() - 23 * kHour) / kDayMs * kDayMs;
  for (std::int64_t day : {std::int64_t{20'416} * kDayMs, std::int64_t{-3} * kDayMs, std::int64_t{0}, last_day}) {
    SCOPED_TRACE(day);
    const std::vector<Rollup> in{{day, 1, 0.1, 0.1, 0.1},
                                 {day + 7 * kHour, 360, 1e300, -kInf, kInf},
                                 {day + 23 * kHour, std::numeric_limits<std::int64_t>::max(), 5e-324, -1.5, 2.25}};
    const std::string block = encode_rollup_day(in);
    EXPECT_EQ(block.front(), kRollupDayMagic);
    auto out = decode_rollup_day(block);
    ASSERT_TRUE(out) << out.error().describe();
    ASSERT_EQ(out->size(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
      EXPECT_EQ((*out)[i].start_ms, in[i].start_ms);
      EXPECT_EQ((*out)[i].count, in[i].count);
      EXPECT_TRUE(same((*out)[i].sum, in[i].sum) && same((*out)[i].min, in[i].min) && same((*out)[i].max, in[i].max));
    }
  }
  // NaN bits pass through; -0 comes back as 0, as SQLite's REAL column keeps it.
  auto zero = decode_rollup_day(encode_rollup_day(std::vector<Rollup>{{0, 2, -0.0, -0.0, std::nan("7")}}));
  ASSERT_TRUE(zero);
  EXPECT_TRUE(same((*zero)[0].sum, 0.0));
  EXPECT_TRUE(same((*zero)[0].max, std::nan("7")));
  // 24 hours of 360 samples take 24 * 27 bytes and a header of 5.
  std::vector<Rollup> full;
  for (int h = 0; h < 24; ++h) full.push_back({20'416 * kDayMs + h * kHour, 360, 1234.5, 1.0, 9.0});
  EXPECT_LE(encode_rollup_day(full).size(), 24u * 27 + 5);
}

// Damaged blocks are errors naming what is wrong, never a crash.
TEST(Codec, DamagedRollupDaysAreErrors) {
  constexpr std::int64_t kHour = 3'600'000;
  // 'R', 1, day 1 (one byte zigzagged): a header of 3; entries of 26 bytes.
  const std::string good = encode_rollup_day(std::vector<Rollup>{{kDayMs, 3, 6, 1, 3}, {kDayMs + 5 * kHour, 1, 2, 2, 2}});
  constexpr std::size_t kHead = 3, kEntry = 26;
  ASSERT_EQ(good.size(), kHead + 2 * kEntry);
  for (std::size_t n = 0; n < good.size(); ++n) {  // every cut but the one after the first entry
    if (n == kHead + kEntry) continue;
    EXPECT_FALSE(decode_rollup_day(std::string_view(good).substr(0, n))) << n;
  }
  EXPECT_TRUE(decode_rollup_day(std::string_view(good).substr(0, kHead + kEntry)));
  const auto fails = [](const std::string& bytes, CodecErrc code) {
    auto r = decode_rollup_day(bytes);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, code) << r.error().describe();
  };
  fails(good.substr(0, kHead), CodecErrc::truncated);                   // the header alone: no hours
  fails(good.substr(0, kHead + kEntry - 1), CodecErrc::truncated);      // an entry cut short
  fails("S" + good.substr(1), CodecErrc::malformed);                    // not a rollup block
  fails(good.substr(0, 1) + '\x02' + good.substr(2), CodecErrc::malformed);  // a later version
  std::string s = good;
  s[kHead] = 24;  // the hour of the day past 23
  fails(s, CodecErrc::unsorted);
  s = good;
  s[kHead + kEntry] = 0;  // the second hour at the first one's
  fails(s, CodecErrc::unsorted);
  s = good;
  s[kHead + 1] = 0;  // a count of 0
  fails(s, CodecErrc::malformed);
  fails(std::string("R\x01") + std::string(9, '\xff') + '\x01', CodecErrc::malformed);  // a day past 64-bit ms
  fails(std::string("R\x01") + std::string(11, '\xff'), CodecErrc::truncated);          // an endless varint
  // A third hour whose count is 2^63, past INT64_MAX.
  fails(good + '\x07' + std::string(9, '\x80') + '\x01' + std::string(24, '\0'), CodecErrc::malformed);
}

}  // namespace
}  // namespace surveyor::codec
