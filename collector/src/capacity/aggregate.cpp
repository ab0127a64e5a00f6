// SPDX-License-Identifier: Apache-2.0
// How buckets become values: quantiles as Prometheus computes them, rollups folded per step,
// and series combined timestamp by timestamp.
#include "surveyor/collector/capacity/aggregate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "surveyor/core/names.hpp"

namespace surveyor::collector::capacity {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double reduce(std::vector<double>& v, Agg agg) {
  switch (agg) {
    case Agg::avg: {
      double sum = 0;
      for (double x : v) sum += x;
      return sum / static_cast<double>(v.size());
    }
    case Agg::min: return *std::min_element(v.begin(), v.end());
    case Agg::max: return *std::max_element(v.begin(), v.end());
    case Agg::p95: return quantile(v, 0.95);
  }
  return kNaN;
}

}  // namespace

constexpr core::Names<Agg, 4> kAggNames{{{{Agg::avg, "avg"}, {Agg::min, "min"}, {Agg::max, "max"}, {Agg::p95, "p95"}}}};
constexpr core::Names<Across, 4> kAcrossNames{
    {{{Across::avg, "avg"}, {Across::min, "min"}, {Across::max, "max"}, {Across::sum, "sum"}}}};

std::optional<Agg> parse_agg(std::string_view s) { return kAggNames.parse(s); }
std::string_view to_string(Agg a) { return kAggNames.name(a); }
std::optional<Across> parse_across(std::string_view s) { return kAcrossNames.parse(s); }
std::string_view to_string(Across a) { return kAcrossNames.name(a); }

double quantile(std::vector<double>& values, double phi) {
  if (values.empty()) return kNaN;
  if (phi <= 0) return *std::min_element(values.begin(), values.end());
  if (phi >= 1) return *std::max_element(values.begin(), values.end());
  std::sort(values.begin(), values.end());
  const double rank = phi * static_cast<double>(values.size() - 1);
  const auto lower = static_cast<std::size_t>(std::floor(rank));
  const std::size_t upper = std::min(lower + 1, values.size() - 1);
  const double weight = rank - std::floor(rank);
  return values[lower] * (1 - weight) + values[upper] * weight;
}

std::vector<Sample> bucket_samples(std::span<const Sample> samples, std::int64_t from, std::int64_t to,
                                   std::int64_t step, Agg agg) {
  std::vector<Sample> out;
  std::vector<double> bucket;
  std::int64_t current = 0;
  auto flush = [&] {
    if (!bucket.empty()) out.push_back({current, reduce(bucket, agg)});
    bucket.clear();
  };
  for (const Sample& s : samples) {
    if (s.time_ms < from || s.time_ms >= to || std::isnan(s.value)) continue;
    const std::int64_t start = store::floor_to(s.time_ms, step);
    if (start != current) flush();
    current = start;
    bucket.push_back(s.value);
  }
  flush();
  return out;
}

std::vector<Sample> bucket_rollups(std::span<const Rollup> rollups, std::int64_t from, std::int64_t to,
                                   std::int64_t step, Agg agg) {
  std::vector<Sample> out;
  const std::int64_t first_hour = store::floor_to(from, store::kRollupMs);
  bool open = false;
  Rollup acc;
  auto flush = [&] {
    if (!open) return;
    const double v = agg == Agg::min ? acc.min : agg == Agg::max ? acc.max : acc.avg();
    out.push_back({acc.start_ms, v});
    open = false;
  };
  for (const Rollup& r : rollups) {
    if (r.start_ms < first_hour || r.start_ms >= to || r.count <= 0) continue;
    const std::int64_t start = store::floor_to(r.start_ms, step);
    if (open && start != acc.start_ms) flush();
    if (!open) {
      acc = Rollup{start, r.count, r.sum, r.min, r.max};
      open = true;
    } else {
      store::fold_rollup(acc, r);
    }
  }
  flush();
  return out;
}

std::vector<Sample> combine(std::span<const std::vector<Sample>> series, Across how) {
  struct Acc {
    double value = 0;
    std::size_t n = 0;
  };
  std::map<std::int64_t, Acc> by_time;
  for (const auto& s : series)
    for (const Sample& p : s) {
      if (std::isnan(p.value)) continue;
      Acc& a = by_time[p.time_ms];
      if (a.n == 0) a.value = p.value;
      else if (how == Across::min) a.value = std::min(a.value, p.value);
      else if (how == Across::max) a.value = std::max(a.value, p.value);
      else a.value += p.value;
      ++a.n;
    }
  std::vector<Sample> out;
  out.reserve(by_time.size());
  for (const auto& [t, a] : by_time)
    out.push_back({t, how == Across::avg ? a.value / static_cast<double>(a.n) : a.value});
  return out;
}

}  // namespace surveyor::collector::capacity
