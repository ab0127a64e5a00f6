// SPDX-License-Identifier: Apache-2.0
// Forecasts, the capacity report and capacity events.
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "query_params.hpp"
#include "surveyor/collector/api/api.hpp"
#include "surveyor/collector/capacity/report.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/duration.hpp"

namespace surveyor::collector::api {
namespace {

namespace json = boost::json;

json::value time_json(const std::optional<std::int64_t>& t) {
  return t ? json::value(core::format_rfc3339(*t)) : json::value(nullptr);
}

json::value opt_json(const std::optional<double>& v) { return v ? query::number_json(*v) : json::value(nullptr); }

json::object fit_json(const capacity::LinearFit& f) {
  return {{"points", f.n},
          {"slope_per_second", query::number_json(f.slope)},
          {"slope_per_day", query::number_json(f.slope * 86'400)},
          {"value_now", query::number_json(f.intercept)},
          {"r2", query::number_json(f.r2)},
          {"residual_sd", query::number_json(f.residual_sd)},
          {"first", core::format_rfc3339(f.first_ms)},
          {"last", core::format_rfc3339(f.last_ms)}};
}

json::object event_json(const store::CapacityEvent& e) {
  return {{"id", e.id},
          {"kind", e.kind},
          {"rule", e.rule},
          {"ci_id", e.ci_id},
          {"metric", e.metric},
          {"attributes", query::labels_json(e.attributes)},
          {"state", e.state},
          {"opened", core::format_rfc3339(e.opened_ms)},
          {"updated", core::format_rfc3339(e.updated_ms)},
          {"resolved", e.resolved_ms ? json::value(core::format_rfc3339(e.resolved_ms)) : json::value(nullptr)},
          {"threshold", query::number_json(e.threshold)},
          {"value", query::number_json(e.value)},
          {"predicted", time_json(e.predicted_ms)},
          {"summary", e.summary}};
}

}  // namespace

http::Response Api::get_forecast(const server::Params& p) {
  auto cis = query_cis(p);
  if (auto* r = std::get_if<http::Response>(&cis)) return std::move(*r);
  auto sel = query::selector(p);
  if (!sel) return query_failure(sel.error());
  capacity::ForecastRequest r;
  r.selector = std::move(*sel);
  for (const store::Ci& ci : std::get<0>(cis)) r.selector.ci_ids.push_back(ci.id);
  r.now_ms = core::to_unix_ms(clock_.now());
  auto window = query::duration_param(p, "window", r.window_ms);
  if (!window) return query_failure(window.error());
  r.window_ms = *window;
  auto source = capacity::parse_source(p.query_or("source", "auto"));
  if (!source) return fail(400, "bad_query", "source must be auto, raw or rollup");
  r.source = *source;
  auto threshold = query::number_param(p, "threshold");
  if (!threshold) return query_failure(threshold.error());
  r.threshold = *threshold;
  const std::string direction = p.query_or("direction", "above");
  if (direction != "above" && direction != "below") return fail(400, "bad_query", "direction must be above or below");
  r.rising = direction == "above";
  if (!p.query_or("predict").empty()) {
    auto ahead = query::duration_param(p, "predict", 0);
    if (!ahead) return query_failure(ahead.error());
    r.predict_seconds = static_cast<double>(*ahead) / 1000.0;
  }
  auto min_points = query::count_param(p, "min_points", 3, 3, 1'000'000);
  if (!min_points) return query_failure(min_points.error());
  r.min_points = *min_points;
  std::size_t band_points = 0;
  if (!p.query_or("band").empty()) {
    auto band = query::count_param(p, "band", 0, 2, 1000);
    if (!band) return query_failure(band.error());
    band_points = *band;
  }

  auto items = capacity::run_forecast(*stores_.series, r);
  if (!items) return query_failure(items.error());
  json::array out;
  for (const capacity::ForecastItem& it : *items) {
    json::object o = query::series_json(it.info);
    o["source"] = it.source == capacity::Source::rollup ? "hourly_max" : "raw";
    o["points"] = it.points;
    o["fit"] = it.fit ? json::value(fit_json(*it.fit)) : json::value(nullptr);
    if (r.predict_seconds)
      o["predict"] = json::object{{"at", core::format_rfc3339(r.now_ms + static_cast<std::int64_t>(*r.predict_seconds * 1000))},
                                  {"value", opt_json(it.predicted)}};
    if (it.threshold) {
      const capacity::ThresholdForecast& t = *it.threshold;
      json::object th{{"value", *r.threshold},
                      {"direction", direction},
                      {"outcome", std::string(capacity::to_string(t.outcome))},
                      {"at", time_json(t.at_ms)},
                      {"earliest", time_json(t.earliest_ms)},
                      {"latest", time_json(t.latest_ms)},
                      {"days", t.at_ms ? json::value(static_cast<double>(*t.at_ms - r.now_ms) / 86'400'000.0)
                                       : json::value(nullptr)}};
      o["threshold"] = std::move(th);
    }
    // The line and its 95 % prediction band, from the first fitted point to
    // `predict` ahead (or `window` ahead without it), for a chart.
    if (band_points != 0) {
      json::array band;
      if (it.fit) {
        const std::int64_t to = r.now_ms + (r.predict_seconds ? static_cast<std::int64_t>(*r.predict_seconds * 1000)
                                                              : r.window_ms);
        for (const capacity::BandPoint& b : capacity::prediction_band(*it.fit, it.fit->first_ms, to, band_points))
          band.push_back(json::array{b.time_ms, query::number_json(b.fitted), query::number_json(b.lower), query::number_json(b.upper)});
      }
      o["band"] = std::move(band);
    }
    out.push_back(std::move(o));
  }
  json::object body{{"now", core::format_rfc3339(r.now_ms)},
                    {"window", core::format_duration(std::chrono::milliseconds{r.window_ms})},
                    {"items", std::move(out)}};
  return server::json_response(200, json::serialize(body));
}

http::Response Api::capacity_report(const server::Params& p) {
  auto cis = query_cis(p);
  if (auto* r = std::get_if<http::Response>(&cis)) return std::move(*r);
  auto window = query::duration_param(p, "window", 7 * 86'400'000LL);
  if (!window) return query_failure(window.error());
  const std::string format = p.query_or("format", "json");
  if (format != "json" && format != "csv" && format != "text")
    return fail(400, "bad_query", "format must be json, csv or text");
  const std::int64_t now = core::to_unix_ms(clock_.now());
  const auto& list = std::get<0>(cis);
  // A service's own thresholds, when it has any, else the collector's.
  std::vector<capacity::CapacityRule> service_rules;
  if (const std::string name = p.query_or("service"); !name.empty() && options_.services)
    if (auto svc = options_.services->find(name))
      for (capacity::CapacityRule r : svc->capacity_rules) {
        r.name = svc->name + "/" + r.name;
        service_rules.push_back(std::move(r));
      }
  auto rows = capacity::capacity_report(*stores_.series, list, service_rules.empty() ? options_.rules : service_rules,
                                        now, *window);
  if (!rows) return query_failure(rows.error());
  if (format != "json") {
    http::Response r;
    r.headers.emplace_back("Content-Type", format == "csv" ? "text/csv; charset=utf-8" : "text/plain; charset=utf-8");
    r.body = format == "csv" ? capacity::report_csv(*rows) : capacity::report_table(*rows);
    return r;
  }
  json::array items;
  for (const capacity::ReportRow& row : *rows) {
    items.push_back(json::object{
        {"ci_id", row.ci_id},
        {"ci_name", row.ci_name},
        {"rule", row.rule},
        {"metric", row.metric},
        {"attributes", query::labels_json(row.attributes)},
        {"unit", row.unit},
        {"current", opt_json(row.current)},
        {"p95", opt_json(row.p95)},
        {"peak", opt_json(row.peak)},
        {"threshold", query::number_json(row.threshold)},
        {"direction", row.rising ? "above" : "below"},
        {"headroom", opt_json(row.headroom)},
        {"outcome", std::string(capacity::to_string(row.outcome))},
        {"reaches_at", time_json(row.reaches_at_ms)},
        {"days_to_threshold", opt_json(row.days_to_threshold)},
        {"r2", opt_json(row.r2)}});
  }
  json::object body{{"now", core::format_rfc3339(now)},
                    {"window", core::format_duration(std::chrono::milliseconds{*window})},
                    {"items", std::move(items)}};
  return server::json_response(200, json::serialize(body));
}

http::Response Api::list_events(const server::Params& p) {
  store::EventFilter f;
  f.state = p.query_or("state");
  if (!f.state.empty() && f.state != "open" && f.state != "resolved")
    return fail(400, "bad_query", "state must be open or resolved");
  f.kind = p.query_or("kind");
  if (!f.kind.empty() && f.kind != "capacity" && f.kind != "capacity-forecast")
    return fail(400, "bad_query", "kind must be capacity or capacity-forecast");
  f.ci_id = p.query_or("ci");
  auto limit = query::count_param(p, "limit", 100, 1, 10'000);
  if (!limit) return query_failure(limit.error());
  f.limit = *limit;
  auto events = stores_.events->list_events(f);
  if (!events) return store_failure(events.error());
  json::array items;
  for (const store::CapacityEvent& e : *events) items.push_back(event_json(e));
  return server::json_response(200, json::serialize(json::object{{"items", std::move(items)}}));
}

// The routes of this file's handlers (docs/api.md).
void Api::routes_capacity(server::Router& r) {
  // The latest capacity evaluation's hot spots, as the evaluator stored them.
  r.add("GET", "/api/v1/capacity/hotspots", "capacity.hotspots", [this](const http::Request&, const server::Params&) {
    auto doc = stores_.events->hot_spots();
    if (!doc) return store_failure(doc.error());
    if (!*doc) return server::json_response(200, R"({"evaluated":null,"items":[]})");
    return server::json_response(200, (*doc)->first);
  });
  r.add("GET", "/api/v1/forecast", "forecast",
        [this](const http::Request&, const server::Params& p) { return get_forecast(p); });
  r.add("GET", "/api/v1/capacity/report", "capacity.report",
        [this](const http::Request&, const server::Params& p) { return capacity_report(p); });
  r.add("GET", "/api/v1/capacity/events", "capacity.events",
        [this](const http::Request&, const server::Params& p) { return list_events(p); });
}

}  // namespace surveyor::collector::api
