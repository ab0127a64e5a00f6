// SPDX-License-Identifier: Apache-2.0
// The signals of a step, source by source (docs/incidents.md, "Kinds and
// what raises them"): availability states, capacity events, SLA burn rates
// and spent budgets, unauthorised changes; and gather, which runs them all.
#include <gtest/gtest.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "evaluation/scene.hpp"
#include "surveyor/collector/evaluation/signals.hpp"

namespace surveyor::collector::evaluation {
namespace {

using fixtures::heartbeat;
using incidents::Signal;
using store::Availability;
using store::IncidentKind;

constexpr std::int64_t kS = 1000, kMin = 60 * kS, kHour = 60 * kMin, kDay = 24 * kHour;
constexpr std::int64_t kJune = 1'780'272'000'000;  // 2026-06-01T00:00:00Z (date -u -d 2026-06-01 +%s)
constexpr std::int64_t kT0 = kJune + 20 * kDay;

// shop stands on db1 and on the check http of web1.
constexpr const char* kShop =
    "name = \"shop\"\nowner = \"o\"\ncriticality = \"high\"\nsla_target = 99.9\n"
    "[[group]]\nmembers = [\"db1\", \"check:web1/http\"]\n";

struct Step : fixtures::Scene {
  Step() : Scene(kShop) {
    EXPECT_TRUE(stores.cmdb->upsert_ci(heartbeat("db1", kT0 - kMin)));
    EXPECT_TRUE(stores.cmdb->upsert_ci(heartbeat("web1", kT0)));
    report.from_ms = kT0 - 10 * kS;
    report.to_ms = kT0;
  }
  [[nodiscard]] StepContext context() const { return {&stores, catalog.get(), nullptr, &report}; }

  availability::Report report;
};

std::vector<std::string> keys(const Signals& signals) {
  std::vector<std::string> out;
  for (const Signal& s : signals) out.push_back(s.key() + (s.firing ? " firing" : " clear"));
  return out;
}

const Signal& only(const Signals& signals, IncidentKind kind) {
  auto it = std::find_if(signals.begin(), signals.end(), [&](const Signal& s) { return s.kind == kind; });
  EXPECT_NE(it, signals.end());
  static const Signal kNone;
  return it == signals.end() ? kNone : *it;
}

TEST(EvaluationSignals, AvailabilityDownFiresUpClearsTheRestSaysNothing) {
  Step s;
  s.report.states = {{"host-db1", Availability::down},       {"host-web1", Availability::up},
                     {"host-x", Availability::unknown},      {"host-y", Availability::maintenance},
                     {"host-z", Availability::degraded},     {"check:host-web1/http", Availability::down},
                     {"check:no-slash", Availability::down}, {"service:shop", Availability::down}};
  auto found = availability_signals(s.context());
  ASSERT_TRUE(found) << found.error().describe();
  ASSERT_EQ(keys(*found), (std::vector<std::string>{"availability:host-web1:check:http firing",
                                                    "availability:host-db1:heartbeat firing",
                                                    "availability:host-web1:heartbeat clear",
                                                    "availability:host-z:heartbeat clear",
                                                    "availability:service:shop:service firing"}));
  const Signal& check = (*found)[0];
  EXPECT_EQ(check.summary, "check http on web1 is CRITICAL");
  EXPECT_EQ(std::pair(check.impact, check.urgency), std::pair(1, 1)) << "a high service with an SLA stands on it";
  const Signal& db1 = (*found)[1];
  EXPECT_EQ(db1.summary, "host db1 is down: no heartbeat since 2026-06-20 23:59:00 UTC");
  EXPECT_EQ(std::pair(db1.impact, db1.urgency), std::pair(3, 2)) << "no graph: nothing known to depend on it";
  EXPECT_EQ((*found)[4].cause, "availability:host-db1:heartbeat") << "its first member that is down";

  // After a gap nothing is known of them.
  s.report.gap = true;
  found = availability_signals(s.context());
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->empty());
}

TEST(EvaluationSignals, CapacityFollowsTheOpenEvents) {
  Step s;
  store::CapacityEvent e;
  e.kind = "capacity";
  e.rule = "filesystem";
  e.ci_id = "host-db1";
  e.metric = "system.filesystem.utilization";
  e.attributes = {{"mountpoint", "/"}};
  e.summary = "/ is 93 % full";
  ASSERT_TRUE(s.stores.events->raise_event(e, kT0 - kMin));
  // A forecast incident whose event is over.
  Signal forecast;
  forecast.kind = IncidentKind::capacity_forecast;
  forecast.subject = "host-web1";
  forecast.rule = "filesystem-forecast:system.filesystem.utilization{}";
  ASSERT_TRUE(incidents::apply(*s.stores.incidents, {forecast}, kT0 - kHour, {}));
  auto found = capacity_signals(s.context());
  ASSERT_TRUE(found) << found.error().describe();
  const std::vector<std::string> expected{
      R"(capacity:host-db1:filesystem:system.filesystem.utilization{"mountpoint":"/"} firing)",
      "capacity-forecast:host-web1:filesystem-forecast:system.filesystem.utilization{} clear"};
  ASSERT_EQ(keys(*found), expected);
  EXPECT_EQ((*found)[0].summary, "/ is 93 % full");
  EXPECT_EQ((*found)[0].urgency, 2) << "a sustained breach: medium";
}

TEST(EvaluationSignals, SlaBurnRatesAndASpentBudget) {
  Step s;
  // June at 99.9 % allows 43.2 minutes; shop has been down for the last 50.
  ASSERT_TRUE(s.stores.timelines->record_state("service:shop", Availability::up, kJune, kT0 - 50 * kMin));
  ASSERT_TRUE(s.stores.timelines->record_state("service:shop", Availability::down, kT0 - 50 * kMin, kT0));
  auto found = sla_signals(s.context());
  ASSERT_TRUE(found) << found.error().describe();
  ASSERT_EQ(keys(*found), (std::vector<std::string>{"SLA-risk:service:shop:burn-rate firing",
                                                    "SLA-breach:service:shop:2026-06 firing"}));
  const Signal& risk = (*found)[0];
  EXPECT_EQ(std::pair(risk.impact, risk.urgency), std::pair(1, 1)) << "high criticality, a page";
  EXPECT_EQ(risk.summary,
            "shop burns its error budget fast: 833.3x over 1 h, 1000.0x over 5 min, 138.9x over 6 h, 1000.0x over "
            "30 min, 11.6x over 3 d (page at 14.4x/6.0x/1.0x for a month)");
  const Signal& breach = (*found)[1];
  EXPECT_FALSE(breach.auto_resolve);
  EXPECT_EQ(breach.observed_ms, kJune) << "the same fact all period";
  EXPECT_EQ(breach.summary,
            "shop has spent its error budget for 2026-06: 50.0 min down of 43.2 min allowed in the period "
            "(target 99.900 %)");

  s.catalog = nullptr;
  found = sla_signals(s.context());
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->empty()) << "no services, no SLAs";
}

TEST(EvaluationSignals, AnSlaWithinItsBudgetIsClear) {
  Step s;
  ASSERT_TRUE(s.stores.timelines->record_state("service:shop", Availability::up, kJune, kT0));
  auto found = sla_signals(s.context());
  ASSERT_TRUE(found);
  EXPECT_EQ(keys(*found), std::vector<std::string>{"SLA-risk:service:shop:burn-rate clear"});
}

TEST(EvaluationSignals, UnauthorisedChangesOnePerCi) {
  Step s;
  // The agent reports another heartbeat interval, then the old one again
  // within the hour: two unauthorised changes, one alert.
  ASSERT_TRUE(s.stores.cmdb->upsert_ci(heartbeat("db1", kT0 - 30 * kS, 60)));
  ASSERT_TRUE(s.stores.cmdb->upsert_ci(heartbeat("db1", kT0 - 20 * kS, 10)));
  auto found = change_signals(s.context());
  ASSERT_TRUE(found) << found.error().describe();
  ASSERT_EQ(keys(*found), std::vector<std::string>{"unauthorised-change:host-db1:unapproved firing"});
  const Signal& change = (*found)[0];
  EXPECT_FALSE(change.auto_resolve);
  EXPECT_EQ(change.observed_ms, kT0 - 30 * kS);
  EXPECT_EQ(change.summary, "db1: 1 change(s) outside any approved change, e.g. attribute "
                            "agent.heartbeat_interval_s at 2026-06-20 23:59:30 UTC");
  EXPECT_EQ(std::pair(change.impact, change.urgency), std::pair(3, 2));
  // A step that starts more than a minute after the alert no longer sees it.
  s.report.from_ms = kT0 + 31 * kS;
  s.report.to_ms = kT0 + 41 * kS;
  found = change_signals(s.context());
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->empty());
}

TEST(EvaluationSignals, GatherRunsTheFourSourcesInOrder) {
  Step s;
  s.report.states = {{"host-db1", Availability::down}, {"service:shop", Availability::down}};
  ASSERT_TRUE(s.stores.timelines->record_state("service:shop", Availability::down, kT0 - 50 * kMin, kT0));
  ASSERT_TRUE(s.stores.cmdb->upsert_ci(heartbeat("db1", kT0 - 30 * kS, 60)));
  store::CapacityEvent e;
  e.kind = "capacity-forecast";
  e.rule = "memory";
  e.ci_id = "host-web1";
  e.metric = "system.memory.utilization";
  ASSERT_TRUE(s.stores.events->raise_event(e, kT0 - kMin));
  Signals expected;
  for (auto source : {availability_signals, capacity_signals, sla_signals, change_signals}) {
    auto found = source(s.context());
    ASSERT_TRUE(found);
    ASSERT_FALSE(found->empty());
    expected.insert(expected.end(), found->begin(), found->end());
  }
  auto all = gather(s.context());
  ASSERT_TRUE(all) << all.error().describe();
  EXPECT_EQ(keys(*all), keys(expected));
  EXPECT_EQ(only(*all, IncidentKind::capacity_forecast).urgency, 3) << "a forecast: low";
}

}  // namespace
}  // namespace surveyor::collector::evaluation
