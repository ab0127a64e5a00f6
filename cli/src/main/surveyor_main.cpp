// SPDX-License-Identifier: Apache-2.0
// surveyor: the operator command line. It talks only to the collector's
// REST API; --json prints the API's answer exactly as received.
#include <CLI/CLI.hpp>

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <tuple>
#include <cstdio>

#include "surveyor/cli/format/capacity.hpp"
#include "surveyor/cli/format/cmdb.hpp"
#include "surveyor/cli/format/incidents.hpp"
#include "surveyor/cli/format/services.hpp"
#include "surveyor/http/client.hpp"

namespace {

using namespace surveyor;
using namespace surveyor::cli;

std::string encode(const std::string& s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }

// Sends `req` with JSON accepted; prints an error and returns nullopt
// unless the status is 200 (or 201 for a POST). With status_out, a 404 is
// returned there without a message.
std::optional<std::string> call(const http::Url& base, http::Request req, unsigned* status_out = nullptr) {
  req.headers.emplace_back("Accept", "application/json");
  auto res = http::fetch(base, req);
  if (!res) {
    std::cerr << "surveyor: cannot reach the collector at " << base.to_string() << ": " << res.error().describe()
              << "\n";
    return std::nullopt;
  }
  if (status_out) *status_out = res->status;
  if (res->status != 200 && !(req.method == "POST" && res->status == 201)) {
    if (status_out && res->status == 404) return std::nullopt;
    std::cerr << "surveyor: HTTP " << res->status << ": " << res->body << "\n";
    return std::nullopt;
  }
  return res->body;
}

std::optional<std::string> get(const http::Url& base, const std::string& target, unsigned* status_out = nullptr) {
  http::Request req;
  req.target = target;
  return call(base, std::move(req), status_out);
}

std::optional<std::string> post(const http::Url& base, const std::string& target, const std::string& body) {
  http::Request req;
  req.method = "POST";
  req.target = target;
  req.body = body;
  req.headers = {{"Content-Type", "application/json"}};
  return call(base, std::move(req));
}

// Who runs the command, for --by: $USER, or empty.
std::string current_user() {
  const char* user = std::getenv("USER");
  return user ? user : "";
}

int print(const std::string& body, bool as_json, core::Result<std::string> (*render)(std::string_view)) {
  if (as_json) {
    std::cout << body << "\n";
    return 0;
  }
  auto text = render(body);
  if (!text) {
    std::cerr << "surveyor: " << text.error().message << "\n";
    return 1;
  }
  std::cout << *text;
  return 0;
}

// A CI id from an id or a unique name; prints why not and returns nullopt.
std::optional<std::string> resolve_ci(const http::Url& base, const std::string& ref) {
  unsigned status = 0;
  if (get(base, "/api/v1/cis/" + encode(ref), &status)) return ref;
  if (status != 404) return std::nullopt;
  auto list = get(base, "/api/v1/cis?name=" + encode(ref));
  if (!list) return std::nullopt;
  auto ids = format::ci_ids(*list);
  if (!ids) {
    std::cerr << "surveyor: " << ids.error().message << "\n";
    return std::nullopt;
  }
  if (ids->empty()) {
    std::cerr << "surveyor: no CI with id or name '" << ref << "'\n";
    return std::nullopt;
  }
  if (ids->size() > 1) {
    std::cerr << "surveyor: " << ids->size() << " CIs are named '" << ref << "'; use an id:\n";
    if (auto text = format::render_ci_list(*list)) std::cerr << *text;
    return std::nullopt;
  }
  return ids->front();
}

// "ci=ID,ID" from comma-separated ids or names, "type=TYPE" or "service=NAME".
std::optional<std::string> ci_query(const http::Url& base, const std::string& refs, const std::string& type,
                                    const std::string& service) {
  if (!service.empty()) return "service=" + encode(service);
  if (!type.empty()) return "type=" + encode(type);
  std::string ids;
  std::size_t start = 0;
  while (start <= refs.size()) {
    const std::size_t comma = std::min(refs.find(',', start), refs.size());
    const std::string ref = refs.substr(start, comma - start);
    start = comma + 1;
    if (ref.empty()) continue;
    auto id = resolve_ci(base, ref);
    if (!id) return std::nullopt;
    ids += (ids.empty() ? "" : ",") + *id;
  }
  return "ci=" + encode(ids);
}

// The selector part of a series query: metric, attr.K=V, exact.
std::string selector_query(const std::string& metric, const std::vector<std::string>& attrs, bool exact) {
  std::string q = "&metric=" + encode(metric);
  for (const std::string& kv : attrs) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    q += "&attr." + encode(kv.substr(0, eq)) + "=" + encode(kv.substr(eq + 1));
  }
  if (exact) q += "&exact=true";
  return q;
}

// A JSON string literal.
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

void add_param(std::string& q, const char* key, const std::string& v) {
  if (!v.empty()) q += std::string("&") + key + "=" + encode(v);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("surveyor: ask a Surveyor collector about configuration items, capacity and availability");
  const char* env = std::getenv("SURVEYOR_URL");
  std::string url = env ? env : "http://127.0.0.1:8080";
  bool as_json = false;
  app.add_option("--collector", url, "collector URL (default: $SURVEYOR_URL or http://127.0.0.1:8080)");
  app.add_flag("--json", as_json, "print the API's JSON answer exactly as received");
  app.fallthrough();  // --collector and --json also after the subcommand
  app.require_subcommand(1);

  std::string type, name;
  auto* cis = app.add_subcommand("cis", "list configuration items");
  cis->add_option("--type", type, "only CIs of this type (host, ...)");
  cis->add_option("--name", name, "only CIs with exactly this name");

  auto* ci = app.add_subcommand("ci", "one configuration item");
  ci->require_subcommand(1);
  std::string ref;
  auto* show = ci->add_subcommand("show", "show a CI, its attributes and latest samples");
  show->add_option("CI", ref, "CI id or name")->required();

  auto* services = app.add_subcommand("services", "list the services and any definition files that failed to load");
  std::string service_name;
  auto* service_cmd = app.add_subcommand("service", "one service");
  service_cmd->require_subcommand(1);
  auto* service_show = service_cmd->add_subcommand("show", "a service: owner, SLA, groups and the CIs it stands on");
  service_show->add_option("NAME", service_name, "service name")->required();

  auto* impact = app.add_subcommand("impact", "what fails, and which services go down or degrade, if a CI fails");
  std::string depth;
  impact->add_option("CI", ref, "CI id or name")->required();
  impact->add_option("--depth", depth, "how far up to walk (default 10)");
  auto* audit = app.add_subcommand("audit", "the audit trail, newest first");
  std::string audit_ci, since, kind_filter, limit = "100";
  bool unauthorized = false;
  audit->add_option("--ci", audit_ci, "one CI (id or name) instead of the whole fleet");
  audit->add_option("--since", since, "from this time (RFC 3339 or Unix ms)");
  audit->add_option("--kind", kind_filter, "created, attribute, relationship, software, state or name");
  audit->add_flag("--unauthorized", unauthorized, "only alerts for changes outside every approved change window");
  audit->add_option("--limit", limit, "at most this many (default 100)");

  auto* sla_cmd = app.add_subcommand("sla", "service level figures");
  sla_cmd->require_subcommand(1);
  auto* sla_report = sla_cmd->add_subcommand("report", "a service's SLA in a period: achieved, downtime, budget left");
  std::string sla_service, sla_period, sla_format = "table";
  sla_report->add_option("SERVICE", sla_service, "service name")->required();
  sla_report->add_option("--period", sla_period, "2026-10, 2026-W43 or 2026-Q4 (default: the current one)");
  std::string sla_version;
  sla_report->add_option("--version", sla_version, "a closed period's stored version (default: the latest)");
  sla_report->add_option("--format", sla_format, "table, csv, json or html")
      ->check(CLI::IsMember({"table", "csv", "json", "html"}));

  // Series questions share how they name series.
  std::string cis_arg, ci_type, service, metric, from, to, step, agg, across, source, window, threshold, predict;
  std::vector<std::string> attrs;
  bool exact = false, below = false;
  auto series_options = [&](CLI::App* c) {
    c->add_option("CI", cis_arg, "CI ids or names, comma-separated (or use --type)");
    c->add_option("METRIC", metric, "metric, e.g. system.filesystem.utilization");
    c->add_option("--type", ci_type, "every CI of this type instead of named CIs");
    c->add_option("--service", service, "the CIs this service stands on instead of named CIs");
    c->add_option("--attr", attrs, "KEY=VALUE an attribute the series must have (repeatable)");
    c->add_flag("--exact", exact, "the series must have exactly the --attr attributes, no others");
  };
  auto* sla_recompute = sla_cmd->add_subcommand(
      "recompute", "recompute a closed period's report; stored as an amendment if its figures changed");
  std::string sla_by = current_user(), sla_reason;
  sla_recompute->add_option("SERVICE", sla_service, "service name")->required();
  sla_recompute->add_option("--period", sla_period, "the closed period: 2026-10, 2026-W43 or 2026-Q4")->required();
  sla_recompute->add_option("--by", sla_by, "who asks (default: $USER)");
  sla_recompute->add_option("--reason", sla_reason, "why (kept with the amendment)")->required();
  auto* trend = app.add_subcommand("trend", "a series over time, downsampled");
  series_options(trend);
  trend->add_option("--from", from, "start: RFC 3339 or Unix ms (default: an hour before --to)");
  trend->add_option("--to", to, "end: RFC 3339 or Unix ms (default: now)");
  trend->add_option("--step", step, "bucket length, e.g. 5m or 1h (default: raw samples)");
  trend->add_option("--agg", agg, "per bucket: avg, min, max or p95 (default avg)");
  trend->add_option("--across", across, "also combine the series: avg, min, max or sum");
  trend->add_option("--source", source, "auto, raw or rollup (default auto)");
  auto* forecast = app.add_subcommand("forecast", "fit a trend and say when it reaches a threshold");
  series_options(forecast);
  forecast->add_option("--window", window, "history fitted (default 7d)");
  forecast->add_option("--threshold", threshold, "the value whose crossing is forecast");
  forecast->add_flag("--below", below, "the threshold is a floor (the series falls towards it)");
  forecast->add_option("--predict", predict, "also predict the value this far ahead, e.g. 30d");
  forecast->add_option("--source", source, "auto, raw or rollup (hourly maxima) (default auto)");
  auto* capacity = app.add_subcommand("capacity", "capacity report and events");
  capacity->require_subcommand(1);
  std::string format = "table", state, kind;
  auto* report = capacity->add_subcommand("report", "current, p95, peak, headroom and days to threshold");
  report->add_option("CI", cis_arg, "CI ids or names, comma-separated (or use --type)");
  report->add_option("--type", ci_type, "every CI of this type");
  report->add_option("--service", service, "the CIs this service stands on, with its own thresholds");
  report->add_option("--window", window, "history considered (default 7d)");
  report->add_option("--format", format, "table, csv or json")->check(CLI::IsMember({"table", "csv", "json"}));
  auto* events = capacity->add_subcommand("events", "capacity events, newest first");
  events->add_option("--state", state, "open or resolved");
  events->add_option("--kind", kind, "capacity or capacity-forecast");
  events->add_option("--ci", cis_arg, "only this CI (id)");

  auto* incidents_cmd = app.add_subcommand("incidents", "incidents, newest first");
  std::string inc_state, inc_kind, inc_subject, inc_priority, inc_limit = "100", inc_period;
  incidents_cmd->add_option("--state", inc_state, "open, acknowledged, resolved, closed or active (comma-separated)");
  incidents_cmd->add_option("--kind", inc_kind, "availability, capacity, capacity-forecast, SLA-risk, SLA-breach, "
                                                "unauthorised-change");
  incidents_cmd->add_option("--ci", inc_subject, "only this CI (id or name) or service:NAME");
  incidents_cmd->add_option("--priority", inc_priority, "only this priority or higher (1-5)");
  incidents_cmd->add_option("--limit", inc_limit, "at most this many (default 100)");
  auto* kpis = incidents_cmd->add_subcommand("kpis", "counts by kind and priority, MTTR and MTBF in a period");
  kpis->add_option("--period", inc_period, "2026-11, 2026-W48 or 2026-Q4 (default: this month)");
  auto* incident_cmd = app.add_subcommand("incident", "one incident");
  incident_cmd->require_subcommand(1);
  std::string inc_id, inc_by = current_user(), inc_text;
  auto* inc_show = incident_cmd->add_subcommand("show", "an incident and its timeline");
  inc_show->add_option("ID", inc_id, "incident id (INC-42)")->required();
  std::vector<std::pair<CLI::App*, std::string>> inc_actions;
  for (auto [verb, action, help] : {std::tuple{"ack", "acknowledge", "acknowledge: someone is on it"},
                                    {"resolve", "resolve", "resolve: service is restored"},
                                    {"close", "close", "close a resolved incident"},
                                    {"reopen", "reopen", "re-open a resolved incident"},
                                    {"comment", "comment", "add a comment to the timeline"}}) {
    auto* sub = incident_cmd->add_subcommand(verb, help);
    sub->add_option("ID", inc_id, "incident id (INC-42)")->required();
    sub->add_option("--by", inc_by, "who (default: $USER)");
    auto* t = sub->add_option("--text", inc_text, "a note for the timeline");
    if (std::string(action) == "comment") t->required();
    inc_actions.emplace_back(sub, action);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a usage error exits 2, as is customary.
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto base = http::parse_url(url);
  if (!base) {
    std::cerr << "surveyor: " << base.error().message << "\n";
    return 2;
  }

  if (*cis) {
    std::string target = "/api/v1/cis?limit=10000";
    if (!type.empty()) target += "&type=" + encode(type);
    if (!name.empty()) target += "&name=" + encode(name);
    auto body = get(*base, target);
    if (!body) return 1;
    return print(*body, as_json, format::render_ci_list);
  }
  if (*show) {
    auto id = resolve_ci(*base, ref);
    if (!id) return 1;
    auto body = get(*base, "/api/v1/cis/" + encode(*id));
    if (!body) return 1;
    return print(*body, as_json, format::render_ci);
  }
  if (*impact) {
    auto id = resolve_ci(*base, ref);
    if (!id) return 1;
    std::string q = "/api/v1/impact/" + encode(*id) + "?";
    add_param(q, "depth", depth);
    auto body = get(*base, q);
    if (!body) return 1;
    return print(*body, as_json, format::render_impact);
  }
  if (*audit) {
    std::string q = "/api/v1/audit?limit=" + encode(limit);
    if (!audit_ci.empty()) {
      auto id = resolve_ci(*base, audit_ci);
      if (!id) return 1;
      add_param(q, "ci", *id);
    }
    add_param(q, "from", since);
    add_param(q, "kind", kind_filter);
    if (unauthorized) q += "&unauthorized=true";
    auto body = get(*base, q);
    if (!body) return 1;
    return print(*body, as_json, format::render_audit);
  }
  if (*sla_report) {
    const bool text = sla_format == "csv" || sla_format == "html";
    std::string q = "/api/v1/slas/" + encode(sla_service) + "/report?format=" + (text ? sla_format : "json");
    add_param(q, "period", sla_period);
    add_param(q, "version", sla_version);
    auto body = get(*base, q);
    if (!body) return 1;
    if (text) {
      std::cout << *body;
      return 0;
    }
    return print(*body, as_json || sla_format == "json", format::render_sla);
  }
  if (*sla_recompute) {
    if (sla_by.empty()) {
      std::cerr << "surveyor: say who asks with --by (or set $USER)\n";
      return 2;
    }
    auto body = post(*base, "/api/v1/slas/" + encode(sla_service) + "/report/recompute?period=" + encode(sla_period),
                     "{\"by\":" + json_string(sla_by) + ",\"reason\":" + json_string(sla_reason) + "}");
    if (!body) return 1;
    if (as_json) {
      std::cout << *body << "\n";
      return 0;
    }
    const bool amended = body->find("\"amended\":true") != std::string::npos;
    std::cout << (amended ? "figures changed: stored as a new version\n"
                          : "figures unchanged: the stored report stands\n")
              << *body << "\n";
    return 0;
  }
  if (*services) {
    auto body = get(*base, "/api/v1/services");
    if (!body) return 1;
    return print(*body, as_json, format::render_services);
  }
  if (*service_show) {
    auto body = get(*base, "/api/v1/services/" + encode(service_name));
    if (!body) return 1;
    return print(*body, as_json, format::render_service);
  }
  if (*trend || *forecast || *report) {
    // With --type or --service the one positional argument is the metric.
    if (!*report && metric.empty() && (!ci_type.empty() || !service.empty())) std::swap(metric, cis_arg);
    if (!*report && metric.empty()) {
      std::cerr << "surveyor: METRIC is required\n";
      return 2;
    }
    if (!cis_arg.empty() + !ci_type.empty() + !service.empty() != 1) {
      std::cerr << "surveyor: name the CIs, or give --type or --service (one of the three)\n";
      return 2;
    }
    auto which = ci_query(*base, cis_arg, ci_type, service);
    if (!which) return 1;
    if (*report) {
      std::string q = "/api/v1/capacity/report?" + *which + "&format=" + (format == "table" ? "text" : format);
      add_param(q, "window", window);
      auto body = get(*base, q);
      if (!body) return 1;
      std::cout << *body;
      return 0;
    }
    std::string q = (*trend ? "/api/v1/series?" : "/api/v1/forecast?") + *which + selector_query(metric, attrs, exact);
    add_param(q, "source", source);
    if (*trend) {
      for (auto [k, v] : {std::pair{"from", &from}, {"to", &to}, {"step", &step}, {"agg", &agg}, {"across", &across}})
        add_param(q, k, *v);
    } else {
      add_param(q, "window", window);
      add_param(q, "threshold", threshold);
      add_param(q, "predict", predict);
      if (below) q += "&direction=below";
    }
    auto body = get(*base, q);
    if (!body) return 1;
    return print(*body, as_json,
                 *trend ? format::render_series : format::render_forecast);
  }
  if (*kpis) {
    std::string q = "/api/v1/incidents/kpis?";
    add_param(q, "period", inc_period);
    auto body = get(*base, q);
    if (!body) return 1;
    return print(*body, as_json, format::render_incident_kpis);
  }
  if (*incidents_cmd) {
    std::string q = "/api/v1/incidents?limit=" + encode(inc_limit);
    add_param(q, "state", inc_state);
    add_param(q, "kind", inc_kind);
    add_param(q, "priority", inc_priority);
    if (!inc_subject.empty()) {
      std::optional<std::string> subject = inc_subject;
      if (!inc_subject.starts_with("service:")) subject = resolve_ci(*base, inc_subject);
      if (!subject) return 1;
      add_param(q, "subject", *subject);
    }
    auto body = get(*base, q);
    if (!body) return 1;
    return print(*body, as_json, format::render_incidents);
  }
  if (*inc_show) {
    auto body = get(*base, "/api/v1/incidents/" + encode(inc_id));
    if (!body) {
      std::cerr << "surveyor: no incident '" << inc_id << "'\n";
      return 1;
    }
    return print(*body, as_json, format::render_incident);
  }
  for (const auto& [sub, action] : inc_actions) {
    if (!*sub) continue;
    if (inc_by.empty()) {
      std::cerr << "surveyor: say who acts with --by (or set $USER)\n";
      return 2;
    }
    auto body = post(*base, "/api/v1/incidents/" + encode(inc_id) + "/" + action,
                     "{\"by\":" + json_string(inc_by) + ",\"text\":" + json_string(inc_text) + "}");
    if (!body) return 1;
    return print(*body, as_json, format::render_incident);
  }
  if (*events) {
    std::string q = "/api/v1/capacity/events?limit=1000";
    add_param(q, "state", state);
    add_param(q, "kind", kind);
    add_param(q, "ci", cis_arg);
    auto body = get(*base, q);
    if (!body) return 1;
    return print(*body, as_json, format::render_events);
  }
  return 0;
}
