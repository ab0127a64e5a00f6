// SPDX-License-Identifier: Apache-2.0
// The series store's test fixture, shared by series_test.cpp (both
// backends) and redis_series_test.cpp (Redis behind the stores' back).
#pragma once

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "store/fixture.hpp"

namespace surveyor::collector::store {

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kHour = 3'600'000;
constexpr std::int64_t kDay = 24 * kHour;
// A block start, so the tests know which samples share a chunk.
constexpr std::int64_t kT0 = floor_to(1'764'000'000'000, kBlockMs);
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

inline bool same(const Sample& a, const Sample& b) {
  if (a.time_ms != b.time_ms) return false;
  if (std::isnan(a.value)) return std::isnan(b.value);
  return std::bit_cast<std::uint64_t>(a.value) == std::bit_cast<std::uint64_t>(b.value);
}

inline ::testing::AssertionResult same_samples(const std::vector<Sample>& want, const std::vector<Sample>& got) {
  if (want.size() != got.size())
    return ::testing::AssertionFailure() << "size " << got.size() << ", want " << want.size();
  for (std::size_t i = 0; i < want.size(); ++i)
    if (!same(want[i], got[i]))
      return ::testing::AssertionFailure() << "at " << i << ": got (" << got[i].time_ms << ", " << got[i].value
                                           << "), want (" << want[i].time_ms << ", " << want[i].value << ")";
  return ::testing::AssertionSuccess();
}

template <class B>
class SeriesStoreTest : public OnBackend<B> {
 protected:
  void SetUp() override {
    OnBackend<B>::SetUp();
    this->add_agent("agt-1", "ci-1");
  }

  static SeriesKey key(const std::string& metric = "system.cpu.utilization") { return {"ci-1", metric, {}}; }

  void put(const SeriesKey& k, std::vector<Sample> samples) {
    ReportBatch b = report_batch("agt-1", ++sequence_, kT0);
    b.series.push_back({SeriesInfo{k, "1"}, std::move(samples)});
    auto r = this->stores.reports->apply_report(b);
    ASSERT_TRUE(r) << r.error().describe();
  }

  std::vector<Sample> read(const SeriesKey& k, std::int64_t from = INT64_MIN, std::int64_t to = INT64_MAX,
                           std::size_t limit = 1'000'000) {
    auto r = this->stores.series->read_samples(k, from, to, limit);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? *r : std::vector<Sample>{};
  }

  std::vector<Rollup> rollups(const SeriesKey& k) {
    auto r = this->stores.series->read_rollups(k, INT64_MIN, INT64_MAX);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? *r : std::vector<Rollup>{};
  }

  MaintenanceReport maintain(std::int64_t now, std::size_t max_series = 2000, std::size_t per_step = 32) {
    SeriesMaintenance m;
    m.now_ms = now;
    m.max_series = max_series;
    m.series_per_step = per_step;
    auto r = this->stores.series->maintain(m);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? *r : MaintenanceReport{};
  }

  std::uint64_t sequence_ = 0;
};


}  // namespace surveyor::collector::store
