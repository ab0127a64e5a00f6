// SPDX-License-Identifier: Apache-2.0
// An evidence document as an HTML page that stands on its own (inline
// style, no scripts) and a table of it as CSV.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>

#include "surveyor/collector/evidence/evidence.hpp"
#include "surveyor/text/csv.hpp"
#include "surveyor/text/html.hpp"

namespace surveyor::collector::evidence {
namespace {

namespace json = boost::json;
using store::StoreErrc;

core::Result<json::object> parse_document(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return core::make_error(StoreErrc::corrupt, "evidence document is not a JSON object");
  return std::move(v.get_object());
}

// A cell or figure as text: strings as they are, null as "", numbers and
// booleans as JSON spells them (yes/no for booleans).
std::string text_of(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return {};
  if (v.is_bool()) return v.get_bool() ? "yes" : "no";
  if (v.is_double()) {
    // The shortest text that reads back the same (JSON's own spelling is 1.5E0).
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v.get_double());
    return std::string(buf, r.ptr);
  }
  return json::serialize(v);
}

std::string field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v ? text_of(*v) : std::string();
}

const json::object& object_at(const json::object& o, std::string_view key) {
  static const json::object kEmpty;
  const json::value* v = o.if_contains(key);
  return v && v->is_object() ? v->get_object() : kEmpty;
}

const json::array& array_at(const json::object& o, std::string_view key) {
  static const json::array kEmpty;
  const json::value* v = o.if_contains(key);
  return v && v->is_array() ? v->get_array() : kEmpty;
}

std::string csv_cell(const json::value& v) {
  return text::csv_field(v.is_bool() ? (v.get_bool() ? "true" : "false") : text_of(v));
}

constexpr const char* kStyle = R"css(
body{font:14px/1.45 "DejaVu Sans",Arial,sans-serif;color:#1b1f24;margin:2em auto;max-width:72em;padding:0 1.5em}
h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .4em;border-bottom:1px solid #c9d1d9;padding-bottom:.2em}
.meta{color:#57606a;margin:.2em 0 1em}table{border-collapse:collapse;margin:.4em 0 1em;width:100%}
th,td{border:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#f3f5f7;overflow-wrap:break-word}td.n{text-align:right;font-variant-numeric:tabular-nums}
dl.figures{display:grid;grid-template-columns:max-content auto;gap:.2em 1.2em}dl.figures dt{color:#57606a}dl.figures dd{margin:0;font-weight:600}
.digest{font-family:"DejaVu Sans Mono",monospace;font-size:.85em;word-break:break-all}
.note{color:#57606a;font-size:.9em}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}tr{break-inside:avoid}}
)css";

}  // namespace

core::Result<std::string> to_html(std::string_view document_json) {
  auto parsed = parse_document(document_json);
  if (!parsed) return std::move(parsed).error();
  const json::object& d = *parsed;
  const json::object& period = object_at(d, "period");
  const json::object& generated = object_at(d, "generated");
  const std::string heading = "ISO/IEC 20000-1 clause " + field(d, "clause") + ": " + field(d, "title");
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + text::escape_html(heading) + " — " +
                  text::escape_html(field(period, "name")) + "</title>\n<style>" + kStyle + "</style></head><body>\n";
  h += "<h1>" + text::escape_html(heading) + "</h1>\n<p class=\"meta\">Period <b>" + text::escape_html(field(period, "name")) + "</b>: " +
       text::escape_html(field(period, "start")) + " to " + text::escape_html(field(period, "end")) + " (" + text::escape_html(field(period, "time_zone")) +
       (field(period, "closed") == "yes" ? ", closed" : ", not yet ended: figures up to the generation") +
       ")<br>Generated " + text::escape_html(field(generated, "at")) + " by " + text::escape_html(field(generated, "by")) +
       ", Surveyor collector " + text::escape_html(field(generated, "collector_version")) +
       (field(generated, "frozen") == "yes" ? "; frozen: this is the stored report of the closed period" : "") +
       "<br>Standard: " + text::escape_html(field(d, "standard")) + "</p>\n";
  h += "<h2>Figures</h2>\n<dl class=\"figures\">\n";
  for (const json::value& f : array_at(d, "figures")) {
    if (!f.is_object()) continue;
    const json::value* value = f.get_object().if_contains("value");
    const std::string shown = !value || value->is_null() ? "none" : text_of(*value);
    h += "<dt>" + text::escape_html(field(f.get_object(), "label")) + "</dt><dd>" + text::escape_html(shown) + "</dd>\n";
  }
  h += "</dl>\n";
  for (const json::value& tv : array_at(d, "tables")) {
    if (!tv.is_object()) continue;
    const json::object& t = tv.get_object();
    const json::array& rows = array_at(t, "rows");
    h += "<h2>" + text::escape_html(field(t, "title")) + "</h2>\n";
    if (rows.empty()) {
      h += "<p class=\"note\">None in the period.</p>\n";
      continue;
    }
    h += "<table><thead><tr>";
    // Column names read as words there (and wrap between them); the JSON
    // and CSV keep them as they are.
    for (const json::value& c : array_at(t, "columns")) {
      std::string name = text_of(c);
      std::replace(name.begin(), name.end(), '_', ' ');
      h += "<th>" + text::escape_html(name) + "</th>";
    }
    h += "</tr></thead><tbody>\n";
    for (const json::value& r : rows) {
      if (!r.is_array()) continue;
      h += "<tr>";
      for (const json::value& cell : r.get_array())
        h += std::string(cell.is_number() ? "<td class=\"n\">" : "<td>") + text::escape_html(text_of(cell)) + "</td>";
      h += "</tr>\n";
    }
    h += "</tbody></table>\n";
    if (field(t, "truncated") == "yes")
      h += "<p class=\"note\">The first " + std::to_string(rows.size()) + " of " + text::escape_html(field(t, "total_rows")) +
           " rows; the figures count all of them.</p>\n";
  }
  h += "<h2>Sources</h2>\n<ul>\n";
  for (const json::value& s : array_at(d, "sources")) h += "<li>" + text::escape_html(text_of(s)) + "</li>\n";
  h += "</ul>\n<h2>How the figures are computed</h2>\n<ul>\n";
  for (const json::value& s : array_at(d, "method")) h += "<li>" + text::escape_html(text_of(s)) + "</li>\n";
  h += "</ul>\n<p class=\"note\">More in " + text::escape_html(field(d, "documentation")) + ".</p>\n";
  h += "<h2>Integrity</h2>\n<p>SHA-256 of the report's JSON without its digest:</p>\n<p class=\"digest\">" +
       text::escape_html(field(d, "digest")) +
       "</p>\n<p class=\"note\">Check a downloaded JSON copy against the collector with <code>surveyor evidence "
       "verify FILE</code>.</p>\n</body></html>\n";
  return h;
}

core::Result<std::string> to_csv(std::string_view document_json, std::string_view table) {
  auto parsed = parse_document(document_json);
  if (!parsed) return std::move(parsed).error();
  std::string names;
  for (const json::value& tv : array_at(*parsed, "tables")) {
    if (!tv.is_object()) continue;
    const json::object& t = tv.get_object();
    names += (names.empty() ? "" : ", ") + field(t, "name");
    if (field(t, "name") != table) continue;
    std::string out;
    bool first = true;
    for (const json::value& c : array_at(t, "columns")) {
      out += (first ? "" : ",") + csv_cell(c);
      first = false;
    }
    out += "\r\n";
    for (const json::value& r : array_at(t, "rows")) {
      if (!r.is_array()) continue;
      first = true;
      for (const json::value& cell : r.get_array()) {
        out += (first ? "" : ",") + csv_cell(cell);
        first = false;
      }
      out += "\r\n";
    }
    return out;
  }
  return core::make_error(StoreErrc::not_found, "no table '" + std::string(table.substr(0, 64)) + "' (tables: " + names + ")");
}

}  // namespace surveyor::collector::evidence
