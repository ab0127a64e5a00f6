// SPDX-License-Identifier: Apache-2.0
// Compressed chunks of series samples: a lossless encoder and a decoder that is safe on
// damaged bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/core/result.hpp"

namespace surveyor::codec {

enum class CodecErrc { malformed = 1, truncated, unsorted };
const std::error_category& codec_category();
inline std::error_code make_error_code(CodecErrc e) { return {static_cast<int>(e), codec_category()}; }

struct Sample {
  std::int64_t time_ms = 0;
  double value = 0;
};

// One hour of a series: count, sum, min and max of its non-NaN values.
struct Rollup {
  std::int64_t start_ms = 0;
  std::int64_t count = 0;
  double sum = 0, min = 0, max = 0;
  [[nodiscard]] double avg() const { return sum / static_cast<double>(count); }
  friend bool operator==(const Rollup&, const Rollup&) = default;
};

// How the search for a large common denominator went (see encode_chunk).
enum class Search : std::uint8_t {
  not_needed,  // settled without it: XOR for non-finite values or fewer than 3 distinct ones, or a small D
  hinted,      // the hint was D
  found,       // the lattice found D
  failed,      // the lattice ran and found none: XOR
  skipped,     // the hint said not to run it: XOR
};

// How a chunk came out: for benchmarks and tests, and for the hint a
// series' next chunk is encoded with.
struct ChunkInfo {
  std::size_t count = 0;
  std::int64_t time_unit_ms = 0;  // the timestamps' common step
  bool rational = false;          // values stored as integers n/D
  std::int64_t denominator = 0;   // D
  std::int64_t factor = 0;        // the integers' common step
  int method = 0;                 // 0 offset, 1 delta, 2 delta of delta; -1 for XOR
  Search search = Search::not_needed;
};

// Encodes samples (times strictly increasing) losslessly, bit for bit,
// NaN, infinities and -0.0 included. See chunk.cpp for the format.
//
// Ratios such as used/total share a denominator D (the total) too large to
// be read off one value; a lattice search finds it (up to about 2^30) at
// many times the cost of the rest of the encoding, or fails. A series'
// chunks tend to share their D, or to fail alike, so `denominator_hint`
// carries what its last chunk learned: > 0, a D to try before searching
// (verified bit for bit like every D: a stale one costs one check); < 0,
// the search failed last time: values no cheaper way settles are XOR-coded
// without it. 0, or a hint that does not apply, gives the output of no hint.
[[nodiscard]] std::string encode_chunk(std::span<const Sample> samples, ChunkInfo* info = nullptr,
                                       std::int64_t denominator_hint = 0);

// Decodes a chunk. The bytes may be damaged (they come from a store): every
// count and length is checked against what the bytes can hold, so bad input
// is an error, never a crash or a large allocation.
[[nodiscard]] core::Result<std::vector<Sample>> decode_chunk(std::string_view bytes);

// A batch holds the chunks of several series, each under a numeric id (one
// report's samples in the SQLite head). Layout, per entry: varint id |
// varint length | chunk of that many bytes.
struct BatchEntry {
  std::uint64_t id = 0;
  std::string_view chunk;  // into the batch's bytes: decode_chunk reads it
};

// Appends an entry holding `samples` (times strictly increasing) to `batch`,
// encoded as encode_chunk does (with its hint, and telling how in `info`).
void append_to_batch(std::string& batch, std::uint64_t id, std::span<const Sample> samples,
                     std::int64_t denominator_hint = 0, ChunkInfo* info = nullptr);
// Appends an entry holding a chunk encode_chunk made already (elsewhere,
// before the batch was started).
void append_chunk_to_batch(std::string& batch, std::uint64_t id, std::string_view chunk);

// The entries of a batch, in order, their chunks not yet decoded. The bytes
// come from a store: a length past the end, a truncated varint or a batch
// of more entries than it has bytes is an error, never a crash.
[[nodiscard]] core::Result<std::vector<BatchEntry>> split_batch(std::string_view bytes);

// A placed batch: one report's samples for one CI in the Redis head, with
// the number it was written under and the span of its samples. Layout:
// varint sequence | zigzag varint min | varint (max - min) | batch.
struct PlacedBatch {
  std::uint64_t sequence = 0;
  std::int64_t min_ms = 0, max_ms = 0;
  std::vector<BatchEntry> entries;  // views into the bytes, as split_batch's
};

// `batch` (not empty) placed: its sequence and the span of its samples.
[[nodiscard]] std::string place_batch(std::uint64_t sequence, std::int64_t min_ms, std::int64_t max_ms,
                                      std::string_view batch);

// A placed batch read back from a store: a truncated header, a span that
// does not fit in 64 bits, or a damaged or empty batch is an error.
[[nodiscard]] core::Result<PlacedBatch> split_placed_batch(std::string_view bytes);

// A day of a series' hourly rollups in one block (the Redis store keeps a
// block per series and UTC day, not a sorted-set member per hour). Layout:
// 'R' | 1 (version) | zigzag varint day (its start / kDayMs) | per hour,
// ascending: the hour of the day (1 byte, 0-23) | varint count (> 0) | sum,
// min, max (8 bytes each, the double's bits, little-endian). -0 is kept as
// 0, as SQLite's REAL column keeps it; every other value bit for bit.
inline constexpr std::int64_t kDayMs = 86'400'000;
inline constexpr char kRollupDayMagic = 'R';
// `hours`: not empty, their start_ms on the hour, ascending, all in one UTC
// day, counts > 0.
[[nodiscard]] std::string encode_rollup_day(std::span<const Rollup> hours);
// A block read back from a store: a wrong magic or version, a truncated
// field, an hour out of order or past 23, a count of 0 or a day whose
// hours do not fit in 64-bit milliseconds is an error, never a crash.
[[nodiscard]] core::Result<std::vector<Rollup>> decode_rollup_day(std::string_view bytes);

}  // namespace surveyor::codec

template <>
struct std::is_error_code_enum<surveyor::codec::CodecErrc> : std::true_type {};
