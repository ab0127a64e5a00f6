// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the chunk decoder (chunks come back from stores, so they are
// not trusted), and encode -> decode of whatever decodes, bit for bit.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "surveyor/codec/chunk.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace surveyor::codec;
  auto r = decode_chunk(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!r) return 0;
  auto again = decode_chunk(encode_chunk(*r));
  if (!again || again->size() != r->size()) std::abort();
  for (std::size_t i = 0; i < r->size(); ++i)
    if ((*again)[i].time_ms != (*r)[i].time_ms ||
        std::bit_cast<std::uint64_t>((*again)[i].value) != std::bit_cast<std::uint64_t>((*r)[i].value))
      std::abort();
  return 0;
}
