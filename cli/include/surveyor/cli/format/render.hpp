// SPDX-License-Identifier: Apache-2.0
// The command line's readable forms of the REST API's answers. Each takes the
// API's JSON body and returns the text to print, or an error in the "cli"
// category if the body is not what the API sends; none throws. --json
// bypasses them and prints the answer as it came.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "surveyor/core/result.hpp"

namespace surveyor::cli::format {

// The CMDB (cmdb.cpp): GET /api/v1/cis and GET /api/v1/cis/{id}, the ids of
// the items of a GET /api/v1/cis answer, GET /api/v1/impact/{ci} and
// GET /api/v1/audit.
[[nodiscard]] core::Result<std::string> render_ci_list(std::string_view json);
[[nodiscard]] core::Result<std::string> render_ci(std::string_view json);
[[nodiscard]] core::Result<std::vector<std::string>> ci_ids(std::string_view json);
[[nodiscard]] core::Result<std::string> render_impact(std::string_view json);
[[nodiscard]] core::Result<std::string> render_audit(std::string_view json);
// POST /api/v1/audit/verify: whether the trail verified (a line saying so,
// or where it first breaks), and the answer's checkpoint as JSON text.
struct AuditVerification {
  bool verified = false;
  std::string text;
  std::string checkpoint_json;
};
[[nodiscard]] core::Result<AuditVerification> read_audit_verification(std::string_view json);

// An evidence report's JSON (GET /api/v1/evidence/{clause}): what it says
// it is, the digest it carries, the digest of its content computed here
// (SHA-256 of the JSON without "digest"), and whether its period had closed.
struct EvidenceIdentity {
  std::string clause, period, digest, computed;
  bool frozen = false;
};
[[nodiscard]] core::Result<EvidenceIdentity> read_evidence(std::string_view json);
[[nodiscard]] core::Result<std::string> render_changes(std::string_view json);
[[nodiscard]] core::Result<std::string> render_change(std::string_view json);

// Capacity (capacity.cpp): GET /api/v1/series (raw or a trend),
// GET /api/v1/forecast and GET /api/v1/capacity/events.
[[nodiscard]] core::Result<std::string> render_series(std::string_view json);
[[nodiscard]] core::Result<std::string> render_forecast(std::string_view json);
[[nodiscard]] core::Result<std::string> render_events(std::string_view json);

// Services and SLAs (services.cpp): GET /api/v1/services,
// GET /api/v1/services/{name} and GET /api/v1/slas/{service}/report.
[[nodiscard]] core::Result<std::string> render_services(std::string_view json);
[[nodiscard]] core::Result<std::string> render_service(std::string_view json);
[[nodiscard]] core::Result<std::string> render_sla(std::string_view json);

// Incidents (incidents.cpp): GET /api/v1/incidents, GET /api/v1/incidents/{id}
// (and the answers of its actions) and GET /api/v1/incidents/kpis.
[[nodiscard]] core::Result<std::string> render_incidents(std::string_view json);
[[nodiscard]] core::Result<std::string> render_incident(std::string_view json);
[[nodiscard]] core::Result<std::string> render_incident_kpis(std::string_view json);

}  // namespace surveyor::cli::format
