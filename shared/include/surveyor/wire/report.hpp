// SPDX-License-Identifier: Apache-2.0
// The report message (samples, check results, inventory) and the collector's acknowledgement.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "surveyor/wire/inventory.hpp"
#include "surveyor/wire/types.hpp"

namespace surveyor::wire {

// What an agent posts every report interval (POST /api/v1/reports).
struct Report {
  std::string agent_id;
  std::uint64_t sequence = 0;  // per agent, from 1, never reused
  std::int64_t sent_at_ms = 0;
  std::uint32_t heartbeat_interval_s = 0;  // the agent's report interval
  std::string agent_version;
  std::string inventory_digest;  // of the agent's current full inventory
  std::optional<Inventory> inventory;  // full, or only the changed sections
  std::vector<Series> series;
  std::vector<CheckResult> checks;
  friend bool operator==(const Report&, const Report&) = default;
};

// The collector's answer once a report is durable (202).
struct ReportAck {
  std::uint64_t sequence = 0;
  bool duplicate = false;  // already stored earlier; nothing was written
  bool inventory_wanted = false;  // send the full inventory in the next report
  friend bool operator==(const ReportAck&, const ReportAck&) = default;
};

}  // namespace surveyor::wire
