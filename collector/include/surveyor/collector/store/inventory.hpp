// SPDX-License-Identifier: Apache-2.0
// Inventory sections of a host CI, how a report updates them, and their store.
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

// One inventory section of a CI as the collector holds it. `digest` and
// `data_json` describe the last data received; `state` says what the latest
// report said (a failed section keeps its old data).
struct InventorySection {
  std::string name;
  std::string state;  // collected, empty, failed, unchanged
  std::string reason;
  std::string digest;
  std::string data_json;
  std::int64_t updated_ms = 0;
  friend bool operator==(const InventorySection&, const InventorySection&) = default;
};

// What one report says about a section.
struct SectionUpdate {
  std::string name, state, reason, digest, data_json;
};

// The section to store after `u` (nullopt: nothing to store). Collected and
// empty replace; failed keeps the old data and records why; unchanged keeps
// what is there.
[[nodiscard]] std::optional<InventorySection> merge_section(const std::optional<InventorySection>& old,
                                                            const SectionUpdate& u, std::int64_t now_ms);

// Whether a held packages section is a baseline to compare the next one to
// (it holds a list that is not empty).
[[nodiscard]] bool has_baseline(const std::optional<InventorySection>& held);

class InventoryStore {
 public:
  virtual ~InventoryStore() = default;
  // The inventory sections held for a CI, sorted by name (empty if none).
  virtual core::Result<std::vector<InventorySection>> get_inventory(std::string_view ci_id) = 0;
};

}  // namespace surveyor::collector::store
