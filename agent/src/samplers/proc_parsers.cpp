// SPDX-License-Identifier: Apache-2.0
// Parsers of the /proc text the samplers read (stat, diskstats, net/dev, loadavg), and a
// counter's increase told apart from a 32-bit wrap and from a reset.
#include "surveyor/agent/samplers/proc_parsers.hpp"

#include "surveyor/agent/inventory/text.hpp"

#include <algorithm>
#include <sstream>

namespace surveyor::agent::samplers {
std::uint64_t CpuTimes::total() const {
  std::uint64_t t = 0;
  for (auto v : ticks) t += v;
  return t;
}

std::optional<CpuTimes> parse_proc_stat_cpu(std::string_view text) {
  if (text.substr(0, 4) != "cpu ") return std::nullopt;
  std::string_view line = text.substr(4, text.find('\n') == std::string_view::npos ? std::string_view::npos
                                                                                    : text.find('\n') - 4);
  CpuTimes t;
  std::size_t n = 0;
  for (std::string_view f = text::next_field(line); !f.empty() && n < t.ticks.size(); f = text::next_field(line)) {
    if (!text::to_number(f, t.ticks[n])) return std::nullopt;
    ++n;
  }
  // Kernels before 2.6.11 lack steal; anything shorter than user..iowait is not /proc/stat.
  if (n < 5) return std::nullopt;
  return t;
}

std::vector<DiskStats> parse_diskstats(std::string_view rest) {
  std::vector<DiskStats> out;
  std::string_view line;
  while (text::next_line(rest, line)) {
    DiskStats d;
    std::uint64_t ignored = 0;
    std::uint64_t* fields[] = {&ignored, &ignored, nullptr, &d.reads, &ignored, &d.sectors_read, &d.read_ms,
                               &d.writes, &ignored, &d.sectors_written, &d.write_ms, &ignored, &d.io_ms};
    bool ok = true;
    for (std::uint64_t* f : fields) {
      const std::string_view field = text::next_field(line);
      if (f == nullptr) d.name = std::string(field);
      else ok = ok && text::to_number(field, *f);
    }
    if (ok && !d.name.empty()) out.push_back(std::move(d));
  }
  return out;
}

std::vector<NetStats> parse_net_dev(std::string_view rest) {
  std::vector<NetStats> out;
  std::string_view line;
  while (text::next_line(rest, line)) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // the two header lines
    std::string_view name = line.substr(0, colon);
    name = text::next_field(name);
    std::string_view f = line.substr(colon + 1);
    NetStats n;
    n.name = std::string(name);
    std::uint64_t ignored = 0;
    std::uint64_t* fields[] = {&n.rx_bytes, &n.rx_packets, &n.rx_errors, &n.rx_dropped, &ignored, &ignored,
                               &ignored,    &ignored,      &n.tx_bytes,  &n.tx_packets, &n.tx_errors, &n.tx_dropped};
    bool ok = !n.name.empty();
    for (std::uint64_t* x : fields) ok = ok && text::to_number(text::next_field(f), *x);
    if (ok) out.push_back(std::move(n));
  }
  return out;
}

std::optional<std::array<double, 3>> parse_loadavg(std::string_view line) {
  std::array<double, 3> a{};
  for (double& v : a) {
    if (!text::to_number(text::next_field(line), v)) return std::nullopt;
    if (!(v >= 0) || v > 1e9) return std::nullopt;
  }
  return a;
}

std::optional<std::uint64_t> counter_increase(std::uint64_t previous, std::uint64_t current) {
  if (current >= previous) return current - previous;
  constexpr std::uint64_t k32 = std::uint64_t{1} << 32;
  if (previous < k32) {
    const std::uint64_t wrapped = k32 - previous + current;
    // A wrap moves forward by a fraction of the range; anything more is a restart.
    if (wrapped < k32 / 2) return wrapped;
  }
  return std::nullopt;
}

}  // namespace surveyor::agent::samplers
