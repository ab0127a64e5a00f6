// SPDX-License-Identifier: Apache-2.0
// Who may call what: every route against the role table of docs/security.md,
// tokens that are unknown, expired or revoked, and who records name.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace surveyor::collector {
namespace {

// The least role each route needs, as docs/api.md documents it. A route the
// API adds that is missing here fails the first test: every new route must
// be given its access, here and in the API.
const std::map<std::string, std::string> kExpected{
    {"healthz", "open"},
    {"readyz", "open"},
    {"metrics", "viewer"},
    {"enroll", "agent"},
    {"reports", "agent"},
    {"agents.rotate_key", "agent"},
    {"console.root", "open"},
    {"console", "open"},
    {"whoami", "viewer"},
    {"cis.list", "viewer"},
    {"cis.get", "viewer"},
    {"cis.inventory", "viewer"},
    {"cis.relationships", "viewer"},
    {"cis.history", "viewer"},
    {"cis.series", "viewer"},
    {"cis.export", "viewer"},
    {"series", "viewer"},
    {"forecast", "viewer"},
    {"capacity.report", "viewer"},
    {"capacity.events", "viewer"},
    {"capacity.hotspots", "viewer"},
    {"audit", "viewer"},
    {"audit.verify", "viewer"},
    {"evidence.list", "viewer"},
    {"evidence.get", "viewer"},
    {"changes.list", "viewer"},
    {"changes.get", "viewer"},
    {"availability", "viewer"},
    {"availability.check", "viewer"},
    {"impact", "viewer"},
    {"services.list", "viewer"},
    {"services.get", "viewer"},
    {"services.dependencies", "viewer"},
    {"slas.list", "viewer"},
    {"slas.report", "viewer"},
    {"incidents.list", "viewer"},
    {"incidents.kpis", "viewer"},
    {"incidents.get", "viewer"},
    {"webhooks.deliveries", "viewer"},
    {"incidents.act", "operator"},
    {"cis.create", "change-manager"},
    {"cis.update", "change-manager"},
    {"relationships.add", "change-manager"},
    {"relationships.remove", "change-manager"},
    {"changes.create", "change-manager"},
    {"services.put", "change-manager"},
    {"services.delete", "change-manager"},
    {"slas.recompute", "admin"},
    {"tokens.list", "admin"},
    {"tokens.create", "admin"},
    {"tokens.revoke", "admin"},
    {"enrollment_tokens.list", "admin"},
    {"enrollment_tokens.create", "admin"},
    {"enrollment_tokens.revoke", "admin"},
};

// Whether a token of `role` may call a route needing `access`.
bool may(const std::string& role, const std::string& access) {
  if (access == "open" || access == "agent" || access == "viewer" || role == "admin") return true;
  return role == access;
}

// The pattern with every {capture} filled in.
std::string target_of(const std::string& pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '{') {
      out += "x";
      i = pattern.find('}', i) + 1;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

TEST(Access, EveryRouteHasTheRoleOfTheTableAndNoOther) {
  Harness h;
  std::map<std::string, std::string> tokens;
  for (store::Role r : {store::Role::viewer, store::Role::operator_, store::Role::change_manager, store::Role::admin})
    tokens[std::string(store::to_string(r))] = h.token("t-" + std::string(store::to_string(r)), r);
  std::set<std::string> seen;
  for (const server::RouteInfo& route : h.router->routes()) {
    SCOPED_TRACE(route.method + " " + route.pattern + " (" + route.name + ")");
    seen.insert(route.name);
    auto expected = kExpected.find(route.name);
    ASSERT_NE(expected, kExpected.end()) << "a route without an entry in the access table";
    ASSERT_EQ(api::required_access(route.name), std::optional<std::string_view>(expected->second));
    const std::string target = target_of(route.pattern);
    const std::string& access = expected->second;
    const http::Headers json{{"Content-Type", route.name == "services.put" ? "application/toml" : "application/json"}};

    auto anonymous = h.call_as("", route.method, target, "{}", json);
    if (access == "open" || access == "agent") {
      EXPECT_NE(anonymous.status, 403u);
      if (access == "open") {
        EXPECT_NE(anonymous.status, 401u);
      }
    } else {
      EXPECT_EQ(anonymous.status, 401u) << anonymous.body;
      EXPECT_EQ(error_code(anonymous), "unauthenticated");
      EXPECT_EQ(anonymous.header("WWW-Authenticate"), "Bearer realm=\"surveyor\"");
    }
    if (access == "agent") continue;  // agents present their own credentials
    for (const auto& [role, secret] : tokens) {
      auto r = h.call_as(secret, route.method, target, "{}", json);
      if (may(role, access)) {
        EXPECT_NE(r.status, 401u) << role << ": " << r.body;
        EXPECT_NE(r.status, 403u) << role << ": " << r.body;
      } else {
        EXPECT_EQ(r.status, 403u) << role << ": " << r.body;
        EXPECT_EQ(error_code(r), "forbidden");
      }
    }
  }
  for (const auto& [name, access] : kExpected) EXPECT_TRUE(seen.contains(name)) << name << " is no longer a route";
}

TEST(Access, UnknownMalformedExpiredAndRevokedTokensAreRefused) {
  Harness h;
  const std::int64_t now = core::to_unix_ms(h.clock.now());
  const std::string soon = h.token("soon", store::Role::viewer, now + 60'000);
  const std::string gone = h.token("gone", store::Role::admin);
  EXPECT_EQ(h.call_as(soon, "GET", "/api/v1/cis").status, 200u);
  h.clock.advance(std::chrono::minutes(1));
  auto expired = h.call_as(soon, "GET", "/api/v1/cis");
  EXPECT_EQ(expired.status, 401u);
  EXPECT_NE(expired.body.find("expired"), std::string::npos) << expired.body;

  EXPECT_EQ(h.call_as(gone, "GET", "/api/v1/cis").status, 200u);
  ASSERT_TRUE(*h.stores.credentials->revoke_token("gone", core::to_unix_ms(h.clock.now())));
  auto revoked = h.call_as(gone, "GET", "/api/v1/cis");
  EXPECT_EQ(revoked.status, 401u);
  EXPECT_NE(revoked.body.find("revoked"), std::string::npos) << revoked.body;

  EXPECT_EQ(h.call_as("svt_" + std::string(64, '0'), "GET", "/api/v1/cis").status, 401u);
  for (const char* header : {"Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "bearer", "Token abc", "Bearer a b",
                             "Bearer ====", "Bearer svt_\xff"}) {
    auto r = h.call("GET", "/api/v1/cis", {}, {{"Authorization", header}});
    EXPECT_EQ(r.status, 401u) << header << ": " << r.body;
  }
  // A control character is not HTTP at all: the server refuses the request.
  auto control = h.call("GET", "/api/v1/cis", {}, {{"Authorization", "Bearer \x01"}});
  EXPECT_EQ(control.status, 400u) << control.body;
  // The scheme's case and extra spaces do not matter (RFC 6750, 7235).
  EXPECT_EQ(h.call("GET", "/api/v1/cis", {}, {{"Authorization", "bEaReR   " + h.admin}}).status, 200u);
  // Refusals are counted by reason.
  EXPECT_NE(h.call("GET", "/metrics").body.find("surveyor_errors_total{reason=\"unauthenticated\"}"),
            std::string::npos);
}

TEST(Access, MetricsNeedAViewerUnlessPublic) {
  Harness closed;
  EXPECT_EQ(closed.call_as("", "GET", "/metrics").status, 401u);
  EXPECT_EQ(closed.call_as(closed.token("v", store::Role::viewer), "GET", "/metrics").status, 200u);
  EXPECT_EQ(closed.call_as("", "GET", "/healthz").status, 200u);
  EXPECT_EQ(closed.call_as("", "GET", "/readyz").status, 200u);
  Harness open("", 1 << 20, nullptr, {}, true);
  EXPECT_EQ(open.call_as("", "GET", "/metrics").status, 200u);
  EXPECT_EQ(open.call_as("", "GET", "/api/v1/cis").status, 401u) << "only /metrics is made public";
}

TEST(Access, RecordsNameTheTokenAndTheClientNotWhatTheBodySays) {
  Harness h;
  h.enroll();
  const std::string cm = h.token("carol", store::Role::change_manager);
  auto patched = h.call_as(cm, "PATCH", "/api/v1/cis/" + h.ci_id, R"({"attributes":{"owner":"shop"},"by":"mallory"})",
                           {{"Content-Type", "application/json"}});
  ASSERT_EQ(patched.status, 200u) << patched.body;
  auto change = h.call_as(cm, "POST", "/api/v1/changes",
                          R"({"reference":"CHG1","cis":[")" + h.ci_id + R"("],"start":"1","end":"2"})",
                          {{"Content-Type", "application/json"}});
  ASSERT_EQ(change.status, 201u) << change.body;
  EXPECT_EQ(json::parse(change.body).at("actor").as_string(), "carol (127.0.0.1)");
  auto trail = get_json(h, "/api/v1/audit?ci=" + h.ci_id + "&kind=attribute");
  ASSERT_FALSE(trail.at("items").as_array().empty());
  const json::object& entry = trail.at("items").as_array()[0].as_object();
  EXPECT_EQ(entry.at("key").as_string(), "owner");
  EXPECT_EQ(entry.at("actor").as_string(), "carol (127.0.0.1)");
  // An agent's own entries name no operator.
  auto created = get_json(h, "/api/v1/audit?ci=" + h.ci_id + "&kind=created");
  ASSERT_FALSE(created.at("items").as_array().empty());
  EXPECT_TRUE(created.at("items").as_array()[0].at("actor").is_null());
}

// Admins manage tokens and enrollment tokens through the API as well.
TEST(Access, AdminsMakeListAndRevokeTokensThroughTheApi) {
  Harness h;
  auto made = h.call("POST", "/api/v1/tokens", R"({"name":"dash","role":"viewer","expires":"30d"})");
  ASSERT_EQ(made.status, 201u) << made.body;
  const json::object t = json::parse(made.body).as_object();
  const std::string secret(t.at("token").as_string());
  EXPECT_EQ(secret.rfind("svt_", 0), 0u);
  EXPECT_EQ(t.at("role").as_string(), "viewer");
  EXPECT_FALSE(t.at("expires").is_null());
  EXPECT_EQ(h.call_as(secret, "GET", "/api/v1/cis").status, 200u);
  EXPECT_EQ(h.call("POST", "/api/v1/tokens", R"({"name":"dash","role":"admin"})").status, 409u);
  for (const char* bad : {R"({"name":"a b","role":"viewer"})", R"({"name":"x","role":"root"})",
                          R"({"name":"x","role":"viewer","expires":"soon"})", "[]"})
    EXPECT_EQ(h.call("POST", "/api/v1/tokens", bad).status, 400u) << bad;
  const std::string list = h.call("GET", "/api/v1/tokens").body;
  EXPECT_NE(list.find("\"dash\""), std::string::npos) << list;
  EXPECT_EQ(list.find(secret), std::string::npos) << "a secret is shown once";
  EXPECT_EQ(list.find(core::sha256_hex(secret)), std::string::npos) << "hashes are not shown either";
  EXPECT_EQ(h.call("DELETE", "/api/v1/tokens/dash").status, 200u);
  EXPECT_EQ(h.call("DELETE", "/api/v1/tokens/dash").status, 404u);
  EXPECT_EQ(h.call_as(secret, "GET", "/api/v1/cis").status, 401u);

  auto grant = h.call("POST", "/api/v1/enrollment-tokens", R"({"uses":1,"expires":"1h"})");
  ASSERT_EQ(grant.status, 201u) << grant.body;
  const json::object g = json::parse(grant.body).as_object();
  const std::string token(g.at("token").as_string()), id(g.at("id").as_string());
  const std::string ct = std::string(wire::kJsonContentType);
  EXPECT_EQ(h.call("POST", "/api/v1/enroll", R"({"token":")" + token + R"(","host_id":"h1","hostname":"h"})",
                   {{"Content-Type", ct}})
                .status,
            201u);
  EXPECT_NE(h.call("GET", "/api/v1/enrollment-tokens").body.find("\"used\":1"), std::string::npos);
  EXPECT_EQ(h.call("POST", "/api/v1/enrollment-tokens", R"({"uses":0})").status, 400u);
  EXPECT_EQ(h.call("DELETE", "/api/v1/enrollment-tokens/" + id).status, 200u);
  EXPECT_EQ(h.call("DELETE", "/api/v1/enrollment-tokens/" + id).status, 404u);
}

// Per client address and per token: a burst, then 429 with Retry-After until
// the bucket refills; probes and agents' reports are not limited.
TEST(Access, OperatorsAndEnrollmentsAreRateLimitedReportsAndProbesAreNot) {
  Harness h("", 1 << 20, nullptr, {}, false, 1, 3);  // 1 a second, 3 at once
  const std::string auth = h.enroll();  // spends one of the address's 3
  EXPECT_EQ(h.call("GET", "/api/v1/cis").status, 200u);
  EXPECT_EQ(h.call("GET", "/api/v1/cis").status, 200u);
  auto refused = h.call("GET", "/api/v1/cis");
  EXPECT_EQ(refused.status, 429u) << refused.body;
  EXPECT_EQ(error_code(refused), "rate_limited");
  EXPECT_EQ(refused.header("Retry-After"), "1");
  const std::string ct = std::string(wire::kJsonContentType);
  EXPECT_EQ(h.call("POST", "/api/v1/enroll", R"({"token":"secret-token","host_id":"h2","hostname":"h"})",
                   {{"Content-Type", ct}})
                .status,
            429u)
      << "enrollments count against the address too";
  for (std::uint64_t seq = 1; seq <= 5; ++seq) EXPECT_EQ(h.post_report(h.report(seq), auth).status, 202u) << seq;
  EXPECT_EQ(h.call("GET", "/healthz").status, 200u);
  h.clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(h.call("GET", "/api/v1/cis").status, 200u) << "a second later, one more";
  EXPECT_EQ(h.call("GET", "/api/v1/cis").status, 429u);
  EXPECT_NE(h.call_as(h.admin, "GET", "/api/v1/cis").status, 200u);
}

}  // namespace
}  // namespace surveyor::collector
