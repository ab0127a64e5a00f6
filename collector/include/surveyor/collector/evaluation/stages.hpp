// SPDX-License-Identifier: Apache-2.0
// The stages of one evaluation step (docs/architecture.md, "Evaluation"), in
// the order the Evaluator runs them: availability, SLA freeze, signals,
// incident lifecycle, notify. Each can be run and tested on its own; those
// that remember something between steps are small classes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/evaluation/signals.hpp"
#include "surveyor/collector/impact/impact.hpp"
#include "surveyor/collector/incidents/incidents.hpp"
#include "surveyor/collector/services/services.hpp"
#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::evaluation {

// 1. Host, check and service states from the last evaluated time to now,
// appended to their timelines (availability::evaluate). Remembers when the
// evaluation came back from its last gap, so hosts get two heartbeat
// intervals from then before they are down.
class AvailabilityStage {
 public:
  AvailabilityStage(store::Stores stores, std::shared_ptr<services::Catalog> catalog, std::int64_t max_gap_ms);
  core::Result<availability::Report> run(std::int64_t now_ms);
  [[nodiscard]] std::int64_t resumed_ms() const { return resumed_ms_; }

 private:
  store::Stores stores_;
  std::shared_ptr<services::Catalog> catalog_;
  std::int64_t max_gap_ms_;
  std::int64_t resumed_ms_ = 0;
};

// 2. Freezes the report of every SLA period that has just closed
// (sla::freeze_closed); how many were frozen. Remembers the periods it has
// dealt with, so it asks the store once per service and period. Nothing
// without services.
class SlaFreezeStage {
 public:
  SlaFreezeStage(store::Stores stores, std::shared_ptr<services::Catalog> catalog);
  core::Result<std::size_t> run(const availability::Report& step);

 private:
  store::Stores stores_;
  std::shared_ptr<services::Catalog> catalog_;
  std::set<std::string> frozen_;
};

// 3. The signals of the step (gather, signals.hpp), weighed on the
// dependency graph, which it keeps between steps and rebuilds when the
// relationships or the services change.
class SignalStage {
 public:
  SignalStage(store::Stores stores, std::shared_ptr<services::Catalog> catalog);
  core::Result<Signals> run(const availability::Report& step);

 private:
  store::Stores stores_;
  std::shared_ptr<services::Catalog> catalog_;
  impact::GraphSource graph_;
};

// 4. The incident lifecycle: the signals applied to the incidents, then the
// incidents clear for the hold-down resolved. Adds the notices to
// `notices` as they are written, so on a failure what was written before it
// is there to be sent all the same.
core::Status apply_lifecycle(store::IncidentStore& st, Signals signals, std::int64_t now_ms,
                             const incidents::Options& o, std::vector<incidents::Notice>& notices);

// 5. Hands the notices of a step to whoever sends them (the webhook
// notifier, which queues them and returns at once); how many were handed
// over (none when there are none, or nobody to take them).
using NoticeSink = std::function<void(const std::vector<incidents::Notice>&)>;
std::size_t send_notices(const std::vector<incidents::Notice>& notices, const NoticeSink& sink);

}  // namespace surveyor::collector::evaluation
