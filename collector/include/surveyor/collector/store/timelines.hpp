// SPDX-License-Identifier: Apache-2.0
// Availability timelines, the evaluation lease, and their stores.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

// --- availability (docs/sla.md) ------------------------------------------------

// degraded: a service still up on part of its redundancy.
enum class Availability { up, down, unknown, maintenance, degraded };
[[nodiscard]] std::string_view to_string(Availability a);
[[nodiscard]] std::optional<Availability> availability_from(std::string_view s);

// A stretch of time [start, end) in one state, of a subject: a CI id or
// "service:NAME".
struct StateInterval {
  std::string subject;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  Availability state = Availability::unknown;
  friend bool operator==(const StateInterval&, const StateInterval&) = default;
};

class TimelineStore {
 public:
  virtual ~TimelineStore() = default;
  // Records that each subject was in its state over [start, end), in order.
  // The part already recorded (before the subject's last end) is ignored, so
  // repeating a call changes nothing; a stretch in the same state as the last
  // one, starting where it ends, extends it. One transaction on SQLite, one
  // round trip on Redis (atomic per interval there).
  virtual core::Status record_states(const std::vector<StateInterval>& states) = 0;
  core::Status record_state(std::string_view subject, Availability state, std::int64_t from_ms, std::int64_t to_ms) {
    return record_states({{std::string(subject), from_ms, to_ms, state}});
  }
  // Intervals overlapping [from, to), oldest first (not clipped).
  virtual core::Result<std::vector<StateInterval>> read_timeline(std::string_view subject, std::int64_t from_ms,
                                                                 std::int64_t to_ms) = 0;
  // The time up to which availability was last evaluated (0: never), and
  // setting it: the collector's own pulse, so a gap is known as unknown.
  virtual core::Result<std::int64_t> evaluated_until() = 0;
  virtual core::Status set_evaluated_until(std::int64_t t_ms) = 0;
};

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;
  // Takes or renews the lease `name` for `holder` until now + ttl: true if
  // `holder` has it now, false while another holder's lease runs. So of
  // several collectors sharing a store one does a periodic job.
  virtual core::Result<bool> acquire_lease(std::string_view name, std::string_view holder, std::int64_t now_ms,
                                           std::int64_t ttl_ms) = 0;
};

}  // namespace surveyor::collector::store
