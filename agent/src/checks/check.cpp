// SPDX-License-Identifier: Apache-2.0
// Checks: availability signals from this host. TCP connect, HTTP GET with an
// expected status and process presence are built in; anything else runs as
// a Nagios plugin (exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; first
// line of output; perfdata after '|'), so the thousands of existing plugins
// work. Exec checks never use a shell unless the check says `shell = true`.
// Process patterns run on command lines any local user writes (up to 64 KiB
// read): RE2, whose time is linear in the input and whose memory is
// bounded, never a backtracking engine (libstdc++'s std::regex recurses per
// character and overflows the stack on such input).
#include "surveyor/agent/checks/check.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

#include <re2/re2.h>

#include "surveyor/agent/exec/command.hpp"
#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/http/client.hpp"
#include "surveyor/wire/codec.hpp"

namespace surveyor::agent::checks {
namespace {

using config::Type;
using config::Value;
using std::chrono::milliseconds;

std::string seconds_text(milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

// Splits "HOST:PORT" or "[V6]:PORT".
bool split_host_port(const std::string& target, std::string& host, std::string& port) {
  const auto colon = target.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == target.size()) return false;
  host = target.substr(0, colon);
  port = target.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return true;
}

std::pair<wire::CheckState, std::string> tcp_check(const CheckSpec& c) {
  std::string host, port;
  if (!split_host_port(c.target, host, port)) return {wire::CheckState::unknown, "bad target '" + c.target + "'"};
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return {wire::CheckState::critical, "TCP CRITICAL - cannot resolve " + host + ": " + ::gai_strerror(rc)};
  const auto start = std::chrono::steady_clock::now();
  std::string last_error = "no address";
  bool ok = false;
  for (addrinfo* a = res; a != nullptr && !ok; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const auto left = c.timeout - std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
      rc = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
      if (rc == 0) {
        last_error = "timed out after " + seconds_text(c.timeout) + " s";
      } else if (rc > 0) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0) ok = true;
        else last_error = std::strerror(err);
      }
    } else if (rc == 0) {
      ok = true;
    } else {
      last_error = std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  if (ok) return {wire::CheckState::ok, "TCP OK - " + seconds_text(took) + " second response time on " + c.target};
  return {wire::CheckState::critical, "TCP CRITICAL - " + c.target + ": " + last_error};
}

// The URL's endpoint and its request target (path and query).
core::Result<std::pair<http::Url, std::string>> split_url(const std::string& text) {
  const auto q = text.find('?');
  auto url = http::parse_url(text.substr(0, q));
  if (!url) return std::move(url).error();
  std::string target = url->base_path.empty() ? "/" : url->base_path;
  if (q != std::string::npos) target += text.substr(q);
  url->base_path.clear();
  return std::make_pair(*url, target);
}

std::pair<wire::CheckState, std::string> http_check(const CheckSpec& c) {
  auto parts = split_url(c.target);
  if (!parts) return {wire::CheckState::unknown, parts.error().message};
  auto& [endpoint, target] = *parts;
  auto* url = &endpoint;
  http::Request req;
  req.target = target;
  http::ClientOptions o;
  o.timeout = c.timeout;
  o.max_response_body = 1 << 20;
  o.user_agent = "surveyor-agent check";
  const auto start = std::chrono::steady_clock::now();
  auto res = http::fetch(*url, req, o);
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  if (!res) return {wire::CheckState::critical, "HTTP CRITICAL - " + res.error().describe()};
  const std::string line = "HTTP " + std::to_string(res->status) + " - " + std::to_string(res->body.size()) +
                           " bytes in " + seconds_text(took) + " second response time";
  if (res->status == c.expect_status) return {wire::CheckState::ok, "HTTP OK: " + line};
  return {wire::CheckState::critical, "HTTP CRITICAL: " + line + " (expected " + std::to_string(c.expect_status) + ")"};
}

// A process pattern, compiled; check ok() (and error()) before use.
std::unique_ptr<re2::RE2> compile_pattern(const std::string& pattern) {
  re2::RE2::Options o;
  o.set_log_errors(false);  // the error goes into the check's output or the config error
  // What its automata may use; past it RE2 stays linear, only slower.
  o.set_max_mem(1 << 20);
  return std::make_unique<re2::RE2>(pattern, o);
}

std::pair<wire::CheckState, std::string> process_check(const CheckSpec& c, const std::string& proc_root) {
  std::unique_ptr<re2::RE2> re;
  if (!c.pattern.empty()) {
    re = compile_pattern(c.pattern);
    if (!re->ok()) return {wire::CheckState::unknown, "bad pattern: " + re->error()};
  }
  DIR* d = ::opendir(proc_root.c_str());
  if (d == nullptr) return {wire::CheckState::unknown, "cannot read " + proc_root};
  std::int64_t n = 0;
  const std::string self = std::to_string(::getpid());
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || self == e->d_name) continue;
    const std::string dir = proc_root + "/" + e->d_name;
    if (re) {
      auto cmd = inventory::read_text(dir + "/cmdline", 64 * 1024);
      if (!cmd || cmd->empty()) continue;
      std::replace(cmd->begin(), cmd->end(), '\0', ' ');
      while (!cmd->empty() && cmd->back() == ' ') cmd->pop_back();
      if (re2::RE2::PartialMatch(*cmd, *re)) ++n;
    } else {
      auto comm = inventory::read_text(dir + "/comm", 256);
      if (!comm) continue;
      if (!comm->empty() && comm->back() == '\n') comm->pop_back();
      if (*comm == c.target) ++n;
    }
  }
  ::closedir(d);
  const std::string what = re ? "matching '" + c.pattern + "'" : "named '" + c.target + "'";
  const std::string text = std::to_string(n) + " process" + (n == 1 ? "" : "es") + " " + what;
  if (n < c.min_count || (c.max_count >= 0 && n > c.max_count)) return {wire::CheckState::critical, "PROCS CRITICAL: " + text};
  return {wire::CheckState::ok, "PROCS OK: " + text};
}

std::pair<wire::CheckState, std::string> nagios_check(const CheckSpec& c, std::vector<PerfDatum>& perf, int cancel_fd) {
  exec::CommandOptions o;
  o.timeout = c.timeout;
  o.max_output = c.max_output;
  o.cancel_fd = cancel_fd;
  std::vector<std::string> argv = c.shell ? std::vector<std::string>{"/bin/sh", "-c", c.command.at(0)} : c.command;
  auto r = exec::run(argv, o);
  if (!r) return {wire::CheckState::unknown, r.error().describe()};
  if (r->timed_out) return {wire::CheckState::critical, "check timed out after " + seconds_text(c.timeout) + " s"};
  if (r->cancelled) return {wire::CheckState::unknown, "check cancelled: the agent is stopping"};
  NagiosOutput out = parse_nagios_output(r->output);
  perf = std::move(out.perf);
  if (r->signal != 0) return {wire::CheckState::unknown, "killed by signal " + std::to_string(r->signal)};
  const int code = r->exit_code;
  const auto state = code >= 0 && code <= 3 ? static_cast<wire::CheckState>(code) : wire::CheckState::unknown;
  if (out.text.empty()) out.text = code > 3 ? "exit status " + std::to_string(code) : "(no output)";
  return {state, out.text};
}

// Splits perfdata on spaces outside single quotes.
std::vector<std::string> perf_items(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    if (ch == '\'') {
      if (quoted && i + 1 < s.size() && s[i + 1] == '\'') {
        cur += '\'';
        ++i;
        continue;
      }
      quoted = !quoted;
      cur += ch;
    } else if ((ch == ' ' || ch == '\n' || ch == '\t') && !quoted) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

}  // namespace

std::vector<PerfDatum> parse_perfdata(std::string_view s) {
  std::vector<PerfDatum> out;
  for (const std::string& item : perf_items(s)) {
    const auto eq = item.rfind('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string label = item.substr(0, eq);
    if (label.size() >= 2 && label.front() == '\'' && label.back() == '\'') label = label.substr(1, label.size() - 2);
    if (label.empty() || label.size() > 255) continue;
    const std::string rest = item.substr(eq + 1);
    const std::string value_uom = rest.substr(0, rest.find(';'));
    char* end = nullptr;
    const double v = std::strtod(value_uom.c_str(), &end);
    if (end == value_uom.c_str() || !std::isfinite(v)) continue;  // "U" (unknown) and garbage
    const std::string uom(end);
    PerfDatum p{label, v, "1"};
    if (uom.empty()) {
    } else if (uom == "%") {
      p.unit = "%";
    } else if (uom == "s") {
      p.unit = "s";
    } else if (uom == "ms") {
      p.value /= 1e3, p.unit = "s";
    } else if (uom == "us") {
      p.value /= 1e6, p.unit = "s";
    } else if (uom == "B" || uom == "KB" || uom == "MB" || uom == "GB" || uom == "TB") {
      const int power = uom == "B" ? 0 : uom == "KB" ? 1 : uom == "MB" ? 2 : uom == "GB" ? 3 : 4;
      p.value *= std::pow(1024.0, power);
      p.unit = "By";
    } else if (uom == "c") {
      p.unit = "{count}";
    } else {
      continue;  // not a unit the plugin guidelines define
    }
    out.push_back(std::move(p));
  }
  return out;
}

NagiosOutput parse_nagios_output(std::string_view output) {
  NagiosOutput out;
  const auto eol = output.find('\n');
  std::string_view first = output.substr(0, eol);
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : output.substr(eol + 1);
  if (!first.empty() && first.back() == '\r') first.remove_suffix(1);
  std::string perf;
  if (const auto bar = first.find('|'); bar != std::string_view::npos) {
    perf = std::string(first.substr(bar + 1));
    first = first.substr(0, bar);
  }
  while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
  out.text = std::string(first.substr(0, 4096));
  // Long output: text until a line with '|'; from there on, perfdata.
  if (const auto bar = rest.find('|'); bar != std::string_view::npos) perf += " " + std::string(rest.substr(bar + 1));
  out.perf = parse_perfdata(perf);
  return out;
}

CheckOutcome run_check(const CheckSpec& spec, const std::string& proc_root, std::int64_t now_ms, int cancel_fd) {
  CheckOutcome out;
  const auto start = std::chrono::steady_clock::now();
  std::pair<wire::CheckState, std::string> r;
  switch (spec.kind) {
    case CheckKind::tcp: r = tcp_check(spec); break;
    case CheckKind::http: r = http_check(spec); break;
    case CheckKind::process: r = process_check(spec, proc_root); break;
    case CheckKind::nagios: r = nagios_check(spec, out.perf, cancel_fd); break;
  }
  static constexpr const char* kKinds[] = {"tcp", "http", "process", "nagios"};
  out.result.name = spec.name;
  out.result.kind = kKinds[static_cast<int>(spec.kind)];
  out.result.state = r.first;
  out.result.output = std::move(r.second);
  out.result.time_ms = now_ms;
  out.result.duration_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start).count();
  return out;
}

std::shared_ptr<const config::Schema> check_schema() {
  static const auto schema = [] {
    auto s = std::make_shared<config::Schema>();
    s->add({.key = "name", .type = Type::string, .description = "unique check name", .required = true});
    s->add({.key = "type", .type = Type::string, .description = "tcp, http, process or nagios", .required = true});
    s->add({.key = "target", .type = Type::string, .description = "tcp: HOST:PORT; http: URL; process: process name"});
    s->add({.key = "pattern", .type = Type::string,
            .description = "process: RE2 regular expression on the command line (instead of a name)"});
    s->add({.key = "command", .type = Type::string_list, .description = "nagios: program and arguments, run without a shell"});
    s->add({.key = "shell", .type = Type::boolean, .default_value = Value{false},
            .description = "nagios: run the single command string with /bin/sh -c"});
    s->add({.key = "timeout", .type = Type::duration, .default_value = Value{milliseconds{10'000}},
            .description = "time allowed; a check past it is critical"});
    s->add({.key = "interval", .type = Type::duration, .default_value = Value{milliseconds{60'000}},
            .description = "how often it runs"});
    s->add({.key = "expect_status", .type = Type::integer, .default_value = Value{std::int64_t{200}},
            .description = "http: the status that means OK"});
    s->add({.key = "min", .type = Type::integer, .default_value = Value{std::int64_t{1}},
            .description = "process: fewer matching processes is critical"});
    s->add({.key = "max", .type = Type::integer, .default_value = Value{std::int64_t{-1}},
            .description = "process: more matching processes is critical (-1: no limit)"});
    s->add({.key = "max_output", .type = Type::integer, .default_value = Value{std::int64_t{8192}},
            .description = "nagios: bytes of output kept"});
    return std::shared_ptr<const config::Schema>(s);
  }();
  return schema;
}

core::Result<CheckSpec> check_from_settings(const config::Settings& s) {
  auto bad = [&](const std::string& why) {
    return core::make_error(config::ConfigErrc::invalid_value, "[[check]] '" + s.str("name") + "': " + why);
  };
  CheckSpec c;
  c.name = s.str("name");
  // The name goes on the wire as an identifier: the collector would refuse
  // every report carrying a result under a name it cannot take.
  if (!wire::is_valid_name(c.name)) return bad("name must be 1-255 printable characters without spaces");
  const std::string& type = s.str("type");
  if (type == "tcp") c.kind = CheckKind::tcp;
  else if (type == "http") c.kind = CheckKind::http;
  else if (type == "process") c.kind = CheckKind::process;
  else if (type == "nagios") c.kind = CheckKind::nagios;
  else return bad("type must be tcp, http, process or nagios");
  if (s.has("target")) c.target = s.str("target");
  if (s.has("pattern")) c.pattern = s.str("pattern");
  if (s.has("command")) c.command = s.list("command");
  c.shell = s.flag("shell");
  c.timeout = s.duration("timeout");
  c.interval = s.duration("interval");
  c.expect_status = static_cast<unsigned>(s.integer("expect_status"));
  c.min_count = s.integer("min");
  c.max_count = s.integer("max");
  c.max_output = static_cast<std::size_t>(std::max<std::int64_t>(256, s.integer("max_output")));
  if (c.timeout.count() < 100) return bad("timeout must be at least 100ms");
  if (c.interval.count() < 1000) return bad("interval must be at least 1s");
  switch (c.kind) {
    case CheckKind::tcp: {
      std::string h, p;
      if (!split_host_port(c.target, h, p)) return bad("target must be HOST:PORT");
      break;
    }
    case CheckKind::http: {
      auto u = split_url(c.target);
      if (!u) return bad(u.error().message);
      break;
    }
    case CheckKind::process:
      if (c.target.empty() == c.pattern.empty()) return bad("give either target (a process name) or pattern");
      if (!c.pattern.empty()) {
        if (auto re = compile_pattern(c.pattern); !re->ok()) return bad("pattern: " + re->error());
      }
      break;
    case CheckKind::nagios:
      if (c.command.empty()) return bad("command is required");
      if (c.shell && c.command.size() != 1) return bad("with shell = true, command is one string");
      break;
  }
  return c;
}

}  // namespace surveyor::agent::checks
