// SPDX-License-Identifier: Apache-2.0
// The stages of the evaluation step one by one, and the Evaluator that runs
// them: what each stage did, in order; a failing stage stops those that need
// its result, and the notices written before it are sent all the same.
#include <gtest/gtest.h>

#include <vector>

#include "evaluation/scene.hpp"
#include "surveyor/collector/evaluation/evaluator.hpp"

namespace surveyor::collector::evaluation {
namespace {

using fixtures::heartbeat;
using incidents::Notice;
using incidents::Signal;
using store::Availability;

constexpr std::int64_t kS = 1000, kMin = 60 * kS, kHour = 60 * kMin, kDay = 24 * kHour;
constexpr std::int64_t kT0 = 1'795'000'000'000;
constexpr std::int64_t kJune = 1'780'272'000'000;  // 2026-06-01T00:00:00Z (date -u -d 2026-06-01 +%s)

// A critical service with an SLA, standing on host db1.
constexpr const char* kShop =
    "name = \"shop\"\nowner = \"o\"\ncriticality = \"critical\"\nsla_target = 99.9\n"
    "[[group]]\nmembers = [\"db1\"]\n";

Signal host_down(const std::string& host) {
  Signal s;
  s.subject = host;
  s.rule = "heartbeat";
  s.summary = host + " is down";
  s.impact = 2;
  s.urgency = 2;
  return s;
}

const Signal* find(const Signals& signals, const std::string& key) {
  for (const Signal& s : signals)
    if (s.key() == key) return &s;
  return nullptr;
}

TEST(EvaluationStages, AvailabilityRemembersWhenItCameBackFromAGap) {
  fixtures::Scene scene(kShop);
  AvailabilityStage stage(scene.stores, scene.catalog, 60 * kS);
  ASSERT_TRUE(scene.stores.cmdb->upsert_ci(heartbeat("db1", kT0)));
  auto first = stage.run(kT0);
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_EQ(first->from_ms, first->to_ms) << "the first evaluation only starts the pulse";
  auto next = stage.run(kT0 + 10 * kS);
  ASSERT_TRUE(next);
  EXPECT_FALSE(next->gap);
  EXPECT_EQ(next->states.at("host-db1"), Availability::up);
  EXPECT_EQ(next->states.at("service:shop"), Availability::up);
  EXPECT_EQ(stage.resumed_ms(), 0);
  // Ten minutes away: a gap, and db1 gets two heartbeat intervals from now.
  const std::int64_t back = kT0 + 10 * kS + 10 * kMin;
  auto gap = stage.run(back);
  ASSERT_TRUE(gap);
  EXPECT_TRUE(gap->gap);
  EXPECT_EQ(stage.resumed_ms(), back);
  auto after = stage.run(back + 10 * kS);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->states.at("host-db1"), Availability::up) << "within the grace after the gap";
  EXPECT_EQ(stage.resumed_ms(), back);
}

TEST(EvaluationStages, SlaFreezeFreezesAClosedPeriodOnce) {
  fixtures::Scene scene(kShop);
  ASSERT_TRUE(scene.stores.timelines->record_state("service:shop", Availability::up, kJune, kJune + 30 * kDay + kHour));
  availability::Report july;
  july.from_ms = kJune + 30 * kDay + kHour - 10 * kS;
  july.to_ms = kJune + 30 * kDay + kHour;
  SlaFreezeStage stage(scene.stores, scene.catalog);
  auto frozen = stage.run(july);
  ASSERT_TRUE(frozen) << frozen.error().describe();
  EXPECT_EQ(*frozen, 1u) << "June";
  EXPECT_EQ(*stage.run(july), 0u) << "once";
  EXPECT_EQ(scene.stores.sla_reports->sla_reports("shop", "2026-06")->size(), 1u);
  SlaFreezeStage without_services(scene.stores, nullptr);
  EXPECT_EQ(*without_services.run(july), 0u);
}

TEST(EvaluationStages, SignalsAreWeighedAndLinkedOnTheDependencyGraph) {
  fixtures::Scene scene(kShop);
  ASSERT_TRUE(scene.stores.cmdb->upsert_ci(heartbeat("db1", kT0)));
  availability::Report step;
  step.from_ms = kT0 + 20 * kS;
  step.to_ms = kT0 + 30 * kS;
  step.states = {{"host-db1", Availability::down}, {"service:shop", Availability::down}};
  SignalStage stage(scene.stores, scene.catalog);
  auto signals = stage.run(step);
  ASSERT_TRUE(signals) << signals.error().describe();
  const Signal* host = find(*signals, "availability:host-db1:heartbeat");
  const Signal* service = find(*signals, "availability:service:shop:service");
  ASSERT_TRUE(host && service);
  EXPECT_TRUE(host->firing);
  EXPECT_EQ(host->impact, 1) << "a critical service goes down with it";
  EXPECT_EQ(host->urgency, 1) << "that service has an SLA";
  EXPECT_EQ(service->cause, host->key());
  ASSERT_TRUE(find(*signals, "SLA-risk:service:shop:burn-rate"));

  // Without services nothing depends on db1: low impact, urgency medium (it is down itself).
  SignalStage alone(scene.stores, nullptr);
  auto bare = alone.run(step);
  ASSERT_TRUE(bare);
  host = find(*bare, "availability:host-db1:heartbeat");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->impact, 3);
  EXPECT_EQ(host->urgency, 2);
}

TEST(EvaluationStages, LifecycleAppliesTheSignalsThenTheHoldDown) {
  fixtures::Scene scene(kShop);
  const incidents::Options o;  // hold-down 5 min
  std::vector<Notice> n;
  ASSERT_TRUE(apply_lifecycle(*scene.stores.incidents, {host_down("h1")}, kT0, o, n));
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].event, "opened");
  Signal clear = host_down("h1");
  clear.firing = false;
  n.clear();
  ASSERT_TRUE(apply_lifecycle(*scene.stores.incidents, {clear}, kT0 + kMin, o, n));
  EXPECT_TRUE(n.empty()) << "recovered: no notice";
  ASSERT_TRUE(apply_lifecycle(*scene.stores.incidents, {}, kT0 + 6 * kMin, o, n));
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].event, "resolved");
}

TEST(EvaluationStages, LifecycleKeepsWhatItWroteBeforeAFailure) {
  fixtures::Scene scene(kShop);
  fixtures::WritesRefusedAfter st(scene.stores.incidents, 1);
  std::vector<Notice> n;
  auto done = apply_lifecycle(st, {host_down("h1"), host_down("h2")}, kT0, {}, n);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code, store::StoreErrc::unavailable);
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].incident.subject, "h1");
}

TEST(EvaluationStages, NotifyHandsOverWhatThereIs) {
  std::vector<std::vector<Notice>> got;
  const NoticeSink sink = [&](const std::vector<Notice>& n) { got.push_back(n); };
  EXPECT_EQ(send_notices({}, sink), 0u);
  EXPECT_TRUE(got.empty()) << "no call for nothing";
  const std::vector<Notice> two{{"opened", {}}, {"resolved", {}}};
  EXPECT_EQ(send_notices(two, nullptr), 0u) << "nobody to take them";
  EXPECT_EQ(send_notices(two, sink), 2u);
  ASSERT_EQ(got.size(), 1u) << "one call per step";
  EXPECT_EQ(got[0].size(), 2u);
}

std::vector<Stage> stages_of(const StepReport& r) {
  std::vector<Stage> out;
  for (const StageReport& s : r.stages) out.push_back(s.stage);
  return out;
}

// db1 reports at kT0 and kT0 + 10 s, then falls silent: the step in which
// it is found down (20 s after its last heartbeat), or the first that fails.
StepReport until_db1_is_down(fixtures::Scene& scene, Evaluator& ev, StepReport* steady = nullptr) {
  EXPECT_TRUE(scene.stores.cmdb->upsert_ci(heartbeat("db1", kT0)));
  StepReport r = ev.run(kT0);
  EXPECT_EQ(stages_of(r), std::vector<Stage>{Stage::availability}) << "the first evaluation only starts the pulse";
  EXPECT_TRUE(scene.stores.cmdb->upsert_ci(heartbeat("db1", kT0 + 10 * kS)));
  r = ev.run(kT0 + 10 * kS);
  if (steady != nullptr) *steady = r;
  for (std::int64_t t = kT0 + 20 * kS; t <= kT0 + kMin && r.status() && r.notices.empty(); t += 10 * kS) r = ev.run(t);
  return r;
}

TEST(Evaluator, RunsTheStagesInOrderAndSaysWhatEachDid) {
  fixtures::Scene scene(kShop);
  std::vector<Notice> sent;
  Options o;
  o.catalog = scene.catalog;
  o.notify = [&](const std::vector<Notice>& n) { sent.insert(sent.end(), n.begin(), n.end()); };
  Evaluator ev(scene.stores, o);
  StepReport up;
  const StepReport down = until_db1_is_down(scene, ev, &up);

  const std::vector<Stage> all{Stage::availability, Stage::sla_freeze, Stage::signals, Stage::lifecycle,
                               Stage::notify};
  EXPECT_EQ(stages_of(up), all);
  EXPECT_EQ(up.stage(Stage::availability)->count, 2u) << "db1 and shop";
  EXPECT_EQ(up.stage(Stage::sla_freeze)->count, 0u);
  EXPECT_EQ(up.stage(Stage::signals)->count, 3u) << "db1 and shop clear, shop's burn rate";
  EXPECT_EQ(up.stage(Stage::lifecycle)->count, 0u);
  EXPECT_EQ(up.stage(Stage::notify)->count, 0u);

  ASSERT_TRUE(down.status()) << down.status().error().describe();
  EXPECT_EQ(stages_of(down), all);
  for (const StageReport& s : down.stages) {
    EXPECT_TRUE(s.status) << to_string(s.stage);
    EXPECT_GE(s.seconds, 0) << to_string(s.stage);
  }
  EXPECT_EQ(down.availability.states.at("host-db1"), Availability::down);
  ASSERT_EQ(down.notices.size(), 2u) << "db1, and shop linked to it";
  EXPECT_EQ(down.notices[1].incident.parent, down.notices[0].incident.id);
  EXPECT_EQ(down.stage(Stage::lifecycle)->count, 2u);
  EXPECT_EQ(down.stage(Stage::notify)->count, 2u);
  EXPECT_EQ(sent.size(), 2u);
}

TEST(Evaluator, AFailedWriteStopsTheStepAndWhatWasWrittenIsSent) {
  fixtures::Scene scene(kShop);
  scene.stores.incidents = std::make_shared<fixtures::WritesRefusedAfter>(scene.stores.incidents, 1);
  std::vector<Notice> sent;
  Options o;
  o.catalog = scene.catalog;
  o.notify = [&](const std::vector<Notice>& n) { sent.insert(sent.end(), n.begin(), n.end()); };
  Evaluator ev(scene.stores, o);
  const StepReport r = until_db1_is_down(scene, ev);
  ASSERT_FALSE(r.status());
  EXPECT_EQ(r.status().error().code, store::StoreErrc::unavailable);
  ASSERT_TRUE(r.stage(Stage::lifecycle));
  EXPECT_FALSE(r.stage(Stage::lifecycle)->status);
  ASSERT_TRUE(r.stage(Stage::notify)) << "what was written is sent";
  ASSERT_EQ(r.notices.size(), 1u);
  EXPECT_EQ(r.notices[0].incident.subject, "host-db1");
  EXPECT_EQ(sent.size(), 1u);
}

TEST(Evaluator, WithoutIncidentsOnlyAvailabilityRuns) {
  fixtures::Scene scene(kShop);
  Options o;
  o.catalog = scene.catalog;
  o.incidents_enabled = false;
  Evaluator ev(scene.stores, o);
  const StepReport r = until_db1_is_down(scene, ev);
  EXPECT_EQ(stages_of(r), std::vector<Stage>{Stage::availability});
  EXPECT_EQ(r.availability.states.at("host-db1"), Availability::down);
  EXPECT_TRUE(scene.stores.incidents->list_incidents({})->empty());
}

}  // namespace
}  // namespace surveyor::collector::evaluation
