// SPDX-License-Identifier: Apache-2.0
// The CMDB verbs: cis, ci show, impact and audit. A CI may be named by id or
// by a unique name wherever one is asked for.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

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

void add_audit_verify_options(CLI::App& command, Options& options) {
  AuditOptions& o = options.audit;
  command.add_option("--ci", o.ci, "one CI's chain (id or name) instead of every CI's");
  command.add_option("--checkpoint", o.checkpoint,
                     "a checkpoint saved by an earlier verify: no chain may have been cut short, "
                     "removed or rewritten since");
  command.add_option("--save", o.save, "when the trail verifies, write its checkpoint to this file");
}

// Exit code 0: verified; 1: a chain is broken or the request failed.
int run_audit_verify(const Context& context, const Options& options) {
  const AuditOptions& o = options.audit;
  std::string body = "{";
  if (!o.ci.empty()) {
    auto id = resolve_ci(context.collector, o.ci);
    if (!id) return 1;
    body += "\"ci\":" + json_string(*id);
  }
  if (!o.checkpoint.empty()) {
    std::ifstream in(o.checkpoint, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in || text.str().empty()) {
      std::cerr << "surveyor: cannot read the checkpoint " << o.checkpoint << "\n";
      return 2;
    }
    body += std::string(body.size() > 1 ? "," : "") + "\"checkpoint\":" + text.str();
  }
  body += "}";
  auto answer = post(context.collector, "/api/v1/audit/verify", body);
  if (!answer) return 1;
  auto v = format::read_audit_verification(*answer);
  if (!v) {
    std::cerr << "surveyor: " << v.error().describe() << "\n";
    return 1;
  }
  std::cout << (context.as_json ? *answer + "\n" : v->text);
  if (!v->verified) return 1;
  if (!o.save.empty()) {
    std::ofstream out(o.save, std::ios::binary | std::ios::trunc);
    out << v->checkpoint_json;
    if (!out.flush()) {
      std::cerr << "surveyor: cannot write the checkpoint to " << o.save << "\n";
      return 1;
    }
    if (!context.as_json) std::cout << "checkpoint saved to " << o.save << "\n";
  }
  return 0;
}

void add_change_create_options(CLI::App& command, Options& options) {
  ChangeOptions& o = options.changes;
  command.add_option("CIS", o.cis, "the CIs changed: ids or names, comma-separated")->required();
  command.add_option("--start", o.start, "window start (RFC 3339 or Unix ms)")->required();
  command.add_option("--end", o.end, "window end (RFC 3339 or Unix ms)")->required();
  command.add_option("--reference", o.reference, "the change's reference (CHG0042)")->required();
  command.add_option("--description", o.description, "what is done");
  command.add_flag("--yes", o.yes, "create it without asking (the impact analysis is printed all the same)");
}

// Shows each CI's impact analysis, asks (unless --yes), then records the
// change: who created it is the token's holder.
int run_change_create(const Context& context, const Options& options) {
  const ChangeOptions& o = options.changes;
  std::string ids_json;
  std::size_t start = 0;
  while (start <= o.cis.size()) {
    const std::size_t comma = std::min(o.cis.find(',', start), o.cis.size());
    const std::string ref = o.cis.substr(start, comma - start);
    start = comma + 1;
    if (ref.empty()) continue;
    auto id = resolve_ci(context.collector, ref);
    if (!id) return 1;
    auto impact = get(context.collector, "/api/v1/impact/" + encode(*id));
    if (!impact) return 1;
    if (const int rc = print(*impact, context.as_json, format::render_impact); rc != 0) return rc;
    std::cout << "\n";
    ids_json += (ids_json.empty() ? "" : ",") + json_string(*id);
  }
  if (ids_json.empty()) {
    std::cerr << "surveyor: name at least one CI\n";
    return 2;
  }
  if (!o.yes) {
    if (!::isatty(STDIN_FILENO)) {
      std::cerr << "surveyor: not created: give --yes to create the change without a terminal to ask on\n";
      return 1;
    }
    std::cout << "Create change " << o.reference << " for this window? [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      std::cout << "not created\n";
      return 1;
    }
  }
  const std::string body = "{\"reference\":" + json_string(o.reference) + ",\"cis\":[" + ids_json +
                           "],\"start\":" + json_string(o.start) + ",\"end\":" + json_string(o.end) +
                           ",\"description\":" + json_string(o.description) + ",\"origin\":\"user\"}";
  auto created = post(context.collector, "/api/v1/changes", body);
  if (!created) return 1;
  return print(*created, context.as_json, format::render_change);
}

void add_change_list_options(CLI::App& command, Options& options) {
  command.add_option("--ci", options.changes.ci, "only changes to this CI (id or name)");
  command.add_flag("--current", options.changes.current, "only changes whose window has not ended");
}

int run_change_list(const Context& context, const Options& options) {
  const ChangeOptions& o = options.changes;
  std::string q = "/api/v1/changes?limit=1000";
  if (!o.ci.empty()) {
    auto id = resolve_ci(context.collector, o.ci);
    if (!id) return 1;
    add_param(q, "ci", *id);
  }
  if (o.current) q += "&current=true";
  return get_and_print(context, q, format::render_changes);
}

void add_change_show_options(CLI::App& command, Options& options) {
  command.add_option("ID", options.changes.id, "change id (chg-...)")->required();
}

int run_change_show(const Context& context, const Options& options) {
  return get_and_print(context, "/api/v1/changes/" + encode(options.changes.id), format::render_change);
}

}  // namespace surveyor::cli::commands
