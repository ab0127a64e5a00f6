// SPDX-License-Identifier: Apache-2.0
// Checks of this host's services: the [[check]] configuration, running one check (TCP, HTTP,
// process, Nagios plugin), and reading Nagios output and perfdata.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/config/options.hpp"
#include "surveyor/core/result.hpp"
#include "surveyor/wire/types.hpp"

namespace surveyor::agent::checks {

enum class CheckKind { tcp, http, process, nagios };

// One configured check ([[check]] in the agent's TOML).
struct CheckSpec {
  std::string name;
  CheckKind kind = CheckKind::tcp;
  std::string target;   // tcp: HOST:PORT; http: URL; process: process name (comm)
  std::string pattern;  // process: RE2 regex on the command line, instead of a name
  std::vector<std::string> command;  // nagios: argv, run without a shell
  bool shell = false;   // nagios: run command[0] with /bin/sh -c (only when asked)
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds interval{60'000};
  unsigned expect_status = 200;  // http
  std::int64_t min_count = 1;    // process: fewer is critical
  std::int64_t max_count = -1;   // process: more is critical (-1: no limit)
  std::size_t max_output = 8192;  // nagios: bytes of output kept
};

// One perfdata item, converted to base units (bytes, seconds).
struct PerfDatum {
  std::string label;
  double value = 0;
  std::string unit;  // "1", "s", "%", "By", "{count}"
  friend bool operator==(const PerfDatum&, const PerfDatum&) = default;
};

struct CheckOutcome {
  wire::CheckResult result;
  std::vector<PerfDatum> perf;
  std::int64_t agent_cpu_ns = 0;  // CPU the agent itself spent on it (children not included)
};

// The Nagios plugin output: the first line's text, and the perfdata from the
// first line and from the long output after its first '|'.
struct NagiosOutput {
  std::string text;
  std::vector<PerfDatum> perf;
};
[[nodiscard]] NagiosOutput parse_nagios_output(std::string_view output);
[[nodiscard]] std::vector<PerfDatum> parse_perfdata(std::string_view perfdata);

// Runs one check to completion (blocking, bounded by its timeout). A nagios
// check also ends, UNKNOWN, as soon as `cancel_fd` (if not -1) is readable.
[[nodiscard]] CheckOutcome run_check(const CheckSpec& spec, const std::string& proc_root, std::int64_t now_ms,
                                     int cancel_fd = -1);

// The [[check]] table's options, and a CheckSpec from one table.
[[nodiscard]] std::shared_ptr<const config::Schema> check_schema();
[[nodiscard]] core::Result<CheckSpec> check_from_settings(const config::Settings& s);

}  // namespace surveyor::agent::checks
