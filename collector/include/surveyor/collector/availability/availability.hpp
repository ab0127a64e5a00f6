// SPDX-License-Identifier: Apache-2.0
// Host availability from heartbeats (docs/sla.md): a host is down once
// nothing arrived for twice its heartbeat interval, in maintenance inside an
// approved change window of it, and unknown while the collector itself was
// not evaluating (its own outage is not the hosts' downtime). The states are
// kept as timelines of intervals per CI.
#pragma once

#include <cstdint>
#include <string>
#include <functional>
#include <map>
#include <vector>

#include "surveyor/collector/services/services.hpp"
#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::availability {

// What is known of a host at the end of a step.
struct Heartbeat {
  std::int64_t first_seen_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::int64_t interval_ms = 60'000;  // the agent's heartbeat interval
};

// The host's states over [from, to): up until last_seen + 2 x interval, down
// after; nothing before it was first seen. In order, touching, non-empty.
[[nodiscard]] std::vector<store::StateInterval> host_states(const std::string& ci, const Heartbeat& h,
                                                            std::int64_t from_ms, std::int64_t to_ms);

struct Report {
  std::size_t hosts = 0;
  std::size_t checks = 0;
  std::size_t services = 0;
  // Each subject's state at the end of the step: host CI ids, checks
  // ("check:CI/NAME") and services ("service:NAME").
  std::map<std::string, store::Availability> states;
  bool gap = false;  // the step was longer than max_gap: recorded as unknown
  std::int64_t from_ms = 0, to_ms = 0;
};

// A service's state from its members' states (docs/sla.md): per group,
// enough members up (up, or a degraded service) is up, or degraded when some
// are not; too few is down if a missing member is down, else unknown if one
// is unknown, else maintenance. The service takes its worst group (down,
// unknown, maintenance, degraded, up, in that order).
[[nodiscard]] store::Availability judge_service(const services::Service& s,
                                                const std::function<store::Availability(const std::string&)>& member);

// The subject of a host's check: "check:CI/NAME".
[[nodiscard]] std::string check_subject(std::string_view ci_id, std::string_view check);

// A service member "check:HOST/NAME" (the host by name or id) resolved to
// its host's CI id and the check's name; nullopt when the member is not of
// that form or names no host.
struct CheckRef {
  std::string host_id, name;
  [[nodiscard]] std::string subject() const { return check_subject(host_id, name); }
};
[[nodiscard]] core::Result<std::optional<CheckRef>> resolve_check(store::CmdbStore& cmdb, std::string_view member);

// A check's state from its latest result (Nagios states: OK up, WARNING
// degraded, CRITICAL down, UNKNOWN unknown), given its host's state: a check
// of a host that is not up is as unknown (or in maintenance) as the host.
[[nodiscard]] store::Availability check_state(double status, store::Availability host);

// One step: from the last evaluated time to now, for every host CI made by
// an agent (retired ones excepted) and its checks (results of the last day),
// then every service of `catalog` (if any) as of now. The first evaluation
// only sets the pulse.
// `resumed_ms`: when the collector came back from a gap (0: none known).
// Hosts get two heartbeat intervals from then before they are down, as from
// a heartbeat: their agents were perhaps waiting for the collector (as
// Zabbix's nodata() waits after a server start).
[[nodiscard]] core::Result<Report> evaluate(const store::Stores& stores, std::int64_t now_ms, std::int64_t max_gap_ms,
                                            const services::Catalog* catalog = nullptr, std::int64_t resumed_ms = 0);

// Time in each state within [from, to), from a timeline; what the timeline
// does not cover counts as unknown.
struct Totals {
  std::int64_t up_ms = 0, down_ms = 0, unknown_ms = 0, maintenance_ms = 0, degraded_ms = 0;
  // (up + degraded) / (up + degraded + down): a degraded service is up (an
  // SLA may say otherwise; that is for the SLA work); maintenance shrinks the
  // time that counts, unknown is reported apart; nullopt when nothing counts.
  [[nodiscard]] std::optional<double> availability() const;
};
[[nodiscard]] Totals totals(const std::vector<store::StateInterval>& timeline, std::int64_t from_ms, std::int64_t to_ms);

// A stretch of time [start, end), in Unix ms.
struct Window {
  std::int64_t start_ms = 0, end_ms = 0;
  friend bool operator==(const Window&, const Window&) = default;
};
// The same, summed over each of `windows` (in order and not overlapping, as
// sla::service_windows gives them): the time in each state inside them, what
// the timeline does not cover inside them unknown, nothing outside them.
[[nodiscard]] Totals totals(const std::vector<store::StateInterval>& timeline,
                            const std::vector<Window>& windows);

}  // namespace surveyor::collector::availability
