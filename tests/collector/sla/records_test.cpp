// SPDX-License-Identifier: Apache-2.0
// SLA records: burn rates and their scaling, reports frozen when a period
// closes, amendments only when the figures change, and stored reports that
// SQLite refuses to change or remove.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sqlite3.h>

#include "evaluation/scene.hpp"
#include "store/fixture.hpp"
#include "surveyor/collector/sla/sla.hpp"

namespace surveyor::collector {
namespace {

constexpr std::int64_t kS = 1000, kMin = 60 * kS;
constexpr std::int64_t kT0 = 1'795'000'000'000;
constexpr std::int64_t kJune = 1'780'272'000'000;  // 2026-06-01T00:00:00Z (date -u -d 2026-06-01 +%s)
constexpr std::int64_t kHour = 60 * kMin, kDay = 24 * kHour;

services::Sla month_sla(double target = 99.9) {
  services::Sla s;
  s.target_percent = target;
  s.period = "month";
  return s;
}

TEST(SlaBurnRates, PageTicketAndScaling) {
  const services::Sla sla = month_sla();
  const auto june = sla::period_at(sla, kJune);
  ASSERT_TRUE(june);
  ASSERT_EQ(june->end_ms - june->start_ms, 30 * kDay);
  const std::int64_t now = kJune + 10 * kDay;
  using store::StateInterval;
  using store::Availability;
  // Down for the last 10 minutes: 1000x over 5 min, 166.7x over an hour: page.
  std::vector<StateInterval> t{{"s", kJune, now - 10 * kMin, Availability::up}, {"s", now - 10 * kMin, now, Availability::down}};
  auto b = sla::burn_rates(sla, *june, t, now);
  EXPECT_DOUBLE_EQ(b.scale, 1.0);
  EXPECT_NEAR(b.r5m, 1000, 1e-9);
  EXPECT_NEAR(b.r1h, 1000.0 / 6, 1e-9);
  EXPECT_TRUE(b.page);
  // One 5-minute outage 2 hours ago: 13.9x over 6 h but nothing over 30 min;
  // 1.16x over 3 days: a ticket, no page.
  t = {{"s", kJune, now - 2 * kHour, Availability::up},
       {"s", now - 2 * kHour, now - 2 * kHour + 5 * kMin, Availability::down},
       {"s", now - 2 * kHour + 5 * kMin, now, Availability::up}};
  b = sla::burn_rates(sla, *june, t, now);
  EXPECT_NEAR(b.r6h, 5.0 / 360 / 0.001, 1e-9);
  EXPECT_EQ(b.r30m, 0);
  EXPECT_NEAR(b.r3d, 5.0 / 4320 / 0.001, 1e-9);
  EXPECT_FALSE(b.page);
  EXPECT_TRUE(b.ticket);
  // Maintenance is not agreed time; degraded is not bad unless the SLA says so.
  t = {{"s", kJune, now - kHour, Availability::up}, {"s", now - kHour, now, Availability::degraded}};
  EXPECT_EQ(sla::burn_rates(sla, *june, t, now).r1h, 0);
  services::Sla strict = sla;
  strict.degraded_is_down = true;
  EXPECT_TRUE(sla::burn_rates(strict, *june, t, now).page);
  // A weekly SLA: the same budget shares at 7/30 of the rates.
  services::Sla weekly = sla;
  weekly.period = "week";
  const auto week = sla::period_at(weekly, now);
  ASSERT_TRUE(week);
  EXPECT_NEAR(sla::burn_rates(weekly, *week, t, now).scale, 7.0 / 30, 1e-12);
}

TEST(SlaRecords, FrozenWhenThePeriodClosesAmendedOnlyWhenFiguresChange) {
  fixtures::Scene scene("name = \"shop\"\nowner = \"o\"\nsla_target = 99.9\n[[group]]\nmembers = [\"db1\"]\n");
  store::Stores* s = &scene.stores;
  services::Catalog& catalog = *scene.catalog;
  // June: up, 30 min down on the 3rd, degraded 2 h on the 15th.
  ASSERT_TRUE(s->timelines->record_state("service:shop", store::Availability::up, kJune, kJune + 2 * kDay));
  ASSERT_TRUE(s->timelines->record_state("service:shop", store::Availability::down, kJune + 2 * kDay,
                                         kJune + 2 * kDay + 30 * kMin));
  ASSERT_TRUE(s->timelines->record_state("service:shop", store::Availability::up, kJune + 2 * kDay + 30 * kMin,
                                         kJune + 14 * kDay));
  ASSERT_TRUE(s->timelines->record_state("service:shop", store::Availability::degraded, kJune + 14 * kDay,
                                         kJune + 14 * kDay + 2 * kHour));
  ASSERT_TRUE(s->timelines->record_state("service:shop", store::Availability::up, kJune + 14 * kDay + 2 * kHour,
                                         kJune + 30 * kDay + kHour));
  std::set<std::string> done;
  auto frozen = sla::freeze_closed(*s, catalog, kJune + 29 * kDay, done);
  ASSERT_TRUE(frozen);
  EXPECT_EQ(*frozen, 0u) << "June is still running (May has no timeline)";
  frozen = sla::freeze_closed(*s, catalog, kJune + 30 * kDay + kHour, done);
  ASSERT_TRUE(frozen);
  EXPECT_EQ(*frozen, 1u);
  EXPECT_EQ(*sla::freeze_closed(*s, catalog, kJune + 30 * kDay + 2 * kHour, done), 0u) << "once";
  std::set<std::string> fresh;  // another collector: asks the store, freezes nothing twice
  EXPECT_EQ(*sla::freeze_closed(*s, catalog, kJune + 30 * kDay + 2 * kHour, fresh), 0u);
  // A collector that was away all of July still freezes June in August.
  test::TempDir later_dir;
  auto later = backends::open_stores("sqlite:" + later_dir.file("s.db"));
  ASSERT_TRUE(later);
  auto june_tl = s->timelines->read_timeline("service:shop", kJune, kJune + 30 * kDay);
  ASSERT_TRUE(june_tl && later->timelines->record_states(*june_tl));
  std::set<std::string> august;
  EXPECT_EQ(*sla::freeze_closed(*later, catalog, kJune + 62 * kDay, august), 2u) << "June, and July's first hour";
  EXPECT_EQ(later->sla_reports->sla_reports("shop", "2026-06")->size(), 1u);
  EXPECT_EQ(later->sla_reports->sla_reports("shop", "2026-07")->size(), 1u);
  auto versions = s->sla_reports->sla_reports("shop", "2026-06");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 1u);
  auto v1 = sla::report_from_json((*versions)[0].report);
  ASSERT_TRUE(v1) << v1.error().describe();
  EXPECT_TRUE(v1->closed);
  EXPECT_EQ(v1->agreed_ms, 30 * kDay);
  EXPECT_EQ(v1->downtime_ms, 30 * kMin);
  EXPECT_EQ(v1->allowed_downtime_ms, 43 * kMin + 12 * kS);  // 0.1 % of 43,200 min
  EXPECT_EQ(v1->budget_left_ms, 13 * kMin + 12 * kS);
  EXPECT_EQ(sla::report_json(*v1), (*versions)[0].report) << "the JSON reads back to the same report";

  // Recomputed with the same definition: nothing new. With a stricter SLA
  // (degraded counts): an amendment, never a silent change.
  auto svc = catalog.find("shop");
  ASSERT_TRUE(svc);
  const auto june = sla::period_named(*svc->sla, "2026-06");
  ASSERT_TRUE(june);
  auto same = sla::recompute(*s, *svc, *june, "alice", "check", kJune + 31 * kDay);
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->amended);
  EXPECT_EQ(same->version.version, 1);
  svc->sla->degraded_is_down = true;
  auto amended = sla::recompute(*s, *svc, *june, "alice", "degraded counts as down (contract clause 4.2)",
                                kJune + 31 * kDay);
  ASSERT_TRUE(amended);
  EXPECT_TRUE(amended->amended);
  EXPECT_EQ(amended->version.version, 2);
  versions = s->sla_reports->sla_reports("shop", "2026-06");
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ(sla::report_from_json((*versions)[1].report)->downtime_ms, 30 * kMin + 2 * kHour);
  EXPECT_EQ((*versions)[1].by, "alice");
  EXPECT_EQ(sla::report_from_json((*versions)[0].report)->downtime_ms, 30 * kMin) << "version 1 is kept as it was";
  const auto july = sla::period_named(*svc->sla, "2026-07");
  auto running = sla::recompute(*s, *svc, *july, "alice", "x", kJune + 31 * kDay);
  ASSERT_FALSE(running);
  EXPECT_EQ(running.error().code, store::StoreErrc::conflict);
}

TEST(SlaRecords, StoredReportsCannotBeChangedOrRemovedInSqlite) {
  test::TempDir dir;
  {
    auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
    ASSERT_TRUE(s);
    ASSERT_TRUE(*s->sla_reports->add_sla_report({"shop", "2026-06", 1, kT0, "surveyor", "period closed", "{}"}));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("s.db").c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE sla_reports SET report = '{\"forged\":1}'", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM sla_reports", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->sla_reports->sla_reports("shop", "2026-06")->front().report, "{}");
}

}  // namespace
}  // namespace surveyor::collector
