// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the agent's parsers of kernel and distribution files.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/agent/samplers/proc_parsers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)surveyor::agent::samplers::parse_proc_stat_cpu(text);
  (void)surveyor::agent::samplers::parse_mounts(text);
  (void)surveyor::agent::inventory::parse_meminfo(text);
  (void)surveyor::agent::inventory::parse_os_release(text);
  return 0;
}
