// SPDX-License-Identifier: Apache-2.0
// Capacity events on both backends: one open event per rule and series until
// it is resolved, listing, pruning, and concurrent raises.
#include <gtest/gtest.h>

#include <thread>

#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

template <class B>
class EventStoreTest : public OnBackend<B> {
 protected:
  static CapacityEvent event(const std::string& ci, const std::string& mount, double value) {
    CapacityEvent e;
    e.kind = "capacity-forecast";
    e.rule = "filesystem-forecast";
    e.ci_id = ci;
    e.metric = "system.filesystem.utilization";
    e.attributes = {{"mountpoint", mount}};
    e.threshold = 0.9;
    e.value = value;
    e.predicted_ms = 1'000'000;
    e.summary = "fills";
    return e;
  }
};
TYPED_TEST_SUITE(EventStoreTest, Backends, BackendNames);

TYPED_TEST(EventStoreTest, OneOpenEventPerRuleAndSeriesUntilResolved) {
  EventStore& ev = *this->stores.events;
  auto first = ev.raise_event(this->event("ci-1", "/", 0.8), 1000);
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_TRUE(first->second);
  EXPECT_EQ(first->first.state, "open");
  EXPECT_EQ(first->first.opened_ms, 1000);

  auto again = ev.raise_event(this->event("ci-1", "/", 0.85), 2000);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->second) << "the open event is updated, not duplicated";
  EXPECT_EQ(again->first.id, first->first.id);
  EXPECT_EQ(again->first.value, 0.85);
  EXPECT_EQ(again->first.opened_ms, 1000);
  EXPECT_EQ(again->first.updated_ms, 2000);

  // Another mount is another event.
  auto other = ev.raise_event(this->event("ci-1", "/var", 0.7), 2500);
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->second);

  const SeriesKey root{"ci-1", "system.filesystem.utilization", {{"mountpoint", "/"}}};
  auto resolved = ev.resolve_event("filesystem-forecast", root, 3000);
  ASSERT_TRUE(resolved);
  ASSERT_TRUE(resolved->has_value());
  EXPECT_EQ((*resolved)->state, "resolved");
  EXPECT_EQ((*resolved)->resolved_ms, 3000);
  auto nothing = ev.resolve_event("filesystem-forecast", root, 3500);
  ASSERT_TRUE(nothing);
  EXPECT_FALSE(nothing->has_value());

  // The condition returns: a new event.
  auto reopened = ev.raise_event(this->event("ci-1", "/", 0.95), 4000);
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(reopened->second);
  EXPECT_NE(reopened->first.id, first->first.id);

  auto all = ev.list_events({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, reopened->first.id) << "newest first";
  auto open = ev.list_events({.state = "open", .ci_id = "ci-1", .kind = "", .limit = 10});
  ASSERT_TRUE(open);
  EXPECT_EQ(open->size(), 2u);
  auto one = ev.list_events({.state = "", .ci_id = "", .kind = "", .limit = 1});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->size(), 1u);
  EXPECT_EQ((*all)[2].predicted_ms, std::optional<std::int64_t>(1'000'000));
  EXPECT_EQ((*all)[2].attributes, (Labels{{"mountpoint", "/"}}));
}

// Open events are listed with their filters, newest first, however many
// were raised and resolved before; pruning deletes only resolved events
// resolved before the instant, never an open one however old.
TYPED_TEST(EventStoreTest, OpenEventsListedAndResolvedOnesPruned) {
  EventStore& ev = *this->stores.events;
  for (int i = 0; i < 30; ++i) {  // raised and resolved, one mount point each
    ASSERT_TRUE(ev.raise_event(this->event("ci-1", "/old" + std::to_string(i), 0.8), 100 + i));
    ASSERT_TRUE(ev.resolve_event("filesystem-forecast", {"ci-1", "system.filesystem.utilization",
                                                         {{"mountpoint", "/old" + std::to_string(i)}}},
                                 200 + i));
  }
  ASSERT_TRUE(ev.raise_event(this->event("ci-1", "/", 0.8), 50));  // open since before them all
  ASSERT_TRUE(ev.raise_event(this->event("ci-2", "/", 0.8), 300));
  CapacityEvent sustained = this->event("ci-2", "/var", 0.95);
  sustained.kind = "capacity";
  sustained.rule = "filesystem-sustained";
  ASSERT_TRUE(ev.raise_event(sustained, 400));

  auto open = ev.list_events({.state = "open", .ci_id = "", .kind = "", .limit = 10});
  ASSERT_TRUE(open) << open.error().describe();
  ASSERT_EQ(open->size(), 3u);
  EXPECT_EQ((*open)[0].opened_ms, 400);
  EXPECT_EQ((*open)[1].opened_ms, 300);
  EXPECT_EQ((*open)[2].opened_ms, 50);
  EXPECT_EQ(ev.list_events({.state = "open", .ci_id = "ci-2", .kind = "", .limit = 10})->size(), 2u);
  auto forecasts = ev.list_events({.state = "open", .ci_id = "ci-2", .kind = "capacity-forecast", .limit = 10});
  ASSERT_TRUE(forecasts);
  ASSERT_EQ(forecasts->size(), 1u);
  EXPECT_EQ(forecasts->front().opened_ms, 300);
  EXPECT_EQ(ev.list_events({.state = "open", .ci_id = "", .kind = "", .limit = 2})->size(), 2u);
  EXPECT_EQ(ev.list_events({.state = "resolved", .ci_id = "", .kind = "", .limit = 100})->size(), 30u);
  EXPECT_EQ(ev.list_events({.state = "", .ci_id = "", .kind = "", .limit = 100})->size(), 33u);

  auto pruned = ev.prune_events(215);  // resolved at 200..214
  ASSERT_TRUE(pruned) << pruned.error().describe();
  EXPECT_EQ(*pruned, 15u);
  EXPECT_EQ(ev.list_events({.state = "resolved", .ci_id = "", .kind = "", .limit = 100})->size(), 15u);
  EXPECT_EQ(*ev.prune_events(215), 0u);
  EXPECT_EQ(*ev.prune_events(1'000'000), 15u);
  auto left = ev.list_events({.state = "", .ci_id = "", .kind = "", .limit = 100});
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 3u) << "open events stay however old";
  for (const CapacityEvent& e : *left) EXPECT_EQ(e.state, "open");
}

// Each thread has stores of its own (its own connections, as two collectors
// on one store would), so the writers really race.
// The hot spots: none before the first evaluation, then the latest
// document, replaced whole, with when it was saved.
TYPED_TEST(EventStoreTest, HotSpotsAreTheLatestDocument) {
  auto none = this->stores.events->hot_spots();
  ASSERT_TRUE(none) << none.error().describe();
  EXPECT_FALSE(*none);
  ASSERT_TRUE(this->stores.events->save_hot_spots(R"({"items":[1]})", 1000));
  const std::string big(200'000, 'x');  // a large document, with bytes JSON escapes
  ASSERT_TRUE(this->stores.events->save_hot_spots("{\"items\":[],\"note\":\"" + big + "\\u00e9\"}", 2000));
  auto got = this->stores.events->hot_spots();
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->first, "{\"items\":[],\"note\":\"" + big + "\\u00e9\"}");
  EXPECT_EQ((*got)->second, 2000);
}

TYPED_TEST(EventStoreTest, ConcurrentRaisesOpenOneEvent) {
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      auto own = backends::open_stores(this->backend.url());
      ASSERT_TRUE(own) << own.error().describe();
      for (int j = 0; j < 10; ++j) {
        auto r = own->events->raise_event(this->event("ci-1", "/", 0.8), 1000 + i * 10 + j);
        ASSERT_TRUE(r) << r.error().describe();
        if (r->second) ++opened;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 1);
  auto open = this->stores.events->list_events({.state = "open", .ci_id = "", .kind = "", .limit = 10});
  ASSERT_TRUE(open);
  EXPECT_EQ(open->size(), 1u);
}

}  // namespace
}  // namespace surveyor::collector::store
