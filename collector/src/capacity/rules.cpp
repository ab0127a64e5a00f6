// SPDX-License-Identifier: Apache-2.0
// Capacity rules: the defaults, the [[capacity_rule]] table, and sustained and forecast
// breaches evaluated into capacity events.
#include "surveyor/collector/capacity/rules.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "surveyor/collector/capacity/query.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/duration.hpp"

namespace surveyor::collector::capacity {
namespace {

using config::Type;
using config::Value;
using std::chrono::milliseconds;

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string series_text(const CapacityRule& r, const store::Labels& attrs) {
  std::string s = r.metric;
  if (!attrs.empty()) {
    s += '{';
    for (std::size_t i = 0; i < attrs.size(); ++i) s += (i ? "," : "") + attrs[i].first + "=" + attrs[i].second;
    s += '}';
  }
  return s;
}

bool past(const CapacityRule& r, double v) { return r.rising ? v > r.threshold : v < r.threshold; }

}  // namespace

std::vector<CapacityRule> default_rules() {
  CapacityRule cpu;
  cpu.name = "cpu-sustained";
  cpu.metric = "system.cpu.utilization";
  cpu.exact = true;  // the total, not each state
  cpu.threshold = 0.9;
  CapacityRule mem;
  mem.name = "memory-sustained";
  mem.metric = "system.memory.utilization";
  mem.match = {{"state", "used"}};
  mem.threshold = 0.95;
  CapacityRule fs;
  fs.name = "filesystem-forecast";
  fs.kind = CapacityRule::Kind::forecast;
  fs.metric = "system.filesystem.utilization";
  fs.threshold = 0.9;
  return {cpu, mem, fs};
}

std::shared_ptr<const config::Schema> rule_schema() {
  static const auto schema = [] {
    auto s = std::make_shared<config::Schema>();
    s->add({.key = "name", .type = Type::string, .description = "unique rule name (names the events)", .required = true});
    s->add({.key = "kind", .type = Type::string, .description = "sustained or forecast", .required = true});
    s->add({.key = "metric", .type = Type::string, .description = "the metric watched", .required = true});
    s->add({.key = "attributes", .type = Type::string_list, .default_value = Value{std::vector<std::string>{}},
            .description = "KEY=VALUE attributes a series must have"});
    s->add({.key = "exact", .type = Type::boolean, .default_value = Value{false},
            .description = "the series must have exactly these attributes"});
    s->add({.key = "ci_type", .type = Type::string, .default_value = Value{std::string("host")},
            .description = "the CIs the rule applies to"});
    s->add({.key = "cis", .type = Type::string_list,
            .description = "only these CIs (ids or unique names) instead of every CI of ci_type"});
    s->add({.key = "threshold", .type = Type::number, .description = "the limit", .required = true});
    s->add({.key = "direction", .type = Type::string, .default_value = Value{std::string("above")},
            .description = "above (breach when higher) or below"});
    s->add({.key = "for", .type = Type::duration, .default_value = Value{milliseconds{15 * 60'000}},
            .description = "sustained: how long every sample must be past the threshold"});
    s->add({.key = "clear_for", .type = Type::duration, .default_value = Value{milliseconds{5 * 60'000}},
            .description = "sustained: how long every sample must be back before the event resolves"});
    s->add({.key = "horizon", .type = Type::duration, .default_value = Value{milliseconds{14 * 86'400'000LL}},
            .description = "forecast: how far ahead a predicted breach counts"});
    s->add({.key = "window", .type = Type::duration, .default_value = Value{milliseconds{7 * 86'400'000LL}},
            .description = "forecast: how much history the line is fitted to"});
    s->add({.key = "min_r2", .type = Type::number, .default_value = Value{0.5},
            .description = "forecast: weakest fit (R squared) that may raise an event"});
    return std::shared_ptr<const config::Schema>(s);
  }();
  return schema;
}

core::Result<CapacityRule> rule_from_settings(const config::Settings& s) {
  auto bad = [&](const std::string& why) {
    return core::make_error(config::ConfigErrc::invalid_value, "[[capacity_rule]] '" + s.str("name") + "': " + why);
  };
  CapacityRule r;
  r.name = s.str("name");
  if (r.name.empty()) return bad("name must not be empty");
  const std::string& kind = s.str("kind");
  if (kind == "sustained") r.kind = CapacityRule::Kind::sustained;
  else if (kind == "forecast") r.kind = CapacityRule::Kind::forecast;
  else return bad("kind must be sustained or forecast");
  r.metric = s.str("metric");
  for (const std::string& kv : s.list("attributes")) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return bad("attribute '" + kv + "' is not KEY=VALUE");
    r.match.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  std::sort(r.match.begin(), r.match.end());
  r.exact = s.flag("exact");
  r.ci_type = s.str("ci_type");
  if (s.has("cis")) r.ci_ids = s.list("cis");
  r.threshold = s.number("threshold");
  const std::string& dir = s.str("direction");
  if (dir != "above" && dir != "below") return bad("direction must be above or below");
  r.rising = dir == "above";
  r.for_ms = s.duration("for").count();
  r.clear_for_ms = s.duration("clear_for").count();
  r.horizon_ms = s.duration("horizon").count();
  r.window_ms = s.duration("window").count();
  r.min_r2 = s.number("min_r2");
  if (r.for_ms <= 0 || r.clear_for_ms <= 0 || r.horizon_ms <= 0 || r.window_ms <= 0)
    return bad("durations must be positive");
  return r;
}

Evaluation evaluate_sustained(const CapacityRule& r, std::span<const store::Sample> samples, std::int64_t now_ms,
                              const store::Labels& attrs) {
  Evaluation e;
  std::size_t in_window = 0, in_clear = 0, past_in_window = 0, past_in_clear = 0;
  std::int64_t first = 0;
  double extreme = 0;
  for (const store::Sample& s : samples) {
    if (std::isnan(s.value) || s.time_ms > now_ms) continue;
    if (s.time_ms >= now_ms - r.for_ms) {
      if (in_window++ == 0) {
        first = s.time_ms;
        extreme = s.value;
      }
      // The figure reported: the sample closest to the threshold.
      extreme = r.rising ? std::min(extreme, s.value) : std::max(extreme, s.value);
      if (past(r, s.value)) ++past_in_window;
    }
    if (s.time_ms >= now_ms - r.clear_for_ms) {
      ++in_clear;
      if (past(r, s.value)) ++past_in_clear;
    }
  }
  if (in_window > 0 && past_in_window == in_window && first <= now_ms - r.for_ms + r.for_ms / 5) {
    e.verdict = Verdict::breach;
    e.value = extreme;
    e.summary = series_text(r, attrs) + (r.rising ? " above " : " below ") + number(r.threshold) + " for " +
                core::format_duration(milliseconds{r.for_ms}) + " (" + (r.rising ? "lowest " : "highest ") +
                number(extreme) + ")";
  } else if (in_clear > 0 && past_in_clear == 0) {
    e.verdict = Verdict::clear;
  }
  return e;
}

Evaluation evaluate_forecast(const CapacityRule& r, const ThresholdForecast& f, std::int64_t now_ms,
                             const store::Labels& attrs) {
  Evaluation e;
  using O = ThresholdForecast::Outcome;
  e.value = f.latest_value;
  switch (f.outcome) {
    case O::not_enough_data: return e;
    case O::never: e.verdict = Verdict::clear; return e;
    case O::already:
      e.verdict = Verdict::breach;
      e.predicted_ms = now_ms;
      e.summary = series_text(r, attrs) + " is already past " + number(r.threshold) + " (" + number(f.latest_value) + ")";
      return e;
    case O::at: break;
  }
  if (*f.at_ms - now_ms > r.horizon_ms) {
    e.verdict = Verdict::clear;
    return e;
  }
  if (!f.fit || f.fit->r2 < r.min_r2) return e;  // too weak a trend to call either way
  e.verdict = Verdict::breach;
  e.predicted_ms = f.at_ms;
  e.summary = series_text(r, attrs) + " reaches " + number(r.threshold) + " around " + core::format_rfc3339(*f.at_ms);
  if (f.earliest_ms)
    e.summary += " (95 % interval " + core::format_rfc3339(*f.earliest_ms) + " to " +
                 (f.latest_ms ? core::format_rfc3339(*f.latest_ms) : std::string("unbounded")) + ")";
  e.summary += ", fit R^2 " + number(f.fit->r2) + " over " + core::format_duration(milliseconds{r.window_ms});
  return e;
}

double HotSpot::closeness() const {
  if (rising) return threshold != 0 ? value / threshold : value;
  return value != 0 ? threshold / value : std::numeric_limits<double>::infinity();
}

namespace {

// Keeps the closest kHotSpots, then the soonest kHotSpots of the rest.
std::vector<HotSpot> pick_hot_spots(std::vector<HotSpot> all, std::int64_t now_ms) {
  auto closer = [](const HotSpot& a, const HotSpot& b) { return a.closeness() > b.closeness(); };
  const std::size_t top = std::min(kHotSpots, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(top), all.end(), closer);
  std::vector<HotSpot> out(std::make_move_iterator(all.begin()), std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(top)));
  std::vector<HotSpot> rest;
  for (auto it = all.begin() + static_cast<std::ptrdiff_t>(top); it != all.end(); ++it)
    if (it->reaches_ms && *it->reaches_ms >= now_ms) rest.push_back(std::move(*it));
  const std::size_t soon = std::min(kHotSpots, rest.size());
  std::partial_sort(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(soon), rest.end(),
                    [](const HotSpot& a, const HotSpot& b) { return *a.reaches_ms < *b.reaches_ms; });
  out.insert(out.end(), std::make_move_iterator(rest.begin()), std::make_move_iterator(rest.begin() + static_cast<std::ptrdiff_t>(soon)));
  return out;
}

}  // namespace

std::string hot_spots_json(const std::vector<HotSpot>& spots, std::int64_t evaluated_ms) {
  boost::json::array items;
  for (const HotSpot& h : spots) {
    boost::json::object attrs;
    for (const auto& [k, v] : h.attributes) attrs[k] = v;
    boost::json::object o{{"rule", h.rule},
                          {"ci_id", h.ci_id},
                          {"ci_name", h.ci_name},
                          {"metric", h.metric},
                          {"attributes", std::move(attrs)},
                          {"unit", h.unit},
                          {"value", std::isfinite(h.value) ? boost::json::value(h.value) : boost::json::value(nullptr)},
                          {"threshold", h.threshold},
                          {"direction", h.rising ? "above" : "below"},
                          {"closeness", std::isfinite(h.closeness()) ? boost::json::value(h.closeness()) : boost::json::value(nullptr)},
                          {"reaches_at", h.reaches_ms ? boost::json::value(core::format_rfc3339(*h.reaches_ms))
                                                      : boost::json::value(nullptr)}};
    items.push_back(std::move(o));
  }
  return boost::json::serialize(boost::json::object{{"evaluated", core::format_rfc3339(evaluated_ms)}, {"items", std::move(items)}});
}

core::Result<RulesReport> evaluate_rules(const store::Stores& stores, std::span<const CapacityRule> rules,
                                         std::int64_t now_ms) {
  RulesReport rep;
  std::vector<HotSpot> candidates;
  for (const CapacityRule& rule : rules) {
    constexpr std::size_t kPage = 500;
    for (std::size_t offset = 0;; offset += kPage) {
      std::vector<store::Ci> page;
      if (rule.ci_ids) {
        for (std::size_t i = offset; i < std::min(offset + kPage, rule.ci_ids->size()); ++i) {
          const std::string& ref = (*rule.ci_ids)[i];
          auto ci = stores.cmdb->find_ci(ref);
          if (!ci) return std::move(ci).error();
          if (*ci) {
            page.push_back(std::move(**ci));
            continue;
          }
          store::CiFilter byname;  // not an id: a unique name
          byname.name = ref;
          byname.limit = 2;
          auto named = stores.cmdb->list_cis(byname);
          if (!named) return std::move(named).error();
          if (named->size() == 1) page.push_back(std::move(named->front()));
        }
        if (offset >= rule.ci_ids->size()) break;
      } else {
        store::CiFilter f;
        f.type = rule.ci_type;
        f.limit = kPage;
        f.offset = offset;
        auto cis = stores.cmdb->list_cis(f);
        if (!cis) return std::move(cis).error();
        page = std::move(*cis);
      }
      const std::vector<store::Ci>* cis = &page;
      for (const store::Ci& ci : *cis) {
        if (ci.state == store::CiState::retired) continue;
        auto series = select_series(*stores.series, SeriesSelector{{ci.id}, rule.metric, rule.match, rule.exact});
        if (!series) return std::move(series).error();
        for (const store::SeriesInfo& info : *series) {
          ++rep.series;
          Evaluation ev;
          HotSpot spot{rule.name, ci.id, ci.name, info.key.metric, info.unit, info.key.attributes, 0,
                       rule.threshold, rule.rising, std::nullopt};
          bool seen = false;
          if (rule.kind == CapacityRule::Kind::sustained) {
            const std::int64_t span = std::max(rule.for_ms, rule.clear_for_ms);
            auto samples = stores.series->read_samples(info.key, now_ms - span, now_ms + 1, kMaxRawPerSeries);
            if (!samples) return std::move(samples).error();
            ev = evaluate_sustained(rule, *samples, now_ms, info.key.attributes);
            for (auto it = samples->rbegin(); it != samples->rend() && !seen; ++it)
              if (std::isfinite(it->value) && it->time_ms <= now_ms) {
                spot.value = it->value;
                seen = true;
              }
          } else {
            const Source src = rule.window_ms >= 86'400'000 ? Source::rollup : Source::raw;
            auto pts = forecast_points(*stores.series, info.key, now_ms, rule.window_ms, src);
            if (!pts) return std::move(pts).error();
            const ThresholdForecast f = time_to_threshold(*pts, now_ms, rule.threshold, rule.rising);
            ev = evaluate_forecast(rule, f, now_ms, info.key.attributes);
            if (f.outcome != ThresholdForecast::Outcome::not_enough_data) {
              spot.value = f.latest_value;
              seen = std::isfinite(spot.value);
              if (f.outcome == ThresholdForecast::Outcome::at) spot.reaches_ms = f.at_ms;
            }
          }
          // value ÷ threshold ranks only positive thresholds (and values, for
          // falling rules); other rules are left out of the hot spots.
          if (seen && spot.threshold > 0 && (spot.rising || spot.value > 0)) candidates.push_back(std::move(spot));
          if (ev.verdict == Verdict::breach) {
            store::CapacityEvent e;
            e.kind = std::string(rule.event_kind());
            e.rule = rule.name;
            e.ci_id = ci.id;
            e.metric = info.key.metric;
            e.attributes = info.key.attributes;
            e.threshold = rule.threshold;
            e.value = ev.value;
            e.predicted_ms = ev.predicted_ms;
            e.summary = ci.name + ": " + ev.summary;
            auto raised = stores.events->raise_event(e, now_ms);
            if (!raised) return std::move(raised).error();
            ++rep.open;
            if (raised->second) ++rep.opened;
          } else if (ev.verdict == Verdict::clear) {
            auto resolved = stores.events->resolve_event(rule.name, info.key, now_ms);
            if (!resolved) return std::move(resolved).error();
            if (*resolved) ++rep.resolved;
          }
        }
      }
      if (rule.ci_ids ? offset + kPage >= rule.ci_ids->size() : cis->size() < kPage) break;
    }
  }
  rep.hot_spots = pick_hot_spots(std::move(candidates), now_ms);
  return rep;
}

}  // namespace surveyor::collector::capacity
