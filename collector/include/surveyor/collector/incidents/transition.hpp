// SPDX-License-Identifier: Apache-2.0
// The incident lifecycle of docs/incidents.md as pure functions: given the
// newest incident of a condition (or none), what the evaluation found and
// the time, the incident to write and the notice to send. No store access:
// apply_into and resolve_recovered_into run them inside the store's atomic
// update.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "surveyor/collector/incidents/incidents.hpp"

namespace surveyor::collector::incidents {

struct Transition {
  std::optional<store::Incident> next;  // what to write; nullopt: nothing changes
  // The notice it makes ("" for none): opened, reopened, escalated,
  // unlinked, resolved. A new incident has no id yet: the store numbers it.
  std::string notice;
};

// A signal applied to the newest incident of its key (`current`, none when
// the key has never had one). `parent` is the id of the active incident the
// signal's cause names, if that one's condition still holds ("" otherwise):
// the incident is linked to it, or unlinked when it had another.
//
// Firing: no incident, a closed one or one resolved longer than the re-open
// window ago opens a new one; a resolved one within the window re-opens;
// an active one relapses (when recovered), changes priority (escalated when
// it rises), links or unlinks, and takes the new summary. Evidence
// (observed_ms) not newer than a resolution or closing changes nothing.
// Clear: an active incident that can clear is marked recovered.
[[nodiscard]] Transition transition(const std::optional<store::Incident>& current, const Signal& s,
                                    const std::string& parent, std::int64_t now_ms, const Options& o);

// The hold-down: an active incident whose condition has stayed clear for
// o.hold_down_ms resolves.
[[nodiscard]] Transition hold_down(const std::optional<store::Incident>& current, std::int64_t now_ms,
                                   const Options& o);

}  // namespace surveyor::collector::incidents
