// SPDX-License-Identifier: Apache-2.0
// The command line's renderings of API answers: the figures shown are the
// figures received, and any malformed answer is an error, never a crash.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "surveyor/cli/format/render.hpp"

namespace surveyor::cli::format {
namespace {

TEST(CliFormat, RawSeriesAndATrendAcrossCis) {
  const auto raw = render_series(
      R"({"from":"2026-11-25T12:00:00.000Z","to":"2026-11-25T13:00:00.000Z","series":[)"
      R"({"ci_id":"host-a","metric":"system.filesystem.utilization","attributes":{"mountpoint":"/"},"unit":"1",)"
      R"("points":[[1795608000000,0.25],[1795608010000,0.5]]}]})");
  ASSERT_TRUE(raw) << raw.error().message;
  EXPECT_NE(raw->find("host-a  system.filesystem.utilization{mountpoint=/}  (raw samples)"), std::string::npos) << *raw;
  EXPECT_NE(raw->find("2026-11-25T12:00:00.000Z  25.0 %"), std::string::npos) << *raw;
  EXPECT_NE(raw->find("2026-11-25T12:00:10.000Z  50.0 %"), std::string::npos) << *raw;

  const auto trend = render_series(
      R"({"step":"1h","agg":"max","source":"rollup","series":[)"
      R"({"ci_id":"a","metric":"m","attributes":{},"unit":"By","points":[[0,1024],[3600000,null]]},)"
      R"({"ci_id":"b","metric":"m","attributes":{},"unit":"By","points":[[0,2048]]}],)"
      R"("combined":{"across":"sum","points":[[0,3072]]}})");
  ASSERT_TRUE(trend) << trend.error().message;
  EXPECT_NE(trend->find("a  m  (max per 1h, from rollup)"), std::string::npos) << *trend;
  EXPECT_NE(trend->find("1970-01-01T01:00:00.000Z  null"), std::string::npos) << *trend;
  EXPECT_NE(trend->find("sum of 2 series  (max per 1h, from rollup)"), std::string::npos) << *trend;
  EXPECT_NE(trend->find("3.00 KiB"), std::string::npos) << *trend;

  const auto none = render_series(R"({"series":[]})");
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, "no series match\n");
}

TEST(CliFormat, ForecastOutcomes) {
  const auto f = render_forecast(
      R"({"now":"2026-11-25T12:00:00.000Z","window":"7d","items":[)"
      R"({"ci_id":"h","metric":"system.filesystem.utilization","attributes":{"mountpoint":"/"},"unit":"1",)"
      R"("source":"rollup","points":168,"fit":{"slope_per_day":0.01,"value_now":0.57,"r2":0.99},)"
      R"("predict":{"at":"2026-12-25T12:00:00.000Z","value":0.87},)"
      R"("threshold":{"value":0.9,"direction":"above","outcome":"at","at":"2026-12-28T12:00:00.000Z",)"
      R"("earliest":"2026-12-27T00:00:00.000Z","latest":null,"days":33.0}},)"
      R"({"ci_id":"h","metric":"m","attributes":{},"unit":"1","source":"raw","points":1,)"
      R"("threshold":{"value":0.9,"direction":"above","outcome":"not_enough_data"}}]})");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_NE(f->find("fitted to:   168 points (rollup) over 7d"), std::string::npos) << *f;
  EXPECT_NE(f->find("trend:       1.0 % per day, R^2 0.99"), std::string::npos) << *f;
  EXPECT_NE(f->find("predicted:   87.0 % at 2026-12-25T12:00:00.000Z"), std::string::npos) << *f;
  EXPECT_NE(f->find("reached around 2026-12-28T12:00:00.000Z (in 33.0 days); 95 % interval "
                    "2026-12-27T00:00:00.000Z to unbounded"),
            std::string::npos)
      << *f;
  EXPECT_NE(f->find("trend:       not enough data"), std::string::npos) << *f;
  EXPECT_NE(f->find("not enough data to tell"), std::string::npos) << *f;
}

TEST(CliFormat, Events) {
  const auto e = render_events(
      R"({"items":[{"id":"7","state":"open","kind":"capacity-forecast","opened":"2026-11-25T12:00:00.000Z",)"
      R"("summary":"/ reaches 90 % in 9 days"}]})");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_NE(e->find("7   open   capacity-forecast  2026-11-25T12:00:00.000Z  / reaches 90 % in 9 days"),
            std::string::npos)
      << *e;
  EXPECT_NE(e->find("1 event(s)"), std::string::npos);
}

TEST(CliFormat, Services) {
  const auto list = render_services(
      R"({"items":[{"name":"webshop","owner":"web-team","criticality":"high","sla":{"target_percent":99.9,)"
      R"("period":"month"},"groups":[{"name":"frontends","members":["web01","web02"],"redundancy":{"rule":"any"}}]}],)"
      R"("errors":[{"file":"/etc/surveyor/services.d/x.toml","message":"x.toml:2: owner: wrong type"}]})");
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_NE(list->find("webshop  web-team  high         99.9 % per month  1"), std::string::npos) << *list;
  EXPECT_NE(list->find("x.toml:2: owner: wrong type"), std::string::npos) << *list;

  const auto one = render_service(
      R"({"name":"webshop","owner":"web-team","criticality":"high","sla":null,"description":"","file":"w.toml",)"
      R"("groups":[{"name":"frontends","members":["web01","web02","web03"],"redundancy":{"rule":"at_least","min":2}},)"
      R"({"name":"","members":["service:db"],"redundancy":{"rule":"percent","percent":50}}],)"
      R"("member_cis":[{"id":"host-1","type":"host","name":"web01","state":"active"}],"unresolved":["web09"]})");
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_NE(one->find("frontends (at least 2): web01, web02, web03"), std::string::npos) << *one;
  EXPECT_NE(one->find("group (at least 50 %): service:db"), std::string::npos) << *one;
  EXPECT_NE(one->find("SLA:          -"), std::string::npos) << *one;
  EXPECT_NE(one->find("host-1  host  web01  active"), std::string::npos) << *one;
  EXPECT_NE(one->find("name nothing (or more than one CI): web09"), std::string::npos) << *one;

  const auto zoned = render_service(
      R"({"name":"office","owner":"o","criticality":"low","file":"o.toml","groups":[],"member_cis":[],)"
      R"("sla":{"target_percent":99,"period":"month","time_zone":"Europe/Berlin",)"
      R"("service_hours":["Mon-Fri 08:00-18:00"]}})");
  ASSERT_TRUE(zoned) << zoned.error().message;
  EXPECT_NE(zoned->find("SLA:          99 % per month (Europe/Berlin), Mon-Fri 08:00-18:00"), std::string::npos)
      << *zoned;
}

TEST(CliFormat, ImpactAndAudit) {
  const auto impact = render_impact(
      R"({"ci_id":"host-1","depth":10,"services":[{"service":"shop","verdict":"degraded","criticality":"high",)"
      R"("path":["host-1","app-1","service:shop"],"groups":[{"name":"web","up":2,"members":3,"required":2}],)"
      R"("open_events":[],"changes":[{"id":"chg-1"}]}],"cis_affected":1,"cis":[],"truncated":true})");
  ASSERT_TRUE(impact) << impact.error().message;
  EXPECT_NE(impact->find("shop     degraded  high         web 2/3 up, needs 2  host-1 -> app-1 -> service:shop  "
                         "1 change(s) on the way"),
            std::string::npos)
      << *impact;
  EXPECT_NE(impact->find("depth limit 10 reached"), std::string::npos) << *impact;

  const auto audit = render_audit(
      R"({"items":[{"time":"2026-11-25T12:00:00.000Z","ci_id":"h","kind":"attribute","key":"memory.total_bytes",)"
      R"("old":8589934592,"new":17179869184,"origin":"agent","change_id":null,"unauthorized":true,"alert":true},)"
      R"({"time":"2026-11-25T11:00:00.000Z","ci_id":"h","kind":"software","key":"openssl:amd64","old":"3.0.11",)"
      R"("new":"3.0.13","origin":"agent","change_id":"chg-1","unauthorized":false,"alert":false}]})");
  ASSERT_TRUE(audit) << audit.error().message;
  EXPECT_NE(audit->find("memory.total_bytes  8589934592  17179869184  agent   UNAUTHORISED"), std::string::npos) << *audit;
  EXPECT_NE(audit->find("openssl:amd64       3.0.11      3.0.13       agent   chg-1"), std::string::npos) << *audit;
  EXPECT_NE(audit->find("2 entries"), std::string::npos);
}

TEST(CliFormat, Changes) {
  const auto list = render_changes(
      R"j({"items":[{"id":"chg-1","reference":"CHG0042","cis":["host-1","host-2"],"start":"2026-11-25T12:00:00.000Z",)j"
      R"j("end":"2026-11-25T18:00:00.000Z","description":"RAM upgrade","origin":"user","actor":"carol","created":"x"}]})j");
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_NE(list->find("chg-1  CHG0042    2026-11-25T12:00:00.000Z  2026-11-25T18:00:00.000Z  host-1,host-2  RAM upgrade"),
            std::string::npos)
      << *list;
  EXPECT_NE(list->find("1 change(s)"), std::string::npos) << *list;
  const auto one = render_change(
      R"j({"id":"chg-1","reference":"CHG0042","cis":["host-1"],"start":"a","end":"b","description":"RAM upgrade",)j"
      R"j("origin":"user","actor":"carol (10.0.0.7)","created":"c","observed":[{"time":"t","ci_id":"host-1",)j"
      R"j("kind":"attribute","key":"memory.total_bytes","old":1,"new":2,"origin":"agent","change_id":"chg-1",)j"
      R"j("unauthorized":false,"alert":false}]})j");
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_NE(one->find("window:  a to b"), std::string::npos) << *one;
  EXPECT_NE(one->find("by:      carol (10.0.0.7) (user), c"), std::string::npos) << *one;
  EXPECT_NE(one->find("memory.total_bytes  1    2    agent   chg-1"), std::string::npos) << *one;
  EXPECT_EQ(one->find("impact:"), std::string::npos) << "a record from before the analysis was kept";
  const auto analysed = render_change(
      R"j({"id":"chg-2","reference":"CHG0043","cis":["host-1"],"start":"a","end":"b","description":"",)j"
      R"j("origin":"user","actor":"carol","created":"c","impact":{"analysed":"c","services":[{"service":"shop",)j"
      R"j("verdict":"down","criticality":"high","through":"host-1"},{"service":"web","verdict":"degraded"}],)j"
      R"j("cis_affected":2,"truncated":false}})j");
  ASSERT_TRUE(analysed) << analysed.error().message;
  EXPECT_NE(analysed->find("impact:  shop down, web degraded; 2 CI(s) fail with it (analysed c)"), std::string::npos)
      << *analysed;
  EXPECT_FALSE(render_change("[]"));
  EXPECT_FALSE(render_changes("{\"items\":[1]}"));
}

TEST(CliFormat, SlaReport) {
  const auto r = render_sla(
      R"({"service":"shop","period":"2026-11","start":"2026-11-01T00:00:00.000Z","end":"2026-12-01T00:00:00.000Z",)"
      R"("closed":true,"target_percent":99.9,"achieved_percent":99.88,"downtime_seconds":3000,)"
      R"("allowed_downtime_seconds":2592,"error_budget_left_seconds":-408,"maintenance_seconds":0,)"
      R"("unknown_seconds":60,"breached":true})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->find("shop  SLA 2026-11 (2026-11-01T00:00:00.000Z to 2026-12-01T00:00:00.000Z, closed)"),
            std::string::npos) << *r;
  EXPECT_NE(r->find("achieved:          99.8800 %"), std::string::npos) << *r;
  EXPECT_NE(r->find("allowed downtime:  43.2 min"), std::string::npos) << *r;
  EXPECT_NE(r->find("error budget left: -6.8 min  (BREACHED)"), std::string::npos) << *r;
  EXPECT_NE(r->find("service hours:     all the time"), std::string::npos) << *r;
  const auto berlin = render_sla(
      R"({"service":"office","period":"2026-10","start":"2026-09-30T22:00:00.000Z","end":"2026-10-31T23:00:00.000Z",)"
      R"("time_zone":"Europe/Berlin","start_local":"2026-10-01T00:00:00+02:00",)"
      R"("end_local":"2026-11-01T00:00:00+01:00",)"
      R"("service_hours":["Mon-Fri 08:00-18:00","Sat 09:00-13:00"],"closed":true,"target_percent":99,)"
      R"("agreed_seconds":792000,"breached":false})");
  ASSERT_TRUE(berlin) << berlin.error().message;
  EXPECT_NE(berlin->find("time zone:         Europe/Berlin (2026-10-01T00:00:00+02:00 to 2026-11-01T00:00:00+01:00)"),
            std::string::npos) << *berlin;
  EXPECT_NE(berlin->find("service hours:     Mon-Fri 08:00-18:00, Sat 09:00-13:00"), std::string::npos) << *berlin;
  EXPECT_NE(berlin->find("agreed time:       13200.0 min"), std::string::npos) << *berlin;
}

// Answers that are not what the API sends: an error or a partial rendering,
// never an exception or a crash.
TEST(CliFormat, Incidents) {
  const auto list = render_incidents(
      R"({"items":[{"id":"INC-2","priority":3,"state":"open","kind":"availability","opened_ms":1795000000000,)"
      R"("parent":"INC-1","summary":"service shop is down"}]})");
  ASSERT_TRUE(list);
  EXPECT_NE(list->find("INC-2"), std::string::npos);
  EXPECT_NE(list->find("P3"), std::string::npos);
  EXPECT_NE(list->find("INC-1"), std::string::npos);
  EXPECT_NE(list->find("1 incident(s)"), std::string::npos);
  const auto one = render_incident(
      R"({"id":"INC-1","priority":1,"state":"acknowledged","kind":"availability","summary":"host db1 is down",)"
      R"("subject":"host-db1","rule":"heartbeat","impact":1,"urgency":1,"opened_ms":1795000000000,)"
      R"("acknowledged_ms":1795000060000,"resolved_ms":0,"closed_ms":0,"parent":"","linked":["INC-2"],)"
      R"("timeline":[{"time_ms":1795000060000,"by":"alice","action":"acknowledged","text":"on it"}]})");
  ASSERT_TRUE(one);
  EXPECT_NE(one->find("alice"), std::string::npos);
  EXPECT_NE(one->find("linked to it: INC-2"), std::string::npos);
  EXPECT_NE(one->find("2026-11-18T"), std::string::npos);
  const auto k = render_incident_kpis(
      R"({"period":"2026-11","start":"a","end":"b","opened":3,"resolved":2,"mttr_seconds":5400,"mtbf_seconds":null,)"
      R"("availability_failures":0,"by_kind":{"capacity":3},"by_priority":{"P4":3}})");
  ASSERT_TRUE(k);
  EXPECT_NE(k->find("MTTR 1h 30m 00s"), std::string::npos);
  EXPECT_NE(k->find("MTBF -"), std::string::npos);
  for (auto* f : {render_incidents, render_incident, render_incident_kpis}) {
    EXPECT_FALSE(f("not json"));
    EXPECT_FALSE(f("[1]"));
  }
  EXPECT_FALSE(render_incidents(R"({"items":[1]})"));
  EXPECT_FALSE(render_incident(R"({"timeline":[1]})"));
}

TEST(CliFormat, SlaReportSaysWhetherItIsFrozen) {
  const auto r = render_sla(
      R"({"service":"shop","period":"2026-10","closed":true,"target_percent":99.9,"achieved_percent":99.95,)"
      R"("record":{"frozen":true,"version":2,"versions":[{"version":1,"created":"2026-11-01T00:00:10.000Z",)"
      R"("by":"surveyor","reason":"period closed"},{"version":2,"created":"2026-11-03T09:00:00.000Z","by":"alice",)"
      R"("reason":"target renegotiated"}]}})");
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("frozen report, version 2 of 2"), std::string::npos) << *r;
  EXPECT_NE(r->find("v2  2026-11-03T09:00:00.000Z  alice: target renegotiated"), std::string::npos) << *r;
  const auto live = render_sla(R"({"service":"shop","period":"2026-11","record":{"frozen":false,"versions":[]}})");
  ASSERT_TRUE(live);
  EXPECT_NE(live->find("computed now"), std::string::npos);
}

TEST(CliFormat, MalformedAnswersAreErrorsNotCrashes) {
  const char* bad[] = {
      "", "[]", "{", "null", "42", R"({"series":1})", R"({"series":[1]})", R"({"series":[{"points":[[1]]}]})",
      R"({"series":[{"points":[["x",1],[1,"y"],[1e300,1],[-9223372036854775807,1]]}]})",
      R"({"series":[],"combined":{"points":7}})", R"({"items":[1]})", R"({"items":{}})",
      R"({"items":[{"fit":1,"predict":[],"threshold":{"outcome":"at"}}]})",
      R"({"items":[{"threshold":{"outcome":"at","days":"x","latest":1}}]})", R"({"items":[{"id":{}}]})",
      R"({"items":[{"attributes":{"k":{"deep":[1]}}}]})", R"({"groups":[{"redundancy":7,"members":[1,{}]}],"sla":[]})",
      R"({"groups":{},"member_cis":[1,{"id":[]}],"unresolved":[1]})", R"({"items":[{"groups":[1]}],"errors":[1,{}]})",
      R"({"services":[{"path":[1,{}],"groups":[1,{"up":[]}],"open_events":{},"changes":7}],"truncated":"x"})",
      R"({"items":[{"old":{"deep":[1,2]},"new":[],"time":5}]})"};
  // Each answer renders, or is refused as an unexpected answer with a reason;
  // one that is not a JSON object is refused by every renderer.
  const std::set<std::string> not_an_object{"", "[]", "{", "null", "42"};
  const auto renderers = {render_series, render_forecast, render_events, render_ci, render_ci_list, render_services,
                          render_service, render_impact, render_audit, render_sla, render_incidents, render_incident,
                          render_incident_kpis};
  for (const char* text : bad) {
    for (auto render : renderers) {
      core::Result<std::string> r = std::string();
      ASSERT_NO_THROW(r = render(text)) << text;
      if (not_an_object.contains(text)) {
        EXPECT_FALSE(r) << text;
      }
      if (r) continue;
      EXPECT_STREQ(r.error().code.category().name(), "cli") << text << ": " << r.error().describe();
      EXPECT_FALSE(r.error().message.empty()) << text;
    }
  }
  EXPECT_FALSE(render_series("[]"));
  EXPECT_FALSE(render_forecast(R"({"items":[1]})"));
  EXPECT_FALSE(render_events(R"({"items":{}})"));
}

// A downloaded evidence report: its digest recomputed here is the SHA-256
// of the JSON without the digest (the value below is Python hashlib's of
// that text); an edit anywhere shows; what is not a report is refused.
TEST(CliFormat, EvidenceReportsAreReadAndTheirDigestRecomputed) {
  const std::string content =
      R"({"clause":"8.6.1","period":{"name":"2026-11","closed":true},"generated":{"frozen":true},"figures":[{"name":"opened","value":4}]})";
  const std::string doc = content.substr(0, content.size() - 1) + R"(,"digest":"d"})";
  auto e = read_evidence(doc);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->clause, "8.6.1");
  EXPECT_EQ(e->period, "2026-11");
  EXPECT_TRUE(e->frozen);
  EXPECT_EQ(e->digest, "d");
  EXPECT_EQ(e->computed, "6446dca57be363260dd6720f74634201db7363f829dbfb0befb83c6cb5374956");
  std::string edited = doc;
  edited.replace(edited.find("4}"), 1, "5");
  EXPECT_NE(read_evidence(edited)->computed, e->computed);
  for (const char* bad : {"", "[]", "{", R"({"clause":"8.6.1"})", R"({"clause":"8.6.1","period":1,"generated":{},"digest":"x"})",
                          R"({"clause":"","period":{},"generated":{},"digest":"x"})",
                          R"({"clause":"8.6.1","period":{},"generated":{},"digest":7})"}) {
    auto r = read_evidence(bad);
    EXPECT_FALSE(r) << bad;
  }
}

}  // namespace
}  // namespace surveyor::cli::format
