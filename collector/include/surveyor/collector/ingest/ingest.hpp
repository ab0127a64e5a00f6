// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "surveyor/collector/store/model.hpp"
#include "surveyor/wire/report.hpp"

namespace surveyor::collector::ingest {

// The id of the host CI for a host.id (/etc/machine-id). Derived, so every
// collector computes the same one, and hashed, because machine-id is meant to
// stay private to the host.
[[nodiscard]] std::string host_ci_id(std::string_view host_id);

// The host CI attributes an inventory gives, with the prefixes each collected
// section owns. Failed and unchanged sections contribute nothing, so what was
// known before stays.
[[nodiscard]] store::CiUpdate host_update(const std::string& ci_id, const wire::Inventory* inventory,
                                          std::int64_t seen_at_ms);

// Everything a decoded, authenticated report changes in the store: the host
// CI (seen now, and its inventory if present), its samples, and check results
// as samples (surveyor.check.status 0..3 and surveyor.check.duration).
[[nodiscard]] store::ReportBatch to_batch(const wire::Report& report, const store::AgentRecord& agent,
                                          std::int64_t received_at_ms);

// Whether the collector should ask for the full inventory in the ack: the
// agent's inventory digest differs from the one the held sections give
// (a failed section counts as "no data", as the agent counts it).
[[nodiscard]] bool inventory_wanted(const wire::Report& report, const std::vector<store::InventorySection>& held);

}  // namespace surveyor::collector::ingest
