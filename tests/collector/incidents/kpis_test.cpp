// SPDX-License-Identifier: Apache-2.0
// Incident KPIs: mean time to restore and mean time between failures over a
// period (docs/incidents.md, "KPIs").
#include <gtest/gtest.h>

#include "surveyor/collector/incidents/incidents.hpp"

namespace surveyor::collector {
namespace {

using store::Incident;
using store::IncidentKind;
constexpr std::int64_t kMin = 60'000;

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

}  // namespace
}  // namespace surveyor::collector
