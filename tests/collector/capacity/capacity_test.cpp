// SPDX-License-Identifier: Apache-2.0
// Trends and forecasts: downsampling, quantiles, the predict_linear fit
// against Prometheus' published results and an independent computation,
// time to threshold, and queries through a real SQLite store.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "surveyor/collector/backends/open.hpp"
#include "surveyor/collector/capacity/query.hpp"
#include "surveyor/collector/capacity/rules.hpp"
#include "test_support.hpp"

namespace surveyor::collector::capacity {
namespace {

using store::Rollup;
using store::Sample;

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kHour = 3'600'000;
constexpr std::int64_t kDay = 24 * kHour;
constexpr std::int64_t kNow = 1'764'000'000'000;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// --- predict_linear -------------------------------------------------------

// Prometheus' promql/testdata/functions.test: a counter 0+10x4 then 0+10x5
// sampled every 5 minutes; predict_linear(...[50m], 3600) at 50m.
std::vector<Sample> prometheus_example() {
  const double v[] = {0, 10, 20, 30, 40, 0, 10, 20, 30, 40, 50};
  std::vector<Sample> out;
  for (int i = 0; i < 11; ++i) out.push_back({i * 5 * kMin, v[i]});
  return out;
}

TEST(PredictLinear, MatchesPrometheusPublishedResults) {
  const auto pts = prometheus_example();
  // Prometheus 2.x (Debian 12 ships 2.42): the range [t - 50m, t] holds all 11 samples.
  auto f = fit_linear(pts, 50 * kMin);
  ASSERT_TRUE(f);
  EXPECT_DOUBLE_EQ(predict(*f, 3600), 76.81818181818181);
  // Prometheus 3 leaves the start out: the last 10 samples.
  auto f3 = fit_linear(std::span(pts).subspan(1), 50 * kMin);
  ASSERT_TRUE(f3);
  EXPECT_DOUBLE_EQ(predict(*f3, 3600), 70.0);
  // deriv(...[100m]) at 50m: the same slope Prometheus reports.
  EXPECT_DOUBLE_EQ(f->slope, 0.010606060606060607);
}

TEST(PredictLinear, ConstantSeriesAndTooFewPoints) {
  auto c = fit_linear(std::vector<Sample>{{0, 5}, {1000, 5}, {2000, 5}}, 2000);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->slope, 0.0);
  EXPECT_EQ(predict(*c, 1e6), 5.0);
  EXPECT_EQ(c->r2, 1.0);
  EXPECT_FALSE(fit_linear(std::vector<Sample>{{0, 5}}, 0));
  EXPECT_FALSE(fit_linear(std::vector<Sample>{{0, 5}, {1, kNaN}}, 0)) << "NaN values are left out";
}

// The same line fitted another way: long double, centred two-pass sums.
struct Reference {
  long double slope, at_anchor, mean_x, sxx, s;
};
Reference reference_fit(const std::vector<Sample>& pts, std::int64_t anchor) {
  long double mx = 0, my = 0;
  const auto n = static_cast<long double>(pts.size());
  for (const Sample& p : pts) {
    mx += static_cast<long double>(p.time_ms - anchor) / 1000.0L;
    my += p.value;
  }
  mx /= n;
  my /= n;
  long double sxy = 0, sxx = 0;
  for (const Sample& p : pts) {
    const long double dx = static_cast<long double>(p.time_ms - anchor) / 1000.0L - mx;
    sxy += dx * (p.value - my);
    sxx += dx * dx;
  }
  const long double slope = sxy / sxx;
  const long double a = my - slope * mx;
  long double sse = 0;
  for (const Sample& p : pts) {
    const long double r = p.value - (a + slope * static_cast<long double>(p.time_ms - anchor) / 1000.0L);
    sse += r * r;
  }
  return {slope, a, mx, sxx, std::sqrt(sse / (n - 2))};
}

double relative(long double got, long double want) {
  return static_cast<double>(std::fabs(got - want) / std::max(std::fabs(want), 1e-300L));
}

// A filesystem filling up: hourly maxima over a week, growing with noise.
std::vector<Sample> filling_disk(std::uint64_t seed, double per_day, double noise) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> jitter(0, noise);
  std::vector<Sample> pts;
  for (std::int64_t t = kNow - 7 * kDay; t <= kNow; t += kHour)
    pts.push_back({t + static_cast<std::int64_t>(rng() % 5000),
                   0.52 + per_day * static_cast<double>(t - (kNow - 7 * kDay)) / kDay + jitter(rng)});
  return pts;
}

TEST(PredictLinear, AgreesWithAnIndependentComputation) {
  for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    SCOPED_TRACE(seed);
    const auto pts = filling_disk(seed, 0.011, 0.004);
    auto f = fit_linear(pts, kNow);
    ASSERT_TRUE(f);
    const Reference ref = reference_fit(pts, kNow);
    EXPECT_LT(relative(f->slope, ref.slope), 1e-9);
    EXPECT_LT(relative(f->intercept, ref.at_anchor), 1e-9);
    for (double ahead : {0.0, 3600.0, 86'400.0, 14 * 86'400.0, 365 * 86'400.0})
      EXPECT_LT(relative(predict(*f, ahead), ref.at_anchor + ref.slope * ahead), 1e-9) << ahead;
    EXPECT_GT(f->r2, 0.95);
    EXPECT_LE(f->r2, 1.0);
  }
}

// --- time to threshold ---------------------------------------------------------

TEST(TimeToThreshold, ExactLineCrossesWhereTheLineSays) {
  // 0.5 + 1 % a day, hourly, for a week up to now: 0.9 is reached 33 days from now.
  std::vector<Sample> pts;
  for (std::int64_t t = kNow - 7 * kDay; t <= kNow; t += kHour)
    pts.push_back({t, 0.57 + 0.01 * static_cast<double>(t - kNow) / kDay});
  const ThresholdForecast f = time_to_threshold(pts, kNow, 0.9);
  ASSERT_EQ(f.outcome, ThresholdForecast::Outcome::at);
  EXPECT_NEAR(static_cast<double>(*f.at_ms - kNow), 33.0 * kDay, 1000.0);
  // No scatter: the interval closes on the crossing.
  ASSERT_TRUE(f.earliest_ms && f.latest_ms);
  EXPECT_NEAR(static_cast<double>(*f.earliest_ms), static_cast<double>(*f.at_ms), 1000.0);
  EXPECT_NEAR(static_cast<double>(*f.latest_ms), static_cast<double>(*f.at_ms), 1000.0);
  EXPECT_NEAR(f.fit->r2, 1.0, 1e-12);
}

TEST(TimeToThreshold, IntervalAgreesWithAnIndependentBand) {
  const auto pts = filling_disk(9, 0.02, 0.01);
  const ThresholdForecast f = time_to_threshold(pts, kNow, 0.9);
  ASSERT_EQ(f.outcome, ThresholdForecast::Outcome::at);
  const Reference ref = reference_fit(pts, kNow);
  const long double cross = (0.9L - ref.at_anchor) / ref.slope;
  EXPECT_NEAR(static_cast<double>(*f.at_ms - kNow) / 1000.0, static_cast<double>(cross), 1.0);
  ASSERT_TRUE(f.earliest_ms && f.latest_ms);
  EXPECT_LT(*f.earliest_ms, *f.at_ms);
  EXPECT_GT(*f.latest_ms, *f.at_ms);
  // At each end of the interval the band of a new observation touches the
  // threshold: line +- t(0.975, n-2) * s * sqrt(1 + 1/n + (x - mean)^2 / Sxx),
  // with t from tables (n - 2 = 167 degrees of freedom: 1.9740).
  const long double t = 1.9740L, n = static_cast<long double>(pts.size());
  auto band = [&](long double x) { return t * ref.s * std::sqrt(1 + 1 / n + (x - ref.mean_x) * (x - ref.mean_x) / ref.sxx); };
  const long double xe = static_cast<long double>(*f.earliest_ms - kNow) / 1000.0L;
  const long double xl = static_cast<long double>(*f.latest_ms - kNow) / 1000.0L;
  EXPECT_NEAR(static_cast<double>(ref.at_anchor + ref.slope * xe + band(xe)), 0.9, 1e-4);
  EXPECT_NEAR(static_cast<double>(ref.at_anchor + ref.slope * xl - band(xl)), 0.9, 1e-4);
}

// The band a chart draws is the one the interval comes from: computed
// independently (t from tables) at every band point, and its edges reach
// the threshold at the interval's ends.
TEST(TimeToThreshold, ThePredictionBandIsTheIntervalsBand) {
  const auto pts = filling_disk(9, 0.02, 0.01);
  const ThresholdForecast f = time_to_threshold(pts, kNow, 0.9);
  ASSERT_TRUE(f.fit && f.earliest_ms && f.latest_ms);
  const Reference ref = reference_fit(pts, kNow);
  const long double t = 1.9740L, n = static_cast<long double>(pts.size());
  auto half = [&](long double x) { return t * ref.s * std::sqrt(1 + 1 / n + (x - ref.mean_x) * (x - ref.mean_x) / ref.sxx); };
  const auto band = prediction_band(*f.fit, f.fit->first_ms, *f.latest_ms + kDay, 200);
  ASSERT_EQ(band.size(), 200u);
  EXPECT_EQ(band.front().time_ms, f.fit->first_ms);
  EXPECT_EQ(band.back().time_ms, *f.latest_ms + kDay);
  for (const BandPoint& b : band) {
    const long double x = static_cast<long double>(b.time_ms - kNow) / 1000.0L;
    EXPECT_NEAR(b.fitted, static_cast<double>(ref.at_anchor + ref.slope * x), 1e-6);
    EXPECT_NEAR(b.upper - b.fitted, static_cast<double>(half(x)), 1e-5);
    EXPECT_NEAR(b.fitted - b.lower, static_cast<double>(half(x)), 1e-5);
  }
  const auto at = [&](std::int64_t ms) { return prediction_band(*f.fit, ms, ms + 1, 2).front(); };
  EXPECT_NEAR(at(*f.earliest_ms).upper, 0.9, 1e-4);
  EXPECT_NEAR(at(*f.latest_ms).lower, 0.9, 1e-4);
  EXPECT_TRUE(prediction_band(*fit_linear(std::vector<Sample>{{kNow - 1000, 0.1}, {kNow, 0.2}}, kNow), kNow, kNow + kDay, 10)
                  .empty())
      << "two points: no interval";
}

TEST(TimeToThreshold, OtherAnswersAreAnswersNotSentinels) {
  const auto falling = filling_disk(3, -0.01, 0.002);
  EXPECT_EQ(time_to_threshold(falling, kNow, 0.9).outcome, ThresholdForecast::Outcome::never);
  const auto flat = filling_disk(3, 0.0, 0.0);
  EXPECT_EQ(time_to_threshold(flat, kNow, 0.9).outcome, ThresholdForecast::Outcome::never);
  // Falling towards a floor: a threshold below, watched going down.
  const ThresholdForecast down = time_to_threshold(falling, kNow, 0.3, /*rising=*/false);
  EXPECT_EQ(down.outcome, ThresholdForecast::Outcome::at);
  EXPECT_GT(*down.at_ms, kNow);
  EXPECT_EQ(time_to_threshold(filling_disk(3, 0.01, 0.0), kNow, 0.55).outcome, ThresholdForecast::Outcome::already);
  EXPECT_EQ(time_to_threshold(std::vector<Sample>{{kNow - 1000, 0.1}, {kNow, 0.2}}, kNow, 0.9).outcome,
            ThresholdForecast::Outcome::not_enough_data);
  EXPECT_EQ(time_to_threshold(std::vector<Sample>{{kNow, 0.1}, {kNow, 0.2}, {kNow, 0.3}}, kNow, 0.9).outcome,
            ThresholdForecast::Outcome::not_enough_data)
      << "three values at one time fit no line";
  EXPECT_EQ(time_to_threshold({}, kNow, 0.9).outcome, ThresholdForecast::Outcome::not_enough_data);
}

// --- downsampling ---------------------------------------------------------------

TEST(Aggregate, QuantileInterpolatesAsPrometheusDoes) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_DOUBLE_EQ(quantile(v, 0.95), 95.05);
  std::vector<double> one{7};
  EXPECT_EQ(quantile(one, 0.95), 7);
  std::vector<double> none;
  EXPECT_TRUE(std::isnan(quantile(none, 0.5)));
}

TEST(Aggregate, BucketsAreAlignedAndSkipNaN) {
  const std::vector<Sample> s{{0, 1}, {30'000, 3}, {60'000, kNaN}, {61'000, 10}, {150'000, 4}, {180'000, 99}};
  const auto avg = bucket_samples(s, 0, 180'000, 60'000, Agg::avg);
  ASSERT_EQ(avg.size(), 3u);
  EXPECT_EQ(avg[0].time_ms, 0);
  EXPECT_EQ(avg[0].value, 2);
  EXPECT_EQ(avg[1].time_ms, 60'000);
  EXPECT_EQ(avg[1].value, 10);
  EXPECT_EQ(avg[2].time_ms, 120'000);
  EXPECT_EQ(bucket_samples(s, 0, 180'000, 60'000, Agg::max)[0].value, 3);
  EXPECT_EQ(bucket_samples(s, 0, 180'000, 60'000, Agg::min)[0].value, 1);

  const std::vector<Rollup> r{{0, 2, 10, 4, 6}, {kHour, 6, 6, 0.5, 2}, {2 * kHour, 1, 100, 100, 100}};
  const auto two = bucket_rollups(r, 0, 4 * kHour, 2 * kHour, Agg::avg);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_DOUBLE_EQ(two[0].value, 16.0 / 8.0) << "weighted by count, not an average of averages";
  EXPECT_EQ(bucket_rollups(r, 0, 4 * kHour, 2 * kHour, Agg::min)[0].value, 0.5);
  EXPECT_EQ(bucket_rollups(r, 0, 4 * kHour, 2 * kHour, Agg::max)[0].value, 6);

  const std::vector<std::vector<Sample>> many{{{0, 1}, {60, 2}}, {{0, 10}, {120, 5}}};
  const auto sum = combine(many, Across::sum);
  ASSERT_EQ(sum.size(), 3u);
  EXPECT_EQ(sum[0].value, 11);
  EXPECT_EQ(combine(many, Across::avg)[0].value, 5.5);
  EXPECT_EQ(combine(many, Across::max)[2].value, 5);
}

// --- capacity rules -------------------------------------------------------------

TEST(CapacityRules, SustainedNeedsTheWholeWindowAndClearsWithHysteresis) {
  CapacityRule r = default_rules()[0];  // CPU above 0.9 for 15 minutes, clears after 5
  auto minutes = [](int n, double v, std::int64_t end) {
    std::vector<Sample> s;
    for (int i = n; i >= 0; --i) s.push_back({end - i * kMin, v});
    return s;
  };
  const Evaluation hot = evaluate_sustained(r, minutes(15, 0.95, kNow), kNow, {{"cpu", "all"}});
  EXPECT_EQ(hot.verdict, Verdict::breach);
  EXPECT_EQ(hot.value, 0.95);
  EXPECT_NE(hot.summary.find("system.cpu.utilization{cpu=all} above 0.9 for 15m"), std::string::npos) << hot.summary;
  EXPECT_EQ(evaluate_sustained(r, minutes(10, 0.95, kNow), kNow).verdict, Verdict::unknown)
      << "ten minutes of data do not show fifteen";
  auto dip = minutes(15, 0.95, kNow);
  dip[3].value = 0.5;
  EXPECT_EQ(evaluate_sustained(r, dip, kNow).verdict, Verdict::unknown) << "neither breached nor clear";
  auto calm = minutes(15, 0.95, kNow);
  for (std::size_t i = calm.size() - 6; i < calm.size(); ++i) calm[i].value = 0.4;
  EXPECT_EQ(evaluate_sustained(r, calm, kNow).verdict, Verdict::clear);
  EXPECT_EQ(evaluate_sustained(r, {}, kNow).verdict, Verdict::unknown) << "no data is not a clear";
  r.rising = false;
  r.threshold = 0.1;
  EXPECT_EQ(evaluate_sustained(r, minutes(15, 0.05, kNow), kNow).verdict, Verdict::breach);
}

TEST(CapacityRules, ForecastBreachesWithinTheHorizonOnly) {
  const CapacityRule r = default_rules()[2];  // filesystem reaching 0.9 within 14 days
  // 0.57 now, +1 % a day: 0.9 in 33 days.
  std::vector<Sample> slow;
  for (std::int64_t t = kNow - 7 * kDay; t <= kNow; t += kHour) slow.push_back({t, 0.57 + 0.01 * double(t - kNow) / kDay});
  EXPECT_EQ(evaluate_forecast(r, time_to_threshold(slow, kNow, 0.9), kNow).verdict, Verdict::clear);
  std::vector<Sample> fast;
  for (std::int64_t t = kNow - 7 * kDay; t <= kNow; t += kHour) fast.push_back({t, 0.57 + 0.03 * double(t - kNow) / kDay});
  const Evaluation e = evaluate_forecast(r, time_to_threshold(fast, kNow, 0.9), kNow);
  EXPECT_EQ(e.verdict, Verdict::breach);
  ASSERT_TRUE(e.predicted_ms);
  EXPECT_NEAR(double(*e.predicted_ms - kNow) / kDay, 11.0, 0.01);
  EXPECT_NE(e.summary.find("95 % interval"), std::string::npos) << e.summary;
  // A rise of 1 % a day under noise of 25 %: the line meets 0.9 in about a
  // week, but the fit is too weak to call.
  std::mt19937_64 rng(3);
  std::vector<Sample> noisy;
  for (std::int64_t t = kNow - 7 * kDay; t <= kNow; t += kHour)
    noisy.push_back({t, 0.7 + 0.01 * double(t - kNow) / kDay + double(rng() % 1000) / 4000.0});
  const ThresholdForecast nf = time_to_threshold(noisy, kNow, 0.9);
  // The fitted line reaches the threshold within the horizon: only the weak
  // fit keeps this from being a breach.
  ASSERT_EQ(nf.outcome, ThresholdForecast::Outcome::at);
  ASSERT_LE(*nf.at_ms - kNow, r.horizon_ms);
  ASSERT_TRUE(nf.fit);
  EXPECT_LT(nf.fit->r2, r.min_r2);
  EXPECT_EQ(evaluate_forecast(r, nf, kNow).verdict, Verdict::unknown);
  EXPECT_EQ(evaluate_forecast(r, time_to_threshold(std::vector<Sample>{}, kNow, 0.9), kNow).verdict, Verdict::unknown);
}

TEST(CapacityRules, ConfigurationIsCheckedWithClearErrors) {
  config::Schema schema;
  schema.add_table_array({.key = "capacity_rule", .description = "", .schema = rule_schema()});
  auto ok = config::load_string(schema, R"(
[[capacity_rule]]
name = "swap"
kind = "sustained"
metric = "system.paging.utilization"
attributes = ["state=used"]
threshold = 0.5
for = "30m"
cis = ["db01", "host-1234"]
)", "collector.toml");
  ASSERT_TRUE(ok) << ok.error().describe();
  auto r = rule_from_settings(ok->tables("capacity_rule").at(0));
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->for_ms, 30 * kMin);
  EXPECT_EQ(r->match, (store::Labels{{"state", "used"}}));
  EXPECT_EQ(r->threshold, 0.5);
  EXPECT_EQ(r->ci_ids, (std::vector<std::string>{"db01", "host-1234"}));

  auto missing = config::load_string(schema, "[[capacity_rule]]\nname = \"x\"\nkind = \"forecast\"\n", "c.toml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("c.toml:1: in [[capacity_rule]]: 'metric' is required"), std::string::npos) << missing.error().message;
  auto wrong_type = config::load_string(schema, "[[capacity_rule]]\nthreshold = \"high\"\n", "c.toml");
  ASSERT_FALSE(wrong_type);
  EXPECT_NE(wrong_type.error().message.find("must be a number"), std::string::npos) << wrong_type.error().message;
  for (const char* extra : {"attributes = [\"novalue\"]", "direction = \"up\"", "for = \"0s\""}) {
    auto s = config::load_string(schema,
                                 std::string("[[capacity_rule]]\nname = \"x\"\nkind = \"sustained\"\nmetric = \"m\"\n"
                                             "threshold = 1\n") +
                                     extra + "\n",
                                 "c.toml");
    ASSERT_TRUE(s) << s.error().describe();
    EXPECT_FALSE(rule_from_settings(s->tables("capacity_rule").at(0))) << extra;
  }
  auto bad_kind = config::load_string(
      schema, "[[capacity_rule]]\nname = \"x\"\nkind = \"someday\"\nmetric = \"m\"\nthreshold = 1\n", "c.toml");
  ASSERT_TRUE(bad_kind);
  auto k = rule_from_settings(bad_kind->tables("capacity_rule").at(0));
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().message.find("[[capacity_rule]] 'x': kind must be"), std::string::npos) << k.error().message;
}

// --- queries on a real store --------------------------------------------------------

class Queries : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
    ASSERT_TRUE(s) << s.error().describe();
    stores = *s;
    for (const char* ci : {"ci-a", "ci-b"}) {
      store::AgentRecord a;
      a.id = std::string("agt-") + ci;
      a.ci_id = ci;
      ASSERT_TRUE(stores.agents->create_agent(a));
    }
  }

  void put(const std::string& ci, const store::Labels& attrs, std::vector<Sample> samples) {
    store::ReportBatch b;
    b.agent_id = "agt-" + ci;
    b.sequence = ++seq;
    b.series.push_back({store::SeriesInfo{{ci, "system.cpu.utilization", attrs}, "1"}, std::move(samples)});
    auto r = stores.reports->apply_report(b);
    ASSERT_TRUE(r) << r.error().describe();
  }

  test::TempDir dir;
  store::Stores stores;
  std::uint64_t seq = 0;
};

TEST_F(Queries, RollupsAndRawGiveTheSameHourlyFigures) {
  std::mt19937_64 rng(5);
  std::vector<Sample> a, b;
  const std::int64_t t0 = kNow - 2 * kDay;
  for (std::int64_t t = t0; t < kNow; t += 10'000) {
    a.push_back({t, static_cast<double>(rng() % 10'000) / 10'000});
    b.push_back({t, 0.25});
  }
  put("ci-a", {}, a);
  put("ci-a", {{"state", "user"}}, a);
  put("ci-b", {}, b);

  TrendRequest r;
  r.selector = {{"ci-a", "ci-b"}, "system.cpu.utilization", {}, true};
  r.from_ms = t0;
  r.to_ms = kNow;
  r.step_ms = kHour;
  for (Agg agg : {Agg::avg, Agg::min, Agg::max}) {
    SCOPED_TRACE(to_string(agg));
    r.agg = agg;
    r.source = Source::automatic;
    auto rolled = run_trend(*stores.series, r);
    ASSERT_TRUE(rolled) << rolled.error().describe();
    EXPECT_EQ(rolled->source, Source::rollup);
    ASSERT_EQ(rolled->series.size(), 2u) << "exact: the per-state series is not selected";
    r.source = Source::raw;
    auto raw = run_trend(*stores.series, r);
    ASSERT_TRUE(raw);
    ASSERT_EQ(raw->series[0].points.size(), 48u);
    ASSERT_EQ(rolled->series[0].points.size(), 48u);
    for (std::size_t i = 0; i < 48; ++i) {
      EXPECT_EQ(raw->series[0].points[i].time_ms, rolled->series[0].points[i].time_ms);
      EXPECT_DOUBLE_EQ(raw->series[0].points[i].value, rolled->series[0].points[i].value);
    }
  }
  // p95 needs every sample: automatic picks raw, and rollups are refused.
  r.agg = Agg::p95;
  r.source = Source::automatic;
  auto p95 = run_trend(*stores.series, r);
  ASSERT_TRUE(p95);
  EXPECT_EQ(p95->source, Source::raw);
  EXPECT_EQ(p95->series[1].points[0].value, 0.25);
  r.source = Source::rollup;
  auto refused = run_trend(*stores.series, r);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, QueryErrc::invalid);

  // Across CIs: the two hosts' hourly averages summed.
  r.agg = Agg::avg;
  r.source = Source::automatic;
  r.across = Across::sum;
  auto both = run_trend(*stores.series, r);
  ASSERT_TRUE(both);
  ASSERT_TRUE(both->combined);
  ASSERT_EQ(both->combined->size(), 48u);
  EXPECT_DOUBLE_EQ((*both->combined)[3].value, both->series[0].points[3].value + 0.25);

  // Too many steps is refused, not attempted.
  r.step_ms = 1;
  auto big = run_trend(*stores.series, r);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, QueryErrc::too_large);
}

TEST_F(Queries, AnswersOverAMillionPointsAreRefused) {
  // 91 series of 10,999 one-minute steps: 1,000,909 points.
  for (int i = 0; i < 91; ++i) put("ci-a", {{"cpu", std::to_string(i)}}, {{0, 0.5}});
  TrendRequest r;
  r.selector = {{"ci-a"}, "system.cpu.utilization", {}, false};
  r.from_ms = 0;
  r.to_ms = 10'999 * 60'000LL;
  r.step_ms = 60'000;
  auto big = run_trend(*stores.series, r);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, QueryErrc::too_large);
  EXPECT_NE(big.error().message.find("91 series of 10999 steps"), std::string::npos) << big.error().message;
  r.to_ms = 10'000 * 60'000LL;  // 910,000 points: answered
  auto fits = run_trend(*stores.series, r);
  ASSERT_TRUE(fits) << fits.error().describe();
  EXPECT_EQ(fits->series.size(), 91u);
  EXPECT_EQ(fits->series[0].points.size(), 1u);  // buckets without samples are left out
}

TEST_F(Queries, ForecastUsesHourlyMaximaForLongWindows) {
  // A sawtooth within each hour whose peaks grow 1 % a day.
  std::vector<Sample> s;
  for (std::int64_t t = kNow - 7 * kDay; t <= kNow; t += 5 * kMin) {
    const double base = 0.5 + 0.01 * static_cast<double>(t - (kNow - 7 * kDay)) / kDay;
    s.push_back({t, base - 0.2 + 0.2 * static_cast<double>((t / (5 * kMin)) % 12) / 11.0});
  }
  put("ci-a", {}, s);
  ForecastRequest f;
  f.selector = {{"ci-a"}, "system.cpu.utilization", {}, true};
  f.now_ms = kNow;
  f.threshold = 0.9;
  f.predict_seconds = 86'400;
  auto got = run_forecast(*stores.series, f);
  ASSERT_TRUE(got) << got.error().describe();
  ASSERT_EQ(got->size(), 1u);
  const ForecastItem& item = got->front();
  EXPECT_EQ(item.source, Source::rollup);
  EXPECT_EQ(item.points, 7u * 24) << "whole hours only";
  ASSERT_TRUE(item.threshold);
  ASSERT_EQ(item.threshold->outcome, ThresholdForecast::Outcome::at);
  // Peaks are the base line (at minute 55): 0.57 now, reaching 0.9 in ~33 days.
  EXPECT_NEAR(static_cast<double>(*item.threshold->at_ms - kNow) / kDay, 33.0, 0.6);
  ASSERT_TRUE(item.predicted);
  EXPECT_NEAR(*item.predicted, 0.58, 0.01);

  // The same question on raw samples over a short window.
  f.window_ms = 6 * kHour;
  f.source = Source::automatic;
  auto raw = run_forecast(*stores.series, f);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->front().source, Source::raw);
  EXPECT_EQ(raw->front().points, 6u * 12 + 1) << "both ends of [now - window, now] count";
}

}  // namespace
}  // namespace surveyor::collector::capacity
