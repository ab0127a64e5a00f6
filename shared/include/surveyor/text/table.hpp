// SPDX-License-Identifier: Apache-2.0
// Plain-text tables, for anything that prints rows for people: the operator
// command line and the collector's text capacity report alike.
#pragma once

#include <string>
#include <vector>

namespace surveyor::text {

// Renders rows as an aligned text table with a header line: columns two
// spaces apart, no trailing blanks; a short row leaves its last cells empty.
[[nodiscard]] std::string table(const std::vector<std::string>& header,
                                const std::vector<std::vector<std::string>>& rows);

}  // namespace surveyor::text
