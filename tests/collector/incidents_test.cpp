// SPDX-License-Identifier: Apache-2.0
// Incidents: the store on both backends (atomic dedup, numbering, filters,
// delivery log, frozen SLA reports), the lifecycle on simulated time (open,
// relapse, hold-down, re-open window, people's actions), priority, topology
// suppression and grouping, KPIs, and webhooks to a real HTTP receiver.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <sqlite3.h>
#include <mutex>
#include <thread>

#include "backend_fixture.hpp"
#include "surveyor/collector/incidents/incidents.hpp"
#include "surveyor/collector/incidents/signals.hpp"
#include "surveyor/collector/jobs/housekeeper.hpp"
#include "surveyor/collector/notify/webhooks.hpp"
#include "surveyor/collector/server/router.hpp"
#include "surveyor/collector/server/server.hpp"
#include "surveyor/collector/sla/sla.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/crypto.hpp"

namespace surveyor::collector {
namespace {

namespace json = boost::json;
using incidents::Signal;
using store::Incident;
using store::IncidentKind;
using store::IncidentState;
constexpr std::int64_t kS = 1000, kMin = 60 * kS;
constexpr std::int64_t kT0 = 1'795'000'000'000;

// What an agent's report says of its host "host-NAME": seen at `at`.
store::CiUpdate heartbeat(const std::string& name, std::int64_t at, std::int64_t interval_s = 10) {
  store::CiUpdate u;
  u.id = "host-" + name;
  u.type = "host";
  u.name = name;
  u.source = "agent";
  u.attributes = {{"agent.heartbeat_interval_s", interval_s}};
  u.seen_at_ms = at;
  return u;
}

Signal down(const std::string& subject, int impact = 2, int urgency = 2, std::string cause = {}) {
  Signal s;
  s.subject = subject;
  s.rule = "heartbeat";
  s.summary = subject + " is down";
  s.impact = impact;
  s.urgency = urgency;
  s.cause = std::move(cause);
  return s;
}

Signal up(const std::string& subject) {
  Signal s = down(subject);
  s.firing = false;
  return s;
}

template <class B>
class IncidentConformance : public store::OnBackend<B> {};
TYPED_TEST_SUITE(IncidentConformance, store::Backends, store::BackendNames);

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

class IncidentLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
    ASSERT_TRUE(s);
    stores = *s;
  }
  std::vector<incidents::Notice> apply(std::vector<Signal> signals, std::int64_t at) {
    auto n = incidents::apply(*stores.incidents, std::move(signals), at, options);
    EXPECT_TRUE(n) << n.error().describe();
    auto r = incidents::resolve_recovered(*stores.incidents, at, options);
    EXPECT_TRUE(r) << r.error().describe();
    if (!n || !r) return {};
    n->insert(n->end(), r->begin(), r->end());
    return *n;
  }
  Incident get(const std::string& id) {
    auto i = stores.incidents->find_incident(id);
    EXPECT_TRUE(i && *i);
    return i && *i ? **i : Incident{};
  }
  test::TempDir dir;
  store::Stores stores;
  incidents::Options options;  // hold-down 5 min, re-open window 1 h
};

std::vector<std::string> actions(const Incident& i) {
  std::vector<std::string> out;
  for (const auto& e : i.timeline) out.push_back(e.action);
  return out;
}

TEST_F(IncidentLifecycle, OpensHoldsDownResolvesAndReopens) {
  auto n = apply({down("h1", 2, 2)}, kT0);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].event, "opened");
  EXPECT_EQ(n[0].incident.priority, 3) << "medium impact x medium urgency";
  EXPECT_EQ(n[0].incident.key, "availability:h1:heartbeat");
  const std::string id = n[0].incident.id;
  EXPECT_TRUE(apply({down("h1", 2, 2)}, kT0 + 10 * kS).empty()) << "the same condition: no news";

  // Clear for 2 minutes, then back: a relapse inside the hold-down carries on.
  EXPECT_TRUE(apply({up("h1")}, kT0 + kMin).empty());
  EXPECT_EQ(get(id).recovered_ms, kT0 + kMin);
  EXPECT_TRUE(apply({up("h1")}, kT0 + 3 * kMin).empty());
  EXPECT_TRUE(apply({down("h1", 2, 2)}, kT0 + 3 * kMin + 10 * kS).empty());
  EXPECT_EQ(get(id).recovered_ms, 0);
  // Clear again: resolved exactly once the hold-down has passed.
  EXPECT_TRUE(apply({up("h1")}, kT0 + 4 * kMin).empty());
  EXPECT_TRUE(apply({up("h1")}, kT0 + 9 * kMin - 1).empty());
  n = apply({up("h1")}, kT0 + 9 * kMin);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].event, "resolved");
  EXPECT_EQ(n[0].incident.state, IncidentState::resolved);
  EXPECT_EQ(n[0].incident.resolved_ms, kT0 + 9 * kMin);

  // Back within the re-open window: the same incident.
  n = apply({down("h1", 1, 1)}, kT0 + 30 * kMin);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].event, "reopened");
  EXPECT_EQ(n[0].incident.id, id);
  EXPECT_EQ(n[0].incident.reopened, 1);
  EXPECT_EQ(n[0].incident.priority, 1);
  EXPECT_EQ(actions(n[0].incident), (std::vector<std::string>{"opened", "recovered", "relapsed", "recovered",
                                                               "resolved", "reopened"}));
  // Resolved again, and back after the window: a new incident.
  apply({up("h1")}, kT0 + 31 * kMin);
  apply({up("h1")}, kT0 + 36 * kMin);
  ASSERT_EQ(get(id).state, IncidentState::resolved);
  n = apply({down("h1")}, kT0 + 36 * kMin + 61 * kMin);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].event, "opened");
  EXPECT_NE(n[0].incident.id, id);
}

TEST_F(IncidentLifecycle, PriorityFollowsTheMatrixAndEscalates) {
  incidents::Matrix m;
  EXPECT_EQ(m.priority(1, 1), 1);
  EXPECT_EQ(m.priority(1, 3), 3);
  EXPECT_EQ(m.priority(3, 1), 3);
  EXPECT_EQ(m.priority(3, 3), 5);
  auto custom = incidents::Matrix::parse({"1 1 2", "2 3 4", "3 4 5"});
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom->priority(1, 2), 1);
  for (const auto& bad : std::vector<std::vector<std::string>>{{"1 2 3", "2 3 4"}, {"1 2", "2 3 4", "3 4 5"},
                                                               {"1 2 3", "2 3 9", "3 4 5"}, {"1 2 3 4", "2 3 4", "3 4 5"}})
    EXPECT_FALSE(incidents::Matrix::parse(bad));
  options.matrix = *custom;
  auto n = apply({down("h1", 3, 3)}, kT0);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].incident.priority, 5);
  n = apply({down("h1", 1, 2)}, kT0 + 10 * kS);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].event, "escalated");
  EXPECT_EQ(n[0].incident.priority, 1);
  EXPECT_EQ(n[0].incident.timeline.back().text, "P5 -> P1");
}

TEST_F(IncidentLifecycle, PeopleActAndEveryStepIsOnTheTimeline) {
  const std::string id = apply({down("h1")}, kT0)[0].incident.id;
  auto refused = incidents::act(*stores.incidents, id, "close", "alice", "", kT0 + 1);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, store::StoreErrc::conflict);
  EXPECT_FALSE(incidents::act(*stores.incidents, id, "delete", "alice", "", kT0 + 1));
  EXPECT_FALSE(incidents::act(*stores.incidents, id, "comment", "alice", "", kT0 + 1)) << "a comment needs text";
  EXPECT_FALSE(incidents::act(*stores.incidents, id, "acknowledge", "", "", kT0 + 1)) << "who acts is required";
  ASSERT_TRUE(incidents::act(*stores.incidents, id, "acknowledge", "alice", "looking", kT0 + kMin));
  EXPECT_FALSE(incidents::act(*stores.incidents, id, "acknowledge", "bob", "", kT0 + kMin));
  ASSERT_TRUE(incidents::act(*stores.incidents, id, "comment", "bob", "PSU replaced", kT0 + 2 * kMin));
  ASSERT_TRUE(incidents::act(*stores.incidents, id, "resolve", "alice", "fixed", kT0 + 3 * kMin));
  auto closed = incidents::act(*stores.incidents, id, "close", "carol", "", kT0 + 4 * kMin);
  ASSERT_TRUE(closed) << closed.error().describe();
  EXPECT_EQ(closed->state, IncidentState::closed);
  EXPECT_EQ(closed->acknowledged_ms, kT0 + kMin);
  EXPECT_EQ(closed->closed_ms, kT0 + 4 * kMin);
  ASSERT_EQ(closed->timeline.size(), 5u);
  EXPECT_EQ(closed->timeline[1], (store::IncidentEvent{kT0 + kMin, "alice", "acknowledged", "looking"}));
  EXPECT_EQ(closed->timeline[2], (store::IncidentEvent{kT0 + 2 * kMin, "bob", "comment", "PSU replaced"}));
  EXPECT_EQ(closed->timeline[4].by, "carol");
  // A closed incident is final: the condition returning opens a new one.
  auto n = apply({down("h1")}, kT0 + 5 * kMin);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].event, "opened");
  EXPECT_NE(n[0].incident.id, id);
}

TEST_F(IncidentLifecycle, UnauthorisedChangesWaitForAPerson) {
  Signal s;
  s.kind = IncidentKind::unauthorised_change;
  s.subject = "h1";
  s.rule = "unapproved";
  s.auto_resolve = false;
  s.observed_ms = kT0;
  const std::string id = apply({s}, kT0)[0].incident.id;
  Signal clear = s;
  clear.firing = false;
  EXPECT_TRUE(apply({clear}, kT0 + kMin).empty());
  EXPECT_TRUE(apply({}, kT0 + 60 * kMin).empty());
  EXPECT_EQ(get(id).state, IncidentState::open) << "never resolved by the evaluation";
  ASSERT_TRUE(incidents::act(*stores.incidents, id, "resolve", "alice", "approved afterwards", kT0 + 61 * kMin));
  // Evidence from before the resolution does not re-open it; newer evidence does.
  EXPECT_TRUE(apply({s}, kT0 + 62 * kMin).empty());
  s.observed_ms = kT0 + 62 * kMin;
  auto n = apply({s}, kT0 + 62 * kMin);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].event, "reopened");
}

TEST_F(IncidentLifecycle, FailuresBecauseOfADownCiAreLinkedAndSentAsOneMessage) {
  const std::string host_key = down("db1").key();
  Signal svc = down("service:shop", 1, 1, host_key);
  svc.rule = "service";
  Signal app = down("app1", 2, 2, host_key);
  // The children come first on purpose: the parent is still opened first.
  auto n = apply({svc, app, down("db1", 1, 1)}, kT0);
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n[0].incident.subject, "db1");
  const std::string parent = n[0].incident.id;
  EXPECT_EQ(n[1].incident.parent, parent);
  EXPECT_EQ(n[2].incident.parent, parent);
  auto messages = notify::group(n);
  ASSERT_EQ(messages.size(), 1u) << "one message for the outage";
  EXPECT_EQ(messages[0].notices.size(), 3u);
  EXPECT_EQ(messages[0].notices[0].incident.id, parent);
  const json::value body = json::parse(notify::render(messages[0], kT0));
  EXPECT_EQ(body.at("incident").at("id").as_string(), parent);
  EXPECT_EQ(body.at("linked").as_array().size(), 2u);
  EXPECT_EQ(body.at("event").as_string(), "opened");

  // db1 recovers, the service stays down: unlinked, now news of its own.
  n = apply({up("db1"), svc, app}, kT0 + kMin);
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n[0].event, "unlinked");
  EXPECT_TRUE(n[0].incident.parent.empty());
  EXPECT_EQ(notify::group(n).size(), 2u);
  // A linked incident whose parent has no news this step is not sent alone.
  Incident child;
  child.id = "INC-9";
  child.parent = "INC-1";
  EXPECT_TRUE(notify::group({{"opened", child}}).empty());
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

TEST_F(IncidentLifecycle, OnlyTheNewestIncidentOfAConditionIsReopened) {
  const std::string first = apply({down("h1")}, kT0)[0].incident.id;
  apply({up("h1")}, kT0 + kMin);
  apply({up("h1")}, kT0 + 7 * kMin);  // resolved
  const std::string second = apply({down("h1")}, kT0 + 2 * 3'600'000)[0].incident.id;
  ASSERT_NE(first, second);
  auto refused = incidents::act(*stores.incidents, first, "reopen", "alice", "", kT0 + 3 * 3'600'000);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, store::StoreErrc::conflict);
}

TEST_F(IncidentLifecycle, AFlappingConditionKeepsABoundedTimeline) {
  options.hold_down_ms = 3'600'000;  // never resolves while it flaps
  const std::string id = apply({down("h1")}, kT0)[0].incident.id;
  for (int i = 1; i <= 400; ++i) {
    apply({up("h1")}, kT0 + i * 20 * kS);
    apply({down("h1")}, kT0 + i * 20 * kS + 10 * kS);
  }
  const Incident i = get(id);
  EXPECT_LE(i.timeline.size(), 500u);
  EXPECT_EQ(i.timeline[0].action, "opened");
  ASSERT_EQ(i.timeline[1].action, "elided");
  EXPECT_EQ(std::stoul(i.timeline[1].text) + i.timeline.size() - 2, 800u) << "every entry after the first counted";
  EXPECT_EQ(i.timeline.back().action, "relapsed");
}

TEST(IncidentKpis, RestoreTimeRunsFromTheLatestOpening) {
  const std::int64_t h = 3'600'000;
  Incident i;
  i.kind = IncidentKind::availability;
  i.subject = "h1";
  i.opened_ms = 1 * h;
  i.timeline = {{1 * h, "surveyor", "opened", ""}, {2 * h, "surveyor", "resolved", ""},
                {10 * h, "surveyor", "reopened", ""}};
  i.recovered_ms = 11 * h;
  i.resolved_ms = 11 * h + 5 * kMin;
  const auto k = incidents::kpis({i}, 0, 24 * h, {{"h1", 20 * h}});
  ASSERT_TRUE(k.mttr_ms);
  EXPECT_EQ(*k.mttr_ms, 1 * h) << "the quiet hours before the re-opening are not repair time";
}

TEST(IncidentKpis, MeanTimeToRestoreAndBetweenFailures) {
  auto inc = [](IncidentKind k, const std::string& subject, int priority, std::int64_t opened, std::int64_t recovered,
                std::int64_t resolved) {
    Incident i;
    i.kind = k;
    i.subject = subject;
    i.priority = priority;
    i.opened_ms = opened;
    i.recovered_ms = recovered;
    i.resolved_ms = resolved;
    return i;
  };
  const std::int64_t h = 3'600'000;
  const std::vector<Incident> list{
      inc(IncidentKind::availability, "h1", 2, 10 * h, 11 * h, 11 * h + 5 * kMin),   // restored in 1 h
      inc(IncidentKind::availability, "h1", 2, 100 * h, 103 * h, 103 * h + 5 * kMin),  // 3 h
      inc(IncidentKind::availability, "h2", 3, 200 * h, 0, 0),                         // still open
      inc(IncidentKind::capacity, "h1", 4, 50 * h, 0, 52 * h),                         // resolved by a person: 2 h
      inc(IncidentKind::capacity, "h1", 4, -5 * h, 0, 1 * h)};                          // opened before the period
  const auto k = incidents::kpis(list, 0, 720 * h, {{"h1", 716 * h}, {"h2", 700 * h}});
  EXPECT_EQ(k.opened, 4u);
  EXPECT_EQ(k.resolved, 4u);
  EXPECT_EQ(k.by_kind.at("availability"), 3u);
  EXPECT_EQ(k.by_kind.at("capacity"), 1u);
  EXPECT_EQ(k.by_priority.at(2), 2u);
  ASSERT_TRUE(k.mttr_ms);
  EXPECT_EQ(*k.mttr_ms, (1 * h + 3 * h + 2 * h + 6 * h) / 4);
  ASSERT_TRUE(k.mtbf_ms);
  EXPECT_EQ(k.failures, 3u);
  EXPECT_EQ(*k.mtbf_ms, (716 * h + 700 * h) / 3);
}

// A webhook receiver on a loopback port: answers with the statuses given, in
// turn, then 200; keeps what it got.
class Receiver {
 public:
  explicit Receiver(std::vector<unsigned> statuses = {}) : statuses_(std::move(statuses)) {
    auto router = std::make_shared<server::Router>();
    router->add("POST", "/hook", "hook", [this](const http::Request& r, const server::Params&) {
      std::lock_guard lock(mu_);
      got_.push_back(r);
      http::Response res;
      res.status = got_.size() <= statuses_.size() ? statuses_[got_.size() - 1] : 200;
      return res;
    });
    server::ServerOptions o;
    o.port = 0;
    o.io_threads = 1;
    o.worker_threads = 1;
    server_ = std::make_unique<server::Server>(o, router);
    EXPECT_TRUE(server_->start());
  }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook"; }
  std::vector<http::Request> got() {
    std::lock_guard lock(mu_);
    return got_;
  }

 private:
  std::vector<unsigned> statuses_;
  std::mutex mu_;
  std::vector<http::Request> got_;
  std::unique_ptr<server::Server> server_;
};

TEST(Webhooks, SignedRetriedWithBackoffAndLogged) {
  test::TempDir dir;
  auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(s);
  Receiver rx({503, 500});
  core::SystemClock clock;
  notify::Webhook hook{"ops", rx.url(), "s3cret", 3, {}, 5, std::chrono::milliseconds(5000)};
  notify::Notifier n({hook}, s->incidents, clock, {std::chrono::milliseconds(20), std::chrono::milliseconds(1000)});
  Incident i;
  i.id = "INC-7";
  i.priority = 2;
  i.summary = "host web01 is down";
  Incident low = i;
  low.id = "INC-8";
  low.priority = 4;  // above the hook's max_priority: not sent
  n.send({{"opened", i}, {"opened", low}});
  ASSERT_TRUE(n.wait_idle(std::chrono::seconds(10)));
  const auto got = rx.got();
  ASSERT_EQ(got.size(), 3u) << "two failures, then delivered";
  for (const http::Request& r : got) EXPECT_EQ(r.body, got[0].body) << "the same message each time";
  for (const http::Request& r : got) {  // each attempt signed with its own time
    const std::string ts(r.header("X-Surveyor-Timestamp"));
    EXPECT_EQ(r.header("X-Surveyor-Signature"), "sha256=" + core::hmac_sha256_hex("s3cret", ts + "." + r.body));
  }
  EXPECT_EQ(got[0].header("X-Surveyor-Event"), "opened");
  const json::value body = json::parse(got[0].body);
  EXPECT_EQ(body.at("incident").at("id").as_string(), "INC-7");
  EXPECT_EQ(body.at("summary").as_string(), "INC-7 opened (P2): host web01 is down");
  auto log = s->incidents->list_deliveries(10);
  ASSERT_TRUE(log);
  ASSERT_EQ(log->size(), 3u);
  EXPECT_TRUE((*log)[0].delivered);
  EXPECT_EQ((*log)[0].attempt, 3);
  EXPECT_EQ((*log)[1].status, 500);
  EXPECT_EQ((*log)[2].status, 503);
  EXPECT_EQ((*log)[2].incidents, (std::vector<std::string>{"INC-7"}));
  EXPECT_GE((*log)[1].time_ms - (*log)[2].time_ms, 20) << "backed off";
  EXPECT_GE((*log)[0].time_ms - (*log)[1].time_ms, 40) << "doubled";
}

TEST(Webhooks, GivesUpAfterMaxAttemptsAndOnRefusal) {
  test::TempDir dir;
  auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(s);
  Receiver rx({500, 500, 500, 404});
  core::SystemClock clock;
  notify::Notifier n({{"a", rx.url(), "k", 5, {}, 3, std::chrono::milliseconds(5000)}}, s->incidents, clock,
                     {std::chrono::milliseconds(5), std::chrono::milliseconds(10)});
  Incident i;
  i.id = "INC-1";
  n.send({{"opened", i}});
  ASSERT_TRUE(n.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(rx.got().size(), 3u);
  n.send({{"resolved", i}});  // 4th request: 404, not retried
  ASSERT_TRUE(n.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(rx.got().size(), 4u);
  auto log = s->incidents->list_deliveries(10);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->size(), 4u);
  EXPECT_FALSE((*log)[0].delivered);
  EXPECT_EQ((*log)[0].status, 404);
}

// A collector's evaluation on simulated time: a SQLite store, one service
// file, and the notices it would send.
struct Evaluation {
  explicit Evaluation(const std::string& service_toml, std::int64_t start_ms = kT0,
                      jobs::HousekeepingOptions o = {}) {
    auto opened = backends::open_stores("sqlite:" + dir.file("s.db"));
    EXPECT_TRUE(opened);
    if (opened) stores = *opened;
    std::ofstream(defs.file("shop.toml")) << service_toml;
    catalog = std::make_shared<services::Catalog>(defs.path());
    EXPECT_TRUE(catalog->refresh().errors.empty());
    clock.set(core::from_unix_ms(start_ms));
    o.catalog = catalog;
    o.notify = [this](const std::vector<incidents::Notice>& n) { sent.insert(sent.end(), n.begin(), n.end()); };
    hk = std::make_unique<jobs::Housekeeper>(stores, clock, registry, o);
  }
  [[nodiscard]] std::int64_t now() const { return core::to_unix_ms(clock.now()); }

  test::TempDir dir, defs;
  store::Stores stores;
  std::shared_ptr<services::Catalog> catalog;
  core::ManualClock clock{core::from_unix_ms(0)};
  metrics::Registry registry;
  std::vector<incidents::Notice> sent;
  std::unique_ptr<jobs::Housekeeper> hk;
};

// The evaluation on simulated time: a host stops, its incident opens with the
// priority its services give it, the service's incident is linked to it; the
// host returns and both resolve after the hold-down.
TEST(IncidentEvaluation, HostOutageOpensLinksAndResolves) {
  Evaluation e("name = \"shop\"\nowner = \"o\"\ncriticality = \"critical\"\nsla_target = 99.9\n"
               "[[group]]\nmembers = [\"db1\"]\n");
  auto* s = &e.stores;
  auto& sent = e.sent;
  auto seen = [&](const char* name) { ASSERT_TRUE(s->cmdb->upsert_ci(heartbeat(name, e.now()))); };
  auto step = [&] {
    auto r = e.hk->run_availability();
    ASSERT_TRUE(r) << r.error().describe();
    e.clock.advance(std::chrono::seconds(10));
  };
  seen("db1");
  seen("web1");
  step();
  for (int i = 0; i < 6; ++i) {  // a minute of heartbeats from both
    seen("db1");
    seen("web1");
    step();
  }
  EXPECT_TRUE(sent.empty());
  // db1 stops; web1 reports on. Down 20 s after its last heartbeat.
  for (int i = 0; i < 6; ++i) {
    seen("web1");
    step();
  }
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].incident.subject, "host-db1");
  EXPECT_EQ(sent[0].incident.impact, 1) << "a critical service goes down with it";
  EXPECT_EQ(sent[0].incident.urgency, 1) << "that service has an SLA";
  EXPECT_EQ(sent[0].incident.priority, 1);
  EXPECT_EQ(sent[1].incident.subject, "service:shop");
  EXPECT_EQ(sent[1].incident.parent, sent[0].incident.id);
  EXPECT_EQ(notify::group(sent).size(), 1u);
  // db1 is back: both recover, and resolve after the 5-minute hold-down.
  sent.clear();
  for (int i = 0; i < 31; ++i) {
    seen("db1");
    seen("web1");
    step();
  }
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].event, "resolved");
  EXPECT_EQ(sent[1].event, "resolved");
  store::IncidentFilter f;
  f.states = {IncidentState::open, IncidentState::acknowledged};
  EXPECT_TRUE(s->incidents->list_incidents(f)->empty());
}

// Two collectors on one Redis: one evaluates (the lease), so an outage is one
// incident and one notification; when that collector stops, the other takes
// over and resolves the same incident.
TEST(IncidentEvaluation, TwoCollectorsOnOneRedisNeverDuplicate) {
  store::RedisBackend backend;
  auto first = backends::open_stores(backend.url());
  auto second = backends::open_stores(backend.url());
  ASSERT_TRUE(first && second);
  core::ManualClock clock{core::from_unix_ms(kT0)};
  metrics::Registry r1, r2;
  std::vector<incidents::Notice> sent1, sent2;
  jobs::HousekeepingOptions o;
  o.holder = "one";
  o.notify = [&](const std::vector<incidents::Notice>& n) { sent1.insert(sent1.end(), n.begin(), n.end()); };
  jobs::Housekeeper one(*first, clock, r1, o);
  o.holder = "two";
  o.notify = [&](const std::vector<incidents::Notice>& n) { sent2.insert(sent2.end(), n.begin(), n.end()); };
  jobs::Housekeeper two(*second, clock, r2, o);
  auto seen = [&] { ASSERT_TRUE(first->cmdb->upsert_ci(heartbeat("h1", core::to_unix_ms(clock.now())))); };
  auto both = [&](bool one_runs) {
    if (one_runs) {
      ASSERT_TRUE(one.run_availability());
    }
    ASSERT_TRUE(two.run_availability());
    clock.advance(std::chrono::seconds(10));
  };
  seen();
  for (int i = 0; i < 3; ++i) {
    seen();
    both(true);
  }
  for (int i = 0; i < 6; ++i) both(true);  // h1 silent for a minute
  EXPECT_EQ(sent1.size(), 1u);
  EXPECT_TRUE(sent2.empty());
  // The first collector stops; h1 returns. Once the lease lapses the second
  // evaluates, sees it up and resolves the same incident after the hold-down.
  for (int i = 0; i < 40; ++i) {
    seen();
    both(false);
  }
  ASSERT_EQ(sent2.size(), 1u);
  EXPECT_EQ(sent2[0].event, "resolved");
  EXPECT_EQ(sent2[0].incident.id, sent1[0].incident.id);
  auto all = second->incidents->list_incidents({});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(IncidentLifecycle, ABreachStaysAsAPersonLeftItForItsPeriod) {
  Signal s;
  s.kind = IncidentKind::sla_breach;
  s.subject = "service:shop";
  s.rule = "2026-06";
  s.auto_resolve = false;
  s.observed_ms = kT0 - 10 * kMin;  // the period's start: the same fact all period
  const std::string id = apply({s}, kT0)[0].incident.id;
  ASSERT_TRUE(incidents::act(*stores.incidents, id, "resolve", "alice", "credited to the customer", kT0 + kMin));
  EXPECT_TRUE(apply({s}, kT0 + 2 * kMin).empty()) << "not re-opened";
  ASSERT_TRUE(incidents::act(*stores.incidents, id, "close", "alice", "", kT0 + 3 * kMin));
  EXPECT_TRUE(apply({s}, kT0 + 4 * kMin).empty()) << "nor opened again";
  EXPECT_EQ(stores.incidents->list_incidents({})->size(), 1u);
}

TEST(Webhooks, AMessageGoesWhereAnyOfItsIncidentsIsWantedAndLateResolutionsAlone) {
  Incident check;
  check.id = "INC-1";
  check.priority = 4;
  Incident svc;
  svc.id = "INC-2";
  svc.priority = 1;
  svc.parent = "INC-1";
  auto m = notify::group({{"opened", check}, {"opened", svc}});
  ASSERT_EQ(m.size(), 1u);
  test::TempDir dir;
  auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(s);
  Receiver rx;
  core::SystemClock clock;
  notify::Notifier n({{"pager", rx.url(), "k", 1, {}, 3, std::chrono::milliseconds(5000)}}, s->incidents, clock);
  n.send({{"opened", check}, {"opened", svc}});
  ASSERT_TRUE(n.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(rx.got().size(), 1u) << "the P1 consequence carries the P4 cause to the pager";
  // The consequence resolves after its cause: sent on its own.
  m = notify::group({{"resolved", svc}});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].notices[0].incident.id, "INC-2");
  EXPECT_TRUE(notify::group({{"escalated", svc}}).empty());
}

// A service standing on a check: the check's failure is the incident the
// service's is linked to, weighed by that service.
TEST(IncidentEvaluation, ACheckTakesItsServiceDown) {
  Evaluation e("name = \"shop\"\nowner = \"o\"\ncriticality = \"critical\"\nsla_target = 99.9\n"
               "[[group]]\nmembers = [\"check:web01/http\"]\n");
  auto* s = &e.stores;
  auto& sent = e.sent;
  auto& clock = e.clock;
  auto& hk = *e.hk;
  ASSERT_TRUE(s->agents->create_agent({"a1", "h", "hid", "web01", "host-web01", "1", kT0, 0, 0, 10, ""}));
  std::uint64_t seq = 0;
  auto report = [&](double status) {
    const std::int64_t now = core::to_unix_ms(clock.now());
    store::ReportBatch b;
    b.agent_id = "a1";
    b.sequence = ++seq;
    b.received_at_ms = now;
    b.heartbeat_interval_s = 10;
    b.cis.push_back(heartbeat("web01", now));
    b.series.push_back({store::SeriesInfo{{"host-web01", "surveyor.check.status", {{"check", "http"}, {"kind", "http"}}},
                                          "1"},
                        {{now, status}}});
    auto r = s->reports->apply_report(b);
    ASSERT_TRUE(r) << r.error().describe();
  };
  for (int i = 0; i < 4; ++i) {
    report(0);
    ASSERT_TRUE(hk.run_availability());
    clock.advance(std::chrono::seconds(10));
  }
  EXPECT_TRUE(sent.empty());
  report(2);  // CRITICAL
  ASSERT_TRUE(hk.run_availability());
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].incident.subject, "host-web01");
  EXPECT_EQ(sent[0].incident.rule, "check:http");
  EXPECT_EQ(sent[0].incident.priority, 1) << "a critical service with an SLA stands on it";
  EXPECT_EQ(sent[1].incident.subject, "service:shop");
  EXPECT_EQ(sent[1].incident.parent, sent[0].incident.id);
  auto tl = s->timelines->read_timeline("check:host-web01/http", kT0, kT0 + kMin);
  ASSERT_TRUE(tl);
  ASSERT_FALSE(tl->empty());
  EXPECT_EQ(tl->back().state, store::Availability::down);
}

// The collector comes back from a gap (it was stopped): hosts whose agents
// waited for it are not down at once; one that stays silent is, two
// heartbeat intervals later.
TEST(IncidentEvaluation, AfterACollectorGapHostsGetTwoIntervalsToReport) {
  Evaluation e("name = \"shop\"\nowner = \"o\"\n[[group]]\nmembers = [\"a\", \"b\"]\nredundancy = \"any\"\n");
  auto step = [&] {
    ASSERT_TRUE(e.hk->run_availability());
    e.clock.advance(std::chrono::seconds(10));
  };
  for (int i = 0; i < 3; ++i) {
    for (const char* h : {"a", "b"}) ASSERT_TRUE(e.stores.cmdb->upsert_ci(heartbeat(h, e.now())));
    step();
  }
  e.clock.advance(std::chrono::minutes(10));  // the collector is away; so are the agents' reports
  step();                                     // the gap: unknown
  EXPECT_TRUE(e.sent.empty());
  step();  // 10 s after: within the grace
  ASSERT_TRUE(e.stores.cmdb->upsert_ci(heartbeat("a", e.now())));  // a's agent delivers
  step();
  EXPECT_TRUE(e.sent.empty()) << "nobody is down yet";
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(e.stores.cmdb->upsert_ci(heartbeat("a", e.now())));
    step();
  }
  ASSERT_EQ(e.sent.size(), 1u) << "b stayed silent past the grace";
  EXPECT_EQ(e.sent[0].incident.subject, "host-b");
  auto tl = e.stores.timelines->read_timeline("host-a", kT0, e.now());
  ASSERT_TRUE(tl);
  for (const store::StateInterval& i : *tl) EXPECT_NE(i.state, store::Availability::down);
}

// --- SLA records: burn rates, frozen reports, amendments ----------------------

constexpr std::int64_t kJune = 1'780'272'000'000;  // 2026-06-01T00:00:00Z (date -u -d 2026-06-01 +%s)
constexpr std::int64_t kHour = 60 * kMin, kDay = 24 * kHour;

services::Sla month_sla(double target = 99.9) {
  services::Sla s;
  s.target_percent = target;
  s.period = "month";
  return s;
}

TEST(SlaBurnRates, PageTicketAndScaling) {
  const services::Sla sla = month_sla();
  const auto june = sla::period_at(sla, kJune);
  ASSERT_TRUE(june);
  ASSERT_EQ(june->end_ms - june->start_ms, 30 * kDay);
  const std::int64_t now = kJune + 10 * kDay;
  using store::StateInterval;
  using store::Availability;
  // Down for the last 10 minutes: 1000x over 5 min, 166.7x over an hour: page.
  std::vector<StateInterval> t{{"s", kJune, now - 10 * kMin, Availability::up}, {"s", now - 10 * kMin, now, Availability::down}};
  auto b = sla::burn_rates(sla, *june, t, now);
  EXPECT_DOUBLE_EQ(b.scale, 1.0);
  EXPECT_NEAR(b.r5m, 1000, 1e-9);
  EXPECT_NEAR(b.r1h, 1000.0 / 6, 1e-9);
  EXPECT_TRUE(b.page);
  // One 5-minute outage 2 hours ago: 13.9x over 6 h but nothing over 30 min;
  // 1.16x over 3 days: a ticket, no page.
  t = {{"s", kJune, now - 2 * kHour, Availability::up},
       {"s", now - 2 * kHour, now - 2 * kHour + 5 * kMin, Availability::down},
       {"s", now - 2 * kHour + 5 * kMin, now, Availability::up}};
  b = sla::burn_rates(sla, *june, t, now);
  EXPECT_NEAR(b.r6h, 5.0 / 360 / 0.001, 1e-9);
  EXPECT_EQ(b.r30m, 0);
  EXPECT_NEAR(b.r3d, 5.0 / 4320 / 0.001, 1e-9);
  EXPECT_FALSE(b.page);
  EXPECT_TRUE(b.ticket);
  // Maintenance is not agreed time; degraded is not bad unless the SLA says so.
  t = {{"s", kJune, now - kHour, Availability::up}, {"s", now - kHour, now, Availability::degraded}};
  EXPECT_EQ(sla::burn_rates(sla, *june, t, now).r1h, 0);
  services::Sla strict = sla;
  strict.degraded_is_down = true;
  EXPECT_TRUE(sla::burn_rates(strict, *june, t, now).page);
  // A weekly SLA: the same budget shares at 7/30 of the rates.
  services::Sla weekly = sla;
  weekly.period = "week";
  const auto week = sla::period_at(weekly, now);
  ASSERT_TRUE(week);
  EXPECT_NEAR(sla::burn_rates(weekly, *week, t, now).scale, 7.0 / 30, 1e-12);
}

TEST(SlaRecords, FrozenWhenThePeriodClosesAmendedOnlyWhenFiguresChange) {
  test::TempDir dir, defs;
  auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(s);
  std::ofstream(defs.file("shop.toml")) << "name = \"shop\"\nowner = \"o\"\nsla_target = 99.9\n"
                                           "[[group]]\nmembers = [\"db1\"]\n";
  services::Catalog catalog(defs.path());
  ASSERT_TRUE(catalog.refresh().errors.empty());
  // June: up, 30 min down on the 3rd, degraded 2 h on the 15th.
  ASSERT_TRUE(s->timelines->record_state("service:shop", store::Availability::up, kJune, kJune + 2 * kDay));
  ASSERT_TRUE(s->timelines->record_state("service:shop", store::Availability::down, kJune + 2 * kDay,
                                         kJune + 2 * kDay + 30 * kMin));
  ASSERT_TRUE(s->timelines->record_state("service:shop", store::Availability::up, kJune + 2 * kDay + 30 * kMin,
                                         kJune + 14 * kDay));
  ASSERT_TRUE(s->timelines->record_state("service:shop", store::Availability::degraded, kJune + 14 * kDay,
                                         kJune + 14 * kDay + 2 * kHour));
  ASSERT_TRUE(s->timelines->record_state("service:shop", store::Availability::up, kJune + 14 * kDay + 2 * kHour,
                                         kJune + 30 * kDay + kHour));
  std::set<std::string> done;
  auto frozen = sla::freeze_closed(*s, catalog, kJune + 29 * kDay, done);
  ASSERT_TRUE(frozen);
  EXPECT_EQ(*frozen, 0u) << "June is still running (May has no timeline)";
  frozen = sla::freeze_closed(*s, catalog, kJune + 30 * kDay + kHour, done);
  ASSERT_TRUE(frozen);
  EXPECT_EQ(*frozen, 1u);
  EXPECT_EQ(*sla::freeze_closed(*s, catalog, kJune + 30 * kDay + 2 * kHour, done), 0u) << "once";
  std::set<std::string> fresh;  // another collector: asks the store, freezes nothing twice
  EXPECT_EQ(*sla::freeze_closed(*s, catalog, kJune + 30 * kDay + 2 * kHour, fresh), 0u);
  // A collector that was away all of July still freezes June in August.
  test::TempDir later_dir;
  auto later = backends::open_stores("sqlite:" + later_dir.file("s.db"));
  ASSERT_TRUE(later);
  auto june_tl = s->timelines->read_timeline("service:shop", kJune, kJune + 30 * kDay);
  ASSERT_TRUE(june_tl && later->timelines->record_states(*june_tl));
  std::set<std::string> august;
  EXPECT_EQ(*sla::freeze_closed(*later, catalog, kJune + 62 * kDay, august), 2u) << "June, and July's first hour";
  EXPECT_EQ(later->sla_reports->sla_reports("shop", "2026-06")->size(), 1u);
  EXPECT_EQ(later->sla_reports->sla_reports("shop", "2026-07")->size(), 1u);
  auto versions = s->sla_reports->sla_reports("shop", "2026-06");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 1u);
  auto v1 = sla::report_from_json((*versions)[0].report);
  ASSERT_TRUE(v1) << v1.error().describe();
  EXPECT_TRUE(v1->closed);
  EXPECT_EQ(v1->agreed_ms, 30 * kDay);
  EXPECT_EQ(v1->downtime_ms, 30 * kMin);
  EXPECT_EQ(v1->allowed_downtime_ms, 43 * kMin + 12 * kS);  // 0.1 % of 43,200 min
  EXPECT_EQ(v1->budget_left_ms, 13 * kMin + 12 * kS);
  EXPECT_EQ(sla::report_json(*v1), (*versions)[0].report) << "the JSON reads back to the same report";

  // Recomputed with the same definition: nothing new. With a stricter SLA
  // (degraded counts): an amendment, never a silent change.
  auto svc = catalog.find("shop");
  ASSERT_TRUE(svc);
  const auto june = sla::period_named(*svc->sla, "2026-06");
  ASSERT_TRUE(june);
  auto same = sla::recompute(*s, *svc, *june, "alice", "check", kJune + 31 * kDay);
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->amended);
  EXPECT_EQ(same->version.version, 1);
  svc->sla->degraded_is_down = true;
  auto amended = sla::recompute(*s, *svc, *june, "alice", "degraded counts as down (contract clause 4.2)",
                                kJune + 31 * kDay);
  ASSERT_TRUE(amended);
  EXPECT_TRUE(amended->amended);
  EXPECT_EQ(amended->version.version, 2);
  versions = s->sla_reports->sla_reports("shop", "2026-06");
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ(sla::report_from_json((*versions)[1].report)->downtime_ms, 30 * kMin + 2 * kHour);
  EXPECT_EQ((*versions)[1].by, "alice");
  EXPECT_EQ(sla::report_from_json((*versions)[0].report)->downtime_ms, 30 * kMin) << "version 1 is kept as it was";
  const auto july = sla::period_named(*svc->sla, "2026-07");
  auto running = sla::recompute(*s, *svc, *july, "alice", "x", kJune + 31 * kDay);
  ASSERT_FALSE(running);
  EXPECT_EQ(running.error().code, store::StoreErrc::conflict);
}

TEST(SlaRecords, StoredReportsCannotBeChangedOrRemovedInSqlite) {
  test::TempDir dir;
  {
    auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
    ASSERT_TRUE(s);
    ASSERT_TRUE(*s->sla_reports->add_sla_report({"shop", "2026-06", 1, kT0, "surveyor", "period closed", "{}"}));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("s.db").c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE sla_reports SET report = '{\"forged\":1}'", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM sla_reports", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->sla_reports->sla_reports("shop", "2026-06")->front().report, "{}");
}

// A scripted June (30 days, UTC) through the evaluation, every 10 minutes:
// shop stands on web1/web2 (any) and db1 (all), 99.9 %, high criticality.
// db1 is silent 10:00-11:00 on the 3rd and 06:00-07:00 on the 20th, and in
// an approved change 02:00-04:00 on the 10th; web2 is silent all of the
// 15th. Heartbeats are every 10 minutes, so a host is down 20 minutes after
// its last one; a step's state holds for the whole step.
TEST(IncidentEvaluation, AScriptedMonth) {
  jobs::HousekeepingOptions o;
  o.availability_interval = std::chrono::minutes(10);
  o.availability_gap = std::chrono::minutes(30);
  Evaluation e("name = \"shop\"\nowner = \"o\"\ncriticality = \"high\"\nsla_target = 99.9\n"
               "[[group]]\nname = \"web\"\nmembers = [\"web1\", \"web2\"]\nredundancy = \"any\"\n"
               "[[group]]\nname = \"db\"\nmembers = [\"db1\"]\n",
               kJune, o);
  auto* s = &e.stores;
  auto& clock = e.clock;
  auto& hk = *e.hk;
  store::ChangeRecord change;
  change.reference = "CHG-7";
  change.ci_ids = {"host-db1"};
  change.start_ms = kJune + 9 * kDay + 2 * kHour;
  change.end_ms = kJune + 9 * kDay + 4 * kHour;
  ASSERT_TRUE(s->changes->create_change(change));
  auto silent = [&](const std::string& host, std::int64_t t) {
    auto in = [&](std::int64_t day, std::int64_t from_h, std::int64_t to_h) {
      return t > kJune + day * kDay + from_h * kHour && t < kJune + day * kDay + to_h * kHour;
    };
    if (host == "db1") return in(2, 10, 11) || in(19, 6, 7) || in(9, 2, 4);
    if (host == "web2") return in(14, 0, 24);
    return false;
  };
  for (std::int64_t t = kJune; t <= kJune + 30 * kDay; t += 10 * kMin) {
    clock.set(core::from_unix_ms(t));
    for (const std::string host : {"web1", "web2", "db1"}) {
      if (!silent(host, t)) {
        ASSERT_TRUE(s->cmdb->upsert_ci(heartbeat(host, t, 600)));
      }
    }
    auto r = hk.run_availability();
    ASSERT_TRUE(r) << r.error().describe();
  }

  // The SLA report of June, frozen at the first step of July.
  auto versions = s->sla_reports->sla_reports("shop", "2026-06");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 1u);
  auto june = sla::report_from_json((*versions)[0].report);
  ASSERT_TRUE(june);
  EXPECT_EQ(june->maintenance_ms, 2 * kHour);
  EXPECT_EQ(june->unknown_ms, 0);
  EXPECT_EQ(june->agreed_ms, 30 * kDay - 2 * kHour);
  // Down from 20 minutes after the last heartbeat to the step before the
  // first one back: 10:20-10:50 and 06:20-06:50.
  EXPECT_EQ(june->downtime_ms, 60 * kMin);
  EXPECT_EQ(june->allowed_downtime_ms, 43 * kMin + 4 * kS + 800);  // 0.1 % of 43,080 min
  EXPECT_EQ(june->budget_left_ms, -(16 * kMin + 55 * kS + 200));
  EXPECT_TRUE(june->breached);
  ASSERT_TRUE(june->achieved_percent);
  EXPECT_NEAR(*june->achieved_percent, 100.0 * (43080.0 - 60.0) / 43080.0, 1e-9);
  ASSERT_EQ(june->excluded.size(), 1u);
  EXPECT_EQ(june->excluded[0].state, store::Availability::maintenance);
  EXPECT_EQ(june->excluded[0].start_ms, change.start_ms);
  // Degraded (web2 away), not down: 00:20 on the 15th to 23:50.
  auto tl = s->timelines->read_timeline("service:shop", kJune, kJune + 30 * kDay);
  ASSERT_TRUE(tl);
  EXPECT_EQ(availability::totals(*tl, kJune, kJune + 30 * kDay).degraded_ms, 23 * kHour + 30 * kMin);

  // The incidents: exactly these.
  auto all = s->incidents->list_incidents({});
  ASSERT_TRUE(all);
  std::map<std::string, std::vector<Incident>> by;
  for (const Incident& i : *all) by[std::string(store::to_string(i.kind)) + " " + i.subject].push_back(i);
  ASSERT_EQ(all->size(), 8u);
  auto opened_at = [](const Incident& i) { return i.opened_ms; };
  // db1 down twice (P1: a high-criticality service with an SLA goes down with it).
  const auto& db = by["availability host-db1"];
  ASSERT_EQ(db.size(), 2u);
  EXPECT_EQ(opened_at(db[1]), kJune + 2 * kDay + 10 * kHour + 30 * kMin);
  EXPECT_EQ(db[1].resolved_ms, kJune + 2 * kDay + 11 * kHour + 10 * kMin) << "back at 11:00, 5-minute hold-down";
  EXPECT_EQ(db[1].priority, 1);
  EXPECT_EQ(opened_at(db[0]), kJune + 19 * kDay + 6 * kHour + 30 * kMin);
  // The service's own incidents are linked to db1's.
  const auto& shop = by["availability service:shop"];
  ASSERT_EQ(shop.size(), 2u);
  EXPECT_EQ(shop[1].parent, db[1].id);
  EXPECT_EQ(shop[0].parent, db[0].id);
  // web2: the service only degrades: medium impact and urgency, P3.
  const auto& web = by["availability host-web2"];
  ASSERT_EQ(web.size(), 1u);
  EXPECT_EQ(web[0].priority, 3);
  EXPECT_EQ(opened_at(web[0]), kJune + 14 * kDay + 30 * kMin);
  EXPECT_EQ(web[0].state, IncidentState::resolved);
  // Burn rates page on each outage (P1) and the ticket window holds them
  // until 6 hours after the outage.
  const auto& risk = by["SLA-risk service:shop"];
  ASSERT_EQ(risk.size(), 2u);
  EXPECT_EQ(opened_at(risk[1]), kJune + 2 * kDay + 10 * kHour + 30 * kMin);
  ASSERT_FALSE(risk[1].timeline.empty());
  EXPECT_TRUE(risk[1].timeline[0].text.ends_with("(P1)")) << risk[1].timeline[0].text;
  EXPECT_EQ(risk[1].priority, 2) << "a page, then a ticket: urgency medium";
  EXPECT_EQ(risk[1].recovered_ms, kJune + 2 * kDay + 16 * kHour + 50 * kMin) << "6 h after the last bad minute";
  EXPECT_EQ(risk[1].state, IncidentState::resolved);
  // The budget is spent at 06:40 on the 20th (50 of 43.08 minutes); the
  // breach waits for a person.
  const auto& breach = by["SLA-breach service:shop"];
  ASSERT_EQ(breach.size(), 1u);
  EXPECT_EQ(opened_at(breach[0]), kJune + 19 * kDay + 6 * kHour + 40 * kMin);
  EXPECT_EQ(breach[0].rule, "2026-06");
  EXPECT_EQ(breach[0].state, IncidentState::open);
  EXPECT_EQ(breach[0].priority, 1);
  // No incident in the change window.
  for (const Incident& i : *all)
    EXPECT_FALSE(i.opened_ms > change.start_ms && i.opened_ms < change.end_ms + kHour) << i.id << " " << i.summary;
}

// A scripted October in Europe/Berlin through the evaluation: office hours
// Mon-Fri 08:00-18:00 local time, 99 %; DST ends on Sunday the 25th (UTC+2,
// then UTC+1). app1 is silent three times for an hour: Thursday 22nd
// 06:00-07:00 UTC (08:00 local: down 08:20-08:50, inside the hours), Monday
// 26th 17:00-18:00 UTC (18:00 local, after DST: down 18:20-18:50, outside),
// Tuesday 27th 16:00-17:00 UTC (17:00 local: down 17:20-17:50, inside). A
// wrong offset would move the first and last outages out of the hours.
// Instants from `TZ=Europe/Berlin date -d '2026-10-01 00:00' +%s` and
// `date -u -d '2026-10-22 06:00' +%s`.
TEST(IncidentEvaluation, AScriptedMonthInBerlinWithOfficeHoursAcrossDst) {
  constexpr std::int64_t kOct = 1'790'805'600'000, kNov = 1'793'487'600'000;
  const std::vector<std::int64_t> silent_from{1'792'648'800'000, 1'793'034'000'000, 1'793'116'800'000};
  jobs::HousekeepingOptions o;
  o.availability_interval = std::chrono::minutes(10);
  o.availability_gap = std::chrono::minutes(30);
  Evaluation e("name = \"office\"\nowner = \"o\"\ncriticality = \"medium\"\nsla_target = 99.0\n"
               "sla_time_zone = \"Europe/Berlin\"\nsla_service_hours = [\"Mon-Fri 08:00-18:00\"]\n"
               "[[group]]\nmembers = [\"app1\"]\n",
               kOct, o);
  for (std::int64_t t = kOct; t <= kNov + 10 * kMin; t += 10 * kMin) {
    e.clock.set(core::from_unix_ms(t));
    const bool silent = std::any_of(silent_from.begin(), silent_from.end(),
                                    [t](std::int64_t f) { return t > f && t < f + kHour; });
    if (!silent) {
      ASSERT_TRUE(e.stores.cmdb->upsert_ci(heartbeat("app1", t, 600)));
    }
    auto r = e.hk->run_availability();
    ASSERT_TRUE(r) << r.error().describe();
  }
  auto versions = e.stores.sla_reports->sla_reports("office", "2026-10");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 1u);
  auto oct = sla::report_from_json((*versions)[0].report);
  ASSERT_TRUE(oct);
  EXPECT_EQ(oct->period.start_ms, kOct);
  EXPECT_EQ(oct->period.end_ms, kNov);
  EXPECT_EQ(oct->service_time_ms, 220 * kHour) << "22 weekdays of 10 hours";
  EXPECT_EQ(oct->agreed_ms, 220 * kHour);
  EXPECT_EQ(oct->downtime_ms, 60 * kMin) << "the outage after hours does not count";
  EXPECT_EQ(oct->unknown_ms, 0);
  EXPECT_EQ(oct->allowed_downtime_ms, 132 * kMin);
  EXPECT_EQ(oct->budget_left_ms, 72 * kMin);
  EXPECT_FALSE(oct->breached);
  ASSERT_TRUE(oct->achieved_percent);
  EXPECT_NEAR(*oct->achieved_percent, 100.0 * (13'200.0 - 60.0) / 13'200.0, 1e-9);

  auto all = e.stores.incidents->list_incidents({});
  ASSERT_TRUE(all);
  std::map<std::string, std::vector<std::int64_t>> opened;  // oldest first
  for (auto it = all->rbegin(); it != all->rend(); ++it)
    opened[std::string(store::to_string(it->kind)) + " " + it->subject].push_back(it->opened_ms);
  // The host and the service it takes down, three times, whatever the hours.
  EXPECT_EQ(opened["availability host-app1"],
            (std::vector<std::int64_t>{silent_from[0] + 30 * kMin, silent_from[1] + 30 * kMin,
                                       silent_from[2] + 30 * kMin}));
  EXPECT_EQ(opened["availability service:office"], opened["availability host-app1"]);
  // The budget burns only inside the hours: no SLA-risk for Monday evening.
  EXPECT_EQ(opened["SLA-risk service:office"],
            (std::vector<std::int64_t>{silent_from[0] + 30 * kMin, silent_from[2] + 30 * kMin}));
  EXPECT_EQ(all->size(), 8u);
  for (const Incident& i : *all) EXPECT_NE(i.state, IncidentState::open) << i.id << " " << i.summary;
}

}  // namespace
}  // namespace surveyor::collector
