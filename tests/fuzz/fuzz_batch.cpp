// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the batch framing of the SQLite head and the placed batches
// of the Redis head (both come back from a store, so they are not
// trusted), each entry's chunk decoded, and the batch built again from
// what decoded splits into the same entries; a placed batch placed again
// reads back with the same sequence and span.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "surveyor/codec/chunk.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace surveyor::codec;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto placed = split_placed_batch(bytes)) {
    if (placed->min_ms > placed->max_ms || placed->entries.empty()) std::abort();
    const std::string one_empty_entry("\0\0", 2);  // the header is what is checked here
    auto back = split_placed_batch(place_batch(placed->sequence, placed->min_ms, placed->max_ms, one_empty_entry));
    if (!back || back->sequence != placed->sequence || back->min_ms != placed->min_ms || back->max_ms != placed->max_ms)
      std::abort();
  }
  auto entries = split_batch(bytes);
  if (!entries) return 0;
  std::string again;
  std::size_t decoded = 0;
  for (const BatchEntry& e : *entries) {
    auto samples = decode_chunk(e.chunk);
    if (!samples) continue;
    append_to_batch(again, e.id, *samples);
    ++decoded;
  }
  auto back = split_batch(again);
  if (!back || back->size() != decoded) std::abort();
  return 0;
}
