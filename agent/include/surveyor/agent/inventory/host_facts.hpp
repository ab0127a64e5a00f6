// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "surveyor/core/result.hpp"
#include "surveyor/wire/inventory.hpp"

namespace surveyor::agent::inventory {

enum class InventoryErrc { unreadable = 1, malformed, topology };
const std::error_category& inventory_category();
inline std::error_code make_error_code(InventoryErrc e) { return {static_cast<int>(e), inventory_category()}; }

// Where the agent reads the host from. Production uses "/etc" and "/proc";
// tests point them at fixture trees, containers at the host's mounts.
struct Roots {
  std::string etc = "/etc";
  std::string proc = "/proc";
};

// os-release "KEY=value" lines (quotes removed, escapes resolved).
[[nodiscard]] std::map<std::string, std::string> parse_os_release(std::string_view text);

// MemTotal and friends from /proc/meminfo, in bytes.
[[nodiscard]] std::map<std::string, std::uint64_t> parse_meminfo(std::string_view text);

// Host identity and OS facts: /etc/machine-id, os-release, kernel release and
// hostname from /proc/sys/kernel, MemTotal from /proc/meminfo, btime from
// /proc/stat, architecture from uname(2).
[[nodiscard]] core::Result<wire::HostInfo> read_host_info(const Roots& roots);

// Reads a small text file whole; `unreadable` with the path and errno text.
[[nodiscard]] core::Result<std::string> read_text(const std::string& path, std::size_t max_bytes = 1 << 20);

}  // namespace surveyor::agent::inventory

template <>
struct std::is_error_code_enum<surveyor::agent::inventory::InventoryErrc> : std::true_type {};
