// SPDX-License-Identifier: Apache-2.0
// Capacity events: one open per rule and series, and their store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/collector/store/series.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

// A capacity condition met by one series of a CI: raised by a capacity rule,
// one open per (rule, CI, series); resolved when the condition clears.
struct CapacityEvent {
  std::string id;
  std::string kind;  // capacity (sustained breach) or capacity-forecast
  std::string rule;
  std::string ci_id;
  std::string metric;
  Labels attributes;
  std::string state;  // open or resolved
  std::int64_t opened_ms = 0;
  std::int64_t updated_ms = 0;  // last evaluation that found the condition
  std::int64_t resolved_ms = 0;
  double threshold = 0;
  double value = 0;  // the figure that breached: lowest value in the window, or the latest for a forecast
  std::optional<std::int64_t> predicted_ms;  // forecast: when the threshold is reached
  std::string summary;
  friend bool operator==(const CapacityEvent&, const CapacityEvent&) = default;
};

// The identity an open event is de-duplicated on.
[[nodiscard]] std::string event_key(std::string_view rule, const SeriesKey& series);

struct EventFilter {
  std::string state;  // empty: any
  std::string ci_id;  // empty: any
  std::string kind;   // empty: any
  std::size_t limit = 100;
};

class EventStore {
 public:
  virtual ~EventStore() = default;
  // Opens `e` (its id, state and times are set here) unless an event with the
  // same rule and series is open; then that one is updated (value, predicted
  // time, summary, updated_ms) instead. Returns the event as stored and
  // whether it was opened by this call. Atomic across collectors.
  virtual core::Result<std::pair<CapacityEvent, bool>> raise_event(const CapacityEvent& e, std::int64_t now_ms) = 0;
  // Resolves the open event with this rule and series, if any.
  virtual core::Result<std::optional<CapacityEvent>> resolve_event(std::string_view rule, const SeriesKey& series,
                                                                   std::int64_t now_ms) = 0;
  // Newest first. Open events are read through their own index, so the
  // evaluation's listing costs what is open, not what was ever raised.
  virtual core::Result<std::vector<CapacityEvent>> list_events(const EventFilter& f) = 0;
  // Deletes resolved events resolved before the instant; open ones stay
  // however old. Returns how many went.
  virtual core::Result<std::size_t> prune_events(std::int64_t resolved_before_ms) = 0;
  // The capacity evaluation's latest hot spots (a JSON document the
  // evaluator writes; docs/api.md), kept in the store so that every
  // collector answers with the one the evaluation lease holder made.
  virtual core::Status save_hot_spots(std::string_view json, std::int64_t now_ms) = 0;
  // The document and when it was saved; nullopt before the first evaluation.
  virtual core::Result<std::optional<std::pair<std::string, std::int64_t>>> hot_spots() = 0;
};

}  // namespace surveyor::collector::store
