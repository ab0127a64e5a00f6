// SPDX-License-Identifier: Apache-2.0
// CPU topology and PCI devices as hwloc sees them.
#pragma once

#include <vector>

#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/wire/inventory.hpp"

namespace surveyor::agent::inventory {

struct Topology {
  wire::CpuTopology cpu;
  std::vector<wire::PciDevice> pci;  // only with I/O discovery
};

// The hardware topology from hwloc: packages, cores, PUs, NUMA nodes, caches
// (L1i included), model and vendor, and with `with_io` the PCI devices
// (about 18 ms instead of 1 ms). hwloc reads this machine's /sys and /proc.
[[nodiscard]] core::Result<Topology> read_topology(bool with_io);

// The CPU part alone, without I/O discovery.
[[nodiscard]] core::Result<wire::CpuTopology> read_cpu_topology(const Roots& roots);

}  // namespace surveyor::agent::inventory
