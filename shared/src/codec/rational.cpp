// SPDX-License-Identifier: Apache-2.0
// Values as integers over one denominator D, for the chunk codec
// (chunk.cpp): whole numbers, exact binary fractions, small fractions by
// continued fractions on the exact binary value, the caller's hint, and
// large denominators (a total, such as used / total) by lattice reduction,
// each candidate verified bit for bit: (double)n / D is the value given.
#include "rational.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

namespace surveyor::codec::detail {
namespace {

// Exact continued fractions of a double need more than 64 bits.
__extension__ typedef __int128 Int128;

// The continued fraction of a/b (= |v|) until a convergent h/k gives v
// back: in 64 bits when a and b fit (most values), else in 128. A
// convergent that overflows the type is past the bounds either way.
template <class U>
bool convergent_of(U a, U b, double v, std::int64_t& p_out, std::int64_t& q_out) {
  U h1 = 1, h2 = 0, k1 = 0, k2 = 1;
  while (b != 0) {
    const U ai = a / b;
    U h = 0, k = 0;
    if (__builtin_mul_overflow(ai, h1, &h) || __builtin_add_overflow(h, h2, &h) || __builtin_mul_overflow(ai, k1, &k) ||
        __builtin_add_overflow(k, k2, &k))
      return false;
    if (k > static_cast<U>(kMaxDenominator) || h >= static_cast<U>(kMaxExact)) return false;
    const auto hh = static_cast<std::int64_t>(h), kk = static_cast<std::int64_t>(k);
    if (static_cast<double>(hh) / static_cast<double>(kk) == std::fabs(v)) {
      p_out = v < 0 ? -hh : hh;
      q_out = kk;
      return true;
    }
    const U r = a - ai * b;
    a = b;
    b = r;
    h2 = h1;
    h1 = h;
    k2 = k1;
    k1 = k;
  }
  return false;
}

// v as an exact fraction p/q with q <= kMaxDenominator, if the double
// division p/q gives v back; continued fractions on v's exact binary value.
bool small_fraction(double v, std::int64_t& p_out, std::int64_t& q_out) {
  if (!std::isfinite(v) || std::fabs(v) >= static_cast<double>(kMaxExact)) return false;
  if (v == std::trunc(v)) {
    if (v == 0 && std::signbit(v)) return false;  // -0.0 is not 0/1
    p_out = static_cast<std::int64_t>(v);
    q_out = 1;
    return true;
  }
  int e = 0;
  const double m = std::frexp(std::fabs(v), &e);
  const auto mant = static_cast<Int128>(std::ldexp(m, 53));
  const int shift = 53 - e;  // |v| = mant / 2^shift
  if (shift <= 0 || shift > 120) return false;
  if (shift < 63)
    return convergent_of<std::uint64_t>(static_cast<std::uint64_t>(mant), std::uint64_t{1} << shift, v, p_out, q_out);
  return convergent_of<Int128>(mant, static_cast<Int128>(1) << shift, v, p_out, q_out);
}

bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

// The smallest power of two that makes every value an integer, if any.
// `settled` tells whether small_fraction would give each value's own power
// of two as its denominator (or fail): then the lcm of those is this one,
// and the continued fractions need not run. For |x| = f 2^e (f in [0.5, 1))
// and x = m / 2^s (m odd), a fraction h/k with k < 2^s differs from x by at
// least 1 / (k 2^s) > 2^-2s, while a fraction that rounds to x is within
// half an ulp, 2^(e-54), of it: when 2s + e <= 53, no convergent before
// m / 2^s itself gives x back, and that one is within small_fraction's
// bounds (m < 2^53, 2^s <= 2^40).
std::optional<std::int64_t> dyadic_denominator(const std::vector<double>& v, bool& settled) {
  int shift = 0;
  settled = true;
  for (double x : v) {
    if (!std::isfinite(x)) return std::nullopt;
    if (x == std::trunc(x)) continue;
    int e = 0;
    const double m = std::frexp(std::fabs(x), &e);
    const auto mant = static_cast<std::uint64_t>(std::ldexp(m, 53));
    const int s = 53 - e - std::countr_zero(mant);
    shift = std::max(shift, s);
    if (2 * s + e > 53) settled = false;
  }
  if (shift > 40) return std::nullopt;
  return std::int64_t{1} << shift;
}

// Common denominators of a few values by lattice reduction. When v_i are the
// doubles nearest n_i/D, the vector (D, W(D v_1 - n_1), ..., W(D v_k - n_k))
// with W = 2^53 is unusually short in the lattice spanned by
// (1, W v_1, ..., W v_k) and W e_i; LLL finds short vectors, and their first
// coordinate is a candidate D. Candidates are verified bit for bit later.
//
// The Gram-Schmidt data of row r (its orthogonal part, norm and mu) depends
// on rows 0..r of the basis only, so it is computed again only for rows
// from the first one changed since, and only when LLL is about to read
// them: the same figures, bit for bit, as computing every row after every
// change, in a fraction of the time. k is at most 7 (as_rationals).
// Conversions that go through 64 bits when the value fits (exact either
// way: a long double holds 64 bits of mantissa), rather than the library's
// slower 128-bit routines.
long double to_long_double(Int128 x) {
  constexpr Int128 lo = std::numeric_limits<std::int64_t>::min(), hi = std::numeric_limits<std::int64_t>::max();
  return x >= lo && x <= hi ? static_cast<long double>(static_cast<std::int64_t>(x)) : static_cast<long double>(x);
}
Int128 to_int128(long double whole) {
  constexpr long double bound = 0x1p63L;
  return whole > -bound && whole < bound ? static_cast<Int128>(static_cast<std::int64_t>(whole)) : static_cast<Int128>(whole);
}

std::vector<std::int64_t> lattice_denominators(const std::vector<double>& v) {
  constexpr std::size_t kMaxDim = 8;
  const std::size_t k = v.size(), dim = k + 1;
  if (dim > kMaxDim) return {};
  std::array<std::array<Int128, kMaxDim>, kMaxDim> b{};
  const long double w = std::ldexp(1.0L, 53);
  b[0][0] = 1;
  for (std::size_t i = 0; i < k; ++i) {
    if (!(std::fabs(v[i]) < 1024.0)) return {};
    b[0][i + 1] = static_cast<Int128>(std::llroundl(w * v[i]));
    b[i + 1][i + 1] = static_cast<Int128>(std::llroundl(w));
  }
  std::array<std::array<long double, kMaxDim>, kMaxDim> mu{}, star{};
  std::array<long double, kMaxDim> norm{};
  std::size_t current = 0;  // rows [0, current) have their Gram-Schmidt data
  auto orthogonalize_through = [&](std::size_t last) {
    for (std::size_t i = current; i <= last; ++i) {
      std::array<long double, kMaxDim> row{};
      for (std::size_t c = 0; c < dim; ++c) star[i][c] = row[c] = to_long_double(b[i][c]);
      for (std::size_t j = 0; j < i; ++j) {
        long double dot = 0;
        for (std::size_t c = 0; c < dim; ++c) dot += row[c] * star[j][c];
        mu[i][j] = norm[j] > 0 ? dot / norm[j] : 0;
        for (std::size_t c = 0; c < dim; ++c) star[i][c] -= mu[i][j] * star[j][c];
      }
      norm[i] = 0;
      for (std::size_t c = 0; c < dim; ++c) norm[i] += star[i][c] * star[i][c];
    }
    current = std::max(current, last + 1);
  };
  std::size_t i = 1;
  for (int steps = 0; i < dim && steps < 2000; ++steps) {
    orthogonalize_through(i);
    for (std::size_t j = i; j-- > 0;) {
      const long double q = std::roundl(mu[i][j]);
      if (q == 0) continue;
      const Int128 qi = to_int128(q);
      for (std::size_t c = 0; c < dim; ++c) b[i][c] -= qi * b[j][c];
      current = i;  // row i changed
      orthogonalize_through(i);
    }
    if (norm[i] >= (0.99L - mu[i][i - 1] * mu[i][i - 1]) * norm[i - 1]) {
      ++i;
    } else {
      std::swap(b[i], b[i - 1]);
      current = i - 1;  // rows i - 1 and i changed
      i = std::max<std::size_t>(i - 1, 1);
    }
  }
  std::vector<std::int64_t> out;
  for (std::size_t r = 0; r < dim; ++r) {
    const Int128 d = b[r][0] < 0 ? -b[r][0] : b[r][0];
    if (d > 0 && d <= kMaxDenominator) out.push_back(static_cast<std::int64_t>(d));
  }
  return out;
}

// The integers n with (double)n / d == v_i for every value, if d works.
// For a power of two, v * d and n / d are exact: when v * d is a whole
// number below 2^53, it is the rounding below and n / d gives v back (but
// for -0.0, which the rounding below refuses too).
bool verify_denominator(std::span<const Sample> s, std::int64_t d, std::vector<std::int64_t>& n) {
  n.resize(s.size());
  const double dd = static_cast<double>(d);
  const bool power_of_two = std::has_single_bit(static_cast<std::uint64_t>(d));
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (power_of_two) {
      const double exact = s[i].value * dd;
      if (exact == std::trunc(exact) && std::fabs(exact) < static_cast<double>(kMaxExact) &&
          same_bits(static_cast<double>(static_cast<std::int64_t>(exact)) / dd, s[i].value)) {
        n[i] = static_cast<std::int64_t>(exact);
        continue;
      }
    }
    const long double scaled = static_cast<long double>(s[i].value) * d;
    if (!(std::fabs(scaled) < static_cast<long double>(kMaxExact))) return false;
    const auto guess = static_cast<std::int64_t>(std::llround(scaled));
    bool found = false;
    for (std::int64_t c : {guess, guess - 1, guess + 1}) {
      if (same_bits(static_cast<double>(c) / dd, s[i].value)) {
        n[i] = c;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

// The least common denominator of the values' small fractions
// (small_fraction), or 0 when a value has none or it passes kMaxDenominator.
std::int64_t small_fractions_lcm(const std::vector<double>& distinct) {
  std::int64_t lcm = 1;
  for (double v : distinct) {
    std::int64_t p = 0, q = 0;
    if (!small_fraction(v, p, q)) return 0;
    const std::int64_t g = std::gcd(lcm, q);
    if (lcm / g > kMaxDenominator / q) return 0;
    lcm = lcm / g * q;
  }
  return lcm;
}

}  // namespace

bool as_rationals(std::span<const Sample> s, std::int64_t hint, std::int64_t& denominator, std::vector<std::int64_t>& n,
                  Search& search) {
  search = Search::not_needed;
  std::vector<double> distinct;
  for (std::size_t i = 0; i < s.size() && distinct.size() < 7; ++i) {
    if (!std::isfinite(s[i].value)) return false;
    if (i == 0 || !same_bits(s[i].value, s[i - 1].value)) distinct.push_back(s[i].value);
  }
  std::vector<std::int64_t> candidates;
  bool settled = false;
  const std::optional<std::int64_t> dyadic = dyadic_denominator(distinct, settled);
  if (dyadic) candidates.push_back(*dyadic);
  // Settled: the small fractions' lcm would be this same power of two, or
  // none (a value past small_fraction's bounds): nothing to add.
  if (!dyadic || !settled)
    if (const std::int64_t lcm = small_fractions_lcm(distinct); lcm > 0) candidates.insert(candidates.begin(), lcm);
  for (std::int64_t d : candidates)
    if (verify_denominator(s, d, n)) return denominator = d, true;
  if (hint > 0 && hint <= kMaxDenominator && verify_denominator(s, hint, n)) {
    search = Search::hinted;
    return denominator = hint, true;
  }
  if (distinct.size() < 3) return false;
  if (hint < 0) {
    search = Search::skipped;
    return false;
  }
  for (std::int64_t d : lattice_denominators(distinct))
    if (verify_denominator(s, d, n)) {
      search = Search::found;
      return denominator = d, true;
    }
  search = Search::failed;
  return false;
}

}  // namespace surveyor::codec::detail
