// SPDX-License-Identifier: Apache-2.0
// Audit evidence per ISO/IEC 20000-1 clause: the clauses, and one clause's
// report over a period as JSON, HTML or one table as CSV.
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "surveyor/collector/api/api.hpp"
#include "surveyor/core/clock.hpp"

namespace surveyor::collector::api {
namespace {

namespace json = boost::json;

}  // namespace

http::Response Api::list_evidence() {
  json::array items;
  for (const evidence::Clause& c : evidence::clauses())
    items.push_back(json::object{{"clause", c.id}, {"title", c.title}, {"available", c.available}});
  return server::json_response(200, json::serialize(json::object{{"items", std::move(items)}}));
}

http::Response Api::get_evidence(const server::Params& p) {
  const std::int64_t now = core::to_unix_ms(clock_.now());
  std::optional<evidence::Period> period;
  if (const std::string name = p.query_or("period"); !name.empty()) {
    period = evidence::parse_period(name);
    if (!period)
      return fail(400, "bad_query",
                  "period must be a month (2026-11), an ISO week (2026-W48), a quarter (2026-Q4), a year (2026) or "
                  "days FROM..TO (2026-10-01..2026-12-31, at most 3 years)");
  } else {
    // The last month that has ended.
    auto current = sla::period_at("month", now);
    auto last = current ? sla::period_at("month", current->start_ms - 1) : std::nullopt;
    if (!last) return fail(500, "internal", "no calendar month");
    period = evidence::Period{last->name, last->start_ms, last->end_ms};
  }
  const std::string format = p.query_or("format", "json");
  if (format != "json" && format != "html" && format != "csv")
    return fail(400, "bad_query", "format must be json, html or csv");
  evidence::Context c;
  c.stores = &stores_;
  c.catalog = options_.services.get();
  c.now_ms = now;
  c.by = p.actor;
  c.targets = options_.incident_targets;
  c.rules = options_.rules;
  auto doc = evidence::report(c, p.path.at("clause"), *period);
  if (!doc) {
    if (doc.error().code == store::StoreErrc::not_found) return fail(404, "not_found", doc.error().message);
    if (doc.error().code == store::StoreErrc::invalid) return fail(400, "bad_query", doc.error().message);
    return store_failure(doc.error());
  }
  if (format == "json") return server::json_response(200, std::move(*doc));
  const std::string file = "surveyor-evidence-" + p.path.at("clause") + "-" + period->name;
  http::Response res;
  if (format == "html") {
    auto html = evidence::to_html(*doc);
    if (!html) return store_failure(html.error());
    res.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
    res.headers.emplace_back("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    res.body = std::move(*html);
    return res;
  }
  const std::string table = p.query_or("table");
  if (table.empty()) return fail(400, "bad_query", "format=csv needs table=NAME (the names are in the JSON's tables)");
  auto csv = evidence::to_csv(*doc, table);
  if (!csv) {
    if (csv.error().code == store::StoreErrc::not_found) return fail(404, "not_found", csv.error().message);
    return store_failure(csv.error());
  }
  res.headers.emplace_back("Content-Type", "text/csv; charset=utf-8");
  res.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + file + "-" + table + ".csv\"");
  res.body = std::move(*csv);
  return res;
}

// The routes of this file's handlers (docs/api.md).
void Api::routes_evidence(server::Router& r) {
  r.add("GET", "/api/v1/evidence", "evidence.list", [this](const http::Request&, const server::Params&) { return list_evidence(); });
  r.add("GET", "/api/v1/evidence/{clause}", "evidence.get",
        [this](const http::Request&, const server::Params& p) { return get_evidence(p); });
}

}  // namespace surveyor::collector::api
