// SPDX-License-Identifier: Apache-2.0
// Inventory deltas between reports: which sections go in full and which as `unchanged`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "surveyor/wire/inventory.hpp"

namespace surveyor::agent::runner {

// Decides what inventory each report carries: everything on first contact,
// when the collector asks, and every `full_every` reports; in between only
// the sections whose digest differs from what the last reports sent, the
// others marked `unchanged` (with their digest, without data); nothing when
// nothing changed.
class InventoryTracker {
 public:
  explicit InventoryTracker(std::uint32_t full_every) : full_every_(full_every == 0 ? 1 : full_every) {}

  // Sends everything next time (new enrollment, collector's request).
  void want_full() { full_due_ = true; }

  // The inventory for the next report, given the current one.
  [[nodiscard]] std::optional<wire::Inventory> next(const wire::Inventory& current);

 private:
  std::uint32_t full_every_;
  std::uint32_t since_full_ = 0;
  bool full_due_ = true;
  std::map<std::string, std::string, std::less<>> sent_;
};

}  // namespace surveyor::agent::runner
