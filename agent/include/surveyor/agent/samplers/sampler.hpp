// SPDX-License-Identifier: Apache-2.0
// The sampler seam: the interface every source of capacity samples implements, the built-in
// samplers, and the buffer that holds their points until the next report.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "surveyor/core/result.hpp"
#include "surveyor/wire/types.hpp"

namespace surveyor::agent::samplers {

using Attrs = std::vector<std::pair<std::string, std::string>>;

// Where samplers put what they measure.
class SampleSink {
 public:
  virtual ~SampleSink() = default;
  // One point of the series (metric, attrs); attrs in any order.
  virtual void add(std::string_view metric, std::string_view unit, Attrs attrs, std::int64_t time_ms, double value) = 0;
};

// A source of capacity samples. Samplers keep the previous reading where
// they need one (counters become rates), so call sample() from one thread.
class Sampler {
 public:
  virtual ~Sampler() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  // Reads the source and adds this round's points at `now_ms`. An unreadable
  // source is an error; points already added stay.
  virtual core::Status sample(std::int64_t now_ms, SampleSink& sink) = 0;
};

enum class SamplerErrc { unreadable = 1, malformed };
const std::error_category& sampler_category();
inline std::error_code make_error_code(SamplerErrc e) { return {static_cast<int>(e), sampler_category()}; }

// A /proc file's text for a sampler (at most 4 MiB); `unreadable` if it cannot be read.
[[nodiscard]] core::Result<std::string> read_source(const std::string& path);

// system.cpu.utilization per state and in total, from /proc/stat deltas.
// The first call only takes the baseline.
[[nodiscard]] std::unique_ptr<Sampler> make_cpu_sampler(std::string proc_root);
// system.memory.usage / .utilization by state, system.memory.limit.
[[nodiscard]] std::unique_ptr<Sampler> make_memory_sampler(std::string proc_root);
// system.filesystem.usage / .utilization for every real (disk-backed) mount.
// `rootfs` prefixes mount points for statvfs (a host root mounted in a container).
[[nodiscard]] std::unique_ptr<Sampler> make_filesystem_sampler(std::string proc_root, std::string rootfs = "");

// system.cpu.load_average.{1m,5m,15m} from /proc/loadavg.
[[nodiscard]] std::unique_ptr<Sampler> make_load_sampler(std::string proc_root);
// system.paging.usage / .utilization (swap) from /proc/meminfo.
[[nodiscard]] std::unique_ptr<Sampler> make_swap_sampler(std::string proc_root);
// system.disk.io, .operations, .operation_time (rates) and .utilization per
// whole disk, from /proc/diskstats; `sys_root`/block tells disks from partitions.
[[nodiscard]] std::unique_ptr<Sampler> make_disk_sampler(std::string proc_root, std::string sys_root);
// system.network.io, .packets, .errors, .dropped (rates) per interface but lo.
[[nodiscard]] std::unique_ptr<Sampler> make_network_sampler(std::string proc_root);
// system.processes.count: all, running and blocked.
[[nodiscard]] std::unique_ptr<Sampler> make_process_sampler(std::string proc_root);
// system.uptime in seconds.
[[nodiscard]] std::unique_ptr<Sampler> make_uptime_sampler(std::string proc_root);

// Every built-in sampler, in a fixed order.
[[nodiscard]] std::vector<std::unique_ptr<Sampler>> builtin_samplers(const std::string& proc_root,
                                                                     const std::string& sys_root,
                                                                     const std::string& rootfs);

// Accumulates points per series between reports. Points the collector
// would refuse (a metric or attribute key that is not a name, a time not
// after the series' last) are dropped here and counted, so that one bad
// point can never make a whole report unacceptable; attribute values past
// 255 bytes are cut.
class SeriesBuffer final : public SampleSink {
 public:
  void add(std::string_view metric, std::string_view unit, Attrs attrs, std::int64_t time_ms, double value) override;
  // Everything buffered, series in a stable order; the buffer is left empty.
  [[nodiscard]] std::vector<wire::Series> take();
  [[nodiscard]] std::size_t points() const { return points_; }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_; }

 private:
  std::map<std::pair<std::string, Attrs>, wire::Series> series_;
  std::size_t points_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace surveyor::agent::samplers

template <>
struct std::is_error_code_enum<surveyor::agent::samplers::SamplerErrc> : std::true_type {};
