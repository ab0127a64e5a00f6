// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the rollup day blocks of the Redis store (they come back
// from a store, so they are not trusted). Whatever decodes is encoded
// again and reads back the same, bit for bit (-0 as 0).
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "surveyor/codec/chunk.hpp"

namespace {
bool same(double a, double b) {
  return std::bit_cast<std::uint64_t>(a == 0 ? 0.0 : a) == std::bit_cast<std::uint64_t>(b);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace surveyor::codec;
  auto r = decode_rollup_day(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!r) return 0;
  if (r->empty() || r->size() > 24) std::abort();
  auto again = decode_rollup_day(encode_rollup_day(*r));
  if (!again || again->size() != r->size()) std::abort();
  for (std::size_t i = 0; i < r->size(); ++i) {
    const Rollup &a = (*r)[i], &b = (*again)[i];
    if (a.start_ms != b.start_ms || a.count != b.count || !same(a.sum, b.sum) || !same(a.min, b.min) ||
        !same(a.max, b.max))
      std::abort();
  }
  return 0;
}
