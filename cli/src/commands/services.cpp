// SPDX-License-Identifier: Apache-2.0
// The service verbs: services, service show, and sla report and recompute.
// An SLA report in CSV or HTML is the API's own document, printed as is.
#include <CLI/CLI.hpp>

#include <iostream>

#include "surveyor/cli/format/render.hpp"

#include "handlers.hpp"
#include "requests.hpp"

namespace surveyor::cli::commands {

int run_services(const Context& context, const Options&) {
  return get_and_print(context, "/api/v1/services", format::render_services);
}

void add_service_show_options(CLI::App& command, Options& options) {
  command.add_option("NAME", options.service.name, "service name")->required();
}

int run_service_show(const Context& context, const Options& options) {
  return get_and_print(context, "/api/v1/services/" + encode(options.service.name),
                       format::render_service);
}

void add_sla_report_options(CLI::App& command, Options& options) {
  SlaOptions& o = options.sla;
  command.add_option("SERVICE", o.service, "service name")->required();
  command.add_option("--period", o.period,
                     "2026-10, 2026-W43 or 2026-Q4 (default: the current one)");
  command.add_option("--version", o.version,
                     "a closed period's stored version (default: the latest)");
  command.add_option("--format", o.format, "table, csv, json or html")
      ->check(CLI::IsMember({"table", "csv", "json", "html"}));
}

int run_sla_report(const Context& context, const Options& options) {
  const SlaOptions& o = options.sla;
  const bool text = o.format == "csv" || o.format == "html";
  std::string q =
      "/api/v1/slas/" + encode(o.service) + "/report?format=" + (text ? o.format : "json");
  add_param(q, "period", o.period);
  add_param(q, "version", o.version);
  auto body = get(context.collector, q);
  if (!body) return 1;
  if (text) {
    std::cout << *body;
    return 0;
  }
  return print(*body, context.as_json || o.format == "json", format::render_sla);
}

void add_sla_recompute_options(CLI::App& command, Options& options) {
  SlaOptions& o = options.sla;
  command.add_option("SERVICE", o.service, "service name")->required();
  command.add_option("--period", o.period, "the closed period: 2026-10, 2026-W43 or 2026-Q4")
      ->required();
  command.add_option("--reason", o.reason, "why (kept with the amendment)")->required();
}

int run_sla_recompute(const Context& context, const Options& options) {
  const SlaOptions& o = options.sla;
  auto body =
      post(context.collector,
           "/api/v1/slas/" + encode(o.service) + "/report/recompute?period=" + encode(o.period),
           "{\"reason\":" + json_string(o.reason) + "}");
  if (!body) return 1;
  if (context.as_json) {
    std::cout << *body << "\n";
    return 0;
  }
  const bool amended = body->find("\"amended\":true") != std::string::npos;
  std::cout << (amended ? "figures changed: stored as a new version\n"
                        : "figures unchanged: the stored report stands\n")
            << *body << "\n";
  return 0;
}

}  // namespace surveyor::cli::commands
