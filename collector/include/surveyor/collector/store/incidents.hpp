// SPDX-License-Identifier: Apache-2.0
// Incidents (kinds, states, timeline, filter, stored document), webhook
// deliveries, and their store.
#pragma once

#include <climits>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

// --- incidents (docs/incidents.md) ---------------------------------------------

enum class IncidentKind { availability, capacity, capacity_forecast, sla_risk, sla_breach, unauthorised_change };
[[nodiscard]] std::string_view to_string(IncidentKind k);  // "capacity-forecast", "SLA-risk", ...
[[nodiscard]] std::optional<IncidentKind> incident_kind_from(std::string_view s);

enum class IncidentState { open, acknowledged, resolved, closed };
[[nodiscard]] std::string_view to_string(IncidentState s);
[[nodiscard]] std::optional<IncidentState> incident_state_from(std::string_view s);
// Open or acknowledged: the condition is (or may be) still there.
[[nodiscard]] inline bool is_active(IncidentState s) {
  return s == IncidentState::open || s == IncidentState::acknowledged;
}

// One entry of an incident's timeline: what happened, when, by whom.
struct IncidentEvent {
  std::int64_t time_ms = 0;
  std::string by;      // "surveyor" for the evaluation, else the person
  std::string action;  // opened, acknowledged, resolved, closed, reopened, comment, recovered, relapsed,
                       // priority, linked, unlinked
  std::string text;
  friend bool operator==(const IncidentEvent&, const IncidentEvent&) = default;
};

struct Incident {
  std::string id;  // "INC-42", numbered by the store
  IncidentKind kind = IncidentKind::availability;
  std::string key;      // dedup key "KIND:SUBJECT:RULE": one active incident per key
  std::string subject;  // the CI id or "service:NAME"
  std::string rule;     // what fired: heartbeat, check:NAME, service, a capacity rule, burn-rate, a period
  std::string summary;
  int impact = 3, urgency = 3;  // 1 high, 2 medium, 3 low
  int priority = 5;             // 1 (critical) .. 5 (planning), from the matrix
  IncidentState state = IncidentState::open;
  std::int64_t opened_ms = 0, updated_ms = 0, acknowledged_ms = 0, resolved_ms = 0, closed_ms = 0;
  // When the condition cleared while the incident is active (0: it holds);
  // the incident resolves once it stayed clear for the hold-down.
  std::int64_t recovered_ms = 0;
  // Suppressed: the incident of the CI this one fails because of (no page
  // of its own; it travels in that incident's notifications).
  std::string parent;
  int reopened = 0;
  std::vector<IncidentEvent> timeline;  // oldest first
  friend bool operator==(const Incident&, const Incident&) = default;
};

struct IncidentFilter {
  std::vector<IncidentState> states;  // empty: any
  std::optional<IncidentKind> kind;
  std::string subject;                      // empty: any
  int max_priority = 5;                     // priority <= this (1 is the highest)
  std::int64_t opened_from_ms = INT64_MIN;  // from <= opened < to
  std::int64_t opened_to_ms = INT64_MAX;
  std::size_t limit = 100;  // newest opened first
};

// The JSON document an incident is stored as (and the API shows).
[[nodiscard]] std::string incident_to_json(const Incident& i);
[[nodiscard]] core::Result<Incident> incident_from_json(std::string_view text);

// One attempt to deliver a webhook message.
struct Delivery {
  std::int64_t time_ms = 0;
  std::string webhook;     // its name in the configuration
  std::string message_id;  // the same for every attempt of one message
  std::vector<std::string> incidents;
  int attempt = 1;
  int status = 0;  // HTTP status; 0: no answer
  std::string error;
  bool delivered = false;
  friend bool operator==(const Delivery&, const Delivery&) = default;
};

// The webhook delivery log keeps this many newest attempts.
inline constexpr std::size_t kDeliveryLogSize = 10'000;

class IncidentStore {
 public:
  virtual ~IncidentStore() = default;
  // Given the incident to change (or nullopt), returns what to store
  // (nullopt: leave it as it is). It runs while the store holds the write,
  // so it must not call the store; it may run more than once (Redis retries
  // after a lost race), so it must have no other effects.
  using Change = std::function<std::optional<Incident>(const std::optional<Incident>&)>;
  // Passes the newest incident with dedup key `key` (any state; nullopt if
  // none) to `change` and stores its answer, atomically against every other
  // writer of that key. An answer without id is a new incident: the store
  // numbers it ("INC-1", "INC-2", ...). Returns what was stored, if anything.
  virtual core::Result<std::optional<Incident>> update_incident_by_key(std::string_view key, const Change& change) = 0;
  // The same for the incident `id` (`not_found` if there is none).
  virtual core::Result<std::optional<Incident>> update_incident(std::string_view id, const Change& change) = 0;
  virtual core::Result<std::optional<Incident>> find_incident(std::string_view id) = 0;
  // Newest opened first.
  virtual core::Result<std::vector<Incident>> list_incidents(const IncidentFilter& f) = 0;

  // The webhook delivery log: every attempt, kept for the newest 10,000.
  virtual core::Status record_delivery(const Delivery& d) = 0;
  // Newest first.
  virtual core::Result<std::vector<Delivery>> list_deliveries(std::size_t limit) = 0;
};

}  // namespace surveyor::collector::store

namespace surveyor::collector::store {

// The write protocol of IncidentStore's updates, the same on every backend:
// `old` is what the store holds (by dedup key, or by `id_asked`), `change`
// says what it becomes. Returns nullopt when nothing is to be written,
// not_found for an id that is not there, invalid for a change that would
// give an incident another id; a new incident is numbered "INC-N" with N
// from `next_number` (called only then, inside the store's transaction).
core::Result<std::optional<Incident>> incident_update(const std::optional<Incident>& old, std::string_view id_asked,
                                                      const IncidentStore::Change& change,
                                                      const std::function<core::Result<std::int64_t>()>& next_number);

}  // namespace surveyor::collector::store
