// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace surveyor::agent::samplers {

// The aggregate "cpu" line of /proc/stat, in clock ticks:
// user nice system idle iowait irq softirq steal (guest time is inside user).
struct CpuTimes {
  std::array<std::uint64_t, 8> ticks{};
  [[nodiscard]] std::uint64_t total() const;
};
[[nodiscard]] std::optional<CpuTimes> parse_proc_stat_cpu(std::string_view text);
inline constexpr std::array<const char*, 8> kCpuStates{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"};

struct Mount {
  std::string device;
  std::string mountpoint;
  std::string type;
  bool read_only = false;
};
// /proc/self/mounts, with the kernel's octal escapes (\040) decoded.
[[nodiscard]] std::vector<Mount> parse_mounts(std::string_view text);
// Disk-backed filesystem types whose capacity is worth tracking; pseudo,
// memory, network and container overlay filesystems are left out.
[[nodiscard]] bool is_real_filesystem(std::string_view type);

}  // namespace surveyor::agent::samplers
