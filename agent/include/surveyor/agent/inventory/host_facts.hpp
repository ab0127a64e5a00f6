// SPDX-License-Identifier: Apache-2.0
// Host identity and OS facts, the roots the agent reads the host under, and the inventory's
// error codes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "surveyor/core/result.hpp"
#include "surveyor/wire/inventory.hpp"

namespace surveyor::agent::inventory {

enum class InventoryErrc { unreadable = 1, malformed, topology, not_found, permission_denied, command_failed };
const std::error_category& inventory_category();
inline std::error_code make_error_code(InventoryErrc e) { return {static_cast<int>(e), inventory_category()}; }

// Where the agent reads the host from: production uses the defaults, tests
// point them at fixture trees, containers at the host's mounts.
struct Roots {
  std::string etc = "/etc";
  std::string proc = "/proc";
  std::string sys = "/sys";
  std::string rootfs;  // prefix for /var, /run and /usr ("" is the real root)
};

// os-release "KEY=value" lines (quotes removed, escapes resolved).
[[nodiscard]] std::map<std::string, std::string> parse_os_release(std::string_view text);

// MemTotal and friends from /proc/meminfo, in bytes.
[[nodiscard]] std::map<std::string, std::uint64_t> parse_meminfo(std::string_view text);

// Host identity and OS facts: /etc/machine-id, os-release, kernel release and
// hostname from /proc/sys/kernel, MemTotal from /proc/meminfo, btime from
// /proc/stat, architecture from uname(2).
[[nodiscard]] core::Result<wire::HostInfo> read_host_info(const Roots& roots);

// The IANA time zone: /etc/timezone, else the target of /etc/localtime
// below ".../zoneinfo/"; "" when neither says.
[[nodiscard]] std::string read_timezone(const Roots& roots);

// The hypervisor this runs under ("none" on bare metal): DMI vendor and
// product strings first, else the CPUID hypervisor leaf (x86), else "vm" if
// /proc/cpuinfo has the hypervisor flag.
[[nodiscard]] std::string detect_virtualization(const Roots& roots);
// The container runtime this runs in, "" if none: /run/systemd/container,
// /.dockerenv, /run/.containerenv, then the cgroup path of /proc/1.
[[nodiscard]] std::string detect_container(const Roots& roots);

// Reads a small text file whole (at most max_bytes): not_found,
// permission_denied or unreadable with the path and the system's reason.
[[nodiscard]] core::Result<std::string> read_text(const std::string& path, std::size_t max_bytes = 1 << 20);

}  // namespace surveyor::agent::inventory

template <>
struct std::is_error_code_enum<surveyor::agent::inventory::InventoryErrc> : std::true_type {};
