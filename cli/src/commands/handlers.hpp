// SPDX-License-Identifier: Apache-2.0
// Each verb's options and handler, as the table in verbs.cpp names them. The
// add_* functions bind a verb's options; the run_* functions are handlers.
#pragma once

#include "surveyor/cli/commands/verb.hpp"

namespace surveyor::cli::commands {

// cmdb.cpp: configuration items, impact, the audit trail.
void add_cis_options(CLI::App& command, Options& options);
int run_cis(const Context& context, const Options& options);
void add_ci_show_options(CLI::App& command, Options& options);
int run_ci_show(const Context& context, const Options& options);
void add_impact_options(CLI::App& command, Options& options);
int run_impact(const Context& context, const Options& options);
void add_audit_options(CLI::App& command, Options& options);
int run_audit(const Context& context, const Options& options);
void add_audit_verify_options(CLI::App& command, Options& options);
void add_evidence_options(CLI::App& command, Options& options);
int run_evidence(const Context& context, const Options& options);
void add_evidence_verify_options(CLI::App& command, Options& options);
int run_evidence_verify(const Context& context, const Options& options);
int run_audit_verify(const Context& context, const Options& options);
void add_change_create_options(CLI::App& command, Options& options);
int run_change_create(const Context& context, const Options& options);
void add_change_list_options(CLI::App& command, Options& options);
int run_change_list(const Context& context, const Options& options);
void add_change_show_options(CLI::App& command, Options& options);
int run_change_show(const Context& context, const Options& options);

// services.cpp: services and their SLA reports.
int run_services(const Context& context, const Options& options);
void add_service_show_options(CLI::App& command, Options& options);
int run_service_show(const Context& context, const Options& options);
void add_sla_report_options(CLI::App& command, Options& options);
int run_sla_report(const Context& context, const Options& options);
void add_sla_recompute_options(CLI::App& command, Options& options);
int run_sla_recompute(const Context& context, const Options& options);

// series.cpp: trends, forecasts, the capacity report and events.
void add_trend_options(CLI::App& command, Options& options);
int run_trend(const Context& context, const Options& options);
void add_forecast_options(CLI::App& command, Options& options);
int run_forecast(const Context& context, const Options& options);
void add_capacity_report_options(CLI::App& command, Options& options);
int run_capacity_report(const Context& context, const Options& options);
void add_capacity_events_options(CLI::App& command, Options& options);
int run_capacity_events(const Context& context, const Options& options);

// incidents.cpp: the incident list, KPIs, one incident and its actions.
void add_incidents_options(CLI::App& command, Options& options);
int run_incidents(const Context& context, const Options& options);
void add_incident_kpis_options(CLI::App& command, Options& options);
int run_incident_kpis(const Context& context, const Options& options);
void add_incident_show_options(CLI::App& command, Options& options);
int run_incident_show(const Context& context, const Options& options);
void add_incident_action_options(CLI::App& command, Options& options);
void add_incident_comment_options(CLI::App& command, Options& options);
int run_incident_ack(const Context& context, const Options& options);
int run_incident_resolve(const Context& context, const Options& options);
int run_incident_close(const Context& context, const Options& options);
int run_incident_reopen(const Context& context, const Options& options);
int run_incident_comment(const Context& context, const Options& options);

}  // namespace surveyor::cli::commands
