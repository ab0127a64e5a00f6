// SPDX-License-Identifier: Apache-2.0
// Incidents through the API: list, show, act, KPIs and webhook deliveries.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace surveyor::collector {
namespace {

TEST(IncidentsApi, ListShowActKpisAndDeliveries) {
  Harness h;
  const std::int64_t now = core::to_unix_ms(h.clock.now());
  incidents::Signal a;
  a.subject = "host-1";
  a.rule = "heartbeat";
  a.summary = "host h1 is down";
  a.impact = 1;
  a.urgency = 2;
  incidents::Signal b = a;
  b.kind = store::IncidentKind::capacity;
  b.subject = "host-2";
  b.rule = "fs-full";
  b.impact = 3;
  b.urgency = 3;
  ASSERT_TRUE(incidents::apply(*h.stores.incidents, {a, b}, now - 3'600'000, {}));
  ASSERT_TRUE(h.stores.incidents->record_delivery({now, "ops", "m1", {"INC-1"}, 1, 200, "", true}));

  auto list = h.call("GET", "/api/v1/incidents");
  ASSERT_EQ(list.status, 200u) << list.body;
  auto items = json::parse(list.body).at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_FALSE(items[0].as_object().contains("timeline"));
  auto filtered = h.call("GET", "/api/v1/incidents?state=active&kind=availability&priority=2");
  ASSERT_EQ(filtered.status, 200u);
  auto f_items = json::parse(filtered.body).at("items").as_array();
  ASSERT_EQ(f_items.size(), 1u);
  EXPECT_EQ(f_items[0].at("id").as_string(), "INC-1");
  EXPECT_EQ(f_items[0].at("priority").as_int64(), 2);
  EXPECT_EQ(json::parse(h.call("GET", "/api/v1/incidents?subject=host-2").body).at("items").as_array().size(), 1u);
  for (const char* bad : {"state=gone", "kind=outage", "priority=0", "priority=9", "limit=0", "from=yesterday"})
    EXPECT_EQ(h.call("GET", std::string("/api/v1/incidents?") + bad).status, 400u) << bad;

  auto one = h.call("GET", "/api/v1/incidents/INC-1");
  ASSERT_EQ(one.status, 200u);
  EXPECT_EQ(json::parse(one.body).at("timeline").as_array().size(), 1u);
  EXPECT_EQ(h.call("GET", "/api/v1/incidents/INC-404").status, 404u);

  // Who acts is the token's holder (and address); a "by" in the body changes nothing.
  auto ack = h.call("POST", "/api/v1/incidents/INC-1/acknowledge", R"({"by":"mallory","text":"on it"})");
  ASSERT_EQ(ack.status, 200u) << ack.body;
  EXPECT_EQ(json::parse(ack.body).at("state").as_string(), "acknowledged");
  EXPECT_EQ(json::parse(ack.body).at("timeline").as_array().back().at("by").as_string(), "admin (127.0.0.1)");
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-1/close", R"({})").status, 409u);
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-1/explode", R"({})").status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-1/comment", R"({})").status, 400u) << "a comment needs text";
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-1/resolve", R"([1,2])").status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-1/resolve", R"({"text":7})").status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-9/resolve", R"({})").status, 404u);
  const std::string bob = h.token("bob", store::Role::operator_);
  auto resolved = h.call_as(bob, "POST", "/api/v1/incidents/INC-1/resolve", R"({"text":"rebooted"})");
  ASSERT_EQ(resolved.status, 200u) << resolved.body;
  EXPECT_EQ(json::parse(resolved.body).at("timeline").as_array().back().at("by").as_string(), "bob (127.0.0.1)");
  ASSERT_EQ(h.call("POST", "/api/v1/incidents/INC-1/close", R"({})").status, 200u);

  auto kpis = h.call("GET", "/api/v1/incidents/kpis");
  ASSERT_EQ(kpis.status, 200u) << kpis.body;
  const json::value k = json::parse(kpis.body);
  EXPECT_EQ(k.at("opened").as_int64(), 2);
  EXPECT_EQ(k.at("resolved").as_int64(), 1);
  EXPECT_EQ(k.at("mttr_seconds").as_int64(), 3600) << "opened an hour ago, resolved by a person now";
  EXPECT_EQ(k.at("by_kind").at("capacity").as_int64(), 1);
  EXPECT_EQ(k.at("by_priority").at("P2").as_int64(), 1);
  EXPECT_EQ(h.call("GET", "/api/v1/incidents/kpis?period=2026-13").status, 400u);
  auto old = h.call("GET", "/api/v1/incidents/kpis?period=2020-W01");
  ASSERT_EQ(old.status, 200u);
  EXPECT_EQ(json::parse(old.body).at("opened").as_int64(), 0);
  EXPECT_TRUE(json::parse(old.body).at("mttr_seconds").is_null());

  auto d = h.call("GET", "/api/v1/webhooks/deliveries");
  ASSERT_EQ(d.status, 200u);
  EXPECT_EQ(json::parse(d.body).at("items").as_array()[0].at("message_id").as_string(), "m1");
}

}  // namespace
}  // namespace surveyor::collector
