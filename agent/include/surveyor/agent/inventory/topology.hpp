// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/wire/inventory.hpp"

namespace surveyor::agent::inventory {

// CPU topology from hwloc: packages, cores, PUs, NUMA nodes, caches (L1i
// included), model and vendor. Without I/O discovery (about 1 ms). hwloc
// reads this machine's /sys and /proc; `roots` does not redirect it.
[[nodiscard]] core::Result<wire::CpuTopology> read_cpu_topology(const Roots& roots);

}  // namespace surveyor::agent::inventory
