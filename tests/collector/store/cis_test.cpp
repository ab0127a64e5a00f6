// SPDX-License-Identifier: Apache-2.0
// CIs on both backends: attributes merged by source, listing by name with
// filters and pages.
#include <gtest/gtest.h>

#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

using test::TempDir;

template <class B>
using CiConformance = OnBackend<B>;
TYPED_TEST_SUITE(CiConformance, Backends, BackendNames);

TYPED_TEST(CiConformance, CiUpsertMergesAttributes) {
  CiUpdate u = this->host_update("ci-1", "web01", 1000);
  u.attributes = {{"cpu.cores", std::int64_t{4}}, {"cpu.model", std::string("Xeon")},
                  {"memory.total_bytes", std::int64_t{8} << 30}, {"virtual", true}, {"load", 0.25}};
  auto c1 = this->stores.cmdb->upsert_ci(u);
  ASSERT_TRUE(c1) << c1.error().describe();
  EXPECT_EQ(c1->first_seen_ms, 1000);
  EXPECT_EQ(c1->state, CiState::active);

  // A later update of the cpu section replaces cpu.* but leaves the rest.
  CiUpdate u2 = this->host_update("ci-1", "", 2000);
  u2.attributes = {{"cpu.cores", std::int64_t{8}}};
  u2.replace_prefixes = {"cpu."};
  auto c2 = this->stores.cmdb->upsert_ci(u2);
  ASSERT_TRUE(c2);

  auto got = this->stores.cmdb->find_ci("ci-1");
  ASSERT_TRUE(got && got->has_value());
  const Ci& ci = **got;
  EXPECT_EQ(ci, *c2);
  EXPECT_EQ(ci.name, "web01");
  EXPECT_EQ(ci.first_seen_ms, 1000);
  EXPECT_EQ(ci.last_seen_ms, 2000);
  EXPECT_EQ(ci.updated_ms, 2000);
  EXPECT_EQ(std::get<std::int64_t>(ci.attributes.at("cpu.cores")), 8);
  EXPECT_FALSE(ci.attributes.contains("cpu.model"));
  EXPECT_EQ(std::get<std::int64_t>(ci.attributes.at("memory.total_bytes")), std::int64_t{8} << 30);
  EXPECT_EQ(std::get<bool>(ci.attributes.at("virtual")), true);
  EXPECT_EQ(std::get<double>(ci.attributes.at("load")), 0.25);

  // Seen again without changes: last_seen moves, updated does not.
  auto c3 = this->stores.cmdb->upsert_ci(this->host_update("ci-1", "web01", 3000));
  ASSERT_TRUE(c3);
  EXPECT_EQ(c3->last_seen_ms, 3000);
  EXPECT_EQ(c3->updated_ms, 2000);
}

TYPED_TEST(CiConformance, CisAreListedByNameWithFilters) {
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(this->host_update("ci-b", "beta", 1)));
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(this->host_update("ci-a", "alpha", 1)));
  CiUpdate disk = this->host_update("ci-d", "alpha", 1);
  disk.type = "disk";
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(disk));

  auto all = this->stores.cmdb->list_cis({});
  ASSERT_TRUE(all) << all.error().describe();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "ci-a");
  EXPECT_EQ((*all)[1].id, "ci-d");
  EXPECT_EQ((*all)[2].id, "ci-b");

  auto hosts = this->stores.cmdb->list_cis({.type = "host"});
  ASSERT_TRUE(hosts);
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[0].id, "ci-a");

  auto named = this->stores.cmdb->list_cis({.name = "alpha"});
  ASSERT_TRUE(named);
  EXPECT_EQ(named->size(), 2u);

  auto page = this->stores.cmdb->list_cis({.limit = 1, .offset = 1});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, "ci-d");

  // Renaming moves the CI in the name order.
  ASSERT_TRUE(this->stores.cmdb->upsert_ci(this->host_update("ci-b", "aardvark", 2)));
  auto renamed = this->stores.cmdb->list_cis({.type = "host"});
  ASSERT_TRUE(renamed);
  ASSERT_EQ(renamed->size(), 2u);
  EXPECT_EQ((*renamed)[0].id, "ci-b");
  auto old_name = this->stores.cmdb->list_cis({.name = "beta"});
  ASSERT_TRUE(old_name);
  EXPECT_TRUE(old_name->empty());
}

}  // namespace
}  // namespace surveyor::collector::store
