// SPDX-License-Identifier: Apache-2.0
// surveyor-collector's wiring: options, store, API, server, signals.
#include "surveyor/collector/app/app.hpp"
#include "store_settings.hpp"

#include <filesystem>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>

#include "surveyor/collector/api/api.hpp"
#include "surveyor/collector/backends/open.hpp"
#include "surveyor/collector/capacity/rules.hpp"
#include "surveyor/collector/jobs/housekeeper.hpp"
#include "surveyor/collector/notify/webhooks.hpp"
#include "surveyor/http/client.hpp"
#include "surveyor/collector/services/services.hpp"
#include "surveyor/collector/server/server.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/crypto.hpp"
#include "surveyor/core/duration.hpp"
#include "surveyor/log/log.hpp"

namespace surveyor::collector::app {
namespace {

using config::Option;
using config::Type;
using config::Value;

std::optional<std::string> positive(const Value& v) {
  if (std::get<std::int64_t>(v) < 1) return "must be at least 1";
  return std::nullopt;
}

std::optional<std::string> at_least_hour(const Value& v) {
  if (std::get<std::chrono::milliseconds>(v) < std::chrono::hours(1)) return "must be at least 1h";
  return std::nullopt;
}

std::optional<std::string> at_least_second(const Value& v) {
  if (std::get<std::chrono::milliseconds>(v) < std::chrono::seconds(1)) return "must be at least 1s";
  return std::nullopt;
}

std::shared_ptr<const config::Schema> webhook_schema() {
  static const auto schema = [] {
    auto w = std::make_shared<config::Schema>();
    w->add({.key = "name", .type = Type::string, .description = "unique name (on the delivery log)", .required = true});
    w->add({.key = "url", .type = Type::string,
            .description = "http:// or https://HOST[:PORT][/PATH] the messages are POSTed to",
            .validate = [](const Value& v) -> std::optional<std::string> {
              if (auto u = http::parse_url(std::get<std::string>(v)); !u) return u.error().message;
              return std::nullopt;
            },
            .required = true});
    config::add_secret(*w, "secret", "key of the HMAC-SHA256 signature (X-Surveyor-Signature)");
    w->add({.key = "ca_file", .type = Type::string, .default_value = Value{std::string()},
            .description = "https: PEM file of the CA the receiver's certificate is checked against (empty: the "
                           "system's CAs)"});
    w->add({.key = "max_priority", .type = Type::integer, .default_value = Value{std::int64_t{5}},
            .description = "send incidents of this priority or higher (1 is the highest)",
            .validate = [](const Value& v) -> std::optional<std::string> {
              const auto p = std::get<std::int64_t>(v);
              if (p < 1 || p > 5) return "must be 1 to 5";
              return std::nullopt;
            }});
    w->add({.key = "kinds", .type = Type::string_list, .default_value = Value{std::vector<std::string>{}},
            .description = "incident kinds sent (empty: all): availability, capacity, capacity-forecast, SLA-risk, "
                           "SLA-breach, unauthorised-change",
            .validate = [](const Value& v) -> std::optional<std::string> {
              for (const std::string& k : std::get<std::vector<std::string>>(v))
                if (!store::incident_kind_from(k)) return "unknown incident kind '" + k + "'";
              return std::nullopt;
            }});
    w->add({.key = "max_attempts", .type = Type::integer, .default_value = Value{std::int64_t{8}},
            .description = "attempts per message (back-off 1 s, doubling, at most 5 min apart)", .validate = positive});
    w->add({.key = "timeout", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{10'000}},
            .description = "time for one attempt", .validate = at_least_second});
    return w;
  }();
  return schema;
}

config::Schema make_schema() {
  config::Schema s;
  s.add({.key = "listen", .type = Type::string, .default_value = Value{std::string("127.0.0.1:8080")},
         .description = "address and port to serve the API on (port 0: any free port)",
         .validate = [](const Value& v) -> std::optional<std::string> {
           auto e = parse_listen(std::get<std::string>(v));
           if (!e) return e.error().message;
           return std::nullopt;
         }});
  s.add({.key = "tls_cert", .type = Type::string, .default_value = Value{std::string()},
         .description = "PEM certificate chain to serve HTTPS with (with tls_key; then HTTPS only)"});
  s.add({.key = "tls_key", .type = Type::string, .default_value = Value{std::string()},
         .description = "PEM private key of tls_cert (mode 0600)"});
  s.add({.key = "store", .type = Type::string,
         .default_value = Value{std::string("sqlite:/var/lib/surveyor/surveyor.db")},
         .description = "sqlite:PATH (embedded), or redis://HOST:PORT[/PREFIX] (shared by several collectors; "
                        "rediss:// over TLS), or redis-sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/PREFIX] (the "
                        "master Redis Sentinel names, followed through a failover), or "
                        "redis-cluster://HOST:PORT[,HOST:PORT...][/PREFIX] (a Redis Cluster: the store's own keys "
                        "in the prefix's hash slot, each host's agent, window and series in a slot of their own, "
                        "on every master; followed through a failover)"});
  s.add({.key = "store_password_file", .type = Type::string, .default_value = Value{std::string()},
         .description = "file whose first line is Redis's password (requirepass, or the ACL user of "
                        "redis://USER@HOST...), mode 0600"});
  s.add({.key = "store_ca_file", .type = Type::string, .default_value = Value{std::string()},
         .description = "rediss://: PEM CAs that sign Redis's certificate (empty: the system's)"});
  s.add({.key = "store_tls_cert", .type = Type::string, .default_value = Value{std::string()},
         .description = "rediss://: PEM client certificate, when Redis asks for one (tls-auth-clients)"});
  s.add({.key = "store_tls_key", .type = Type::string, .default_value = Value{std::string()},
         .description = "rediss://: PEM private key of store_tls_cert (mode 0600)"});
  s.add({.key = "store_wait_replicas", .type = Type::integer, .default_value = Value{std::int64_t{0}},
         .description = "Redis: a report is acknowledged only once this many replicas hold it (WAIT); otherwise "
                        "503 and the agent resends it (0: once the master holds it)",
         .validate = [](const Value& v) -> std::optional<std::string> {
           if (std::get<std::int64_t>(v) < 0 || std::get<std::int64_t>(v) > 100) return "must be 0 to 100";
           return std::nullopt;
         }});
  s.add({.key = "store_wait_timeout", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{1000}},
         .description = "Redis: how long a report waits for store_wait_replicas replicas",
         .validate = [](const Value& v) -> std::optional<std::string> {
           if (std::get<std::chrono::milliseconds>(v) < std::chrono::milliseconds(1)) return "must be at least 1ms";
           return std::nullopt;
         }});
  s.add({.key = "allow_evicting_store", .type = Type::boolean, .default_value = Value{false},
         .description = "run even on a Redis whose maxmemory-policy evicts keys (data can be lost)"});
  config::add_secret(s, "enrollment_token",
                     "fleet-wide token any agent may enroll with, for a quick start (prefer 'surveyor-collector "
                     "enrollment create': tokens with a use count and an expiry)");
  s.add({.key = "rate_limit", .type = Type::integer, .default_value = Value{std::int64_t{50}},
         .description = "operators' requests and enrollments per second allowed per client address and per token "
                        "(on average; 0: no limit); beyond, 429 with Retry-After. Agents' reports are not limited",
         .validate = [](const Value& v) -> std::optional<std::string> {
           if (std::get<std::int64_t>(v) < 0) return "must be 0 (no limit) or more";
           return std::nullopt;
         }});
  s.add({.key = "rate_burst", .type = Type::integer, .default_value = Value{std::int64_t{200}},
         .description = "requests per client address or token allowed at once, above rate_limit",
         .validate = positive});
  s.add({.key = "metrics_public", .type = Type::boolean, .default_value = Value{false},
         .description = "serve /metrics without a token (for a scraper on a trusted network)"});
  s.add({.key = "allowed_hosts", .type = Type::string_list, .default_value = Value{std::vector<std::string>{}},
         .description = "names or addresses clients may send in the Host header (without the port); others get 421 "
                        "(empty: any)"});
  s.add({.key = "max_clock_skew", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{300'000}},
         .description = "reports with sample or check times later than the collector's clock by more than this are "
                        "refused (400 time_in_future)",
         .validate = at_least_second});
  s.add({.key = "max_heartbeat_interval", .type = Type::duration,
         .default_value = Value{std::chrono::milliseconds{3'600'000}},
         .description = "the longest heartbeat interval an agent may declare; a longer one is capped, so a silent "
                        "host is down at most twice this after its last report",
         .validate = at_least_second});
  s.add({.key = "max_series_per_report", .type = Type::integer, .default_value = Value{std::int64_t{10'000}},
         .description = "reports with more series are refused whole (413 report_too_large, naming the limit)",
         .validate = positive});
  s.add({.key = "max_samples_per_report", .type = Type::integer, .default_value = Value{std::int64_t{500'000}},
         .description = "reports with more samples are refused whole (413 report_too_large, naming the limit)",
         .validate = positive});
  s.add({.key = "max_series_per_agent", .type = Type::integer, .default_value = Value{std::int64_t{10'000}},
         .description = "the most series one agent's host may hold (as Prometheus' sample_limit); a report that "
                        "would add series beyond it is refused whole (422 series_limit, naming the limit), the "
                        "host's existing series are still stored (0: no limit)",
         .validate = [](const Value& v) -> std::optional<std::string> {
           if (std::get<std::int64_t>(v) < 0) return "must be 0 (no limit) or more";
           return std::nullopt;
         }});
  s.add({.key = "io_threads", .type = Type::integer, .default_value = Value{std::int64_t{2}},
         .description = "threads doing network I/O", .validate = positive});
  s.add({.key = "worker_threads", .type = Type::integer, .default_value = Value{std::int64_t{4}},
         .description = "threads running operators' requests (queries and changes)", .validate = positive});
  s.add({.key = "ingest_threads", .type = Type::integer, .default_value = Value{std::int64_t{16}},
         .description = "threads running agents' enrollments, and the reports the store cannot answer later: a "
                        "report usually holds no thread while it waits for its commit, answered from the store's "
                        "own threads (at most 1,024 such reports at once, more go to these threads); those of an "
                        "agent the collector does not remember yet, over 64 KiB (an inventory) or refused before "
                        "the store come here",
         .validate = positive});
  s.add({.key = "group_commit_max", .type = Type::integer, .default_value = Value{std::int64_t{64}},
         .description = "SQLite: most reports applied in one transaction (one fsync); each is acknowledged after "
                        "the commit holding it",
         .validate = positive});
  s.add({.key = "group_commit_delay", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{0}},
         .description = "SQLite: how long a group of reports gathers before its commit (0: the reports already "
                        "waiting)"});
  s.add({.key = "max_body_bytes", .type = Type::integer, .default_value = Value{std::int64_t{8} << 20},
         .description = "largest request body accepted; larger ones get 413", .validate = positive});
  s.add({.key = "request_timeout", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{30'000}},
         .description = "time to receive one whole request, keep-alive idle time included"});
  s.add({.key = "max_connections", .type = Type::integer, .default_value = Value{std::int64_t{10'000}},
         .description = "open connections beyond this are answered 503 and closed", .validate = positive});
  s.add({.key = "raw_retention", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{14 * 86'400'000LL}},
         .description = "how long raw samples are kept (whole 4-hour blocks)", .validate = at_least_hour});
  s.add({.key = "rollup_retention", .type = Type::duration,
         .default_value = Value{std::chrono::milliseconds{730 * 86'400'000LL}},
         .description = "how long hourly rollups are kept", .validate = at_least_hour});
  s.add({.key = "compaction_grace", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{3'600'000}},
         .description = "how long after a block ends its raw samples are compressed into a chunk"});
  s.add({.key = "maintenance_interval", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{300'000}},
         .description = "how often series are compacted and retention applied", .validate = at_least_second});
  s.add({.key = "capacity_interval", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{60'000}},
         .description = "how often the capacity rules are evaluated", .validate = at_least_second});
  s.add({.key = "default_capacity_rules", .type = Type::boolean, .default_value = Value{true},
         .description = "use the built-in capacity rules when no [[capacity_rule]] is configured"});
  s.add({.key = "missing_after", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{86'400'000}},
         .description = "a host not heard from for this long becomes missing (0s: never)"});
  s.add({.key = "retire_after", .type = Type::duration,
         .default_value = Value{std::chrono::milliseconds{30LL * 86'400'000}},
         .description = "a host not heard from for this long is retired (0s: never)"});
  s.add({.key = "availability_interval", .type = Type::duration,
         .default_value = Value{std::chrono::milliseconds{10'000}},
         .description = "how often host availability is evaluated (docs/sla.md)", .validate = at_least_second});
  s.add({.key = "services_dir", .type = Type::string, .default_value = Value{std::string("/etc/surveyor/services.d")},
         .description = "directory of service definitions, one *.toml file per service (docs/cmdb.md); changes are "
                        "picked up within capacity_interval"});
  s.add({.key = "ui_dir", .type = Type::string, .default_value = Value{std::string("/usr/share/surveyor/ui")},
         .description = "the built web console (make ui), served under /ui/; none there: /ui/ says it is not "
                        "installed"});
  s.add({.key = "incident_targets", .type = Type::string, .default_value = Value{std::string()},
         .description = "times to acknowledge and resolve per priority that the incident evidence (clause 8.6.1) "
                        "measures against, \"P1=15m/4h,P2=30m/8h\"; priorities not given keep their defaults "
                        "(docs/iso20000.md)",
         .validate = [](const Value& v) -> std::optional<std::string> {
           if (auto t = evidence::parse_targets(std::get<std::string>(v)); !t) return t.error().message;
           return std::nullopt;
         }});
  s.add({.key = "incident_hold_down", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{300'000}},
         .description = "an incident resolves once its condition stayed clear this long (docs/incidents.md)"});
  s.add({.key = "incident_reopen_window", .type = Type::duration,
         .default_value = Value{std::chrono::milliseconds{3'600'000}},
         .description = "a condition back within this time after its incident resolved re-opens it"});
  s.add({.key = "incident_priority_matrix", .type = Type::string_list,
         .default_value = Value{std::vector<std::string>{"1 2 3", "2 3 4", "3 4 5"}},
         .description = "priority by impact (rows: high, medium, low) and urgency (columns: high, medium, low)",
         .validate = [](const Value& v) -> std::optional<std::string> {
           if (auto m = incidents::Matrix::parse(std::get<std::vector<std::string>>(v)); !m) return m.error().message;
           return std::nullopt;
         }});
  s.add_table_array({.key = "webhook", .description = "where incident notifications go (see docs/incidents.md)",
                     .schema = webhook_schema()});
  s.add_table_array({.key = "capacity_rule", .description = "a capacity rule (see docs/configuration.md)",
                     .schema = capacity::rule_schema()});
  s.add(log::level_option());
  return s;
}

}  // namespace

const config::Schema& schema() {
  static const config::Schema s = make_schema();
  return s;
}

core::Result<Endpoint> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size())
    return core::make_error(config::ConfigErrc::invalid_value, "'" + text + "': expected HOST:PORT");
  Endpoint e;
  e.host = text.substr(0, colon);
  if (e.host.size() > 1 && e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    return core::make_error(config::ConfigErrc::invalid_value, "'" + text + "': bad port");
  }
  if (port > 65535 || e.host.empty()) return core::make_error(config::ConfigErrc::invalid_value, "'" + text + "': bad address");
  e.port = static_cast<std::uint16_t>(port);
  return e;
}

// The capacity rules of the file, or the defaults when it has none.
core::Result<std::vector<capacity::CapacityRule>> capacity_rules(const config::Settings& s) {
  std::vector<capacity::CapacityRule> rules;
  for (const config::Settings& t : s.tables("capacity_rule")) {
    auto r = capacity::rule_from_settings(t);
    if (!r) return std::move(r).error();
    for (const capacity::CapacityRule& other : rules)
      if (other.name == r->name)
        return core::make_error(config::ConfigErrc::invalid_value, "[[capacity_rule]] '" + r->name + "' is defined twice");
    rules.push_back(std::move(*r));
  }
  if (rules.empty() && s.flag("default_capacity_rules")) rules = capacity::default_rules();
  return rules;
}

// The [[webhook]] tables; a secret that cannot be read or a name used twice is an error.
core::Result<std::vector<notify::Webhook>> webhooks(const config::Settings& s, log::Logger& log) {
  std::vector<notify::Webhook> hooks;
  for (const config::Settings& t : s.tables("webhook")) {
    notify::Webhook w;
    w.name = t.str("name");
    w.url = t.str("url");
    w.ca_file = t.str("ca_file");
    auto secret = config::read_secret(t, "secret");
    if (!secret) return core::make_error(config::ConfigErrc::invalid_value, "[[webhook]] " + w.name + ": " + secret.error().message);
    w.secret = *secret;
    if (w.secret.empty()) log.warn("[[webhook]] {} has no secret: its messages are signed with an empty key", w.name);
    w.max_priority = static_cast<int>(t.integer("max_priority"));
    w.kinds = t.list("kinds");
    w.max_attempts = static_cast<int>(t.integer("max_attempts"));
    w.timeout = t.duration("timeout");
    for (const notify::Webhook& other : hooks)
      if (other.name == w.name)
        return core::make_error(config::ConfigErrc::invalid_value, "[[webhook]] '" + w.name + "' is defined twice");
    hooks.push_back(std::move(w));
  }
  return hooks;
}

server::ServerOptions server_options(const config::Settings& s, const Endpoint& ep) {
  server::ServerOptions so;
  so.host = ep.host;
  so.port = ep.port;
  so.io_threads = static_cast<std::size_t>(s.integer("io_threads"));
  so.worker_threads = static_cast<std::size_t>(s.integer("worker_threads"));
  so.ingest_threads = static_cast<std::size_t>(s.integer("ingest_threads"));
  so.max_body_bytes = static_cast<std::size_t>(s.integer("max_body_bytes"));
  so.request_timeout = s.duration("request_timeout");
  so.max_connections = static_cast<std::size_t>(s.integer("max_connections"));
  so.tls_cert_file = s.str("tls_cert");
  so.tls_key_file = s.str("tls_key");
  return so;
}

// The housekeeper's intervals, retention and incident options from the settings.
jobs::HousekeepingOptions housekeeping_options(const config::Settings& s) {
  jobs::HousekeepingOptions ho;
  ho.maintenance_interval = s.duration("maintenance_interval");
  ho.capacity_interval = s.duration("capacity_interval");
  ho.missing_after = s.duration("missing_after");
  ho.availability_interval = s.duration("availability_interval");
  ho.holder = "collector-" + core::random_hex(6);
  // A step over six intervals (at least a minute) means the collector was not running.
  ho.evaluation.availability_gap =
      std::max(std::chrono::milliseconds{60'000}, 6 * ho.availability_interval);
  ho.retire_after = s.duration("retire_after");
  ho.maintenance.raw_retention_ms = s.duration("raw_retention").count();
  ho.maintenance.rollup_retention_ms = s.duration("rollup_retention").count();
  ho.maintenance.grace_ms = s.duration("compaction_grace").count();
  ho.evaluation.incidents.hold_down_ms = s.duration("incident_hold_down").count();
  ho.evaluation.incidents.reopen_window_ms = s.duration("incident_reopen_window").count();
  ho.evaluation.incidents.matrix = *incidents::Matrix::parse(s.list("incident_priority_matrix"));
  return ho;
}

core::Result<backends::StoreSettings> store_settings(const config::Settings& s) {
  backends::StoreSettings a;
  if (!s.str("store_password_file").empty()) {
    auto pw = config::read_secret_file(s.str("store_password_file"), "store password");
    if (!pw) return std::move(pw).error();
    a.password = *pw;
  }
  a.ca_file = s.str("store_ca_file");
  a.cert_file = s.str("store_tls_cert");
  a.key_file = s.str("store_tls_key");
  a.group_commit_max = static_cast<std::size_t>(s.integer("group_commit_max"));
  a.group_commit_delay = s.duration("group_commit_delay");
  a.wait_replicas = static_cast<int>(s.integer("store_wait_replicas"));
  a.wait_timeout = s.duration("store_wait_timeout");
  if (!a.key_file.empty())
    if (auto key = config::read_secret_file(a.key_file, "store TLS key"); !key) return std::move(key).error();
  return a;
}

int run(const config::Settings& s, const config::Reload& reload) {
  log::configure(s);
  log::Logger log("collector");

  auto token = config::read_secret(s, "enrollment_token");
  if (config::secret_given_inline(s, "enrollment_token"))
    log.warn("the enrollment token is given as a value: on the command line it shows in ps; prefer "
             "--enrollment-token-file (a file of mode 0600)");
  if (!token) {
    log.error("{}", token.error().message);
    return 2;
  }
  if (token->empty())
    log.info("no fleet-wide enrollment token: agents enroll with tokens made by 'surveyor-collector enrollment create'");
  if (!s.str("tls_key").empty())
    if (auto key = config::read_secret_file(s.str("tls_key"), "TLS key"); !key) {
      log.error("{}", key.error().message);
      return 2;
    }
  auto access = store_settings(s);
  if (!access) {
    log.error("{}", access.error().message);
    return 2;
  }
  auto stores = backends::open_stores(s.str("store"), *access);
  if (!stores) {
    log.error("cannot open the store: {}", stores.error().describe());
    return 1;
  }
  if (auto st = stores->health->ping(); !st)
    log.warn("store {} is not reachable yet: {}; /readyz says so until it is", stores->health->describe(),
             st.error().describe());
  if (auto d = stores->health->durability(); d) {
    for (const std::string& w : d->warnings) log.warn("store {}: {}", stores->health->describe(), w);
    if (d->evicting && !s.flag("allow_evicting_store")) {
      log.error("refusing to run on a store that evicts data; set maxmemory-policy noeviction, or "
                "allow_evicting_store = true to run anyway");
      return 2;
    }
  }

  auto rules = capacity_rules(s);
  if (!rules) {
    log.error("{}", rules.error().message);
    return 2;
  }

  // Service definitions: a broken file is reported and its last good
  // definition (none yet, at start) kept.
  auto catalog = std::make_shared<services::Catalog>(s.str("services_dir"), stores->services);
  auto log_service_errors = [&log](const services::Catalog::RefreshReport& r) {
    for (const auto& e : r.errors) log.error("service definition not loaded: {}", e.message);
  };
  std::vector<std::string> service_errors;
  {
    const auto r = catalog->refresh();
    log_service_errors(r);
    for (const auto& e : r.errors) service_errors.push_back(e.message);
    if (r.loaded) log.info("{} service definition(s) loaded from {}", r.loaded, s.str("services_dir"));
  }

  metrics::Registry registry;
  auto& requests = registry.counter("surveyor_http_requests_total", "HTTP requests answered.", {"method", "route", "code"});
  auto& latency = registry.histogram("surveyor_http_request_duration_seconds", "Time to answer HTTP requests.",
                                     {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}, {"route"});
  auto offset = core::clock_offset_from_env();
  if (!offset) {
    log.error("{}", offset.error().message);
    return 2;
  }
  if (offset->count() != 0)
    log.warn("the wall clock is shifted by {} ({}): for tests only", core::format_duration(*offset),
             core::kClockOffsetEnv);
  const core::SystemClock clock(*offset);
  api::ApiOptions ao;
  ao.enrollment_token = *token;
  ao.intake.max_clock_skew_ms = s.duration("max_clock_skew").count();
  ao.intake.max_series_per_report = static_cast<std::size_t>(s.integer("max_series_per_report"));
  ao.intake.max_series_per_agent = static_cast<std::size_t>(s.integer("max_series_per_agent"));
  ao.intake.max_samples_per_report = static_cast<std::size_t>(s.integer("max_samples_per_report"));
  ao.allowed_hosts = s.list("allowed_hosts");
  ao.metrics_public = s.flag("metrics_public");
  ao.rate_limit = static_cast<double>(s.integer("rate_limit"));
  ao.rate_burst = static_cast<double>(s.integer("rate_burst"));
  ao.intake.max_heartbeat_interval_s = static_cast<std::uint32_t>(
      std::min<std::int64_t>(s.duration("max_heartbeat_interval").count() / 1000, UINT32_MAX));
  ao.rules = *rules;
  ao.services = catalog;
  if (auto targets = evidence::parse_targets(s.str("incident_targets")); targets) ao.incident_targets = *targets;
  ao.ui_dir = s.str("ui_dir");
  if (std::error_code ec; std::filesystem::exists(ao.ui_dir, ec)) {
    auto ui = ui::UiFiles::load(ao.ui_dir);
    if (!ui) {
      log.error("{}", ui.error().describe());
      return 2;
    }
    ao.ui = *ui;
    log.info("web console: {} file(s), {} bytes from {}, at /ui/", (*ui)->size(), (*ui)->bytes(), ao.ui_dir);
  } else {
    log.info("no web console in {} (ui_dir): /ui/ says so", ao.ui_dir);
  }
  api::Api api(*stores, clock, registry, ao);
  auto router = std::make_shared<server::Router>();
  api.register_routes(*router);

  const Endpoint ep = *parse_listen(s.str("listen"));
  const server::ServerOptions so = server_options(s, ep);
  server::Server server(so, router, [&](const server::RequestRecord& r) {
    // Methods come from clients: only known ones become label values.
    static const std::set<std::string> kMethods{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};
    requests.with({kMethods.contains(r.method) ? r.method : "other", r.route, std::to_string(r.status)}).inc();
    latency.with({r.route}).observe(r.seconds);
  });
  if (auto st = server.start(); !st) {
    log.error("{}", st.error().message);
    return 1;
  }
  jobs::HousekeepingOptions ho = housekeeping_options(s);
  ho.evaluation.catalog = catalog;
  ho.rules = *rules;
  ho.more_rules = [catalog, cmdb = stores->cmdb, log_service_errors, last = service_errors]() mutable {
    const auto r = catalog->refresh();
    // Errors are logged when they change, not at every evaluation.
    std::vector<std::string> now;
    for (const auto& e : r.errors) now.push_back(e.message);
    if (now != last) log_service_errors(r);
    last = std::move(now);
    return services::service_rules(*catalog, *cmdb);
  };
  auto hooks = webhooks(s, log);
  if (!hooks) {
    log.error("{}", hooks.error().message);
    return 2;
  }
  notify::Notifier notifier(std::move(*hooks), stores->incidents, clock);
  ho.evaluation.notify = [&notifier](const std::vector<incidents::Notice>& n) { notifier.send(n); };
  jobs::Housekeeper housekeeper(*stores, clock, registry, ho);
  housekeeper.start();

  const bool v6 = ep.host.find(':') != std::string::npos;
  std::printf("surveyor-collector listening on %s://%s%s%s:%u (store %s)\n", server.tls() ? "https" : "http",
              v6 ? "[" : "", ep.host.c_str(),
              v6 ? "]" : "", static_cast<unsigned>(server.port()), stores->health->describe().c_str());
  std::fflush(stdout);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  int sig = 0;
  while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
    // A rotated certificate: the files named now, read again.
    if (!server.tls()) {
      log.info("received SIGHUP: nothing to reload (no TLS)");
      continue;
    }
    auto again = reload();
    if (!again) {
      log.error("received SIGHUP: the configuration cannot be read ({}); the certificate in use stays",
                again.error().message);
      continue;
    }
    if (auto st = server.reload_tls(again->str("tls_cert"), again->str("tls_key")); !st)
      log.error("received SIGHUP: {}; the certificate in use stays", st.error().message);
    else
      log.info("received SIGHUP: loaded the TLS certificate {} for new connections", again->str("tls_cert"));
  }
  log.info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  server.stop(std::chrono::seconds(5));
  housekeeper.stop();
  notifier.stop();
  log.info("stopped");
  return 0;
}

}  // namespace surveyor::collector::app
