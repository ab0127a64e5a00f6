// SPDX-License-Identifier: Apache-2.0
// Services and their SLAs, readable: the service list, one service with the
// CIs it stands on, and an SLA report with its record.
#include "surveyor/cli/format/render.hpp"

#include <cstdio>

#include "surveyor/text/table.hpp"

#include "answer.hpp"

namespace surveyor::cli::format {
namespace {

// "hosts (any): a, b" for each group of a service object.
std::string groups_text(const json::object& svc) {
  std::string out;
  const json::array* groups = array_at(svc, "groups");
  for (const json::value& gv : groups ? *groups : json::array{}) {
    if (!gv.is_object()) continue;
    const json::object& g = gv.get_object();
    std::string rule = "?";
    if (auto r = g.find("redundancy"); r != g.end() && r->value().is_object()) {
      const json::object& ro = r->value().get_object();
      rule = str(ro, "rule");
      if (rule == "at_least")
        rule = "at least " + str(ro, "min");
      else if (rule == "percent")
        rule = "at least " + str(ro, "percent") + " %";
    }
    std::string members;
    const json::array* ms = array_at(g, "members");
    for (const json::value& m : ms ? *ms : json::array{})
      if (m.is_string()) members += (members.empty() ? "" : ", ") + std::string(m.get_string());
    const std::string name = str(g, "name");
    out += "  " + (name.empty() || name == "-" ? std::string("group") : name) + " (" + rule +
           "): " + members + "\n";
  }
  return out;
}

// "Mon-Fri 08:00-18:00, Sat 09:00-13:00" from a "service_hours" array; empty when there is none.
std::string hours_text(const json::object& o) {
  std::string out;
  const json::array* hours = array_at(o, "service_hours");
  for (const json::value& h : hours ? *hours : json::array{})
    if (h.is_string()) out += (out.empty() ? "" : ", ") + std::string(h.get_string());
  return out;
}

std::string sla_text(const json::object& svc) {
  auto it = svc.find("sla");
  if (it == svc.end() || !it->value().is_object()) return "-";
  const json::object& sla = it->value().get_object();
  std::string out = str(sla, "target_percent") + " % per " + str(sla, "period");
  if (const std::string zone = str(sla, "time_zone"); !zone.empty() && zone != "UTC")
    out += " (" + zone + ")";
  if (const std::string hours = hours_text(sla); !hours.empty()) out += ", " + hours;
  return out;
}

}  // namespace

core::Result<std::string> render_services(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  auto rows = item_rows(*v, "a service", [](const json::object& o) {
    const json::array* groups = array_at(o, "groups");
    return std::vector<std::string>{str(o, "name"), str(o, "owner"), str(o, "criticality"),
                                    sla_text(o), std::to_string(groups ? groups->size() : 0)};
  });
  if (!rows) return std::move(rows).error();
  std::string out = text::table({"NAME", "OWNER", "CRITICALITY", "SLA", "GROUPS"}, *rows) +
                    std::to_string(rows->size()) + " service(s)\n";
  if (const json::array* errors = array_at(v->get_object(), "errors"); errors && !errors->empty()) {
    out += "\nnot loaded (the last good definition, if any, is in use):\n";
    for (const json::value& e : *errors)
      if (e.is_object()) out += "  " + str(e.get_object(), "message") + "\n";
  }
  return out;
}

core::Result<std::string> render_service(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  const json::object& o = v->get_object();
  std::string out = str(o, "name") + "\n";
  out += "  owner:        " + str(o, "owner") + "\n";
  out += "  criticality:  " + str(o, "criticality") + "\n";
  out += "  SLA:          " + sla_text(o) + "\n";
  if (const std::string d = str(o, "description"); !d.empty() && d != "-")
    out += "  description:  " + d + "\n";
  out += "  defined in:   " + str(o, "file") + "\n\ndepends on\n" + groups_text(o);
  std::vector<std::vector<std::string>> rows;
  const json::array* cis = array_at(o, "member_cis");
  for (const json::value& c : cis ? *cis : json::array{})
    if (c.is_object())
      rows.push_back({str(c.get_object(), "id"), str(c.get_object(), "type"),
                      str(c.get_object(), "name"), str(c.get_object(), "state")});
  out += "\nCIs it stands on\n" + text::table({"ID", "TYPE", "NAME", "STATE"}, rows);
  if (const json::array* u = array_at(o, "unresolved"); u && !u->empty()) {
    out += "\nmembers that name nothing (or more than one CI):";
    for (const json::value& m : *u)
      if (m.is_string()) out += " " + std::string(m.get_string());
    out += "\n";
  }
  return out;
}

core::Result<std::string> render_sla(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  const json::object& o = v->get_object();
  auto minutes = [&o](std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_number()) return std::string("-");
    char buf[400];  // any double
    std::snprintf(buf, sizeof buf, "%.1f min", it->value().to_number<double>() / 60);
    return std::string(buf);
  };
  auto percent = [&o](std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_number()) return std::string("-");
    char buf[400];  // any double
    std::snprintf(buf, sizeof buf, "%.4f %%", it->value().to_number<double>());
    return std::string(buf);
  };
  std::string out = str(o, "service") + "  SLA " + str(o, "period") + " (" + str(o, "start") +
                    " to " + str(o, "end") +
                    (str(o, "closed") == "true" ? ", closed" : ", so far") + ")\n";
  if (const std::string zone = str(o, "time_zone"); !zone.empty())
    out += "  time zone:         " + zone + " (" + str(o, "start_local") + " to " +
           str(o, "end_local") + ")\n";
  const std::string hours = hours_text(o);
  out += "  service hours:     " + (hours.empty() ? std::string("all the time") : hours) + "\n";
  out += "  target:            " + percent("target_percent") + "\n";
  out += "  achieved:          " + percent("achieved_percent") + "\n";
  out += "  agreed time:       " + minutes("agreed_seconds") + "\n";
  out += "  downtime:          " + minutes("downtime_seconds") + "\n";
  out += "  allowed downtime:  " + minutes("allowed_downtime_seconds") + "\n";
  out += "  error budget left: " + minutes("error_budget_left_seconds") +
         (str(o, "breached") == "true" ? "  (BREACHED)" : "") + "\n";
  out += "  maintenance:       " + minutes("maintenance_seconds") + " (not counted)\n";
  out += "  unknown:           " + minutes("unknown_seconds") + " (reported apart)\n";
  if (auto rec = o.find("record"); rec != o.end() && rec->value().is_object()) {
    const json::object& r = rec->value().get_object();
    if (str(r, "frozen") != "true") {
      out += "  record:            computed now (not a frozen report)\n";
    } else {
      const json::array* versions = array_at(r, "versions");
      out += "  record:            frozen report, version " + str(r, "version") + " of " +
             std::to_string(versions ? versions->size() : 0) + "\n";
      for (const json::value& ver : versions ? *versions : json::array{})
        if (ver.is_object())
          out += "    v" + str(ver.get_object(), "version") + "  " +
                 str(ver.get_object(), "created") + "  " + str(ver.get_object(), "by") + ": " +
                 str(ver.get_object(), "reason") + "\n";
    }
  }
  return out;
}

}  // namespace surveyor::cli::format
