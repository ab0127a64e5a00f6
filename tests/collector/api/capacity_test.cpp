// SPDX-License-Identifier: Apache-2.0
// Trends, forecasts, capacity reports and rules through the API.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace surveyor::collector {
namespace {

TEST(CapacityApi, SeriesTrendsChooseTheirSource) {
  Harness h;
  seed(h);
  const std::string base = "/api/v1/series?ci=" + h.ci_id + "&metric=system.cpu.utilization&exact=true&from=" +
                           std::to_string(kNow - 2 * kDay) + "&to=" + std::to_string(kNow);
  auto hourly = get_json(h, base + "&step=1h&agg=max");
  EXPECT_EQ(hourly.at("source").as_string(), "rollup");
  EXPECT_EQ(hourly.at("step").as_string(), "1h");
  ASSERT_EQ(hourly.at("series").as_array().size(), 1u) << "exact: only the total";
  // from is mid-hour: its hour counts too.
  EXPECT_EQ(hourly.at("series").as_array()[0].at("points").as_array().size(), 49u);
  auto p95 = get_json(h, base + "&step=1h&agg=p95");
  EXPECT_EQ(p95.at("source").as_string(), "raw");
  auto both = get_json(h, "/api/v1/series?ci=" + h.ci_id + "&metric=system.cpu.utilization&step=6h&across=sum");
  EXPECT_EQ(both.at("series").as_array().size(), 2u) << "not exact: the state series too";
  EXPECT_EQ(both.at("combined").at("across").as_string(), "sum");
  auto raw = get_json(h, base + "&limit=10");
  EXPECT_EQ(raw.at("source").as_string(), "raw");
  EXPECT_EQ(raw.at("series").as_array()[0].at("points").as_array().size(), 10u);
  EXPECT_TRUE(raw.at("series").as_array()[0].at("truncated").as_bool());
  auto by_type = get_json(h, "/api/v1/series?type=host&metric=system.cpu.utilization&exact=true&step=1d");
  EXPECT_EQ(by_type.at("series").as_array().size(), 1u);

  EXPECT_EQ(error_code(h.call("GET", base + "&step=soon")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", base + "&step=1h&agg=median")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", base + "&step=1h&agg=p95&source=rollup")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", base + "&step=1ms")), "query_too_large");
  EXPECT_EQ(h.call("GET", base + "&step=1ms").status, 422u);
  // Raw points over all series are bounded too: 11 series of up to
  // 100,000 points each is refused, of up to 90,000 answered.
  store::ReportBatch more;
  more.agent_id = h.agent_id;
  more.sequence = 2;
  for (int i = 0; i < 9; ++i)
    more.series.push_back(
        {store::SeriesInfo{{h.ci_id, "system.cpu.utilization", {{"cpu", std::to_string(i)}}}, "1"}, {{kNow, 0.5}}});
  ASSERT_TRUE(h.stores.reports->apply_report(more));
  const std::string all = "/api/v1/series?ci=" + h.ci_id + "&metric=system.cpu.utilization&limit=";
  EXPECT_EQ(error_code(h.call("GET", all + "100000")), "query_too_large");
  EXPECT_EQ(get_json(h, all + "90000").at("series").as_array().size(), 11u);
  EXPECT_EQ(h.call("GET", "/api/v1/series?ci=nope&metric=m").status, 404u);
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/series?metric=m")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/series?ci=" + h.ci_id)), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", base + "&exact=maybe")), "bad_query");
}

TEST(CapacityApi, ForecastAnswersWithATimeAndAnInterval) {
  Harness h;
  seed(h);
  auto f = get_json(h, "/api/v1/forecast?ci=" + h.ci_id +
                           "&metric=system.filesystem.utilization&threshold=0.9&window=1h&predict=1d");
  ASSERT_EQ(f.at("items").as_array().size(), 1u);
  const auto& fs = f.at("items").as_array()[0].as_object();
  EXPECT_EQ(fs.at("threshold").at("outcome").as_string(), "not_enough_data");
  EXPECT_EQ(fs.at("source").as_string(), "raw");
  EXPECT_FALSE(fs.at("fit").is_null()) << "two points still fit a line";

  // The CPU before its last 20 minutes: a clean 1 % a day rise.
  auto cpu = get_json(h, "/api/v1/forecast?ci=" + h.ci_id +
                            "&metric=system.cpu.utilization&exact=true&threshold=0.99&window=6h&source=raw");
  const auto& item = cpu.at("items").as_array()[0].as_object();
  EXPECT_EQ(item.at("threshold").at("outcome").as_string(), "at");
  EXPECT_TRUE(item.at("threshold").at("at").is_string());
  EXPECT_TRUE(item.at("fit").at("r2").is_double());
  auto already = get_json(h, "/api/v1/forecast?ci=" + h.ci_id +
                                "&metric=system.cpu.utilization&exact=true&threshold=0.9&window=6h");
  EXPECT_EQ(already.at("items").as_array()[0].at("threshold").at("outcome").as_string(), "already");

  // band=N: the line and its band, N points from the first fitted point to
  // `predict` ahead, the line inside the band.
  auto banded = get_json(h, "/api/v1/forecast?ci=" + h.ci_id +
                                "&metric=system.cpu.utilization&exact=true&threshold=0.99&window=6h&source=raw"
                                "&predict=2d&band=50");
  const auto& band = banded.at("items").as_array()[0].at("band").as_array();
  ASSERT_EQ(band.size(), 50u);
  const std::int64_t now_ms = core::to_unix_ms(h.clock.now());
  EXPECT_EQ(band.back().as_array()[0].to_number<std::int64_t>(), now_ms + 2 * 86'400'000LL);
  for (const auto& b : band) {
    const auto& row = b.as_array();
    EXPECT_LE(row[2].to_number<double>(), row[1].to_number<double>());
    EXPECT_GE(row[3].to_number<double>(), row[1].to_number<double>());
  }
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/forecast?ci=" + h.ci_id + "&metric=m&band=1")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/forecast?ci=" + h.ci_id + "&metric=m&band=5000")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/forecast?ci=" + h.ci_id + "&metric=m&threshold=lots")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/forecast?ci=" + h.ci_id + "&metric=m&window=-1d")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/forecast?ci=" + h.ci_id + "&metric=m&direction=up")), "bad_query");
}

TEST(CapacityApi, ReportInThreeFormats) {
  Harness h;
  seed(h);
  auto j = get_json(h, "/api/v1/capacity/report?type=host&window=7d");
  const auto& items = j.at("items").as_array();
  ASSERT_EQ(items.size(), 2u) << "CPU total and the one filesystem (memory has no data)";
  EXPECT_EQ(items[0].at("rule").as_string(), "cpu-sustained");
  EXPECT_EQ(items[0].at("current").as_double(), 0.95);
  EXPECT_EQ(items[0].at("peak").as_double(), 0.95);
  EXPECT_EQ(items[0].at("outcome").as_string(), "already");
  EXPECT_EQ(items[1].at("rule").as_string(), "filesystem-forecast");

  auto csv = h.call("GET", "/api/v1/capacity/report?ci=" + h.ci_id + "&format=csv");
  ASSERT_EQ(csv.status, 200u);
  EXPECT_EQ(csv.body.rfind("ci_id,ci_name,rule,metric,", 0), 0u) << csv.body;
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 3);
  auto text = h.call("GET", "/api/v1/capacity/report?ci=" + h.ci_id + "&format=text");
  ASSERT_EQ(text.status, 200u);
  EXPECT_NE(text.body.find("web01"), std::string::npos) << text.body;
  EXPECT_NE(text.body.find("95.0 %"), std::string::npos) << text.body;
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/capacity/report?type=host&format=xml")), "bad_query");
}

// The hot spots: every evaluated series with its latest value, closest to
// its threshold first; what the evaluator stored is what the API answers.
TEST(CapacityApi, HotSpotsAreTheSeriesClosestToTheirThresholds) {
  Harness h;
  seed(h);
  store::ReportBatch b;
  b.agent_id = h.agent_id;
  b.sequence = 2;
  b.series.push_back({store::SeriesInfo{{h.ci_id, "system.memory.utilization", {{"state", "used"}}}, "1"},
                      {{kNow - 120'000, 0.7}, {kNow - 60'000, 0.5}}});
  ASSERT_TRUE(h.stores.reports->apply_report(b));
  EXPECT_EQ(get_json(h, "/api/v1/capacity/hotspots").at("items").as_array().size(), 0u) << "none before an evaluation";
  auto rep = capacity::evaluate_rules(h.stores, capacity::default_rules(), kNow);
  ASSERT_TRUE(rep) << rep.error().describe();
  // CPU 0.95 of 0.9 (1.056), memory 0.5 of 0.95 (0.526); the filesystem has
  // two points, too few for its forecast rule: not a hot spot.
  ASSERT_EQ(rep->hot_spots.size(), 2u);
  EXPECT_EQ(rep->hot_spots[0].rule, "cpu-sustained");
  EXPECT_EQ(rep->hot_spots[0].value, 0.95);
  EXPECT_NEAR(rep->hot_spots[0].closeness(), 0.95 / 0.9, 1e-12);
  EXPECT_EQ(rep->hot_spots[1].rule, "memory-sustained");
  EXPECT_EQ(rep->hot_spots[1].value, 0.5) << "the latest value, not the window's lowest or highest";
  ASSERT_TRUE(h.stores.events->save_hot_spots(capacity::hot_spots_json(rep->hot_spots, kNow), kNow));
  const auto doc = get_json(h, "/api/v1/capacity/hotspots");
  EXPECT_EQ(doc.at("evaluated").as_string(), core::format_rfc3339(kNow));
  const auto& items = doc.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].at("ci_name").as_string(), "web01");
  EXPECT_EQ(items[0].at("threshold").as_double(), 0.9);
  EXPECT_EQ(items[1].at("attributes").at("state").as_string(), "used");
  EXPECT_TRUE(items[1].at("reaches_at").is_null());
}

TEST(CapacityApi, RulesRaiseAndResolveEvents) {
  Harness h;
  seed(h);
  const auto rules = capacity::default_rules();
  auto first = capacity::evaluate_rules(h.stores, rules, kNow);
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_EQ(first->opened, 1u) << "CPU above 90 % for the last 15 minutes";
  auto events = get_json(h, "/api/v1/capacity/events?state=open");
  ASSERT_EQ(events.at("items").as_array().size(), 1u);
  const auto& e = events.at("items").as_array()[0].as_object();
  EXPECT_EQ(e.at("kind").as_string(), "capacity");
  EXPECT_EQ(e.at("rule").as_string(), "cpu-sustained");
  EXPECT_EQ(e.at("ci_id").as_string(), h.ci_id);
  EXPECT_EQ(e.at("value").as_double(), 0.95);

  // Evaluated again: still one open event.
  auto again = capacity::evaluate_rules(h.stores, rules, kNow + 60'000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->opened, 0u);
  EXPECT_EQ(get_json(h, "/api/v1/capacity/events?state=open").at("items").as_array().size(), 1u);

  // Six calm minutes later the condition has cleared.
  store::ReportBatch calm;
  calm.agent_id = h.agent_id;
  calm.sequence = 2;
  std::vector<store::Sample> low;
  for (std::int64_t t = kNow + 60'000; t <= kNow + 6 * 60'000; t += 60'000) low.push_back({t, 0.3});
  calm.series.push_back({store::SeriesInfo{{h.ci_id, "system.cpu.utilization", {}}, "1"}, low});
  ASSERT_TRUE(h.stores.reports->apply_report(calm));
  auto later = capacity::evaluate_rules(h.stores, rules, kNow + 6 * 60'000);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->resolved, 1u);
  EXPECT_TRUE(get_json(h, "/api/v1/capacity/events?state=open").at("items").as_array().empty());
  auto resolved = get_json(h, "/api/v1/capacity/events?state=resolved&ci=" + h.ci_id);
  ASSERT_EQ(resolved.at("items").as_array().size(), 1u);
  EXPECT_TRUE(resolved.at("items").as_array()[0].at("resolved").is_string());
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/capacity/events?state=maybe")), "bad_query");
}

}  // namespace
}  // namespace surveyor::collector
