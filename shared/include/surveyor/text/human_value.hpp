// SPDX-License-Identifier: Apache-2.0
// Measured values made readable with the unit the samples carry ("By",
// "1", "s", ...).
#pragma once

#include <string>
#include <string_view>

namespace surveyor::text {

// A value with its unit made readable: bytes as KiB..TiB, ratios ("1") as
// percent, seconds as s; others as the number and unit.
[[nodiscard]] std::string human_value(double v, std::string_view unit);

}  // namespace surveyor::text
