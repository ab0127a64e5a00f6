// SPDX-License-Identifier: Apache-2.0
// Webhooks to a real HTTP receiver on loopback: signed, retried with
// back-off, logged, given up; a message goes where any of its incidents is
// wanted.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <mutex>

#include "store/fixture.hpp"
#include "surveyor/collector/notify/webhooks.hpp"
#include "surveyor/collector/server/router.hpp"
#include "surveyor/collector/server/server.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/crypto.hpp"
#include "surveyor/tls/tls.hpp"
#include "webhook_receiver.hpp"

namespace surveyor::collector {
namespace {

namespace json = boost::json;
using store::Incident;

TEST(Webhooks, SignedRetriedWithBackoffAndLogged) {
  test::TempDir dir;
  auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(s);
  test::WebhookReceiver rx({503, 500});
  core::SystemClock clock;
  notify::Webhook hook{"ops", rx.url(), "s3cret", 3, {}, 5, std::chrono::milliseconds(5000)};
  notify::Notifier n({hook}, s->incidents, clock, {std::chrono::milliseconds(20), std::chrono::milliseconds(1000)});
  Incident i;
  i.id = "INC-7";
  i.priority = 2;
  i.summary = "host web01 is down";
  Incident low = i;
  low.id = "INC-8";
  low.priority = 4;  // above the hook's max_priority: not sent
  n.send({{"opened", i}, {"opened", low}});
  ASSERT_TRUE(n.wait_idle(std::chrono::seconds(10)));
  const auto got = rx.got();
  ASSERT_EQ(got.size(), 3u) << "two failures, then delivered";
  for (const http::Request& r : got) EXPECT_EQ(r.body, got[0].body) << "the same message each time";
  for (const http::Request& r : got) {  // each attempt signed with its own time
    const std::string ts(r.header("X-Surveyor-Timestamp"));
    EXPECT_EQ(r.header("X-Surveyor-Signature"), "sha256=" + core::hmac_sha256_hex("s3cret", ts + "." + r.body));
  }
  EXPECT_EQ(got[0].header("X-Surveyor-Event"), "opened");
  const json::value body = json::parse(got[0].body);
  EXPECT_EQ(body.at("incident").at("id").as_string(), "INC-7");
  EXPECT_EQ(body.at("summary").as_string(), "INC-7 opened (P2): host web01 is down");
  auto log = s->incidents->list_deliveries(10);
  ASSERT_TRUE(log);
  ASSERT_EQ(log->size(), 3u);
  EXPECT_TRUE((*log)[0].delivered);
  EXPECT_EQ((*log)[0].attempt, 3);
  EXPECT_EQ((*log)[1].status, 500);
  EXPECT_EQ((*log)[2].status, 503);
  EXPECT_EQ((*log)[2].incidents, (std::vector<std::string>{"INC-7"}));
  EXPECT_GE((*log)[1].time_ms - (*log)[2].time_ms, 20) << "backed off";
  EXPECT_GE((*log)[0].time_ms - (*log)[1].time_ms, 40) << "doubled";
}

TEST(Webhooks, GivesUpAfterMaxAttemptsAndOnRefusal) {
  test::TempDir dir;
  auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(s);
  test::WebhookReceiver rx({500, 500, 500, 404});
  core::SystemClock clock;
  notify::Notifier n({{"a", rx.url(), "k", 5, {}, 3, std::chrono::milliseconds(5000)}}, s->incidents, clock,
                     {std::chrono::milliseconds(5), std::chrono::milliseconds(10)});
  Incident i;
  i.id = "INC-1";
  n.send({{"opened", i}});
  ASSERT_TRUE(n.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(rx.got().size(), 3u);
  n.send({{"resolved", i}});  // 4th request: 404, not retried
  ASSERT_TRUE(n.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(rx.got().size(), 4u);
  auto log = s->incidents->list_deliveries(10);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->size(), 4u);
  EXPECT_FALSE((*log)[0].delivered);
  EXPECT_EQ((*log)[0].status, 404);
}

TEST(Webhooks, AMessageGoesWhereAnyOfItsIncidentsIsWantedAndLateResolutionsAlone) {
  Incident check;
  check.id = "INC-1";
  check.priority = 4;
  Incident svc;
  svc.id = "INC-2";
  svc.priority = 1;
  svc.parent = "INC-1";
  auto m = notify::group({{"opened", check}, {"opened", svc}});
  ASSERT_EQ(m.size(), 1u);
  test::TempDir dir;
  auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(s);
  test::WebhookReceiver rx;
  core::SystemClock clock;
  notify::Notifier n({{"pager", rx.url(), "k", 1, {}, 3, std::chrono::milliseconds(5000)}}, s->incidents, clock);
  n.send({{"opened", check}, {"opened", svc}});
  ASSERT_TRUE(n.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(rx.got().size(), 1u) << "the P1 consequence carries the P4 cause to the pager";
  // The consequence resolves after its cause: sent on its own.
  m = notify::group({{"resolved", svc}});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].notices[0].incident.id, "INC-2");
  EXPECT_TRUE(notify::group({{"escalated", svc}}).empty());
}

}  // namespace
}  // namespace surveyor::collector

namespace surveyor::collector {
namespace {

// An https receiver is verified against the webhook's ca_file: delivered
// when it is the receiver's CA, refused (and retried) when it is another.
TEST(Webhooks, HttpsReceiversAreVerifiedAgainstTheWebhooksCa) {
  test::TempDir dir;
  ASSERT_TRUE(tls::make_quick_start(dir.file("rx"), {"127.0.0.1"}));
  ASSERT_TRUE(tls::make_quick_start(dir.file("other"), {"127.0.0.1"}));
  std::atomic<int> received{0};
  auto router = std::make_shared<server::Router>();
  router->add("POST", "/hook", "hook", [&](const http::Request&, const server::Params&) {
    ++received;
    return server::json_response(200, "{}");
  });
  server::ServerOptions o;
  o.port = 0;
  o.tls_cert_file = dir.file("rx/server.pem");
  o.tls_key_file = dir.file("rx/server-key.pem");
  server::Server rx(o, router);
  ASSERT_TRUE(rx.start());
  const std::string url = "https://127.0.0.1:" + std::to_string(rx.port()) + "/hook";
  auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(s);
  core::SystemClock clock;
  notify::Webhook trusted{"trusted", url, "k", 5, {}, 1, std::chrono::milliseconds(5000), dir.file("rx/ca.pem")};
  notify::Webhook wrong{"wrong", url, "k", 5, {}, 1, std::chrono::milliseconds(5000), dir.file("other/ca.pem")};
  notify::Notifier n({trusted, wrong}, s->incidents, clock);
  store::Incident i;
  i.id = "INC-1";
  n.send({{"opened", i}});
  ASSERT_TRUE(n.wait_idle(std::chrono::seconds(20)));
  EXPECT_EQ(received.load(), 1) << "only the webhook that trusts the receiver's CA delivered";
  auto log = s->incidents->list_deliveries(10);
  ASSERT_TRUE(log);
  ASSERT_EQ(log->size(), 2u);
  for (const auto& d : *log) {
    EXPECT_EQ(d.delivered, d.webhook == "trusted") << d.webhook << ": " << d.error;
    if (d.webhook == "wrong") {
      EXPECT_NE(d.error.find("certificate"), std::string::npos) << d.error;
    }
  }
}

}  // namespace
}  // namespace surveyor::collector
