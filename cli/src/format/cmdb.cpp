// SPDX-License-Identifier: Apache-2.0
// The CMDB, readable: the CI list, one CI with its attributes and latest
// samples, what fails if a CI fails, and the audit trail.
#include "surveyor/cli/format/render.hpp"

#include <boost/json/serialize.hpp>

#include "surveyor/core/crypto.hpp"
#include "surveyor/text/human_value.hpp"
#include "surveyor/text/table.hpp"

#include "answer.hpp"

namespace surveyor::cli::format {

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
    rows.push_back(
        {str(c, "id"), str(c, "type"), str(c, "name"), str(c, "state"), str(c, "last_seen")});
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
  for (const char* k :
       {"id", "type", "name", "state", "source", "first_seen", "last_seen", "updated"}) {
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

core::Result<std::vector<std::string>> ci_ids(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  auto items = v->get_object().find("items");
  if (items == v->get_object().end() || !items->value().is_array())
    return unexpected("no items in the answer");
  std::vector<std::string> out;
  for (const json::value& it : items->value().get_array())
    if (it.is_object()) out.push_back(str(it.get_object(), "id"));
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
        groups += (groups.empty() ? "" : "; ") + str(g.get_object(), "name") + " " +
                  str(g.get_object(), "up") + "/" + str(g.get_object(), "members") + " up, needs " +
                  str(g.get_object(), "required");
    const json::array* ev = array_at(s, "open_events");
    const json::array* ch = array_at(s, "changes");
    std::string notes;
    if (ev && !ev->empty()) notes += std::to_string(ev->size()) + " open event(s)";
    if (ch && !ch->empty())
      notes += (notes.empty() ? "" : ", ") + std::to_string(ch->size()) + " change(s) on the way";
    rows.push_back({str(s, "service"), str(s, "verdict"), str(s, "criticality"), groups, path,
                    notes.empty() ? "-" : notes});
  }
  out += text::table({"SERVICE", "VERDICT", "CRITICALITY", "GROUPS", "PATH", "NOTES"}, rows);
  out += std::to_string(rows.size()) + " service(s) reached, " + str(o, "cis_affected") +
         " CI(s) fail with it";
  if (str(o, "truncated") == "true")
    out += " (depth limit " + str(o, "depth") + " reached: there may be more)";
  return out + "\n";
}

core::Result<AuditVerification> read_audit_verification(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  const json::object& o = v->get_object();
  auto verified = o.find("verified");
  auto checkpoint = o.find("checkpoint");
  if (verified == o.end() || !verified->value().is_bool() || checkpoint == o.end() ||
      !checkpoint->value().is_object())
    return unexpected("no verdict or checkpoint in the answer");
  AuditVerification out;
  out.verified = verified->value().get_bool();
  out.checkpoint_json = json::serialize(checkpoint->value()) + "\n";
  const std::string scope = str(o, "ci") == "-" ? "" : " of " + str(o, "ci");
  const std::string counted = str(o, "entries") + " entries in " + str(o, "cis") + " chain(s)" + scope;
  const std::string unchained =
      str(o, "unchained") == "0" ? "" : "; " + str(o, "unchained") + " entries written before chaining are not covered";
  if (out.verified) {
    out.text = "verified: " + counted + unchained + "\nheads digest " +
               str(checkpoint->value().get_object(), "digest") + "\n";
  } else {
    const json::value* b = o.if_contains("first_break");
    const json::object* first = b ? b->if_object() : nullptr;
    out.text = "BROKEN: " + (first ? "CI " + str(*first, "ci_id") + ", entry " + str(*first, "seq") + ": " +
                                         str(*first, "reason")
                                   : std::string("(no detail)")) +
               "\nchecked " + counted + unchained + "\n";
  }
  return out;
}

core::Result<EvidenceIdentity> read_evidence(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  json::object o = v->get_object();
  const json::value* period = o.if_contains("period");
  const json::value* generated = o.if_contains("generated");
  const json::value* digest = o.if_contains("digest");
  if (!period || !period->is_object() || !generated || !generated->is_object() || !digest || !digest->is_string() ||
      str(o, "clause").empty())
    return unexpected("not an evidence report (no clause, period, generation or digest)");
  EvidenceIdentity out;
  out.clause = str(o, "clause");
  out.period = str(period->get_object(), "name");
  out.digest = std::string(digest->get_string());
  out.frozen = str(generated->get_object(), "frozen") == "true";
  o.erase("digest");
  out.computed = core::sha256_hex(json::serialize(o));
  return out;
}

core::Result<std::string> render_audit(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  auto value = [](const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return std::string("-");
    return it->value().is_string() ? std::string(it->value().get_string())
                                   : json::serialize(it->value());
  };
  auto rows = item_rows(*v, "an entry", [&value](const json::object& o) {
    std::string flag = str(o, "change_id");
    if (flag.empty() || flag == "-")
      flag = str(o, "alert") == "true"          ? "UNAUTHORISED"
             : str(o, "unauthorized") == "true" ? "unauthorised"
                                                : "-";
    std::string was = value(o, "old"), now = value(o, "new");
    if (was.size() > 40) was = was.substr(0, 37) + "...";
    if (now.size() > 40) now = now.substr(0, 37) + "...";
    return std::vector<std::string>{str(o, "time"),
                                    str(o, "ci_id"),
                                    str(o, "kind"),
                                    str(o, "key"),
                                    was,
                                    now,
                                    str(o, "origin"),
                                    flag};
  });
  if (!rows) return std::move(rows).error();
  return text::table({"TIME", "CI", "KIND", "KEY", "OLD", "NEW", "ORIGIN", "CHANGE"}, *rows) +
         std::to_string(rows->size()) + " entr" + (rows->size() == 1 ? "y" : "ies") + "\n";
}

namespace {

std::string joined(const json::object& o, std::string_view key) {
  std::string out;
  if (const json::array* a = array_at(o, key))
    for (const json::value& v : *a)
      if (v.is_string()) out += (out.empty() ? "" : ",") + std::string(v.get_string());
  return out;
}

}  // namespace

core::Result<std::string> render_changes(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  auto rows = item_rows(*v, "a change", [](const json::object& o) {
    return std::vector<std::string>{str(o, "id"),  str(o, "reference"), str(o, "start"),
                                    str(o, "end"), joined(o, "cis"),    str(o, "description")};
  });
  if (!rows) return std::move(rows).error();
  return text::table({"ID", "REFERENCE", "START", "END", "CIS", "DESCRIPTION"}, *rows) +
         std::to_string(rows->size()) + " change(s)\n";
}

core::Result<std::string> render_change(std::string_view text) {
  auto v = parse(text);
  if (!v) return std::move(v).error();
  if (!v->is_object()) return unexpected("the answer is not an object");
  const json::object& o = v->get_object();
  std::string out = str(o, "id") + "  " + str(o, "reference") + "\n";
  out += "  window:  " + str(o, "start") + " to " + str(o, "end") + "\n";
  out += "  CIs:     " + joined(o, "cis") + "\n";
  out += "  what:    " + str(o, "description") + "\n";
  out += "  by:      " + str(o, "actor") + " (" + str(o, "origin") + "), " + str(o, "created") + "\n";
  // The impact analysis made when it was recorded (none for older records).
  if (const json::value* impact = o.if_contains("impact"); impact && impact->is_object()) {
    const json::object& i = impact->get_object();
    std::string services;
    if (const json::array* list = array_at(i, "services"))
      for (const json::value& s : *list)
        if (s.is_object())
          services += (services.empty() ? "" : ", ") + str(s.get_object(), "service") + " " +
                      str(s.get_object(), "verdict");
    out += "  impact:  " + (services.empty() ? std::string("no service reached") : services) + "; " +
           str(i, "cis_affected") + " CI(s) fail with it (analysed " + str(i, "analysed") + ")\n";
  }
  if (const json::array* seen = array_at(o, "observed")) {
    json::object wrapped{{"items", *seen}};
    auto audit = render_audit(json::serialize(wrapped));
    if (!audit) return std::move(audit).error();
    out += "\nobserved in the window:\n" + *audit;
  }
  return out;
}

}  // namespace surveyor::cli::format
