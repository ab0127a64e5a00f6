// SPDX-License-Identifier: Apache-2.0
// SLA records (docs/sla.md): the report as JSON, error-budget burn rates,
// reports frozen when a period closes and amendments after recomputation.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

#include "surveyor/collector/sla/sla.hpp"
#include "surveyor/core/clock.hpp"

namespace surveyor::collector::sla {

namespace json = boost::json;

constexpr int kClosedLooked = 3;

std::string report_json(const Report& r) {
  auto opt = [](const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); };
  json::array hours, excluded;
  for (const std::string& h : r.service_hours) hours.emplace_back(h);
  for (const store::StateInterval& i : r.excluded)
    excluded.push_back(json::object{{"state", store::to_string(i.state)},
                                    {"start", core::format_rfc3339(i.start_ms)},
                                    {"end", core::format_rfc3339(i.end_ms)},
                                    {"start_ms", i.start_ms},
                                    {"end_ms", i.end_ms}});
  return json::serialize(json::object{{"service", r.service},
                                      {"period", r.period.name},
                                      {"start", core::format_rfc3339(r.period.start_ms)},
                                      {"end", core::format_rfc3339(r.period.end_ms)},
                                      {"start_ms", r.period.start_ms},
                                      {"end_ms", r.period.end_ms},
                                      {"time_zone", r.period.time_zone},
                                      {"start_local", local_time_text(r.period.time_zone, r.period.start_ms)},
                                      {"end_local", local_time_text(r.period.time_zone, r.period.end_ms)},
                                      {"service_hours", std::move(hours)},
                                      {"closed", r.closed},
                                      {"target_percent", r.target_percent},
                                      {"achieved_percent", opt(r.achieved_percent)},
                                      {"service_time_seconds", r.service_time_ms / 1000.0},
                                      {"agreed_seconds", r.agreed_ms / 1000.0},
                                      {"downtime_seconds", r.downtime_ms / 1000.0},
                                      {"allowed_downtime_seconds", r.allowed_downtime_ms / 1000.0},
                                      {"error_budget_left_seconds", r.budget_left_ms / 1000.0},
                                      {"maintenance_seconds", r.maintenance_ms / 1000.0},
                                      {"unknown_seconds", r.unknown_ms / 1000.0},
                                      {"breached", r.breached},
                                      {"excluded", std::move(excluded)},
                                      {"excluded_truncated", r.excluded_truncated}});
}

core::Result<Report> report_from_json(std::string_view text) {
  auto bad = [](const std::string& why) {
    return core::make_error(store::StoreErrc::corrupt, "stored SLA report: " + why);
  };
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return bad("not a JSON object");
  const json::object& o = v.get_object();
  Report r;
  try {
    // Milliseconds were written from whole milliseconds: seconds x 1000 is exact after rounding.
    auto ms = [&](const char* k) { return std::llround(o.at(k).to_number<double>() * 1000.0); };
    r.service = std::string(o.at("service").as_string());
    r.period.name = std::string(o.at("period").as_string());
    r.period.start_ms = o.at("start_ms").to_number<std::int64_t>();
    r.period.end_ms = o.at("end_ms").to_number<std::int64_t>();
    r.period.time_zone = std::string(o.at("time_zone").as_string());
    for (const json::value& h : o.at("service_hours").as_array()) r.service_hours.emplace_back(h.as_string());
    r.closed = o.at("closed").as_bool();
    r.target_percent = o.at("target_percent").to_number<double>();
    if (!o.at("achieved_percent").is_null()) r.achieved_percent = o.at("achieved_percent").to_number<double>();
    r.service_time_ms = ms("service_time_seconds");
    r.agreed_ms = ms("agreed_seconds");
    r.downtime_ms = ms("downtime_seconds");
    r.allowed_downtime_ms = ms("allowed_downtime_seconds");
    r.budget_left_ms = ms("error_budget_left_seconds");
    r.maintenance_ms = ms("maintenance_seconds");
    r.unknown_ms = ms("unknown_seconds");
    r.breached = o.at("breached").as_bool();
    for (const json::value& e : o.at("excluded").as_array()) {
      auto st = store::availability_from(e.at("state").as_string());
      if (!st) return bad("unknown state");
      r.excluded.push_back({"service:" + r.service, e.at("start_ms").to_number<std::int64_t>(),
                            e.at("end_ms").to_number<std::int64_t>(), *st});
    }
    r.excluded_truncated = o.at("excluded_truncated").as_bool();
  } catch (const std::exception& e) {
    return bad(e.what());
  }
  return r;
}

BurnRates burn_rates(const services::Sla& sla, const Period& current,
                     const std::vector<store::StateInterval>& timeline, std::int64_t now) {
  BurnRates b;
  constexpr std::int64_t kMin = 60'000, k30Days = 30LL * 86'400'000;
  b.scale = static_cast<double>(current.end_ms - current.start_ms) / static_cast<double>(k30Days);
  const double budget = (100.0 - sla.target_percent) / 100.0;
  auto rate = [&](std::int64_t window_ms) {
    const auto windows = service_windows(sla, now - window_ms, now);
    const availability::Totals t = availability::totals(timeline, windows);
    std::int64_t span = 0;
    for (const Window& w : windows) span += w.end_ms - w.start_ms;
    const std::int64_t agreed = span - t.maintenance_ms;
    if (agreed <= 0 || budget <= 0) return 0.0;
    const std::int64_t bad = t.down_ms + (sla.degraded_is_down ? t.degraded_ms : 0);
    return static_cast<double>(bad) / static_cast<double>(agreed) / budget;
  };
  b.r5m = rate(5 * kMin);
  b.r30m = rate(30 * kMin);
  b.r1h = rate(60 * kMin);
  b.r6h = rate(360 * kMin);
  b.r3d = rate(3 * 1440 * kMin);
  b.page = (b.r1h >= 14.4 * b.scale && b.r5m >= 14.4 * b.scale) || (b.r6h >= 6 * b.scale && b.r30m >= 6 * b.scale);
  b.ticket = b.r3d >= 1 * b.scale && b.r6h >= 1 * b.scale;
  return b;
}

namespace {

core::Result<Report> closed_report(const store::Stores& st, const services::Service& svc, const Period& p,
                                   std::int64_t now) {
  auto timeline = st.timelines->read_timeline("service:" + svc.name, p.start_ms, p.end_ms);
  if (!timeline) return std::move(timeline).error();
  return evaluate(svc.name, *svc.sla, p, *timeline, now);
}

}  // namespace

core::Result<std::size_t> freeze_closed(const store::Stores& st, const services::Catalog& catalog, std::int64_t now,
                                        std::set<std::string>& done) {
  std::size_t frozen = 0;
  for (const services::Service& svc : catalog.list()) {
    if (!svc.sla) continue;
    const auto current = period_at(*svc.sla, now);
    if (!current) continue;
    // The last kClosedLooked closed periods: a collector away over a whole
    // period still freezes the one it missed.
    std::int64_t before = current->start_ms;
    for (int back = 0; back < kClosedLooked; ++back) {
      const auto closed = period_at(*svc.sla, before - 1);
      if (!closed) break;
      before = closed->start_ms;
      const std::string key = svc.name + "\x1f" + closed->name;
      if (done.contains(key)) continue;
      auto held = st.sla_reports->sla_reports(svc.name, closed->name);
      if (!held) return std::move(held).error();
      if (held->empty()) {
        auto tl = st.timelines->read_timeline("service:" + svc.name, closed->start_ms, closed->end_ms);
        if (!tl) return std::move(tl).error();
        if (!tl->empty()) {
          const Report r = evaluate(svc.name, *svc.sla, *closed, *tl, now);
          auto added = st.sla_reports->add_sla_report(
              {svc.name, closed->name, 1, now, "surveyor", "period closed", report_json(r)});
          if (!added) return std::move(added).error();
          frozen += *added ? 1 : 0;
        }
      }
      done.insert(key);
    }
  }
  return frozen;
}

core::Result<Recomputed> recompute(const store::Stores& st, const services::Service& svc, const Period& p,
                                   const std::string& by, const std::string& reason, std::int64_t now) {
  if (!svc.sla) return core::make_error(store::StoreErrc::invalid, "service '" + svc.name + "' has no SLA");
  if (now < p.end_ms) return core::make_error(store::StoreErrc::conflict, "period " + p.name + " has not closed yet");
  auto r = closed_report(st, svc, p, now);
  if (!r) return std::move(r).error();
  const std::string doc = report_json(*r);
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto held = st.sla_reports->sla_reports(svc.name, p.name);
    if (!held) return std::move(held).error();
    if (!held->empty() && held->back().report == doc) return Recomputed{held->back(), false};
    store::SlaReportVersion v{svc.name, p.name, static_cast<int>(held->size()) + 1, now, by,
                              held->empty() ? "period closed; first computed on request: " + reason : reason, doc};
    auto added = st.sla_reports->add_sla_report(v);
    if (!added) return std::move(added).error();
    if (*added) return Recomputed{v, true};
  }
  return core::make_error(store::StoreErrc::unavailable, "SLA report versions kept changing; gave up");
}

}  // namespace surveyor::collector::sla
