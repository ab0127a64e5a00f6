// SPDX-License-Identifier: Apache-2.0
// The collector's background work on one thread: series maintenance
// (compaction and retention, in slices so ingest is never held up for long)
// and the capacity rules, each on its own interval.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/capacity/rules.hpp"
#include "surveyor/collector/impact/impact.hpp"
#include "surveyor/collector/incidents/incidents.hpp"
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
  // How often host availability is evaluated (0: never); a step longer than
  // availability_gap means the collector was not running: unknown.
  std::chrono::milliseconds availability_interval{10'000};
  std::chrono::milliseconds availability_gap{60'000};
  // Who this collector is, for the lease that makes one collector of those
  // sharing a store evaluate availability and incidents (the capacity rules
  // run on each; their events are deduplicated by the store).
  std::string holder = "collector";
  // Services whose availability is evaluated too (none when null).
  std::shared_ptr<services::Catalog> catalog;
  // Incidents from each availability step (docs/incidents.md), and where
  // their notices go (webhooks).
  bool incidents_enabled = true;
  incidents::Options incidents;
  std::function<void(const std::vector<incidents::Notice>&)> notify;
  // Pause between maintenance slices, so a pass is spread over time.
  std::chrono::milliseconds slice_pause{20};
};

class Housekeeper {
 public:
  Housekeeper(store::Stores stores, const core::Clock& clock, metrics::Registry& registry, HousekeepingOptions o);
  ~Housekeeper();
  Housekeeper(const Housekeeper&) = delete;
  Housekeeper& operator=(const Housekeeper&) = delete;

  // Runs both jobs now and then on their intervals, until stop().
  void start();
  void stop();

  // One whole maintenance pass (every series), as the thread runs it.
  core::Result<store::MaintenanceReport> run_maintenance();
  // One pass of the CI lifecycle: how many CIs became missing and retired.
  core::Result<std::pair<std::size_t, std::size_t>> run_lifecycle();
  // One availability step (docs/sla.md) and the incidents it opens or
  // resolves; nullopt when another collector holds the evaluation lease.
  core::Result<std::optional<availability::Report>> run_availability();
  // The incidents of one availability step: signals applied, recovered ones
  // resolved; adds the notices to send (those written before a failure too).
  core::Status run_incidents(const availability::Report& step, std::vector<incidents::Notice>& notices);
  // One evaluation of the capacity rules.
  core::Result<capacity::RulesReport> run_rules();

 private:
  void loop();
  [[nodiscard]] bool has_rules() const { return !options_.rules.empty() || options_.more_rules; }
  bool sleep_for(std::chrono::milliseconds d);  // false once stopping

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
  std::unique_ptr<impact::GraphSource> graph_;
  std::set<std::string> frozen_;  // service and period of the SLA reports known frozen
  std::int64_t resumed_ms_ = 0;    // when this collector's evaluation came back from its last gap
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace surveyor::collector::jobs
