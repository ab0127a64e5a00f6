// SPDX-License-Identifier: Apache-2.0
// Realistic wire messages for tests and fuzz seeds.
#pragma once

#include <limits>
#include <string>
#include <utility>

#include "surveyor/wire/codec.hpp"

namespace surveyor::test {

// A report of `agent_id` with nothing in it yet: sequence 1, a 60 s heartbeat.
inline wire::Report bare_report(std::string agent_id) {
  wire::Report r;
  r.agent_id = std::move(agent_id);
  r.sequence = 1;
  r.sent_at_ms = 1;
  r.heartbeat_interval_s = 60;
  return r;
}

inline wire::Report sample_report() {
  wire::Report r;
  r.agent_id = "agt-0123456789abcdef";
  r.sequence = 42;
  r.sent_at_ms = 1'795'000'060'000;
  r.heartbeat_interval_s = 60;
  r.agent_version = "0.1.0";
  wire::Inventory inv;
  inv.collected_at_ms = 1'795'000'000'000;
  wire::HostInfo h{"4c4c4544003610518053b7c04f4e4d32", "web01", "linux", "Debian GNU/Linux", "12",
                   "Debian GNU/Linux 12 (bookworm)", "6.1.0-26-amd64", "x86_64", 25'275'224'064, 1'794'990'000'000};
  inv.host = {wire::SectionState::collected, "", wire::digest_of(h), h};
  wire::CpuTopology c{1, 2, 2, 1, "Intel(R) Xeon(R) Processor", "GenuineIntel",
                      {{1, "data", 49152, 64, 12, 2}, {1, "instruction", 32768, 64, 8, 2}, {2, "unified", 2097152, 64, 16, 2}}};
  inv.cpu = {wire::SectionState::collected, "", wire::digest_of(c), c};
  r.inventory_digest = wire::inventory_digest(inv);
  r.inventory = inv;
  r.series.push_back({"system.cpu.utilization", "1", {}, {{1'795'000'010'000, 0.125}, {1'795'000'020'000, 0.5}}});
  r.series.push_back({"system.filesystem.usage", "By", {{"device", "/dev/vda1"}, {"mountpoint", "/"}, {"state", "used"}},
                      {{1'795'000'010'000, 8.5e9}}});
  r.series.push_back({"special.values", "1", {},
                      {{1, -0.0}, {2, std::numeric_limits<double>::infinity()},
                       {3, -std::numeric_limits<double>::infinity()}, {4, 1e-308}, {5, 1.7976931348623157e308}}});
  r.checks.push_back({"ssh", "tcp", wire::CheckState::ok, 1'795'000'050'000, 3, "TCP OK - 0.001 second response time"});
  return r;
}

}  // namespace surveyor::test
