// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace surveyor::wire {

// What became of one inventory section in this report. A failed section must
// never read as an empty one: the collector keeps what it knew.
enum class SectionState : std::uint8_t { collected = 0, empty = 1, unchanged = 2, failed = 3 };

template <class T>
struct Section {
  SectionState state = SectionState::failed;
  std::string reason;  // why it failed ("permission denied: /sys/firmware/dmi/tables")
  std::string digest;  // SHA-256 hex of the section's canonical encoding
  std::optional<T> data;  // present when state == collected
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

struct Inventory {
  std::int64_t collected_at_ms = 0;
  Section<HostInfo> host;
  Section<CpuTopology> cpu;
  friend bool operator==(const Inventory&, const Inventory&) = default;
};

}  // namespace surveyor::wire
