// SPDX-License-Identifier: Apache-2.0
// One list of fields per inventory struct, in wire order, with the layout
// version each field arrived in. The binary archive, the JSON mapping and the
// digests all walk these lists, so a field is declared exactly once.
#pragma once

#include <cstdint>
#include <type_traits>

#include "surveyor/wire/inventory.hpp"

namespace surveyor::wire::detail {

template <class T>
struct Fields;  // specialised per struct: `version` and apply(s, f, v)

template <class T>
concept HasFields = requires { Fields<std::remove_const_t<T>>::version; };

template <>
struct Fields<Attribute> {
  static constexpr std::uint32_t version = 1;
  template <class S, class F>
  static void apply(S& a, F&& f, std::uint32_t) {
    f("key", a.key);
    f("value", a.value);
  }
};

template <>
struct Fields<Instance> {
  static constexpr std::uint32_t version = 1;
  template <class S, class F>
  static void apply(S& i, F&& f, std::uint32_t) {
    f("kind", i.kind);
    f("name", i.name);
    f("version", i.version);
    f("plugin", i.plugin);
    f("attributes", i.attributes);
  }
};

template <>
struct Fields<HostInfo> {
  static constexpr std::uint32_t version = 2;
  template <class S, class F>
  static void apply(S& h, F&& f, std::uint32_t v) {
    f("host_id", h.host_id);
    f("hostname", h.hostname);
    f("os_type", h.os_type);
    f("os_name", h.os_name);
    f("os_version", h.os_version);
    f("os_description", h.os_description);
    f("kernel_release", h.kernel_release);
    f("architecture", h.architecture);
    f("memory_total_bytes", h.memory_total_bytes);
    f("boot_time_ms", h.boot_time_ms);
    if (v < 2) return;
    f("os_id", h.os_id);
    f("timezone", h.timezone);
    f("virtualization", h.virtualization);
    f("container", h.container);
  }
};

template <>
struct Fields<CpuCache> {
  static constexpr std::uint32_t version = 1;
  template <class S, class F>
  static void apply(S& c, F&& f, std::uint32_t) {
    f("level", c.level);
    f("kind", c.kind);
    f("size_bytes", c.size_bytes);
    f("line_bytes", c.line_bytes);
    f("ways", c.ways);
    f("count", c.count);
  }
};

template <>
struct Fields<CpuTopology> {
  static constexpr std::uint32_t version = 1;
  template <class S, class F>
  static void apply(S& c, F&& f, std::uint32_t) {
    f("packages", c.packages);
    f("cores", c.cores);
    f("pus", c.pus);
    f("numa_nodes", c.numa_nodes);
    f("model", c.model);
    f("vendor", c.vendor);
    f("caches", c.caches);
  }
};

template <>
struct Fields<Hardware> {
  static constexpr std::uint32_t version = 1;
  template <class S, class F>
  static void apply(S& h, F&& f, std::uint32_t) {
    f("system_vendor", h.system_vendor);
    f("system_product", h.system_product);
    f("system_version", h.system_version);
    f("system_serial", h.system_serial);
    f("system_uuid", h.system_uuid);
    f("board_vendor", h.board_vendor);
    f("board_product", h.board_product);
    f("board_serial", h.board_serial);
    f("chassis_type", h.chassis_type);
    f("chassis_vendor", h.chassis_vendor);
    f("chassis_serial", h.chassis_serial);
    f("bios_vendor", h.bios_vendor);
    f("bios_version", h.bios_version);
    f("bios_date", h.bios_date);
    f("unreadable", h.unreadable);
  }
};

template <>
struct Fields<MemoryModule> {
  static constexpr std::uint32_t version = 1;
  template <class S, class F>
  static void apply(S& m, F&& f, std::uint32_t) {
    f("locator", m.locator);
    f("bank", m.bank);
    f("size_bytes", m.size_bytes);
    f("type", m.type);
    f("form_factor", m.form_factor);
    f("speed_mts", m.speed_mts);
    f("configured_speed_mts", m.configured_speed_mts);
    f("manufacturer", m.manufacturer);
    f("serial", m.serial);
    f("part_number", m.part_number);
  }
};

template <>
struct Fields<PciDevice> {
  static constexpr std::uint32_t version = 1;
  template <class S, class F>
  static void apply(S& p, F&& f, std::uint32_t) {
    f("address", p.address);
    f("class_id", p.class_id);
    f("vendor_id", p.vendor_id);
    f("device_id", p.device_id);
    f("vendor", p.vendor);
    f("device", p.device);
  }
};

template <>
struct Fields<Disk> {
  static constexpr std::uint32_t version = 1;
  template <class S, class F>
  static void apply(S& d, F&& f, std::uint32_t) {
    f("name", d.name);
    f("model", d.model);
    f("serial", d.serial);
    f("wwn", d.wwn);
    f("size_bytes", d.size_bytes);
    f("rotational", d.rotational);
    f("removable", d.removable);
    f("transport", d.transport);
  }
};

template <>
struct Fields<Filesystem> {
  static constexpr std::uint32_t version = 1;
  template <class S, class F>
  static void apply(S& x, F&& f, std::uint32_t) {
    f("mountpoint", x.mountpoint);
    f("device", x.device);
    f("type", x.type);
    f("size_bytes", x.size_bytes);
    f("read_only", x.read_only);
  }
};

template <>
struct Fields<Nic> {
  static constexpr std::uint32_t version = 1;
  template <class S, class F>
  static void apply(S& n, F&& f, std::uint32_t) {
    f("name", n.name);
    f("mac", n.mac);
    f("mtu", n.mtu);
    f("speed_mbps", n.speed_mbps);
    f("state", n.state);
    f("virtual", n.is_virtual);
    f("driver", n.driver);
    f("addresses", n.addresses);
  }
};

template <>
struct Fields<Package> {
  static constexpr std::uint32_t version = 1;
  template <class S, class F>
  static void apply(S& p, F&& f, std::uint32_t) {
    f("name", p.name);
    f("version", p.version);
    f("architecture", p.architecture);
    f("source", p.source);
  }
};

}  // namespace surveyor::wire::detail
