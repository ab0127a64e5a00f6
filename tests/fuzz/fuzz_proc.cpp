// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the agent's parsers of kernel, firmware and distribution
// files: /proc (stat, meminfo, mounts, diskstats, net/dev, loadavg),
// os-release, the raw SMBIOS table, dpkg's status file and rpm's query output.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string_view>

#include "surveyor/agent/inventory/hardware.hpp"
#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/agent/inventory/packages.hpp"
#include "surveyor/agent/samplers/proc_parsers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace surveyor::agent;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)samplers::parse_proc_stat_cpu(text);
  (void)samplers::parse_mounts(text);
  (void)samplers::parse_diskstats(text);
  (void)samplers::parse_net_dev(text);
  (void)samplers::parse_loadavg(text);
  (void)inventory::parse_meminfo(text);
  (void)inventory::parse_os_release(text);
  (void)inventory::parse_smbios_memory(text);
  (void)inventory::parse_rpm_query(text);
  std::istringstream in{std::string(text)};
  (void)inventory::parse_dpkg_status(in);
  return 0;
}
