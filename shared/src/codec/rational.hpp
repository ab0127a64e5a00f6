// SPDX-License-Identifier: Apache-2.0
// The codec's search for values as integers over one denominator (not
// installed): chunk.cpp stores the integers when it finds one.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "surveyor/codec/chunk.hpp"

namespace surveyor::codec::detail {

inline constexpr std::int64_t kMaxExact = std::int64_t{1} << 53;
inline constexpr std::int64_t kMaxDenominator = std::int64_t{1} << 40;

// The integers n_i with (double)n_i / D == v_i for all i, if there is such a
// D: whole numbers, exact binary fractions, small fractions (continued
// fractions), the caller's hint, and larger ones (lattice reduction), tried
// in that order; a negative hint skips the lattice. `search`: how the hint
// and the lattice went.
bool as_rationals(std::span<const Sample> s, std::int64_t hint, std::int64_t& denominator, std::vector<std::int64_t>& n,
                  Search& search);

}  // namespace surveyor::codec::detail
