// SPDX-License-Identifier: Apache-2.0
// Availability timelines and evaluation leases on both backends.
#include <gtest/gtest.h>

#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

SURVEYOR_STORE_SUITE(TimelineConformance);

TYPED_TEST(TimelineConformance, IntervalsExtendAndRepeatsChangeNothing) {
  auto& t = *this->stores.timelines;
  ASSERT_TRUE(t.record_state("h", Availability::up, 0, 10));
  ASSERT_TRUE(t.record_state("h", Availability::up, 10, 20));   // extends
  ASSERT_TRUE(t.record_state("h", Availability::up, 0, 20));    // already there
  ASSERT_TRUE(t.record_state("h", Availability::down, 15, 30));  // only 20..30 is new
  ASSERT_TRUE(t.record_state("h", Availability::up, 30, 40));
  auto all = t.read_timeline("h", 0, 100);
  ASSERT_TRUE(all) << all.error().describe();
  EXPECT_EQ(*all, (std::vector<StateInterval>{{"h", 0, 20, Availability::up},
                                              {"h", 20, 30, Availability::down},
                                              {"h", 30, 40, Availability::up}}));
  EXPECT_EQ(t.read_timeline("h", 20, 30)->size(), 1u);
  EXPECT_EQ(t.read_timeline("h", 25, 35)->size(), 2u);
  EXPECT_TRUE(t.read_timeline("other", 0, 100)->empty());
  EXPECT_EQ(*t.evaluated_until(), 0);
  ASSERT_TRUE(t.set_evaluated_until(500));
  ASSERT_TRUE(t.set_evaluated_until(400));  // never goes back
  EXPECT_EQ(*t.evaluated_until(), 500);
}

SURVEYOR_STORE_SUITE(LeaseConformance);

TYPED_TEST(LeaseConformance, OneHolderAtATimeUntilItLapses) {
  auto& l = *this->stores.leases;
  EXPECT_TRUE(*l.acquire_lease("evaluation", "a", 1'000, 30'000));
  EXPECT_FALSE(*l.acquire_lease("evaluation", "b", 2'000, 30'000));
  EXPECT_TRUE(*l.acquire_lease("evaluation", "a", 20'000, 30'000)) << "renewed";
  EXPECT_FALSE(*l.acquire_lease("evaluation", "b", 40'000, 30'000)) << "the renewal runs to 50 s";
  EXPECT_TRUE(*l.acquire_lease("evaluation", "b", 50'000, 30'000)) << "lapsed: b takes over";
  EXPECT_FALSE(*l.acquire_lease("evaluation", "a", 60'000, 30'000));
  EXPECT_TRUE(*l.acquire_lease("other", "a", 60'000, 30'000)) << "leases are per name";
}

}  // namespace
}  // namespace surveyor::collector::store
