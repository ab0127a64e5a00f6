// SPDX-License-Identifier: Apache-2.0
// Durations as people write them in configuration and queries ("10s", "1h30m", "7d").
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "surveyor/core/result.hpp"

namespace surveyor::core {

enum class DurationErrc { empty = 1, bad_number, bad_unit, overflow };
const std::error_category& duration_category();
inline std::error_code make_error_code(DurationErrc e) { return {static_cast<int>(e), duration_category()}; }

// Parses "500ms", "10s", "1m", "1h30m", "2d"; a bare integer means seconds.
[[nodiscard]] Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// The shortest text parse_duration reads back to the same value ("1m30s").
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

}  // namespace surveyor::core

template <>
struct std::is_error_code_enum<surveyor::core::DurationErrc> : std::true_type {};
