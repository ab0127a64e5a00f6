// SPDX-License-Identifier: Apache-2.0
// Every endpoint of the collector's REST API as a handler, and the routes that reach them.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <memory>

#include "surveyor/collector/evidence/evidence.hpp"
#include "surveyor/collector/capacity/rules.hpp"
#include "surveyor/collector/impact/impact.hpp"
#include "surveyor/collector/ingest/intake.hpp"
#include "surveyor/collector/sla/sla.hpp"
#include "surveyor/collector/metrics/registry.hpp"
#include "surveyor/collector/server/router.hpp"
#include "surveyor/collector/services/services.hpp"
#include "surveyor/collector/store/stores.hpp"
#include "surveyor/collector/ui/ui_files.hpp"
#include "surveyor/core/clock.hpp"

namespace boost::json {
class object;
class array;
}

namespace surveyor::collector::api {

class RateLimiter;

struct ApiOptions {
  std::string enrollment_token;  // agents must present it to enroll
  std::string version = "0.1.0";
  // The capacity rules in force: their thresholds are the capacity report's.
  std::vector<capacity::CapacityRule> rules = capacity::default_rules();
  // The service definitions (none when null).
  std::shared_ptr<services::Catalog> services;
  // What reports must keep to beyond their format.
  ingest::IntakePolicy intake;
  // The names (or addresses) clients may send in `Host`, without the port;
  // empty: any. Guards against DNS rebinding: a page whose name was made to
  // point at the collector sends its own name.
  std::vector<std::string> allowed_hosts;
  // Serve /metrics without a token (for a scraper on a trusted network).
  bool metrics_public = false;
  // Operators' requests and enrollments allowed per second (on average,
  // `rate_burst` at once) per client address and per token; beyond, 429
  // with Retry-After. 0: no limit. Agents' reports are not limited here.
  double rate_limit = 50;
  double rate_burst = 200;
  // The web console's files, served under /ui/ (none: /ui/ answers 404
  // saying so); `ui_dir` is where they were to be read from.
  std::shared_ptr<const ui::UiFiles> ui;
  std::string ui_dir;
  // Incident targets per priority, for the evidence of clause 8.6.1.
  evidence::Targets incident_targets = evidence::default_targets();
};

// The access a route needs: "open", "agent" (agents authenticate
// themselves), or the least role: "viewer", "operator", "change-manager",
// "admin". None for a route without an access rule (refused with 500).
[[nodiscard]] std::optional<std::string_view> required_access(std::string_view route);
// Operators' token names: 1-64 letters, digits, '.', '_' or '-'.
[[nodiscard]] bool valid_token_name(std::string_view name);
// A new secret: `prefix` and 256 bits from the CSPRNG in hex.
[[nodiscard]] std::string new_secret(std::string_view prefix);
// A record to store and its secret, shown once: an operator's token
// ("svt_...") or an enrollment grant ("sve_...", id "enr-...").
template <class Record>
struct Issued {
  Record record;
  std::string secret;
};
[[nodiscard]] Issued<store::OperatorToken> issue_token(std::string name, store::Role role, std::int64_t now_ms,
                                                       std::int64_t expires_ms);
[[nodiscard]] Issued<store::EnrollmentGrant> issue_grant(std::int64_t uses, std::int64_t now_ms,
                                                         std::int64_t expires_ms);
// When something valid for `text` ("90d", "12h") from now_ms expires; 0
// (never) for empty text; nullopt unless a positive duration.
[[nodiscard]] std::optional<std::int64_t> expiry_after(std::string_view text, std::int64_t now_ms);

// The REST API (docs/api.md): enrollment, reports, CIs, health and metrics.
// Handlers block on the stores; the server runs them on its worker pool.
class Api {
 public:
  Api(store::Stores stores, const core::Clock& clock, metrics::Registry& registry, ApiOptions options);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Adds every route; the Api must outlive the router.
  void register_routes(server::Router& router);

  http::Response enroll(const http::Request& req);
  http::Response post_report(const http::Request& req);
  void post_report_async(const http::Request& req, const server::Respond& respond);
  http::Response report_answer(const core::Result<ingest::Accepted>& accepted);
  http::Response rotate_agent_key(const http::Request& req);
  http::Response list_cis(const server::Params& p);
  http::Response get_ci(const server::Params& p);
  core::Status add_utilization(const std::vector<store::Ci>& cis, boost::json::array& items);
  http::Response get_inventory(const server::Params& p);
  http::Response list_series(const server::Params& p);
  http::Response get_series(const server::Params& p);
  http::Response get_forecast(const server::Params& p);
  http::Response capacity_report(const server::Params& p);
  http::Response list_events(const server::Params& p);
  http::Response list_services();
  http::Response create_ci(const http::Request& req, const server::Params& p);
  http::Response update_ci(const http::Request& req, const server::Params& p);
  http::Response ci_relationships(const server::Params& p);
  http::Response add_relationship(const http::Request& req, const server::Params& p);
  http::Response remove_relationship(const server::Params& p);
  http::Response list_audit(const server::Params& p);
  http::Response list_evidence();
  http::Response get_evidence(const server::Params& p);
  http::Response verify_audit(const http::Request& req);
  http::Response ci_history(const server::Params& p);
  http::Response create_change(const http::Request& req, const server::Params& p);
  http::Response list_changes(const server::Params& p);
  http::Response get_change(const server::Params& p);
  http::Response get_impact(const server::Params& p);
  http::Response service_dependencies(const server::Params& p);
  http::Response export_glpi(const server::Params& p);
  http::Response get_availability(const server::Params& p);
  http::Response list_slas();
  http::Response get_sla_report(const server::Params& p);
  http::Response recompute_sla_report(const http::Request& req, const server::Params& p);
  http::Response put_service(const http::Request& req, const server::Params& p);
  http::Response delete_service(const server::Params& p);
  http::Response get_service(const server::Params& p);
  http::Response list_incidents(const server::Params& p);
  http::Response get_incident(const server::Params& p);
  http::Response act_on_incident(const http::Request& req, const server::Params& p);
  http::Response incident_kpis(const server::Params& p);
  http::Response list_deliveries(const server::Params& p);
  http::Response list_tokens();
  http::Response create_token(const http::Request& req);
  http::Response revoke_token(const server::Params& p);
  http::Response list_enrollment_tokens();
  http::Response create_enrollment_token(const http::Request& req);
  http::Response revoke_enrollment_token(const server::Params& p);
  http::Response healthz();
  http::Response readyz();
  http::Response metrics();

 private:
  // Route groups, one per handler file.
  void routes_agents(server::Router& r);
  void routes_cis(server::Router& r);
  void routes_series(server::Router& r);
  void routes_capacity(server::Router& r);
  void routes_services(server::Router& r);
  void routes_cmdb(server::Router& r);
  void routes_export(server::Router& r);
  void routes_incidents(server::Router& r);
  void routes_evidence(server::Router& r);
  void routes_health(server::Router& r);
  void routes_console(server::Router& r);
  void routes_credentials(server::Router& r);
  // A body's "expires" (a duration from now, `fallback` when absent; empty:
  // never) as an instant; nullopt when malformed.
  std::optional<std::int64_t> expiry_member(const boost::json::object& o, std::int64_t now_ms, std::string_view fallback);
  struct Counters {
    metrics::Family<metrics::Counter>& reports;   // {outcome}
    metrics::Family<metrics::Counter>& samples;
    metrics::Family<metrics::Counter>& errors;    // {reason}
    metrics::Family<metrics::Counter>& enrollments;
    metrics::Family<metrics::Counter>& store_reports;  // ReportStore::commit_stats(), at each scrape
    metrics::Family<metrics::Counter>& store_commits;
    metrics::Family<metrics::Counter>& store_round_trips;
    metrics::Family<metrics::Counter>& wal_syncs;
    metrics::Family<metrics::Counter>& checkpoints;
    metrics::Family<metrics::Gauge>& wal_frames;
    metrics::Family<metrics::Counter>& wal_frames_written;
    metrics::Family<metrics::Counter>& writer_busy;  // nanoseconds, rendered in seconds
  };

  // 4xx/5xx with the error counted under `reason`.
  http::Response fail(unsigned status, const std::string& reason, const std::string& message);
  http::Response store_failure(const core::Error& e);
  // The CI `id` as stored; StoreErrc::not_found when there is none, which
  // ci_failure() answers with 404 (and any other failure as store_failure).
  core::Result<store::Ci> existing_ci(const std::string& id);
  http::Response ci_failure(const core::Error& e);
  // A service's SLA figures in a period (the current one when none); none
  // without an SLA target.
  core::Result<std::optional<sla::Report>> sla_report(const services::Service& svc, std::optional<sla::Period> period);
  // 421 for a Host not allowed, 401/403 for a request its token may not
  // make, 415 for a state-changing request without its route's media type;
  // nothing when the request may go on (with p.actor set).
  std::optional<http::Response> refusal(const http::Request& q, std::string_view route, server::Params& p);
  std::optional<http::Response> authorize(const http::Request& q, std::string_view route, server::Params& p);
  // 429 with Retry-After when `key` has used up its requests.
  std::optional<http::Response> rate_limited(const std::string& key);
  std::optional<http::Response> media_type_refusal(const http::Request& q, std::string_view route);
  // A query error (400/422) or a store failure.
  http::Response query_failure(const core::Error& e);
  // The CIs a query names: ci=ID[,ID...], type=TYPE or service=NAME (the
  // CIs it stands on); 404 names an unknown CI or service.
  std::variant<std::vector<store::Ci>, http::Response> query_cis(const server::Params& p);

  store::Stores stores_;
  const core::Clock& clock_;
  metrics::Registry& registry_;
  ApiOptions options_;
  Counters counters_;
  std::unique_ptr<impact::GraphSource> graphs_;
  ingest::Intake intake_;
  std::unique_ptr<RateLimiter> limiter_;
};

}  // namespace surveyor::collector::api
