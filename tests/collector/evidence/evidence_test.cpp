// SPDX-License-Identifier: Apache-2.0
// Audit evidence: periods and targets read as documented; then a scripted
// quarter (the last one ended on the real clock, which the reports are given
// as their clock) on both backends — CIs appearing, going missing and
// retired, changes by agents, people and the collector, change records with
// their impact at creation and an unauthorised change with its incident,
// incidents of several priorities, host and service timelines, a frozen SLA
// report and its amendment, a filesystem filling up and capacity events —
// and every figure of the seven clauses' reports checked against values
// worked out by hand here. A closed period's report is frozen: asked again
// it is byte-identical, and its digest is the SHA-256 of its content. HTML
// and CSV renderings.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>
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

constexpr std::int64_t kMin = 60'000, kHour = 60 * kMin, kDay = 24 * kHour;

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
  EXPECT_TRUE(parse_period("2024-01-01..2026-12-31")) << "1,096 days: the most";
  for (const char* bad : {"", "2026-13", "2026-Q5", "26", "20266", "2026-11-01", "2026-12-31..2026-10-01",
                          "2026-10-01..", "..2026-10-01", "2026-1-1..2026-1-2", "x2026", "2026-W60",
                          "2024-01-01..2027-01-01", "0000-01-01..9999-12-31"})
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
    const auto current = sla::period_at("quarter", now_);
    const auto last = sla::period_at("quarter", current->start_ms - 1);
    period_ = Period{last->name, last->start_ms, last->end_ms};
    s_ = period_.start_ms;
    E_ = period_.end_ms;
    m1_ = *sla::period_at("month", s_);
    m2_ = *sla::period_at("month", m1_.end_ms);
    m3_ = *sla::period_at("month", m2_.end_ms);
    std::ofstream(defs_.file("shop.toml")) << "name = \"shop\"\nowner = \"web team\"\nsla_target = 99.9\n"
                                              "[[group]]\nmembers = [\"host-1\"]\n";
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

  void change(const std::string& reference, const std::string& ci, std::int64_t start, std::int64_t end,
              std::int64_t created, const std::string& impact) {
    store::ChangeRecord c;
    c.reference = reference;
    c.ci_ids = {ci};
    c.start_ms = start;
    c.end_ms = end;
    c.created_ms = created;
    c.origin = "user";
    c.actor = "carol (10.0.0.7)";
    c.description = reference + " on " + ci;
    c.impact = impact;
    auto r = this->stores.changes->create_change(c);
    ASSERT_TRUE(r) << r.error().describe();
  }

  void event(const std::string& rule, const std::string& kind, const std::string& metric, store::Labels attrs,
             std::int64_t opened, std::int64_t resolved) {
    store::CapacityEvent e;
    e.kind = kind;
    e.rule = rule;
    e.ci_id = "host-1";
    e.metric = metric;
    e.attributes = attrs;
    e.threshold = 0.9;
    e.value = 0.95;
    e.summary = rule + " on host-1";
    auto r = this->stores.events->raise_event(e, opened);
    ASSERT_TRUE(r && r->second) << (r ? "not opened" : r.error().describe());
    if (resolved == 0) return;
    auto done = this->stores.events->resolve_event(rule, store::SeriesKey{"host-1", metric, attrs}, resolved);
    ASSERT_TRUE(done && *done) << (done ? "not resolved" : done.error().describe());
  }

  void script() {
    const std::int64_t S = s_;
    // Change records: one before the quarter, one recorded in advance with
    // its impact analysis, one recorded after its window opened and before
    // the analysis was kept.
    change("CHG-0", "host-0", S - 10 * kHour, S - 9 * kHour, S - 11 * kHour, "");
    change("CHG-A", "host-2", S + 5 * kHour, S + 6 * kHour, S + 4 * kHour,
           R"({"analysed":"x","services":[{"service":"shop","verdict":"down","criticality":"high",)"
           R"("through":"host-2"}],"cis_affected":0,"truncated":false})");
    change("CHG-B", "app-1", S + 35 * kDay, S + 35 * kDay + kHour, S + 35 * kDay + 30 * kMin, "");
    // Two whose stored analysis is not what the collector writes: read as
    // far as it goes, never a failure of the report.
    change("CHG-C", "host-0", S + 40 * kDay, S + 40 * kDay + kHour, S + 39 * kDay, R"({"services":[1,{"service":2}]})");
    change("CHG-D", "host-0", S + 41 * kDay, S + 41 * kDay + kHour, S + 40 * kDay, R"({"services":7})");
    upsert("host-0", "host", "agent", S - kHour);  // before the period: counted as a CI, not as a change
    upsert("host-1", "host", "agent", S + 1 * kHour, {{"cpu.cores", std::int64_t{4}}});
    upsert("host-1", "host", "agent", S + 2 * kHour, {{"cpu.cores", std::int64_t{8}}});  // unauthorised
    upsert("app-1", "application", "user", S + 3 * kHour);
    upsert("app-1", "application", "user", S + 4 * kHour, {{"tier", std::int64_t{1}}});
    upsert("host-2", "host", "agent", S + 5 * kHour);
    upsert("host-2", "host", "agent", S + 5 * kHour + 30 * kMin, {{"cpu.cores", std::int64_t{2}}});  // in CHG-A
    upsert("host-2", "host", "collector", S + 6 * kHour, {}, CiState::missing);
    upsert("host-3", "host", "agent", S + 7 * kHour);
    upsert("host-3", "host", "collector", S + 8 * kHour, {}, CiState::retired);
    // After the quarter: host-2 reports again, host-8 appears. The reports
    // show the CMDB as it was at the quarter's end.
    upsert("host-2", "host", "agent", E_ + kHour);
    upsert("host-8", "host", "agent", E_ + 2 * kHour);

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

    // The first month's SLA report frozen when it closed, then amended
    // after an hour of downtime came to light.
    const services::Service shop = *catalog_->find("shop");
    auto timeline = this->stores.timelines->read_timeline("service:shop", m1_.start_ms, m1_.end_ms);
    ASSERT_TRUE(timeline);
    const sla::Report first = sla::evaluate("shop", *shop.sla, m1_, *timeline, m1_.end_ms + kMin);
    ASSERT_TRUE(this->stores.sla_reports->add_sla_report(
        {"shop", m1_.name, 1, m1_.end_ms + kMin, "surveyor", "period closed", sla::report_json(first)}));
    ASSERT_TRUE(this->stores.timelines->record_states({
        {"service:shop", S + 24 * kHour, S + 25 * kHour, Availability::down},
        {"service:shop", m3_.start_ms, m3_.start_ms + 22 * kHour, Availability::up},
        {"service:shop", m3_.start_ms + 22 * kHour, m3_.start_ms + 24 * kHour, Availability::maintenance},
    }));
    auto amended = sla::recompute(this->stores, shop, m1_, "carol (10.0.0.7)", "late data from the web tier", now_);
    ASSERT_TRUE(amended && amended->amended) << (amended ? "not amended" : amended.error().describe());

    // /var on host-1 fills by 0.001 an hour over the quarter's last 10
    // days: 0.500 .. 0.739, and the line reaches 0.9 at k = 400 hours.
    this->add_agent("agt-1", "host-1");
    store::ReportBatch b = store::report_batch("agt-1", 1, E_);
    std::vector<store::Sample> fill;
    for (int k = 0; k < 240; ++k) fill.push_back({E_ - 240 * kHour + k * kHour, 0.5 + 0.001 * k});
    fill.push_back({E_, 0.99});  // the next quarter's first sample: not in this one's plan
    b.series.push_back({store::series_info("host-1", "fs.used_ratio", {{"mountpoint", "/var"}}), fill});
    auto applied = this->stores.reports->apply_report(b);
    ASSERT_TRUE(applied) << applied.error().describe();

    // Capacity events: one before the quarter, one open across its start,
    // one raised and resolved in it, one raised in it and still open.
    const std::string cpu = "system.cpu.utilization";
    event("cpu", "capacity", cpu, {}, S - 5 * kDay, S - 4 * kDay);
    event("cpu", "capacity", cpu, {}, S - 2 * kDay, S + 1 * kDay);
    event("cpu", "capacity", cpu, {}, S + 3 * kDay, S + 4 * kDay);
    event("fs-forecast", "capacity-forecast", "fs.used_ratio", {{"mountpoint", "/var"}}, S + 50 * kDay, 0);
  }

  Context context() const {
    Context c;
    c.stores = &this->stores;
    c.catalog = catalog_.get();
    c.now_ms = now_;
    c.by = "auditor (127.0.0.1)";
    capacity::CapacityRule fs;
    fs.name = "fs-forecast";
    fs.kind = capacity::CapacityRule::Kind::forecast;
    fs.metric = "fs.used_ratio";
    fs.threshold = 0.9;
    c.rules = {fs};
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
  std::int64_t now_ = 0, s_ = 0, E_ = 0;
  Period period_;
  sla::Period m1_, m2_, m3_;  // the quarter's months
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

  EXPECT_EQ(n(figure(doc, "cis")), 5);  // host-0..3 and app-1; host-8 came later
  EXPECT_EQ(n(figure(doc, "cis_not_reporting")), 1);
  // host-1 created and its cores, app-1 created and its tier, host-2
  // created, its cores and missing, host-3 created and retired; host-0 was
  // before the period.
  EXPECT_EQ(n(figure(doc, "changes")), 9);
  EXPECT_EQ(n(figure(doc, "changes_by_agents")), 5);
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
  EXPECT_EQ(n(figure(doc, "audit_entries_chained")), 12);  // with the two after the quarter

  const auto& host = row(doc, "cis_by_type", "host");
  EXPECT_EQ(n(host.at(1)), 2);  // active: host-0, host-1
  EXPECT_EQ(n(host.at(2)), 1);  // missing: host-2
  EXPECT_EQ(n(host.at(3)), 1);  // retired: host-3
  EXPECT_EQ(n(host.at(4)), 4);
  EXPECT_EQ(n(row(doc, "cis_by_type", "application").at(4)), 1);
  ASSERT_EQ(rows(doc, "not_reporting").size(), 1u);
  const auto& gone = rows(doc, "not_reporting")[0].as_array();
  EXPECT_EQ(gone[0].as_string(), "host-2") << "missing at the quarter's end, active again since";
  EXPECT_TRUE(gone[3].is_null()) << "its last report before the end is not kept once it reports again";
  EXPECT_EQ(gone[4].as_string(), core::format_rfc3339(this->s_ + 6 * kHour)) << "missing since";
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
  EXPECT_DOUBLE_EQ(d(shop.at(3)), 96.8085);  // up 23.5 h + 22 h of 47 h counted, to 4 decimals
  EXPECT_DOUBLE_EQ(d(shop.at(6)), 5400.0);    // down 30 min, then the hour found later
  EXPECT_DOUBLE_EQ(d(shop.at(7)), 7200.0);    // maintenance, excluded
  EXPECT_DOUBLE_EQ(d(shop.at(8)), period_s - 49 * 3600.0);
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

// The percentage the SLA figures give, to the 4 decimals a report keeps.
double round4(double v) { return std::round(v * 10'000.0) / 10'000.0; }

TYPED_TEST(EvidenceReports, ServiceLevelsFromFrozenReportsWithTheirAmendments) {
  const json::object doc = this->report_of("8.3.3");
  const double l1 = static_cast<double>(this->m1_.end_ms - this->m1_.start_ms) / 1000.0;
  const double l3 = static_cast<double>(this->m3_.end_ms - this->m3_.start_ms) / 1000.0;
  EXPECT_EQ(n(figure(doc, "services_with_sla")), 1);
  EXPECT_EQ(n(figure(doc, "sla_periods")), 3);  // the quarter's three months
  EXPECT_EQ(n(figure(doc, "sla_met")), 1);
  EXPECT_EQ(n(figure(doc, "sla_breached")), 1);
  EXPECT_EQ(n(figure(doc, "sla_no_data")), 1);
  EXPECT_EQ(n(figure(doc, "sla_amended")), 1);
  EXPECT_EQ(n(figure(doc, "amendments")), 1);
  EXPECT_EQ(n(figure(doc, "sla_not_frozen")), 1);
  const auto& results = rows(doc, "results");
  ASSERT_EQ(results.size(), 3u);
  // service, sla_period, zone, target, achieved, outcome, agreed, downtime,
  // allowed, budget left, maintenance, unknown, record, version, frozen at
  const auto& m1 = results[0].as_array();
  EXPECT_EQ(m1.at(1).as_string(), this->m1_.name);
  EXPECT_DOUBLE_EQ(d(m1.at(4)), round4(100.0 * (l1 - 5400.0) / l1));  // the amendment's 90 min down
  EXPECT_EQ(m1.at(5).as_string(), "breached");
  EXPECT_DOUBLE_EQ(d(m1.at(6)), l1);
  EXPECT_DOUBLE_EQ(d(m1.at(7)), 5400.0);
  EXPECT_NEAR(d(m1.at(8)), 0.001 * l1, 1.0);  // 0.1 % of the month
  EXPECT_EQ(m1.at(12).as_string(), "amended");
  EXPECT_EQ(n(m1.at(13)), 2);
  EXPECT_EQ(m1.at(14).as_string(), core::format_rfc3339(this->m1_.end_ms + kMin));
  const auto& m2 = results[1].as_array();
  EXPECT_EQ(m2.at(1).as_string(), this->m2_.name);
  EXPECT_TRUE(m2.at(4).is_null()) << "nothing known of the service that month";
  EXPECT_EQ(m2.at(12).as_string(), "no data");
  const auto& m3 = results[2].as_array();
  EXPECT_DOUBLE_EQ(d(m3.at(4)), 100.0);
  EXPECT_EQ(m3.at(5).as_string(), "met");
  EXPECT_DOUBLE_EQ(d(m3.at(6)), l3 - 7200.0);  // maintenance is not agreed time
  EXPECT_DOUBLE_EQ(d(m3.at(10)), 7200.0);
  EXPECT_DOUBLE_EQ(d(m3.at(11)), l3 - 24 * 3600.0);
  EXPECT_EQ(m3.at(12).as_string(), "not frozen");
  EXPECT_TRUE(m3.at(13).is_null());
  const auto& amendments = rows(doc, "amendments");
  ASSERT_EQ(amendments.size(), 1u);
  const auto& a = amendments[0].as_array();
  EXPECT_EQ(n(a.at(2)), 2);
  EXPECT_EQ(a.at(3).as_string(), core::format_rfc3339(this->now_));
  EXPECT_EQ(a.at(4).as_string(), "carol (10.0.0.7)");
  EXPECT_EQ(a.at(5).as_string(), "late data from the web tier");
  EXPECT_DOUBLE_EQ(d(a.at(6)), round4(100.0 * (l1 - 1800.0) / l1));
  EXPECT_DOUBLE_EQ(d(a.at(7)), round4(100.0 * (l1 - 5400.0) / l1));
}

TYPED_TEST(EvidenceReports, CapacityPlanAtThePeriodsEndAndItsEvents) {
  const json::object doc = this->report_of("8.4.3");
  EXPECT_EQ(figure(doc, "plan_at").as_string(), core::format_rfc3339(this->E_));
  EXPECT_EQ(n(figure(doc, "series_watched")), 1);
  EXPECT_EQ(n(figure(doc, "series_past_threshold")), 0);
  EXPECT_EQ(n(figure(doc, "series_reaching_within_30_days")), 1);
  EXPECT_EQ(n(figure(doc, "series_without_data")), 0);
  EXPECT_EQ(n(figure(doc, "events_raised")), 2);
  EXPECT_EQ(n(figure(doc, "events_resolved")), 2);  // the one open across the start, and the one raised in it
  EXPECT_EQ(n(figure(doc, "events_open_at_end")), 1);
  const auto& plan = rows(doc, "plan");
  ASSERT_EQ(plan.size(), 1u);
  // services, ci, name, rule, metric, attributes, unit, current, p95, peak,
  // threshold, direction, headroom, outcome, reaches_at, earliest, latest, r2
  const auto& r = plan[0].as_array();
  EXPECT_EQ(r.at(0).as_string(), "shop");
  EXPECT_EQ(r.at(1).as_string(), "host-1");
  EXPECT_EQ(r.at(5).as_string(), "mountpoint=/var");
  EXPECT_NEAR(d(r.at(7)), 0.739, 1e-12) << "the latest sample before the end";
  EXPECT_NEAR(d(r.at(8)), 0.5 + 0.001 * (0.95 * 239), 1e-9);  // between the 228th and 229th of 240
  EXPECT_NEAR(d(r.at(9)), 0.739, 1e-12);
  EXPECT_NEAR(d(r.at(12)), 0.9 - (0.5 + 0.001 * (0.95 * 239)), 1e-9);
  EXPECT_EQ(r.at(13).as_string(), "at");
  const std::int64_t reaches = *core::parse_time(std::string(r.at(14).as_string()));
  // 400 h after the first hour's maximum, which the forecast places at its
  // hour's middle (docs/capacity.md).
  EXPECT_NEAR(static_cast<double>(reaches - (this->E_ + 160 * kHour + 30 * kMin)), 0.0, 1000.0);
  ASSERT_TRUE(r.at(15).is_string());
  EXPECT_LE(*core::parse_time(std::string(r.at(15).as_string())), reaches);
  EXPECT_NEAR(d(r.at(17)), 1.0, 1e-9);
  const auto& events = rows(doc, "events");
  ASSERT_EQ(events.size(), 3u) << "the one over before the quarter is not listed";
  EXPECT_EQ(events[0].as_array().at(6).as_string(), core::format_rfc3339(this->s_ - 2 * kDay));
  EXPECT_TRUE(events[2].as_array().at(7).is_null()) << "still open";
}

TYPED_TEST(EvidenceReports, ChangeRecordsWithImpactAtCreationAndWhatWasObserved) {
  const json::object doc = this->report_of("8.5.1");
  EXPECT_EQ(n(figure(doc, "changes")), 4);  // CHG-0's window was before the quarter
  EXPECT_EQ(n(figure(doc, "changes_with_impact")), 2);  // CHG-A, and CHG-C's list of services
  EXPECT_EQ(n(figure(doc, "changes_taking_a_service_down")), 1);
  EXPECT_EQ(n(figure(doc, "changes_recorded_in_advance")), 3);
  EXPECT_EQ(n(figure(doc, "observed_changes")), 5);  // by agents: 3 created, 2 cores
  EXPECT_EQ(n(figure(doc, "observed_in_windows")), 1);
  EXPECT_EQ(n(figure(doc, "observed_outside_windows")), 1);
  // reference, change, cis, start, end, recorded, by, origin, in advance,
  // impact, cis affected, observed, description
  const auto& a = row(doc, "changes", "CHG-A");
  EXPECT_EQ(a.at(2).as_string(), "host-2");
  EXPECT_TRUE(a.at(8).as_bool());
  EXPECT_EQ(a.at(9).as_string(), "shop: down");
  EXPECT_EQ(n(a.at(10)), 0);
  EXPECT_EQ(n(a.at(11)), 1);
  const auto& b = row(doc, "changes", "CHG-B");
  EXPECT_FALSE(b.at(8).as_bool()) << "recorded 30 min after its window opened";
  EXPECT_TRUE(b.at(9).is_null());
  EXPECT_EQ(n(b.at(11)), 0);
  EXPECT_EQ(row(doc, "changes", "CHG-C").at(9).as_string(), "") << "no service it could read";
  EXPECT_TRUE(row(doc, "changes", "CHG-D").at(9).is_null());
  const auto& observed = rows(doc, "observed");
  ASSERT_EQ(observed.size(), 1u);
  EXPECT_EQ(observed[0].as_array().at(1).as_string(), "host-2");
  EXPECT_EQ(observed[0].as_array().at(3).as_string(), "cpu.cores");
  EXPECT_EQ(observed[0].as_array().at(8).as_string(), "CHG-A");
  const auto& outside = rows(doc, "outside_windows");
  ASSERT_EQ(outside.size(), 1u);
  EXPECT_EQ(outside[0].as_array().at(1).as_string(), "host-1");
}

TYPED_TEST(EvidenceReports, TwelvePeriodsOfTrendsForTheManagementReview) {
  const json::object doc = this->report_of("9.1");
  EXPECT_EQ(n(figure(doc, "periods")), 12);
  EXPECT_EQ(figure(doc, "to").as_string(), this->period_.name);
  const auto& levels = rows(doc, "service_levels");
  const auto& incidents = rows(doc, "incidents");
  const auto& changes = rows(doc, "changes_capacity");
  ASSERT_EQ(levels.size(), 12u);
  ASSERT_EQ(incidents.size(), 12u);
  ASSERT_EQ(changes.size(), 12u);
  // Oldest first, quarter after quarter, ending with the report's.
  auto q = sla::period_at("quarter", this->s_);
  for (std::size_t i = 12; i-- > 0;) {
    EXPECT_EQ(levels[i].as_array().at(0).as_string(), q->name);
    q = sla::period_at("quarter", q->start_ms - 1);
  }
  EXPECT_EQ(figure(doc, "from").as_string(), levels[0].as_array().at(0).as_string());

  // The quarter: the figures of the other reports.
  const auto& lv = levels[11].as_array();  // period, SLA periods, met, breached, mean availability, below target
  EXPECT_EQ(n(lv.at(1)), 3);
  EXPECT_EQ(n(lv.at(2)), 1);
  EXPECT_EQ(n(lv.at(3)), 1);
  EXPECT_DOUBLE_EQ(d(lv.at(4)), 96.8085);
  EXPECT_EQ(n(lv.at(5)), 1);
  const auto& in = incidents[11].as_array();  // period, opened, resolved, ack within %, resolved within %, MTTR, MTBF, failures
  EXPECT_EQ(n(in.at(1)), 4);
  EXPECT_EQ(n(in.at(2)), 3);
  EXPECT_DOUBLE_EQ(d(in.at(3)), 25.0);  // P1 acknowledged in time; P2 twice and P3 not
  EXPECT_DOUBLE_EQ(d(in.at(4)), 50.0);  // P1 and P3 resolved in time; P2 twice not
  EXPECT_DOUBLE_EQ(d(in.at(5)), (7200.0 + 68400.0 + 3540.0) / 3.0);
  EXPECT_DOUBLE_EQ(d(in.at(6)), 20.0 * 3600.0);
  EXPECT_EQ(n(in.at(7)), 2);
  const auto& ch = changes[11].as_array();  // period, records, observed, outside, appeared, retired, events raised
  EXPECT_EQ(n(ch.at(1)), 4);
  EXPECT_EQ(n(ch.at(2)), 5);
  EXPECT_EQ(n(ch.at(3)), 1);
  EXPECT_EQ(n(ch.at(4)), 4);
  EXPECT_EQ(n(ch.at(5)), 1);
  EXPECT_EQ(n(ch.at(6)), 2);

  // The quarter before: what the script put just before this one.
  const auto& lv0 = levels[10].as_array();
  EXPECT_EQ(n(lv0.at(1)), 3);
  EXPECT_EQ(n(lv0.at(2)) + n(lv0.at(3)), 0) << "no data: neither met nor breached";
  EXPECT_TRUE(lv0.at(4).is_null());
  const auto& in0 = incidents[10].as_array();
  EXPECT_EQ(n(in0.at(1)), 1);  // host-0's, never acknowledged
  EXPECT_DOUBLE_EQ(d(in0.at(3)), 0.0);
  EXPECT_DOUBLE_EQ(d(in0.at(4)), 0.0);
  const auto& ch0 = changes[10].as_array();
  EXPECT_EQ(n(ch0.at(1)), 1);  // CHG-0
  EXPECT_EQ(n(ch0.at(2)), 1);  // host-0 appeared
  EXPECT_EQ(n(ch0.at(4)), 1);
  EXPECT_EQ(n(ch0.at(6)), 2);  // two capacity events raised
  // Earlier quarters: nothing.
  EXPECT_EQ(n(incidents[0].as_array().at(1)), 0);
  EXPECT_TRUE(incidents[0].as_array().at(3).is_null());
  EXPECT_EQ(n(changes[0].as_array().at(1)), 0);
}

TYPED_TEST(EvidenceReports, EveryClauseIsFrozenByteForByteWithItsDigest) {
  for (const Clause& clause : clauses()) {
    std::string first, second;
    const json::object doc = this->report_of(clause.id, &first);
    EXPECT_TRUE(doc.at("generated").at("frozen").as_bool()) << clause.id;
    EXPECT_TRUE(doc.at("documentation").as_string().starts_with("docs/iso20000.md#")) << clause.id;
    EXPECT_EQ(digest_of(first), doc.at("digest").as_string()) << clause.id;
    Context later = this->context();
    later.now_ms += kHour;
    auto again = report(later, clause.id, this->period_);
    ASSERT_TRUE(again) << again.error().describe();
    EXPECT_EQ(*again, first) << clause.id;
    auto html = to_html(first);
    ASSERT_TRUE(html) << clause.id;
    for (const json::value& t : doc.at("tables").as_array())
      EXPECT_TRUE(to_csv(first, t.at("name").as_string())) << clause.id << " " << t.at("name").as_string();
  }
}

TYPED_TEST(EvidenceReports, OtherClausesAndPeriodsAreRefusedClearly) {
  auto later = report(this->context(), "8.2.6", Period{"future", this->now_ + kHour, this->now_ + 2 * kHour});
  ASSERT_FALSE(later);
  EXPECT_EQ(later.error().code, store::StoreErrc::invalid);
  auto unknown = report(this->context(), "7.5", this->period_);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, store::StoreErrc::not_found);
  EXPECT_NE(unknown.error().message.find("9.1"), std::string::npos) << "the error lists the clauses";
  for (const Clause& clause : clauses()) EXPECT_TRUE(clause.available) << clause.id;
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
