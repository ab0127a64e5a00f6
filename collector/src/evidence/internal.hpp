// SPDX-License-Identifier: Apache-2.0
// What the clauses' reports are built with: the parts of a document, the
// readings of the stores they share, and one builder per clause.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/evidence/evidence.hpp"
#include "surveyor/collector/sla/sla.hpp"

namespace surveyor::collector::evidence::detail {

namespace json = boost::json;

// Rows a table lists at most; its figures still count every row.
inline constexpr std::size_t kMaxRows = 5'000;
// Audit entries, incidents, changes or events a report reads at most in one period.
inline constexpr std::size_t kMaxRead = 200'000;

// RFC 3339, or null for 0 (never).
[[nodiscard]] json::value opt_time(std::int64_t ms);
// A percentage rounded to 4 decimals, or null.
[[nodiscard]] json::value percent(std::optional<double> v);
[[nodiscard]] inline double seconds(std::int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// The parts every clause's document is made of.
struct Builder {
  json::array figures, tables, sources, method;
  void figure(std::string_view name, std::string_view label, json::value v);
  void table(std::string_view name, std::string_view title, std::initializer_list<std::string_view> columns,
             std::vector<json::array> rows);
};

// Audit entries of the period (only unauthorised ones, if asked), oldest first.
[[nodiscard]] core::Result<std::vector<store::AuditRecord>> audit_in(const store::Stores& s, const Period& p,
                                                                     bool unauthorized);
// Incidents opened in [from, to), oldest first.
[[nodiscard]] core::Result<std::vector<store::Incident>> incidents_opened_in(const store::Stores& s,
                                                                            std::int64_t from, std::int64_t to);
// Incidents opened before `to`, newest first (at most `limit`): what the
// KPIs of every period that ends by `to` are computed from.
[[nodiscard]] core::Result<std::vector<store::Incident>> incidents_before(const store::Stores& s, std::int64_t to,
                                                                         std::size_t limit = kMaxRead);
// The incident KPIs of [from, to) (incidents::kpis) from such a list, with
// the up time of the subjects that failed read for the MTBF.
[[nodiscard]] core::Result<incidents::Kpis> kpis_of(const store::Stores& s, const std::vector<store::Incident>& before,
                                                    std::int64_t from, std::int64_t to, std::int64_t now_ms);
// A subject's availability totals over [from, min(to, now)).
[[nodiscard]] core::Result<availability::Totals> totals_of(const Context& c, const std::string& subject,
                                                           std::int64_t from, std::int64_t to);

// Where an incident stands against its priority's target, to acknowledge or
// to resolve: done in time, late (done late, or not done and the target
// passed, or resolved without acknowledgement), or pending.
enum class Timeliness { within, late, pending };
struct IncidentTimeliness {
  Timeliness acknowledge = Timeliness::pending, resolve = Timeliness::pending;
};
[[nodiscard]] IncidentTimeliness timeliness(const store::Incident& i, const Targets& targets, std::int64_t now_ms);

// One SLA period of a service as the 8.3.3 report shows it: the frozen
// report's latest version, else the figures computed at generation.
struct SlaResult {
  std::string service;
  sla::Report report;
  std::string record;  // frozen, amended, not frozen, running
  std::vector<store::SlaReportVersion> versions;  // as stored, oldest first
};
// The SLA periods of every service with an SLA that end in the period
// (running ones included), services in catalog order.
[[nodiscard]] core::Result<std::vector<SlaResult>> sla_results(const Context& c, const Period& p);

// Records read at most kMaxRead, newest first: `truncated` says the store
// held more than were read (the oldest then are missing).
template <class T>
struct Read {
  std::vector<T> items;
  bool truncated = false;
};

// Change records whose window overlaps the period, by start, oldest first.
[[nodiscard]] core::Result<Read<store::ChangeRecord>> changes_in(const store::Stores& s, const Period& p);

// Capacity events that were open at some time in the period, oldest first.
[[nodiscard]] core::Result<Read<store::CapacityEvent>> events_in(const store::Stores& s, const Period& p);

// The state each CI whose state changed at or after `end` had at `end`
// ("active", "missing", "retired"): its state now with the changes since
// undone, read back through the audit trail. CIs not in the map had the
// state they have now.
[[nodiscard]] core::Result<std::map<std::string, std::string>> states_at(const store::Stores& s, std::int64_t end);

// The clauses' builders.
core::Status configuration(const Context& c, const Period& p, Builder& b);           // 8.2.6
core::Status service_level(const Context& c, const Period& p, Builder& b);           // 8.3.3
core::Status capacity_plan(const Context& c, const Period& p, Builder& b);           // 8.4.3
core::Status change_management(const Context& c, const Period& p, Builder& b);       // 8.5.1
core::Status incident_management(const Context& c, const Period& p, Builder& b);     // 8.6.1
core::Status availability_management(const Context& c, const Period& p, Builder& b); // 8.7.1
core::Status review(const Context& c, const Period& p, Builder& b);                  // 9.1

// The period before `p`, of the same kind (month, ISO week, quarter, year,
// or as many days); nullopt before the calendar's start.
[[nodiscard]] std::optional<Period> previous_period(const Period& p);

}  // namespace surveyor::collector::evidence::detail
