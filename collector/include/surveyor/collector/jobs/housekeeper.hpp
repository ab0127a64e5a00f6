// SPDX-License-Identifier: Apache-2.0
// The collector's background work, scheduled on one thread, each job on its
// own interval: series maintenance (compaction and retention, in slices so
// ingest is never held up for long) and the CI lifecycle (silent hosts
// become missing, then retired); the capacity rules; and, while this
// collector holds the evaluation lease, the evaluation step
// (evaluation::Evaluator: availability, SLA freeze, signals, incidents,
// notices). It decides when and on which collector; the modules it calls
// do the work. Its figures are in /metrics.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/capacity/rules.hpp"
#include "surveyor/collector/evaluation/evaluator.hpp"
#include "surveyor/collector/metrics/registry.hpp"
#include "surveyor/collector/store/stores.hpp"
#include "surveyor/core/clock.hpp"

namespace surveyor::collector::jobs {

struct HousekeepingOptions {
  std::chrono::milliseconds maintenance_interval{5 * 60'000};
  store::SeriesMaintenance maintenance;  // now_ms is set at each run
  std::chrono::milliseconds capacity_interval{60'000};
  std::vector<capacity::CapacityRule> rules;
  // More rules, asked for at each evaluation (the services' capacity rules,
  // which change as service files and the CMDB do), and anything to do first
  // (reloading changed service files).
  std::function<core::Result<std::vector<capacity::CapacityRule>>()> more_rules;
  // Hosts not heard from for this long become missing, and later retired
  // (0: never). Only silence counts: a failed inventory section does not.
  std::chrono::milliseconds missing_after{86'400'000};
  std::chrono::milliseconds retire_after{30LL * 86'400'000};
  // How often the evaluation step runs (0: never).
  std::chrono::milliseconds availability_interval{10'000};
  // Who this collector is, for the lease that makes one collector of those
  // sharing a store evaluate availability and incidents (the capacity rules
  // run on each; their events are deduplicated by the store).
  std::string holder = "collector";
  // The step itself: its gap, the services, the incidents and where their
  // notices go.
  evaluation::Options evaluation;
  // Pause between maintenance slices, so a pass is spread over time.
  std::chrono::milliseconds slice_pause{20};
};

class Housekeeper {
 public:
  Housekeeper(store::Stores stores, const core::Clock& clock, metrics::Registry& registry, HousekeepingOptions o);
  ~Housekeeper();
  Housekeeper(const Housekeeper&) = delete;
  Housekeeper& operator=(const Housekeeper&) = delete;

  // Runs the jobs now and then on their intervals, until stop().
  void start();
  void stop();

  // One whole maintenance pass (every series), as the thread runs it.
  core::Result<store::MaintenanceReport> run_maintenance();
  // One pass of the CI lifecycle: how many CIs became missing and retired.
  core::Result<std::pair<std::size_t, std::size_t>> run_lifecycle();
  // One evaluation step if this collector holds (or takes) the evaluation
  // lease: its availability report, or the first failure of its stages;
  // nullopt when another collector holds the lease.
  core::Result<std::optional<availability::Report>> run_availability();
  // One evaluation of the capacity rules.
  core::Result<capacity::RulesReport> run_rules();

 private:
  void loop();
  [[nodiscard]] bool has_rules() const { return !options_.rules.empty() || options_.more_rules; }
  bool sleep_for(std::chrono::milliseconds d);  // false once stopping
  void record(const evaluation::StepReport& step, double lease_seconds);

  store::Stores stores_;
  const core::Clock& clock_;
  HousekeepingOptions options_;
  metrics::Family<metrics::Counter>& runs_;       // {job, outcome}
  metrics::Family<metrics::Gauge>& duration_;     // {job}
  metrics::Family<metrics::Counter>& compacted_;  // blocks
  metrics::Family<metrics::Counter>& expired_;    // {what}
  metrics::Family<metrics::Gauge>& damaged_;
  metrics::Family<metrics::Gauge>& open_events_;
  metrics::Family<metrics::Counter>& lifecycle_;  // {state}
  metrics::Family<metrics::Counter>& incident_events_;  // {event}
  evaluation::Evaluator evaluator_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace surveyor::collector::jobs
