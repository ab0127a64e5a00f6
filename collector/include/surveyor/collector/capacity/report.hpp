// SPDX-License-Identifier: Apache-2.0
// The capacity report of a group of CIs: for every series a capacity rule
// watches, where it stands (current, 95th percentile, peak), how much room is
// left below the rule's threshold and when the trend reaches it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "surveyor/collector/capacity/rules.hpp"

namespace surveyor::collector::capacity {

struct ReportRow {
  std::string ci_id, ci_name, rule, metric, unit;
  store::Labels attributes;
  std::optional<double> current, p95, peak;  // over the window; none without data
  double threshold = 0;
  bool rising = true;
  std::optional<double> headroom;  // threshold - p95 (p95 - threshold for a floor)
  ThresholdForecast::Outcome outcome = ThresholdForecast::Outcome::not_enough_data;
  std::optional<std::int64_t> reaches_at_ms;
  // The 95 % prediction interval of the crossing (ThresholdForecast).
  std::optional<std::int64_t> earliest_ms, latest_ms;
  std::optional<double> days_to_threshold;
  std::optional<double> r2;
};

// One row per (CI, rule, matching series), in CI then rule order. Current and
// p95 come from raw samples, the peak from hourly maxima, the forecast from
// hourly maxima when the window is a day or more. Samples and hours are read
// from now - window up to and including now, or, given `read_to`, up to
// read_to excluded (a closed period's end: nothing of the next one).
[[nodiscard]] core::Result<std::vector<ReportRow>> capacity_report(store::SeriesStore& st,
                                                                  std::span<const store::Ci> cis,
                                                                  std::span<const CapacityRule> rules,
                                                                  std::int64_t now_ms, std::int64_t window_ms,
                                                                  std::optional<std::int64_t> read_to = std::nullopt);

// A series' attributes as the reports write them: "k=v;k2=v2".
[[nodiscard]] std::string attributes_text(const store::Labels& l);

// RFC 4180 CSV with a header line.
[[nodiscard]] std::string report_csv(std::span<const ReportRow> rows);
// Aligned columns for a terminal; ratios (unit "1") as percentages.
[[nodiscard]] std::string report_table(std::span<const ReportRow> rows);

}  // namespace surveyor::collector::capacity
