// SPDX-License-Identifier: Apache-2.0
// The series verbs: trend, forecast, capacity report and capacity events.
// The first three name their series alike: named CIs, --type or --service,
// and for trend and forecast a metric with attributes.
#include <CLI/CLI.hpp>

#include <iostream>
#include <span>
#include <string>
#include <utility>

#include "surveyor/cli/format/render.hpp"

#include "handlers.hpp"
#include "requests.hpp"

namespace surveyor::cli::commands {
namespace {

// How trend and forecast name their series.
void add_series_options(CLI::App& command, SeriesOptions& o) {
  command.add_option("CI", o.cis, "CI ids or names, comma-separated (or use --type)");
  command.add_option("METRIC", o.metric, "metric, e.g. system.filesystem.utilization");
  command.add_option("--type", o.type, "every CI of this type instead of named CIs");
  command.add_option("--service", o.service, "the CIs this service stands on instead of named CIs");
  command.add_option("--attr", o.attrs, "KEY=VALUE an attribute the series must have (repeatable)");
  command.add_flag("--exact", o.exact,
                   "the series must have exactly the --attr attributes, no others");
}

// Whether a question names its CIs one way only: 0, or 2 after saying what
// is wrong. With `metric` the question needs a METRIC too (trend, forecast);
// with --type or --service the one positional argument is the metric.
int check_naming(SeriesOptions& o, bool metric) {
  if (metric && o.metric.empty() && (!o.type.empty() || !o.service.empty()))
    std::swap(o.metric, o.cis);
  if (metric && o.metric.empty()) {
    std::cerr << "surveyor: METRIC is required\n";
    return 2;
  }
  if (!o.cis.empty() + !o.type.empty() + !o.service.empty() != 1) {
    std::cerr << "surveyor: name the CIs, or give --type or --service (one of the three)\n";
    return 2;
  }
  return 0;
}

// A verb's own option, sent as the query parameter of the same name.
struct Param {
  const char* name;
  std::string SeriesOptions::*field;
  const char* help;
};

constexpr Param kTrendParams[] = {
    {"from", &SeriesOptions::from, "start: RFC 3339 or Unix ms (default: an hour before --to)"},
    {"to", &SeriesOptions::to, "end: RFC 3339 or Unix ms (default: now)"},
    {"step", &SeriesOptions::step, "bucket length, e.g. 5m or 1h (default: raw samples)"},
    {"agg", &SeriesOptions::agg, "per bucket: avg, min, max or p95 (default avg)"},
    {"across", &SeriesOptions::across, "also combine the series: avg, min, max or sum"}};

constexpr Param kForecastParams[] = {
    {"window", &SeriesOptions::window, "history fitted (default 7d)"},
    {"threshold", &SeriesOptions::threshold, "the value whose crossing is forecast"},
    {"predict", &SeriesOptions::predict, "also predict the value this far ahead, e.g. 30d"}};

void add_param_options(CLI::App& command, SeriesOptions& o, std::span<const Param> params) {
  for (const Param& p : params) command.add_option(std::string("--") + p.name, o.*(p.field), p.help);
}

// Asks a trend or forecast question: `path` with the series, their source
// and the verb's own parameters, printed by `render`; the exit code.
int ask_series(const Context& context, SeriesOptions o, const std::string& path, std::span<const Param> params,
               Render render) {
  if (const int usage = check_naming(o, true)) return usage;
  auto which = ci_query(context.collector, o.cis, o.type, o.service);
  if (!which) return 1;
  std::string q = path + *which + selector_query(o.metric, o.attrs, o.exact);
  add_param(q, "source", o.source);
  for (const Param& p : params) add_param(q, p.name, o.*(p.field));
  if (o.below) q += "&direction=below";
  return get_and_print(context, q, render);
}

}  // namespace

void add_trend_options(CLI::App& command, Options& options) {
  SeriesOptions& o = options.series;
  add_series_options(command, o);
  add_param_options(command, o, kTrendParams);
  command.add_option("--source", o.source, "auto, raw or rollup (default auto)");
}

int run_trend(const Context& context, const Options& options) {
  return ask_series(context, options.series, "/api/v1/series?", kTrendParams, format::render_series);
}

void add_forecast_options(CLI::App& command, Options& options) {
  SeriesOptions& o = options.series;
  add_series_options(command, o);
  add_param_options(command, o, kForecastParams);
  command.add_flag("--below", o.below, "the threshold is a floor (the series falls towards it)");
  command.add_option("--source", o.source, "auto, raw or rollup (hourly maxima) (default auto)");
}

int run_forecast(const Context& context, const Options& options) {
  return ask_series(context, options.series, "/api/v1/forecast?", kForecastParams, format::render_forecast);
}

void add_capacity_report_options(CLI::App& command, Options& options) {
  SeriesOptions& o = options.series;
  command.add_option("CI", o.cis, "CI ids or names, comma-separated (none: every host, the whole fleet)");
  command.add_option("--type", o.type, "every CI of this type");
  command.add_option("--service", o.service,
                     "the CIs this service stands on, with its own thresholds");
  command.add_option("--window", o.window, "history considered (default 7d)");
  command.add_option("--format", o.format, "table, csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}));
}

// The collector renders the report itself (text, CSV or JSON): printed as is.
int run_capacity_report(const Context& context, const Options& options) {
  SeriesOptions o = options.series;
  if (o.cis.empty() && o.type.empty() && o.service.empty()) o.type = "host";  // the whole fleet
  if (const int usage = check_naming(o, false)) return usage;
  auto which = ci_query(context.collector, o.cis, o.type, o.service);
  if (!which) return 1;
  std::string q =
      "/api/v1/capacity/report?" + *which + "&format=" + (o.format == "table" ? "text" : o.format);
  add_param(q, "window", o.window);
  auto body = get(context.collector, q);
  if (!body) return 1;
  std::cout << *body;
  return 0;
}

void add_capacity_events_options(CLI::App& command, Options& options) {
  EventOptions& o = options.events;
  command.add_option("--state", o.state, "open or resolved");
  command.add_option("--kind", o.kind, "capacity or capacity-forecast");
  command.add_option("--ci", o.ci, "only this CI (id)");
}

int run_capacity_events(const Context& context, const Options& options) {
  const EventOptions& o = options.events;
  std::string q = "/api/v1/capacity/events?limit=1000";
  add_param(q, "state", o.state);
  add_param(q, "kind", o.kind);
  add_param(q, "ci", o.ci);
  return get_and_print(context, q, format::render_events);
}

}  // namespace surveyor::cli::commands
