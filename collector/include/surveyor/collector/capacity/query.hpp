// SPDX-License-Identifier: Apache-2.0
// Questions asked of the series store: trends (downsampled, across CIs) and
// forecasts. Shared by the API, the capacity report and the capacity rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "surveyor/collector/capacity/aggregate.hpp"
#include "surveyor/collector/capacity/forecast.hpp"
#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::capacity {

// A request the caller got wrong (answered 400), as opposed to a store failure.
enum class QueryErrc { invalid = 1, too_large };
const std::error_category& query_category();
inline std::error_code make_error_code(QueryErrc e) { return {static_cast<int>(e), query_category()}; }

// Which series: a metric of some CIs, with attributes that include `match`
// (or equal it, when `exact`).
struct SeriesSelector {
  std::vector<std::string> ci_ids;
  std::string metric;
  store::Labels match;  // sorted by key
  bool exact = false;
};
[[nodiscard]] bool matches(const SeriesSelector& s, const store::SeriesInfo& info);

inline constexpr std::size_t kMaxSeries = 1000;
inline constexpr std::size_t kMaxBuckets = 11'000;
inline constexpr std::size_t kMaxRawPerSeries = 2'000'000;
// Points in one answer, over all its series (about 30 MB of JSON).
inline constexpr std::size_t kMaxAnswerPoints = 1'000'000;

// The matching series of every CI listed, in CI order then list_series order.
[[nodiscard]] core::Result<std::vector<store::SeriesInfo>> select_series(store::SeriesStore& st,
                                                                         const SeriesSelector& sel);

enum class Source { automatic, raw, rollup };
[[nodiscard]] std::optional<Source> parse_source(std::string_view s);
[[nodiscard]] std::string_view to_string(Source s);

struct TrendRequest {
  SeriesSelector selector;
  std::int64_t from_ms = 0, to_ms = 0;  // [from, to)
  std::int64_t step_ms = 0;
  Agg agg = Agg::avg;
  std::optional<Across> across;  // also combine the series into one
  // automatic: hourly rollups when the step is whole hours and agg is not
  // p95 (percentiles need every sample), raw samples otherwise.
  Source source = Source::automatic;
};

struct TrendSeries {
  store::SeriesInfo info;
  std::vector<Sample> points;
};

struct TrendResult {
  Source source = Source::raw;  // what was read
  std::vector<TrendSeries> series;
  std::optional<std::vector<Sample>> combined;
};

[[nodiscard]] core::Result<TrendResult> run_trend(store::SeriesStore& st, const TrendRequest& r);

struct ForecastRequest {
  SeriesSelector selector;
  std::int64_t now_ms = 0;
  std::int64_t window_ms = 7 * 86'400'000LL;  // fit the points of [now - window, now]
  // automatic: hourly maxima when the window is a day or more (a "will it
  // fill" question is about peaks), raw samples for shorter windows. Hourly
  // maxima are those of the hours that have ended, at each hour's middle.
  Source source = Source::automatic;
  std::optional<double> threshold;
  bool rising = true;
  std::optional<double> predict_seconds;  // predict_linear's t
  std::size_t min_points = 3;
};

struct ForecastItem {
  store::SeriesInfo info;
  Source source = Source::raw;
  std::size_t points = 0;
  std::optional<LinearFit> fit;
  std::optional<double> predicted;
  std::optional<ThresholdForecast> threshold;
};

[[nodiscard]] core::Result<std::vector<ForecastItem>> run_forecast(store::SeriesStore& st, const ForecastRequest& r);

// The points a forecast of `info` fits, as run_forecast reads them.
[[nodiscard]] core::Result<std::vector<Sample>> forecast_points(store::SeriesStore& st, const store::SeriesKey& key,
                                                                std::int64_t now_ms, std::int64_t window_ms,
                                                                Source source);

}  // namespace surveyor::collector::capacity

template <>
struct std::is_error_code_enum<surveyor::collector::capacity::QueryErrc> : std::true_type {};
