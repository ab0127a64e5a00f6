// SPDX-License-Identifier: Apache-2.0
// Linear forecasts: the least-squares line Prometheus' predict_linear fits,
// anchored at the evaluation time, and when that line reaches a threshold,
// with a prediction interval and the quality of the fit.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::capacity {

using store::Sample;

struct LinearFit {
  std::size_t n = 0;
  std::int64_t anchor_ms = 0;   // x = 0 here: the evaluation time
  double slope = 0;             // value per second
  double intercept = 0;         // fitted value at the anchor
  std::int64_t first_ms = 0, last_ms = 0;
  // Goodness of fit, from a separate centred two-pass computation: the
  // coefficient of determination (1 for a constant series that the line
  // matches exactly) and the residual standard error (n - 2 degrees of freedom).
  double r2 = 0;
  double residual_sd = 0;
  double mean_x = 0;  // seconds from the anchor
  double sxx = 0;     // sum of squared deviations of x
};

// The regression of predict_linear(v[range], t) evaluated at anchor_ms on the
// same points: x is seconds from the anchor, sums are Kahan-Neumaier
// compensated, a constant series has slope 0. NaN values are left out.
// Nullopt with fewer than two points (Prometheus returns no value then).
[[nodiscard]] std::optional<LinearFit> fit_linear(std::span<const Sample> points, std::int64_t anchor_ms);

// predict_linear's value: the line `seconds` after the anchor.
[[nodiscard]] inline double predict(const LinearFit& f, double seconds) { return f.slope * seconds + f.intercept; }

struct ThresholdForecast {
  // not_enough_data: fewer than min_points values (or all at one time);
  // already: the latest value is at or past the threshold;
  // at: the line reaches it at `at_ms`;
  // never: the line does not move towards it.
  enum class Outcome { not_enough_data, already, at, never };
  Outcome outcome = Outcome::not_enough_data;
  std::optional<LinearFit> fit;
  std::optional<std::int64_t> at_ms;
  // The 95 % prediction interval of the crossing time: where the band of
  // the prediction interval for a new observation meets the threshold. No
  // `latest` means the band never excludes "not yet" (the trend is too weak
  // to bound it).
  std::optional<std::int64_t> earliest_ms, latest_ms;
  double latest_value = 0;
};
[[nodiscard]] std::string_view to_string(ThresholdForecast::Outcome o);

// The fit's prediction band: at `points` times evenly from `from_ms` to
// `to_ms`, the fitted value and the `confidence` prediction interval for a
// new observation, the band time_to_threshold meets the threshold with.
// Empty with fewer than 3 points in the fit (no interval then).
struct BandPoint {
  std::int64_t time_ms = 0;
  double fitted = 0, lower = 0, upper = 0;
};
[[nodiscard]] std::vector<BandPoint> prediction_band(const LinearFit& f, std::int64_t from_ms, std::int64_t to_ms,
                                                     std::size_t points, double confidence = 0.95);

// When the series reaches `threshold` going up (rising) or down.
[[nodiscard]] ThresholdForecast time_to_threshold(std::span<const Sample> points, std::int64_t anchor_ms,
                                                  double threshold, bool rising = true, std::size_t min_points = 3,
                                                  double confidence = 0.95);

}  // namespace surveyor::collector::capacity
