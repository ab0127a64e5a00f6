// SPDX-License-Identifier: Apache-2.0
// Host availability on simulated time: up while heartbeats arrive, down
// from last heartbeat + 2 x interval, maintenance inside a change window,
// unknown while the collector was not evaluating.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "evaluation/scene.hpp"
#include "store/fixture.hpp"
#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/jobs/housekeeper.hpp"
#include "surveyor/collector/sla/sla.hpp"
#include "surveyor/core/clock.hpp"

namespace surveyor::collector {
namespace {

using store::Availability;
using store::StateInterval;
constexpr std::int64_t kS = 1000, kMin = 60 * kS;

TEST(Availability, DownTwoHeartbeatsAfterTheLast) {
  const availability::Heartbeat h{0, 100 * kS, 10 * kS};
  EXPECT_EQ(availability::host_states("h", h, 90 * kS, 110 * kS),
            (std::vector<StateInterval>{{"h", 90 * kS, 110 * kS, Availability::up}}));
  EXPECT_EQ(availability::host_states("h", h, 110 * kS, 130 * kS),
            (std::vector<StateInterval>{{"h", 110 * kS, 120 * kS, Availability::up},
                                        {"h", 120 * kS, 130 * kS, Availability::down}}));
  EXPECT_EQ(availability::host_states("h", h, 130 * kS, 140 * kS),
            (std::vector<StateInterval>{{"h", 130 * kS, 140 * kS, Availability::down}}));
  // Nothing before the host was first seen.
  EXPECT_TRUE(availability::host_states("h", {200 * kS, 200 * kS, 10 * kS}, 100 * kS, 150 * kS).empty());
}

TEST(Availability, TotalsLeaveMaintenanceOutAndCountGapsAsUnknown) {
  const std::vector<StateInterval> t{{"h", 0, 50, Availability::up},       {"h", 50, 60, Availability::down},
                                     {"h", 60, 80, Availability::maintenance}, {"h", 80, 90, Availability::up}};
  const auto all = availability::totals(t, 0, 100);
  EXPECT_EQ(all.up_ms, 60);
  EXPECT_EQ(all.down_ms, 10);
  EXPECT_EQ(all.maintenance_ms, 20);
  EXPECT_EQ(all.unknown_ms, 10);  // 90..100 is not covered
  ASSERT_TRUE(all.availability());
  EXPECT_DOUBLE_EQ(*all.availability(), 100.0 * 60 / 70);
  EXPECT_FALSE(availability::totals(t, 60, 80).availability()) << "only maintenance: nothing counts";
}

TEST(Availability, EvaluationOverAScriptedHour) {
  test::TempDir dir;
  auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(s) << s.error().describe();
  const std::int64_t t0 = 1'795'000'000'000;
  auto report = [&](std::int64_t at) {
    store::CiUpdate u;
    u.id = "host-1";
    u.type = "host";
    u.source = "agent";
    u.attributes = {{"agent.heartbeat_interval_s", std::int64_t{10}}};
    u.seen_at_ms = at;
    ASSERT_TRUE(s->cmdb->upsert_ci(u));
  };
  auto step = [&](std::int64_t at) {
    auto r = availability::evaluate(*s, at, 60 * kS);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? *r : availability::Report{};
  };
  report(t0);
  step(t0);  // the first evaluation only starts the pulse
  // Ten minutes of heartbeats every 10 s, evaluated every 10 s.
  std::int64_t t = t0;
  for (; t < t0 + 10 * kMin; t += 10 * kS) {
    report(t);
    step(t);
  }
  report(t);  // the last heartbeat at t0 + 10 min, then silence for 5 minutes
  for (; t <= t0 + 15 * kMin; t += 10 * kS) step(t);
  // The collector stops for 10 minutes: unknown, not down.
  const auto gap = step(t0 + 25 * kMin);
  EXPECT_TRUE(gap.gap);
  // An approved change window over the next 5 minutes: maintenance.
  store::ChangeRecord c;
  c.reference = "CHG1";
  c.ci_ids = {"host-1"};
  c.start_ms = t0 + 25 * kMin;
  c.end_ms = t0 + 30 * kMin;
  ASSERT_TRUE(s->changes->create_change(c));
  for (t = t0 + 25 * kMin + 10 * kS; t <= t0 + 30 * kMin - 10 * kS; t += 10 * kS) step(t);

  auto timeline = s->timelines->read_timeline("host-1", t0, t0 + 60 * kMin);
  ASSERT_TRUE(timeline);
  const auto tot = availability::totals(*timeline, t0, t0 + 30 * kMin - 10 * kS);
  // Up from t0 to the last heartbeat + 20 s, down until the collector
  // stopped, unknown while it was stopped, maintenance after.
  EXPECT_EQ(tot.up_ms, 10 * kMin + 20 * kS);
  EXPECT_EQ(tot.down_ms, 5 * kMin - 20 * kS);
  EXPECT_EQ(tot.unknown_ms, 10 * kMin);
  EXPECT_EQ(tot.maintenance_ms, 5 * kMin - 10 * kS);
  ASSERT_TRUE(tot.availability());
  EXPECT_NEAR(*tot.availability(), 100.0 * (620.0 / 900.0), 1e-9);
  ASSERT_GE(timeline->size(), 4u);
  EXPECT_EQ((*timeline)[0], (StateInterval{"host-1", t0, t0 + 10 * kMin + 20 * kS, Availability::up}));
  EXPECT_EQ((*timeline)[1].state, Availability::down);
  EXPECT_EQ((*timeline)[2], (StateInterval{"host-1", t0 + 15 * kMin, t0 + 25 * kMin, Availability::unknown}));
  EXPECT_EQ((*timeline)[3].state, Availability::maintenance);
}

TEST(Availability, ServicesFollowTheirRedundancy) {
  auto svc = [](std::vector<services::Group> groups) {
    services::Service s;
    s.name = "shop";
    s.groups = std::move(groups);
    return s;
  };
  using K = services::Redundancy::Kind;
  const auto web = svc({{"web", {"a", "b", "c"}, {K::at_least, 2}}});
  auto states = [](std::map<std::string, Availability> m) {
    return [m](const std::string& id) { return m.count(id) ? m.at(id) : Availability::up; };
  };
  EXPECT_EQ(availability::judge_service(web, states({})), Availability::up);
  EXPECT_EQ(availability::judge_service(web, states({{"a", Availability::down}})), Availability::degraded);
  EXPECT_EQ(availability::judge_service(web, states({{"a", Availability::down}, {"b", Availability::down}})),
            Availability::down);
  EXPECT_EQ(availability::judge_service(web, states({{"a", Availability::maintenance}, {"b", Availability::maintenance}})),
            Availability::maintenance);
  EXPECT_EQ(availability::judge_service(web, states({{"a", Availability::unknown}, {"b", Availability::maintenance}})),
            Availability::unknown);
  const auto two = svc({{"web", {"a"}, {K::all}}, {"db", {"d"}, {K::all}}});
  EXPECT_EQ(availability::judge_service(two, states({{"a", Availability::maintenance}, {"d", Availability::down}})),
            Availability::down)
      << "the worst group";
}

TEST(Availability, AServiceTimelineFromItsHosts) {
  fixtures::Scene scene("name = \"shop\"\nowner = \"o\"\n[[group]]\nmembers = [\"web1\", \"web2\"]\n"
                        "redundancy = \"any\"\n");
  store::Stores* s = &scene.stores;
  services::Catalog& catalog = *scene.catalog;
  const std::int64_t t0 = 1'795'000'000'000;
  auto seen = [&](const char* id, std::int64_t at) { ASSERT_TRUE(s->cmdb->upsert_ci(fixtures::heartbeat(id, at))); };
  seen("web1", t0);
  seen("web2", t0);
  ASSERT_TRUE(availability::evaluate(*s, t0, 60 * kS, &catalog));
  // web2 stops at t0; web1 reports on.
  for (std::int64_t t = t0 + 10 * kS; t <= t0 + 2 * kMin; t += 10 * kS) {
    seen("web1", t);
    auto r = availability::evaluate(*s, t, 60 * kS, &catalog);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(r->services, 1u);
  }
  auto tl = s->timelines->read_timeline("service:shop", t0, t0 + 2 * kMin);
  ASSERT_TRUE(tl);
  ASSERT_EQ(tl->size(), 2u);
  // web2 is down from its last heartbeat + 20 s: the step after that is degraded.
  EXPECT_EQ((*tl)[0], (StateInterval{"service:shop", t0, t0 + 20 * kS, Availability::up}));
  EXPECT_EQ((*tl)[1], (StateInterval{"service:shop", t0 + 20 * kS, t0 + 2 * kMin, Availability::degraded}));
  const auto tot = availability::totals(*tl, t0, t0 + 2 * kMin);
  EXPECT_EQ(tot.degraded_ms, 100 * kS);
  ASSERT_TRUE(tot.availability());
  EXPECT_DOUBLE_EQ(*tot.availability(), 100.0);
}

TEST(Availability, TwoCollectorsOnOneRedisEvaluateOnce) {
  store::RedisBackend backend;  // one key prefix, two collectors' connections
  auto first = backends::open_stores(backend.url());
  auto second = backends::open_stores(backend.url());
  ASSERT_TRUE(first && second);
  core::ManualClock clock{core::from_unix_ms(1'795'000'000'000)};
  metrics::Registry r1, r2;
  jobs::HousekeepingOptions o;
  o.rules.clear();
  o.holder = "one";
  jobs::Housekeeper one(*first, clock, r1, o);
  o.holder = "two";
  jobs::Housekeeper two(*second, clock, r2, o);
  for (int step = 0; step < 5; ++step) {
    auto a = one.run_availability();
    auto b = two.run_availability();
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(a->has_value()) << "the first holds the lease";
    EXPECT_FALSE(b->has_value()) << "the second stands by";
    clock.advance(std::chrono::milliseconds(10 * kS));
  }
  // The first stops: after its lease lapses the second takes over.
  clock.advance(std::chrono::milliseconds(40 * kS));
  auto b = two.run_availability();
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->has_value());
}

}  // namespace
}  // namespace surveyor::collector
