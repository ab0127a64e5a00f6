// SPDX-License-Identifier: Apache-2.0
// Capacity questions, readable: raw and downsampled series, forecasts with
// when a threshold is reached, and capacity events.
#include "surveyor/cli/format/render.hpp"

#include <cstdio>

#include "surveyor/core/clock.hpp"
#include "surveyor/text/human_value.hpp"
#include "surveyor/text/table.hpp"

#include "answer.hpp"

namespace surveyor::cli::format {
namespace {

std::string series_title(const json::object& o) {
  const std::string attrs = attrs_of(o);
  return str(o, "ci_id") + "  " + str(o, "metric") + (attrs.empty() ? "" : "{" + attrs + "}");
}

std::string number_or_dash(const json::object& o, std::string_view key, std::string_view unit) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_number()) return "-";
  return text::human_value(it->value().to_number<double>(), unit);
}

}  // namespace

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
  const std::string how =
      o.contains("step") ? str(o, "agg") + " per " + str(o, "step") + ", from " + str(o, "source")
                         : std::string("raw samples");
  for (const json::value& sv : *series) {
    if (!sv.is_object()) return unexpected("a series is not an object");
    const json::object& so = sv.get_object();
    out += series_title(so) + "  (" + how + ")\n";
    out += points_table(array_at(so, "points"), str(so, "unit")) + "\n";
  }
  if (auto c = o.find("combined"); c != o.end() && c->value().is_object()) {
    const json::object& co = c->value().get_object();
    const std::string unit = series->empty() || !series->front().is_object()
                                 ? ""
                                 : str(series->front().get_object(), "unit");
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
    out += "  fitted to:   " + str(it, "points") + " points (" + str(it, "source") + ") over " +
           str(o, "window") + " up to " + str(o, "now") + "\n";
    if (auto f = it.find("fit"); f != it.end() && f->value().is_object()) {
      const json::object& fo = f->value().get_object();
      out += "  now:         " + number_or_dash(fo, "value_now", unit) + " (fitted)\n";
      out += "  trend:       " + number_or_dash(fo, "slope_per_day", unit) + " per day, R^2 " +
             str(fo, "r2") + "\n";
    } else {
      out += "  trend:       not enough data\n";
    }
    if (auto p = it.find("predict"); p != it.end() && p->value().is_object())
      out += "  predicted:   " + number_or_dash(p->value().get_object(), "value", unit) + " at " +
             str(p->value().get_object(), "at") + "\n";
    if (auto t = it.find("threshold"); t != it.end() && t->value().is_object()) {
      const json::object& to = t->value().get_object();
      const std::string outcome = str(to, "outcome");
      std::string line = "  threshold:   " + number_or_dash(to, "value", unit) + " (" +
                         str(to, "direction") + "): ";
      if (outcome == "at") {
        char days[32] = "?";
        if (auto d = to.find("days"); d != to.end() && d->value().is_number())
          std::snprintf(days, sizeof days, "%.1f", d->value().to_number<double>());
        const auto latest = to.find("latest");
        line += "reached around " + str(to, "at") + " (in " + days + " days); 95 % interval " +
                str(to, "earliest") + " to " +
                (latest == to.end() || latest->value().is_null() ? std::string("unbounded")
                                                                 : str(to, "latest"));
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
    return std::vector<std::string>{str(o, "id"), str(o, "state"), str(o, "kind"), str(o, "opened"),
                                    str(o, "summary")};
  });
  if (!rows) return std::move(rows).error();
  return text::table({"ID", "STATE", "KIND", "OPENED", "SUMMARY"}, *rows) +
         std::to_string(rows->size()) + " event(s)\n";
}

}  // namespace surveyor::cli::format
