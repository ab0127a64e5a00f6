// SPDX-License-Identifier: Apache-2.0
// SLA figures of a service over a calendar period (docs/sla.md): achieved
// availability against the target, downtime, allowed downtime and the
// error budget left. Periods are calendar weeks (ISO, from Monday), months
// and quarters in the SLA's time zone; only the service hours in them are
// agreed time.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/services/services.hpp"
#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::sla {

using Window = availability::Window;

struct Period {
  std::string name;                       // "2026-11", "2026-W48", "2026-Q4"
  std::int64_t start_ms = 0, end_ms = 0;  // local midnights, as UTC instants
  std::string time_zone = "UTC";          // the calendar the period is in
};

// The period of `kind` (week, month, quarter) holding t, in the calendar of
// `time_zone` (an IANA name); nullopt for another kind or an unknown zone.
[[nodiscard]] std::optional<Period> period_at(std::string_view kind, std::int64_t t_ms,
                                              std::string_view time_zone = "UTC");
// The period of the SLA's kind and zone holding t.
[[nodiscard]] std::optional<Period> period_at(const services::Sla& sla, std::int64_t t_ms);
// A period by name, which must be of `kind`; nullopt if malformed or the
// zone is unknown.
[[nodiscard]] std::optional<Period> period_named(std::string_view kind, std::string_view name,
                                                 std::string_view time_zone = "UTC");
[[nodiscard]] std::optional<Period> period_named(const services::Sla& sla, std::string_view name);

// The SLA's agreed windows within [from, to), as UTC intervals in order,
// disjoint and not touching: each local day's service hours converted with
// the SLA's zone (a local time that does not exist maps to the first instant
// after the gap, an ambiguous one to the earliest), clipped to [from, to).
// Without service hours, [from, to) itself. None for an unknown zone (which
// parse_service never lets through).
[[nodiscard]] std::vector<Window> service_windows(const services::Sla& sla, std::int64_t from_ms,
                                                  std::int64_t to_ms);

// An instant as local time in the zone, with its offset
// ("2026-10-01T00:00:00+02:00"); empty for an unknown zone.
[[nodiscard]] std::string local_time_text(std::string_view time_zone, std::int64_t t_ms);

struct Report {
  std::string service;
  Period period;
  bool closed = false;  // the period has ended
  double target_percent = 0;
  std::vector<std::string>
      service_hours;                 // as written ("Mon-Fri 08:00-18:00"); empty: all the time
  std::int64_t service_time_ms = 0;  // inside the service hours, so far
  std::int64_t agreed_ms = 0;        // service time minus maintenance in it
  std::int64_t downtime_ms = 0;      // down (and degraded, if the SLA says so) in the service hours
  std::int64_t maintenance_ms = 0;   // excluded from the agreed time
  std::int64_t unknown_ms = 0;       // reported apart (not downtime)
  std::optional<double> achieved_percent;  // (agreed - downtime) / agreed
  std::int64_t allowed_downtime_ms = 0;    // (1 - target) x agreed, so far
  std::int64_t budget_left_ms = 0;         // allowed - downtime (negative: breached)
  bool breached = false;
  // What the figures leave out: the maintenance and unknown stretches inside
  // the agreed windows (filled by evaluate(); at most 10,000, oldest first).
  std::vector<store::StateInterval> excluded;
  bool excluded_truncated = false;
};

// The figures so far (up to now) of a service's SLA in a period (of that
// SLA: from period_at/period_named with it), from its availability totals
// over the SLA's windows in [period start, min(end, now)).
[[nodiscard]] Report compute(const std::string& service, const services::Sla& sla,
                             const Period& period, const availability::Totals& totals,
                             std::int64_t now_ms);

// The same from the service's timeline (its intervals over at least
// [period start, min(end, now)); what they do not cover is unknown): the
// one entry point for reports, frozen reports and burn rates.
[[nodiscard]] Report evaluate(const std::string& service, const services::Sla& sla,
                              const Period& period,
                              const std::vector<store::StateInterval>& timeline,
                              std::int64_t now_ms);

// --- records: the report as JSON, frozen reports, burn rates (docs/sla.md) ---

// The report as the API shows it (JSON), and back (for stored versions).
[[nodiscard]] std::string report_json(const Report& r);
[[nodiscard]] core::Result<Report> report_from_json(std::string_view text);

// Error-budget burn rates over the last 5 min, 30 min, 1 h, 6 h and 3 days:
// (bad time / agreed time in the window, both inside the service hours) /
// (1 - target). The SRE workbook's thresholds for a 30-day period (14.4 over
// 1 h and 5 min, or 6 over 6 h and 30 min: page; 1 over 3 d and 6 h: ticket)
// are scaled by the period's length / 30 days, so each still means the same
// share of the period's budget spent.
struct BurnRates {
  double r5m = 0, r30m = 0, r1h = 0, r6h = 0, r3d = 0;
  double scale = 1;  // period length / 30 days
  bool page = false, ticket = false;
};
[[nodiscard]] BurnRates burn_rates(const services::Sla& sla, const Period& current,
                                   const std::vector<store::StateInterval>& timeline, std::int64_t now_ms);

// Freezes the report of each of the service's last three closed SLA
// periods that has none yet (version 1, by "surveyor"), if the service has a
// timeline in it.
// `done` remembers what is known to be frozen, so the store is asked once.
core::Result<std::size_t> freeze_closed(const store::Stores& stores, const services::Catalog& catalog,
                                        std::int64_t now_ms, std::set<std::string>& done);

// Recomputes a closed period's report; stores it as the next version (an
// amendment, or version 1 if none was frozen) when its figures differ from
// the latest stored version. `conflict` for a period still running.
struct Recomputed {
  store::SlaReportVersion version;  // the latest version after the call
  bool amended = false;             // a new version was stored
};
core::Result<Recomputed> recompute(const store::Stores& stores, const services::Service& service,
                                   const Period& period, const std::string& by, const std::string& reason,
                                   std::int64_t now_ms);

}  // namespace surveyor::collector::sla
