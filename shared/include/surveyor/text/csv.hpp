// SPDX-License-Identifier: Apache-2.0
// CSV the collector writes (capacity and evidence reports): RFC 4180.
#pragma once

#include <string>
#include <string_view>

namespace surveyor::text {

// One field: as it is, or in double quotes (quotes doubled) when it holds a
// comma, a quote or a line break.
[[nodiscard]] std::string csv_field(std::string_view in);

}  // namespace surveyor::text
