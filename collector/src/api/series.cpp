// SPDX-License-Identifier: Apache-2.0
// Series: which a CI has, and the raw points of one.
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cmath>

#include "surveyor/collector/api/api.hpp"

namespace surveyor::collector::api {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxPoints = 100'000;

json::object labels_json(const store::Labels& l) {
  json::object o;
  for (const auto& [k, v] : l) o[k] = v;
  return o;
}

}  // namespace

http::Response Api::list_series(const server::Params& p) {
  const std::string& id = p.path.at("id");
  auto ci = stores_.cmdb->find_ci(id);
  if (!ci) return store_failure(ci.error());
  if (!*ci) return fail(404, "not_found", "no CI with id '" + id + "'");
  auto series = stores_.series->list_series(id);
  if (!series) return store_failure(series.error());
  json::array items;
  for (const store::SeriesInfo& s : *series)
    items.push_back(json::object{{"metric", s.key.metric}, {"attributes", labels_json(s.key.attributes)}, {"unit", s.unit}});
  return server::json_response(200, json::serialize(json::object{{"ci_id", id}, {"items", std::move(items)}}));
}

http::Response Api::get_series(const server::Params& p) {
  store::SeriesKey key;
  key.ci_id = p.query_or("ci");
  key.metric = p.query_or("metric");
  if (key.ci_id.empty() || key.metric.empty()) return fail(400, "bad_query", "ci and metric are required");
  for (const auto& [k, v] : p.query)
    if (k.rfind("attr.", 0) == 0 && k.size() > 5) key.attributes.emplace_back(k.substr(5), v);
  std::sort(key.attributes.begin(), key.attributes.end());
  const std::int64_t now = core::to_unix_ms(clock_.now());
  std::int64_t from = now - 3'600'000, to = now + 1;
  if (const std::string f = p.query_or("from"); !f.empty()) {
    auto t = core::parse_time(f);
    if (!t) return fail(400, "bad_query", "from must be RFC 3339 or Unix milliseconds");
    from = *t;
  }
  if (const std::string t = p.query_or("to"); !t.empty()) {
    auto x = core::parse_time(t);
    if (!x) return fail(400, "bad_query", "to must be RFC 3339 or Unix milliseconds");
    to = *x;
  }
  if (to <= from) return fail(400, "bad_query", "to must be after from");
  std::size_t limit = 10'000;
  if (const std::string l = p.query_or("limit"); !l.empty()) {
    auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
    if (ec != std::errc() || end != l.data() + l.size() || limit == 0 || limit > kMaxPoints)
      return fail(400, "bad_query", "limit must be an integer from 1 to " + std::to_string(kMaxPoints));
  }
  auto series = stores_.series->list_series(key.ci_id);
  if (!series) return store_failure(series.error());
  const store::SeriesInfo* info = nullptr;
  for (const store::SeriesInfo& s : *series)
    if (s.key == key) info = &s;
  if (info == nullptr) return fail(404, "not_found", "no such series for CI '" + key.ci_id + "'");
  auto samples = stores_.series->read_samples(key, from, to, limit);
  if (!samples) return store_failure(samples.error());
  json::array points;
  points.reserve(samples->size());
  for (const store::Sample& s : *samples) {
    json::value v = std::isfinite(s.value) ? json::value(s.value) : json::value(nullptr);
    points.push_back(json::array{s.time_ms, std::move(v)});
  }
  json::object o{{"ci_id", key.ci_id},
                 {"metric", key.metric},
                 {"attributes", labels_json(key.attributes)},
                 {"unit", info->unit},
                 {"from", core::format_rfc3339(from)},
                 {"to", core::format_rfc3339(to)},
                 {"truncated", samples->size() == limit},
                 {"points", std::move(points)}};
  return server::json_response(200, json::serialize(o));
}

}  // namespace surveyor::collector::api
