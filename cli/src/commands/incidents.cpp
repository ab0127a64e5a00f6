// SPDX-License-Identifier: Apache-2.0
// The incident verbs: incidents, incidents kpis, incident show, and the
// actions on one incident (ack, resolve, close, reopen, comment); who acts
// is the holder of the token (the collector records its name).
#include <CLI/CLI.hpp>

#include <iostream>

#include "surveyor/cli/format/render.hpp"

#include "handlers.hpp"
#include "requests.hpp"

namespace surveyor::cli::commands {
namespace {

CLI::Option* add_id_option(CLI::App& command, IncidentOptions& o) {
  return command.add_option("ID", o.id, "incident id (INC-42)")->required();
}

// The options of every action; returns --text, which a comment requires.
CLI::Option* add_action_options(CLI::App& command, IncidentOptions& o) {
  add_id_option(command, o);
  return command.add_option("--text", o.text, "a note for the timeline");
}

// POSTs `action` on the incident and prints the incident as it now is.
int act(const Context& context, const IncidentOptions& o, const std::string& action) {
  auto body = post(context.collector, "/api/v1/incidents/" + encode(o.id) + "/" + action,
                   "{\"text\":" + json_string(o.text) + "}");
  if (!body) return 1;
  return print(*body, context.as_json, format::render_incident);
}

}  // namespace

void add_incidents_options(CLI::App& command, Options& options) {
  IncidentOptions& o = options.incidents;
  command.add_option("--state", o.state,
                     "open, acknowledged, resolved, closed or active (comma-separated)");
  command.add_option("--kind", o.kind,
                     "availability, capacity, capacity-forecast, SLA-risk, SLA-breach, "
                     "unauthorised-change");
  command.add_option("--ci", o.subject, "only this CI (id or name) or service:NAME");
  command.add_option("--priority", o.priority, "only this priority or higher (1-5)");
  command.add_option("--limit", o.limit, "at most this many (default 100)");
}

int run_incidents(const Context& context, const Options& options) {
  const IncidentOptions& o = options.incidents;
  std::string q = "/api/v1/incidents?limit=" + encode(o.limit);
  add_param(q, "state", o.state);
  add_param(q, "kind", o.kind);
  add_param(q, "priority", o.priority);
  if (!o.subject.empty()) {
    std::optional<std::string> subject = o.subject;
    if (!o.subject.starts_with("service:")) subject = resolve_ci(context.collector, o.subject);
    if (!subject) return 1;
    add_param(q, "subject", *subject);
  }
  return get_and_print(context, q, format::render_incidents);
}

void add_incident_kpis_options(CLI::App& command, Options& options) {
  command.add_option("--period", options.incidents.period,
                     "2026-11, 2026-W48 or 2026-Q4 (default: this month)");
}

int run_incident_kpis(const Context& context, const Options& options) {
  std::string q = "/api/v1/incidents/kpis?";
  add_param(q, "period", options.incidents.period);
  return get_and_print(context, q, format::render_incident_kpis);
}

void add_incident_show_options(CLI::App& command, Options& options) {
  add_id_option(command, options.incidents);
}

int run_incident_show(const Context& context, const Options& options) {
  const IncidentOptions& o = options.incidents;
  auto body = get(context.collector, "/api/v1/incidents/" + encode(o.id));
  if (!body) {
    std::cerr << "surveyor: no incident '" << o.id << "'\n";
    return 1;
  }
  return print(*body, context.as_json, format::render_incident);
}

void add_incident_action_options(CLI::App& command, Options& options) {
  add_action_options(command, options.incidents);
}

void add_incident_comment_options(CLI::App& command, Options& options) {
  add_action_options(command, options.incidents)->required();
}

int run_incident_ack(const Context& context, const Options& options) {
  return act(context, options.incidents, "acknowledge");
}

int run_incident_resolve(const Context& context, const Options& options) {
  return act(context, options.incidents, "resolve");
}

int run_incident_close(const Context& context, const Options& options) {
  return act(context, options.incidents, "close");
}

int run_incident_reopen(const Context& context, const Options& options) {
  return act(context, options.incidents, "reopen");
}

int run_incident_comment(const Context& context, const Options& options) {
  return act(context, options.incidents, "comment");
}

}  // namespace surveyor::cli::commands
