// SPDX-License-Identifier: Apache-2.0
// Query-string parsing and JSON shapes shared by the series, forecast and
// capacity endpoints.
#pragma once

#include <boost/json/value.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "surveyor/collector/capacity/query.hpp"
#include "surveyor/collector/server/router.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::api::query {

// Unix ms from an RFC 3339 or Unix-milliseconds parameter, `fallback` when absent.
core::Result<std::int64_t> time_param(const server::Params& p, std::string_view key, std::int64_t fallback);
// A duration parameter ("15m", "7d"), `fallback` when absent; must be positive.
core::Result<std::int64_t> duration_param(const server::Params& p, std::string_view key, std::int64_t fallback);
// A finite number parameter, nullopt when absent.
core::Result<std::optional<double>> number_param(const server::Params& p, std::string_view key);
// A whole number in [lo, hi], `fallback` when absent.
core::Result<std::size_t> count_param(const server::Params& p, std::string_view key, std::size_t fallback,
                                      std::size_t lo, std::size_t hi);

// metric, attr.KEY=VALUE and exact=true|false; the CI ids are filled in by the caller.
core::Result<capacity::SeriesSelector> selector(const server::Params& p);

// A JSON object body, or the text of the 400 that says why not.
std::variant<boost::json::object, std::string> object_body(const http::Request& req);
// A string member ("" when absent or null); an error text when it is not a string.
std::optional<std::string> string_member(const boost::json::object& o, std::string_view key, std::string& out);

boost::json::object labels_json(const store::Labels& l);
// A CI's typed attributes as a JSON object.
boost::json::object attributes_json(const store::AttrMap& m);
// [[time_ms, value], ...]; values that are not finite become null.
boost::json::array points_json(const std::vector<store::Sample>& pts);
inline boost::json::value number_json(double v) { return std::isfinite(v) ? boost::json::value(v) : boost::json::value(nullptr); }
boost::json::object series_json(const store::SeriesInfo& info);

}  // namespace surveyor::collector::api::query
