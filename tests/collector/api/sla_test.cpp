// SPDX-License-Identifier: Apache-2.0
// SLA reports through the API: current and named periods, time zones, frozen
// reports and their amendments.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace surveyor::collector {
namespace {

TEST(SlaApi, ReportsOfTheCurrentAndANamedPeriod) {
  test::TempDir defs;
  auto catalog = std::make_shared<services::Catalog>(defs.path());
  std::ofstream(defs.file("shop.toml")) << "name = \"shop\"\nowner = \"o\"\nsla_target = 99.5\n";
  std::ofstream(defs.file("lab.toml")) << "name = \"lab\"\nowner = \"o\"\n";
  Harness h("", 1 << 20, catalog);
  // The harness clock is 2026-11-18T07:48:20Z: November so far, with 30
  // minutes down and the rest up.
  const std::int64_t nov1 = *core::parse_time("2026-11-01T00:00:00Z"), now = core::to_unix_ms(h.clock.now());
  ASSERT_TRUE(h.stores.timelines->record_state("service:shop", store::Availability::up, nov1, nov1 + 86'400'000));
  ASSERT_TRUE(h.stores.timelines->record_state("service:shop", store::Availability::down, nov1 + 86'400'000,
                                               nov1 + 86'400'000 + 1'800'000));
  ASSERT_TRUE(h.stores.timelines->record_state("service:shop", store::Availability::up, nov1 + 86'400'000 + 1'800'000, now));
  auto r = get_json(h, "/api/v1/slas/shop/report");
  EXPECT_EQ(r.at("period").as_string(), "2026-11");
  EXPECT_FALSE(r.at("closed").as_bool());
  EXPECT_DOUBLE_EQ(r.at("downtime_seconds").to_number<double>(), 1800);
  const double agreed = static_cast<double>(now - nov1) / 1000;
  EXPECT_DOUBLE_EQ(r.at("agreed_seconds").to_number<double>(), agreed);
  EXPECT_NEAR(r.at("achieved_percent").to_number<double>(), 100 * (agreed - 1800) / agreed, 1e-9);
  EXPECT_NEAR(r.at("allowed_downtime_seconds").to_number<double>(), 0.005 * agreed, 0.001);
  EXPECT_FALSE(r.at("breached").as_bool());
  auto october = get_json(h, "/api/v1/slas/shop/report?period=2026-10");
  EXPECT_TRUE(october.at("closed").as_bool());
  EXPECT_DOUBLE_EQ(october.at("unknown_seconds").to_number<double>(), 31 * 86'400.0) << "no timeline: unknown";
  auto csv = h.call("GET", "/api/v1/slas/shop/report?format=csv");
  EXPECT_EQ(csv.status, 200u);
  EXPECT_EQ(csv.body.rfind("service,period,closed,target_percent,", 0), 0u) << csv.body;
  auto html = h.call("GET", "/api/v1/slas/shop/report?format=html");
  EXPECT_EQ(html.status, 200u);
  EXPECT_EQ(html.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(html.body.find("<h1>SLA: shop</h1>"), std::string::npos) << html.body;
  EXPECT_NE(html.body.find("<tr><th>Downtime</th><td>30.0 min</td></tr>"), std::string::npos) << html.body;
  EXPECT_EQ(get_json(h, "/api/v1/slas").at("items").as_array().size(), 1u) << "lab has no SLA";
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/slas/shop/report?period=2026-W40")), "bad_query");
  EXPECT_EQ(h.call("GET", "/api/v1/slas/lab/report").status, 404u);
  EXPECT_EQ(h.call("GET", "/api/v1/slas/nope/report").status, 404u);
}

TEST(SlaApi, ReportsInTheServiceTimeZoneAndHours) {
  test::TempDir defs;
  auto catalog = std::make_shared<services::Catalog>(defs.path());
  std::ofstream(defs.file("office.toml")) << "name = \"office\"\nowner = \"o\"\nsla_target = 99\n"
                                             "sla_time_zone = \"Europe/Berlin\"\n"
                                             "sla_service_hours = [\"Mon-Fri 08:00-18:00\"]\n";
  Harness h("", 1 << 20, catalog);
  // October 2026 in Berlin: 22 weekdays of 10 hours; one outage, 17:00-18:30
  // CET on Tuesday 27 October, of which one hour is inside the hours.
  const std::int64_t start = *core::parse_time("2026-09-30T22:00:00Z");
  const std::int64_t end = *core::parse_time("2026-10-31T23:00:00Z");
  const std::int64_t down = *core::parse_time("2026-10-27T16:00:00Z");
  const std::int64_t up = *core::parse_time("2026-10-27T17:30:00Z");
  ASSERT_TRUE(h.stores.timelines->record_state("service:office", store::Availability::up, start, down));
  ASSERT_TRUE(h.stores.timelines->record_state("service:office", store::Availability::down, down, up));
  ASSERT_TRUE(h.stores.timelines->record_state("service:office", store::Availability::up, up, end));
  auto r = get_json(h, "/api/v1/slas/office/report?period=2026-10");
  EXPECT_EQ(r.at("start").as_string(), "2026-09-30T22:00:00.000Z");
  EXPECT_EQ(r.at("end").as_string(), "2026-10-31T23:00:00.000Z");
  EXPECT_EQ(r.at("time_zone").as_string(), "Europe/Berlin");
  EXPECT_EQ(r.at("start_local").as_string(), "2026-10-01T00:00:00+02:00");
  EXPECT_EQ(r.at("end_local").as_string(), "2026-11-01T00:00:00+01:00");
  EXPECT_EQ(json::serialize(r.at("service_hours")), R"(["Mon-Fri 08:00-18:00"])");
  EXPECT_DOUBLE_EQ(r.at("service_time_seconds").to_number<double>(), 792'000);
  EXPECT_DOUBLE_EQ(r.at("agreed_seconds").to_number<double>(), 792'000);
  EXPECT_DOUBLE_EQ(r.at("downtime_seconds").to_number<double>(), 3600);
  EXPECT_DOUBLE_EQ(r.at("unknown_seconds").to_number<double>(), 0);
  EXPECT_DOUBLE_EQ(r.at("allowed_downtime_seconds").to_number<double>(), 7920);
  EXPECT_DOUBLE_EQ(r.at("error_budget_left_seconds").to_number<double>(), 4320);
  auto csv = h.call("GET", "/api/v1/slas/office/report?period=2026-10&format=csv");
  EXPECT_EQ(csv.status, 200u);
  EXPECT_NE(csv.body.find(",breached,start,end,time_zone,service_hours,agreed_seconds,version\r\n"), std::string::npos)
      << csv.body;
  EXPECT_NE(csv.body.find(",2026-09-30T22:00:00.000Z,2026-10-31T23:00:00.000Z,Europe/Berlin,Mon-Fri 08:00-18:00,"
                          "792000.000,\r\n"),
            std::string::npos)
      << csv.body;
  auto html = h.call("GET", "/api/v1/slas/office/report?period=2026-10&format=html");
  EXPECT_NE(html.body.find("<tr><th>Time zone</th><td>Europe/Berlin (2026-10-01T00:00:00+02:00 to "
                           "2026-11-01T00:00:00+01:00)</td></tr>"),
            std::string::npos)
      << html.body;
  EXPECT_NE(html.body.find("<tr><th>Service hours</th><td>Mon-Fri 08:00-18:00</td></tr>"), std::string::npos)
      << html.body;
  // The current period (the harness clock is in November) is Berlin's November.
  auto all = get_json(h, "/api/v1/slas").at("items").as_array();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].at("period").as_string(), "2026-11");
  EXPECT_EQ(all[0].at("start").as_string(), "2026-10-31T23:00:00.000Z");
  EXPECT_EQ(all[0].at("time_zone").as_string(), "Europe/Berlin");
  auto svc = get_json(h, "/api/v1/services/office");
  EXPECT_EQ(svc.at("sla").at("time_zone").as_string(), "Europe/Berlin");
  EXPECT_EQ(json::serialize(svc.at("sla").at("service_hours")), R"(["Mon-Fri 08:00-18:00"])");
}

TEST(SlaApi, ClosedPeriodsAnswerWithTheirFrozenReportAndAmendments) {
  test::TempDir defs;
  auto catalog = std::make_shared<services::Catalog>(defs.path());
  std::ofstream(defs.file("shop.toml")) << "name = \"shop\"\nowner = \"o\"\nsla_target = 99.5\n";
  Harness h("", 1 << 20, catalog);
  const std::int64_t oct1 = *core::parse_time("2026-10-01T00:00:00Z"), nov1 = *core::parse_time("2026-11-01T00:00:00Z");
  ASSERT_TRUE(h.stores.timelines->record_state("service:shop", store::Availability::up, oct1, oct1 + 86'400'000));
  ASSERT_TRUE(h.stores.timelines->record_state("service:shop", store::Availability::down, oct1 + 86'400'000,
                                               oct1 + 86'400'000 + 3'600'000));
  ASSERT_TRUE(h.stores.timelines->record_state("service:shop", store::Availability::up, oct1 + 86'400'000 + 3'600'000,
                                               nov1));
  // Not frozen yet: computed now, and said so.
  auto live = get_json(h, "/api/v1/slas/shop/report?period=2026-10");
  EXPECT_FALSE(live.at("record").at("frozen").as_bool());
  std::set<std::string> done;
  ASSERT_EQ(*sla::freeze_closed(h.stores, *catalog, core::to_unix_ms(h.clock.now()), done), 1u);
  auto frozen = get_json(h, "/api/v1/slas/shop/report?period=2026-10");
  EXPECT_TRUE(frozen.at("record").at("frozen").as_bool());
  EXPECT_EQ(frozen.at("record").at("version").as_int64(), 1);
  EXPECT_DOUBLE_EQ(frozen.at("downtime_seconds").to_number<double>(), 3600);

  const std::string body = R"({"by":"alice","reason":"target renegotiated"})";
  auto same = h.call("POST", "/api/v1/slas/shop/report/recompute?period=2026-10", body);
  ASSERT_EQ(same.status, 200u) << same.body;
  EXPECT_FALSE(json::parse(same.body).at("amended").as_bool());
  std::ofstream(defs.file("shop.toml")) << "name = \"shop\"\nowner = \"o\"\nsla_target = 99.9\n";
  auto amended = h.call("POST", "/api/v1/slas/shop/report/recompute?period=2026-10", body);
  ASSERT_EQ(amended.status, 201u) << amended.body;
  EXPECT_EQ(json::parse(amended.body).at("version").as_int64(), 2);
  auto latest = get_json(h, "/api/v1/slas/shop/report?period=2026-10");
  EXPECT_EQ(latest.at("record").at("version").as_int64(), 2);
  EXPECT_EQ(latest.at("record").at("versions").as_array().size(), 2u);
  EXPECT_EQ(latest.at("record").at("versions").as_array()[1].at("reason").as_string(), "target renegotiated");
  EXPECT_EQ(latest.at("record").at("versions").as_array()[1].at("by").as_string(), "admin (127.0.0.1)")
      << "the amendment names the token's holder, not the body's \"by\"";
  EXPECT_DOUBLE_EQ(latest.at("target_percent").to_number<double>(), 99.9);
  auto first = get_json(h, "/api/v1/slas/shop/report?period=2026-10&version=1");
  EXPECT_DOUBLE_EQ(first.at("target_percent").to_number<double>(), 99.5);
  EXPECT_EQ(h.call("GET", "/api/v1/slas/shop/report?period=2026-10&version=3").status, 404u);
  EXPECT_EQ(h.call("GET", "/api/v1/slas/shop/report?period=2026-10&version=zero").status, 400u);
  EXPECT_EQ(h.call("GET", "/api/v1/slas/shop/report?period=2026-10&version=0").status, 400u);
  EXPECT_EQ(h.call("GET", "/api/v1/slas/shop/report?version=1").status, 400u) << "no period: the running one";
  EXPECT_NE(h.call("GET", "/api/v1/slas/shop/report?period=2026-10&format=html").body.find("version 2 of 2"),
            std::string::npos);
  EXPECT_EQ(h.call("POST", "/api/v1/slas/shop/report/recompute?period=2026-11", body).status, 409u);
  EXPECT_EQ(h.call("POST", "/api/v1/slas/shop/report/recompute?period=2026-10", R"({"by":"alice"})").status, 400u)
      << "a reason is required";
  EXPECT_EQ(h.call("POST", "/api/v1/slas/shop/report/recompute?period=2026-10", "nope").status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/slas/shop/report/recompute?period=October", body).status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/slas/nope/report/recompute?period=2026-10", body).status, 404u);
}

}  // namespace
}  // namespace surveyor::collector
