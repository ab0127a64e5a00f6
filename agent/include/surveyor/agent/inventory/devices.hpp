// SPDX-License-Identifier: Apache-2.0
// Storage and network hardware for the inventory: whole disks, mounted filesystems and
// network interfaces.
#pragma once

#include <vector>

#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/wire/inventory.hpp"

namespace surveyor::agent::inventory {

// Whole disks from sysfs (/sys/block/*/device), with model, serial and WWN
// from sysfs or the udev database; loop, RAM, zram and optical devices are
// left out.
[[nodiscard]] core::Result<std::vector<wire::Disk>> read_disks(const Roots& roots);

// Mounted disk-backed filesystems (proc/self/mounts), one per device, with
// their size from statvfs.
[[nodiscard]] core::Result<std::vector<wire::Filesystem>> read_filesystems(const Roots& roots);

// Network interfaces from /sys/class/net (all but lo) with the addresses
// getifaddrs(3) reports for them.
[[nodiscard]] core::Result<std::vector<wire::Nic>> read_nics(const Roots& roots);

}  // namespace surveyor::agent::inventory
