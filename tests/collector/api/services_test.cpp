// SPDX-License-Identifier: Apache-2.0
// Service definitions, members and service-scoped capacity through the API.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace surveyor::collector {
namespace {

TEST(ServicesApi, DefinitionsMembersAndServiceScopedCapacity) {
  test::TempDir defs;
  auto catalog = std::make_shared<services::Catalog>(defs.path());
  Harness h("", 1 << 20, catalog);
  seed(h);
  std::ofstream(defs.file("webshop.toml")) << "name = \"webshop\"\nowner = \"web-team\"\nsla_target = 99.5\n"
                                              "[[group]]\nname = \"hosts\"\nmembers = [\"" + h.ci_id +
                                                  "\", \"gone\"]\nredundancy = \"any\"\n"
                                                  "[[capacity_rule]]\nname = \"root\"\nkind = \"forecast\"\n"
                                                  "metric = \"system.filesystem.utilization\"\nthreshold = 0.7\n";
  std::ofstream(defs.file("broken.toml")) << "name = \"broken\"\nowner = 3\n";

  auto list = get_json(h, "/api/v1/services");
  ASSERT_EQ(list.at("items").as_array().size(), 1u);
  const auto& svc = list.at("items").as_array()[0].as_object();
  EXPECT_EQ(svc.at("name").as_string(), "webshop");
  EXPECT_EQ(svc.at("sla").at("target_percent").as_double(), 99.5);
  EXPECT_EQ(svc.at("groups").as_array()[0].at("redundancy").at("rule").as_string(), "any");
  ASSERT_EQ(list.at("errors").as_array().size(), 1u);
  EXPECT_NE(std::string(list.at("errors").as_array()[0].at("message").as_string()).find("broken.toml:2"),
            std::string::npos);

  auto one = get_json(h, "/api/v1/services/webshop");
  ASSERT_EQ(one.at("member_cis").as_array().size(), 1u);
  EXPECT_EQ(one.at("member_cis").as_array()[0].at("id").as_string(), h.ci_id);
  EXPECT_EQ(one.at("unresolved").as_array()[0].as_string(), "gone");
  EXPECT_EQ(h.call("GET", "/api/v1/services/nope").status, 404u);

  // The service's member hosts, and its own thresholds in its report.
  auto trend = get_json(h, "/api/v1/series?service=webshop&metric=system.cpu.utilization&exact=true&step=1h&from=" +
                               std::to_string(kNow - kDay) + "&to=" + std::to_string(kNow));
  ASSERT_EQ(trend.at("series").as_array().size(), 1u);
  auto report = get_json(h, "/api/v1/capacity/report?service=webshop");
  ASSERT_EQ(report.at("items").as_array().size(), 1u);
  EXPECT_EQ(report.at("items").as_array()[0].at("rule").as_string(), "webshop/root");
  EXPECT_EQ(report.at("items").as_array()[0].at("threshold").as_double(), 0.7);
  EXPECT_EQ(h.call("GET", "/api/v1/capacity/report?service=nope").status, 404u);
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/series?service=webshop&ci=" + h.ci_id + "&metric=m")), "bad_query");
}

TEST(ServicesApi, DefinedThroughTheApiToo) {
  test::TempDir defs;
  std::ofstream(defs.file("payroll.toml")) << "name = \"payroll\"\nowner = \"hr\"\n";
  test::TempDir db;
  const std::string url = "sqlite:" + db.file("s.db");
  auto side = backends::open_stores(url);  // the catalog's own connection to the same file
  ASSERT_TRUE(side);
  auto catalog = std::make_shared<services::Catalog>(defs.path(), side->services);
  Harness api_h(url, 1 << 20, catalog);
  const std::string def = "name = \"shop\"\nowner = \"web\"\nsla_target = 99.5\n[[group]]\nmembers = [\"web01\"]\n";
  const http::Headers toml{{"Content-Type", "application/toml"}};
  auto put = api_h.call("PUT", "/api/v1/services/shop", def, toml);
  EXPECT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(api_h.call("PUT", "/api/v1/services/shop", def, toml).status, 200u);
  auto list = get_json(api_h, "/api/v1/services");
  ASSERT_EQ(list.at("items").as_array().size(), 2u) << json::serialize(list);
  EXPECT_EQ(get_json(api_h, "/api/v1/services/shop").at("file").as_string(), "api:shop");
  // Errors: the TOML's own, a name that is not the path's, a file's service.
  auto bad = api_h.call("PUT", "/api/v1/services/shop", "name = \"shop\"\nowner = \"web\"\ncolour = 1\n", toml);
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("api:shop:3"), std::string::npos) << bad.body;
  EXPECT_EQ(api_h.call("PUT", "/api/v1/services/other", def, toml).status, 400u);
  EXPECT_EQ(api_h.call("PUT", "/api/v1/services/payroll", "name = \"payroll\"\nowner = \"x\"\n", toml).status, 409u);
  auto as_json = api_h.call("PUT", "/api/v1/services/shop", def);
  EXPECT_EQ(as_json.status, 415u) << "a definition is TOML";
  EXPECT_EQ(api_h.call("DELETE", "/api/v1/services/payroll").status, 409u);
  EXPECT_EQ(api_h.call("DELETE", "/api/v1/services/shop").status, 200u);
  EXPECT_EQ(api_h.call("DELETE", "/api/v1/services/shop").status, 404u);
  EXPECT_EQ(api_h.call("GET", "/api/v1/services/shop").status, 404u);
}

}  // namespace
}  // namespace surveyor::collector
