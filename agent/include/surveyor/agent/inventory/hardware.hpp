// SPDX-License-Identifier: Apache-2.0
// DMI/SMBIOS hardware identity and memory modules, and how vendors' placeholder strings are
// told from real identifiers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/wire/inventory.hpp"

namespace surveyor::agent::inventory {

// True for what vendors ship instead of a real identifier ("To Be Filled By
// O.E.M.", "Default string", "System Serial Number", all-zero or all-F UUIDs...).
[[nodiscard]] bool is_placeholder(std::string_view value);
// Trimmed, and "" when it is a placeholder.
[[nodiscard]] std::string clean_identity(std::string_view value);

// DMI identification from sysfs (/sys/class/dmi/id). nullopt: this machine
// has no DMI (some VMs, most ARM boards); fields the agent may not read
// (serials are root-only) are listed in `unreadable`.
[[nodiscard]] core::Result<std::optional<wire::Hardware>> read_hardware(const Roots& roots);

// Memory devices (SMBIOS type 17) with a module installed, parsed from a raw
// SMBIOS structure table. Untrusted bytes: every offset is checked, a bad
// table is `malformed` with the offset.
[[nodiscard]] core::Result<std::vector<wire::MemoryModule>> parse_smbios_memory(std::string_view table);
// The same from /sys/firmware/dmi/tables/DMI (root-only). nullopt: no table
// on this machine.
[[nodiscard]] core::Result<std::optional<std::vector<wire::MemoryModule>>> read_memory_modules(const Roots& roots);

}  // namespace surveyor::agent::inventory
