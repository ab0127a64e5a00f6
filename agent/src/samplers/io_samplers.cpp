// SPDX-License-Identifier: Apache-2.0
// Samplers of counters and small /proc files: load, swap, disk and network
// I/O, processes, uptime. Design: the counter samplers keep each device's
// previous reading and its time; a rate needs two readings of the same
// device, so a new device (or the first call) gives only a baseline, a
// counter that wrapped at 32 bits is unwrapped, and one that restarted
// skips a round instead of reporting a huge or negative rate.
#include <dirent.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <map>

#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/agent/samplers/proc_parsers.hpp"
#include "surveyor/agent/samplers/sampler.hpp"

namespace surveyor::agent::samplers {
namespace {

class LoadSampler final : public Sampler {
 public:
  explicit LoadSampler(std::string root) : path_(std::move(root) + "/loadavg") {}
  std::string_view name() const override { return "load"; }
  core::Status sample(std::int64_t now_ms, SampleSink& sink) override {
    auto text = read_source(path_);
    if (!text) return std::move(text).error();
    auto a = parse_loadavg(*text);
    if (!a) return core::make_error(SamplerErrc::malformed, path_);
    sink.add("system.cpu.load_average.1m", "{thread}", {}, now_ms, (*a)[0]);
    sink.add("system.cpu.load_average.5m", "{thread}", {}, now_ms, (*a)[1]);
    sink.add("system.cpu.load_average.15m", "{thread}", {}, now_ms, (*a)[2]);
    return {};
  }

 private:
  std::string path_;
};

class SwapSampler final : public Sampler {
 public:
  explicit SwapSampler(std::string root) : path_(std::move(root) + "/meminfo") {}
  std::string_view name() const override { return "swap"; }
  core::Status sample(std::int64_t now_ms, SampleSink& sink) override {
    auto text = read_source(path_);
    if (!text) return std::move(text).error();
    const auto m = inventory::parse_meminfo(*text);
    auto total = m.find("SwapTotal"), free = m.find("SwapFree");
    if (total == m.end() || free == m.end() || free->second > total->second)
      return core::make_error(SamplerErrc::malformed, path_ + ": no SwapTotal/SwapFree");
    const double t = static_cast<double>(total->second), f = static_cast<double>(free->second);
    sink.add("system.paging.usage", "By", {{"state", "used"}}, now_ms, t - f);
    sink.add("system.paging.usage", "By", {{"state", "free"}}, now_ms, f);
    if (t > 0) {
      sink.add("system.paging.utilization", "1", {{"state", "used"}}, now_ms, (t - f) / t);
      sink.add("system.paging.utilization", "1", {{"state", "free"}}, now_ms, f / t);
    }
    return {};
  }

 private:
  std::string path_;
};

// Whole block devices worth tracking: partitions, loop, RAM and optical
// devices are left out.
bool is_tracked_disk(const std::string& sys_root, const std::string& name) {
  for (const char* prefix : {"loop", "ram", "zram", "sr", "fd"})
    if (name.rfind(prefix, 0) == 0) return false;
  struct stat st{};
  return ::stat((sys_root + "/block/" + name).c_str(), &st) == 0;
}

class DiskSampler final : public Sampler {
 public:
  DiskSampler(std::string proc, std::string sys) : path_(std::move(proc) + "/diskstats"), sys_(std::move(sys)) {}
  std::string_view name() const override { return "disk"; }

  core::Status sample(std::int64_t now_ms, SampleSink& sink) override {
    auto text = read_source(path_);
    if (!text) return std::move(text).error();
    std::map<std::string, Reading> seen;
    for (DiskStats& d : parse_diskstats(*text)) {
      if (!is_tracked_disk(sys_, d.name)) continue;
      auto prev = prev_.find(d.name);
      if (prev != prev_.end() && now_ms > prev->second.time_ms) emit(prev->second, d, now_ms, sink);
      std::string key = d.name;  // not seen[d.name] = ...move(d): the right side runs first
      seen[key] = Reading{std::move(d), now_ms};
    }
    prev_ = std::move(seen);
    return {};
  }

 private:
  struct Reading {
    DiskStats stats;
    std::int64_t time_ms = 0;
  };

  static void emit(const Reading& before, const DiskStats& now, std::int64_t now_ms, SampleSink& sink) {
    const double dt = static_cast<double>(now_ms - before.time_ms) / 1000.0;
    const DiskStats& b = before.stats;
    auto per_s = [&](std::uint64_t prev, std::uint64_t cur) -> std::optional<double> {
      auto inc = counter_increase(prev, cur);
      if (!inc) return std::nullopt;
      return static_cast<double>(*inc) / dt;
    };
    const auto rb = per_s(b.sectors_read, now.sectors_read), wb = per_s(b.sectors_written, now.sectors_written);
    const auto ro = per_s(b.reads, now.reads), wo = per_s(b.writes, now.writes);
    const auto rt = per_s(b.read_ms, now.read_ms), wt = per_s(b.write_ms, now.write_ms);
    const auto busy = per_s(b.io_ms, now.io_ms);
    // One restarted counter means the device was reset: skip the whole round.
    if (!rb || !wb || !ro || !wo || !rt || !wt || !busy) return;
    const std::string& dev = now.name;
    sink.add("system.disk.io", "By/s", {{"device", dev}, {"direction", "read"}}, now_ms, *rb * 512);
    sink.add("system.disk.io", "By/s", {{"device", dev}, {"direction", "write"}}, now_ms, *wb * 512);
    sink.add("system.disk.operations", "{operation}/s", {{"device", dev}, {"direction", "read"}}, now_ms, *ro);
    sink.add("system.disk.operations", "{operation}/s", {{"device", dev}, {"direction", "write"}}, now_ms, *wo);
    sink.add("system.disk.operation_time", "s/s", {{"device", dev}, {"direction", "read"}}, now_ms, *rt / 1000);
    sink.add("system.disk.operation_time", "s/s", {{"device", dev}, {"direction", "write"}}, now_ms, *wt / 1000);
    sink.add("system.disk.utilization", "1", {{"device", dev}}, now_ms, std::min(1.0, *busy / 1000));
  }

  std::string path_;
  std::string sys_;
  std::map<std::string, Reading> prev_;
};

class NetworkSampler final : public Sampler {
 public:
  explicit NetworkSampler(std::string proc) : path_(std::move(proc) + "/net/dev") {}
  std::string_view name() const override { return "network"; }

  core::Status sample(std::int64_t now_ms, SampleSink& sink) override {
    auto text = read_source(path_);
    if (!text) return std::move(text).error();
    std::map<std::string, Reading> seen;
    for (NetStats& n : parse_net_dev(*text)) {
      if (n.name == "lo") continue;
      auto prev = prev_.find(n.name);
      if (prev != prev_.end() && now_ms > prev->second.time_ms) emit(prev->second, n, now_ms, sink);
      std::string key = n.name;
      seen[key] = Reading{std::move(n), now_ms};
    }
    prev_ = std::move(seen);
    return {};
  }

 private:
  struct Reading {
    NetStats stats;
    std::int64_t time_ms = 0;
  };

  static void emit(const Reading& before, const NetStats& now, std::int64_t now_ms, SampleSink& sink) {
    const double dt = static_cast<double>(now_ms - before.time_ms) / 1000.0;
    const NetStats& b = before.stats;
    struct Pair {
      const char* metric;
      const char* unit;
      std::uint64_t NetStats::*rx;
      std::uint64_t NetStats::*tx;
    };
    static constexpr Pair kPairs[] = {
        {"system.network.io", "By/s", &NetStats::rx_bytes, &NetStats::tx_bytes},
        {"system.network.packets", "{packet}/s", &NetStats::rx_packets, &NetStats::tx_packets},
        {"system.network.errors", "{error}/s", &NetStats::rx_errors, &NetStats::tx_errors},
        {"system.network.dropped", "{packet}/s", &NetStats::rx_dropped, &NetStats::tx_dropped}};
    std::vector<std::pair<const Pair*, std::pair<std::uint64_t, std::uint64_t>>> incs;
    for (const Pair& p : kPairs) {
      auto rx = counter_increase(b.*(p.rx), now.*(p.rx));
      auto tx = counter_increase(b.*(p.tx), now.*(p.tx));
      if (!rx || !tx) return;  // the interface was reset: skip this round
      incs.push_back({&p, {*rx, *tx}});
    }
    for (const auto& [p, inc] : incs) {
      sink.add(p->metric, p->unit, {{"device", now.name}, {"direction", "receive"}}, now_ms,
               static_cast<double>(inc.first) / dt);
      sink.add(p->metric, p->unit, {{"device", now.name}, {"direction", "transmit"}}, now_ms,
               static_cast<double>(inc.second) / dt);
    }
  }

  std::string path_;
  std::map<std::string, Reading> prev_;
};

class ProcessSampler final : public Sampler {
 public:
  explicit ProcessSampler(std::string proc) : root_(std::move(proc)) {}
  std::string_view name() const override { return "processes"; }

  core::Status sample(std::int64_t now_ms, SampleSink& sink) override {
    auto stat = read_source(root_ + "/stat");
    if (!stat) return std::move(stat).error();
    for (const char* key : {"procs_running", "procs_blocked"}) {
      const auto pos = stat->find(std::string("\n") + key + " ");
      if (pos == std::string::npos) continue;
      const double v = static_cast<double>(std::strtoull(stat->c_str() + pos + std::strlen(key) + 2, nullptr, 10));
      sink.add("system.processes.count", "{process}", {{"status", key + 6}}, now_ms, v);
    }
    DIR* d = ::opendir(root_.c_str());
    if (d == nullptr) return core::make_error(SamplerErrc::unreadable, root_);
    std::uint64_t n = 0;
    while (const dirent* e = ::readdir(d))
      if (std::isdigit(static_cast<unsigned char>(e->d_name[0]))) ++n;
    ::closedir(d);
    sink.add("system.processes.count", "{process}", {}, now_ms, static_cast<double>(n));
    return {};
  }

 private:
  std::string root_;
};

class UptimeSampler final : public Sampler {
 public:
  explicit UptimeSampler(std::string proc) : path_(std::move(proc) + "/uptime") {}
  std::string_view name() const override { return "uptime"; }
  core::Status sample(std::int64_t now_ms, SampleSink& sink) override {
    auto text = read_source(path_);
    if (!text) return std::move(text).error();
    char* end = nullptr;
    const double up = std::strtod(text->c_str(), &end);
    if (end == text->c_str() || !(up >= 0)) return core::make_error(SamplerErrc::malformed, path_);
    sink.add("system.uptime", "s", {}, now_ms, up);
    return {};
  }

 private:
  std::string path_;
};

}  // namespace

std::unique_ptr<Sampler> make_load_sampler(std::string proc_root) { return std::make_unique<LoadSampler>(std::move(proc_root)); }
std::unique_ptr<Sampler> make_swap_sampler(std::string proc_root) { return std::make_unique<SwapSampler>(std::move(proc_root)); }
std::unique_ptr<Sampler> make_disk_sampler(std::string proc_root, std::string sys_root) {
  return std::make_unique<DiskSampler>(std::move(proc_root), std::move(sys_root));
}
std::unique_ptr<Sampler> make_network_sampler(std::string proc_root) {
  return std::make_unique<NetworkSampler>(std::move(proc_root));
}
std::unique_ptr<Sampler> make_process_sampler(std::string proc_root) {
  return std::make_unique<ProcessSampler>(std::move(proc_root));
}
std::unique_ptr<Sampler> make_uptime_sampler(std::string proc_root) {
  return std::make_unique<UptimeSampler>(std::move(proc_root));
}

}  // namespace surveyor::agent::samplers
