// SPDX-License-Identifier: Apache-2.0
// Enrolled agents and the store's own health on both backends.
#include <gtest/gtest.h>

#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

SURVEYOR_STORE_SUITE(AgentConformance);

TYPED_TEST(AgentConformance, PingAndDescribe) {
  auto st = this->stores.health->ping();
  EXPECT_TRUE(st) << st.error().describe();
  EXPECT_EQ(this->stores.health->describe().rfind(TypeParam::kScheme, 0), 0u) << this->stores.health->describe();
}

TYPED_TEST(AgentConformance, AgentsAreCreatedOnceAndFound) {
  const AgentRecord a = agent_record("agt-1");
  ASSERT_TRUE(this->stores.agents->create_agent(a));
  auto again = this->stores.agents->create_agent(a);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, StoreErrc::conflict);

  auto found = this->stores.agents->find_agent("agt-1");
  ASSERT_TRUE(found) << found.error().describe();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, a);

  auto missing = this->stores.agents->find_agent("agt-2");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace surveyor::collector::store
