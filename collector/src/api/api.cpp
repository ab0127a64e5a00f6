// SPDX-License-Identifier: Apache-2.0
// The REST API. Every handler answers JSON (or the agent's binary format),
// errors as {"error": CODE, "message": TEXT}, and counts what it rejects in
// surveyor_errors_total{reason} so an operator sees bad senders on /metrics.
#include "surveyor/collector/api/api.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::api {

namespace json = boost::json;

Api::Api(store::Stores stores, const core::Clock& clock, metrics::Registry& registry, ApiOptions options)
    : stores_(std::move(stores)),
      clock_(clock),
      registry_(registry),
      options_(std::move(options)),
      counters_{registry.counter("surveyor_reports_total", "Agent reports received, by outcome.", {"outcome"}),
                registry.counter("surveyor_samples_total", "Samples stored from agent reports."),
                registry.counter("surveyor_errors_total", "Requests refused or failed, by reason.", {"reason"}),
                registry.counter("surveyor_enrollments_total", "Agents enrolled.")},
      graphs_(std::make_unique<impact::GraphSource>(stores_, options_.services)),
      intake_(stores_) {}

void Api::register_routes(server::Router& r) {
  r.add("POST", "/api/v1/enroll", "enroll", [this](const http::Request& q, const server::Params&) { return enroll(q); });
  r.add("POST", "/api/v1/reports", "reports", [this](const http::Request& q, const server::Params&) { return post_report(q); });
  r.add("GET", "/api/v1/cis", "cis.list", [this](const http::Request&, const server::Params& p) { return list_cis(p); });
  r.add("GET", "/api/v1/cis/{id}", "cis.get", [this](const http::Request&, const server::Params& p) { return get_ci(p); });
  r.add("GET", "/api/v1/cis/{id}/inventory", "cis.inventory",
        [this](const http::Request&, const server::Params& p) { return get_inventory(p); });
  r.add("GET", "/api/v1/cis/{id}/series", "cis.series",
        [this](const http::Request&, const server::Params& p) { return list_series(p); });
  r.add("GET", "/api/v1/series", "series", [this](const http::Request&, const server::Params& p) { return get_series(p); });
  r.add("GET", "/api/v1/forecast", "forecast",
        [this](const http::Request&, const server::Params& p) { return get_forecast(p); });
  r.add("GET", "/api/v1/capacity/report", "capacity.report",
        [this](const http::Request&, const server::Params& p) { return capacity_report(p); });
  r.add("GET", "/api/v1/capacity/events", "capacity.events",
        [this](const http::Request&, const server::Params& p) { return list_events(p); });
  r.add("GET", "/api/v1/services", "services.list",
        [this](const http::Request&, const server::Params&) { return list_services(); });
  r.add("GET", "/api/v1/services/{name}", "services.get",
        [this](const http::Request&, const server::Params& p) { return get_service(p); });
  r.add("POST", "/api/v1/cis", "cis.create", [this](const http::Request& q, const server::Params&) { return create_ci(q); });
  r.add("PATCH", "/api/v1/cis/{id}", "cis.update",
        [this](const http::Request& q, const server::Params& p) { return update_ci(q, p); });
  r.add("GET", "/api/v1/cis/{id}/relationships", "cis.relationships",
        [this](const http::Request&, const server::Params& p) { return ci_relationships(p); });
  r.add("GET", "/api/v1/cis/{id}/history", "cis.history",
        [this](const http::Request&, const server::Params& p) { return ci_history(p); });
  r.add("POST", "/api/v1/relationships", "relationships.add",
        [this](const http::Request& q, const server::Params&) { return add_relationship(q); });
  r.add("DELETE", "/api/v1/relationships", "relationships.remove",
        [this](const http::Request&, const server::Params& p) { return remove_relationship(p); });
  r.add("GET", "/api/v1/audit", "audit", [this](const http::Request&, const server::Params& p) { return list_audit(p); });
  r.add("POST", "/api/v1/changes", "changes.create",
        [this](const http::Request& q, const server::Params&) { return create_change(q); });
  r.add("GET", "/api/v1/changes", "changes.list",
        [this](const http::Request&, const server::Params& p) { return list_changes(p); });
  r.add("GET", "/api/v1/changes/{id}", "changes.get",
        [this](const http::Request&, const server::Params& p) { return get_change(p); });
  r.add("GET", "/api/v1/cis/{id}/export/glpi", "cis.export",
        [this](const http::Request&, const server::Params& p) { return export_glpi(p); });
  r.add("GET", "/api/v1/availability/{ci}", "availability",
        [this](const http::Request&, const server::Params& p) { return get_availability(p); });
  // A check's timeline: /api/v1/availability/check:CI/NAME.
  r.add("GET", "/api/v1/availability/{ci}/{check}", "availability.check",
        [this](const http::Request&, const server::Params& p) {
          if (!p.path.at("ci").starts_with("check:"))
            return fail(404, "not_found", "no such route (a check is check:CI/NAME)");
          server::Params q = p;
          q.path["ci"] = p.path.at("ci") + "/" + p.path.at("check");
          return get_availability(q);
        });
  r.add("GET", "/api/v1/slas", "slas.list", [this](const http::Request&, const server::Params&) { return list_slas(); });
  r.add("GET", "/api/v1/slas/{name}/report", "slas.report",
        [this](const http::Request&, const server::Params& p) { return get_sla_report(p); });
  r.add("POST", "/api/v1/slas/{name}/report/recompute", "slas.recompute",
        [this](const http::Request& q, const server::Params& p) { return recompute_sla_report(q, p); });
  r.add("GET", "/api/v1/impact/{ci}", "impact",
        [this](const http::Request&, const server::Params& p) { return get_impact(p); });
  r.add("PUT", "/api/v1/services/{name}", "services.put",
        [this](const http::Request& q, const server::Params& p) { return put_service(q, p); });
  r.add("DELETE", "/api/v1/services/{name}", "services.delete",
        [this](const http::Request&, const server::Params& p) { return delete_service(p); });
  r.add("GET", "/api/v1/services/{name}/dependencies", "services.dependencies",
        [this](const http::Request&, const server::Params& p) { return service_dependencies(p); });
  r.add("GET", "/api/v1/incidents", "incidents.list",
        [this](const http::Request&, const server::Params& p) { return list_incidents(p); });
  r.add("GET", "/api/v1/incidents/kpis", "incidents.kpis",
        [this](const http::Request&, const server::Params& p) { return incident_kpis(p); });
  r.add("GET", "/api/v1/incidents/{id}", "incidents.get",
        [this](const http::Request&, const server::Params& p) { return get_incident(p); });
  r.add("POST", "/api/v1/incidents/{id}/{action}", "incidents.act",
        [this](const http::Request& q, const server::Params& p) { return act_on_incident(q, p); });
  r.add("GET", "/api/v1/webhooks/deliveries", "webhooks.deliveries",
        [this](const http::Request&, const server::Params& p) { return list_deliveries(p); });
  r.add("GET", "/healthz", "healthz", [this](const http::Request&, const server::Params&) { return healthz(); });
  r.add("GET", "/readyz", "readyz", [this](const http::Request&, const server::Params&) { return readyz(); });
  r.add("GET", "/metrics", "metrics", [this](const http::Request&, const server::Params&) { return metrics(); });
}

http::Response Api::fail(unsigned status, const std::string& reason, const std::string& message) {
  counters_.errors.with({reason}).inc();
  return server::error_response(status, reason, message);
}

http::Response Api::store_failure(const core::Error& e) {
  if (e.code == store::StoreErrc::unavailable) {
    http::Response r = fail(503, "store_unavailable", e.describe());
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  return fail(500, "store_error", e.describe());
}

http::Response Api::healthz() { return server::json_response(200, R"({"status":"ok"})"); }

http::Response Api::readyz() {
  auto st = stores_.health->ping();
  json::object o{{"store", stores_.health->describe()}};
  if (!st) {
    o["status"] = "unavailable";
    o["message"] = st.error().describe();
    http::Response r = server::json_response(503, json::serialize(o));
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }
  o["status"] = "ready";
  // Settings that put acknowledged data at risk do not make the collector
  // unready (it works), but are said here, where operators look.
  if (auto d = stores_.health->durability(); d && !d->warnings.empty()) {
    json::array w;
    for (const std::string& text : d->warnings) w.emplace_back(text);
    o["warnings"] = std::move(w);
  }
  return server::json_response(200, json::serialize(o));
}

http::Response Api::metrics() {
  http::Response r;
  r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  r.body = registry_.render();
  return r;
}

}  // namespace surveyor::collector::api
