// SPDX-License-Identifier: Apache-2.0
// The CMDB verbs: cis, ci show, impact and audit. A CI may be named by id or
// by a unique name wherever one is asked for.
#include <CLI/CLI.hpp>

#include "surveyor/cli/format/render.hpp"

#include "handlers.hpp"
#include "requests.hpp"

namespace surveyor::cli::commands {

void add_cis_options(CLI::App& command, Options& options) {
  command.add_option("--type", options.ci.type, "only CIs of this type (host, ...)");
  command.add_option("--name", options.ci.name, "only CIs with exactly this name");
}

int run_cis(const Context& context, const Options& options) {
  std::string target = "/api/v1/cis?limit=10000";
  if (!options.ci.type.empty()) target += "&type=" + encode(options.ci.type);
  if (!options.ci.name.empty()) target += "&name=" + encode(options.ci.name);
  return get_and_print(context, target, format::render_ci_list);
}

void add_ci_show_options(CLI::App& command, Options& options) {
  command.add_option("CI", options.ci.ref, "CI id or name")->required();
}

int run_ci_show(const Context& context, const Options& options) {
  auto id = resolve_ci(context.collector, options.ci.ref);
  if (!id) return 1;
  return get_and_print(context, "/api/v1/cis/" + encode(*id), format::render_ci);
}

void add_impact_options(CLI::App& command, Options& options) {
  command.add_option("CI", options.ci.ref, "CI id or name")->required();
  command.add_option("--depth", options.ci.depth, "how far up to walk (default 10)");
}

int run_impact(const Context& context, const Options& options) {
  auto id = resolve_ci(context.collector, options.ci.ref);
  if (!id) return 1;
  std::string q = "/api/v1/impact/" + encode(*id) + "?";
  add_param(q, "depth", options.ci.depth);
  return get_and_print(context, q, format::render_impact);
}

void add_audit_options(CLI::App& command, Options& options) {
  AuditOptions& o = options.audit;
  command.add_option("--ci", o.ci, "one CI (id or name) instead of the whole fleet");
  command.add_option("--since", o.since, "from this time (RFC 3339 or Unix ms)");
  command.add_option("--kind", o.kind, "created, attribute, relationship, software, state or name");
  command.add_flag("--unauthorized", o.unauthorized,
                   "only alerts for changes outside every approved change window");
  command.add_option("--limit", o.limit, "at most this many (default 100)");
}

int run_audit(const Context& context, const Options& options) {
  const AuditOptions& o = options.audit;
  std::string q = "/api/v1/audit?limit=" + encode(o.limit);
  if (!o.ci.empty()) {
    auto id = resolve_ci(context.collector, o.ci);
    if (!id) return 1;
    add_param(q, "ci", *id);
  }
  add_param(q, "from", o.since);
  add_param(q, "kind", o.kind);
  if (o.unauthorized) q += "&unauthorized=true";
  return get_and_print(context, q, format::render_audit);
}

}  // namespace surveyor::cli::commands
