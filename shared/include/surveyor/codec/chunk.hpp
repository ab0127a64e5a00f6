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

// How a chunk came out; for benchmarks and tests.
struct ChunkInfo {
  std::size_t count = 0;
  std::int64_t time_unit_ms = 0;  // the timestamps' common step
  bool rational = false;          // values stored as integers n/D
  std::int64_t denominator = 0;   // D
  std::int64_t factor = 0;        // the integers' common step
  int method = 0;                 // 0 offset, 1 delta, 2 delta of delta; -1 for XOR
};

// Encodes samples (times strictly increasing) losslessly, bit for bit,
// NaN, infinities and -0.0 included. See chunk.cpp for the format.
[[nodiscard]] std::string encode_chunk(std::span<const Sample> samples, ChunkInfo* info = nullptr);

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

// Appends an entry holding `samples` (times strictly increasing) to `batch`.
void append_to_batch(std::string& batch, std::uint64_t id, std::span<const Sample> samples);

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

}  // namespace surveyor::codec

template <>
struct std::is_error_code_enum<surveyor::codec::CodecErrc> : std::true_type {};
