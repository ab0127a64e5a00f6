// SPDX-License-Identifier: Apache-2.0
// Readable tables for the operator command line. --json bypasses all of this
// and prints the API's answer as it came.
#include "surveyor/cli/format/format.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/error_category.hpp"
#include "surveyor/text/human_value.hpp"
#include "surveyor/text/table.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdio>

namespace surveyor::cli::format {
namespace {

namespace json = boost::json;

enum class CliErrc { unexpected_answer = 1 };
const core::TableCategory kCliCategory("cli", {{CliErrc::unexpected_answer, "unexpected answer from the collector"}});

core::Error unexpected(const std::string& what) {
  return core::Error{std::error_code(static_cast<int>(CliErrc::unexpected_answer), kCliCategory), what};
}

std::string str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return "";
  const json::value& v = it->value();
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  if (v.is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v.get_double());
    return buf;
  }
  return v.is_null() ? "-" : "";
}

// "k=v,k=v" of an "attributes" object.
std::string attrs_of(const json::object& o) {
  std::string attrs;
  if (auto at = o.find("attributes"); at != o.end() && at->value().is_object())
    for (const auto& kv : at->value().get_object())
      attrs += (attrs.empty() ? "" : ",") + std::string(kv.key()) + "=" +
               (kv.value().is_string() ? std::string(kv.value().get_string()) : "");
  return attrs;
}

std::string series_title(const json::object& o) {
  const std::string attrs = attrs_of(o);
  return str(o, "ci_id") + "  " + str(o, "metric") + (attrs.empty() ? "" : "{" + attrs + "}");
}

std::string number_or_dash(const json::object& o, std::string_view key, std::string_view unit) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_number()) return "-";
  return text::human_value(it->value().to_number<double>(), unit);
}

const json::array* array_at(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_array() ? &it->value().get_array() : nullptr;
}

// One row per object of the answer's "items", made by `row`.
template <class F>
core::Result<std::vector<std::vector<std::string>>> item_rows(const json::value& v, const std::string& what, F row) {
  const json::array* items = array_at(v.get_object(), "items");
  if (items == nullptr) return unexpected("no items in the answer");
  std::vector<std::vector<std::string>> rows;
  for (const json::value& e : *items) {
    if (!e.is_object()) return unexpected(what + " is not an object");
    rows.push_back(row(e.get_object()));
  }
  return rows;
}

core::Result<json::value> parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return unexpected("not a JSON object");
  return v;
}

}  // namespace

core::Result<std::string> render_ci_list(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  const json::object& o = v->get_object();
  auto items = o.find("items");
  if (items == o.end() || !items->value().is_array()) return unexpected("no items in the answer");
  std::vector<std::vector<std::string>> rows;
  for (const json::value& it : items->value().get_array()) {
    if (!it.is_object()) return unexpected("an item is not an object");
    const json::object& c = it.get_object();
    rows.push_back({str(c, "id"), str(c, "type"), str(c, "name"), str(c, "state"), str(c, "last_seen")});
  }
  std::string out = text::table({"ID", "TYPE", "NAME", "STATE", "LAST SEEN"}, rows);
  out += std::to_string(rows.size()) + " configuration item(s)\n";
  return out;
}

core::Result<std::string> render_ci(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  const json::object& c = v->get_object();
  std::string out;
  for (const char* k : {"id", "type", "name", "state", "source", "first_seen", "last_seen", "updated"}) {
    std::string label = k;
    label += ":";
    label.resize(12, ' ');
    out += label + str(c, k) + "\n";
  }
  if (auto a = c.find("attributes"); a != c.end() && a->value().is_object()) {
    out += "\nATTRIBUTES\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& kv : a->value().get_object()) {
      json::object one{{"v", kv.value()}};
      rows.push_back({"  " + std::string(kv.key()), str(one, "v")});
    }
    out += text::table({"  KEY", "VALUE"}, rows);
  }
  if (auto s = c.find("latest_samples"); s != c.end() && s->value().is_array()) {
    out += "\nLATEST SAMPLES\n";
    std::vector<std::vector<std::string>> rows;
    for (const json::value& e : s->value().get_array()) {
      if (!e.is_object()) continue;
      const json::object& o = e.get_object();
      const std::string attrs = attrs_of(o);
      std::string value = "-";
      if (auto x = o.find("value"); x != o.end() && x->value().is_number())
        value = text::human_value(x->value().to_number<double>(), str(o, "unit"));
      rows.push_back({"  " + str(o, "metric"), attrs, value, str(o, "time")});
    }
    out += text::table({"  METRIC", "ATTRIBUTES", "VALUE", "TIME"}, rows);
  }
  return out;
}

core::Result<std::string> render_series(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  const json::object& o = v->get_object();
  const json::array* series = array_at(o, "series");
  if (series == nullptr) return unexpected("no series in the answer");
  std::string out;
  auto points_table = [](const json::array* pts, std::string_view unit) {
    std::vector<std::vector<std::string>> rows;
    for (const json::value& p : pts ? *pts : json::array{}) {
      if (!p.is_array() || p.get_array().size() != 2 || !p.get_array()[0].is_int64()) continue;
      const json::value& x = p.get_array()[1];
      rows.push_back({"  " + core::format_rfc3339(p.get_array()[0].get_int64()),
                      x.is_number() ? text::human_value(x.to_number<double>(), unit) : "null"});
    }
    return text::table({"  TIME", "VALUE"}, rows);
  };
  const std::string how = o.contains("step") ? str(o, "agg") + " per " + str(o, "step") + ", from " + str(o, "source")
                                             : std::string("raw samples");
  for (const json::value& sv : *series) {
    if (!sv.is_object()) return unexpected("a series is not an object");
    const json::object& so = sv.get_object();
    out += series_title(so) + "  (" + how + ")\n";
    out += points_table(array_at(so, "points"), str(so, "unit")) + "\n";
  }
  if (auto c = o.find("combined"); c != o.end() && c->value().is_object()) {
    const json::object& co = c->value().get_object();
    const std::string unit = series->empty() || !series->front().is_object() ? "" : str(series->front().get_object(), "unit");
    out += str(co, "across") + " of " + std::to_string(series->size()) + " series  (" + how + ")\n";
    out += points_table(array_at(co, "points"), unit);
  }
  if (series->empty()) out += "no series match\n";
  return out;
}

core::Result<std::string> render_forecast(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  const json::object& o = v->get_object();
  const json::array* items = array_at(o, "items");
  if (items == nullptr) return unexpected("no items in the answer");
  std::string out;
  for (const json::value& iv : *items) {
    if (!iv.is_object()) return unexpected("an item is not an object");
    const json::object& it = iv.get_object();
    const std::string unit = str(it, "unit");
    out += series_title(it) + "\n";
    out += "  fitted to:   " + str(it, "points") + " points (" + str(it, "source") + ") over " + str(o, "window") +
           " up to " + str(o, "now") + "\n";
    if (auto f = it.find("fit"); f != it.end() && f->value().is_object()) {
      const json::object& fo = f->value().get_object();
      out += "  now:         " + number_or_dash(fo, "value_now", unit) + " (fitted)\n";
      out += "  trend:       " + number_or_dash(fo, "slope_per_day", unit) + " per day, R^2 " + str(fo, "r2") + "\n";
    } else {
      out += "  trend:       not enough data\n";
    }
    if (auto p = it.find("predict"); p != it.end() && p->value().is_object())
      out += "  predicted:   " + number_or_dash(p->value().get_object(), "value", unit) + " at " +
             str(p->value().get_object(), "at") + "\n";
    if (auto t = it.find("threshold"); t != it.end() && t->value().is_object()) {
      const json::object& to = t->value().get_object();
      const std::string outcome = str(to, "outcome");
      std::string line = "  threshold:   " + number_or_dash(to, "value", unit) + " (" + str(to, "direction") + "): ";
      if (outcome == "at") {
        char days[32] = "?";
        if (auto d = to.find("days"); d != to.end() && d->value().is_number())
          std::snprintf(days, sizeof days, "%.1f", d->value().to_number<double>());
        const auto latest = to.find("latest");
        line += "reached around " + str(to, "at") + " (in " + days + " days); 95 % interval " + str(to, "earliest") +
                " to " + (latest == to.end() || latest->value().is_null() ? std::string("unbounded") : str(to, "latest"));
      } else if (outcome == "already") {
        line += "already reached";
      } else if (outcome == "never") {
        line += "never, at the current trend";
      } else {
        line += "not enough data to tell";
      }
      out += line + "\n";
    }
    out += "\n";
  }
  if (items->empty()) out += "no series match\n";
  return out;
}

core::Result<std::string> render_events(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  auto rows = item_rows(*v, "an event", [](const json::object& o) {
    return std::vector<std::string>{str(o, "id"), str(o, "state"), str(o, "kind"), str(o, "opened"), str(o, "summary")};
  });
  if (!rows) return std::move(rows).error();
  return text::table({"ID", "STATE", "KIND", "OPENED", "SUMMARY"}, *rows) + std::to_string(rows->size()) + " event(s)\n";
}

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
      if (rule == "at_least") rule = "at least " + str(ro, "min");
      else if (rule == "percent") rule = "at least " + str(ro, "percent") + " %";
    }
    std::string members;
    const json::array* ms = array_at(g, "members");
    for (const json::value& m : ms ? *ms : json::array{})
      if (m.is_string()) members += (members.empty() ? "" : ", ") + std::string(m.get_string());
    const std::string name = str(g, "name");
    out += "  " + (name.empty() || name == "-" ? std::string("group") : name) + " (" + rule + "): " + members + "\n";
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
  if (const std::string zone = str(sla, "time_zone"); !zone.empty() && zone != "UTC") out += " (" + zone + ")";
  if (const std::string hours = hours_text(sla); !hours.empty()) out += ", " + hours;
  return out;
}

}  // namespace

core::Result<std::string> render_services(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  auto rows = item_rows(*v, "a service", [](const json::object& o) {
    const json::array* groups = array_at(o, "groups");
    return std::vector<std::string>{str(o, "name"), str(o, "owner"), str(o, "criticality"), sla_text(o),
                                    std::to_string(groups ? groups->size() : 0)};
  });
  if (!rows) return std::move(rows).error();
  std::string out = text::table({"NAME", "OWNER", "CRITICALITY", "SLA", "GROUPS"}, *rows) + std::to_string(rows->size()) +
                    " service(s)\n";
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
  if (const std::string d = str(o, "description"); !d.empty() && d != "-") out += "  description:  " + d + "\n";
  out += "  defined in:   " + str(o, "file") + "\n\ndepends on\n" + groups_text(o);
  std::vector<std::vector<std::string>> rows;
  const json::array* cis = array_at(o, "member_cis");
  for (const json::value& c : cis ? *cis : json::array{})
    if (c.is_object())
      rows.push_back({str(c.get_object(), "id"), str(c.get_object(), "type"), str(c.get_object(), "name"),
                      str(c.get_object(), "state")});
  out += "\nCIs it stands on\n" + text::table({"ID", "TYPE", "NAME", "STATE"}, rows);
  if (const json::array* u = array_at(o, "unresolved"); u && !u->empty()) {
    out += "\nmembers that name nothing (or more than one CI):";
    for (const json::value& m : *u)
      if (m.is_string()) out += " " + std::string(m.get_string());
    out += "\n";
  }
  return out;
}

core::Result<std::string> render_impact(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  const json::object& o = v->get_object();
  const json::array* services = array_at(o, "services");
  if (services == nullptr) return unexpected("no services in the answer");
  std::string out = "if " + str(o, "ci_id") + " fails:\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const json::value& sv : *services) {
    if (!sv.is_object()) return unexpected("a service is not an object");
    const json::object& s = sv.get_object();
    std::string path;
    const json::array* p = array_at(s, "path");
    for (const json::value& n : p ? *p : json::array{})
      if (n.is_string()) path += (path.empty() ? "" : " -> ") + std::string(n.get_string());
    std::string groups;
    const json::array* gs = array_at(s, "groups");
    for (const json::value& g : gs ? *gs : json::array{})
      if (g.is_object())
        groups += (groups.empty() ? "" : "; ") + str(g.get_object(), "name") + " " + str(g.get_object(), "up") + "/" +
                  str(g.get_object(), "members") + " up, needs " + str(g.get_object(), "required");
    const json::array* ev = array_at(s, "open_events");
    const json::array* ch = array_at(s, "changes");
    std::string notes;
    if (ev && !ev->empty()) notes += std::to_string(ev->size()) + " open event(s)";
    if (ch && !ch->empty()) notes += (notes.empty() ? "" : ", ") + std::to_string(ch->size()) + " change(s) on the way";
    rows.push_back({str(s, "service"), str(s, "verdict"), str(s, "criticality"), groups, path, notes.empty() ? "-" : notes});
  }
  out += text::table({"SERVICE", "VERDICT", "CRITICALITY", "GROUPS", "PATH", "NOTES"}, rows);
  out += std::to_string(rows.size()) + " service(s) reached, " + str(o, "cis_affected") + " CI(s) fail with it";
  if (str(o, "truncated") == "true") out += " (depth limit " + str(o, "depth") + " reached: there may be more)";
  return out + "\n";
}

core::Result<std::string> render_audit(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  auto value = [](const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return std::string("-");
    return it->value().is_string() ? std::string(it->value().get_string()) : json::serialize(it->value());
  };
  auto rows = item_rows(*v, "an entry", [&value](const json::object& o) {
    std::string flag = str(o, "change_id");
    if (flag.empty() || flag == "-") flag = str(o, "alert") == "true" ? "UNAUTHORISED" : str(o, "unauthorized") == "true" ? "unauthorised" : "-";
    std::string was = value(o, "old"), now = value(o, "new");
    if (was.size() > 40) was = was.substr(0, 37) + "...";
    if (now.size() > 40) now = now.substr(0, 37) + "...";
    return std::vector<std::string>{str(o, "time"), str(o, "ci_id"), str(o, "kind"), str(o, "key"), was, now,
                                    str(o, "origin"), flag};
  });
  if (!rows) return std::move(rows).error();
  return text::table({"TIME", "CI", "KIND", "KEY", "OLD", "NEW", "ORIGIN", "CHANGE"}, *rows) + std::to_string(rows->size()) +
         " entr" + (rows->size() == 1 ? "y" : "ies") + "\n";
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
  std::string out = str(o, "service") + "  SLA " + str(o, "period") + " (" + str(o, "start") + " to " + str(o, "end") +
                    (str(o, "closed") == "true" ? ", closed" : ", so far") + ")\n";
  if (const std::string zone = str(o, "time_zone"); !zone.empty())
    out += "  time zone:         " + zone + " (" + str(o, "start_local") + " to " + str(o, "end_local") + ")\n";
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
          out += "    v" + str(ver.get_object(), "version") + "  " + str(ver.get_object(), "created") + "  " +
                 str(ver.get_object(), "by") + ": " + str(ver.get_object(), "reason") + "\n";
    }
  }
  return out;
}

core::Result<std::vector<std::string>> ci_ids(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  auto items = v->get_object().find("items");
  if (items == v->get_object().end() || !items->value().is_array()) return unexpected("no items in the answer");
  std::vector<std::string> out;
  for (const json::value& it : items->value().get_array())
    if (it.is_object()) out.push_back(str(it.get_object(), "id"));
  return out;
}

// --- incidents ------------------------------------------------------------------

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
    return std::vector<std::string>{str(o, "id"),          "P" + str(o, "priority"), str(o, "state"),
                                    str(o, "kind"),        time_of(o, "opened_ms"),  parent.empty() ? "-" : parent,
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
  std::string out = str(o, "id") + "  P" + str(o, "priority") + "  " + str(o, "state") + "  " + str(o, "kind") + "\n";
  out += "  " + str(o, "summary") + "\n";
  out += "  subject: " + str(o, "subject") + "   rule: " + str(o, "rule") + "   impact " + str(o, "impact") +
         " x urgency " + str(o, "urgency") + "\n";
  out += "  opened " + time_of(o, "opened_ms") + ", acknowledged " + time_of(o, "acknowledged_ms") + ", resolved " +
         time_of(o, "resolved_ms") + ", closed " + time_of(o, "closed_ms") + "\n";
  if (const std::string parent = str(o, "parent"); !parent.empty()) out += "  linked to " + parent + "\n";
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
  std::string out = "Incidents " + str(o, "period") + " (" + str(o, "start") + " to " + str(o, "end") + ")\n";
  out += "  opened " + str(o, "opened") + ", resolved " + str(o, "resolved") + "\n";
  out += "  MTTR " + duration("mttr_seconds") + "   MTBF " + duration("mtbf_seconds") + " (" +
         str(o, "availability_failures") + " availability failure(s))\n";
  std::vector<std::vector<std::string>> rows;
  for (const char* group : {"by_kind", "by_priority"})
    if (auto it = o.find(group); it != o.end() && it->value().is_object())
      for (const auto& kv : it->value().get_object())
        rows.push_back({std::string(kv.key()), kv.value().is_int64() ? std::to_string(kv.value().get_int64()) : "?"});
  return out + "\n" + text::table({"KIND / PRIORITY", "OPENED"}, rows);
}

}  // namespace surveyor::cli::format
