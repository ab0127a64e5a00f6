// SPDX-License-Identifier: Apache-2.0
// The real binaries on loopback, through an outage: an availability
// incident opened, signed and sent to a webhook, then resolved; and the
// example configurations the packages ship.
#include <gtest/gtest.h>

#include "stack.hpp"
#include "webhook_receiver.hpp"

namespace surveyor::e2e {
namespace {

// The agent stops: its host goes down once two heartbeat intervals pass, an
// availability incident opens with the priority its service gives it, and
// the webhook receiver gets one signed message for the host and the service
// it takes down. The agent returns: the incidents resolve, one more message.
TEST(EndToEnd, AnOutageBecomesAnIncidentAndASignedWebhook) {
  test::WebhookReceiver rx;
  test::TempDir dir;
  const std::string hostname = run("cat /proc/sys/kernel/hostname");
  std::filesystem::create_directories(dir.file("services"));
  std::ofstream(dir.file("services/shop.toml")) << "name = \"shop\"\nowner = \"ops\"\ncriticality = \"critical\"\n"
                                                << "sla_target = 99.9\n[[group]]\nmembers = [\"" << hostname << "\"]\n";
  std::ofstream(dir.file("collector.toml")) << "listen = \"127.0.0.1:0\"\n"
                                            << "store = \"sqlite:" << dir.file("surveyor.db") << "\"\n"
                                            << "enrollment_token = \"e2e-token\"\n"
                                            << "services_dir = \"" << dir.file("services") << "\"\n"
                                            << "availability_interval = \"1s\"\nincident_hold_down = \"2s\"\n"
                                            << "[[webhook]]\nname = \"ops\"\nurl = \"" << rx.url() << "\"\n"
                                            << "secret = \"e2e-secret\"\n";
  Process collector({test::binary("surveyor-collector"), "--config", dir.file("collector.toml"), "--rate-limit", "0"},
                    dir.path(), kEnv);
  const std::uint16_t port = listening_port(collector);
  ASSERT_NE(port, 0) << collector.output();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  std::ofstream(dir.file("agent.toml")) << "collector_url = \"" << url << "\"\nenrollment_token = \"e2e-token\"\n"
                                        << "state_dir = \"" << dir.file("agent-state") << "\"\n"
                                        << "sample_interval = \"1s\"\nreport_interval = \"1s\"\n";
  auto agent = std::make_unique<Process>(
      std::vector<std::string>{test::binary("surveyor-agent"), "--config", dir.file("agent.toml")}, dir.path(), kEnv);
  const std::string token = admin_token("sqlite:" + dir.file("surveyor.db"));
  auto get = [&](const std::string& target) { return get_json(port, target, token); };
  // The host is up and the service with it, and the agent's first report
  // (not only its enrollment) is in: the host's heartbeat interval is the
  // agent's 1 s, so it goes down 2 s after the agent stops.
  ASSERT_TRUE(test::eventually(
      [&] {
        auto hosts = get("/api/v1/cis?type=host");
        if (!hosts || hosts->at("items").as_array().empty()) return false;
        auto host_ci = get("/api/v1/cis/" + std::string(hosts->at("items").as_array()[0].at("id").as_string()));
        if (!host_ci) return false;
        const auto& attrs = host_ci->at("attributes").as_object();
        const auto hb = attrs.find("agent.heartbeat_interval_s");
        if (hb == attrs.end() || hb->value() != json::value(1)) return false;
        auto a = get("/api/v1/availability/service:shop");
        if (!a || !a->as_object().contains("intervals") || a->at("intervals").as_array().empty()) return false;
        return a->at("intervals").as_array().back().at("state").as_string() == "up";
      },
      60s))
      << collector.output() << agent->output();
  EXPECT_TRUE(rx.got().empty());

  // The agent stops: down after 2 x its 1 s heartbeat, seen by the next step.
  ASSERT_TRUE(agent->stop(SIGTERM, 10s));
  json::array active;
  // What the collector knew, should this wait fail (a slow, loaded machine).
  auto known = [&] {
    std::string out = "collector:\n" + collector.output();
    for (const char* t : {"/api/v1/incidents", "/api/v1/availability/service:shop", "/metrics"}) {
      http::Request r;
      r.target = t;
      r.headers.emplace_back("Authorization", "Bearer " + token);
      auto res = http::fetch(http::Url{"http", "127.0.0.1", port, ""}, r);
      out += std::string("\n") + t + ": " + (res ? res->body.substr(0, 4000) : res.error().describe());
    }
    return out;
  };
  ASSERT_TRUE(test::eventually(
      [&] {
        auto list = get("/api/v1/incidents?state=active&kind=availability");
        if (!list) return false;
        active = list->at("items").as_array();
        return active.size() == 2;
      },
      60s))
      << known();
  const json::object* host = nullptr;
  const json::object* service = nullptr;
  for (const json::value& i : active) (i.at("subject").as_string() == "service:shop" ? service : host) = &i.as_object();
  ASSERT_TRUE(host && service);
  EXPECT_EQ(host->at("rule").as_string(), "heartbeat");
  EXPECT_EQ(host->at("priority").as_int64(), 1) << "a critical service with an SLA goes down with it";
  EXPECT_EQ(service->at("parent").as_string(), host->at("id").as_string());
  ASSERT_TRUE(test::eventually([&] { return !rx.got().empty(); }, 30s)) << known();
  // Nothing more comes while it stays down: three more evaluation steps, and
  // nothing waiting to be delivered.
  const std::string incidents_ok = R"(surveyor_housekeeping_runs_total{job="incidents",outcome="ok"})";
  const std::uint64_t steps = metric_value(fetch_body(port, "/metrics", token), incidents_ok);
  ASSERT_TRUE(test::eventually([&] { return metric_value(fetch_body(port, "/metrics", token), incidents_ok) >= steps + 3; },
                               30s))
      << known();
  auto delivered = get("/api/v1/webhooks/deliveries");
  ASSERT_TRUE(delivered);
  EXPECT_EQ(delivered->at("items").as_array().size(), 1u);
  auto got = rx.got();
  ASSERT_EQ(got.size(), 1u) << "one message for the outage";
  const json::value opened = json::parse(got[0].body);
  EXPECT_EQ(opened.at("event").as_string(), "opened");
  EXPECT_EQ(opened.at("incident").at("id").as_string(), host->at("id").as_string());
  EXPECT_EQ(opened.at("linked").as_array().size(), 1u);
  // The signature, computed independently with openssl.
  const std::string ts(got[0].header("X-Surveyor-Timestamp"));
  std::ofstream(dir.file("signed")) << ts << "." << got[0].body;
  const std::string mac =
      run("openssl dgst -sha256 -hmac e2e-secret -r " + dir.file("signed") + " | cut -d' ' -f1");
  EXPECT_EQ(got[0].header("X-Surveyor-Signature"), "sha256=" + mac);

  // The agent returns (same state: same agent, same CI); after the hold-down
  // both incidents are resolved, and one more message says so.
  agent = std::make_unique<Process>(
      std::vector<std::string>{test::binary("surveyor-agent"), "--config", dir.file("agent.toml")}, dir.path(), kEnv);
  for (const json::object* i : {host, service})
    ASSERT_TRUE(test::eventually(
        [&] {
          auto one = get("/api/v1/incidents/" + std::string(i->at("id").as_string()));
          return one && one->at("state").as_string() == "resolved";
        },
        60s))
        << known() << agent->output();
  ASSERT_TRUE(test::eventually([&] { return rx.got().size() >= 2; }, 30s)) << known();
  got = rx.got();
  ASSERT_EQ(got.size(), 2u);
  const json::value resolved = json::parse(got[1].body);
  EXPECT_EQ(resolved.at("event").as_string(), "resolved");
  EXPECT_EQ(resolved.at("linked").as_array().size(), 1u);
  // The notifier logs a delivery once the receiver has answered, a moment
  // after the receiver has the message.
  std::optional<json::value> deliveries;
  ASSERT_TRUE(test::eventually(
      [&] {
        deliveries = get("/api/v1/webhooks/deliveries");
        return deliveries && deliveries->at("items").as_array().size() >= 2;
      },
      30s))
      << known();
  EXPECT_EQ(deliveries->at("items").as_array().size(), 2u);
  EXPECT_TRUE(deliveries->at("items").as_array()[0].at("delivered").as_bool());
  const std::string shown =
      run(cli_as(token, url) + "incident show " + std::string(host->at("id").as_string()));
  EXPECT_NE(shown.find("resolved"), std::string::npos) << shown;
  EXPECT_NE(shown.find("opened"), std::string::npos) << shown;
  ASSERT_TRUE(agent->stop(SIGTERM, 10s));
  auto st = collector.stop(SIGTERM, 10s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << collector.output();
}

// The example configurations shipped in packaging/etc are valid.
TEST(Packaging, ExampleConfigurationsLoad) {
  const std::string etc = std::string(SURVEYOR_SOURCE_DIR) + "/packaging/etc/";
  for (const auto& [bin, file] : {std::pair{"surveyor-agent", "agent.toml"}, std::pair{"surveyor-collector", "collector.toml"}}) {
    test::TempDir dir;
    Process p({test::binary(bin), "--config", etc + file, "--print-config"}, dir.path());
    auto st = p.stop(0, std::chrono::seconds(10));
    ASSERT_TRUE(st);
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << file << ": " << p.output();
  }
}

}  // namespace
}  // namespace surveyor::e2e
