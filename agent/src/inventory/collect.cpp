// SPDX-License-Identifier: Apache-2.0
// Assembles the inventory document: one section per source, each with its
// state, reason and digest, so the collector can tell "unreadable" from
// "nothing there" and skip sections that did not change.
#include "surveyor/agent/inventory/collect.hpp"

#include "surveyor/agent/inventory/devices.hpp"
#include "surveyor/agent/inventory/hardware.hpp"
#include "surveyor/agent/inventory/packages.hpp"
#include "surveyor/agent/inventory/topology.hpp"
#include "surveyor/wire/codec.hpp"

namespace surveyor::agent::inventory {
namespace {

template <class T>
bool is_empty(const T& v) {
  if constexpr (requires { v.empty(); }) return v.empty();
  else return false;
}

template <class T>
void fill(wire::Section<T>& s, T data) {
  s.state = is_empty(data) ? wire::SectionState::empty : wire::SectionState::collected;
  s.reason.clear();
  s.digest = wire::digest_of(data);
  s.data = std::move(data);
}

template <class T>
void fail(wire::Section<T>& s, const core::Error& e) {
  s = {};
  s.state = wire::SectionState::failed;
  s.reason = e.describe();
}

// A source that may have nothing to say on this machine (no DMI, no
// package manager): nullopt is an empty section, not a failure.
template <class T>
void from(wire::Section<T>& s, core::Result<std::optional<T>> r) {
  if (!r) return fail(s, r.error());
  if (!*r) {
    s = {};
    s.state = wire::SectionState::empty;
    s.digest = wire::digest_of(T{});
    s.data = T{};
    return;
  }
  fill(s, std::move(**r));
}

template <class T>
void from(wire::Section<T>& s, core::Result<T> r) {
  if (!r) return fail(s, r.error());
  fill(s, std::move(*r));
}

}  // namespace

wire::Inventory collect(const Roots& roots, std::int64_t now_ms, bool with_io) {
  wire::Inventory inv;
  inv.collected_at_ms = now_ms;
  from(inv.host, read_host_info(roots));
  auto topology = read_topology(with_io);
  if (topology) {
    fill(inv.cpu, std::move(topology->cpu));
    if (with_io) fill(inv.pci, std::move(topology->pci));
  } else {
    fail(inv.cpu, topology.error());
    if (with_io) fail(inv.pci, topology.error());
  }
  from(inv.hardware, read_hardware(roots));
  from(inv.memory, read_memory_modules(roots));
  from(inv.disks, read_disks(roots));
  from(inv.filesystems, read_filesystems(roots));
  from(inv.nics, read_nics(roots));
  from(inv.packages, read_packages(roots));
  // Application instances come from plugins; the runner fills them in.
  fill(inv.instances, std::vector<wire::Instance>{});
  return inv;
}

}  // namespace surveyor::agent::inventory
