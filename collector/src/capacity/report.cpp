// SPDX-License-Identifier: Apache-2.0
// The capacity report: a row per CI, rule and series, and its CSV and text-table forms.
#include "surveyor/collector/capacity/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "surveyor/collector/capacity/query.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/text/csv.hpp"
#include "surveyor/text/human_value.hpp"
#include "surveyor/text/table.hpp"

namespace surveyor::collector::capacity {
namespace {

std::string plain(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return {};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return buf;
}

std::string shown(const std::optional<double>& v, const std::string& unit) {
  return v && std::isfinite(*v) ? text::human_value(*v, unit) : "-";
}

std::string when(const ReportRow& r) {
  using O = ThresholdForecast::Outcome;
  switch (r.outcome) {
    case O::not_enough_data: return "not enough data";
    case O::never: return "never";
    case O::already: return "already";
    case O::at: {
      // Days as such, under a day in hours, under an hour in minutes.
      const double d = *r.days_to_threshold;
      char buf[48];
      if (d >= 1) std::snprintf(buf, sizeof buf, "in %.1f days", d);
      else if (d * 24 >= 1) std::snprintf(buf, sizeof buf, "in %.1f hours", d * 24);
      else std::snprintf(buf, sizeof buf, "in %.0f minutes", std::ceil(d * 1440));
      return buf;
    }
  }
  return "?";
}

}  // namespace

std::string attributes_text(const store::Labels& l) {
  std::string s;
  for (const auto& [k, v] : l) s += (s.empty() ? "" : ";") + k + "=" + v;
  return s;
}

core::Result<std::vector<ReportRow>> capacity_report(store::SeriesStore& st, std::span<const store::Ci> cis,
                                                    std::span<const CapacityRule> rules, std::int64_t now_ms,
                                                    std::int64_t window_ms, std::optional<std::int64_t> read_to) {
  if (window_ms <= 0) return core::make_error(QueryErrc::invalid, "window must be positive");
  std::vector<ReportRow> out;
  const std::int64_t from = now_ms - window_ms;
  const std::int64_t to = read_to.value_or(now_ms + 1);
  for (const store::Ci& ci : cis) {
    for (const CapacityRule& rule : rules) {
      auto series = select_series(st, SeriesSelector{{ci.id}, rule.metric, rule.match, rule.exact});
      if (!series) return std::move(series).error();
      for (const store::SeriesInfo& info : *series) {
        ReportRow row;
        row.ci_id = ci.id;
        row.ci_name = ci.name;
        row.rule = rule.name;
        row.metric = info.key.metric;
        row.unit = info.unit;
        row.attributes = info.key.attributes;
        row.threshold = rule.threshold;
        row.rising = rule.rising;
        auto raw = st.read_samples(info.key, from, to, kMaxRawPerSeries);
        if (!raw) return std::move(raw).error();
        std::vector<double> values;
        for (const store::Sample& s : *raw)
          if (!std::isnan(s.value)) values.push_back(s.value);
        if (!values.empty()) {
          row.current = values.back();
          row.p95 = quantile(values, rule.rising ? 0.95 : 0.05);
          row.headroom = rule.rising ? rule.threshold - *row.p95 : *row.p95 - rule.threshold;
        }
        auto rollups = st.read_rollups(info.key, store::floor_to(from, store::kRollupMs), to);
        if (!rollups) return std::move(rollups).error();
        for (const store::Rollup& h : *rollups) {
          const double v = rule.rising ? h.max : h.min;
          if (!row.peak || (rule.rising ? v > *row.peak : v < *row.peak)) row.peak = v;
        }
        const Source src = window_ms >= 86'400'000 ? Source::rollup : Source::raw;
        auto pts = forecast_points(st, info.key, now_ms, window_ms, src);
        if (!pts) return std::move(pts).error();
        const ThresholdForecast f = time_to_threshold(*pts, now_ms, rule.threshold, rule.rising);
        row.outcome = f.outcome;
        if (f.fit) row.r2 = f.fit->r2;
        if (f.outcome == ThresholdForecast::Outcome::at) {
          row.reaches_at_ms = f.at_ms;
          row.earliest_ms = f.earliest_ms;
          row.latest_ms = f.latest_ms;
          row.days_to_threshold = static_cast<double>(*f.at_ms - now_ms) / 86'400'000.0;
        } else if (f.outcome == ThresholdForecast::Outcome::already) {
          row.days_to_threshold = 0;
        }
        out.push_back(std::move(row));
      }
    }
  }
  return out;
}

std::string report_csv(std::span<const ReportRow> rows) {
  std::string out =
      "ci_id,ci_name,rule,metric,attributes,unit,current,p95,peak,threshold,headroom,outcome,reaches_at,"
      "days_to_threshold,r2\r\n";
  for (const ReportRow& r : rows) {
    const std::string fields[] = {r.ci_id, r.ci_name, r.rule, r.metric, attributes_text(r.attributes), r.unit,
                                  plain(r.current), plain(r.p95), plain(r.peak), plain(r.threshold),
                                  plain(r.headroom), std::string(to_string(r.outcome)),
                                  r.reaches_at_ms ? core::format_rfc3339(*r.reaches_at_ms) : std::string(),
                                  plain(r.days_to_threshold), plain(r.r2)};
    for (std::size_t i = 0; i < std::size(fields); ++i) out += (i ? "," : "") + text::csv_field(fields[i]);
    out += "\r\n";
  }
  return out;
}

std::string report_table(std::span<const ReportRow> rows) {
  std::vector<std::vector<std::string>> cells;
  for (const ReportRow& r : rows)
    cells.push_back({r.ci_name.empty() ? r.ci_id : r.ci_name, r.rule,
                     r.metric + (r.attributes.empty() ? "" : " " + attributes_text(r.attributes)), shown(r.current, r.unit),
                     shown(r.p95, r.unit), shown(r.peak, r.unit), shown(r.threshold, r.unit),
                     shown(r.headroom, r.unit), when(r)});
  return text::table({"CI", "RULE", "SERIES", "CURRENT", "P95", "PEAK", "THRESHOLD", "HEADROOM", "THRESHOLD REACHED"},
                    cells);
}

}  // namespace surveyor::collector::capacity
