// SPDX-License-Identifier: Apache-2.0
// The mount table, as both the inventory and the filesystem sampler read it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace surveyor::agent::inventory {

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

}  // namespace surveyor::agent::inventory
