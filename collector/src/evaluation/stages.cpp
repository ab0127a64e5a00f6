// SPDX-License-Identifier: Apache-2.0
// The stages of an evaluation step: each calls the module that does the
// work (availability, sla, the signals, incidents, the notifier's sink) and
// keeps what it must remember between steps.
#include "surveyor/collector/evaluation/stages.hpp"

#include "surveyor/collector/sla/sla.hpp"

namespace surveyor::collector::evaluation {

AvailabilityStage::AvailabilityStage(store::Stores stores, std::shared_ptr<services::Catalog> catalog,
                                     std::int64_t max_gap_ms)
    : stores_(std::move(stores)), catalog_(std::move(catalog)), max_gap_ms_(max_gap_ms) {}

core::Result<availability::Report> AvailabilityStage::run(std::int64_t now_ms) {
  auto r = availability::evaluate(stores_, now_ms, max_gap_ms_, catalog_.get(), resumed_ms_);
  if (r && r->gap) resumed_ms_ = r->to_ms;
  return r;
}

SlaFreezeStage::SlaFreezeStage(store::Stores stores, std::shared_ptr<services::Catalog> catalog)
    : stores_(std::move(stores)), catalog_(std::move(catalog)) {}

core::Result<std::size_t> SlaFreezeStage::run(const availability::Report& step) {
  if (!catalog_) return std::size_t{0};
  return sla::freeze_closed(stores_, *catalog_, step.to_ms, frozen_);
}

SignalStage::SignalStage(store::Stores stores, std::shared_ptr<services::Catalog> catalog)
    : stores_(std::move(stores)), catalog_(std::move(catalog)), graph_(stores_, catalog_) {}

core::Result<Signals> SignalStage::run(const availability::Report& step) {
  std::shared_ptr<const impact::Graph> graph;
  if (catalog_) {
    auto g = graph_.graph(step.to_ms);
    if (!g) return std::move(g).error();
    graph = std::move(*g);
  }
  const StepContext ctx{&stores_, catalog_.get(), graph.get(), &step};
  return gather(ctx);
}

core::Status apply_lifecycle(store::IncidentStore& st, Signals signals, std::int64_t now_ms,
                             const incidents::Options& o, std::vector<incidents::Notice>& notices) {
  if (auto applied = incidents::apply_into(st, std::move(signals), now_ms, o, notices); !applied) return applied;
  return incidents::resolve_recovered_into(st, now_ms, o, notices);
}

std::size_t send_notices(const std::vector<incidents::Notice>& notices, const NoticeSink& sink) {
  if (!sink || notices.empty()) return 0;
  sink(notices);
  return notices.size();
}

}  // namespace surveyor::collector::evaluation
