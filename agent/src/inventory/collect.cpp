// SPDX-License-Identifier: Apache-2.0
// Assembles the inventory document: one section per source, each with its
// state, reason and digest, so the collector can tell "unreadable" from
// "nothing there" and skip sections that did not change.
#include "surveyor/agent/inventory/collect.hpp"

#include "surveyor/agent/inventory/topology.hpp"
#include "surveyor/wire/codec.hpp"

namespace surveyor::agent::inventory {
namespace {

template <class T>
wire::Section<T> section(core::Result<T> r) {
  wire::Section<T> s;
  if (!r) {
    s.state = wire::SectionState::failed;
    s.reason = r.error().describe();
    return s;
  }
  s.state = wire::SectionState::collected;
  s.digest = wire::digest_of(*r);
  s.data = std::move(*r);
  return s;
}

}  // namespace

wire::Inventory collect(const Roots& roots, std::int64_t now_ms) {
  wire::Inventory inv;
  inv.collected_at_ms = now_ms;
  inv.host = section(read_host_info(roots));
  inv.cpu = section(read_cpu_topology(roots));
  return inv;
}

}  // namespace surveyor::agent::inventory
