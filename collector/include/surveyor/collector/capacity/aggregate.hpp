// SPDX-License-Identifier: Apache-2.0
// Downsampling: raw samples or hourly rollups into step-long buckets, and
// several series into one.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::capacity {

using store::Rollup;
using store::Sample;

// How the samples of one bucket become one value.
enum class Agg { avg, min, max, p95 };
[[nodiscard]] std::optional<Agg> parse_agg(std::string_view s);
[[nodiscard]] std::string_view to_string(Agg a);

// How several series become one, bucket by bucket.
enum class Across { avg, min, max, sum };
[[nodiscard]] std::optional<Across> parse_across(std::string_view s);
[[nodiscard]] std::string_view to_string(Across a);

// The phi-quantile (0 <= phi <= 1) of `values`, interpolating linearly
// between the closest ranks as Prometheus' quantile_over_time does. Reorders
// `values`; NaN if empty.
[[nodiscard]] double quantile(std::vector<double>& values, double phi);

// Buckets are [start, start + step), their starts multiples of `step` since
// the Unix epoch; a point is stamped with its bucket's start. Only samples
// with from <= time < to count; NaN values are skipped; a bucket with no
// value gives no point.
[[nodiscard]] std::vector<Sample> bucket_samples(std::span<const Sample> samples, std::int64_t from,
                                                 std::int64_t to, std::int64_t step, Agg agg);

// The same from hourly rollups (step a multiple of an hour; agg avg, min or
// max). An hour counts when its start lies in [floor(from to the hour), to).
[[nodiscard]] std::vector<Sample> bucket_rollups(std::span<const Rollup> rollups, std::int64_t from,
                                                 std::int64_t to, std::int64_t step, Agg agg);

// Points of several bucketed series merged by time: each time that any
// series has, with the series that have it combined.
[[nodiscard]] std::vector<Sample> combine(std::span<const std::vector<Sample>> series, Across how);

}  // namespace surveyor::collector::capacity
