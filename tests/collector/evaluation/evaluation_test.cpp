// SPDX-License-Identifier: Apache-2.0
// The evaluation step end to end, as the housekeeper schedules it, on
// simulated time: outages become incidents weighed and linked by the
// services, two collectors on one Redis evaluate once, a collector's gap,
// and scripted months with their SLA reports frozen and their incidents.
#include <gtest/gtest.h>

#include <algorithm>

#include "evaluation/scene.hpp"
#include "surveyor/collector/incidents/incidents.hpp"
#include "surveyor/collector/jobs/housekeeper.hpp"
#include "surveyor/collector/notify/webhooks.hpp"
#include "surveyor/collector/sla/sla.hpp"
#include "surveyor/core/clock.hpp"

namespace surveyor::collector {
namespace {

using fixtures::heartbeat;
using store::Incident;
using store::IncidentState;
constexpr std::int64_t kS = 1000, kMin = 60 * kS;
constexpr std::int64_t kT0 = 1'795'000'000'000;
constexpr std::int64_t kJune = 1'780'272'000'000;  // 2026-06-01T00:00:00Z (date -u -d 2026-06-01 +%s)
constexpr std::int64_t kHour = 60 * kMin, kDay = 24 * kHour;

// Housekeeping that evaluates every 10 minutes and counts a gap of 30 as
// time it did not evaluate.
jobs::HousekeepingOptions every_ten_minutes() {
  jobs::HousekeepingOptions o;
  o.availability_interval = std::chrono::minutes(10);
  o.evaluation.availability_gap = std::chrono::minutes(30);
  return o;
}

// A collector's evaluation on simulated time: a SQLite store, one service
// file, and the notices it would send.
struct Evaluation : fixtures::Scene {
  explicit Evaluation(const std::string& service_toml, std::int64_t start_ms = kT0,
                      jobs::HousekeepingOptions o = {})
      : Scene(service_toml) {
    clock.set(core::from_unix_ms(start_ms));
    o.evaluation.catalog = catalog;
    o.evaluation.notify = [this](const std::vector<incidents::Notice>& n) {
      sent.insert(sent.end(), n.begin(), n.end());
    };
    hk = std::make_unique<jobs::Housekeeper>(stores, clock, registry, o);
  }
  [[nodiscard]] std::int64_t now() const { return core::to_unix_ms(clock.now()); }

  core::ManualClock clock{core::from_unix_ms(0)};
  metrics::Registry registry;
  std::vector<incidents::Notice> sent;
  std::unique_ptr<jobs::Housekeeper> hk;
};

// The evaluation on simulated time: a host stops, its incident opens with the
// priority its services give it, the service's incident is linked to it; the
// host returns and both resolve after the hold-down.
TEST(IncidentEvaluation, HostOutageOpensLinksAndResolves) {
  Evaluation e("name = \"shop\"\nowner = \"o\"\ncriticality = \"critical\"\nsla_target = 99.9\n"
               "[[group]]\nmembers = [\"db1\"]\n");
  auto* s = &e.stores;
  auto& sent = e.sent;
  auto seen = [&](const char* name) { ASSERT_TRUE(s->cmdb->upsert_ci(heartbeat(name, e.now()))); };
  auto step = [&] {
    auto r = e.hk->run_availability();
    ASSERT_TRUE(r) << r.error().describe();
    e.clock.advance(std::chrono::seconds(10));
  };
  seen("db1");
  seen("web1");
  step();
  for (int i = 0; i < 6; ++i) {  // a minute of heartbeats from both
    seen("db1");
    seen("web1");
    step();
  }
  EXPECT_TRUE(sent.empty());
  // db1 stops; web1 reports on. Down 20 s after its last heartbeat.
  for (int i = 0; i < 6; ++i) {
    seen("web1");
    step();
  }
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].incident.subject, "host-db1");
  EXPECT_EQ(sent[0].incident.impact, 1) << "a critical service goes down with it";
  EXPECT_EQ(sent[0].incident.urgency, 1) << "that service has an SLA";
  EXPECT_EQ(sent[0].incident.priority, 1);
  EXPECT_EQ(sent[1].incident.subject, "service:shop");
  EXPECT_EQ(sent[1].incident.parent, sent[0].incident.id);
  EXPECT_EQ(notify::group(sent).size(), 1u);
  // db1 is back: both recover, and resolve after the 5-minute hold-down.
  sent.clear();
  for (int i = 0; i < 31; ++i) {
    seen("db1");
    seen("web1");
    step();
  }
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].event, "resolved");
  EXPECT_EQ(sent[1].event, "resolved");
  store::IncidentFilter f;
  f.states = {IncidentState::open, IncidentState::acknowledged};
  EXPECT_TRUE(s->incidents->list_incidents(f)->empty());
}

// Two collectors on one Redis: one evaluates (the lease), so an outage is one
// incident and one notification; when that collector stops, the other takes
// over and resolves the same incident.
TEST(IncidentEvaluation, TwoCollectorsOnOneRedisNeverDuplicate) {
  store::RedisBackend backend;
  auto first = backends::open_stores(backend.url());
  auto second = backends::open_stores(backend.url());
  ASSERT_TRUE(first && second);
  core::ManualClock clock{core::from_unix_ms(kT0)};
  metrics::Registry r1, r2;
  std::vector<incidents::Notice> sent1, sent2;
  jobs::HousekeepingOptions o;
  o.holder = "one";
  o.evaluation.notify = [&](const std::vector<incidents::Notice>& n) {
    sent1.insert(sent1.end(), n.begin(), n.end());
  };
  jobs::Housekeeper one(*first, clock, r1, o);
  o.holder = "two";
  o.evaluation.notify = [&](const std::vector<incidents::Notice>& n) {
    sent2.insert(sent2.end(), n.begin(), n.end());
  };
  jobs::Housekeeper two(*second, clock, r2, o);
  auto seen = [&] { ASSERT_TRUE(first->cmdb->upsert_ci(heartbeat("h1", core::to_unix_ms(clock.now())))); };
  auto both = [&](bool one_runs) {
    if (one_runs) {
      ASSERT_TRUE(one.run_availability());
    }
    ASSERT_TRUE(two.run_availability());
    clock.advance(std::chrono::seconds(10));
  };
  seen();
  for (int i = 0; i < 3; ++i) {
    seen();
    both(true);
  }
  for (int i = 0; i < 6; ++i) both(true);  // h1 silent for a minute
  EXPECT_EQ(sent1.size(), 1u);
  EXPECT_TRUE(sent2.empty());
  // The first collector stops; h1 returns. Once the lease lapses the second
  // evaluates, sees it up and resolves the same incident after the hold-down.
  for (int i = 0; i < 40; ++i) {
    seen();
    both(false);
  }
  ASSERT_EQ(sent2.size(), 1u);
  EXPECT_EQ(sent2[0].event, "resolved");
  EXPECT_EQ(sent2[0].incident.id, sent1[0].incident.id);
  auto all = second->incidents->list_incidents({});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

// A service standing on a check: the check's failure is the incident the
// service's is linked to, weighed by that service.
TEST(IncidentEvaluation, ACheckTakesItsServiceDown) {
  Evaluation e("name = \"shop\"\nowner = \"o\"\ncriticality = \"critical\"\nsla_target = 99.9\n"
               "[[group]]\nmembers = [\"check:web01/http\"]\n");
  auto* s = &e.stores;
  auto& sent = e.sent;
  auto& clock = e.clock;
  auto& hk = *e.hk;
  ASSERT_TRUE(s->agents->create_agent({"a1", "h", "hid", "web01", "host-web01", "1", kT0, 0, 0, 10, ""}));
  std::uint64_t seq = 0;
  auto report = [&](double status) {
    const std::int64_t now = core::to_unix_ms(clock.now());
    store::ReportBatch b;
    b.agent_id = "a1";
    b.sequence = ++seq;
    b.received_at_ms = now;
    b.heartbeat_interval_s = 10;
    b.cis.push_back(heartbeat("web01", now));
    b.series.push_back({store::SeriesInfo{{"host-web01", "surveyor.check.status", {{"check", "http"}, {"kind", "http"}}},
                                          "1"},
                        {{now, status}}});
    auto r = s->reports->apply_report(b);
    ASSERT_TRUE(r) << r.error().describe();
  };
  for (int i = 0; i < 4; ++i) {
    report(0);
    ASSERT_TRUE(hk.run_availability());
    clock.advance(std::chrono::seconds(10));
  }
  EXPECT_TRUE(sent.empty());
  report(2);  // CRITICAL
  ASSERT_TRUE(hk.run_availability());
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].incident.subject, "host-web01");
  EXPECT_EQ(sent[0].incident.rule, "check:http");
  EXPECT_EQ(sent[0].incident.priority, 1) << "a critical service with an SLA stands on it";
  EXPECT_EQ(sent[1].incident.subject, "service:shop");
  EXPECT_EQ(sent[1].incident.parent, sent[0].incident.id);
  auto tl = s->timelines->read_timeline("check:host-web01/http", kT0, kT0 + kMin);
  ASSERT_TRUE(tl);
  ASSERT_FALSE(tl->empty());
  EXPECT_EQ(tl->back().state, store::Availability::down);
}

// The collector comes back from a gap (it was stopped): hosts whose agents
// waited for it are not down at once; one that stays silent is, two
// heartbeat intervals later.
TEST(IncidentEvaluation, AfterACollectorGapHostsGetTwoIntervalsToReport) {
  Evaluation e("name = \"shop\"\nowner = \"o\"\n[[group]]\nmembers = [\"a\", \"b\"]\nredundancy = \"any\"\n");
  auto step = [&] {
    ASSERT_TRUE(e.hk->run_availability());
    e.clock.advance(std::chrono::seconds(10));
  };
  for (int i = 0; i < 3; ++i) {
    for (const char* h : {"a", "b"}) ASSERT_TRUE(e.stores.cmdb->upsert_ci(heartbeat(h, e.now())));
    step();
  }
  e.clock.advance(std::chrono::minutes(10));  // the collector is away; so are the agents' reports
  step();                                     // the gap: unknown
  EXPECT_TRUE(e.sent.empty());
  step();  // 10 s after: within the grace
  ASSERT_TRUE(e.stores.cmdb->upsert_ci(heartbeat("a", e.now())));  // a's agent delivers
  step();
  EXPECT_TRUE(e.sent.empty()) << "nobody is down yet";
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(e.stores.cmdb->upsert_ci(heartbeat("a", e.now())));
    step();
  }
  ASSERT_EQ(e.sent.size(), 1u) << "b stayed silent past the grace";
  EXPECT_EQ(e.sent[0].incident.subject, "host-b");
  auto tl = e.stores.timelines->read_timeline("host-a", kT0, e.now());
  ASSERT_TRUE(tl);
  for (const store::StateInterval& i : *tl) EXPECT_NE(i.state, store::Availability::down);
}

// A scripted June (30 days, UTC) through the evaluation, every 10 minutes:
// shop stands on web1/web2 (any) and db1 (all), 99.9 %, high criticality.
// db1 is silent 10:00-11:00 on the 3rd and 06:00-07:00 on the 20th, and in
// an approved change 02:00-04:00 on the 10th; web2 is silent all of the
// 15th. Heartbeats are every 10 minutes, so a host is down 20 minutes after
// its last one; a step's state holds for the whole step.
TEST(IncidentEvaluation, AScriptedMonth) {
  const jobs::HousekeepingOptions o = every_ten_minutes();
  Evaluation e("name = \"shop\"\nowner = \"o\"\ncriticality = \"high\"\nsla_target = 99.9\n"
               "[[group]]\nname = \"web\"\nmembers = [\"web1\", \"web2\"]\nredundancy = \"any\"\n"
               "[[group]]\nname = \"db\"\nmembers = [\"db1\"]\n",
               kJune, o);
  auto* s = &e.stores;
  auto& clock = e.clock;
  auto& hk = *e.hk;
  store::ChangeRecord change;
  change.reference = "CHG-7";
  change.ci_ids = {"host-db1"};
  change.start_ms = kJune + 9 * kDay + 2 * kHour;
  change.end_ms = kJune + 9 * kDay + 4 * kHour;
  ASSERT_TRUE(s->changes->create_change(change));
  auto silent = [&](const std::string& host, std::int64_t t) {
    auto in = [&](std::int64_t day, std::int64_t from_h, std::int64_t to_h) {
      return t > kJune + day * kDay + from_h * kHour && t < kJune + day * kDay + to_h * kHour;
    };
    if (host == "db1") return in(2, 10, 11) || in(19, 6, 7) || in(9, 2, 4);
    if (host == "web2") return in(14, 0, 24);
    return false;
  };
  for (std::int64_t t = kJune; t <= kJune + 30 * kDay; t += 10 * kMin) {
    clock.set(core::from_unix_ms(t));
    for (const std::string host : {"web1", "web2", "db1"}) {
      if (!silent(host, t)) {
        ASSERT_TRUE(s->cmdb->upsert_ci(heartbeat(host, t, 600)));
      }
    }
    auto r = hk.run_availability();
    ASSERT_TRUE(r) << r.error().describe();
  }

  // The SLA report of June, frozen at the first step of July.
  auto versions = s->sla_reports->sla_reports("shop", "2026-06");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 1u);
  auto june = sla::report_from_json((*versions)[0].report);
  ASSERT_TRUE(june);
  EXPECT_EQ(june->maintenance_ms, 2 * kHour);
  EXPECT_EQ(june->unknown_ms, 0);
  EXPECT_EQ(june->agreed_ms, 30 * kDay - 2 * kHour);
  // Down from 20 minutes after the last heartbeat to the step before the
  // first one back: 10:20-10:50 and 06:20-06:50.
  EXPECT_EQ(june->downtime_ms, 60 * kMin);
  EXPECT_EQ(june->allowed_downtime_ms, 43 * kMin + 4 * kS + 800);  // 0.1 % of 43,080 min
  EXPECT_EQ(june->budget_left_ms, -(16 * kMin + 55 * kS + 200));
  EXPECT_TRUE(june->breached);
  ASSERT_TRUE(june->achieved_percent);
  EXPECT_NEAR(*june->achieved_percent, 100.0 * (43080.0 - 60.0) / 43080.0, 1e-9);
  ASSERT_EQ(june->excluded.size(), 1u);
  EXPECT_EQ(june->excluded[0].state, store::Availability::maintenance);
  EXPECT_EQ(june->excluded[0].start_ms, change.start_ms);
  // Degraded (web2 away), not down: 00:20 on the 15th to 23:50.
  auto tl = s->timelines->read_timeline("service:shop", kJune, kJune + 30 * kDay);
  ASSERT_TRUE(tl);
  EXPECT_EQ(availability::totals(*tl, kJune, kJune + 30 * kDay).degraded_ms, 23 * kHour + 30 * kMin);

  // The incidents: exactly these.
  auto all = s->incidents->list_incidents({});
  ASSERT_TRUE(all);
  std::map<std::string, std::vector<Incident>> by;
  for (const Incident& i : *all) by[std::string(store::to_string(i.kind)) + " " + i.subject].push_back(i);
  ASSERT_EQ(all->size(), 8u);
  auto opened_at = [](const Incident& i) { return i.opened_ms; };
  // db1 down twice (P1: a high-criticality service with an SLA goes down with it).
  const auto& db = by["availability host-db1"];
  ASSERT_EQ(db.size(), 2u);
  EXPECT_EQ(opened_at(db[1]), kJune + 2 * kDay + 10 * kHour + 30 * kMin);
  EXPECT_EQ(db[1].resolved_ms, kJune + 2 * kDay + 11 * kHour + 10 * kMin) << "back at 11:00, 5-minute hold-down";
  EXPECT_EQ(db[1].priority, 1);
  EXPECT_EQ(opened_at(db[0]), kJune + 19 * kDay + 6 * kHour + 30 * kMin);
  // The service's own incidents are linked to db1's.
  const auto& shop = by["availability service:shop"];
  ASSERT_EQ(shop.size(), 2u);
  EXPECT_EQ(shop[1].parent, db[1].id);
  EXPECT_EQ(shop[0].parent, db[0].id);
  // web2: the service only degrades: medium impact and urgency, P3.
  const auto& web = by["availability host-web2"];
  ASSERT_EQ(web.size(), 1u);
  EXPECT_EQ(web[0].priority, 3);
  EXPECT_EQ(opened_at(web[0]), kJune + 14 * kDay + 30 * kMin);
  EXPECT_EQ(web[0].state, IncidentState::resolved);
  // Burn rates page on each outage (P1) and the ticket window holds them
  // until 6 hours after the outage.
  const auto& risk = by["SLA-risk service:shop"];
  ASSERT_EQ(risk.size(), 2u);
  EXPECT_EQ(opened_at(risk[1]), kJune + 2 * kDay + 10 * kHour + 30 * kMin);
  ASSERT_FALSE(risk[1].timeline.empty());
  EXPECT_TRUE(risk[1].timeline[0].text.ends_with("(P1)")) << risk[1].timeline[0].text;
  EXPECT_EQ(risk[1].priority, 2) << "a page, then a ticket: urgency medium";
  EXPECT_EQ(risk[1].recovered_ms, kJune + 2 * kDay + 16 * kHour + 50 * kMin) << "6 h after the last bad minute";
  EXPECT_EQ(risk[1].state, IncidentState::resolved);
  // The budget is spent at 06:40 on the 20th (50 of 43.08 minutes); the
  // breach waits for a person.
  const auto& breach = by["SLA-breach service:shop"];
  ASSERT_EQ(breach.size(), 1u);
  EXPECT_EQ(opened_at(breach[0]), kJune + 19 * kDay + 6 * kHour + 40 * kMin);
  EXPECT_EQ(breach[0].rule, "2026-06");
  EXPECT_EQ(breach[0].state, IncidentState::open);
  EXPECT_EQ(breach[0].priority, 1);
  // No incident in the change window.
  for (const Incident& i : *all)
    EXPECT_FALSE(i.opened_ms > change.start_ms && i.opened_ms < change.end_ms + kHour) << i.id << " " << i.summary;
}

// A scripted October in Europe/Berlin through the evaluation: office hours
// Mon-Fri 08:00-18:00 local time, 99 %; DST ends on Sunday the 25th (UTC+2,
// then UTC+1). app1 is silent three times for an hour: Thursday 22nd
// 06:00-07:00 UTC (08:00 local: down 08:20-08:50, inside the hours), Monday
// 26th 17:00-18:00 UTC (18:00 local, after DST: down 18:20-18:50, outside),
// Tuesday 27th 16:00-17:00 UTC (17:00 local: down 17:20-17:50, inside). A
// wrong offset would move the first and last outages out of the hours.
// Instants from `TZ=Europe/Berlin date -d '2026-10-01 00:00' +%s` and
// `date -u -d '2026-10-22 06:00' +%s`.
TEST(IncidentEvaluation, AScriptedMonthInBerlinWithOfficeHoursAcrossDst) {
  constexpr std::int64_t kOct = 1'790'805'600'000, kNov = 1'793'487'600'000;
  const std::vector<std::int64_t> silent_from{1'792'648'800'000, 1'793'034'000'000, 1'793'116'800'000};
  const jobs::HousekeepingOptions o = every_ten_minutes();
  Evaluation e("name = \"office\"\nowner = \"o\"\ncriticality = \"medium\"\nsla_target = 99.0\n"
               "sla_time_zone = \"Europe/Berlin\"\nsla_service_hours = [\"Mon-Fri 08:00-18:00\"]\n"
               "[[group]]\nmembers = [\"app1\"]\n",
               kOct, o);
  for (std::int64_t t = kOct; t <= kNov + 10 * kMin; t += 10 * kMin) {
    e.clock.set(core::from_unix_ms(t));
    const bool silent = std::any_of(silent_from.begin(), silent_from.end(),
                                    [t](std::int64_t f) { return t > f && t < f + kHour; });
    if (!silent) {
      ASSERT_TRUE(e.stores.cmdb->upsert_ci(heartbeat("app1", t, 600)));
    }
    auto r = e.hk->run_availability();
    ASSERT_TRUE(r) << r.error().describe();
  }
  auto versions = e.stores.sla_reports->sla_reports("office", "2026-10");
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->size(), 1u);
  auto oct = sla::report_from_json((*versions)[0].report);
  ASSERT_TRUE(oct);
  EXPECT_EQ(oct->period.start_ms, kOct);
  EXPECT_EQ(oct->period.end_ms, kNov);
  EXPECT_EQ(oct->service_time_ms, 220 * kHour) << "22 weekdays of 10 hours";
  EXPECT_EQ(oct->agreed_ms, 220 * kHour);
  EXPECT_EQ(oct->downtime_ms, 60 * kMin) << "the outage after hours does not count";
  EXPECT_EQ(oct->unknown_ms, 0);
  EXPECT_EQ(oct->allowed_downtime_ms, 132 * kMin);
  EXPECT_EQ(oct->budget_left_ms, 72 * kMin);
  EXPECT_FALSE(oct->breached);
  ASSERT_TRUE(oct->achieved_percent);
  EXPECT_NEAR(*oct->achieved_percent, 100.0 * (13'200.0 - 60.0) / 13'200.0, 1e-9);

  auto all = e.stores.incidents->list_incidents({});
  ASSERT_TRUE(all);
  std::map<std::string, std::vector<std::int64_t>> opened;  // oldest first
  for (auto it = all->rbegin(); it != all->rend(); ++it)
    opened[std::string(store::to_string(it->kind)) + " " + it->subject].push_back(it->opened_ms);
  // The host and the service it takes down, three times, whatever the hours.
  EXPECT_EQ(opened["availability host-app1"],
            (std::vector<std::int64_t>{silent_from[0] + 30 * kMin, silent_from[1] + 30 * kMin,
                                       silent_from[2] + 30 * kMin}));
  EXPECT_EQ(opened["availability service:office"], opened["availability host-app1"]);
  // The budget burns only inside the hours: no SLA-risk for Monday evening.
  EXPECT_EQ(opened["SLA-risk service:office"],
            (std::vector<std::int64_t>{silent_from[0] + 30 * kMin, silent_from[2] + 30 * kMin}));
  EXPECT_EQ(all->size(), 8u);
  for (const Incident& i : *all) EXPECT_NE(i.state, IncidentState::open) << i.id << " " << i.summary;
}

}  // namespace
}  // namespace surveyor::collector
