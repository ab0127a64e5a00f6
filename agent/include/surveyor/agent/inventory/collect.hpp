// SPDX-License-Identifier: Apache-2.0
// Inventory collection in one call: every section read, each with its state and digest.
#pragma once

#include <cstdint>

#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/wire/inventory.hpp"

namespace surveyor::agent::inventory {

// The full inventory, each section with its state and digest: a section
// that cannot be read is `failed` with the reason, never silently empty.
// Without `with_io` the pci section is left `unchanged` (hwloc's I/O
// discovery is the one slow part).
[[nodiscard]] wire::Inventory collect(const Roots& roots, std::int64_t now_ms, bool with_io = true);

}  // namespace surveyor::agent::inventory
