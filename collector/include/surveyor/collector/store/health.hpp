// SPDX-License-Identifier: Apache-2.0
// Whether a backend answers and what its settings put at risk.
#pragma once

#include <string>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// What the backend's own settings put at risk, as read from it.
struct Durability {
  // Ways an acknowledged write can be lost with these settings, each said
  // with the setting and what to set instead; empty when none.
  std::vector<std::string> warnings;
  // The backend deletes data under memory pressure (Redis's maxmemory-policy
  // other than noeviction): the collector refuses to start on it unless told to.
  bool evicting = false;
};

class StoreHealth {
 public:
  virtual ~StoreHealth() = default;
  // Cheap round trip to the backend.
  virtual core::Status ping() = 0;
  // Reads the backend's durability settings now (they can change while the
  // collector runs: Redis's CONFIG SET).
  virtual core::Result<Durability> durability() = 0;
  // "sqlite:/var/lib/surveyor/surveyor.db" or "redis://127.0.0.1:6379" (no secrets).
  [[nodiscard]] virtual std::string describe() const = 0;
};

}  // namespace surveyor::collector::store
