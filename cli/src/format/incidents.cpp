// SPDX-License-Identifier: Apache-2.0
// Incidents, readable: the list, one incident with its timeline, and the
// period's KPIs.
#include "surveyor/cli/format/render.hpp"

#include <cstdint>
#include <cstdio>

#include "surveyor/core/clock.hpp"
#include "surveyor/text/table.hpp"

#include "answer.hpp"

namespace surveyor::cli::format {
namespace {

std::string time_of(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_int64() || it->value().get_int64() == 0) return "-";
  return core::format_rfc3339(it->value().get_int64());
}

}  // namespace

core::Result<std::string> render_incidents(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  auto rows = item_rows(*v, "an incident", [](const json::object& o) {
    const std::string parent = str(o, "parent");
    return std::vector<std::string>{
        str(o, "id"),     "P" + str(o, "priority"), str(o, "state"),
        str(o, "kind"),   time_of(o, "opened_ms"),  parent.empty() ? "-" : parent,
        str(o, "summary")};
  });
  if (!rows) return std::move(rows).error();
  return text::table({"ID", "PRIORITY", "STATE", "KIND", "OPENED", "LINKED TO", "SUMMARY"}, *rows) +
         std::to_string(rows->size()) + " incident(s)\n";
}

core::Result<std::string> render_incident(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  const json::object& o = v->get_object();
  std::string out = str(o, "id") + "  P" + str(o, "priority") + "  " + str(o, "state") + "  " +
                    str(o, "kind") + "\n";
  out += "  " + str(o, "summary") + "\n";
  out += "  subject: " + str(o, "subject") + "   rule: " + str(o, "rule") + "   impact " +
         str(o, "impact") + " x urgency " + str(o, "urgency") + "\n";
  out += "  opened " + time_of(o, "opened_ms") + ", acknowledged " + time_of(o, "acknowledged_ms") +
         ", resolved " + time_of(o, "resolved_ms") + ", closed " + time_of(o, "closed_ms") + "\n";
  if (const std::string parent = str(o, "parent"); !parent.empty())
    out += "  linked to " + parent + "\n";
  if (const json::array* linked = array_at(o, "linked"); linked && !linked->empty()) {
    std::string ids;
    for (const json::value& id : *linked)
      if (id.is_string()) ids += (ids.empty() ? "" : ", ") + std::string(id.get_string());
    out += "  linked to it: " + ids + "\n";
  }
  std::vector<std::vector<std::string>> rows;
  const json::array* timeline = array_at(o, "timeline");
  for (const json::value& e : timeline ? *timeline : json::array{}) {
    if (!e.is_object()) return unexpected("a timeline entry is not an object");
    const json::object& eo = e.get_object();
    rows.push_back({time_of(eo, "time_ms"), str(eo, "by"), str(eo, "action"), str(eo, "text")});
  }
  return out + "\n" + text::table({"TIME", "BY", "WHAT", "TEXT"}, rows);
}

core::Result<std::string> render_incident_kpis(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  const json::object& o = v->get_object();
  auto duration = [&](std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_number()) return std::string("-");
    const auto s = it->value().to_number<std::int64_t>();
    char buf[48];
    std::snprintf(buf, sizeof buf, "%lldh %02lldm %02llds", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60), static_cast<long long>(s % 60));
    return std::string(buf);
  };
  std::string out =
      "Incidents " + str(o, "period") + " (" + str(o, "start") + " to " + str(o, "end") + ")\n";
  out += "  opened " + str(o, "opened") + ", resolved " + str(o, "resolved") + "\n";
  out += "  MTTR " + duration("mttr_seconds") + "   MTBF " + duration("mtbf_seconds") + " (" +
         str(o, "availability_failures") + " availability failure(s))\n";
  std::vector<std::vector<std::string>> rows;
  for (const char* group : {"by_kind", "by_priority"})
    if (auto it = o.find(group); it != o.end() && it->value().is_object())
      for (const auto& kv : it->value().get_object())
        rows.push_back({std::string(kv.key()),
                        kv.value().is_int64() ? std::to_string(kv.value().get_int64()) : "?"});
  return out + "\n" + text::table({"KIND / PRIORITY", "OPENED"}, rows);
}

}  // namespace surveyor::cli::format
