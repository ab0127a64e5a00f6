// SPDX-License-Identifier: Apache-2.0
// SLA periods in a service's time zone and its service hours, across the
// daylight saving changes of 2026 (Europe/Berlin: 29 March and 25 October;
// America/New_York: 8 March and 1 November), and a scripted month.
//
// The expected instants were computed apart from this code, with GNU date
// and the system tz database, e.g.
//   TZ=Europe/Berlin date -d '2026-10-01 00:00' +%s      -> 1790805600
//   TZ=America/New_York date -d '2026-11-01 00:00' +%s   -> 1793505600
// and the changes themselves with `zdump -v -c 2026,2027 Europe/Berlin`.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/services/services.hpp"
#include "surveyor/collector/sla/sla.hpp"
#include "surveyor/core/clock.hpp"

namespace surveyor::collector {
namespace {

using store::Availability;
using store::StateInterval;
constexpr std::int64_t kS = 1000, kMin = 60 * kS, kHour = 60 * kMin;

std::int64_t at(const char* rfc3339) { return *core::parse_time(rfc3339); }

services::Sla berlin_office_hours() {
  services::Sla s{99.0, "month", false, "Europe/Berlin", {}};
  s.service_hours.push_back(*services::parse_service_hours("Mon-Fri 08:00-18:00"));
  return s;
}

// Named periods in zones with daylight saving time: start and end (Unix
// seconds from `TZ=<zone> date -d '<local midnight>' +%s`) and length.
struct NamedPeriod {
  const char* kind;
  const char* name;
  const char* zone;
  std::int64_t start_s, end_s, hours;
};

TEST(SlaZone, NamedPeriodsAcrossDst) {
  const NamedPeriod cases[] = {
      // October 2026 ends an hour late in Berlin (DST ends on the 25th).
      {"month", "2026-10", "Europe/Berlin", 1790805600, 1793487600, 745},
      // March 2026 loses an hour (DST starts on the 29th).
      {"month", "2026-03", "Europe/Berlin", 1772319600, 1774994400, 743},
      // The week of the change (2026-W43, Monday 19 October) has 169 hours.
      {"week", "2026-W43", "Europe/Berlin", 1792360800, 1792969200, 169},
      {"quarter", "2026-Q4", "Europe/Berlin", 1790805600, 1798758000, 2209},
      {"quarter", "2026-Q1", "Europe/Berlin", 1767222000, 1774994400, 2159},
      // New York's October ends still on EDT (the change is at 02:00 on 1 November).
      {"month", "2026-10", "America/New_York", 1790827200, 1793505600, 744},
      {"month", "2026-11", "America/New_York", 1793505600, 1796101200, 721},
      // 2026-W44 runs from Monday 26 October to Monday 2 November, over the change.
      {"week", "2026-W44", "America/New_York", 1792987200, 1793595600, 169},
  };
  for (const NamedPeriod& c : cases) {
    auto p = sla::period_named(c.kind, c.name, c.zone);
    ASSERT_TRUE(p) << c.name << " " << c.zone;
    EXPECT_EQ(p->start_ms, c.start_s * kS) << c.name << " " << c.zone;
    EXPECT_EQ(p->end_ms, c.end_s * kS) << c.name << " " << c.zone;
    EXPECT_EQ(p->end_ms - p->start_ms, c.hours * kHour) << c.name << " " << c.zone;
    EXPECT_EQ(p->time_zone, c.zone);
  }
  EXPECT_EQ(sla::period_named("month", "2026-10", "Europe/Berlin")->start_ms, at("2026-09-30T22:00:00Z"));
}

TEST(SlaZone, PeriodsAtAnInstantInBerlin) {
  auto oct = sla::period_named("month", "2026-10", "Europe/Berlin");
  ASSERT_TRUE(oct);
  // 22:30 UTC on 30 September is already October in Berlin.
  EXPECT_EQ(sla::period_at("month", at("2026-09-30T22:30:00Z"), "Europe/Berlin")->name, "2026-10");
  EXPECT_EQ(sla::period_at("month", at("2026-09-30T21:59:59Z"), "Europe/Berlin")->name, "2026-09");
  EXPECT_EQ(sla::period_at("month", at("2026-09-30T22:30:00Z"))->name, "2026-09");
  EXPECT_EQ(sla::period_at("quarter", at("2026-09-30T22:00:00Z"), "Europe/Berlin")->name,
            "2026-Q4");
  EXPECT_EQ(sla::period_at("week", at("2026-10-25T22:59:59Z"), "Europe/Berlin")->name, "2026-W43");
  EXPECT_EQ(sla::period_at("week", at("2026-10-25T23:00:00Z"), "Europe/Berlin")->name, "2026-W44");
  // The same through the SLA.
  auto p = sla::period_at(berlin_office_hours(), at("2026-10-15T12:00:00Z"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "2026-10");
  EXPECT_EQ(p->start_ms, oct->start_ms);
  EXPECT_EQ(sla::period_named(berlin_office_hours(), "2026-10")->end_ms, oct->end_ms);
}

TEST(SlaZone, PeriodsAtAnInstantInNewYork) {
  // 04:30 UTC on 2 November is still Sunday 1 November (23:30 EST) there.
  EXPECT_EQ(sla::period_at("week", at("2026-11-02T04:30:00Z"), "America/New_York")->name,
            "2026-W44");
  EXPECT_EQ(sla::period_at("week", at("2026-11-02T04:30:00Z"))->name, "2026-W45");
  EXPECT_EQ(sla::period_at("month", at("2026-11-01T03:59:59Z"), "America/New_York")->name,
            "2026-10");
}

TEST(SlaZone, UtcUnchangedAndUnknownZonesRefused) {
  for (const char* name : {"2026-10", "2024-02"}) {
    auto plain = sla::period_named("month", name);
    auto utc = sla::period_named("month", name, "UTC");
    ASSERT_TRUE(plain && utc);
    EXPECT_EQ(plain->start_ms, utc->start_ms);
    EXPECT_EQ(plain->end_ms, utc->end_ms);
    EXPECT_EQ(plain->time_zone, "UTC");
  }
  EXPECT_EQ(sla::period_named("month", "2026-10", "UTC")->start_ms, at("2026-10-01T00:00:00Z"));
  EXPECT_FALSE(sla::period_named("month", "2026-10", "Mars/Olympus_Mons"));
  EXPECT_FALSE(sla::period_at("month", at("2026-10-01T00:00:00Z"), "Mars/Olympus_Mons"));
  EXPECT_FALSE(sla::period_at("fortnight", at("2026-10-01T00:00:00Z"), "Europe/Berlin"));
  EXPECT_EQ(sla::local_time_text("Europe/Berlin", 1790805600 * kS), "2026-10-01T00:00:00+02:00");
  EXPECT_EQ(sla::local_time_text("Europe/Berlin", 1793487600 * kS), "2026-11-01T00:00:00+01:00");
  EXPECT_EQ(sla::local_time_text("America/New_York", 1790827200 * kS), "2026-10-01T00:00:00-04:00");
  EXPECT_EQ(sla::local_time_text("UTC", at("2026-10-01T12:34:56Z")), "2026-10-01T12:34:56+00:00");
  EXPECT_EQ(sla::local_time_text("Mars/Olympus_Mons", 0), "");
}

TEST(SlaZone, ServiceWindowsFollowLocalTime) {
  const services::Sla office = berlin_office_hours();
  const auto oct = *sla::period_named(office, "2026-10");
  const auto windows = sla::service_windows(office, oct.start_ms, oct.end_ms);
  // 22 weekdays of 10 hours each.
  ASSERT_EQ(windows.size(), 22u);
  std::int64_t total = 0;
  for (const sla::Window& w : windows) {
    EXPECT_EQ(w.end_ms - w.start_ms, 10 * kHour);
    total += w.end_ms - w.start_ms;
  }
  EXPECT_EQ(total, 220 * kHour);
  EXPECT_EQ(windows.front(), (sla::Window{at("2026-10-01T06:00:00Z"), at("2026-10-01T16:00:00Z")}));
  // The Friday before the change is CEST (+2), the Monday after CET (+1).
  EXPECT_EQ(windows[16], (sla::Window{at("2026-10-23T06:00:00Z"), at("2026-10-23T16:00:00Z")}));
  EXPECT_EQ(windows[17], (sla::Window{at("2026-10-26T07:00:00Z"), at("2026-10-26T17:00:00Z")}));
  EXPECT_EQ(windows.back(), (sla::Window{at("2026-10-30T07:00:00Z"), at("2026-10-30T17:00:00Z")}));
  // An arbitrary range (a burn-rate window: the last hour) is clipped.
  EXPECT_EQ(sla::service_windows(office, at("2026-10-23T15:30:00Z"), at("2026-10-23T16:30:00Z")),
            (std::vector<sla::Window>{{at("2026-10-23T15:30:00Z"), at("2026-10-23T16:00:00Z")}}));
  EXPECT_TRUE(
      sla::service_windows(office, at("2026-10-24T00:00:00Z"), at("2026-10-26T07:00:00Z")).empty());
  EXPECT_TRUE(sla::service_windows(office, oct.end_ms, oct.start_ms).empty());
  // Without service hours the whole range is one window; so is "all the time".
  services::Sla always = office;
  always.service_hours.clear();
  EXPECT_EQ(sla::service_windows(always, oct.start_ms, oct.end_ms),
            (std::vector<sla::Window>{{oct.start_ms, oct.end_ms}}));
  always.service_hours = {*services::parse_service_hours("Mon-Sun 00:00-24:00")};
  EXPECT_EQ(sla::service_windows(always, oct.start_ms, oct.end_ms),
            (std::vector<sla::Window>{{oct.start_ms, oct.end_ms}}));
  // Overlapping lines count once.
  services::Sla twice = office;
  twice.service_hours.push_back(*services::parse_service_hours("Fri 17:00-20:00"));
  EXPECT_EQ(sla::service_windows(twice, at("2026-10-23T00:00:00Z"), at("2026-10-24T00:00:00Z")),
            (std::vector<sla::Window>{{at("2026-10-23T06:00:00Z"), at("2026-10-23T18:00:00Z")}}));
}

TEST(SlaZone, WindowsInTheGapAndTheRepeatedHour) {
  auto sla_with = [](const char* hours) {
    services::Sla s{99.9, "month", false, "Europe/Berlin", {}};
    s.service_hours.push_back(*services::parse_service_hours(hours));
    return s;
  };
  const std::int64_t sun29 = at("2026-03-28T23:00:00Z"), mon30 = at("2026-03-29T22:00:00Z");
  // 29 March: 02:00 to 03:00 does not exist (at 01:00 UTC clocks go from
  // 02:00 CET to 03:00 CEST): a window inside it is empty; one that starts in
  // it starts where it ends.
  EXPECT_TRUE(sla::service_windows(sla_with("Sun 02:00-03:00"), sun29, mon30).empty());
  EXPECT_EQ(sla::service_windows(sla_with("Sun 02:30-04:00"), sun29, mon30),
            (std::vector<sla::Window>{
                {1774746000 * kS, at("2026-03-29T02:00:00Z")}}));  // '2026-03-29 03:00'
  EXPECT_EQ(sla::service_windows(sla_with("Sun 01:00-04:00"), sun29, mon30),
            (std::vector<sla::Window>{{at("2026-03-29T00:00:00Z"), at("2026-03-29T02:00:00Z")}}));
  // The whole day has 23 hours.
  EXPECT_EQ(sla::service_windows(sla_with("Sun 00:00-24:00"), sun29, mon30),
            (std::vector<sla::Window>{{sun29, mon30}}));
  EXPECT_EQ(mon30 - sun29, 23 * kHour);
  // 25 October: 02:00 to 03:00 happens twice (at 01:00 UTC clocks go from
  // 03:00 CEST back to 02:00 CET); 02:00 is its earliest instant, 00:00 UTC
  // ('2026-10-25 02:00 +0200'), so a window over it holds both runs.
  const std::int64_t sun25 = at("2026-10-24T22:00:00Z"), mon26 = at("2026-10-25T23:00:00Z");
  EXPECT_EQ(sla::service_windows(sla_with("Sun 02:00-03:00"), sun25, mon26),
            (std::vector<sla::Window>{{at("2026-10-25T00:00:00Z"), at("2026-10-25T02:00:00Z")}}));
  EXPECT_EQ(sla::service_windows(sla_with("Sun 02:30-04:00"), sun25, mon26),
            (std::vector<sla::Window>{
                {1792888200 * kS, at("2026-10-25T03:00:00Z")}}));  // '2026-10-25 02:30 +0200'
  EXPECT_EQ(sla::service_windows(sla_with("Sun 00:00-24:00"), sun25, mon26),
            (std::vector<sla::Window>{{sun25, mon26}}));
  EXPECT_EQ(mon26 - sun25, 25 * kHour);
}

TEST(SlaZone, TotalsOverWindows) {
  const std::vector<StateInterval> tl{{"s", 0, 100, Availability::up},
                                      {"s", 100, 150, Availability::down},
                                      {"s", 150, 200, Availability::maintenance},
                                      {"s", 300, 400, Availability::degraded}};
  const auto t = availability::totals(
      tl, std::vector<availability::Window>{{50, 120}, {140, 160}, {190, 350}});
  EXPECT_EQ(t.up_ms, 50);
  EXPECT_EQ(t.down_ms, 20 + 10);
  EXPECT_EQ(t.maintenance_ms, 10 + 10);
  EXPECT_EQ(t.degraded_ms, 50);
  EXPECT_EQ(t.unknown_ms, 100);  // 200 to 300: nothing recorded
  EXPECT_EQ(t.up_ms + t.down_ms + t.maintenance_ms + t.degraded_ms + t.unknown_ms, 70 + 20 + 160);
  // One window is the plain range.
  const auto one = availability::totals(tl, std::vector<availability::Window>{{50, 350}});
  const auto range = availability::totals(tl, 50, 350);
  EXPECT_EQ(one.up_ms, range.up_ms);
  EXPECT_EQ(one.down_ms, range.down_ms);
  EXPECT_EQ(one.unknown_ms, range.unknown_ms);
  EXPECT_EQ(one.maintenance_ms, range.maintenance_ms);
  EXPECT_EQ(one.degraded_ms, range.degraded_ms);
  EXPECT_EQ(availability::totals(tl, std::vector<availability::Window>{}).unknown_ms, 0);
}

// October 2026 in Berlin with office hours, Mon-Fri 08:00-18:00: 22 weekdays
// of 10 hours, 220 agreed hours before maintenance. Outages before and after
// the change on the 25th, inside and outside the hours.
std::vector<StateInterval> scripted_october() {
  struct Step {
    const char* until;
    Availability state;
  };
  // Each state lasts from the previous step's end (the first from 07:00 UTC
  // on 1 October, 09:00 local: the hour before is not recorded, unknown).
  const Step steps[] = {
      {"2026-10-02T08:00:00Z", Availability::up},
      {"2026-10-02T08:10:00Z", Availability::degraded},  // 10:00-10:10 CEST, in: degraded, not down
      {"2026-10-07T08:00:00Z", Availability::up},
      {"2026-10-07T08:30:00Z", Availability::down},  // 10:00-10:30 CEST, in: 30 min
      {"2026-10-07T17:00:00Z", Availability::up},
      {"2026-10-07T19:00:00Z", Availability::down},  // 19:00-21:00 CEST, out
      {"2026-10-14T14:00:00Z", Availability::up},
      {"2026-10-14T18:00:00Z", Availability::maintenance},  // 16:00-20:00 CEST: 2 h of it in
      {"2026-10-22T05:30:00Z", Availability::up},
      {"2026-10-22T06:30:00Z", Availability::down},  // 07:30-08:30 CEST: 30 min in
      {"2026-10-22T16:00:00Z", Availability::up},
      {"2026-10-22T17:00:00Z", Availability::down},  // 18:00-19:00 CEST, out
      {"2026-10-25T00:00:00Z", Availability::up},
      {"2026-10-25T03:00:00Z", Availability::down},  // Sunday, over the change, out
      {"2026-10-27T06:00:00Z", Availability::up},
      {"2026-10-27T07:00:00Z",
       Availability::down},  // 07:00-08:00 CET, out (06:00 UTC was in before the 25th)
      {"2026-10-27T16:00:00Z", Availability::up},
      {"2026-10-27T17:30:00Z", Availability::down},  // 17:00-18:30 CET: 1 h in
      {"2026-10-30T15:00:00Z", Availability::up},
      {"2026-10-30T20:00:00Z", Availability::unknown},  // 16:00-21:00 CET, collector gap: 2 h in
      {"2026-11-01T00:00:00Z", Availability::up},
  };
  std::vector<StateInterval> out;
  std::int64_t from = at("2026-10-01T07:00:00Z");
  for (const Step& s : steps) {
    out.push_back({"service:shop", from, at(s.until), s.state});
    from = at(s.until);
  }
  return out;
}

TEST(SlaZone, AScriptedMonthInBerlinWithOfficeHours) {
  const services::Sla office = berlin_office_hours();  // 99.0 %
  const auto oct = *sla::period_named(office, "2026-10");
  const auto timeline = scripted_october();
  auto r = sla::evaluate("shop", office, oct, timeline, at("2026-11-05T00:00:00Z"));
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.period.time_zone, "Europe/Berlin");
  EXPECT_EQ(r.service_hours, (std::vector<std::string>{"Mon-Fri 08:00-18:00"}));
  EXPECT_EQ(r.service_time_ms, 220 * kHour);
  EXPECT_EQ(r.maintenance_ms, 120 * kMin);
  EXPECT_EQ(r.agreed_ms, 220 * kHour - 120 * kMin);  // 13,080 minutes
  EXPECT_EQ(r.downtime_ms, (30 + 30 + 60) * kMin);
  EXPECT_EQ(r.unknown_ms, (60 + 120) * kMin);
  ASSERT_TRUE(r.achieved_percent);
  EXPECT_NEAR(*r.achieved_percent, 100.0 * (13'080.0 - 120) / 13'080.0, 1e-12);  // 99.0826 %
  EXPECT_EQ(r.allowed_downtime_ms, 7'848'000);          // 1 % of 13,080 minutes: 130.8 minutes
  EXPECT_EQ(r.budget_left_ms, 7'848'000 - 120 * kMin);  // 10.8 minutes
  EXPECT_FALSE(r.breached);
  // The same figures from totals over the windows.
  const auto windows = sla::service_windows(office, oct.start_ms, oct.end_ms);
  const auto t = availability::totals(timeline, windows);
  EXPECT_EQ(t.degraded_ms, 10 * kMin);
  EXPECT_EQ(t.up_ms, (13'200 - 120 - 120 - 180 - 10) * kMin);
  const auto c = sla::compute("shop", office, oct, t, at("2026-11-05T00:00:00Z"));
  EXPECT_EQ(c.agreed_ms, r.agreed_ms);
  EXPECT_EQ(c.downtime_ms, r.downtime_ms);
  EXPECT_EQ(c.budget_left_ms, r.budget_left_ms);
  // Counting degraded as down: 10 more minutes, 0.8 minutes left.
  services::Sla strict = office;
  strict.degraded_is_down = true;
  r = sla::evaluate("shop", strict, oct, timeline, at("2026-11-05T00:00:00Z"));
  EXPECT_EQ(r.downtime_ms, 130 * kMin);
  EXPECT_EQ(r.budget_left_ms, 48'000);
  // So far, at 08:00 local on Thursday 22 October: 15 weekdays, 150 hours.
  r = sla::evaluate("shop", office, oct, timeline, at("2026-10-22T06:00:00Z"));
  EXPECT_FALSE(r.closed);
  EXPECT_EQ(r.service_time_ms, 150 * kHour);
  EXPECT_EQ(r.agreed_ms, 150 * kHour - 120 * kMin);
  EXPECT_EQ(r.downtime_ms, 30 * kMin);
  EXPECT_EQ(r.unknown_ms, 60 * kMin);
  EXPECT_EQ(r.allowed_downtime_ms, 5'328'000);  // 1 % of 8,880 minutes
}

TEST(SlaZone, EvaluateInUtcWithoutHoursIsThePlainRange) {
  const services::Sla plain{99.0, "month", false};
  const auto oct = *sla::period_named(plain, "2026-10");
  const auto timeline = scripted_october();
  for (const std::int64_t now : {at("2026-10-22T06:00:00Z"), at("2026-11-05T00:00:00Z")}) {
    const auto r = sla::evaluate("shop", plain, oct, timeline, now);
    const auto old =
        sla::compute("shop", plain, oct,
                     availability::totals(timeline, oct.start_ms, std::min(now, oct.end_ms)), now);
    EXPECT_EQ(r.agreed_ms, old.agreed_ms);
    EXPECT_EQ(r.agreed_ms, std::min(now, oct.end_ms) - oct.start_ms - old.maintenance_ms);
    EXPECT_EQ(r.downtime_ms, old.downtime_ms);
    EXPECT_EQ(r.unknown_ms, old.unknown_ms);
    EXPECT_EQ(r.maintenance_ms, old.maintenance_ms);
    EXPECT_EQ(r.budget_left_ms, old.budget_left_ms);
  }
}

TEST(Sla, CalendarPeriodsInUtc) {
  auto at = [](const char* t) { return *core::parse_time(t); };
  auto feb = sla::period_named("month", "2026-02");
  ASSERT_TRUE(feb);
  EXPECT_EQ(feb->start_ms, at("2026-02-01T00:00:00Z"));
  EXPECT_EQ(feb->end_ms - feb->start_ms, 28 * 86'400'000LL);
  EXPECT_EQ(sla::period_named("month", "2024-02")->end_ms - sla::period_named("month", "2024-02")->start_ms,
            29 * 86'400'000LL);
  EXPECT_EQ(sla::period_at("month", at("2026-11-25T14:00:00Z"))->name, "2026-11");
  EXPECT_EQ(sla::period_at("quarter", at("2026-11-25T14:00:00Z"))->name, "2026-Q4");
  EXPECT_EQ(sla::period_named("quarter", "2026-Q4")->start_ms, at("2026-10-01T00:00:00Z"));
  EXPECT_EQ(sla::period_named("quarter", "2026-Q4")->end_ms, at("2027-01-01T00:00:00Z"));
  // ISO weeks: 2026-W01 starts on Monday 2025-12-29; 2020 and 2026 have a week 53, 2025 has none.
  EXPECT_EQ(sla::period_named("week", "2026-W01")->start_ms, at("2025-12-29T00:00:00Z"));
  EXPECT_EQ(sla::period_at("week", at("2026-11-25T14:00:00Z"))->name, "2026-W48");
  EXPECT_EQ(sla::period_at("week", at("2021-01-01T12:00:00Z"))->name, "2020-W53");
  EXPECT_TRUE(sla::period_named("week", "2020-W53"));
  EXPECT_TRUE(sla::period_named("week", "2026-W53"));
  EXPECT_FALSE(sla::period_named("week", "2025-W53"));
  for (const char* bad : {"2026-13", "2026-00", "2026-1", "26-11", "2026-11x", "", "2026-Q5"})
    EXPECT_FALSE(sla::period_named("month", bad)) << bad;
  EXPECT_FALSE(sla::period_named("quarter", "2026-Q0"));
}

TEST(Sla, MaintenanceShrinksTheAgreedTimeAndUnknownIsApart) {
  // A 30-day month at 99.9 %: 43,200 agreed minutes allow 43.2 minutes down.
  const auto month = *sla::period_named("month", "2026-11");
  availability::Totals t;
  t.down_ms = 30 * kMin;
  t.maintenance_ms = 0;
  const services::Sla target{99.9, "month", false};
  auto r = sla::compute("shop", target, month, t, month.end_ms);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.agreed_ms, 30 * 1440 * kMin);
  EXPECT_EQ(r.allowed_downtime_ms, 2'592'000);  // 43.2 minutes
  EXPECT_EQ(r.budget_left_ms, 2'592'000 - 30 * kMin);
  EXPECT_FALSE(r.breached);
  EXPECT_NEAR(*r.achieved_percent, 100.0 * (43'200.0 - 30) / 43'200.0, 1e-12);
  // Two hours of maintenance come out of the agreed time, not counted as up.
  t.maintenance_ms = 120 * kMin;
  t.unknown_ms = 10 * kMin;
  t.degraded_ms = 20 * kMin;
  r = sla::compute("shop", target, month, t, month.end_ms);
  EXPECT_EQ(r.agreed_ms, (43'200 - 120) * kMin);
  EXPECT_NEAR(*r.achieved_percent, 100.0 * (43'080.0 - 30) / 43'080.0, 1e-12);
  EXPECT_EQ(r.unknown_ms, 10 * kMin);
  // When degraded counts as down, the budget is gone.
  r = sla::compute("shop", {99.9, "month", true}, month, t, month.end_ms);
  EXPECT_EQ(r.downtime_ms, 50 * kMin);
  EXPECT_TRUE(r.breached);
  // Half-way through: figures so far.
  r = sla::compute("shop", target, month, availability::Totals{}, month.start_ms + 15 * 1440 * kMin);
  EXPECT_FALSE(r.closed);
  EXPECT_EQ(r.agreed_ms, 15 * 1440 * kMin);
}

}  // namespace
}  // namespace surveyor::collector
