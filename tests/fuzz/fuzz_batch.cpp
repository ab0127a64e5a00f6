// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the batch framing of the SQLite head (rows come back from a
// store, so they are not trusted), each entry's chunk decoded, and the
// batch built again from what decoded splits into the same entries.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "surveyor/codec/chunk.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace surveyor::codec;
  auto entries = split_batch(std::string_view(reinterpret_cast<const char*>(data), size));
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
