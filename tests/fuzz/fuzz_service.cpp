// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a service definition file (docs/cmdb.md), as the collector
// reads it from services_dir: TOML, then the service's own checks and its
// capacity rules. A good definition's redundancy is then exercised too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "surveyor/collector/services/services.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace surveyor::collector::services;
  auto s = parse_service(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
  if (s)
    for (const Group& g : s->groups) {
      const std::size_t need = g.redundancy.required(g.members.size());
      if (need > g.members.size()) __builtin_trap();
      (void)describe(g.redundancy);
    }
  return 0;
}
