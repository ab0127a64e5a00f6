// SPDX-License-Identifier: Apache-2.0
// The inventory document an agent sends: a section per source, each collected, empty,
// unchanged or failed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/wire/types.hpp"

namespace surveyor::wire {

// What became of one inventory section in this report. A failed section must
// never read as an empty one: the collector keeps what it knew.
enum class SectionState : std::uint8_t { collected = 0, empty = 1, unchanged = 2, failed = 3 };

template <class T>
struct Section {
  // A section the sender does not know about (an older agent, a third party)
  // is "unchanged": the collector keeps what it has.
  SectionState state = SectionState::unchanged;
  std::string reason;  // why it failed ("permission denied: /sys/firmware/dmi/tables/DMI")
  std::string digest;  // SHA-256 hex of the data's canonical encoding
  std::optional<T> data;  // present when collected (or empty)
  friend bool operator==(const Section&, const Section&) = default;
};

struct HostInfo {
  std::string host_id;  // /etc/machine-id (OpenTelemetry host.id)
  std::string hostname;
  std::string os_type;  // "linux"
  std::string os_name;  // os-release NAME
  std::string os_version;  // os-release VERSION_ID
  std::string os_description;  // os-release PRETTY_NAME
  std::string kernel_release;  // uname -r
  std::string architecture;  // uname -m
  std::uint64_t memory_total_bytes = 0;  // /proc/meminfo MemTotal
  std::int64_t boot_time_ms = 0;
  // v2
  std::string os_id;  // os-release ID ("debian", "rocky")
  std::string timezone;  // IANA name ("Europe/Berlin"), "" if unknown
  std::string virtualization;  // "none", "kvm", "qemu", "vmware", "xen", "hyperv", "virtualbox", ...
  std::string container;  // "", "docker", "podman", "lxc", "systemd-nspawn", "kubernetes", ...
  friend bool operator==(const HostInfo&, const HostInfo&) = default;
};

struct CpuCache {
  std::uint32_t level = 0;  // 1, 2, 3
  std::string kind;  // "data", "instruction", "unified"
  std::uint64_t size_bytes = 0;
  std::uint32_t line_bytes = 0;
  std::int32_t ways = 0;  // -1: fully associative, 0: unknown
  std::uint32_t count = 0;  // how many of these caches the machine has
  friend bool operator==(const CpuCache&, const CpuCache&) = default;
};

struct CpuTopology {
  std::uint32_t packages = 0;
  std::uint32_t cores = 0;
  std::uint32_t pus = 0;  // processing units (hardware threads)
  std::uint32_t numa_nodes = 0;
  std::string model;
  std::string vendor;
  std::vector<CpuCache> caches;
  friend bool operator==(const CpuTopology&, const CpuTopology&) = default;
};

// DMI/SMBIOS identification. Placeholder values ("To Be Filled By O.E.M.",
// all-zero UUIDs) are stored as "" (absent). Fields the agent was not allowed
// to read are named in `unreadable`.
struct Hardware {
  std::string system_vendor, system_product, system_version, system_serial, system_uuid;
  std::string board_vendor, board_product, board_serial;
  std::string chassis_type, chassis_vendor, chassis_serial;
  std::string bios_vendor, bios_version, bios_date;
  std::vector<std::string> unreadable;
  friend bool operator==(const Hardware&, const Hardware&) = default;
};

// One SMBIOS type 17 memory device with a module installed.
struct MemoryModule {
  std::string locator;  // slot ("DIMM_A1")
  std::string bank;
  std::uint64_t size_bytes = 0;
  std::string type;  // "DDR4", ...
  std::string form_factor;  // "DIMM", "SODIMM", ...
  std::uint32_t speed_mts = 0;  // rated speed, MT/s
  std::uint32_t configured_speed_mts = 0;
  std::string manufacturer, serial, part_number;
  friend bool operator==(const MemoryModule&, const MemoryModule&) = default;
};

struct PciDevice {
  std::string address;  // "0000:00:02.0"
  std::uint32_t class_id = 0;  // 0x0200 = Ethernet controller
  std::uint32_t vendor_id = 0, device_id = 0;
  std::string vendor, device;  // names, when hwloc knows them
  friend bool operator==(const PciDevice&, const PciDevice&) = default;
};

struct Disk {
  std::string name;  // "sda", "nvme0n1"
  std::string model, serial, wwn;
  std::uint64_t size_bytes = 0;
  bool rotational = false;
  bool removable = false;
  std::string transport;  // "sata", "sas", "nvme", "usb", "virtio", "scsi", ...
  friend bool operator==(const Disk&, const Disk&) = default;
};

struct Filesystem {
  std::string mountpoint, device, type;
  std::uint64_t size_bytes = 0;
  bool read_only = false;
  friend bool operator==(const Filesystem&, const Filesystem&) = default;
};

struct Nic {
  std::string name, mac;
  std::uint32_t mtu = 0;
  std::int64_t speed_mbps = -1;  // -1: unknown (down, virtual)
  std::string state;  // operstate: "up", "down", ...
  bool is_virtual = false;
  std::string driver;
  std::vector<std::string> addresses;  // "192.0.2.7/24", "2001:db8::7/64"
  friend bool operator==(const Nic&, const Nic&) = default;
};

struct Package {
  std::string name, version, architecture;
  std::string source;  // "dpkg" or "rpm"
  friend bool operator==(const Package&, const Package&) = default;
};

// An application instance a plugin found (a Redis server, ...).
struct Instance {
  std::string kind;  // "redis"
  std::string name;  // "127.0.0.1:6379"
  std::string version;
  std::string plugin;  // the plugin that reported it
  std::vector<Attribute> attributes;  // sorted by key
  friend bool operator==(const Instance&, const Instance&) = default;
};

struct Inventory {
  std::int64_t collected_at_ms = 0;
  Section<HostInfo> host;
  Section<CpuTopology> cpu;
  // v2
  Section<Hardware> hardware;
  Section<std::vector<MemoryModule>> memory;
  Section<std::vector<PciDevice>> pci;
  Section<std::vector<Disk>> disks;
  Section<std::vector<Filesystem>> filesystems;
  Section<std::vector<Nic>> nics;
  Section<std::vector<Package>> packages;
  Section<std::vector<Instance>> instances;
  friend bool operator==(const Inventory&, const Inventory&) = default;
};

// The section names in their canonical order (the order digests combine in).
inline constexpr std::array<std::string_view, 10> kSectionNames{
    "host", "cpu", "hardware", "memory", "pci", "disks", "filesystems", "nics", "packages", "instances"};

// Calls f(name, section) for every section of `inv`, in kSectionNames order.
template <class Inv, class F>
void for_each_section(Inv& inv, F&& f) {
  f(kSectionNames[0], inv.host);
  f(kSectionNames[1], inv.cpu);
  f(kSectionNames[2], inv.hardware);
  f(kSectionNames[3], inv.memory);
  f(kSectionNames[4], inv.pci);
  f(kSectionNames[5], inv.disks);
  f(kSectionNames[6], inv.filesystems);
  f(kSectionNames[7], inv.nics);
  f(kSectionNames[8], inv.packages);
  f(kSectionNames[9], inv.instances);
}

}  // namespace surveyor::wire
