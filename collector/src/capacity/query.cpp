// SPDX-License-Identifier: Apache-2.0
// Series selection and the trend and forecast queries, with the limits that keep an answer
// small (series, raw samples, steps, points).
#include "surveyor/collector/capacity/query.hpp"

#include <algorithm>

#include "surveyor/core/error_category.hpp"
#include "surveyor/core/names.hpp"

namespace surveyor::collector::capacity {

const std::error_category& query_category() {
  static const core::TableCategory c("query", {{QueryErrc::invalid, "invalid query"},
                                               {QueryErrc::too_large, "query too large"}});
  return c;
}

bool matches(const SeriesSelector& s, const store::SeriesInfo& info) {
  if (info.key.metric != s.metric) return false;
  if (s.exact) return info.key.attributes == s.match;
  return std::includes(info.key.attributes.begin(), info.key.attributes.end(), s.match.begin(), s.match.end());
}

core::Result<std::vector<store::SeriesInfo>> select_series(store::SeriesStore& st, const SeriesSelector& sel) {
  if (sel.metric.empty()) return core::make_error(QueryErrc::invalid, "a metric is required");
  std::vector<store::SeriesInfo> out;
  for (const std::string& ci : sel.ci_ids) {
    auto all = st.list_series(ci);
    if (!all) return std::move(all).error();
    for (store::SeriesInfo& s : *all)
      if (matches(sel, s)) {
        if (out.size() == kMaxSeries)
          return core::make_error(QueryErrc::too_large, "more than " + std::to_string(kMaxSeries) +
                                                            " series match; narrow the query with attributes");
        out.push_back(std::move(s));
      }
  }
  return out;
}

constexpr core::Names<Source, 3> kSourceNames{
    {{{Source::automatic, "auto"}, {Source::raw, "raw"}, {Source::rollup, "rollup"}}}};

std::optional<Source> parse_source(std::string_view s) { return kSourceNames.parse(s); }
std::string_view to_string(Source s) { return kSourceNames.name(s); }

namespace {

core::Result<std::vector<Sample>> read_raw(store::SeriesStore& st, const store::SeriesKey& key, std::int64_t from,
                                           std::int64_t to) {
  auto s = st.read_samples(key, from, to, kMaxRawPerSeries + 1);
  if (!s) return s;
  if (s->size() > kMaxRawPerSeries)
    return core::make_error(QueryErrc::too_large, "more than " + std::to_string(kMaxRawPerSeries) +
                                                      " raw samples in range; use a shorter range or a step of whole hours");
  return s;
}

}  // namespace

core::Result<TrendResult> run_trend(store::SeriesStore& st, const TrendRequest& r) {
  if (r.to_ms <= r.from_ms) return core::make_error(QueryErrc::invalid, "to must be after from");
  if (r.step_ms <= 0) return core::make_error(QueryErrc::invalid, "step must be positive");
  const std::int64_t first = store::floor_to(r.from_ms, r.step_ms);
  if ((r.to_ms - first) / r.step_ms >= static_cast<std::int64_t>(kMaxBuckets))
    return core::make_error(QueryErrc::too_large, "more than " + std::to_string(kMaxBuckets) +
                                                      " steps in range; use a larger step");
  const bool hourly = r.step_ms % store::kRollupMs == 0;
  TrendResult out;
  switch (r.source) {
    case Source::automatic: out.source = hourly && r.agg != Agg::p95 ? Source::rollup : Source::raw; break;
    case Source::raw: out.source = Source::raw; break;
    case Source::rollup:
      if (!hourly) return core::make_error(QueryErrc::invalid, "rollups need a step of whole hours");
      if (r.agg == Agg::p95) return core::make_error(QueryErrc::invalid, "p95 needs raw samples, not rollups");
      out.source = Source::rollup;
      break;
  }
  auto series = select_series(st, r.selector);
  if (!series) return std::move(series).error();
  const std::int64_t buckets = (r.to_ms - first + r.step_ms - 1) / r.step_ms;
  if (buckets * static_cast<std::int64_t>(series->size()) > static_cast<std::int64_t>(kMaxAnswerPoints))
    return core::make_error(QueryErrc::too_large, std::to_string(series->size()) + " series of " +
                                                      std::to_string(buckets) + " steps is more than " +
                                                      std::to_string(kMaxAnswerPoints) +
                                                      " points; use a larger step or fewer series");
  for (store::SeriesInfo& info : *series) {
    TrendSeries ts{std::move(info), {}};
    if (out.source == Source::rollup) {
      auto rollups = st.read_rollups(ts.info.key, store::floor_to(r.from_ms, store::kRollupMs), r.to_ms);
      if (!rollups) return std::move(rollups).error();
      ts.points = bucket_rollups(*rollups, r.from_ms, r.to_ms, r.step_ms, r.agg);
    } else {
      auto raw = read_raw(st, ts.info.key, r.from_ms, r.to_ms);
      if (!raw) return std::move(raw).error();
      ts.points = bucket_samples(*raw, r.from_ms, r.to_ms, r.step_ms, r.agg);
    }
    out.series.push_back(std::move(ts));
  }
  if (r.across) {
    std::vector<std::vector<Sample>> all;
    for (const TrendSeries& s : out.series) all.push_back(s.points);
    out.combined = combine(all, *r.across);
  }
  return out;
}

core::Result<std::vector<Sample>> forecast_points(store::SeriesStore& st, const store::SeriesKey& key,
                                                  std::int64_t now_ms, std::int64_t window_ms, Source source) {
  const std::int64_t from = now_ms - window_ms;
  if (source == Source::rollup) {
    auto rollups = st.read_rollups(key, store::floor_to(from, store::kRollupMs), now_ms + 1);
    if (!rollups) return std::move(rollups).error();
    // Whole hours only (the current one's maximum is not known yet), each
    // maximum placed at its hour's middle.
    std::vector<Sample> pts;
    pts.reserve(rollups->size());
    for (const store::Rollup& h : *rollups)
      if (h.start_ms + store::kRollupMs <= now_ms) pts.push_back({h.start_ms + store::kRollupMs / 2, h.max});
    return pts;
  }
  // [now - window, now], both ends included, as a PromQL range selector.
  return read_raw(st, key, from, now_ms + 1);
}

core::Result<std::vector<ForecastItem>> run_forecast(store::SeriesStore& st, const ForecastRequest& r) {
  if (r.window_ms <= 0) return core::make_error(QueryErrc::invalid, "window must be positive");
  const Source source = r.source == Source::automatic
                            ? (r.window_ms >= 86'400'000 ? Source::rollup : Source::raw)
                            : r.source;
  auto series = select_series(st, r.selector);
  if (!series) return std::move(series).error();
  std::vector<ForecastItem> out;
  for (store::SeriesInfo& info : *series) {
    ForecastItem item;
    item.info = std::move(info);
    item.source = source;
    auto pts = forecast_points(st, item.info.key, r.now_ms, r.window_ms, source);
    if (!pts) return std::move(pts).error();
    item.points = pts->size();
    item.fit = fit_linear(*pts, r.now_ms);
    if (item.fit && r.predict_seconds) item.predicted = predict(*item.fit, *r.predict_seconds);
    if (r.threshold)
      item.threshold = time_to_threshold(*pts, r.now_ms, *r.threshold, r.rising, r.min_points);
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace surveyor::collector::capacity
