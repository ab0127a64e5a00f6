// SPDX-License-Identifier: Apache-2.0
// The least-squares fit with compensated sums, as Prometheus' predict_linear, and when the
// line and its prediction band cross a threshold.
#include "surveyor/collector/capacity/forecast.hpp"

#include <boost/math/distributions/students_t.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "surveyor/core/names.hpp"

namespace surveyor::collector::capacity {
namespace {

// Neumaier's improved Kahan summation, as Prometheus' kahanSumInc.
struct CompensatedSum {
  double sum = 0, c = 0;
  void add(double inc) {
    const double t = sum + inc;
    if (std::isinf(t)) c = 0;
    else if (std::fabs(sum) >= std::fabs(inc)) c += (sum - t) + inc;
    else c += (inc - t) + sum;
    sum = t;
  }
  [[nodiscard]] double value() const { return sum + c; }
};

constexpr double kMaxSeconds = 100.0 * 365 * 86'400;  // past this a crossing is "never"

std::int64_t at_seconds(std::int64_t anchor_ms, double seconds) {
  return anchor_ms + static_cast<std::int64_t>(std::llround(seconds * 1000.0));
}

}  // namespace

std::string_view to_string(ThresholdForecast::Outcome o) {
  using O = ThresholdForecast::Outcome;
  static constexpr core::Names<O, 4> kNames{
      {{{O::not_enough_data, "not_enough_data"}, {O::already, "already"}, {O::at, "at"}, {O::never, "never"}}}};
  return kNames.name(o);
}

std::optional<LinearFit> fit_linear(std::span<const Sample> points, std::int64_t anchor_ms) {
  std::vector<Sample> pts;
  pts.reserve(points.size());
  for (const Sample& p : points)
    if (!std::isnan(p.value)) pts.push_back(p);
  if (pts.size() < 2) return std::nullopt;

  LinearFit f;
  f.n = pts.size();
  f.anchor_ms = anchor_ms;
  f.first_ms = pts.front().time_ms;
  f.last_ms = pts.back().time_ms;
  const double n = static_cast<double>(pts.size());
  CompensatedSum sx, sy, sxy, sx2;
  bool constant = true;
  for (const Sample& p : pts) {
    if (p.value != pts.front().value) constant = false;
    const double x = static_cast<double>(p.time_ms - anchor_ms) / 1e3;
    sx.add(x);
    sy.add(p.value);
    sxy.add(x * p.value);
    sx2.add(x * x);
  }
  if (constant) {
    f.slope = std::isinf(pts.front().value) ? std::numeric_limits<double>::quiet_NaN() : 0.0;
    f.intercept = std::isinf(pts.front().value) ? std::numeric_limits<double>::quiet_NaN() : pts.front().value;
  } else {
    const double cov_xy = sxy.value() - sx.value() * sy.value() / n;
    const double var_x = sx2.value() - sx.value() * sx.value() / n;
    f.slope = cov_xy / var_x;
    f.intercept = sy.value() / n - f.slope * sx.value() / n;
  }

  // Fit quality, centred (two passes) so it stays accurate far from x = 0.
  double mx = 0, my = 0;
  for (const Sample& p : pts) {
    mx += static_cast<double>(p.time_ms - anchor_ms) / 1e3;
    my += p.value;
  }
  mx /= n;
  my /= n;
  double sxx = 0, syy = 0, sse = 0;
  for (const Sample& p : pts) {
    const double x = static_cast<double>(p.time_ms - anchor_ms) / 1e3;
    sxx += (x - mx) * (x - mx);
    syy += (p.value - my) * (p.value - my);
    const double r = p.value - predict(f, x);
    sse += r * r;
  }
  f.mean_x = mx;
  f.sxx = sxx;
  f.r2 = syy > 0 ? std::max(0.0, 1.0 - sse / syy) : (sse == 0 ? 1.0 : 0.0);
  f.residual_sd = pts.size() > 2 ? std::sqrt(sse / (n - 2)) : 0.0;
  return f;
}

namespace {

// Student's t quantile of the prediction interval, n - 2 degrees of freedom.
double t_quantile(const LinearFit& f, double confidence) {
  const boost::math::students_t dist(static_cast<double>(f.n) - 2);
  return boost::math::quantile(dist, 0.5 + confidence / 2);
}

// Prediction band for a new observation at x: line +- t * s * sqrt(1 + 1/n + (x - mean)^2 / Sxx).
double half_width(const LinearFit& f, double t, double x) {
  const double nd = static_cast<double>(f.n);
  return t * f.residual_sd * std::sqrt(1 + 1 / nd + (x - f.mean_x) * (x - f.mean_x) / f.sxx);
}

}  // namespace

std::vector<BandPoint> prediction_band(const LinearFit& f, std::int64_t from_ms, std::int64_t to_ms,
                                       std::size_t points, double confidence) {
  std::vector<BandPoint> out;
  if (f.n < 3 || points < 2 || to_ms <= from_ms || !(f.sxx > 0)) return out;
  const double t = t_quantile(f, confidence);
  out.reserve(points);
  for (std::size_t i = 0; i < points; ++i) {
    const std::int64_t at = from_ms + static_cast<std::int64_t>(static_cast<double>(to_ms - from_ms) *
                                                                static_cast<double>(i) / static_cast<double>(points - 1));
    const double x = static_cast<double>(at - f.anchor_ms) / 1000.0;
    const double fitted = predict(f, x), h = half_width(f, t, x);
    out.push_back({at, fitted, fitted - h, fitted + h});
  }
  return out;
}

ThresholdForecast time_to_threshold(std::span<const Sample> points, std::int64_t anchor_ms, double threshold,
                                    bool rising, std::size_t min_points, double confidence) {
  ThresholdForecast out;
  out.fit = fit_linear(points, anchor_ms);
  std::size_t n = 0;
  for (const Sample& p : points)
    if (!std::isnan(p.value)) {
      ++n;
      out.latest_value = p.value;
    }
  if (!out.fit || n < std::max<std::size_t>(min_points, 3) || out.fit->sxx <= 0 || !std::isfinite(out.fit->slope)) {
    out.outcome = ThresholdForecast::Outcome::not_enough_data;
    return out;
  }
  const LinearFit& f = *out.fit;
  // Work as if rising: mirror values for a falling threshold.
  const double sign = rising ? 1.0 : -1.0;
  const double thr = sign * threshold;
  if (sign * out.latest_value >= thr) {
    out.outcome = ThresholdForecast::Outcome::already;
    return out;
  }
  const double slope = sign * f.slope, intercept = sign * f.intercept;
  const double cross = slope > 0 ? (thr - intercept) / slope : std::numeric_limits<double>::infinity();
  if (!(cross < kMaxSeconds)) {
    out.outcome = ThresholdForecast::Outcome::never;
    return out;
  }
  out.outcome = ThresholdForecast::Outcome::at;
  out.at_ms = at_seconds(anchor_ms, std::max(cross, 0.0));

  const double t = t_quantile(f, confidence);
  auto half = [&](double x) { return half_width(f, t, x); };
  auto upper = [&](double x) { return intercept + slope * x + half(x); };
  auto lower = [&](double x) { return intercept + slope * x - half(x); };
  // Both band edges increase for x >= mean (the points are in the past, so
  // the mean is before 0): bisection finds where each meets the threshold.
  auto solve = [&](auto&& edge, double lo, double hi) {
    for (int i = 0; i < 200 && hi - lo > 1e-3; ++i) {
      const double mid = (lo + hi) / 2;
      (edge(mid) >= thr ? hi : lo) = mid;
    }
    return hi;
  };
  const double start = std::max(0.0, f.mean_x);
  out.earliest_ms = at_seconds(anchor_ms, upper(start) >= thr ? start : solve(upper, start, std::max(cross, start)));
  // The lower edge rises only if the slope beats the band's widening.
  if (slope > t * f.residual_sd / std::sqrt(f.sxx) || f.residual_sd == 0) {
    double hi = std::max(cross, 1.0);
    while (lower(hi) < thr && hi < kMaxSeconds) hi *= 2;
    if (lower(hi) >= thr) out.latest_ms = at_seconds(anchor_ms, solve(lower, std::max(cross, start), hi));
  }
  return out;
}

}  // namespace surveyor::collector::capacity
