// SPDX-License-Identifier: Apache-2.0
// The wire's smallest parts: series attributes, points, series and check results.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace surveyor::wire {

// A series attribute ("mountpoint" = "/var"). Within a series, keys are unique
// and sorted, so the same series always has the same identity.
struct Attribute {
  std::string key;
  std::string value;
  friend bool operator==(const Attribute&, const Attribute&) = default;
};

struct Point {
  std::int64_t time_ms = 0;  // Unix time, milliseconds
  double value = 0;
  friend bool operator==(const Point&, const Point&) = default;
};

// The points of one series, as they were sampled, oldest first.
struct Series {
  std::string metric;  // OpenTelemetry name: "system.cpu.utilization"
  std::string unit;    // UCUM as OpenTelemetry uses it: "1", "By", "s"
  std::vector<Attribute> attributes;
  std::vector<Point> points;
  friend bool operator==(const Series&, const Series&) = default;
};

// Nagios plugin states, in their exit-code order.
enum class CheckState : std::uint8_t { ok = 0, warning = 1, critical = 2, unknown = 3 };

struct CheckResult {
  std::string name;  // unique per agent
  std::string kind;  // "tcp", "http", "process", "nagios", ...
  CheckState state = CheckState::unknown;
  std::int64_t time_ms = 0;
  std::int64_t duration_ms = 0;
  std::string output;  // first line of output, capped
  friend bool operator==(const CheckResult&, const CheckResult&) = default;
};

}  // namespace surveyor::wire
