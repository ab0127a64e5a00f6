// SPDX-License-Identifier: Apache-2.0
// Service definitions as loaded from the services directory, and the CIs
// each stands on.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "query_params.hpp"
#include "surveyor/collector/api/api.hpp"
#include "surveyor/text/html.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/duration.hpp"
#include "surveyor/collector/sla/sla.hpp"

#include <cstdio>

namespace surveyor::collector::api {
namespace {

namespace json = boost::json;

json::array hours_json(const std::vector<std::string>& hours) {
  json::array out;
  for (const std::string& h : hours) out.emplace_back(h);
  return out;
}

json::object sla_definition_json(const services::Sla& sla) {
  std::vector<std::string> hours;
  for (const services::ServiceHours& h : sla.service_hours) hours.push_back(services::describe(h));
  return {{"target_percent", sla.target_percent},
          {"period", sla.period},
          {"time_zone", sla.time_zone},
          {"service_hours", hours_json(hours)}};
}

json::object service_json(const services::Service& s) {
  json::array groups;
  for (const services::Group& g : s.groups) {
    json::array members;
    for (const std::string& m : g.members) members.emplace_back(m);
    json::object redundancy;
    switch (g.redundancy.kind) {
      case services::Redundancy::Kind::all: redundancy = {{"rule", "all"}}; break;
      case services::Redundancy::Kind::any: redundancy = {{"rule", "any"}}; break;
      case services::Redundancy::Kind::at_least: redundancy = {{"rule", "at_least"}, {"min", g.redundancy.min}}; break;
      case services::Redundancy::Kind::percent:
        redundancy = {{"rule", "percent"}, {"percent", g.redundancy.percent}};
        break;
    }
    groups.push_back(json::object{{"name", g.name}, {"members", std::move(members)}, {"redundancy", std::move(redundancy)}});
  }
  json::array rules;
  for (const capacity::CapacityRule& r : s.capacity_rules)
    rules.push_back(json::object{{"name", s.name + "/" + r.name},
                                 {"kind", r.kind == capacity::CapacityRule::Kind::sustained ? "sustained" : "forecast"},
                                 {"metric", r.metric},
                                 {"attributes", query::labels_json(r.match)},
                                 {"threshold", query::number_json(r.threshold)},
                                 {"direction", r.rising ? "above" : "below"}});
  return {{"name", s.name},
          {"owner", s.owner},
          {"criticality", s.criticality},
          {"description", s.description},
          {"sla", s.sla ? json::value(sla_definition_json(*s.sla)) : json::value(nullptr)},
          {"groups", std::move(groups)},
          {"capacity_rules", std::move(rules)},
          {"file", s.file}};
}

}  // namespace

http::Response Api::list_services() {
  json::array items, errors;
  if (options_.services) {
    options_.services->refresh();
    for (const services::Service& s : options_.services->list()) items.push_back(service_json(s));
    for (const auto& e : options_.services->errors())
      errors.push_back(json::object{{"file", e.file}, {"message", e.message}});
  }
  return server::json_response(200, json::serialize(json::object{{"items", std::move(items)}, {"errors", std::move(errors)}}));
}

http::Response Api::get_service(const server::Params& p) {
  const std::string& name = p.path.at("name");
  if (options_.services) options_.services->refresh();
  auto svc = options_.services ? options_.services->find(name) : std::nullopt;
  if (!svc) return fail(404, "not_found", "no service named '" + name + "'");
  auto members = services::member_cis(*options_.services, *stores_.cmdb, name);
  if (!members) return store_failure(members.error());
  json::object out = service_json(*svc);
  json::array cis, unresolved;
  for (const store::Ci& ci : members->cis)
    cis.push_back(json::object{{"id", ci.id}, {"type", ci.type}, {"name", ci.name}, {"state", std::string(store::to_string(ci.state))}});
  for (const std::string& u : members->unresolved) unresolved.emplace_back(u);
  out["member_cis"] = std::move(cis);
  out["unresolved"] = std::move(unresolved);
  return server::json_response(200, json::serialize(out));
}

http::Response Api::put_service(const http::Request& req, const server::Params& p) {
  const std::string& name = p.path.at("name");
  if (!options_.services) return fail(503, "unavailable", "services are not enabled");
  auto svc = services::parse_service(req.body, "api:" + name);
  if (!svc) return fail(400, "bad_request", svc.error().message);
  if (svc->name != name) return fail(400, "bad_request", "the definition names '" + svc->name + "', the path '" + name + "'");
  options_.services->refresh();
  if (auto held = options_.services->find(name); held && !held->file.starts_with("api:"))
    return fail(409, "conflict", "service '" + name + "' is defined in " + held->file + "; change it there");
  std::string origin(req.header("X-Surveyor-Origin"));
  if (origin.empty()) origin = "api";
  if (origin != "user" && origin != "api") return fail(400, "bad_request", "X-Surveyor-Origin must be user or api");
  const bool existed = options_.services->find(name).has_value();
  if (auto st = stores_.services->put_service({name, req.body, origin, core::to_unix_ms(clock_.now())}); !st)
    return store_failure(st.error());
  options_.services->refresh();
  auto stored = options_.services->find(name);
  if (!stored) return fail(500, "internal", "the service was stored but is not loaded");
  return server::json_response(existed ? 200 : 201, json::serialize(service_json(*stored)));
}

http::Response Api::delete_service(const server::Params& p) {
  const std::string& name = p.path.at("name");
  if (options_.services)
    if (auto held = options_.services->find(name); held && !held->file.starts_with("api:"))
      return fail(409, "conflict", "service '" + name + "' is defined in " + held->file + "; remove the file");
  auto removed = stores_.services->delete_service(name);
  if (!removed) return store_failure(removed.error());
  if (!*removed) return fail(404, "not_found", "no service named '" + name + "' defined through the API");
  if (options_.services) options_.services->refresh();
  return server::json_response(200, R"({"removed":true})");
}

namespace {

json::object sla_json(const sla::Report& r) { return json::parse(sla::report_json(r)).as_object(); }

using text::escape_html;

// A page a service owner can read or print: the figures of one period.
std::string sla_html(const sla::Report& r, const std::string& record) {
  auto minutes = [](std::int64_t ms) {
    char b[64];
    std::snprintf(b, sizeof b, "%.1f min", static_cast<double>(ms) / 60'000.0);
    return std::string(b);
  };
  char achieved[64] = "-", target[64];
  if (r.achieved_percent) std::snprintf(achieved, sizeof achieved, "%.4f %%", *r.achieved_percent);
  std::snprintf(target, sizeof target, "%.4f %%", r.target_percent);
  const std::string name = escape_html(r.service), period = escape_html(r.period.name);
  std::string row;
  auto add = [&row](const char* k, const std::string& v) { row += "<tr><th>" + std::string(k) + "</th><td>" + v + "</td></tr>\n"; };
  add("Period", period + " (" + core::format_rfc3339(r.period.start_ms) + " to " + core::format_rfc3339(r.period.end_ms) +
                    (r.closed ? ", closed" : ", so far") + ")");
  add("Time zone", escape_html(r.period.time_zone) + " (" +
                       sla::local_time_text(r.period.time_zone, r.period.start_ms) + " to " +
                       sla::local_time_text(r.period.time_zone, r.period.end_ms) + ")");
  std::string hours;
  for (const std::string& h : r.service_hours) hours += (hours.empty() ? "" : ", ") + escape_html(h);
  add("Service hours", hours.empty() ? std::string("all the time") : hours);
  add("Target", target);
  add("Achieved", achieved);
  add("Agreed time", minutes(r.agreed_ms));
  add("Downtime", minutes(r.downtime_ms));
  add("Allowed downtime", minutes(r.allowed_downtime_ms));
  add("Error budget left", minutes(r.budget_left_ms) + (r.breached ? " <strong>breached</strong>" : ""));
  add("Maintenance (not counted)", minutes(r.maintenance_ms));
  add("Unknown (reported apart)", minutes(r.unknown_ms));
  add("Record", escape_html(record));
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>SLA " + name + " " + period +
         "</title>\n<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:2em}"
         "td,th{padding:.3em 1em .3em 0;border-bottom:1px solid #ddd}</style></head>\n<body><h1>SLA: " + name +
         "</h1>\n<table>\n" + row + "</table>\n<p>How each figure is computed: docs/sla.md.</p></body></html>\n";
}

}  // namespace

core::Result<std::optional<sla::Report>> Api::sla_report(const services::Service& svc, std::optional<sla::Period> period) {
  if (!svc.sla) return std::optional<sla::Report>{};
  const std::int64_t now = core::to_unix_ms(clock_.now());
  if (!period) period = sla::period_at(*svc.sla, now);
  if (!period) return std::optional<sla::Report>{};
  const std::int64_t to = std::min(now, period->end_ms);
  auto timeline = stores_.timelines->read_timeline("service:" + svc.name, period->start_ms, to);
  if (!timeline) return std::move(timeline).error();
  return std::optional<sla::Report>{sla::evaluate(svc.name, *svc.sla, *period, *timeline, now)};
}

http::Response Api::list_slas() {
  json::array items;
  if (options_.services) {
    options_.services->refresh();
    for (const services::Service& s : options_.services->list()) {
      auto r = sla_report(s, std::nullopt);
      if (!r) return store_failure(r.error());
      if (*r) items.push_back(sla_json(**r));
    }
  }
  return server::json_response(200, json::serialize(json::object{{"items", std::move(items)}}));
}

http::Response Api::get_sla_report(const server::Params& p) {
  const std::string& name = p.path.at("name");
  if (options_.services) options_.services->refresh();
  auto svc = options_.services ? options_.services->find(name) : std::nullopt;
  if (!svc) return fail(404, "not_found", "no service named '" + name + "'");
  if (!svc->sla) return fail(404, "not_found", "service '" + name + "' has no SLA target");
  std::optional<sla::Period> period;
  if (const std::string want = p.query_or("period"); !want.empty()) {
    period = sla::period_named(*svc->sla, want);
    if (!period)
      return fail(400, "bad_query", "period must name a " + svc->sla->period + " (2026-10, 2026-W43 or 2026-Q4)");
  }
  const std::string format = p.query_or("format", "json");
  if (format != "json" && format != "csv" && format != "html")
    return fail(400, "bad_query", "format must be json, csv or html");
  // A closed period answers with its frozen report (the latest version, or
  // the one asked for); a running one, or one not frozen, is computed now.
  const std::int64_t now = core::to_unix_ms(clock_.now());
  core::Result<std::optional<sla::Report>> r = std::optional<sla::Report>{};
  json::object record{{"frozen", false}, {"version", nullptr}, {"versions", json::array{}}};
  std::string record_text = "computed now (not a frozen report)";
  std::string version_text;
  const std::string want_version = p.query_or("version");
  if (!want_version.empty() && !(period && period->end_ms <= now))
    return fail(400, "bad_query", "version names a stored report of a closed period: give period too");
  if (period && period->end_ms <= now) {
    auto held = stores_.sla_reports->sla_reports(name, period->name);
    if (!held) return store_failure(held.error());
    std::size_t pick = held->size();
    if (!want_version.empty()) {
      auto n = query::count_param(p, "version", 1, 1, 1'000'000);
      if (!n) return query_failure(n.error());
      if (*n > held->size()) return fail(404, "not_found", "no version " + want_version + " of " + period->name);
      pick = *n;
    }
    if (pick > 0) {
      const store::SlaReportVersion& v = (*held)[pick - 1];
      auto frozen = sla::report_from_json(v.report);
      if (!frozen) return store_failure(frozen.error());
      r = std::optional<sla::Report>{std::move(*frozen)};
      json::array versions;
      for (const store::SlaReportVersion& h : *held)
        versions.push_back(json::object{{"version", h.version},
                                        {"created", core::format_rfc3339(h.created_ms)},
                                        {"by", h.by},
                                        {"reason", h.reason}});
      record = {{"frozen", true}, {"version", v.version}, {"versions", std::move(versions)}};
      record_text = "frozen report, version " + std::to_string(v.version) + " of " + std::to_string(held->size()) +
                    " (" + core::format_rfc3339(v.created_ms) + ", " + v.by + ": " + v.reason + ")";
      version_text = std::to_string(v.version);
    }
  }
  if (!*r) r = sla_report(*svc, period);
  if (!r) return store_failure(r.error());
  if (!*r) return fail(404, "not_found", "no SLA period");
  if (format == "html") {
    http::Response res;
    res.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
    res.body = sla_html(**r, record_text);
    return res;
  }
  if (format == "csv") {
    const sla::Report& x = **r;
    char row[512];
    std::snprintf(row, sizeof row, "%s,%s,%s,%.4f,%s,%.3f,%.3f,%.3f,%.3f,%.3f,%s,", x.service.c_str(),
                  x.period.name.c_str(), x.closed ? "true" : "false", x.target_percent,
                  x.achieved_percent ? std::to_string(*x.achieved_percent).c_str() : "", x.downtime_ms / 1000.0,
                  x.allowed_downtime_ms / 1000.0, x.budget_left_ms / 1000.0, x.maintenance_ms / 1000.0,
                  x.unknown_ms / 1000.0, x.breached ? "true" : "false");
    // Names and texts that cannot hold a comma or a quote (zone names, "Mon-Fri 08:00-18:00").
    std::string hours;
    for (const std::string& h : x.service_hours) hours += (hours.empty() ? "" : ";") + h;
    char agreed[64];
    std::snprintf(agreed, sizeof agreed, "%.3f", x.agreed_ms / 1000.0);
    http::Response res;
    res.headers.emplace_back("Content-Type", "text/csv; charset=utf-8");
    res.body = std::string("service,period,closed,target_percent,achieved_percent,downtime_seconds,"
                           "allowed_downtime_seconds,error_budget_left_seconds,maintenance_seconds,unknown_seconds,"
                           "breached,start,end,time_zone,service_hours,agreed_seconds,version\r\n") +
               row + core::format_rfc3339(x.period.start_ms) + "," + core::format_rfc3339(x.period.end_ms) + "," +
               x.period.time_zone + "," + hours + "," + agreed + "," + version_text + "\r\n";
    return res;
  }
  json::object out = sla_json(**r);
  out["record"] = std::move(record);
  return server::json_response(200, json::serialize(out));
}

http::Response Api::recompute_sla_report(const http::Request& req, const server::Params& p) {
  const std::string& name = p.path.at("name");
  if (options_.services) options_.services->refresh();
  auto svc = options_.services ? options_.services->find(name) : std::nullopt;
  if (!svc) return fail(404, "not_found", "no service named '" + name + "'");
  if (!svc->sla) return fail(404, "not_found", "service '" + name + "' has no SLA target");
  const std::string want = p.query_or("period");
  auto period = sla::period_named(*svc->sla, want);
  if (!period) return fail(400, "bad_query", "period must name a " + svc->sla->period + " (2026-10, 2026-W43 or 2026-Q4)");
  auto body = query::object_body(req);
  if (auto* e = std::get_if<std::string>(&body)) return fail(400, "bad_request", *e);
  // Who asked is the token's holder, never what the body says.
  std::string reason;
  if (auto e = query::string_member(std::get<json::object>(body), "reason", reason)) return fail(400, "bad_request", *e);
  if (reason.empty() || reason.size() > 1024)
    return fail(400, "bad_request", "reason must be a non-empty string (at most 1 KiB)");
  auto r = sla::recompute(stores_, *svc, *period, p.actor, reason, core::to_unix_ms(clock_.now()));
  if (!r) {
    if (r.error().code == store::StoreErrc::conflict) return fail(409, "conflict", r.error().message);
    return store_failure(r.error());
  }
  return server::json_response(r->amended ? 201 : 200,
                               json::serialize(json::object{{"amended", r->amended},
                                                            {"version", r->version.version},
                                                            {"created", core::format_rfc3339(r->version.created_ms)},
                                                            {"by", r->version.by},
                                                            {"reason", r->version.reason}}));
}

// The routes of this file's handlers (docs/api.md).
void Api::routes_services(server::Router& r) {
  r.add("GET", "/api/v1/services", "services.list",
        [this](const http::Request&, const server::Params&) { return list_services(); });
  r.add("GET", "/api/v1/services/{name}", "services.get",
        [this](const http::Request&, const server::Params& p) { return get_service(p); });
  r.add("GET", "/api/v1/slas", "slas.list", [this](const http::Request&, const server::Params&) { return list_slas(); });
  r.add("GET", "/api/v1/slas/{name}/report", "slas.report",
        [this](const http::Request&, const server::Params& p) { return get_sla_report(p); });
  r.add("POST", "/api/v1/slas/{name}/report/recompute", "slas.recompute",
        [this](const http::Request& q, const server::Params& p) { return recompute_sla_report(q, p); });
  r.add("PUT", "/api/v1/services/{name}", "services.put",
        [this](const http::Request& q, const server::Params& p) { return put_service(q, p); });
  r.add("DELETE", "/api/v1/services/{name}", "services.delete",
        [this](const http::Request&, const server::Params& p) { return delete_service(p); });
}

}  // namespace surveyor::collector::api
