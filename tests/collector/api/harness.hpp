// SPDX-License-Identifier: Apache-2.0
// The REST API through the real HTTP server on loopback with a real SQLite
// store: the harness every API test uses, and the data some of them seed.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <functional>
#include <map>
#include <set>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../shared/wire_fixtures.hpp"
#include "surveyor/collector/api/api.hpp"
#include "surveyor/collector/backends/open.hpp"
#include "surveyor/collector/capacity/rules.hpp"
#include "surveyor/collector/incidents/incidents.hpp"
#include "surveyor/collector/sla/sla.hpp"
#include "surveyor/collector/ingest/ingest.hpp"
#include "surveyor/collector/server/server.hpp"
#include "surveyor/http/client.hpp"
#include "surveyor/core/crypto.hpp"
#include "surveyor/wire/codec.hpp"
#include "test_support.hpp"

namespace surveyor::collector {

namespace json = boost::json;
using namespace std::chrono_literals;

struct Harness {
  explicit Harness(std::string store_url = "", std::size_t max_body = 1 << 20,
                   std::shared_ptr<services::Catalog> catalog = nullptr, std::vector<std::string> allowed_hosts = {},
                   bool metrics_public = false, double rate_limit = 0, double rate_burst = 200,
                   ingest::IntakePolicy intake = {}, const std::function<void(api::ApiOptions&)>& more = {}) {
    auto s = backends::open_stores(store_url.empty() ? "sqlite:" + dir.file("s.db") : store_url);
    EXPECT_TRUE(s) << s.error().describe();
    stores = *s;
    api::ApiOptions ao{"secret-token"};
    ao.services = std::move(catalog);
    ao.allowed_hosts = std::move(allowed_hosts);
    ao.metrics_public = metrics_public;
    ao.rate_limit = rate_limit;  // off unless a test sets it: the harness clock stands still
    ao.rate_burst = rate_burst;
    ao.intake = intake;
    if (more) more(ao);
    api = std::make_unique<api::Api>(stores, clock, registry, ao);
    router = std::make_shared<server::Router>();
    api->register_routes(*router);
    server::ServerOptions o;
    o.port = 0;
    o.max_body_bytes = max_body;
    srv = std::make_unique<server::Server>(o, router);
    EXPECT_TRUE(srv->start());
    if (stores.health->ping()) admin = token("admin", store::Role::admin);  // not on an unreachable store
  }

  // A new token of this role in the harness's store; its secret.
  std::string token(const std::string& name, store::Role role, std::int64_t expires_ms = 0) {
    const std::string secret = api::new_secret("svt_");
    auto added = stores.credentials->add_token(
        {name, role, core::sha256_hex(secret), core::to_unix_ms(clock.now()), expires_ms, 0});
    EXPECT_TRUE(added && *added) << name;
    return secret;
  }

  // As the admin, unless the test gives an Authorization header of its own.
  http::Response call(const std::string& method, const std::string& target, std::string body = {},
                      http::Headers headers = {}) {
    const bool has_auth = !http::find_header(headers, "Authorization").empty();
    return call_as(has_auth ? std::string() : admin, method, target, std::move(body), std::move(headers));
  }

  // With this token (none when empty).
  http::Response call_as(const std::string& token, const std::string& method, const std::string& target,
                         std::string body = {}, http::Headers headers = {}) {
    http::Request r;
    r.method = method;
    r.target = target;
    r.body = std::move(body);
    r.headers = std::move(headers);
    // As the command line does: state-changing requests are JSON unless the
    // test gives headers of its own.
    if (r.headers.empty() && method != "GET" && method != "DELETE") r.headers.emplace_back("Content-Type", "application/json");
    if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
    auto res = http::fetch(http::Url{"http", "127.0.0.1", srv->port(), ""}, r);
    EXPECT_TRUE(res) << res.error().describe();
    return res ? *res : http::Response{};
  }

  // Enrolls the sample report's host; returns "agent-id:key".
  std::string enroll(wire::Format f = wire::Format::binary) {
    const auto host = *test::sample_report().inventory->host.data;
    auto res = call("POST", "/api/v1/enroll",
                    wire::encode(wire::EnrollRequest{"secret-token", host.host_id, host.hostname, "0.1.0"}, f),
                    {{"Content-Type", std::string(wire::content_type_for(f))}});
    EXPECT_EQ(res.status, 201u) << res.body;
    auto er = wire::decode<wire::EnrollResponse>(res.body, f);
    EXPECT_TRUE(er) << er.error().describe();
    agent_id = er->agent_id;
    ci_id = er->ci_id;
    return er->agent_id + ":" + er->agent_key;
  }

  http::Response post_report(const wire::Report& r, const std::string& auth, wire::Format f = wire::Format::binary) {
    return call("POST", "/api/v1/reports", wire::encode(r, f),
                {{"Content-Type", std::string(wire::content_type_for(f))}, {"Authorization", "Bearer " + auth}});
  }

  wire::Report report(std::uint64_t seq) {
    wire::Report r = test::sample_report();
    r.agent_id = agent_id;
    r.sequence = seq;
    return r;
  }

  test::TempDir dir;
  core::ManualClock clock{core::from_unix_ms(1'795'000'100'000)};
  metrics::Registry registry;
  store::Stores stores;
  std::unique_ptr<api::Api> api;
  std::shared_ptr<server::Router> router;
  std::unique_ptr<server::Server> srv;
  std::string agent_id, ci_id;
  std::string admin;  // an admin token's secret
};

inline std::string error_code(const http::Response& r) {
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.get_object().contains("error")) return "<no error body: " + r.body + ">";
  EXPECT_TRUE(v.get_object().at("message").is_string());
  return std::string(v.get_object().at("error").get_string());
}

inline constexpr std::int64_t kNow = 1'795'000'100'000;  // the harness clock
inline constexpr std::int64_t kHour = 3'600'000;
inline constexpr std::int64_t kDay = 24 * kHour;

// A week of CPU every 5 minutes rising 1 % a day to 0.57 now, the last 20
// minutes at 0.95; and a filesystem with two samples.
inline void seed(Harness& h) {
  h.enroll();
  std::vector<store::Sample> cpu;
  for (std::int64_t t = kNow - 7 * kDay; t <= kNow; t += 5 * 60'000)
    cpu.push_back({t, t > kNow - 20 * 60'000 ? 0.95 : 0.57 + 0.01 * static_cast<double>(t - kNow) / kDay});
  store::ReportBatch b;
  b.agent_id = h.agent_id;
  b.sequence = 1;
  b.series.push_back({store::SeriesInfo{{h.ci_id, "system.cpu.utilization", {}}, "1"}, cpu});
  b.series.push_back({store::SeriesInfo{{h.ci_id, "system.cpu.utilization", {{"state", "user"}}}, "1"}, cpu});
  b.series.push_back({store::SeriesInfo{{h.ci_id, "system.filesystem.utilization", {{"mountpoint", "/"}}}, "1"},
                      {{kNow - 60'000, 0.5}, {kNow, 0.5}}});
  auto r = h.stores.reports->apply_report(b);
  ASSERT_TRUE(r) << r.error().describe();
}

inline json::object get_json(Harness& h, const std::string& target, unsigned want = 200) {
  auto res = h.call("GET", target);
  EXPECT_EQ(res.status, want) << target << ": " << res.body;
  boost::system::error_code ec;
  auto v = json::parse(res.body, ec);
  return !ec && v.is_object() ? v.get_object() : json::object{};
}

}  // namespace surveyor::collector
