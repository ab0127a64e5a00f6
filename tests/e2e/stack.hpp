// SPDX-License-Identifier: Apache-2.0
// What the end-to-end tests share: the real collector (and agent) started on
// loopback with a temporary store (Stack), the shifted clock every binary
// they start runs on, and helpers to reach them over HTTP and the command
// line.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "surveyor/core/clock.hpp"
#include "surveyor/core/crypto.hpp"
#include "surveyor/http/client.hpp"
#include "surveyor/wire/codec.hpp"
#include "test_support.hpp"

namespace surveyor::e2e {

namespace json = boost::json;
using namespace std::chrono_literals;
using test::Process;

inline std::string run(const std::string& cmd) { return test::run_command(cmd); }

// The collectors these tests start have no rate limit (--rate-limit 0): the
// tests poll every 20 ms, faster than any operator.
//
// Every binary these tests start runs 1,000 days from today
// (SURVEYOR_CLOCK_OFFSET). A fixture written with a fixed date is then years
// out of the collector's retention and windows at once, so it fails today
// instead of on the day its date falls out of them; every instant a test
// makes comes from now_ms(), the same shifted clock.
inline constexpr std::chrono::milliseconds kClockOffset = std::chrono::days(1000);
inline const std::map<std::string, std::string> kEnv{{core::kClockOffsetEnv, "1000d"}};

inline std::int64_t now_ms() { return core::to_unix_ms(core::SystemClock(kClockOffset).now()); }

inline std::vector<std::string> spool_entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".rpt") out.push_back(e.path().filename());
  return out;
}

// surveyor-collector's administration commands, on the clock of the
// collectors these tests start (tokens expire on it).
inline std::string admin_command() {
  return std::string(core::kClockOffsetEnv) + "=1000d " + test::binary("surveyor-collector") + " ";
}

// A new admin token on the store, made as an operator would with
// `surveyor-collector token create`; its secret.
inline std::string admin_token(const std::string& store_url) {
  std::string secret = run(admin_command() + "token create --store " + store_url +
                           " --role admin --name e2e-" + core::random_hex(4));
  while (!secret.empty() && secret.back() == '\n') secret.pop_back();
  EXPECT_EQ(secret.rfind("svt_", 0), 0u) << secret;
  return secret;
}

// The command line as an operator with this token runs it.
inline std::string cli_as(const std::string& token, const std::string& url) {
  return "SURVEYOR_TOKEN=" + token + " " + test::binary("surveyor") + " --collector " + url + " ";
}

inline std::string fetch_body(std::uint16_t port, const std::string& target, const std::string& token = {}) {
  http::Request r;
  r.target = target;
  if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
  auto res = http::fetch(http::Url{"http", "127.0.0.1", port, ""}, r);
  return res ? res->body : std::string();
}

inline std::uint64_t metric_value(const std::string& metrics, const std::string& line_prefix) {
  const auto pos = metrics.find("\n" + line_prefix + " ");
  if (pos == std::string::npos) return 0;
  return std::stoull(metrics.substr(pos + line_prefix.size() + 2));
}

// GET from a collector on loopback: the JSON body of a 200 answer, or nothing.
inline std::optional<json::value> get_json(std::uint16_t port, const std::string& target, const std::string& token) {
  http::Request r;
  r.target = target;
  r.headers.emplace_back("Authorization", "Bearer " + token);
  auto res = http::fetch(http::Url{"http", "127.0.0.1", port, ""}, r);
  if (!res || res->status != 200) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(res->body, ec);
  if (ec) return std::nullopt;
  return v;
}

// The port a collector started on loopback listens on, once it says so on
// stdout (`scheme` is http or https); 0 when it did not within 15 s.
inline std::uint16_t listening_port(const Process& collector, const std::string& scheme = "http") {
  const std::regex listening("listening on " + scheme + R"(://127\.0\.0\.1:(\d+))");
  std::uint16_t port = 0;
  test::eventually(
      [&] {
        std::smatch m;
        const std::string out = collector.output();
        if (!std::regex_search(out, m, listening)) return false;
        port = static_cast<std::uint16_t>(std::stoi(m[1]));
        return true;
      },
      15s);
  return port;
}

struct Stack {
  explicit Stack(std::string store = "", std::uint16_t listen_port = 0, std::vector<std::string> extra_args = {})
      : collector_args(std::move(extra_args)) {
    if (store.empty()) store = "sqlite:" + dir.file("surveyor.db");
    store_url = store;
    token = admin_token(store_url);
    start_collector(listen_port);
  }

  void start_collector(std::uint16_t listen_port) {
    std::vector<std::string> argv{test::binary("surveyor-collector"), "--listen",
                                  "127.0.0.1:" + std::to_string(listen_port), "--store", store_url, "--rate-limit", "0",
                                  "--enrollment-token", "e2e-token"};
    argv.insert(argv.end(), collector_args.begin(), collector_args.end());
    collector = std::make_unique<Process>(argv, dir.path(), kEnv);
    port = listening_port(*collector);
    EXPECT_NE(port, 0) << collector->output();
    url = "http://127.0.0.1:" + std::to_string(port);
  }

  // The agent reads a TOML file, as it would from /etc/surveyor/agent.toml.
  void start_agent(const std::string& enrollment = "e2e-token") {
    std::ofstream(dir.file("agent.toml")) << "collector_url = \"" << url << "\"\n"
                                          << "enrollment_token = \"" << enrollment << "\"\n"
                                          << "state_dir = \"" << dir.file("agent-state") << "\"\n"
                                          << "sample_interval = \"1s\"\nreport_interval = \"2s\"\n";
    agent = std::make_unique<Process>(
        std::vector<std::string>{test::binary("surveyor-agent"), "--config", dir.file("agent.toml")}, dir.path(),
        kEnv);
  }

  std::optional<json::object> get(const std::string& target) {
    auto v = get_json(port, target, token);
    if (!v || !v->is_object()) return std::nullopt;
    return v->get_object();
  }

  // The host CI once it has its inventory and at least one sample of each kind.
  std::optional<json::object> host_ci() {
    auto list = get("/api/v1/cis?type=host");
    if (!list || list->at("items").as_array().empty()) return std::nullopt;
    const std::string id(list->at("items").as_array()[0].as_object().at("id").as_string());
    auto ci = get("/api/v1/cis/" + id);
    if (!ci || !ci->at("attributes").as_object().contains("cpu.cores")) return std::nullopt;
    std::set<std::string> metrics;
    for (const auto& s : ci->at("latest_samples").as_array()) metrics.insert(std::string(s.as_object().at("metric").as_string()));
    for (const char* want : {"system.cpu.utilization", "system.memory.usage", "system.filesystem.usage"})
      if (!metrics.contains(want)) return std::nullopt;
    return ci;
  }

  // Lets the agent enroll, then stops it: the test alone reports as it
  // from then on, with the identity it enrolled with.
  std::map<std::string, std::string> enrolled_identity() {
    start_agent();
    const std::string identity_file = dir.file("agent-state/identity");
    EXPECT_TRUE(test::eventually([&] { return !test::read_file(identity_file).empty(); }, 20s)) << agent->output();
    agent->stop(SIGTERM, 10s);
    std::map<std::string, std::string> id;
    std::istringstream in(test::read_file(identity_file));
    for (std::string line; std::getline(in, line);) id[line.substr(0, line.find('='))] = line.substr(line.find('=') + 1);
    return id;
  }

  // POST /api/v1/reports of `r` as the agent `id`, on the binary wire.
  static http::Request report_request(const std::map<std::string, std::string>& id, const wire::Report& r) {
    http::Request req;
    req.method = "POST";
    req.target = "/api/v1/reports";
    req.headers = {{"Content-Type", std::string(wire::kBinaryContentType)},
                   {"Authorization", "Bearer " + id.at("agent_id") + ":" + id.at("agent_key")}};
    req.body = wire::encode(r, wire::Format::binary);
    return req;
  }

  test::TempDir dir;
  std::vector<std::string> collector_args;  // added to the collector's command line
  std::string store_url;
  std::string token;  // an admin API token
  std::unique_ptr<Process> collector;
  std::unique_ptr<Process> agent;
  std::uint16_t port = 0;
  std::string url;
};

}  // namespace surveyor::e2e
