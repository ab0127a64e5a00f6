// SPDX-License-Identifier: Apache-2.0
// Capacity questions, readable: series, forecasts and capacity events.
// Each takes the API's JSON body and returns the text the command line
// prints, or an error in the "cli" category if the body is not what the API
// sends; none throws.
#pragma once

#include <string>
#include <string_view>

#include "surveyor/core/result.hpp"

namespace surveyor::cli::format {

// GET /api/v1/series (raw or a trend), GET /api/v1/forecast and
// GET /api/v1/capacity/events.
[[nodiscard]] core::Result<std::string> render_series(std::string_view json);
[[nodiscard]] core::Result<std::string> render_forecast(std::string_view json);
[[nodiscard]] core::Result<std::string> render_events(std::string_view json);

}  // namespace surveyor::cli::format
