// SPDX-License-Identifier: Apache-2.0
// The table of surveyor's verbs. A new verb is a line here and its handler
// in the file of its domain; main needs no change.
#include "surveyor/cli/commands/verb.hpp"

#include "handlers.hpp"

namespace surveyor::cli::commands {

std::vector<Verb> verbs() {
  return {
      {"cis", "list configuration items", add_cis_options, run_cis},
      {.name = "ci",
       .help = "one configuration item",
       .verbs = {{"show", "show a CI, its attributes and latest samples", add_ci_show_options,
                  run_ci_show}}},
      {"services", "list the services and any definition files that failed to load", nullptr,
       run_services},
      {.name = "service",
       .help = "one service",
       .verbs = {{"show", "a service: owner, SLA, groups and the CIs it stands on",
                  add_service_show_options, run_service_show}}},
      {"impact", "what fails, and which services go down or degrade, if a CI fails",
       add_impact_options, run_impact},
      {.name = "audit",
       .help = "the audit trail, newest first",
       .add_options = add_audit_options,
       .run = run_audit,
       .verbs = {{"verify",
                  "check the audit trail's hash chains, and against an earlier checkpoint",
                  add_audit_verify_options, run_audit_verify}}},
      {.name = "evidence",
       .help = "an ISO/IEC 20000-1 clause's audit evidence over a period (json, csv, html, pdf)",
       .add_options = add_evidence_options,
       .run = run_evidence,
       .verbs = {{"verify", "check a downloaded JSON report against the collector's frozen one",
                  add_evidence_verify_options, run_evidence_verify}}},
      {.name = "change",
       .help = "change records: approved windows for changes to CIs",
       .verbs = {{"create", "record a change for a window, after showing its impact analysis",
                  add_change_create_options, run_change_create},
                 {"list", "change records, latest start first", add_change_list_options,
                  run_change_list},
                 {"show", "one change record and the changes observed in its window",
                  add_change_show_options, run_change_show}}},
      {.name = "sla",
       .help = "service level figures",
       .verbs = {{"report", "a service's SLA in a period: achieved, downtime, budget left",
                  add_sla_report_options, run_sla_report},
                 {"recompute",
                  "recompute a closed period's report; stored as an amendment if its figures "
                  "changed",
                  add_sla_recompute_options, run_sla_recompute}}},
      {"trend", "a series over time, downsampled", add_trend_options, run_trend},
      {"forecast", "fit a trend and say when it reaches a threshold", add_forecast_options,
       run_forecast},
      {.name = "capacity",
       .help = "capacity report and events",
       .verbs = {{"report", "current, p95, peak, headroom and days to threshold",
                  add_capacity_report_options, run_capacity_report},
                 {"events", "capacity events, newest first", add_capacity_events_options,
                  run_capacity_events}}},
      {.name = "incidents",
       .help = "incidents, newest first",
       .add_options = add_incidents_options,
       .run = run_incidents,
       .verbs = {{"kpis", "counts by kind and priority, MTTR and MTBF in a period",
                  add_incident_kpis_options, run_incident_kpis}}},
      {.name = "incident",
       .help = "one incident",
       .verbs =
           {{"show", "an incident and its timeline", add_incident_show_options, run_incident_show},
            {"ack", "acknowledge: someone is on it", add_incident_action_options, run_incident_ack},
            {"resolve", "resolve: service is restored", add_incident_action_options,
             run_incident_resolve},
            {"close", "close a resolved incident", add_incident_action_options, run_incident_close},
            {"reopen", "re-open a resolved incident", add_incident_action_options,
             run_incident_reopen},
            {"comment", "add a comment to the timeline", add_incident_comment_options,
             run_incident_comment}}},
  };
}

}  // namespace surveyor::cli::commands
