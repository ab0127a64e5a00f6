// SPDX-License-Identifier: Apache-2.0
// The signals stage of the evaluation step (docs/incidents.md, "Kinds and
// what raises them"): what one step found, as incident signals, from four
// sources: the availability states of hosts, checks and services; the open
// capacity events; the SLAs' burn rates and spent budgets; the unauthorised
// changes recorded in the step. Each signal carries its impact (from the
// CMDB's dependency graph and the services' criticality) and urgency (from
// the SLAs) and, when it only fails because of another failing CI, that cause.
#pragma once

#include <string>
#include <vector>

#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/impact/impact.hpp"
#include "surveyor/collector/incidents/incidents.hpp"
#include "surveyor/collector/services/services.hpp"

namespace surveyor::collector::evaluation {

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

using Signals = std::vector<incidents::Signal>;

// Hosts, checks and services: down fires, up or degraded clears, unknown
// and maintenance say nothing. A step after a gap says nothing of them.
// A host is linked to a CI it depends on that is down, a service to its
// first member that is down.
core::Result<Signals> availability_signals(const StepContext& c);
// Every open capacity event fires; an active capacity incident whose event
// is no longer open gets a clear signal.
core::Result<Signals> capacity_signals(const StepContext& c);
// For every service with an SLA: SLA-risk while its error budget burns fast
// enough to page or open a ticket, and SLA-breach (one per period, closed
// out by a person) once the downtime reaches what the whole period allows.
core::Result<Signals> sla_signals(const StepContext& c);
// The audit alerts of the step (and the minute before it), one signal per
// CI, closed out by a person.
core::Result<Signals> change_signals(const StepContext& c);

// The signals of one step: the four sources above, in that order.
core::Result<Signals> gather(const StepContext& c);

}  // namespace surveyor::collector::evaluation
