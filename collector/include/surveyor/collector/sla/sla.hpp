// SPDX-License-Identifier: Apache-2.0
// SLA figures of a service over a calendar period (docs/sla.md): achieved
// availability against the target, downtime, allowed downtime and the
// error budget left. Periods are calendar weeks (ISO, from Monday), months
// and quarters in UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/services/services.hpp"

namespace surveyor::collector::sla {

struct Period {
  std::string name;  // "2026-11", "2026-W48", "2026-Q4"
  std::int64_t start_ms = 0, end_ms = 0;
};

// The period of `kind` (week, month, quarter) holding t.
[[nodiscard]] std::optional<Period> period_at(std::string_view kind, std::int64_t t_ms);
// A period by name, which must be of `kind`; nullopt if malformed.
[[nodiscard]] std::optional<Period> period_named(std::string_view kind, std::string_view name);

struct Report {
  std::string service;
  Period period;
  bool closed = false;  // the period has ended
  double target_percent = 0;
  std::int64_t agreed_ms = 0;       // elapsed period time minus maintenance
  std::int64_t downtime_ms = 0;     // down (and degraded, if the SLA says so)
  std::int64_t maintenance_ms = 0;  // excluded from the agreed time
  std::int64_t unknown_ms = 0;      // reported apart (not downtime)
  std::optional<double> achieved_percent;  // (agreed - downtime) / agreed
  std::int64_t allowed_downtime_ms = 0;    // (1 - target) x agreed, so far
  std::int64_t budget_left_ms = 0;         // allowed - downtime (negative: breached)
  bool breached = false;
};

// The figures so far (up to now) of a service's SLA in a period, from its
// availability timeline totals over [period start, min(end, now)).
[[nodiscard]] Report compute(const std::string& service, const services::Sla& sla, const Period& period,
                             const availability::Totals& totals, std::int64_t now_ms);

}  // namespace surveyor::collector::sla
