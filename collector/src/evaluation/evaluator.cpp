// SPDX-License-Identifier: Apache-2.0
// The evaluation step as a pipeline of its stages (stages.hpp).
//
// Design: the Evaluator is used by one thread at a time (the housekeeper's,
// or a test's); what it remembers between steps lives in its stages. A
// failing stage stops the stages that need its result, and is in the
// report; the notices the lifecycle wrote before a failure are sent all the
// same, since those incidents are in the store. Sending never waits on a
// receiver: the sink queues.
#include "surveyor/collector/evaluation/evaluator.hpp"

#include <chrono>

#include "surveyor/core/names.hpp"

namespace surveyor::collector::evaluation {
namespace {

using Steady = std::chrono::steady_clock;

double seconds_since(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }

// Runs one stage and notes its outcome and time; its result is passed on.
template <class F>
auto timed(StepReport& r, Stage stage, F&& run) {
  const auto started = Steady::now();
  auto result = run();
  StageReport s;
  s.stage = stage;
  s.seconds = seconds_since(started);
  if (!result) s.status = result.error();
  r.stages.push_back(std::move(s));
  return result;
}

}  // namespace

std::string_view to_string(Stage s) {
  static constexpr core::Names<Stage, 5> kNames{{{{Stage::availability, "availability"},
                                                 {Stage::sla_freeze, "sla_freeze"},
                                                 {Stage::signals, "signals"},
                                                 {Stage::lifecycle, "lifecycle"},
                                                 {Stage::notify, "notify"}}}};
  return kNames.name(s);
}

const StageReport* StepReport::stage(Stage s) const {
  for (const StageReport& r : stages)
    if (r.stage == s) return &r;
  return nullptr;
}

core::Status StepReport::status() const {
  for (const StageReport& r : stages)
    if (!r.status) return r.status;
  return {};
}

Evaluator::Evaluator(store::Stores stores, Options o)
    : options_(std::move(o)),
      stores_(std::move(stores)),
      availability_(stores_, options_.catalog, options_.availability_gap.count()),
      freeze_(stores_, options_.catalog),
      signals_(stores_, options_.catalog) {}

StepReport Evaluator::run(std::int64_t now_ms) {
  StepReport r;
  auto step = timed(r, Stage::availability, [&] { return availability_.run(now_ms); });
  if (!step) return r;
  r.stages.back().count = step->states.size();
  r.availability = std::move(*step);
  const availability::Report& a = r.availability;
  if (!options_.incidents_enabled || a.to_ms <= a.from_ms) return r;

  auto frozen = timed(r, Stage::sla_freeze, [&] { return freeze_.run(a); });
  if (frozen) {
    r.stages.back().count = *frozen;
    auto signals = timed(r, Stage::signals, [&] { return signals_.run(a); });
    if (signals) {
      r.stages.back().count = signals->size();
      // A failure is in the report; what was written before it is sent below.
      (void)timed(r, Stage::lifecycle, [&] {
        return apply_lifecycle(*stores_.incidents, std::move(*signals), a.to_ms, options_.incidents, r.notices);
      });
      r.stages.back().count = r.notices.size();
    }
  }
  std::size_t sent = 0;
  (void)timed(r, Stage::notify, [&] {
    sent = send_notices(r.notices, options_.notify);
    return core::Status{};
  });
  r.stages.back().count = sent;
  return r;
}

}  // namespace surveyor::collector::evaluation
