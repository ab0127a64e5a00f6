// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "surveyor/core/result.hpp"

namespace surveyor::cli::format {

// The readable forms of API answers (the JSON bodies of GET /api/v1/cis and
// GET /api/v1/cis/{id}); an error if the body is not what the API returns.
[[nodiscard]] core::Result<std::string> render_ci_list(std::string_view json);
[[nodiscard]] core::Result<std::string> render_ci(std::string_view json);

// GET /api/v1/series (raw or a trend), GET /api/v1/forecast and
// GET /api/v1/capacity/events, readable.
[[nodiscard]] core::Result<std::string> render_series(std::string_view json);
[[nodiscard]] core::Result<std::string> render_forecast(std::string_view json);
[[nodiscard]] core::Result<std::string> render_events(std::string_view json);

// GET /api/v1/services and GET /api/v1/services/{name}.
[[nodiscard]] core::Result<std::string> render_services(std::string_view json);
[[nodiscard]] core::Result<std::string> render_service(std::string_view json);

// GET /api/v1/impact/{ci} and GET /api/v1/audit.
[[nodiscard]] core::Result<std::string> render_impact(std::string_view json);
[[nodiscard]] core::Result<std::string> render_audit(std::string_view json);

// GET /api/v1/slas/{service}/report.
[[nodiscard]] core::Result<std::string> render_sla(std::string_view json);

// GET /api/v1/incidents, GET /api/v1/incidents/{id} (and the answers of its
// actions) and GET /api/v1/incidents/kpis.
[[nodiscard]] core::Result<std::string> render_incidents(std::string_view json);
[[nodiscard]] core::Result<std::string> render_incident(std::string_view json);
[[nodiscard]] core::Result<std::string> render_incident_kpis(std::string_view json);

// The ids of the items in a GET /api/v1/cis answer.
[[nodiscard]] core::Result<std::vector<std::string>> ci_ids(std::string_view json);

}  // namespace surveyor::cli::format
