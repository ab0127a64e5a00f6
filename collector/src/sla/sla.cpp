// SPDX-License-Identifier: Apache-2.0
// Calendar periods and service hours in a time zone, and the SLA arithmetic
// of docs/sla.md.
//
// Design: the calendar is worked out on local dates and times, counted as if
// they were UTC (a std::chrono::sys_days here holds a local date); only the
// boundaries found are turned into instants, through the tz database (Howard
// Hinnant's date library over /usr/share/zoneinfo), always by one rule: a
// local time that does not exist (the gap when clocks spring forward) is the
// first instant after the gap, an ambiguous one (the hour repeated when they
// fall back) its earliest instant. Both keep the conversion monotonic, so
// windows converted day by day stay in order. "UTC" needs no tz database.
#include "surveyor/collector/sla/sla.hpp"

#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <utility>

namespace surveyor::collector::sla {
namespace {

using namespace std::chrono;

constexpr std::int64_t kDayMs = 86'400'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// A zone of the tz database, or UTC without it.
class Zone {
 public:
  static std::optional<Zone> find(std::string_view name) {
    if (name == "UTC") return Zone(nullptr);
    try {
      return Zone(date::locate_zone(name));
    } catch (const std::exception&) {  // unknown, or no tz database at all
      return std::nullopt;
    }
  }

  // A local time, in ms since 1970-01-01 00:00 local, as an instant.
  [[nodiscard]] std::int64_t utc_ms(std::int64_t local_ms) const {
    if (tz_ == nullptr) return local_ms;
    const date::local_info i =
        tz_->get_info(date::local_time<milliseconds>{milliseconds{local_ms}});
    // In a gap: where the gap ends, the change itself.
    if (i.result == date::local_info::nonexistent)
      return duration_cast<milliseconds>(i.first.end.time_since_epoch()).count();
    // Unique, or ambiguous: `first` holds the offset before the change, which
    // gives the earlier of the two instants.
    return local_ms - duration_cast<milliseconds>(i.first.offset).count();
  }

  // An instant as local time (ms since 1970-01-01 00:00 local).
  [[nodiscard]] std::int64_t local_ms(std::int64_t utc_ms) const {
    if (tz_ == nullptr) return utc_ms;
    const date::sys_info i = tz_->get_info(date::sys_time<milliseconds>{milliseconds{utc_ms}});
    return utc_ms + duration_cast<milliseconds>(i.offset).count();
  }

 private:
  explicit Zone(const date::time_zone* tz) : tz_(tz) {}
  const date::time_zone* tz_;  // nullptr: UTC
};

// A period as local dates: [first, end).
struct LocalPeriod {
  std::string name;
  sys_days first, end;
};

std::int64_t ms_of(sys_days d) { return duration_cast<milliseconds>(d.time_since_epoch()).count(); }
sys_days local_day(std::int64_t local_ms) { return sys_days{days{floor_div(local_ms, kDayMs)}}; }

LocalPeriod month_period(year_month ym) {
  char name[48];
  std::snprintf(name, sizeof name, "%04d-%02u", static_cast<int>(ym.year()),
                static_cast<unsigned>(ym.month()));
  return {name, sys_days{ym / 1}, sys_days{(ym + months{1}) / 1}};
}

LocalPeriod quarter_period(year y, unsigned q) {
  const year_month first{y, std::chrono::month{3 * (q - 1) + 1}};
  char name[48];
  std::snprintf(name, sizeof name, "%04d-Q%u", static_cast<int>(y), q);
  return {name, sys_days{first / 1}, sys_days{(first + months{3}) / 1}};
}

// The ISO week (Monday first; week 1 holds the year's first Thursday).
LocalPeriod week_period(sys_days monday) {
  const year_month_day thursday{monday + days{3}};
  const sys_days jan1{thursday.year() / January / 1};
  const int number = static_cast<int>((monday + days{3} - jan1).count() / 7) + 1;
  char name[48];
  std::snprintf(name, sizeof name, "%04d-W%02d", static_cast<int>(thursday.year()), number);
  return {name, monday, monday + days{7}};
}

sys_days monday_of(sys_days d) { return d - (weekday{d} - Monday); }

bool known_kind(std::string_view kind) {
  return kind == "month" || kind == "quarter" || kind == "week";
}

// The period of a known kind holding a local date.
LocalPeriod local_period(std::string_view kind, sys_days day) {
  const year_month_day ymd{day};
  if (kind == "month") return month_period({ymd.year(), ymd.month()});
  if (kind == "quarter")
    return quarter_period(ymd.year(), (static_cast<unsigned>(ymd.month()) - 1) / 3 + 1);
  return week_period(monday_of(day));
}

// From local midnight to local midnight.
Period in_zone(const LocalPeriod& p, const Zone& z, std::string_view zone_name) {
  return {p.name, z.utc_ms(ms_of(p.first)), z.utc_ms(ms_of(p.end)), std::string(zone_name)};
}

std::optional<LocalPeriod> local_period_named(std::string_view kind, std::string_view name) {
  int y = 0;
  unsigned n = 0;
  char tail = 0;
  const std::string text(name);
  if (kind == "month" && std::sscanf(text.c_str(), "%4d-%2u%c", &y, &n, &tail) == 2 &&
      text.size() == 7 && n >= 1 && n <= 12 && y >= 1970 && y <= 9999)
    return month_period({year{y}, std::chrono::month{n}});
  if (kind == "quarter" && std::sscanf(text.c_str(), "%4d-Q%1u%c", &y, &n, &tail) == 2 &&
      text.size() == 7 && n >= 1 && n <= 4 && y >= 1970 && y <= 9999)
    return quarter_period(year{y}, n);
  if (kind == "week" && std::sscanf(text.c_str(), "%4d-W%2u%c", &y, &n, &tail) == 2 &&
      text.size() == 8 && n >= 1 && n <= 53 && y >= 1970 && y <= 9999) {
    // Week 1 is the week holding January 4th.
    const sys_days w1 = monday_of(sys_days{year{y} / January / 4});
    LocalPeriod p = week_period(w1 + days{7 * (n - 1)});
    if (p.name != text) return std::nullopt;  // week 53 of a 52-week year
    return p;
  }
  return std::nullopt;
}

std::int64_t span_ms(const std::vector<Window>& windows) {
  std::int64_t n = 0;
  for (const Window& w : windows) n += w.end_ms - w.start_ms;
  return n;
}

Report figures(const std::string& service, const services::Sla& s, const Period& period,
               const availability::Totals& t, std::int64_t service_time_ms, std::int64_t now_ms) {
  Report r;
  r.service = service;
  r.period = period;
  r.closed = now_ms >= period.end_ms;
  r.target_percent = s.target_percent;
  for (const services::ServiceHours& h : s.service_hours)
    r.service_hours.push_back(services::describe(h));
  r.service_time_ms = service_time_ms;
  r.maintenance_ms = t.maintenance_ms;
  r.unknown_ms = t.unknown_ms;
  r.downtime_ms = t.down_ms + (s.degraded_is_down ? t.degraded_ms : 0);
  r.agreed_ms = std::max<std::int64_t>(0, service_time_ms - r.maintenance_ms);
  if (r.agreed_ms > 0)
    r.achieved_percent =
        100.0 * static_cast<double>(r.agreed_ms - r.downtime_ms) / static_cast<double>(r.agreed_ms);
  r.allowed_downtime_ms =
      std::llround((100.0 - s.target_percent) * static_cast<double>(r.agreed_ms) / 100.0);
  r.budget_left_ms = r.allowed_downtime_ms - r.downtime_ms;
  r.breached = r.budget_left_ms < 0;
  return r;
}

}  // namespace

std::optional<Period> period_at(std::string_view kind, std::int64_t t_ms,
                                std::string_view time_zone) {
  if (!known_kind(kind)) return std::nullopt;
  const auto z = Zone::find(time_zone);
  if (!z) return std::nullopt;
  const LocalPeriod local = local_period(kind, local_day(z->local_ms(t_ms)));
  Period p = in_zone(local, *z, time_zone);
  // The gap and ambiguity rules keep t inside the period of its local date;
  // should a zone's odd rules ever leave it outside, the neighbour holds it.
  if (t_ms >= p.end_ms)
    p = in_zone(local_period(kind, local.end), *z, time_zone);
  else if (t_ms < p.start_ms)
    p = in_zone(local_period(kind, local.first - days{1}), *z, time_zone);
  return p;
}

std::optional<Period> period_at(const services::Sla& sla, std::int64_t t_ms) {
  return period_at(sla.period, t_ms, sla.time_zone);
}

std::optional<Period> period_named(std::string_view kind, std::string_view name,
                                   std::string_view time_zone) {
  const auto local = local_period_named(kind, name);
  if (!local) return std::nullopt;
  const auto z = Zone::find(time_zone);
  if (!z) return std::nullopt;
  return in_zone(*local, *z, time_zone);
}

std::optional<Period> period_named(const services::Sla& sla, std::string_view name) {
  return period_named(sla.period, name, sla.time_zone);
}

std::vector<Window> service_windows(const services::Sla& sla, std::int64_t from_ms,
                                    std::int64_t to_ms) {
  std::vector<Window> out;
  if (to_ms <= from_ms) return out;
  if (sla.service_hours.empty()) return {Window{from_ms, to_ms}};
  const auto z = Zone::find(sla.time_zone);
  if (!z) return out;
  // Every local day that can reach into [from, to), a day either side.
  const std::int64_t first = floor_div(z->local_ms(from_ms), kDayMs) - 1;
  const std::int64_t last = floor_div(z->local_ms(to_ms), kDayMs) + 1;
  std::vector<std::pair<int, int>> ranges;
  for (std::int64_t d = first; d <= last; ++d) {
    const int wd = static_cast<int>(weekday{sys_days{days{d}}}.iso_encoding()) - 1;  // 0 Monday
    ranges.clear();
    for (const services::ServiceHours& h : sla.service_hours)
      if (h.first_day <= wd && wd <= h.last_day) ranges.emplace_back(h.start_minute, h.end_minute);
    std::sort(ranges.begin(), ranges.end());
    for (const auto& [start, end] : ranges) {
      const std::int64_t a = std::max(from_ms, z->utc_ms(d * kDayMs + start * 60'000LL));
      const std::int64_t b = std::min(to_ms, z->utc_ms(d * kDayMs + end * 60'000LL));
      if (b <= a) continue;  // outside [from, to), or all of it in a gap
      // Overlapping lines, and windows that touch (24:00 and the next 00:00), become one.
      if (!out.empty() && a <= out.back().end_ms)
        out.back().end_ms = std::max(out.back().end_ms, b);
      else
        out.push_back({a, b});
    }
  }
  return out;
}

std::string local_time_text(std::string_view time_zone, std::int64_t t_ms) {
  const auto z = Zone::find(time_zone);
  if (!z) return {};
  const std::int64_t local = z->local_ms(t_ms);
  const std::int64_t offset_min = (local - t_ms) / 60'000;
  const sys_days day = local_day(local);
  const year_month_day ymd{day};
  const std::int64_t second = (local - ms_of(day)) / 1000;
  char b[96];
  std::snprintf(b, sizeof b, "%04d-%02u-%02uT%02d:%02d:%02d%c%02d:%02d",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(second / 3600),
                static_cast<int>(second / 60 % 60), static_cast<int>(second % 60),
                offset_min < 0 ? '-' : '+', static_cast<int>(std::llabs(offset_min) / 60 % 100),
                static_cast<int>(std::llabs(offset_min) % 60));
  return b;
}

Report compute(const std::string& service, const services::Sla& s, const Period& period,
               const availability::Totals& t, std::int64_t now_ms) {
  const auto windows = service_windows(s, period.start_ms, std::min(now_ms, period.end_ms));
  return figures(service, s, period, t, span_ms(windows), now_ms);
}

Report evaluate(const std::string& service, const services::Sla& s, const Period& period,
                const std::vector<store::StateInterval>& timeline, std::int64_t now_ms) {
  const auto windows = service_windows(s, period.start_ms, std::min(now_ms, period.end_ms));
  Report r = figures(service, s, period, availability::totals(timeline, windows), span_ms(windows), now_ms);
  // What is left out, window by window: maintenance, unknown, and what no
  // interval covers (unknown too).
  constexpr std::size_t kMaxExcluded = 10'000;
  const std::string subject = "service:" + service;
  auto exclude = [&](std::int64_t a, std::int64_t b, store::Availability st) {
    if (b <= a) return;
    if (!r.excluded.empty() && r.excluded.back().state == st && r.excluded.back().end_ms == a) {
      r.excluded.back().end_ms = b;
      return;
    }
    if (r.excluded.size() == kMaxExcluded) {
      r.excluded_truncated = true;
      return;
    }
    r.excluded.push_back({subject, a, b, st});
  };
  for (const Window& w : windows) {
    std::int64_t cursor = w.start_ms;
    for (const store::StateInterval& i : timeline) {
      const std::int64_t a = std::max(i.start_ms, w.start_ms), b = std::min(i.end_ms, w.end_ms);
      if (b <= a) continue;
      exclude(cursor, a, store::Availability::unknown);
      if (i.state == store::Availability::maintenance || i.state == store::Availability::unknown)
        exclude(a, b, i.state);
      cursor = std::max(cursor, b);
    }
    exclude(cursor, w.end_ms, store::Availability::unknown);
  }
  return r;
}

}  // namespace surveyor::collector::sla
