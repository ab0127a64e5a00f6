// SPDX-License-Identifier: Apache-2.0
// Parsers of /proc text and counter arithmetic for the samplers, free of I/O so tests and
// fuzz targets can feed them text.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/agent/inventory/mounts.hpp"

namespace surveyor::agent::samplers {

// The aggregate "cpu" line of /proc/stat, in clock ticks:
// user nice system idle iowait irq softirq steal (guest time is inside user).
struct CpuTimes {
  std::array<std::uint64_t, 8> ticks{};
  [[nodiscard]] std::uint64_t total() const;
};
[[nodiscard]] std::optional<CpuTimes> parse_proc_stat_cpu(std::string_view text);
inline constexpr std::array<const char*, 8> kCpuStates{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"};

// Mount parsing lives with the inventory, which lists filesystems too.
using inventory::Mount;
using inventory::parse_mounts;
using inventory::is_real_filesystem;

// One line of /proc/diskstats (sectors are 512 bytes whatever the device).
struct DiskStats {
  std::string name;
  std::uint64_t reads = 0, sectors_read = 0, read_ms = 0;
  std::uint64_t writes = 0, sectors_written = 0, write_ms = 0;
  std::uint64_t io_ms = 0;  // time the device had I/O in flight
};
[[nodiscard]] std::vector<DiskStats> parse_diskstats(std::string_view text);

// One interface of /proc/net/dev.
struct NetStats {
  std::string name;
  std::uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0;
  std::uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0;
};
[[nodiscard]] std::vector<NetStats> parse_net_dev(std::string_view text);

// /proc/loadavg: the three averages.
[[nodiscard]] std::optional<std::array<double, 3>> parse_loadavg(std::string_view text);

// The increase of a cumulative counter between two readings: the plain
// difference; across a 32-bit wrap (the old value fits 32 bits and the new
// one is small) the difference modulo 2^32; nullopt for a reset (the counter
// restarted: driver reload, device re-added), where no rate can be known.
[[nodiscard]] std::optional<std::uint64_t> counter_increase(std::uint64_t previous, std::uint64_t current);

}  // namespace surveyor::agent::samplers
