// SPDX-License-Identifier: Apache-2.0
// Inventory deltas: a section whose digest matches the one last sent goes as `unchanged`,
// without its data, unless a full inventory is due.
#include "surveyor/agent/runner/inventory_tracker.hpp"

namespace surveyor::agent::runner {

std::optional<wire::Inventory> InventoryTracker::next(const wire::Inventory& current) {
  if (since_full_ >= full_every_) full_due_ = true;
  ++since_full_;
  wire::Inventory out = current;
  bool any = full_due_;
  wire::for_each_section(out, [&](std::string_view name, auto& s) {
    auto it = sent_.find(name);
    const bool same = it != sent_.end() && it->second == s.digest;
    if (same && !full_due_) {
      s.state = wire::SectionState::unchanged;
      s.reason.clear();
      s.data.reset();
    } else {
      any = true;
      sent_[std::string(name)] = s.digest;
    }
  });
  if (full_due_) since_full_ = 1;
  full_due_ = false;
  if (!any) return std::nullopt;
  return out;
}

}  // namespace surveyor::agent::runner
