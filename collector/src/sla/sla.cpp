// SPDX-License-Identifier: Apache-2.0
// Calendar periods and the SLA arithmetic of docs/sla.md.
#include "surveyor/collector/sla/sla.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace surveyor::collector::sla {
namespace {

using namespace std::chrono;

std::int64_t ms_of(sys_days d) { return duration_cast<milliseconds>(d.time_since_epoch()).count(); }

Period month_period(year_month ym) {
  char name[48];
  std::snprintf(name, sizeof name, "%04d-%02u", static_cast<int>(ym.year()), static_cast<unsigned>(ym.month()));
  return {name, ms_of(sys_days{ym / 1}), ms_of(sys_days{(ym + months{1}) / 1})};
}

Period quarter_period(year y, unsigned q) {
  const year_month first{y, std::chrono::month{3 * (q - 1) + 1}};
  char name[48];
  std::snprintf(name, sizeof name, "%04d-Q%u", static_cast<int>(y), q);
  return {name, ms_of(sys_days{first / 1}), ms_of(sys_days{(first + months{3}) / 1})};
}

// The ISO week (Monday first; week 1 holds the year's first Thursday).
Period week_period(sys_days monday) {
  const year_month_day thursday{monday + days{3}};
  const sys_days jan1{thursday.year() / January / 1};
  const int number = static_cast<int>((monday + days{3} - jan1).count() / 7) + 1;
  char name[48];
  std::snprintf(name, sizeof name, "%04d-W%02d", static_cast<int>(thursday.year()), number);
  return {name, ms_of(monday), ms_of(monday + days{7})};
}

sys_days monday_of(sys_days d) { return d - (weekday{d} - Monday); }

}  // namespace

std::optional<Period> period_at(std::string_view kind, std::int64_t t_ms) {
  const sys_days day = floor<days>(sys_time<milliseconds>{milliseconds{t_ms}});
  const year_month_day ymd{day};
  if (kind == "month") return month_period({ymd.year(), ymd.month()});
  if (kind == "quarter") return quarter_period(ymd.year(), (static_cast<unsigned>(ymd.month()) - 1) / 3 + 1);
  if (kind == "week") return week_period(monday_of(day));
  return std::nullopt;
}

std::optional<Period> period_named(std::string_view kind, std::string_view name) {
  int y = 0;
  unsigned n = 0;
  char tail = 0;
  const std::string text(name);
  if (kind == "month" && std::sscanf(text.c_str(), "%4d-%2u%c", &y, &n, &tail) == 2 && text.size() == 7 && n >= 1 &&
      n <= 12 && y >= 1970 && y <= 9999)
    return month_period({year{y}, std::chrono::month{n}});
  if (kind == "quarter" && std::sscanf(text.c_str(), "%4d-Q%1u%c", &y, &n, &tail) == 2 && text.size() == 7 &&
      n >= 1 && n <= 4 && y >= 1970 && y <= 9999)
    return quarter_period(year{y}, n);
  if (kind == "week" && std::sscanf(text.c_str(), "%4d-W%2u%c", &y, &n, &tail) == 2 && text.size() == 8 && n >= 1 &&
      n <= 53 && y >= 1970 && y <= 9999) {
    // Week 1 is the week holding January 4th.
    const sys_days w1 = monday_of(sys_days{year{y} / January / 4});
    Period p = week_period(w1 + days{7 * (n - 1)});
    if (p.name != text) return std::nullopt;  // week 53 of a 52-week year
    return p;
  }
  return std::nullopt;
}

Report compute(const std::string& service, const services::Sla& s, const Period& period,
               const availability::Totals& t, std::int64_t now_ms) {
  Report r;
  r.service = service;
  r.period = period;
  r.closed = now_ms >= period.end_ms;
  r.target_percent = s.target_percent;
  const std::int64_t elapsed = std::max<std::int64_t>(0, std::min(now_ms, period.end_ms) - period.start_ms);
  r.maintenance_ms = t.maintenance_ms;
  r.unknown_ms = t.unknown_ms;
  r.downtime_ms = t.down_ms + (s.degraded_is_down ? t.degraded_ms : 0);
  r.agreed_ms = std::max<std::int64_t>(0, elapsed - r.maintenance_ms);
  if (r.agreed_ms > 0)
    r.achieved_percent = 100.0 * static_cast<double>(r.agreed_ms - r.downtime_ms) / static_cast<double>(r.agreed_ms);
  r.allowed_downtime_ms = std::llround((100.0 - s.target_percent) * static_cast<double>(r.agreed_ms) / 100.0);
  r.budget_left_ms = r.allowed_downtime_ms - r.downtime_ms;
  r.breached = r.budget_left_ms < 0;
  return r;
}

}  // namespace surveyor::collector::sla
