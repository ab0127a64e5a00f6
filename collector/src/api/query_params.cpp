// SPDX-License-Identifier: Apache-2.0
// Query parameters (times, durations, numbers, counts, series selectors) read with errors
// that name the parameter, and the JSON of series, labels and attributes.
#include "query_params.hpp"

#include <algorithm>
#include <charconv>

#include <boost/json/parse.hpp>

#include "surveyor/core/clock.hpp"
#include "surveyor/core/duration.hpp"

namespace surveyor::collector::api::query {

namespace json = boost::json;

// A JSON object body, or the 400 that says why not.
std::variant<json::object, std::string> object_body(const http::Request& req) {
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec) return "the body is not JSON: " + ec.message();
  if (!v.is_object()) return std::string("the body must be a JSON object");
  return std::move(v.get_object());
}

// A string member ("" when absent); an error text when it is not a string.
std::optional<std::string> string_member(const json::object& o, std::string_view key, std::string& out) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_string()) return std::string(key) + " must be a string";
  out = std::string(it->value().get_string());
  return std::nullopt;
}

using capacity::QueryErrc;

core::Result<std::int64_t> time_param(const server::Params& p, std::string_view key, std::int64_t fallback) {
  const std::string v = p.query_or(key);
  if (v.empty()) return fallback;
  auto t = core::parse_time(v);
  if (!t) return core::make_error(QueryErrc::invalid, std::string(key) + " must be RFC 3339 or Unix milliseconds");
  return *t;
}

core::Result<std::int64_t> duration_param(const server::Params& p, std::string_view key, std::int64_t fallback) {
  const std::string v = p.query_or(key);
  if (v.empty()) return fallback;
  auto d = core::parse_duration(v);
  if (!d || d->count() <= 0)
    return core::make_error(QueryErrc::invalid, std::string(key) + " must be a positive duration such as 15m or 7d");
  return d->count();
}

core::Result<std::optional<double>> number_param(const server::Params& p, std::string_view key) {
  const std::string v = p.query_or(key);
  if (v.empty()) return std::optional<double>{};
  double d = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(d))
    return core::make_error(QueryErrc::invalid, std::string(key) + " must be a number");
  return std::optional<double>{d};
}

core::Result<std::size_t> count_param(const server::Params& p, std::string_view key, std::size_t fallback,
                                      std::size_t lo, std::size_t hi) {
  const std::string v = p.query_or(key);
  if (v.empty()) return fallback;
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < lo || n > hi)
    return core::make_error(QueryErrc::invalid, std::string(key) + " must be an integer from " + std::to_string(lo) +
                                                    " to " + std::to_string(hi));
  return n;
}

core::Result<capacity::SeriesSelector> selector(const server::Params& p) {
  capacity::SeriesSelector s;
  s.metric = p.query_or("metric");
  if (s.metric.empty()) return core::make_error(QueryErrc::invalid, "metric is required");
  for (const auto& [k, v] : p.query)
    if (k.rfind("attr.", 0) == 0 && k.size() > 5) s.match.emplace_back(k.substr(5), v);
  std::sort(s.match.begin(), s.match.end());
  const std::string exact = p.query_or("exact", "false");
  if (exact != "true" && exact != "false") return core::make_error(QueryErrc::invalid, "exact must be true or false");
  s.exact = exact == "true";
  return s;
}

json::object attributes_json(const store::AttrMap& m) {
  json::object o;
  for (const auto& kv : m) {
    auto& slot = o[kv.first];
    std::visit([&slot](const auto& x) { slot = x; }, kv.second);
  }
  return o;
}

json::object labels_json(const store::Labels& l) {
  json::object o;
  for (const auto& [k, v] : l) o[k] = v;
  return o;
}

json::array points_json(const std::vector<store::Sample>& pts) {
  json::array a;
  a.reserve(pts.size());
  for (const store::Sample& s : pts) a.push_back(json::array{s.time_ms, number_json(s.value)});
  return a;
}

json::object series_json(const store::SeriesInfo& info) {
  return {{"ci_id", info.key.ci_id}, {"metric", info.key.metric}, {"attributes", labels_json(info.key.attributes)},
          {"unit", info.unit}};
}

}  // namespace surveyor::collector::api::query
