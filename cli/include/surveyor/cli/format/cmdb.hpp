// SPDX-License-Identifier: Apache-2.0
// The CMDB, readable: configuration items, impact and the audit trail.
// Each takes the API's JSON body and returns the text the command line
// prints, or an error in the "cli" category if the body is not what the API
// sends; none throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "surveyor/core/result.hpp"

namespace surveyor::cli::format {

// GET /api/v1/cis and GET /api/v1/cis/{id}.
[[nodiscard]] core::Result<std::string> render_ci_list(std::string_view json);
[[nodiscard]] core::Result<std::string> render_ci(std::string_view json);

// The ids of the items in a GET /api/v1/cis answer.
[[nodiscard]] core::Result<std::vector<std::string>> ci_ids(std::string_view json);

// GET /api/v1/impact/{ci} and GET /api/v1/audit.
[[nodiscard]] core::Result<std::string> render_impact(std::string_view json);
[[nodiscard]] core::Result<std::string> render_audit(std::string_view json);

}  // namespace surveyor::cli::format
