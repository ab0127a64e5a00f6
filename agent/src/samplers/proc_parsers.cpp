// SPDX-License-Identifier: Apache-2.0
#include "surveyor/agent/samplers/proc_parsers.hpp"

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
  const auto eol = text.find('\n');
  std::istringstream in{std::string(text.substr(4, eol == std::string_view::npos ? std::string_view::npos : eol - 4))};
  CpuTimes t;
  std::size_t n = 0;
  std::uint64_t v = 0;
  while (n < t.ticks.size() && in >> v) t.ticks[n++] = v;
  // Kernels before 2.6.11 lack steal; anything shorter than user..iowait is not /proc/stat.
  if (n < 5) return std::nullopt;
  return t;
}

std::vector<DiskStats> parse_diskstats(std::string_view text) {
  std::vector<DiskStats> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    unsigned major = 0, minor = 0;
    DiskStats d;
    std::uint64_t reads_merged = 0, writes_merged = 0, in_flight = 0;
    if (!(f >> major >> minor >> d.name >> d.reads >> reads_merged >> d.sectors_read >> d.read_ms >> d.writes >>
          writes_merged >> d.sectors_written >> d.write_ms >> in_flight >> d.io_ms))
      continue;
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<NetStats> parse_net_dev(std::string_view text) {
  std::vector<NetStats> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;  // the two header lines
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    std::istringstream f(line.substr(colon + 1));
    NetStats n;
    n.name = name;
    std::uint64_t fifo = 0, frame = 0, compressed = 0, multicast = 0;
    if (!(f >> n.rx_bytes >> n.rx_packets >> n.rx_errors >> n.rx_dropped >> fifo >> frame >> compressed >> multicast >>
          n.tx_bytes >> n.tx_packets >> n.tx_errors >> n.tx_dropped))
      continue;
    if (n.name.empty()) continue;
    out.push_back(std::move(n));
  }
  return out;
}

std::optional<std::array<double, 3>> parse_loadavg(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::array<double, 3> a{};
  if (!(in >> a[0] >> a[1] >> a[2])) return std::nullopt;
  for (double v : a)
    if (!(v >= 0) || v > 1e9) return std::nullopt;
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
