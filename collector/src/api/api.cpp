// SPDX-License-Identifier: Apache-2.0
// The REST API. Every handler answers JSON (or the agent's binary format),
// errors as {"error": CODE, "message": TEXT}, and counts what it rejects in
// surveyor_errors_total{reason} so an operator sees bad senders on /metrics.
#include "surveyor/collector/api/api.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "rate_limit.hpp"
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
                registry.counter("surveyor_enrollments_total", "Agents enrolled."),
                registry.counter("surveyor_store_reports_applied_total",
                                 "Agent reports the store applied (stored, duplicate or failed)."),
                registry.counter("surveyor_store_report_commits_total",
                                 "Transactions that committed agent reports (fewer than reports: group commit)."),
                registry.counter("surveyor_store_report_round_trips_total",
                                 "Round trips to the store server applying agent reports (Redis; 0 on SQLite)."),
                registry.counter("surveyor_store_wal_syncs_total",
                                 "Syncs of SQLite's write-ahead log that made committed agent reports durable "
                                 "(one covers every commit made before it)."),
                registry.counter("surveyor_store_wal_checkpoints_total",
                                 "SQLite checkpoints, by the checkpointer thread or, the log too long, by the writer.",
                                 {"by"}),
                registry.gauge("surveyor_store_wal_frames",
                               "Frames (pages) in SQLite's write-ahead log after the last commit of agent reports."),
                registry.counter("surveyor_store_wal_frames_written_total",
                                 "Frames (4 KiB pages) the commits of agent reports wrote to SQLite's write-ahead log: "
                                 "divided by surveyor_store_reports_applied_total, the pages a report costs."),
                registry.seconds_counter("surveyor_store_report_writer_busy_seconds_total",
                                         "Time SQLite's one report writer spent applying and committing groups of "
                                         "agent reports: its rate is the share of the time it was busy (near 1, the "
                                         "writer is the collector's limit).")},
      graphs_(std::make_unique<impact::GraphSource>(stores_, options_.services)),
      intake_(stores_, options_.intake),
      limiter_(std::make_unique<RateLimiter>(options_.rate_limit, options_.rate_burst)) {}

Api::~Api() = default;

// Each group of handlers declares its own routes, in the file that holds
// them; the order matters only where two patterns could match one path
// (a literal before a {capture}), and each group keeps its own.
void Api::register_routes(server::Router& r) {
  routes_agents(r);
  routes_cis(r);
  routes_series(r);
  routes_capacity(r);
  routes_services(r);
  routes_cmdb(r);
  routes_export(r);
  routes_incidents(r);
  routes_evidence(r);
  routes_credentials(r);
  routes_health(r);
  routes_console(r);
  r.set_guard([this](const http::Request& q, std::string_view route, server::Params& p) { return refusal(q, route, p); });
}

// The probes and the collector's own metrics.
void Api::routes_health(server::Router& r) {
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

core::Result<store::Ci> Api::existing_ci(const std::string& id) {
  auto ci = stores_.cmdb->find_ci(id);
  if (!ci) return std::move(ci).error();
  if (!*ci) return core::make_error(store::StoreErrc::not_found, "no CI with id '" + id + "'");
  return std::move(**ci);
}

http::Response Api::ci_failure(const core::Error& e) {
  if (e.code == store::StoreErrc::not_found) return fail(404, "not_found", e.message);
  return store_failure(e);
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
  const store::CommitStats commits = stores_.reports->commit_stats();
  counters_.store_reports.with({}).raise_to(commits.reports);
  counters_.store_commits.with({}).raise_to(commits.commits);
  counters_.store_round_trips.with({}).raise_to(commits.round_trips);
  counters_.wal_syncs.with({}).raise_to(commits.wal_syncs);
  counters_.checkpoints.with({"checkpointer"}).raise_to(commits.checkpoints);
  counters_.checkpoints.with({"writer"}).raise_to(commits.inline_checkpoints);
  counters_.wal_frames.with({}).set(static_cast<double>(commits.wal_frames));
  counters_.wal_frames_written.with({}).raise_to(commits.wal_frames_logged);
  counters_.writer_busy.with({}).raise_to(commits.writer_busy_ns);
  http::Response r;
  r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  r.body = registry_.render();
  return r;
}

}  // namespace surveyor::collector::api
