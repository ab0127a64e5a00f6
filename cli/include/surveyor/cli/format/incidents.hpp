// SPDX-License-Identifier: Apache-2.0
// Incidents, readable.
// Each takes the API's JSON body and returns the text the command line
// prints, or an error in the "cli" category if the body is not what the API
// sends; none throws.
#pragma once

#include <string>
#include <string_view>

#include "surveyor/core/result.hpp"

namespace surveyor::cli::format {

// GET /api/v1/incidents, GET /api/v1/incidents/{id} (and the answers of its
// actions) and GET /api/v1/incidents/kpis.
[[nodiscard]] core::Result<std::string> render_incidents(std::string_view json);
[[nodiscard]] core::Result<std::string> render_incident(std::string_view json);
[[nodiscard]] core::Result<std::string> render_incident_kpis(std::string_view json);

}  // namespace surveyor::cli::format
