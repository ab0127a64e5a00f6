// SPDX-License-Identifier: Apache-2.0
// One evaluation step (docs/architecture.md, "Evaluation"): availability,
// SLA freeze, signals, incident lifecycle, notify, run in that order by the
// Evaluator, which answers what each stage did. Whoever schedules it (the
// housekeeper) decides when, and whether this collector holds the lease.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "surveyor/collector/evaluation/stages.hpp"

namespace surveyor::collector::evaluation {

struct Options {
  // A step longer than this means the collector was not running: its time
  // is recorded as unknown.
  std::chrono::milliseconds availability_gap{60'000};
  // Services whose availability is evaluated too (none when null).
  std::shared_ptr<services::Catalog> catalog;
  // Incidents from each step (docs/incidents.md), and where their notices go.
  bool incidents_enabled = true;
  incidents::Options incidents;
  NoticeSink notify;
};

enum class Stage { availability, sla_freeze, signals, lifecycle, notify };
[[nodiscard]] std::string_view to_string(Stage s);

// What one stage did. `count`: the subjects whose state was evaluated
// (availability), the reports frozen (SLA freeze), the signals gathered
// (signals), the notices written (lifecycle), the notices handed over
// (notify).
struct StageReport {
  Stage stage = Stage::availability;
  core::Status status;
  double seconds = 0;
  std::size_t count = 0;
};

struct StepReport {
  // The stages that ran, in order. After a failure the stages that need its
  // result do not run; notify still does, with what was written.
  std::vector<StageReport> stages;
  availability::Report availability;      // when that stage succeeded
  std::vector<incidents::Notice> notices;  // what the lifecycle wrote
  [[nodiscard]] const StageReport* stage(Stage s) const;
  // The first failure, if any.
  [[nodiscard]] core::Status status() const;
};

class Evaluator {
 public:
  Evaluator(store::Stores stores, Options o);
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  // One step from the last evaluated time to now_ms. The incident stages run
  // only when incidents are enabled and the step covers some time (the very
  // first evaluation of a store only starts the pulse).
  StepReport run(std::int64_t now_ms);

 private:
  Options options_;
  store::Stores stores_;
  AvailabilityStage availability_;
  SlaFreezeStage freeze_;
  SignalStage signals_;
};

}  // namespace surveyor::collector::evaluation
