// SPDX-License-Identifier: Apache-2.0
// Samples as a report stores them, on both backends: exact values, half-open
// ranges, the newest sample per series.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

using test::TempDir;

template <class B>
using SampleConformance = OnBackend<B>;
TYPED_TEST_SUITE(SampleConformance, Backends, BackendNames);

TYPED_TEST(SampleConformance, SamplesKeepExactValuesAndRangeIsHalfOpen) {
  ASSERT_TRUE(this->stores.agents->create_agent(this->agent("agt-1")));
  const double kNaN = std::numeric_limits<double>::quiet_NaN();
  const double kInf = std::numeric_limits<double>::infinity();
  const std::vector<Sample> in{{1'000, 0.1},  {2'000, -0.0},   {3'000, kInf}, {4'000, -kInf},
                               {5'000, kNaN}, {6'000, 1e-308}, {7'000, 123456789.123456789}};
  ReportBatch b;
  b.agent_id = "agt-1";
  b.sequence = 1;
  b.received_at_ms = 10'000;
  b.heartbeat_interval_s = 60;
  b.series.push_back({this->series("ci-1", "m"), in});
  ASSERT_TRUE(this->stores.reports->apply_report(b));

  auto all = this->stores.series->read_samples(b.series[0].first.key, 1'000, 8'000, 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ((*all)[i].time_ms, in[i].time_ms);
    if (std::isnan(in[i].value)) EXPECT_TRUE(std::isnan((*all)[i].value));
    else EXPECT_EQ((*all)[i].value, in[i].value) << i;
  }
  auto window = this->stores.series->read_samples(b.series[0].first.key, 2'000, 4'000, 100);
  ASSERT_TRUE(window);
  ASSERT_EQ(window->size(), 2u);
  EXPECT_EQ((*window)[0].time_ms, 2'000);
  EXPECT_EQ((*window)[1].time_ms, 3'000);
  auto limited = this->stores.series->read_samples(b.series[0].first.key, 0, 100'000, 3);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 3u);

  // A later report repeating a stored time adds nothing, even with another value.
  ReportBatch again = b;
  again.sequence = 2;
  again.series[0].second = {{7'000, 999.0}, {8'000, 2.0}};
  again.series[0].first.unit = "By";
  ASSERT_TRUE(this->stores.reports->apply_report(again));
  auto after = this->stores.series->read_samples(b.series[0].first.key, 0, 100'000, 100);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), in.size() + 1);
  EXPECT_EQ((*after)[6].value, 123456789.123456789) << "the first value at a time stays";
  auto latest = this->stores.series->latest_samples("ci-1");
  ASSERT_TRUE(latest);
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ(latest->front().sample.value, 2.0);
  EXPECT_EQ(latest->front().series.unit, "By") << "a changed unit is stored";
}

TYPED_TEST(SampleConformance, LatestSamplesAreTheNewestPerSeries) {
  ASSERT_TRUE(this->stores.agents->create_agent(this->agent("agt-1")));
  ReportBatch b;
  b.agent_id = "agt-1";
  b.sequence = 1;
  b.received_at_ms = 10'000;
  b.heartbeat_interval_s = 60;
  b.series.push_back({this->series("ci-1", "b.metric"), {{1'000, 1.0}, {3'000, 3.0}}});
  b.series.push_back({this->series("ci-1", "a.metric", {{"state", "idle"}}), {{2'000, 2.0}}});
  b.series.push_back({this->series("ci-2", "other"), {{9'000, 9.0}}});
  ASSERT_TRUE(this->stores.reports->apply_report(b));
  auto latest = this->stores.series->latest_samples("ci-1");
  ASSERT_TRUE(latest) << latest.error().describe();
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].series.key.metric, "a.metric");
  EXPECT_EQ((*latest)[0].sample.value, 2.0);
  EXPECT_EQ((*latest)[1].series.key.metric, "b.metric");
  EXPECT_EQ((*latest)[1].sample.time_ms, 3'000);
  EXPECT_EQ((*latest)[1].sample.value, 3.0);
  auto only_b = this->stores.series->latest_samples("ci-1", "b.metric");
  ASSERT_TRUE(only_b);
  ASSERT_EQ(only_b->size(), 1u);
  EXPECT_EQ(only_b->front().sample.value, 3.0);
  EXPECT_TRUE(this->stores.series->latest_samples("ci-1", "nope")->empty());
  // Several CIs at once, in their order, as one by one.
  auto many = this->stores.series->latest_samples_of({"ci-2", "nobody", "ci-1"}, "");
  ASSERT_TRUE(many) << many.error().describe();
  ASSERT_EQ(many->size(), 3u);
  ASSERT_EQ((*many)[0].size(), 1u);
  EXPECT_EQ((*many)[0][0].sample.value, 9.0);
  EXPECT_TRUE((*many)[1].empty());
  ASSERT_EQ((*many)[2].size(), 2u);
  EXPECT_EQ((*many)[2][1].sample.value, 3.0);
  auto some = this->stores.series->latest_samples_of({"ci-1", "ci-2"}, "a.metric");
  ASSERT_TRUE(some);
  EXPECT_EQ((*some)[0].size(), 1u);
  EXPECT_TRUE((*some)[1].empty());
}

}  // namespace
}  // namespace surveyor::collector::store
