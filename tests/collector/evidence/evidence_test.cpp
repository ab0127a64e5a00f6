// SPDX-License-Identifier: Apache-2.0
// Audit evidence: periods and targets read as documented; then a scripted
// month (the last one on the real clock) on both backends — CIs appearing,
// going missing and retired, changes by agents, people and the collector,
// an unauthorised change and its incident, incidents of several priorities,
// host and service timelines — and every figure of the 8.2.6, 8.6.1 and
// 8.7.1 reports checked against values worked out by hand here. A closed
// period's report is frozen: asked again it is byte-identical, and its
// digest is the SHA-256 of its content. HTML and CSV renderings.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fstream>

#include "store/fixture.hpp"
#include "surveyor/collector/evidence/evidence.hpp"
#include "surveyor/collector/sla/sla.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/crypto.hpp"

namespace surveyor::collector::evidence {
namespace {

namespace json = boost::json;
using store::Availability;
using store::CiState;

constexpr std::int64_t kMin = 60'000, kHour = 60 * kMin;

TEST(EvidencePeriods, EveryDocumentedFormReadsAndNothingElse) {
  auto month = parse_period("2026-11");
  ASSERT_TRUE(month);
  EXPECT_EQ(month->start_ms, *core::parse_time("2026-11-01T00:00:00Z"));
  EXPECT_EQ(month->end_ms, *core::parse_time("2026-12-01T00:00:00Z"));
  auto quarter = parse_period("2026-Q4");
  ASSERT_TRUE(quarter);
  EXPECT_EQ(quarter->start_ms, *core::parse_time("2026-10-01T00:00:00Z"));
  EXPECT_EQ(quarter->end_ms, *core::parse_time("2027-01-01T00:00:00Z"));
  auto year = parse_period("2026");
  ASSERT_TRUE(year);
  EXPECT_EQ(year->start_ms, *core::parse_time("2026-01-01T00:00:00Z"));
  EXPECT_EQ(year->end_ms, *core::parse_time("2027-01-01T00:00:00Z"));
  auto week = parse_period("2026-W48");
  ASSERT_TRUE(week);
  EXPECT_EQ(week->start_ms, *core::parse_time("2026-11-23T00:00:00Z"));  // ISO week 48 begins on Monday 23 November
  auto days = parse_period("2026-10-01..2026-12-31");
  ASSERT_TRUE(days);
  EXPECT_EQ(days->start_ms, *core::parse_time("2026-10-01T00:00:00Z"));
  EXPECT_EQ(days->end_ms, *core::parse_time("2027-01-01T00:00:00Z"));  // the last day included
  for (const char* bad : {"", "2026-13", "2026-Q5", "26", "20266", "2026-11-01", "2026-12-31..2026-10-01",
                          "2026-10-01..", "..2026-10-01", "2026-1-1..2026-1-2", "x2026", "2026-W60"})
    EXPECT_FALSE(parse_period(bad)) << bad;
}

TEST(EvidenceTargets, DefaultsAndOverrides) {
  const Targets d = default_targets();
  EXPECT_EQ(d.at(1).acknowledge_ms, 15 * kMin);
  EXPECT_EQ(d.at(1).resolve_ms, 4 * kHour);
  auto t = parse_targets("P1=5m/1h, P4=2d/20d");
  ASSERT_FALSE(t) << "a space is not part of the grammar";
  t = parse_targets("P1=5m/1h,P4=2d/20d");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->at(1).acknowledge_ms, 5 * kMin);
  EXPECT_EQ(t->at(4).resolve_ms, 20 * 24 * kHour);
  EXPECT_EQ(t->at(2).acknowledge_ms, d.at(2).acknowledge_ms);  // not given: the default
  for (const char* bad : {"P0=1m/1h", "P6=1m/1h", "P1=1m", "P1=/1h", "Q1=1m/1h", "P1=1x/1h", "P1=0s/1h", "P11=1m/1h"}) {
    auto r = parse_targets(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("P1..P5"), std::string::npos) << r.error().message;
  }
}

// A figure of a report by name.
const json::value& figure(const json::object& doc, std::string_view name) {
  for (const json::value& f : doc.at("figures").as_array())
    if (f.at("name").as_string() == name) return f.at("value");
  ADD_FAILURE() << "no figure " << name;
  static const json::value kNull;
  return kNull;
}

const json::array& rows(const json::object& doc, std::string_view table) {
  for (const json::value& t : doc.at("tables").as_array())
    if (t.at("name").as_string() == table) return t.at("rows").as_array();
  ADD_FAILURE() << "no table " << table;
  static const json::array kEmpty;
  return kEmpty;
}

// The row whose first cell is `key`.
const json::array& row(const json::object& doc, std::string_view table, std::string_view key) {
  for (const json::value& r : rows(doc, table))
    if (r.as_array().at(0).is_string() && r.as_array().at(0).as_string() == key) return r.as_array();
  ADD_FAILURE() << "no row " << key << " in " << table;
  static const json::array kEmpty{nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                  nullptr, nullptr, nullptr};
  return kEmpty;
}

std::int64_t n(const json::value& v) { return v.to_number<std::int64_t>(); }
double d(const json::value& v) { return v.to_number<double>(); }

template <class B>
class EvidenceReports : public store::OnBackend<B> {
 protected:
  void SetUp() override {
    store::OnBackend<B>::SetUp();
    now_ = core::to_unix_ms(core::SystemClock().now());
    const auto current = sla::period_at("month", now_);
    const auto last = sla::period_at("month", current->start_ms - 1);
    period_ = Period{last->name, last->start_ms, last->end_ms};
    s_ = period_.start_ms;
    std::ofstream(defs_.file("shop.toml")) << "name = \"shop\"\nowner = \"web team\"\nsla_target = 99.9\n";
    catalog_ = std::make_shared<services::Catalog>(defs_.path());
    catalog_->refresh();
    script();
  }

  void upsert(const std::string& id, const std::string& type, const std::string& source, std::int64_t at,
              store::AttrMap attrs = {}, std::optional<CiState> state = std::nullopt) {
    store::CiUpdate u;
    u.id = id;
    u.type = type;
    u.name_if_new = id;
    u.source = source;
    u.seen_at_ms = at;
    u.attributes = std::move(attrs);
    u.state = state;
    auto r = this->stores.cmdb->upsert_ci(u);
    ASSERT_TRUE(r) << r.error().describe();
  }

  void incident(store::IncidentKind kind, const std::string& subject, int priority, std::int64_t opened,
                std::int64_t acked, std::int64_t resolved, int reopened = 0) {
    store::Incident i;
    i.kind = kind;
    i.subject = subject;
    i.rule = "r" + std::to_string(opened);
    i.key = std::string(store::to_string(kind)) + ":" + subject + ":" + i.rule;
    i.priority = priority;
    i.opened_ms = i.updated_ms = opened;
    i.acknowledged_ms = acked;
    i.resolved_ms = resolved;
    i.reopened = reopened;
    i.state = resolved > 0 ? store::IncidentState::resolved
              : acked > 0  ? store::IncidentState::acknowledged
                           : store::IncidentState::open;
    auto r = this->stores.incidents->update_incident_by_key(
        i.key, [&i](const std::optional<store::Incident>&) { return std::optional<store::Incident>(i); });
    ASSERT_TRUE(r && *r) << (r ? "not stored" : r.error().describe());
  }

  void script() {
    const std::int64_t S = s_;
    upsert("host-0", "host", "agent", S - kHour);  // before the period: counted as a CI, not as a change
    upsert("host-1", "host", "agent", S + 1 * kHour, {{"cpu.cores", std::int64_t{4}}});
    upsert("host-1", "host", "agent", S + 2 * kHour, {{"cpu.cores", std::int64_t{8}}});  // unauthorised
    upsert("app-1", "application", "user", S + 3 * kHour);
    upsert("app-1", "application", "user", S + 4 * kHour, {{"tier", std::int64_t{1}}});
    upsert("host-2", "host", "agent", S + 5 * kHour);
    upsert("host-2", "host", "collector", S + 6 * kHour, {}, CiState::missing);
    upsert("host-3", "host", "agent", S + 7 * kHour);
    upsert("host-3", "host", "collector", S + 8 * kHour, {}, CiState::retired);

    using K = store::IncidentKind;
    incident(K::unauthorised_change, "host-1", 3, S + 2 * kHour + kMin, 0, S + 3 * kHour, 1);
    incident(K::availability, "host-1", 1, S + 10 * kHour, S + 10 * kHour + 10 * kMin, S + 12 * kHour);
    incident(K::capacity, "host-2", 2, S + 11 * kHour, S + 12 * kHour, S + 30 * kHour);
    incident(K::availability, "host-3", 2, S + 20 * kHour, 0, 0);
    incident(K::availability, "host-0", 1, S - 2 * kHour, 0, 0);  // before the period

    ASSERT_TRUE(this->stores.timelines->record_states({
        {"host-1", S, S + 10 * kHour, Availability::up},
        {"host-1", S + 10 * kHour, S + 12 * kHour, Availability::down},
        {"host-1", S + 12 * kHour, S + 14 * kHour, Availability::maintenance},
        {"host-1", S + 14 * kHour, S + 24 * kHour, Availability::up},
        {"host-3", S, S + 20 * kHour, Availability::up},
        {"host-3", S + 20 * kHour, S + 24 * kHour, Availability::down},
        {"service:shop", S, S + 5 * kHour, Availability::up},
        {"service:shop", S + 5 * kHour, S + 5 * kHour + 30 * kMin, Availability::down},
        {"service:shop", S + 5 * kHour + 30 * kMin, S + 24 * kHour, Availability::up},
    }));
  }

  Context context() const {
    Context c;
    c.stores = &this->stores;
    c.catalog = catalog_.get();
    c.now_ms = now_;
    c.by = "auditor (127.0.0.1)";
    return c;
  }

  json::object report_of(std::string_view clause, std::string* text = nullptr) {
    auto r = report(context(), clause, period_);
    EXPECT_TRUE(r) << r.error().describe();
    if (!r) return {};
    if (text) *text = *r;
    return json::parse(*r).as_object();
  }

  test::TempDir defs_;
  std::shared_ptr<services::Catalog> catalog_;
  std::int64_t now_ = 0, s_ = 0;
  Period period_;
};
TYPED_TEST_SUITE(EvidenceReports, store::Backends, store::BackendNames);

TYPED_TEST(EvidenceReports, ConfigurationManagementFiguresAreTheScriptsOwn) {
  std::string text;
  const json::object doc = this->report_of("8.2.6", &text);
  EXPECT_EQ(doc.at("clause").as_string(), "8.2.6");
  EXPECT_EQ(doc.at("period").at("name").as_string(), this->period_.name);
  EXPECT_TRUE(doc.at("period").at("closed").as_bool());
  EXPECT_TRUE(doc.at("generated").at("frozen").as_bool());
  EXPECT_EQ(doc.at("generated").at("by").as_string(), "auditor (127.0.0.1)");
  EXPECT_FALSE(doc.at("sources").as_array().empty());
  EXPECT_FALSE(doc.at("method").as_array().empty());

  EXPECT_EQ(n(figure(doc, "cis")), 5);  // host-0..3 and app-1
  EXPECT_EQ(n(figure(doc, "cis_not_reporting")), 1);
  // host-1 created and its cores, app-1 created and its tier, host-2 created
  // and missing, host-3 created and retired; host-0 was before the period.
  EXPECT_EQ(n(figure(doc, "changes")), 8);
  EXPECT_EQ(n(figure(doc, "changes_by_agents")), 4);
  EXPECT_EQ(n(figure(doc, "changes_by_people")), 2);
  EXPECT_EQ(n(figure(doc, "changes_by_integrations")), 0);
  EXPECT_EQ(n(figure(doc, "changes_by_collector")), 2);
  EXPECT_EQ(n(figure(doc, "appeared")), 4);
  EXPECT_EQ(n(figure(doc, "retired")), 1);
  EXPECT_EQ(n(figure(doc, "unauthorized_changes")), 1);
  EXPECT_EQ(n(figure(doc, "unauthorized_alerts")), 1);
  EXPECT_EQ(n(figure(doc, "unauthorized_incidents")), 1);
  EXPECT_EQ(n(figure(doc, "unauthorized_incidents_resolved")), 1);
  EXPECT_TRUE(figure(doc, "audit_trail_verified").as_bool());
  EXPECT_EQ(n(figure(doc, "audit_entries_chained")), 9);

  const auto& host = row(doc, "cis_by_type", "host");
  EXPECT_EQ(n(host.at(1)), 2);  // active: host-0, host-1
  EXPECT_EQ(n(host.at(2)), 1);  // missing: host-2
  EXPECT_EQ(n(host.at(3)), 1);  // retired: host-3
  EXPECT_EQ(n(host.at(4)), 4);
  EXPECT_EQ(n(row(doc, "cis_by_type", "application").at(4)), 1);
  ASSERT_EQ(rows(doc, "not_reporting").size(), 1u);
  EXPECT_EQ(rows(doc, "not_reporting")[0].as_array()[0].as_string(), "host-2");
  const auto& created = row(doc, "changes_by_kind", "created");
  EXPECT_EQ(n(created.at(1)), 3);  // agent
  EXPECT_EQ(n(created.at(2)), 1);  // user
  EXPECT_EQ(n(created.at(5)), 4);
  EXPECT_EQ(n(row(doc, "changes_by_kind", "state").at(4)), 2);  // collector
  const auto& unauthorized = rows(doc, "unauthorized");
  ASSERT_EQ(unauthorized.size(), 1u);
  EXPECT_EQ(unauthorized[0].as_array()[1].as_string(), "host-1");
  EXPECT_EQ(unauthorized[0].as_array()[3].as_string(), "cpu.cores");
  EXPECT_EQ(unauthorized[0].as_array()[4].as_string(), "4");
  EXPECT_EQ(unauthorized[0].as_array()[5].as_string(), "8");
  EXPECT_EQ(rows(doc, "appeared_retired").size(), 5u);
  ASSERT_EQ(rows(doc, "follow_up").size(), 1u);
  EXPECT_EQ(rows(doc, "follow_up")[0].as_array()[3].as_string(), "resolved");

  // The digest is the SHA-256 of the document without it, and the closed
  // period's report comes back byte for byte.
  json::object content = doc;
  const std::string digest(content.at("digest").as_string());
  content.erase("digest");
  EXPECT_EQ(digest, core::sha256_hex(json::serialize(content)));
  EXPECT_EQ(digest_of(text), digest);
  this->upsert("host-9", "host", "agent", this->s_ + 9 * kHour);  // late news about the period
  std::string again;
  this->report_of("8.2.6", &again);
  EXPECT_EQ(again, text) << "a frozen report is not regenerated";
}

TYPED_TEST(EvidenceReports, IncidentManagementAgainstTargetsPerPriority) {
  const json::object doc = this->report_of("8.6.1");
  EXPECT_EQ(n(figure(doc, "opened")), 4);
  EXPECT_EQ(n(figure(doc, "resolved")), 3);
  EXPECT_EQ(n(figure(doc, "reopened")), 1);
  EXPECT_EQ(n(figure(doc, "availability_failures")), 2);
  // (2 h + 19 h + 59 min) / 3, from opening to resolution.
  EXPECT_DOUBLE_EQ(d(figure(doc, "mttr_seconds")), (7200.0 + 68400.0 + 3540.0) / 3.0);
  // host-1 up 20 h (10 + 10), host-3 up 20 h: 40 h over 2 failures.
  EXPECT_DOUBLE_EQ(d(figure(doc, "mtbf_seconds")), 20.0 * 3600.0);

  // priority, opened, ack target, acknowledged, within, late, mean ack, resolve target, resolved, within, late, mean
  const auto& p1 = row(doc, "by_priority", "P1");
  EXPECT_EQ(n(p1.at(1)), 1);
  EXPECT_DOUBLE_EQ(d(p1.at(2)), 900.0);
  EXPECT_EQ(n(p1.at(3)), 1);
  EXPECT_EQ(n(p1.at(4)), 1);
  EXPECT_EQ(n(p1.at(5)), 0);
  EXPECT_DOUBLE_EQ(d(p1.at(6)), 600.0);
  EXPECT_EQ(n(p1.at(8)), 1);
  EXPECT_EQ(n(p1.at(9)), 1);
  EXPECT_DOUBLE_EQ(d(p1.at(11)), 7200.0);
  const auto& p2 = row(doc, "by_priority", "P2");
  EXPECT_EQ(n(p2.at(1)), 2);
  EXPECT_EQ(n(p2.at(3)), 1);   // acknowledged: the capacity incident, after 1 h
  EXPECT_EQ(n(p2.at(4)), 0);
  EXPECT_EQ(n(p2.at(5)), 2);   // late, and never acknowledged past its 30 min
  EXPECT_DOUBLE_EQ(d(p2.at(6)), 3600.0);
  EXPECT_EQ(n(p2.at(8)), 1);
  EXPECT_EQ(n(p2.at(9)), 0);
  EXPECT_EQ(n(p2.at(10)), 2);  // 19 h against 8 h, and one still open past 8 h
  EXPECT_DOUBLE_EQ(d(p2.at(11)), 68400.0);
  const auto& p3 = row(doc, "by_priority", "P3");
  EXPECT_EQ(n(p3.at(3)), 0);
  EXPECT_EQ(n(p3.at(5)), 1);   // resolved without acknowledgement
  EXPECT_TRUE(p3.at(6).is_null());
  EXPECT_EQ(n(p3.at(9)), 1);
  EXPECT_EQ(n(row(doc, "by_kind", "availability").at(1)), 2);
  EXPECT_EQ(rows(doc, "incidents").size(), 4u);

  // Other targets, from the configuration: P2 acknowledged within 2 h.
  Context c = this->context();
  c.targets = *parse_targets("P2=2h/1d");
  // The frozen report stays as it was frozen; a period still open is computed now.
  auto frozen = report(c, "8.6.1", this->period_);
  ASSERT_TRUE(frozen);
  EXPECT_EQ(n(row(json::parse(*frozen).as_object(), "by_priority", "P2").at(4)), 0);
  Period both{"open", this->period_.start_ms, this->now_ + kHour};
  auto open = report(c, "8.6.1", both);
  ASSERT_TRUE(open) << open.error().describe();
  const json::object live = json::parse(*open).as_object();
  EXPECT_FALSE(live.at("generated").at("frozen").as_bool());
  EXPECT_EQ(n(row(live, "by_priority", "P2").at(4)), 1);  // the 1 h acknowledgement is now within
}

TYPED_TEST(EvidenceReports, AvailabilityOfServicesAndHostsWithMaintenanceAndUnknownApart) {
  const json::object doc = this->report_of("8.7.1");
  const double period_s = static_cast<double>(this->period_.end_ms - this->period_.start_ms) / 1000.0;
  EXPECT_EQ(n(figure(doc, "services")), 1);
  EXPECT_EQ(n(figure(doc, "services_below_target")), 1);
  EXPECT_EQ(n(figure(doc, "hosts")), 4);  // host-0..3, whatever their state
  // service, owner, target, availability, up, degraded, down, maintenance, unknown
  const auto& shop = row(doc, "services", "shop");
  EXPECT_EQ(shop.at(1).as_string(), "web team");
  EXPECT_DOUBLE_EQ(d(shop.at(2)), 99.9);
  EXPECT_DOUBLE_EQ(d(shop.at(3)), 97.9167);  // 23.5 h of 24 h, to 4 decimals
  EXPECT_DOUBLE_EQ(d(shop.at(6)), 1800.0);
  EXPECT_DOUBLE_EQ(d(shop.at(8)), period_s - 24 * 3600.0);
  // ci, name, availability, up, degraded, down, maintenance, unknown
  const auto& h1 = row(doc, "hosts", "host-1");
  EXPECT_DOUBLE_EQ(d(h1.at(2)), 90.9091);  // 20 h up of 22 h counted: maintenance excluded
  EXPECT_DOUBLE_EQ(d(h1.at(3)), 20 * 3600.0);
  EXPECT_DOUBLE_EQ(d(h1.at(5)), 2 * 3600.0);
  EXPECT_DOUBLE_EQ(d(h1.at(6)), 2 * 3600.0);
  EXPECT_DOUBLE_EQ(d(h1.at(7)), period_s - 24 * 3600.0);
  EXPECT_DOUBLE_EQ(d(row(doc, "hosts", "host-3").at(2)), 83.3333);
  const auto& h0 = row(doc, "hosts", "host-0");
  EXPECT_TRUE(h0.at(2).is_null()) << "nothing known: no availability, all of it unknown";
  EXPECT_DOUBLE_EQ(d(h0.at(7)), period_s);
}

TYPED_TEST(EvidenceReports, OtherClausesAndPeriodsAreRefusedClearly) {
  auto later = report(this->context(), "8.2.6", Period{"future", this->now_ + kHour, this->now_ + 2 * kHour});
  ASSERT_FALSE(later);
  EXPECT_EQ(later.error().code, store::StoreErrc::invalid);
  auto unknown = report(this->context(), "7.5", this->period_);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, store::StoreErrc::not_found);
  auto not_yet = report(this->context(), "8.3.3", this->period_);
  ASSERT_FALSE(not_yet);
  EXPECT_NE(not_yet.error().message.find("yet"), std::string::npos);
}

TEST(EvidenceRendering, HtmlStandsAloneAndEscapesAndCsvQuotes) {
  const std::string doc = R"({"clause":"8.2.6","title":"Configuration management","standard":"ISO/IEC 20000-1:2018",
    "period":{"name":"2026-11","start":"2026-11-01T00:00:00.000Z","end":"2026-12-01T00:00:00.000Z","time_zone":"UTC","closed":true},
    "generated":{"at":"2026-12-02T08:00:00.000Z","by":"<script>alert(1)</script>","collector_version":"0.1.0","frozen":true},
    "sources":["s & t"],"method":["m"],"documentation":"docs/iso20000.md",
    "figures":[{"name":"cis","label":"CIs","value":5},{"name":"ok","label":"verified","value":true}],
    "tables":[{"name":"t","title":"T","columns":["a","b"],"rows":[["x, \"y\"",1.5],[null,true]],"total_rows":2,"truncated":false},
              {"name":"empty","title":"Nothing","columns":["a"],"rows":[],"total_rows":0,"truncated":false}],
    "digest":"abc"})";
  auto html = to_html(doc);
  ASSERT_TRUE(html) << html.error().message;
  EXPECT_EQ(html->find("<script"), std::string::npos) << "no scripts, and text is escaped";
  EXPECT_NE(html->find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(html->find("http"), std::string::npos) << "nothing loaded from elsewhere";
  EXPECT_NE(html->find("s &amp; t"), std::string::npos);
  EXPECT_NE(html->find("<td>x, &quot;y&quot;</td><td class=\"n\">1.5</td>"), std::string::npos) << *html;
  EXPECT_NE(html->find("None in the period."), std::string::npos);
  EXPECT_NE(html->find("abc"), std::string::npos);
  auto csv = to_csv(doc, "t");
  ASSERT_TRUE(csv);
  EXPECT_EQ(*csv, "a,b\r\n\"x, \"\"y\"\"\",1.5\r\n,true\r\n");
  auto missing = to_csv(doc, "nope");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("tables: t, empty"), std::string::npos);
  for (const char* bad : {"", "[]", "{", R"({"tables":7})", R"({"tables":[7,{"rows":7}],"figures":[1]})"}) {
    auto h = to_html(bad);
    auto c = to_csv(bad, "t");
    EXPECT_FALSE(c) << bad;
    (void)h;  // renders what it can, or refuses: never throws
  }
}

}  // namespace
}  // namespace surveyor::collector::evidence
