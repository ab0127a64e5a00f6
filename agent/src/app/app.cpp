// SPDX-License-Identifier: Apache-2.0
// surveyor-agent's wiring: options, state directory, HTTP client, samplers,
// runner, and signals (SIGINT/SIGTERM stop after a last report).
#include "surveyor/agent/app/app.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>

#include "surveyor/agent/inventory/collect.hpp"
#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/agent/runner/runner.hpp"
#include "surveyor/agent/state/state_dir.hpp"
#include "surveyor/agent/transport/sender.hpp"
#include "surveyor/wire/codec.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/duration.hpp"
#include "surveyor/http/client.hpp"
#include "surveyor/log/log.hpp"

namespace surveyor::agent::app {
namespace {

using config::Type;
using config::Value;
using std::chrono::milliseconds;

std::optional<std::string> at_least_1s(const Value& v) {
  if (std::get<milliseconds>(v) < milliseconds(1000)) return "must be at least 1s";
  return std::nullopt;
}

config::Schema make_schema() {
  config::Schema s;
  s.add({.key = "collector_url", .type = Type::string,
         .description = "the collector, https://HOST:PORT (http:// only to this host, or with allow_plain_http); "
                        "several collectors sharing one store, separated by commas: reports go to one, and "
                        "to the next after a network error or a 5xx",
         .validate = [](const Value& v) -> std::optional<std::string> {
           auto u = http::parse_url_list(std::get<std::string>(v));
           if (!u) return u.error().message;
           return std::nullopt;
         },
         .required = true});
  config::add_secret(s, "enrollment_token", "token to enroll with on first start");
  s.add({.key = "ca_file", .type = Type::string, .default_value = Value{std::string()},
         .description = "PEM file of the CA that signed the collector's certificate (empty: the system's CAs)"});
  s.add({.key = "pin_sha256", .type = Type::string, .default_value = Value{std::string()},
         .description = "the collector key's SPKI SHA-256, 64 hex digits (surveyor-collector certs init prints "
                        "it); with no ca_file, the pin alone is checked",
         .validate = [](const Value& v) -> std::optional<std::string> {
           const auto& pin = std::get<std::string>(v);
           if (!pin.empty() && !http::valid_pin(pin)) return "must be 64 hex digits";
           return std::nullopt;
         }});
  s.add({.key = "allow_plain_http", .type = Type::boolean, .default_value = Value{false},
         .description = "allow an http:// collector_url on another host (the key and the enrollment token then "
                        "cross the network in clear text)"});
  s.add({.key = "state_dir", .type = Type::string, .default_value = Value{std::string("/var/lib/surveyor-agent")},
         .description = "where the agent keeps its identity (mode 0600) and sequence numbers"});
  s.add({.key = "reenroll_on_unauthorized", .type = Type::boolean, .default_value = Value{false},
         .description = "when the collector answers 401 to the agent's key, enroll again with the enrollment token "
                        "(otherwise reports are kept until a person acts)"});
  s.add({.key = "sample_interval", .type = Type::duration, .default_value = Value{milliseconds{10'000}},
         .description = "how often samples are taken (wall-clock aligned)", .validate = at_least_1s});
  s.add({.key = "report_interval", .type = Type::duration, .default_value = Value{milliseconds{60'000}},
         .description = "how often reports are sent; also the heartbeat the collector expects",
         .validate = at_least_1s});
  s.add({.key = "inventory_interval", .type = Type::duration, .default_value = Value{milliseconds{600'000}},
         .description = "how often the inventory is collected again (SIGUSR1: now)", .validate = at_least_1s});
  s.add({.key = "inventory_full_every", .type = Type::integer, .default_value = Value{std::int64_t{15}},
         .description = "reports between two full inventories; in between only changed sections are sent",
         .validate = [](const Value& v) -> std::optional<std::string> {
           if (std::get<std::int64_t>(v) < 1) return "must be at least 1";
           return std::nullopt;
         }});
  s.add({.key = "request_timeout", .type = Type::duration, .default_value = Value{milliseconds{10'000}},
         .description = "time allowed for one request to the collector", .validate = at_least_1s});
  s.add({.key = "spool_max_bytes", .type = Type::integer, .default_value = Value{std::int64_t{64} << 20},
         .description = "disk space for reports waiting for the collector (state_dir/spool); the oldest go first",
         .validate = [](const Value& v) -> std::optional<std::string> {
           if (std::get<std::int64_t>(v) < 65536) return "must be at least 65536";
           return std::nullopt;
         }});
  s.add({.key = "spool_max_reports", .type = Type::integer, .default_value = Value{std::int64_t{10'080}},
         .description = "reports kept waiting at most (10080: one week at one report a minute)",
         .validate = [](const Value& v) -> std::optional<std::string> {
           if (std::get<std::int64_t>(v) < 1) return "must be at least 1";
           return std::nullopt;
         }});
  s.add({.key = "proc_root", .type = Type::string, .default_value = Value{std::string("/proc")},
         .description = "procfs to read (the host's /proc mounted elsewhere when run in a container)"});
  s.add({.key = "sys_root", .type = Type::string, .default_value = Value{std::string("/sys")},
         .description = "sysfs to read (block devices, network interfaces, DMI)"});
  s.add({.key = "etc_root", .type = Type::string, .default_value = Value{std::string("/etc")},
         .description = "directory holding machine-id and os-release"});
  s.add({.key = "rootfs", .type = Type::string, .default_value = Value{std::string("")},
         .description = "prefix for mount points when measuring filesystems (the host's / in a container)"});
  s.add({.key = "max_concurrent_checks", .type = Type::integer, .default_value = Value{std::int64_t{4}},
         .description = "checks running at the same time at most",
         .validate = [](const Value& v) -> std::optional<std::string> {
           if (std::get<std::int64_t>(v) < 1 || std::get<std::int64_t>(v) > 64) return "must be between 1 and 64";
           return std::nullopt;
         }});
  s.add({.key = "watchdog_max_rss_bytes", .type = Type::integer, .default_value = Value{std::int64_t{64} << 20},
         .description = "the agent's own resident memory bound; past it, a plugin is disabled",
         .validate = [](const Value& v) -> std::optional<std::string> {
           if (std::get<std::int64_t>(v) < (4 << 20)) return "must be at least 4 MiB";
           return std::nullopt;
         }});
  s.add({.key = "watchdog_max_cpu_per_minute", .type = Type::duration, .default_value = Value{milliseconds{3'000}},
         .description = "the agent's own CPU time per minute bound; past it, the heaviest plugin or check is disabled"});
  s.add(log::level_option());
  s.add_table_array({.key = "plugin", .description = "an in-process plugin (see docs/configuration.md)",
                     .schema = plugins::plugin_schema()});
  s.add_table_array({.key = "check", .description = "an availability check (see docs/configuration.md)",
                     .schema = checks::check_schema()});
  return s;
}

}  // namespace

const config::Schema& schema() {
  static const config::Schema s = make_schema();
  return s;
}

namespace {

// The plugins a configuration names; ones that cannot start are logged and
// left out (the agent goes on without them). nullopt: a configuration error.
std::optional<std::vector<std::unique_ptr<plugins::Plugin>>> load_plugins(const config::Settings& s, log::Logger& log) {
  std::vector<std::unique_ptr<plugins::Plugin>> loaded;
  for (const config::Settings& t : s.tables("plugin")) {
    auto spec = plugins::plugin_from_settings(t);
    if (!spec) {
      log.error("{}", spec.error().message);
      return std::nullopt;
    }
    auto p = plugins::Plugin::load(*spec);
    if (!p) {
      log.error("plugin not loaded: {}", p.error().describe());
      continue;
    }
    log.info("loaded {}", (*p)->name());
    loaded.push_back(std::move(*p));
  }
  return loaded;
}

inventory::Roots roots_of(const config::Settings& s) {
  return {s.str("etc_root"), s.str("proc_root"), s.str("sys_root"), s.str("rootfs")};
}

struct RunOutcome {
  int exit_code = 0;
  bool reload = false;
};

// One life of the agent with one configuration: until a stop signal, a
// fatal error, or SIGHUP (reload = true).
// The runner's options from the settings, or why they cannot run (an
// interval, a check): checked again before a reloaded file is taken.
// How the agent talks to its collectors.
http::ClientOptions client_options(const config::Settings& s) {
  http::ClientOptions co;
  co.timeout = s.duration("request_timeout");
  co.user_agent = std::string("surveyor-agent/") + SURVEYOR_VERSION;
  co.ca_file = s.str("ca_file");
  co.pin_sha256 = s.str("pin_sha256");
  return co;
}

// Why collector_url must not be used as it is (plain http to another host,
// unless allowed); nothing when it may.
std::optional<std::string> plain_http_refusal(const config::Settings& s, const std::vector<http::Url>& urls) {
  for (const http::Url& url : urls)
    if (url.scheme == "http" && !http::is_loopback(url.host) && !s.flag("allow_plain_http"))
      return "collector_url " + url.to_string() +
             " is plain http to another host: the agent's key and the enrollment token would cross the network in "
             "clear text; use https:// (with ca_file or pin_sha256), or set allow_plain_http = true on a network "
             "you trust";
  return std::nullopt;
}

core::Result<runner::RunnerOptions> runner_options(const config::Settings& s) {
  const auto invalid = [](std::string message) { return core::make_error(config::ConfigErrc::invalid_value, std::move(message)); };
  auto token = config::read_secret(s, "enrollment_token");
  if (!token) return std::move(token).error();
  runner::RunnerOptions o;
  o.enrollment_token = *token;
  o.reenroll_on_unauthorized = s.flag("reenroll_on_unauthorized");
  o.sample_interval = s.duration("sample_interval");
  o.report_interval = s.duration("report_interval");
  if (o.report_interval < o.sample_interval)
    return invalid("report_interval (" + core::format_duration(o.report_interval) +
                   ") must not be shorter than sample_interval (" + core::format_duration(o.sample_interval) + ")");
  o.inventory_interval = s.duration("inventory_interval");
  o.inventory_full_every = static_cast<std::uint32_t>(s.integer("inventory_full_every"));
  o.check_concurrency = static_cast<std::size_t>(s.integer("max_concurrent_checks"));
  o.max_rss_bytes = static_cast<std::uint64_t>(s.integer("watchdog_max_rss_bytes"));
  o.max_cpu_per_minute = s.duration("watchdog_max_cpu_per_minute");
  std::set<std::string> names;
  for (const config::Settings& t : s.tables("check")) {
    auto spec = checks::check_from_settings(t);
    if (!spec) return std::move(spec).error();
    if (!names.insert(spec->name).second) return invalid("[[check]] '" + spec->name + "' is declared twice");
    o.checks.push_back(std::move(*spec));
  }
  return o;
}

RunOutcome run_once(const config::Settings& s, log::Logger& log, std::uint64_t reload_failures) {
  auto options = runner_options(s);
  if (!options) {
    log.error("{}", options.error().message);
    return {2};
  }
  if (config::secret_given_inline(s, "enrollment_token"))
    log.warn("the enrollment token is given as a value: on the command line it shows in ps; prefer "
             "enrollment_token_file (a file of mode 0600)");
  auto state = state::StateDir::open(s.str("state_dir"));
  if (!state) {
    log.error("{}", state.error().describe());
    return {1};
  }
  runner::RunnerOptions o = std::move(*options);
  auto loaded = load_plugins(s, log);
  if (!loaded) return {2};
  o.roots = roots_of(s);
  o.collector_url = s.str("collector_url");
  o.version = SURVEYOR_VERSION;
  o.config_reload_failures = reload_failures;
  if (o.enrollment_token.empty()) {
    auto existing = state->load_identity();
    if (!existing || !*existing) {
      log.error("not enrolled yet and no enrollment_token (or enrollment_token_file) given");
      return {2};
    }
  }

  const std::vector<http::Url> urls = *http::parse_url_list(o.collector_url);
  if (auto refused = plain_http_refusal(s, urls)) {
    log.error("{}", *refused);
    return {2};
  }
  boost::asio::io_context io(1);
  const http::ClientOptions co = client_options(s);
  std::vector<std::unique_ptr<http::Client>> clients;
  std::vector<http::Client*> client_list;
  for (const http::Url& url : urls) {
    clients.push_back(std::make_unique<http::Client>(io, url, co));
    client_list.push_back(clients.back().get());
  }
  auto list = samplers::builtin_samplers(s.str("proc_root"), s.str("sys_root"), s.str("rootfs"));
  auto spool = spool::Spool::open(s.str("state_dir") + "/spool",
                                  {static_cast<std::uint64_t>(s.integer("spool_max_bytes")),
                                   static_cast<std::size_t>(s.integer("spool_max_reports"))});
  if (!spool) {
    log.error("cannot open the spool: {}", spool.error().describe());
    return {1};
  }
  if (!spool->empty()) log.info("{} report(s) waiting in the spool from before", spool->stats().entries);
  auto offset = core::clock_offset_from_env();
  if (!offset) {
    log.error("{}", offset.error().message);
    return {2};
  }
  if (offset->count() != 0)
    log.warn("the wall clock is shifted by {} ({}): for tests only", core::format_duration(*offset),
             core::kClockOffsetEnv);
  const core::SystemClock clock(*offset);
  runner::Runner runner(io, o, *state, std::move(*spool), client_list, clock, std::move(list), std::move(*loaded));
  RunOutcome outcome;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGUSR1);
  signals.add(SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                              int sig) {
    if (ec) return;
    if (sig == SIGUSR1) {
      log.info("received SIGUSR1, collecting the inventory");
      runner.refresh_inventory();
      signals.async_wait(on_signal);
      return;
    }
    outcome.reload = sig == SIGHUP;
    log.info("received {}, sending what is buffered and {}",
             sig == SIGHUP ? "SIGHUP" : sig == SIGINT ? "SIGINT" : "SIGTERM",
             outcome.reload ? "reloading the configuration" : "stopping");
    runner.stop([&] { io.stop(); });
  };
  signals.async_wait(on_signal);
  runner.start([&](int code) {
    outcome.exit_code = code;
    signals.cancel();
    io.stop();
  });
  log.info("surveyor-agent {} reporting to {} every {} (samples every {}, {} check(s))", SURVEYOR_VERSION,
           o.collector_url, core::format_duration(o.report_interval), core::format_duration(o.sample_interval),
           o.checks.size());
  io.run();
  const auto st = runner.sender_stats();
  log.info("stopped: {} report(s) delivered, {} dropped, {} waiting in the spool", st.delivered,
           st.dropped_overflow + st.dropped_rejected + st.dropped_corrupt + st.dropped_unreadable, st.queued);
  return outcome;
}

}  // namespace

int run(const config::Settings& initial, const config::Reload& reload) {
  config::Settings s = initial;
  std::uint64_t reload_failures = 0;
  for (;;) {
    log::configure(s);
    log::Logger log("agent");
    const RunOutcome r = run_once(s, log, reload_failures);
    if (!r.reload) return r.exit_code;
    auto next = reload ? reload() : core::Result<config::Settings>(s);
    // A file that parses but cannot run (a bad check) is refused the same way.
    if (next)
      if (auto o = runner_options(*next); !o) next = std::move(o).error();
    if (!next) {
      log.error("the new configuration is not valid ({}); going on with the running one", next.error().message);
      ++reload_failures;
      continue;
    }
    s = std::move(*next);
  }
}

int rotate_key(const config::Settings& s) {
  log::configure(s);
  log::Logger log("agent");
  auto state = state::StateDir::open(s.str("state_dir"));
  if (!state) {
    log.error("{}", state.error().describe());
    return 1;
  }
  auto id = state->load_identity();
  if (!id || !*id) {
    log.error("{}", id ? "not enrolled yet: there is no key to rotate" : id.error().describe());
    return 1;
  }
  auto urls = http::parse_url_list(s.str("collector_url"));
  if (!urls || !http::share_an_endpoint((**id).collector_url, s.str("collector_url"))) {
    log.error("the identity in {} was issued by {}, not by collector_url; not sending its key there",
              s.str("state_dir"), (**id).collector_url);
    return 2;
  }
  http::Request req;
  req.method = "POST";
  req.target = "/api/v1/agents/rotate-key";
  req.body = "{}";
  req.headers = {{"Content-Type", "application/json"},
                 {"Authorization", "Bearer " + (**id).agent_id + ":" + (**id).agent_key}};
  auto res = http::fetch(urls->front(), std::move(req), client_options(s));
  if (!res || res->status != 200) {
    log.error("the collector did not rotate the key: {}", res ? "HTTP " + std::to_string(res->status) + ": " + res->body
                                                               : res.error().describe());
    return 1;
  }
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(res->body, ec);
  const auto* key = !ec && v.is_object() ? v.get_object().if_contains("agent_key") : nullptr;
  if (key == nullptr || !key->is_string() || key->get_string().empty()) {
    log.error("the collector's answer holds no new key: {}", res->body);
    return 1;
  }
  state::Identity next = **id;
  next.agent_key = std::string(key->get_string());
  // The old key no longer works: the new one must be on disk before anything else.
  if (auto st = state->save_identity(next); !st) {
    log.error("the key was rotated but cannot be saved ({}): the agent must enroll again", st.error().describe());
    return 1;
  }
  log.info("rotated the key of agent {}; a running agent picks it up when restarted", next.agent_id);
  return 0;
}

namespace {

// What --enroll records in the configuration's drop-in directory, so the
// agent started afterwards uses the collector it enrolled with.
std::string enrollment_drop_in(const config::Settings& s) {
  std::string out = "# Written by surveyor-agent --enroll.\ncollector_url = " +
                    config::toml_string(s.str("collector_url")) + "\n";
  // Not the token's file: once enrolled the agent needs it no more, and
  // run as root --enroll may read a file the agent's user cannot.
  for (const char* key : {"ca_file", "pin_sha256"})
    if (s.has(key) && !s.str(key).empty()) out += std::string(key) + " = " + config::toml_string(s.str(key)) + "\n";
  return out;
}

// Run as root (configuration management), --enroll writes files the agent's
// own user must read: they are given to the state directory's owner.
core::Status give_to_state_owner(const std::string& dir) {
  struct stat d {};
  if (::geteuid() != 0 || ::stat(dir.c_str(), &d) != 0 || d.st_uid == 0) return {};
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && ::chown(e.path().c_str(), d.st_uid, d.st_gid) != 0)
      return core::Error{std::error_code(errno, std::generic_category()),
                         "cannot give " + e.path().string() + " to the state directory's owner"};
  if (ec) return core::Error{ec, "cannot list " + dir};
  return {};
}

}  // namespace

int enroll_once(const config::Settings& s) {
  log::configure(s);
  log::Logger log("agent");
  const std::string collector = s.str("collector_url");
  auto urls = http::parse_url_list(collector);
  if (!urls) {
    log.error("collector_url: {}", urls.error().describe());
    return 2;
  }
  if (auto refused = plain_http_refusal(s, *urls)) {
    log.error("{}", *refused);
    return 2;
  }
  auto state = state::StateDir::open(s.str("state_dir"));
  if (!state) {
    log.error("{}", state.error().describe());
    return 2;
  }
  // The drop-in, written only when it would change, once enrolled.
  const auto record = [&]() -> int {
    if (s.config_path().empty()) return 0;
    const std::string dir = config::drop_in_dir(s.config_path());
    const std::string path = dir + "/50-enrollment.toml";
    const std::string text = enrollment_drop_in(s);
    if (auto held_text = inventory::read_text(path); held_text && *held_text == text) return 0;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (auto st = state::write_file_atomic(path, text, 0644); ec || !st) {
      log.error("enrolled, but cannot write {}: {}", path, ec ? ec.message() : st.error().describe());
      return 1;
    }
    log.info("wrote {}", path);
    return 0;
  };
  auto held = state->load_identity();
  if (!held) {
    log.error("{}", held.error().describe());
    return 1;
  }
  if (*held && http::share_an_endpoint((**held).collector_url, collector)) {
    log.info("already enrolled as {} with {}; nothing to do", (**held).agent_id, (**held).collector_url);
    return record();
  }
  auto token = config::read_secret(s, "enrollment_token");
  if (!token) {
    log.error("{}", token.error().message);
    return 2;
  }
  if (token->empty()) {
    log.error("no enrollment token: give enrollment_token_file (or enrollment_token)");
    return 2;
  }
  const wire::Inventory inv = inventory::collect(roots_of(s), core::to_unix_ms(core::SystemClock().now()));
  if (!inv.host.data) {
    log.error("cannot enroll without a host identity: {}", inv.host.reason);
    return 1;
  }
  wire::EnrollRequest er{*token, inv.host.data->host_id, inv.host.data->hostname, SURVEYOR_VERSION, {}, {}};
  if (inv.hardware.data) {
    er.system_uuid = inv.hardware.data->system_uuid;
    er.system_serial = inv.hardware.data->system_serial;
  }
  std::string why;
  for (const http::Url& url : *urls) {  // the first that answers
    http::Request req;
    req.method = "POST";
    req.target = "/api/v1/enroll";
    req.headers = {{"Content-Type", std::string(wire::kBinaryContentType)}};
    req.body = wire::encode(er, wire::Format::binary);
    auto res = http::fetch(url, std::move(req), client_options(s));
    if (!res) {
      why += (why.empty() ? "" : "; ") + res.error().describe();  // names the URL
      continue;
    }
    if (res->status == 401) {
      log.error("{} refused the enrollment token: {}", url.to_string(), res->body.substr(0, 200));
      return 3;
    }
    auto answer = res->status == 201 ? wire::decode<wire::EnrollResponse>(res->body, wire::Format::binary)
                                     : core::Result<wire::EnrollResponse>(core::make_error(
                                           transport::TransportErrc::unexpected_status,
                                           "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 200)));
    if (!answer) {
      log.error("{} did not enroll this host: {}", url.to_string(), answer.error().describe());
      return 1;
    }
    const state::Identity id{answer->agent_id, answer->agent_key, answer->ci_id, collector};
    if (auto st = state->save_identity(id); !st) {
      log.error("enrolled as {}, but cannot save the identity: {}", id.agent_id, st.error().describe());
      return 1;
    }
    log.info("enrolled as {} (CI {}) with {}", id.agent_id, id.ci_id, url.to_string());
    if (auto st = give_to_state_owner(s.str("state_dir")); !st) {
      log.error("enrolled, but {}", st.error().describe());
      return 1;
    }
    return record();
  }
  log.error("cannot reach the collector: {}", why);
  return 1;
}

int print_inventory(const config::Settings& s) {
  log::configure(s);
  log::Logger log("agent");
  auto loaded = load_plugins(s, log);
  if (!loaded) return 2;
  wire::Inventory inv = inventory::collect(roots_of(s), core::to_unix_ms(core::SystemClock().now()));
  std::vector<wire::Instance> all;
  for (auto& p : *loaded)
    if (auto found = p->instances()) all.insert(all.end(), found->begin(), found->end());
  inv.instances = {all.empty() ? wire::SectionState::empty : wire::SectionState::collected, "", wire::digest_of(all), all};
  std::fwrite(wire::inventory_json(inv).data(), 1, wire::inventory_json(inv).size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace surveyor::agent::app
