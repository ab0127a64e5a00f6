// SPDX-License-Identifier: Apache-2.0
// Audit evidence through the API: the clauses listed, a closed period's
// report frozen (the same bytes each time, with the SHA-256 of its content),
// HTML and CSV, and every malformed request refused with a reason.
#include <gtest/gtest.h>

#include "harness.hpp"
#include "surveyor/collector/evidence/evidence.hpp"
#include "surveyor/collector/sla/sla.hpp"

namespace surveyor::collector {
namespace {

TEST(EvidenceApi, ClausesReportsFormatsAndRefusals) {
  Harness h;
  h.enroll();
  const auto clauses = get_json(h, "/api/v1/evidence");
  const auto& items = clauses.at("items").as_array();
  ASSERT_EQ(items.size(), 7u);
  EXPECT_EQ(items[0].at("clause").as_string(), "8.2.6");
  EXPECT_EQ(items[6].at("clause").as_string(), "9.1");
  for (const auto& item : items) EXPECT_TRUE(item.at("available").as_bool()) << item.at("clause").as_string();

  // The last month that has ended on the harness's clock is the default.
  const auto current = sla::period_at("month", kNow);
  const auto last = sla::period_at("month", current->start_ms - 1);
  auto first = h.call("GET", "/api/v1/evidence/8.2.6");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("Content-Type"), "application/json");
  const auto doc = json::parse(first.body).as_object();
  EXPECT_EQ(doc.at("period").at("name").as_string(), last->name);
  EXPECT_TRUE(doc.at("generated").at("frozen").as_bool());
  EXPECT_NE(doc.at("generated").at("by").as_string().find("admin"), std::string::npos) << "who asked";
  EXPECT_EQ(doc.at("digest").as_string(), evidence::digest_of(first.body));
  h.clock.advance(std::chrono::hours(1));
  auto second = h.call("GET", "/api/v1/evidence/8.2.6?period=" + last->name);
  EXPECT_EQ(second.body, first.body) << "the frozen report, byte for byte";

  auto html = h.call("GET", "/api/v1/evidence/8.7.1?period=" + last->name + "&format=html");
  ASSERT_EQ(html.status, 200u) << html.body;
  EXPECT_EQ(html.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(html.header("Content-Security-Policy").find("default-src 'none'"), std::string::npos);
  EXPECT_NE(html.body.find("Service availability management"), std::string::npos);
  // The host enrolled now: not in last month's CMDB, in this month's.
  auto csv = h.call("GET", "/api/v1/evidence/8.2.6?period=" + last->name + "&format=csv&table=cis_by_type");
  ASSERT_EQ(csv.status, 200u) << csv.body;
  EXPECT_EQ(csv.header("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv.body, "type,active,missing,retired,total\r\n");
  csv = h.call("GET", "/api/v1/evidence/8.2.6?period=" + current->name + "&format=csv&table=cis_by_type");
  EXPECT_EQ(csv.body.rfind("type,active,missing,retired,total\r\nhost,1,0,0,1\r\n", 0), 0u) << csv.body;
  // Every clause answers, in every format.
  for (const char* clause : {"8.3.3", "8.4.3", "8.5.1", "9.1"}) {
    auto r = h.call("GET", std::string("/api/v1/evidence/") + clause + "?period=" + last->name + "&format=html");
    EXPECT_EQ(r.status, 200u) << clause << ": " << r.body;
  }
  // The current month is not frozen: computed at each request.
  auto open = h.call("GET", "/api/v1/evidence/8.6.1?period=" + current->name);
  ASSERT_EQ(open.status, 200u) << open.body;
  EXPECT_FALSE(json::parse(open.body).at("generated").at("frozen").as_bool());

  struct Bad {
    std::string target;
    unsigned status;
    std::string says;
  };
  const std::vector<Bad> bad{
      {"/api/v1/evidence/8.2.6?period=2026-13", 400, "period must be"},
      {"/api/v1/evidence/8.2.6?period=2099-01", 400, "has not begun"},
      {"/api/v1/evidence/8.2.6?format=pdf", 400, "format must be"},
      {"/api/v1/evidence/8.2.6?format=csv", 400, "table=NAME"},
      {"/api/v1/evidence/8.2.6?format=csv&table=nope", 404, "tables: cis_by_type"},
      {"/api/v1/evidence/4.1", 404, "no report of clause 4.1"},
  };
  for (const Bad& b : bad) {
    auto r = h.call("GET", b.target);
    EXPECT_EQ(r.status, b.status) << b.target << ": " << r.body;
    EXPECT_NE(r.body.find(b.says), std::string::npos) << b.target << ": " << r.body;
  }
}

}  // namespace
}  // namespace surveyor::collector
