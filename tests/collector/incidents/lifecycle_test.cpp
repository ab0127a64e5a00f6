// SPDX-License-Identifier: Apache-2.0
// The incident lifecycle through the store, on simulated time: open,
// relapse, hold-down, re-open window, priority and escalation, people's
// actions, incidents that wait for a person, linked failures sent as one
// message, and a bounded timeline.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "store/fixture.hpp"
#include "surveyor/collector/incidents/incidents.hpp"
#include "surveyor/collector/notify/webhooks.hpp"

namespace surveyor::collector {
namespace {

namespace json = boost::json;
using incidents::Signal;
using store::Incident;
using store::IncidentKind;
using store::IncidentState;
constexpr std::int64_t kS = 1000, kMin = 60 * kS;
constexpr std::int64_t kT0 = 1'795'000'000'000;

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

// A signal only a person ends (auto_resolve off), observed at `at`.
Signal held(IncidentKind kind, const std::string& subject, const std::string& rule, std::int64_t at) {
  return {.kind = kind, .subject = subject, .rule = rule, .auto_resolve = false, .observed_ms = at};
}

Signal up(const std::string& subject) {
  Signal s = down(subject);
  s.firing = false;
  return s;
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
  Signal s = held(IncidentKind::unauthorised_change, "h1", "unapproved", kT0);
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

TEST_F(IncidentLifecycle, ABreachStaysAsAPersonLeftItForItsPeriod) {
  // Observed at the period's start: the same fact all period.
  Signal s = held(IncidentKind::sla_breach, "service:shop", "2026-06", kT0 - 10 * kMin);
  const std::string id = apply({s}, kT0)[0].incident.id;
  ASSERT_TRUE(incidents::act(*stores.incidents, id, "resolve", "alice", "credited to the customer", kT0 + kMin));
  EXPECT_TRUE(apply({s}, kT0 + 2 * kMin).empty()) << "not re-opened";
  ASSERT_TRUE(incidents::act(*stores.incidents, id, "close", "alice", "", kT0 + 3 * kMin));
  EXPECT_TRUE(apply({s}, kT0 + 4 * kMin).empty()) << "nor opened again";
  EXPECT_EQ(stores.incidents->list_incidents({})->size(), 1u);
}

}  // namespace
}  // namespace surveyor::collector
