// SPDX-License-Identifier: Apache-2.0
// Services and their SLAs, readable.
// Each takes the API's JSON body and returns the text the command line
// prints, or an error in the "cli" category if the body is not what the API
// sends; none throws.
#pragma once

#include <string>
#include <string_view>

#include "surveyor/core/result.hpp"

namespace surveyor::cli::format {

// GET /api/v1/services and GET /api/v1/services/{name}.
[[nodiscard]] core::Result<std::string> render_services(std::string_view json);
[[nodiscard]] core::Result<std::string> render_service(std::string_view json);

// GET /api/v1/slas/{service}/report.
[[nodiscard]] core::Result<std::string> render_sla(std::string_view json);

}  // namespace surveyor::cli::format
