// SPDX-License-Identifier: Apache-2.0
// Text for HTML pages the collector writes itself (SLA and evidence reports).
#pragma once

#include <string>
#include <string_view>

namespace surveyor::text {

// `in` with the five characters that matter in HTML text and attribute
// values escaped (& < > " ').
[[nodiscard]] std::string escape_html(std::string_view in);

}  // namespace surveyor::text
