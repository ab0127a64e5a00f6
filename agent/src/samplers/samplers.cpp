// SPDX-License-Identifier: Apache-2.0
// Capacity samplers on /proc and statvfs, named as OpenTelemetry's system
// metrics are. Each takes its /proc root so tests run on fixture trees.
//  - CPU: shares of the aggregate jiffies between two readings; the total is
//    1 - (idle + iowait) share. A counter going backwards (CPU hot-unplug,
//    a fixture swap) restarts the baseline instead of producing nonsense.
//  - Memory: procps `free` states: used = total - free - buffers - cache,
//    cache = Cached + SReclaimable; the four states sum to MemTotal.
//  - Filesystems: df's view: used = blocks - bfree, utilization =
//    used / (used + bavail); reserved = bfree - bavail. One series set per
//    device (bind mounts of the same filesystem are counted once).
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <set>

#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/core/error_category.hpp"
#include "surveyor/agent/samplers/proc_parsers.hpp"
#include "surveyor/agent/samplers/sampler.hpp"
#include "surveyor/wire/codec.hpp"

namespace surveyor::agent::samplers {
namespace {

class CpuSampler final : public Sampler {
 public:
  explicit CpuSampler(std::string root) : path_(std::move(root) + "/stat") {}
  std::string_view name() const override { return "cpu"; }

  core::Status sample(std::int64_t now_ms, SampleSink& sink) override {
    auto text = read_source(path_);
    if (!text) return std::move(text).error();
    auto now = parse_proc_stat_cpu(*text);
    if (!now) return core::make_error(SamplerErrc::malformed, path_ + ": no aggregate cpu line");
    const std::optional<CpuTimes> prev = std::exchange(prev_, now);
    if (!prev) return {};
    std::array<std::uint64_t, 8> delta{};
    for (std::size_t i = 0; i < delta.size(); ++i) {
      if (now->ticks[i] < prev->ticks[i]) return {};  // went backwards: new baseline, no sample
      delta[i] = now->ticks[i] - prev->ticks[i];
    }
    std::uint64_t total = 0;
    for (auto d : delta) total += d;
    if (total == 0) return {};
    const double t = static_cast<double>(total);
    for (std::size_t i = 0; i < delta.size(); ++i)
      sink.add("system.cpu.utilization", "1", {{"state", kCpuStates[i]}}, now_ms, static_cast<double>(delta[i]) / t);
    sink.add("system.cpu.utilization", "1", {}, now_ms, 1.0 - static_cast<double>(delta[3] + delta[4]) / t);
    return {};
  }

 private:
  std::string path_;
  std::optional<CpuTimes> prev_;
};

class MemorySampler final : public Sampler {
 public:
  explicit MemorySampler(std::string root) : path_(std::move(root) + "/meminfo") {}
  std::string_view name() const override { return "memory"; }

  core::Status sample(std::int64_t now_ms, SampleSink& sink) override {
    auto text = read_source(path_);
    if (!text) return std::move(text).error();
    const auto m = inventory::parse_meminfo(*text);
    auto get = [&](const char* k) -> std::optional<std::uint64_t> {
      auto it = m.find(k);
      if (it == m.end()) return std::nullopt;
      return it->second;
    };
    const auto total = get("MemTotal"), free = get("MemFree");
    if (!total || !free || *total == 0) return core::make_error(SamplerErrc::malformed, path_ + ": no MemTotal/MemFree");
    const std::uint64_t buffers = get("Buffers").value_or(0);
    const std::uint64_t cached = get("Cached").value_or(0) + get("SReclaimable").value_or(0);
    const std::uint64_t accounted = *free + buffers + cached;
    // On some kernels cache can exceed total - free briefly; used never goes negative.
    const std::uint64_t used = *total > accounted ? *total - accounted : 0;
    const std::pair<const char*, std::uint64_t> states[] = {
        {"used", used}, {"free", *free}, {"buffered", buffers}, {"cached", cached}};
    for (const auto& [state, bytes] : states) {
      sink.add("system.memory.usage", "By", {{"state", state}}, now_ms, static_cast<double>(bytes));
      sink.add("system.memory.utilization", "1", {{"state", state}}, now_ms,
               static_cast<double>(bytes) / static_cast<double>(*total));
    }
    sink.add("system.memory.limit", "By", {}, now_ms, static_cast<double>(*total));
    return {};
  }

 private:
  std::string path_;
};

class FilesystemSampler final : public Sampler {
 public:
  FilesystemSampler(std::string root, std::string rootfs)
      : path_(std::move(root) + "/self/mounts"), rootfs_(std::move(rootfs)) {}
  std::string_view name() const override { return "filesystem"; }

  core::Status sample(std::int64_t now_ms, SampleSink& sink) override {
    auto text = read_source(path_);
    if (!text) return std::move(text).error();
    std::set<dev_t> seen;
    for (const Mount& m : parse_mounts(*text)) {
      if (!is_real_filesystem(m.type)) continue;
      const std::string at = rootfs_ + m.mountpoint;
      struct stat st{};
      struct statvfs vfs{};
      if (::stat(at.c_str(), &st) != 0 || ::statvfs(at.c_str(), &vfs) != 0) continue;
      if (!seen.insert(st.st_dev).second) continue;
      const double unit = static_cast<double>(vfs.f_frsize ? vfs.f_frsize : vfs.f_bsize);
      const double total = static_cast<double>(vfs.f_blocks) * unit;
      const double bfree = static_cast<double>(vfs.f_bfree) * unit;
      const double avail = static_cast<double>(vfs.f_bavail) * unit;
      const double used = total - bfree;
      const Attrs base{{"device", m.device}, {"mountpoint", m.mountpoint}, {"type", m.type},
                       {"mode", m.read_only ? "ro" : "rw"}};
      const std::pair<const char*, double> states[] = {{"used", used}, {"free", avail}, {"reserved", bfree - avail}};
      for (const auto& [state, bytes] : states) {
        Attrs a = base;
        a.emplace_back("state", state);
        sink.add("system.filesystem.usage", "By", std::move(a), now_ms, bytes);
      }
      if (used + avail > 0) sink.add("system.filesystem.utilization", "1", base, now_ms, used / (used + avail));
    }
    return {};
  }

 private:
  std::string path_;
  std::string rootfs_;
};

}  // namespace

core::Result<std::string> read_source(const std::string& path) {
  auto r = inventory::read_text(path, 4 << 20);
  if (!r) return core::make_error(SamplerErrc::unreadable, r.error().message);
  return r;
}

const std::error_category& sampler_category() {
  static const core::TableCategory c("sampler", {{SamplerErrc::unreadable, "cannot read"},
                                                 {SamplerErrc::malformed, "unexpected content"}});
  return c;
}

std::unique_ptr<Sampler> make_cpu_sampler(std::string proc_root) { return std::make_unique<CpuSampler>(std::move(proc_root)); }
std::unique_ptr<Sampler> make_memory_sampler(std::string proc_root) {
  return std::make_unique<MemorySampler>(std::move(proc_root));
}
std::unique_ptr<Sampler> make_filesystem_sampler(std::string proc_root, std::string rootfs) {
  return std::make_unique<FilesystemSampler>(std::move(proc_root), std::move(rootfs));
}

std::vector<std::unique_ptr<Sampler>> builtin_samplers(const std::string& proc_root, const std::string& sys_root,
                                                      const std::string& rootfs) {
  std::vector<std::unique_ptr<Sampler>> out;
  out.push_back(make_cpu_sampler(proc_root));
  out.push_back(make_load_sampler(proc_root));
  out.push_back(make_memory_sampler(proc_root));
  out.push_back(make_swap_sampler(proc_root));
  out.push_back(make_filesystem_sampler(proc_root, rootfs));
  out.push_back(make_disk_sampler(proc_root, sys_root));
  out.push_back(make_network_sampler(proc_root));
  out.push_back(make_process_sampler(proc_root));
  out.push_back(make_uptime_sampler(proc_root));
  return out;
}

void SeriesBuffer::add(std::string_view metric, std::string_view unit, Attrs attrs, std::int64_t time_ms, double value) {
  if (!wire::is_valid_name(metric) || unit.size() > 32 || time_ms <= 0 || attrs.size() > 64) {
    ++dropped_;
    return;
  }
  for (auto& [k, v] : attrs) {
    if (!wire::is_valid_name(k)) {
      ++dropped_;
      return;
    }
    if (v.size() > wire::kMaxAttributeValue) v.resize(wire::kMaxAttributeValue);
  }
  std::sort(attrs.begin(), attrs.end());
  for (std::size_t i = 1; i < attrs.size(); ++i) {
    if (attrs[i].first == attrs[i - 1].first) {  // a key twice: no one series it could be
      ++dropped_;
      return;
    }
  }
  auto key = std::make_pair(std::string(metric), std::move(attrs));
  auto it = series_.find(key);
  if (it == series_.end()) {
    wire::Series s;
    s.metric = key.first;
    s.unit = std::string(unit);
    for (const auto& [k, v] : key.second) s.attributes.push_back({k, v});
    it = series_.emplace(std::move(key), std::move(s)).first;
  }
  // Points must increase in time within a series; a repeat of a time is dropped.
  if (!it->second.points.empty() && it->second.points.back().time_ms >= time_ms) {
    ++dropped_;
    return;
  }
  it->second.points.push_back({time_ms, value});
  ++points_;
}

std::vector<wire::Series> SeriesBuffer::take() {
  std::vector<wire::Series> out;
  out.reserve(series_.size());
  for (auto& [k, s] : series_)
    if (!s.points.empty()) out.push_back(std::move(s));
  series_.clear();
  points_ = 0;
  return out;
}

}  // namespace surveyor::agent::samplers
