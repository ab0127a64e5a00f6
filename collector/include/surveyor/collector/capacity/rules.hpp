// SPDX-License-Identifier: Apache-2.0
// Capacity rules: a sustained breach (CPU above 90 % for 15 minutes) or a
// forecast breach (a filesystem reaching 90 % within 14 days) of a series of
// every CI of a type raises a capacity event; the event resolves when the
// condition has cleared.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "surveyor/collector/capacity/forecast.hpp"
#include "surveyor/collector/store/stores.hpp"
#include "surveyor/config/options.hpp"

namespace surveyor::collector::capacity {

struct CapacityRule {
  enum class Kind { sustained, forecast };
  std::string name;
  Kind kind = Kind::sustained;
  std::string metric;
  store::Labels match;  // attributes a series must have (sorted by key)
  bool exact = false;   // ... and no others
  std::string ci_type = "host";
  // When set, exactly these CIs (ids, or unique names) instead of every CI
  // of ci_type: a service's members, or the `cis` of a configured rule.
  std::optional<std::vector<std::string>> ci_ids;
  double threshold = 0.9;
  bool rising = true;  // breach above the threshold (false: below)
  // sustained: breached when every sample of the last `for` is past the
  // threshold (and they cover at least 80 % of it); cleared when every
  // sample of the last `clear_for` is not.
  std::int64_t for_ms = 15 * 60'000;
  std::int64_t clear_for_ms = 5 * 60'000;
  // forecast: breached when the line fitted to the hourly maxima of the last
  // `window` (with R^2 at least min_r2) reaches the threshold within
  // `horizon`, or the latest value is already past it; cleared when it does not.
  std::int64_t horizon_ms = 14 * 86'400'000LL;
  std::int64_t window_ms = 7 * 86'400'000LL;
  double min_r2 = 0.5;
  [[nodiscard]] std::string_view event_kind() const {
    return kind == Kind::sustained ? "capacity" : "capacity-forecast";
  }
};

// CPU above 90 % and memory above 95 % for 15 minutes; filesystems reaching
// 90 % within 14 days.
[[nodiscard]] std::vector<CapacityRule> default_rules();

// The [[capacity_rule]] table of the collector's configuration.
[[nodiscard]] std::shared_ptr<const config::Schema> rule_schema();
[[nodiscard]] core::Result<CapacityRule> rule_from_settings(const config::Settings& s);

enum class Verdict { breach, clear, unknown };
struct Evaluation {
  Verdict verdict = Verdict::unknown;
  double value = 0;
  std::optional<std::int64_t> predicted_ms;
  std::string summary;
};

// `samples`: the series over at least [now - max(for, clear_for), now].
// `attrs` name the series in the summary.
[[nodiscard]] Evaluation evaluate_sustained(const CapacityRule& r, std::span<const store::Sample> samples,
                                            std::int64_t now_ms, const store::Labels& attrs = {});
[[nodiscard]] Evaluation evaluate_forecast(const CapacityRule& r, const ThresholdForecast& f, std::int64_t now_ms,
                                           const store::Labels& attrs = {});

// A series as close to its rule's threshold as any in the fleet: its latest
// value (the forecast rules: the latest point fitted), and for forecast
// rules when the trend reaches the threshold.
struct HotSpot {
  std::string rule, ci_id, ci_name, metric, unit;
  store::Labels attributes;
  double value = 0, threshold = 0;
  bool rising = true;
  std::optional<std::int64_t> reaches_ms;
  // value ÷ threshold for rising rules (threshold ÷ value falling): 1 at it.
  [[nodiscard]] double closeness() const;
};

struct RulesReport {
  std::size_t series = 0;
  std::size_t opened = 0;
  std::size_t resolved = 0;
  std::size_t open = 0;  // breaching now (opened or still open)
  // The kHotSpots series closest to their thresholds, closest first, then
  // the kHotSpots soonest to reach them that are not among those.
  std::vector<HotSpot> hot_spots;
};
constexpr std::size_t kHotSpots = 20;

// The hot spots as the API answers them (GET /api/v1/capacity/hotspots).
[[nodiscard]] std::string hot_spots_json(const std::vector<HotSpot>& spots, std::int64_t evaluated_ms);

// One evaluation of every rule over every CI of its type (or its ci_ids),
// raising and resolving events in the event store.
[[nodiscard]] core::Result<RulesReport> evaluate_rules(const store::Stores& stores,
                                                       std::span<const CapacityRule> rules, std::int64_t now_ms);

}  // namespace surveyor::collector::capacity
