// SPDX-License-Identifier: Apache-2.0
// What one evaluation step finds, as incident signals (docs/incidents.md):
// hosts, checks and services down or back, capacity events open or over,
// unauthorised changes seen; each with its impact (from the CMDB's
// dependency graph and the services' criticality) and urgency (from the
// SLAs), and, when it only fails because of another failing CI, that cause.
#pragma once

#include <cstdint>
#include <vector>

#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/impact/impact.hpp"
#include "surveyor/collector/incidents/incidents.hpp"
#include "surveyor/collector/services/services.hpp"

namespace surveyor::collector::incidents {

struct StepContext {
  const store::Stores* stores = nullptr;
  const services::Catalog* catalog = nullptr;  // may be null
  const impact::Graph* graph = nullptr;        // may be null: no dependencies known
  const availability::Report* step = nullptr;  // the availability step just evaluated
};

// Impact (1 high .. 3 low) and urgency of `subject` failing now, given the
// states of the step: high impact when a critical or high service goes down
// with it or five or more services are affected, medium when any service is
// affected, low otherwise; urgency high when a service with an SLA goes
// down, medium when a service is affected or the subject itself is down,
// low otherwise.
struct Weight {
  int impact = 3, urgency = 3;
};
[[nodiscard]] Weight weigh(const StepContext& c, const std::string& subject);

// The signals of one step. Capacity and unauthorised-change signals need the
// active incidents (to clear those whose event is over).
core::Result<std::vector<Signal>> gather(const StepContext& c);

}  // namespace surveyor::collector::incidents
