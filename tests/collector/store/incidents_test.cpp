// SPDX-License-Identifier: Apache-2.0
// The IncidentStore and SlaReportStore on both backends: one active incident
// per dedup key, numbering, filters, racing writers, a change that throws,
// the webhook delivery log and the versions of frozen SLA reports.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "store/fixture.hpp"

namespace surveyor::collector {
namespace {

using store::Incident;
using store::IncidentKind;
using store::IncidentState;
constexpr std::int64_t kT0 = 1'795'000'000'000;

SURVEYOR_STORE_SUITE(IncidentConformance);

TYPED_TEST(IncidentConformance, OneIncidentPerKeyNumberedAndFiltered) {
  store::IncidentStore& st = *this->stores.incidents;
  auto open = [&](const std::string& key, IncidentKind kind, int priority, std::int64_t at) {
    auto r = st.update_incident_by_key(key, [&](const std::optional<Incident>& old) -> std::optional<Incident> {
      if (old) return std::nullopt;
      Incident i;
      i.key = key;
      i.kind = kind;
      i.subject = key.substr(key.find(':') + 1);
      i.priority = priority;
      i.opened_ms = at;
      i.updated_ms = at;
      i.timeline.push_back({at, "surveyor", "opened", "x"});
      return i;
    });
    EXPECT_TRUE(r) << r.error().describe();
    return r ? *r : std::nullopt;
  };
  auto a = open("availability:h1", IncidentKind::availability, 2, kT0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, "INC-1");
  EXPECT_FALSE(open("availability:h1", IncidentKind::availability, 2, kT0 + 1)) << "one per key";
  auto b = open("capacity:h2", IncidentKind::capacity, 4, kT0 + 10);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, "INC-2");

  auto found = st.find_incident("INC-1");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ(**found, *a);
  auto none = st.find_incident("INC-99");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto missing = st.update_incident("INC-99", [](const std::optional<Incident>& i) { return i; });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, store::StoreErrc::not_found);

  // Resolve INC-1 by id: it leaves the active ones.
  auto resolved = st.update_incident("INC-1", [](const std::optional<Incident>& i) {
    Incident n = *i;
    n.state = IncidentState::resolved;
    n.resolved_ms = kT0 + 20;
    return std::optional<Incident>{n};
  });
  ASSERT_TRUE(resolved && *resolved);
  store::IncidentFilter f;
  f.states = {IncidentState::open, IncidentState::acknowledged};
  auto active = st.list_incidents(f);
  ASSERT_TRUE(active);
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ(active->front().id, "INC-2");
  f = {};
  auto all = st.list_incidents(f);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "INC-2") << "newest opened first";
  f.kind = IncidentKind::availability;
  EXPECT_EQ(st.list_incidents(f)->size(), 1u);
  f = {};
  f.max_priority = 3;
  EXPECT_EQ(st.list_incidents(f)->front().id, "INC-1");
  f = {};
  f.opened_from_ms = kT0 + 5;
  EXPECT_EQ(st.list_incidents(f)->size(), 1u);
  f = {};
  f.subject = "h2";
  EXPECT_EQ(st.list_incidents(f)->front().id, "INC-2");
  f = {};
  f.limit = 1;
  EXPECT_EQ(st.list_incidents(f)->size(), 1u);

  // The key now points at a resolved incident: a new one gets a new number.
  auto c = open("availability:h1x", IncidentKind::availability, 1, kT0 + 30);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->id, "INC-3");
}

TYPED_TEST(IncidentConformance, RacingWritersOpenOneIncident) {
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      auto s = backends::open_stores(this->backend.url());
      ASSERT_TRUE(s);
      for (int i = 0; i < 10; ++i) {
        auto r = s->incidents->update_incident_by_key("k", [&](const std::optional<Incident>& old) -> std::optional<Incident> {
          if (old) {
            Incident n = *old;
            n.timeline.push_back({kT0, "t", "comment", "seen"});
            return n;
          }
          Incident n;
          n.key = "k";
          n.opened_ms = kT0;
          return n;
        });
        ASSERT_TRUE(r) << r.error().describe();
        if ((*r)->timeline.empty()) ++opened;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 1);
  auto all = this->stores.incidents->list_incidents({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().timeline.size(), 39u) << "no update lost";
}

// A change that throws in the middle of a write (as bad_alloc or a value
// that fails to parse would) changes nothing and leaves the store writable:
// on SQLite the one writer connection is not left inside BEGIN; on Redis the
// pool (8 connections) gets every connection back, so the eleventh call runs.
TYPED_TEST(IncidentConformance, AChangeThatThrowsLeavesTheStoreWritable) {
  store::IncidentStore& st = *this->stores.incidents;
  auto open = [&](const std::string& key, std::int64_t at) {
    return st.update_incident_by_key(key, [&](const std::optional<Incident>&) -> std::optional<Incident> {
      Incident i;
      i.key = key;
      i.opened_ms = at;
      return i;
    });
  };
  ASSERT_TRUE(open("k", kT0));
  for (int i = 0; i < 10; ++i)
    EXPECT_THROW((void)st.update_incident_by_key("k",
                                                 [](const std::optional<Incident>&) -> std::optional<Incident> {
                                                   throw std::runtime_error("injected");
                                                 }),
                 std::runtime_error);
  auto next = open("k2", kT0 + 1);
  ASSERT_TRUE(next) << next.error().describe();
  auto all = st.list_incidents({});
  ASSERT_TRUE(all) << all.error().describe();
  EXPECT_EQ(all->size(), 2u);
}

TYPED_TEST(IncidentConformance, DeliveriesAndFrozenReports) {
  store::IncidentStore& st = *this->stores.incidents;
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(st.record_delivery({kT0 + i, "ops", "m1", {"INC-1", "INC-2"}, i, i == 3 ? 200 : 500,
                                    i == 3 ? "" : "HTTP 500", i == 3}));
  auto d = st.list_deliveries(2);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0], (store::Delivery{kT0 + 3, "ops", "m1", {"INC-1", "INC-2"}, 3, 200, "", true}));
  EXPECT_EQ((*d)[1].attempt, 2);

  store::SlaReportStore& r = *this->stores.sla_reports;
  store::SlaReportVersion v{"shop", "2026-10", 1, kT0, "surveyor", "period closed", R"({"a":1})"};
  auto first = r.add_sla_report(v);
  ASSERT_TRUE(first);
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*r.add_sla_report(v)) << "version 1 is taken";
  v.version = 3;
  EXPECT_FALSE(*r.add_sla_report(v)) << "versions follow each other";
  v.version = 2;
  v.by = "alice";
  v.reason = "target corrected";
  EXPECT_TRUE(*r.add_sla_report(v));
  auto versions = r.sla_reports("shop", "2026-10");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].by, "surveyor");
  EXPECT_EQ((*versions)[1], v);
  EXPECT_TRUE(r.sla_reports("shop", "2026-09")->empty());
}

TYPED_TEST(IncidentConformance, ChangingAnOlderIncidentKeepsTheKeyOnTheNewest) {
  store::IncidentStore& st = *this->stores.incidents;
  auto make = [&](std::int64_t at) {
    return st.update_incident_by_key("k", [&](const std::optional<Incident>& old) -> std::optional<Incident> {
      if (old && store::is_active(old->state)) return std::nullopt;
      Incident i;
      i.key = "k";
      i.opened_ms = at;
      return i;
    });
  };
  auto first = make(kT0);
  ASSERT_TRUE(first && *first);
  ASSERT_TRUE(st.update_incident((*first)->id, [](const std::optional<Incident>& i) {
    Incident n = *i;
    n.state = IncidentState::resolved;
    return std::optional<Incident>{n};
  }));
  auto second = make(kT0 + 1);
  ASSERT_TRUE(second && *second);
  // A person closes the older one: the key still leads to the newer.
  ASSERT_TRUE(st.update_incident((*first)->id, [](const std::optional<Incident>& i) {
    Incident n = *i;
    n.state = IncidentState::closed;
    return std::optional<Incident>{n};
  }));
  auto newest = st.update_incident_by_key("k", [](const std::optional<Incident>& i) { return i; });
  ASSERT_TRUE(newest && *newest);
  EXPECT_EQ((*newest)->id, (*second)->id);
}

}  // namespace
}  // namespace surveyor::collector
