// SPDX-License-Identifier: Apache-2.0
// Series: which a CI has; raw points or a downsampled trend of the series
// that match a query, across CIs if asked.
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "query_params.hpp"
#include "surveyor/collector/api/api.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/duration.hpp"

namespace surveyor::collector::api {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxPoints = 100'000;

}  // namespace

http::Response Api::list_series(const server::Params& p) {
  const std::string& id = p.path.at("id");
  auto ci = existing_ci(id);
  if (!ci) return ci_failure(ci.error());
  auto series = stores_.series->list_series(id);
  if (!series) return store_failure(series.error());
  json::array items;
  for (const store::SeriesInfo& s : *series) {
    json::object o = query::series_json(s);
    o.erase("ci_id");
    items.push_back(std::move(o));
  }
  return server::json_response(200, json::serialize(json::object{{"ci_id", id}, {"items", std::move(items)}}));
}

std::variant<std::vector<store::Ci>, http::Response> Api::query_cis(const server::Params& p) {
  std::vector<store::Ci> out;
  const std::string ids = p.query_or("ci");
  const std::string type = p.query_or("type");
  const std::string service = p.query_or("service");
  if ((!ids.empty()) + (!type.empty()) + (!service.empty()) != 1)
    return fail(400, "bad_query", "give one of ci=ID[,ID...], type=TYPE or service=NAME");
  if (!service.empty()) {
    if (!options_.services || !options_.services->find(service))
      return fail(404, "not_found", "no service named '" + service + "'");
    auto members = services::member_cis(*options_.services, *stores_.cmdb, service);
    if (!members) return store_failure(members.error());
    if (members->cis.size() > capacity::kMaxSeries) return fail(422, "query_too_large", "the service has too many CIs");
    return std::move(members->cis);
  }
  if (!type.empty()) {
    store::CiFilter f;
    f.type = type;
    f.limit = capacity::kMaxSeries;
    auto cis = stores_.cmdb->list_cis(f);
    if (!cis) return store_failure(cis.error());
    return std::move(*cis);
  }
  std::size_t start = 0;
  while (start <= ids.size()) {
    const std::size_t comma = std::min(ids.find(',', start), ids.size());
    const std::string id = ids.substr(start, comma - start);
    start = comma + 1;
    if (id.empty()) continue;
    if (out.size() == capacity::kMaxSeries) return fail(400, "bad_query", "too many CIs");
    auto ci = existing_ci(id);
    if (!ci) return ci_failure(ci.error());
    out.push_back(std::move(*ci));
  }
  return out;
}

http::Response Api::query_failure(const core::Error& e) {
  if (e.code == capacity::QueryErrc::invalid) return fail(400, "bad_query", e.message);
  if (e.code == capacity::QueryErrc::too_large) return fail(422, "query_too_large", e.message);
  return store_failure(e);
}

http::Response Api::get_series(const server::Params& p) {
  auto cis = query_cis(p);
  if (auto* r = std::get_if<http::Response>(&cis)) return std::move(*r);
  auto sel = query::selector(p);
  if (!sel) return query_failure(sel.error());
  for (const store::Ci& ci : std::get<0>(cis)) sel->ci_ids.push_back(ci.id);
  const std::int64_t now = core::to_unix_ms(clock_.now());
  auto to = query::time_param(p, "to", now + 1);
  if (!to) return query_failure(to.error());
  auto from = query::time_param(p, "from", *to - 3'600'000);
  if (!from) return query_failure(from.error());
  if (*to <= *from) return fail(400, "bad_query", "to must be after from");
  json::object out{{"from", core::format_rfc3339(*from)}, {"to", core::format_rfc3339(*to)}};

  if (p.query_or("step").empty()) {
    // Raw points, oldest first, up to `limit` per series.
    auto limit = query::count_param(p, "limit", 10'000, 1, kMaxPoints);
    if (!limit) return query_failure(limit.error());
    auto series = capacity::select_series(*stores_.series, *sel);
    if (!series) return query_failure(series.error());
    if (series->size() * *limit > capacity::kMaxAnswerPoints)
      return fail(422, "query_too_large",
                  std::to_string(series->size()) + " series of up to " + std::to_string(*limit) +
                      " points is more than " + std::to_string(capacity::kMaxAnswerPoints) +
                      " points; lower limit or name fewer series");
    json::array items;
    for (const store::SeriesInfo& info : *series) {
      auto samples = stores_.series->read_samples(info.key, *from, *to, *limit);
      if (!samples) return store_failure(samples.error());
      json::object o = query::series_json(info);
      o["truncated"] = samples->size() == *limit;
      o["points"] = query::points_json(*samples);
      items.push_back(std::move(o));
    }
    out["source"] = "raw";
    out["series"] = std::move(items);
    return server::json_response(200, json::serialize(out));
  }

  capacity::TrendRequest r;
  r.selector = std::move(*sel);
  r.from_ms = *from;
  r.to_ms = *to;
  auto step = query::duration_param(p, "step", 0);
  if (!step) return query_failure(step.error());
  r.step_ms = *step;
  auto agg = capacity::parse_agg(p.query_or("agg", "avg"));
  if (!agg) return fail(400, "bad_query", "agg must be avg, min, max or p95");
  r.agg = *agg;
  auto source = capacity::parse_source(p.query_or("source", "auto"));
  if (!source) return fail(400, "bad_query", "source must be auto, raw or rollup");
  r.source = *source;
  if (const std::string across = p.query_or("across"); !across.empty()) {
    r.across = capacity::parse_across(across);
    if (!r.across) return fail(400, "bad_query", "across must be avg, min, max or sum");
  }
  auto trend = capacity::run_trend(*stores_.series, r);
  if (!trend) return query_failure(trend.error());
  json::array items;
  for (const capacity::TrendSeries& s : trend->series) {
    json::object o = query::series_json(s.info);
    o["points"] = query::points_json(s.points);
    items.push_back(std::move(o));
  }
  out["step"] = core::format_duration(std::chrono::milliseconds{r.step_ms});
  out["agg"] = std::string(capacity::to_string(r.agg));
  out["source"] = std::string(capacity::to_string(trend->source));
  out["series"] = std::move(items);
  if (trend->combined)
    out["combined"] = json::object{{"across", std::string(capacity::to_string(*r.across))},
                                   {"points", query::points_json(*trend->combined)}};
  return server::json_response(200, json::serialize(out));
}

// The routes of this file's handlers (docs/api.md).
void Api::routes_series(server::Router& r) {
  r.add("GET", "/api/v1/cis/{id}/series", "cis.series",
        [this](const http::Request&, const server::Params& p) { return list_series(p); });
  r.add("GET", "/api/v1/series", "series", [this](const http::Request&, const server::Params& p) { return get_series(p); });
}

}  // namespace surveyor::collector::api
