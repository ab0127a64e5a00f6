// SPDX-License-Identifier: Apache-2.0
// The real binaries on loopback: surveyor-collector (port 0, temporary
// store) and surveyor-agent for this host, checked through the API and the
// surveyor command line against independent sources (hwloc-calc,
// /proc/meminfo).
#include <gtest/gtest.h>

#include <sqlite3.h>

#include "stack.hpp"

namespace surveyor::e2e {
namespace {

void expect_this_host(const json::object& ci) {
  const auto& a = ci.at("attributes").as_object();
  EXPECT_EQ(a.at("cpu.cores").as_int64(), std::stoll(run("hwloc-calc --number-of core all")));
  EXPECT_EQ(a.at("cpu.pus").as_int64(), std::stoll(run("hwloc-calc --number-of pu all")));
  EXPECT_EQ(a.at("memory.total_bytes").as_int64(), std::stoll(run("awk '/^MemTotal:/ {print $2}' /proc/meminfo")) * 1024);
  EXPECT_EQ(a.at("host.id").as_string(), run("cat /etc/machine-id"));
  EXPECT_EQ(ci.at("name").as_string(), run("cat /proc/sys/kernel/hostname"));
}

void end_to_end(const std::string& store) {
  Stack s(store);
  ASSERT_NE(s.port, 0);
  s.start_agent();
  std::optional<json::object> ci;
  ASSERT_TRUE(test::eventually([&] { return (ci = s.host_ci()).has_value(); }, 30s))
      << "collector:\n" << s.collector->output() << "\nagent:\n" << s.agent->output();
  expect_this_host(*ci);
  // Both binaries run on the shifted clock the tests use.
  const auto last_seen = core::parse_time(std::string(ci->at("last_seen").as_string()));
  ASSERT_TRUE(last_seen);
  EXPECT_LT(std::abs(*last_seen - now_ms()), 120'000) << ci->at("last_seen").as_string();

  // The operator's view, through the real command line, by host name.
  const std::string hostname = run("cat /proc/sys/kernel/hostname");
  const std::string shown = run(cli_as(s.token, s.url) + "ci show " + hostname);
  EXPECT_NE(shown.find("cpu.cores"), std::string::npos) << shown;
  EXPECT_NE(shown.find("system.cpu.utilization"), std::string::npos) << shown;
  const std::string json_out = run(cli_as(s.token, s.url) + "--json cis");
  EXPECT_NE(json_out.find("\"type\":\"host\""), std::string::npos) << json_out;

  // Capacity questions through the command line: a trend of the root
  // filesystem, and the capacity report with the default rules.
  const std::string cli = cli_as(s.token, s.url);
  const std::string trend = run(cli + "trend " + hostname +
                                " system.filesystem.utilization --attr mountpoint=/ --step 1m --agg max");
  EXPECT_NE(trend.find("mountpoint=/"), std::string::npos) << trend;
  EXPECT_NE(trend.find("(max per 1m, from raw)"), std::string::npos) << trend;
  const std::string report = run(cli + "capacity report " + hostname + " --window 1h");
  for (const char* rule : {"cpu-sustained", "memory-sustained", "filesystem-forecast"})
    EXPECT_NE(report.find(rule), std::string::npos) << report;
  const std::string trend_json = run(cli + "trend " + hostname + " system.cpu.utilization --json");
  EXPECT_NE(trend_json.find("\"series\":[{"), std::string::npos) << trend_json;
  // No CI named: the whole fleet's report (every host).
  const std::string fleet = run(cli + "capacity report --window 1h");
  EXPECT_NE(fleet.find(hostname + "  filesystem-forecast"), std::string::npos) << fleet;

  // A change record: the impact analysis first, then, told --yes, the
  // record; without a terminal to ask on and without --yes, nothing.
  const std::string window = " --start " + core::format_rfc3339(now_ms() + 3'600'000) + " --end " +
                             core::format_rfc3339(now_ms() + 7'200'000);
  const std::string refused = run(cli + "change create " + hostname + window + " --reference CHG-E2E-0 </dev/null 2>&1");
  EXPECT_NE(refused.find("not created: give --yes"), std::string::npos) << refused;
  const std::string created =
      run(cli + "change create " + hostname + window + " --reference CHG-E2E-1 --description 'more RAM' --yes");
  EXPECT_NE(created.find("if " + std::string(ci->at("id").as_string()) + " fails:"), std::string::npos) << created;
  EXPECT_NE(created.find("CHG-E2E-1"), std::string::npos) << created;
  const auto at = created.find("chg-");
  ASSERT_NE(at, std::string::npos) << created;
  const std::string change_id = created.substr(at, created.find_first_of(" \n", at) - at);
  const std::string listed = run(cli + "change list --ci " + hostname);
  EXPECT_NE(listed.find(change_id + "  CHG-E2E-1"), std::string::npos) << listed;
  EXPECT_NE(listed.find("1 change(s)"), std::string::npos) << listed << "\nthe refused one was not made";
  const std::string shown_change = run(cli + "change show " + change_id);
  EXPECT_NE(shown_change.find("what:    more RAM"), std::string::npos) << shown_change;

  // SIGTERM: the agent sends what it has and exits cleanly, then the collector.
  auto agent_status = s.agent->stop(SIGTERM, 10s);
  ASSERT_TRUE(agent_status);
  EXPECT_TRUE(WIFEXITED(*agent_status) && WEXITSTATUS(*agent_status) == 0) << s.agent->output();
  auto collector_status = s.collector->stop(SIGTERM, 10s);
  ASSERT_TRUE(collector_status);
  EXPECT_TRUE(WIFEXITED(*collector_status) && WEXITSTATUS(*collector_status) == 0) << s.collector->output();
}

TEST(EndToEnd, AgentToCollectorOnSqlite) {
  test::TempDir db;
  end_to_end("sqlite:" + db.file("surveyor.db"));
}

TEST(EndToEnd, AgentToCollectorOnRedis) {
  const auto r = test::test_redis();
  end_to_end("redis://" + r.host + ":" + std::to_string(r.port) + "/" + test::unique_prefix());
}

TEST(EndToEnd, AReplayedReportIsStoredOnceAndSurvivesSigkill) {
  test::TempDir db;
  const std::string store = "sqlite:" + db.file("surveyor.db");
  auto s = std::make_unique<Stack>(store);
  const auto id = s->enrolled_identity();
  ASSERT_TRUE(id.contains("agent_id") && id.contains("agent_key"));

  wire::Report r;
  r.agent_id = id.at("agent_id");
  r.sequence = 1'000'000;
  const std::int64_t t = now_ms();
  r.sent_at_ms = t;
  r.heartbeat_interval_s = 60;
  r.series.push_back({"e2e.replay", "1", {}, {{t - 20'000, 1.5}, {t - 10'000, 2.5}, {t, 3.5}}});
  const http::Request req = Stack::report_request(id, r);
  const http::Url url{"http", "127.0.0.1", s->port, ""};

  auto metrics = [&] {
    http::Request m;
    m.target = "/metrics";
    m.headers.emplace_back("Authorization", "Bearer " + s->token);
    auto res = http::fetch(url, m);
    return res ? res->body : std::string();
  };
  const std::uint64_t samples_before = metric_value(metrics(), "surveyor_samples_total");
  for (int i = 0; i < 2; ++i) {
    auto res = http::fetch(url, req);
    ASSERT_TRUE(res) << res.error().describe();
    ASSERT_EQ(res->status, 202u) << res->body;
    auto ack = wire::decode<wire::ReportAck>(res->body, wire::Format::binary);
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->duplicate, i == 1);
  }
  const std::string after = metrics();
  EXPECT_EQ(metric_value(after, "surveyor_samples_total"), samples_before + 3);
  EXPECT_EQ(metric_value(after, "surveyor_reports_total{outcome=\"duplicate\"}"), 1u);

  // Killed without warning right after the 202s, the collector has lost nothing.
  s->collector->stop(SIGKILL, 5s);
  s.reset();
  Stack again(store);
  auto list = again.get("/api/v1/cis?type=host");
  ASSERT_TRUE(list);
  const std::string ci_id(list->at("items").as_array()[0].as_object().at("id").as_string());
  auto ci = again.get("/api/v1/cis/" + ci_id);
  ASSERT_TRUE(ci);
  bool found = false;
  for (const auto& smp : ci->at("latest_samples").as_array()) {
    const auto& o = smp.as_object();
    if (o.at("metric").as_string() == "e2e.replay") {
      found = true;
      EXPECT_EQ(o.at("value").as_double(), 3.5);
    }
  }
  EXPECT_TRUE(found) << json::serialize(*ci);
}

// The collector goes away for several report intervals and comes back: the
// agent keeps sampling into its spool, and afterwards every sample of the
// whole period is there, exactly once.
TEST(EndToEnd, SpooledReportsArriveAfterACollectorOutage) {
  Stack s("", test::free_port());
  const std::uint16_t port = s.port;
  s.start_agent();
  std::optional<json::object> ci;
  ASSERT_TRUE(test::eventually([&] { return (ci = s.host_ci()).has_value(); }, 30s)) << s.agent->output();
  const std::string ci_id(ci->at("id").as_string());
  // The points of the one system.uptime series, or nothing.
  const auto uptime = [&]() -> std::optional<json::object> {
    auto r = s.get("/api/v1/series?ci=" + ci_id + "&metric=system.uptime&from=0&limit=100000");
    if (!r || r->at("series").as_array().size() != 1) return std::nullopt;
    return r->at("series").as_array()[0].as_object();
  };
  auto before = uptime();
  ASSERT_TRUE(before);
  const std::int64_t first = before->at("points").as_array().front().as_array()[0].as_int64();

  ASSERT_TRUE(s.collector->stop(SIGTERM, 10s));
  const std::int64_t outage_start = now_ms();
  // Down until the agent holds three reports it could not deliver.
  ASSERT_TRUE(test::eventually([&] { return spool_entries(s.dir.file("agent-state/spool")).size() >= 3; }, 60s))
      << s.agent->output();
  const std::int64_t outage_end = now_ms();
  s.start_collector(port);
  ASSERT_EQ(s.port, port);
  // Everything sampled until 2 s after the restart must come in.
  const std::int64_t until = now_ms() + 2'000;
  std::optional<json::object> after;
  ASSERT_TRUE(test::eventually(
      [&] {
        after = uptime();
        if (!after || after->at("points").as_array().empty()) return false;
        return after->at("points").as_array().back().as_array()[0].as_int64() >= until;
      },
      40s))
      << s.agent->output();
  const auto& points = after->at("points").as_array();
  std::int64_t prev = 0, in_outage = 0;
  for (const auto& p : points) {
    const std::int64_t t = p.as_array()[0].as_int64();
    if (t < first) continue;
    if (prev != 0) {
      EXPECT_EQ(t - prev, 1000) << "a gap or a repeat at " << core::format_rfc3339(t);
    }
    if (t > outage_start && t < outage_end) ++in_outage;
    prev = t;
  }
  EXPECT_GE(in_outage, 4) << "samples taken while the collector was down";
  EXPECT_TRUE(test::eventually([&] { return spool_entries(s.dir.file("agent-state/spool")).empty(); }, 30s))
      << "the spool drains once everything is acknowledged";
  // The agent says it lost nothing.
  auto latest = s.get("/api/v1/cis/" + ci_id);
  ASSERT_TRUE(latest);
  for (const auto& smp : latest->at("latest_samples").as_array()) {
    const auto& o = smp.as_object();
    if (o.at("metric").as_string() == "surveyor.agent.reports.dropped") {
      EXPECT_EQ(o.at("value").as_double(), 0.0);
    }
  }
}

// SIGHUP reads the configuration again: a check added to the file starts
// reporting; a broken file is refused and the agent goes on as it was.
TEST(EndToEnd, SighupReloadsTheAgentsConfiguration) {
  Stack s;
  s.start_agent();
  std::optional<json::object> ci;
  ASSERT_TRUE(test::eventually([&] { return (ci = s.host_ci()).has_value(); }, 30s)) << s.agent->output();
  const std::string ci_id(ci->at("id").as_string());
  auto has_check = [&] {
    auto series = s.get("/api/v1/cis/" + ci_id + "/series");
    if (!series) return false;
    for (const auto& x : series->at("items").as_array())
      if (x.as_object().at("metric").as_string() == "surveyor.check.status") return true;
    return false;
  };
  EXPECT_FALSE(has_check());

  std::ofstream(s.dir.file("agent.toml"), std::ios::app) << "[[check]]\nname = \"collector\"\ntype = \"tcp\"\n"
                                                         << "target = \"127.0.0.1:" << s.port << "\"\ninterval = \"1s\"\n";
  ::kill(s.agent->pid(), SIGHUP);
  ASSERT_TRUE(test::eventually(has_check, 20s)) << s.agent->output();

  // A broken file is refused: the agent goes on reporting with the running
  // configuration, and says at the collector that a reload failed.
  std::ofstream(s.dir.file("agent.toml"), std::ios::app) << "this is = not [toml\n";
  ::kill(s.agent->pid(), SIGHUP);
  const auto reload_failures = [&]() -> std::optional<double> {
    auto latest = s.get("/api/v1/cis/" + ci_id);
    if (!latest) return std::nullopt;
    for (const auto& smp : latest->at("latest_samples").as_array())
      if (smp.as_object().at("metric").as_string() == "surveyor.agent.config.reload_failures")
        return smp.as_object().at("value").as_double();
    return std::nullopt;
  };
  ASSERT_TRUE(test::eventually([&] { return reload_failures() == 1.0; }, 20s)) << s.agent->output();
  EXPECT_TRUE(s.agent->running());
  // So is a file that parses but holds a check that cannot run.
  std::string good = test::read_file(s.dir.file("agent.toml"));
  good = good.substr(0, good.find("this is = not [toml"));
  std::ofstream(s.dir.file("agent.toml")) << good << "[[check]]\nname = \"bad\"\ntype = \"tcp\"\ntarget = \"nohostport\"\n";
  ::kill(s.agent->pid(), SIGHUP);
  ASSERT_TRUE(test::eventually([&] { return reload_failures() == 2.0; }, 20s)) << s.agent->output();
  EXPECT_TRUE(s.agent->running());
  EXPECT_TRUE(has_check()) << "the check from the running configuration goes on";
  auto status = s.agent->stop(SIGTERM, 10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << s.agent->output();
}

// The administration commands on a running collector's store: an operator's
// token made, listed, used and revoked; a one-use enrollment token an agent
// enrolls with, then refused to another; the agent revoked, and its reports
// refused while it keeps them.
TEST(EndToEnd, TokensEnrollmentTokensAndRevocationFromTheCommandLine) {
  Stack s;
  const std::string admin = admin_command();
  const std::string on = " --store " + s.store_url;
  std::string viewer = run(admin + "token create --name vera --role viewer --expires 90d" + on);
  while (!viewer.empty() && viewer.back() == '\n') viewer.pop_back();
  EXPECT_EQ(run(cli_as(viewer, s.url) + "--json cis").rfind("{", 0), 0u) << "a viewer reads";
  const std::string listed = run(admin + "token list" + on);
  EXPECT_NE(listed.find("vera"), std::string::npos) << listed;
  EXPECT_NE(listed.find("viewer"), std::string::npos) << listed;
  EXPECT_NE(std::system((admin + "token create --name vera --role admin" + on + " >/dev/null 2>&1").c_str()), 0)
      << "a name is never given twice";
  EXPECT_NE(std::system((admin + "token create --name x --role root" + on + " >/dev/null 2>&1").c_str()), 0);
  EXPECT_NE(run(admin + "token revoke vera" + on).find("revoked"), std::string::npos);
  EXPECT_EQ(fetch_body(s.port, "/api/v1/cis", viewer).find("\"unauthenticated\""), 9u) << "revoked: refused";

  std::string grant = run(admin + "enrollment create --uses 1 --expires 1h" + on + " 2>/dev/null");
  while (!grant.empty() && grant.back() == '\n') grant.pop_back();
  ASSERT_EQ(grant.rfind("sve_", 0), 0u) << grant;
  s.start_agent(grant);
  std::optional<json::object> ci;
  ASSERT_TRUE(test::eventually([&] { return (ci = s.host_ci()).has_value(); }, 30s)) << s.agent->output();
  const std::string grants = run(admin + "enrollment list" + on);
  EXPECT_NE(grants.find("1/1"), std::string::npos) << grants;
  EXPECT_NE(grants.find("used up"), std::string::npos) << grants;
  // The same token again, by someone else: beyond its uses.
  http::Request again;
  again.method = "POST";
  again.target = "/api/v1/enroll";
  again.headers = {{"Content-Type", "application/json"}};
  again.body = R"({"token":")" + grant + R"(","host_id":"another-host","hostname":"intruder"})";
  auto refused = http::fetch(http::Url{"http", "127.0.0.1", s.port, ""}, again);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401u) << refused->body;

  // Revoked: the agent's reports are refused (401) and it keeps them.
  const std::string agent_id = run("sed -n 's/^agent_id=//p' " + s.dir.file("agent-state/identity"));
  ASSERT_EQ(agent_id.rfind("agt-", 0), 0u) << agent_id;
  EXPECT_NE(run(admin + "agent revoke " + agent_id + on).find("revoked agent"), std::string::npos);
  const std::string refused_reports = R"(surveyor_http_requests_total{method="POST",route="reports",code="401"})";
  ASSERT_TRUE(test::eventually(
      [&] { return metric_value(fetch_body(s.port, "/metrics", s.token), refused_reports) >= 1; }, 30s))
      << s.agent->output();
  ASSERT_TRUE(test::eventually([&] { return !spool_entries(s.dir.file("agent-state/spool")).empty(); }, 30s))
      << "the refused reports stay in the agent's spool";
}

// Audit evidence from the command line: a closed month's report downloaded
// as JSON verifies against the collector's frozen copy; edited, it does not;
// edited with its digest recomputed (a forgery), the collector's copy tells.
TEST(EndToEnd, TheCommandLineFetchesAndVerifiesAuditEvidence) {
  Stack s;
  const std::string cli = cli_as(s.token, s.url);
  const std::string file = s.dir.file("evidence.json");
  EXPECT_NE(run(cli + "evidence 8.2.6 --format json -o " + file).find("wrote " + file), std::string::npos);
  const std::string verified = run(cli + "evidence verify " + file + " 2>&1; echo exit=$?");
  EXPECT_NE(verified.find("verified: the collector holds this very report"), std::string::npos) << verified;
  EXPECT_NE(verified.find("exit=0"), std::string::npos) << verified;

  const std::string original = run("cat " + file);
  std::string edited = original;
  const auto at = edited.find("\"value\":0");
  ASSERT_NE(at, std::string::npos) << original;
  edited.replace(at, 9, "\"value\":7");
  std::ofstream(file, std::ios::trunc) << edited;
  const std::string altered = run(cli + "evidence verify " + file + " 2>&1; echo exit=$?");
  EXPECT_NE(altered.find("ALTERED"), std::string::npos) << altered;
  EXPECT_NE(altered.find("exit=1"), std::string::npos) << altered;

  json::object forged = json::parse(edited).as_object();
  forged.erase("digest");
  forged["digest"] = core::sha256_hex(json::serialize(forged));
  std::ofstream(file, std::ios::trunc) << json::serialize(forged);
  const std::string different = run(cli + "evidence verify " + file + " 2>&1; echo exit=$?");
  EXPECT_NE(different.find("matches the content"), std::string::npos) << different;
  EXPECT_NE(different.find("DIFFERENT: the collector's frozen report has digest " +
                           std::string(json::parse(original).at("digest").as_string())),
            std::string::npos)
      << different;
  EXPECT_NE(different.find("exit=1"), std::string::npos) << different;

  EXPECT_EQ(run(cli + "evidence 8.2.6 --format csv --table cis_by_type").rfind("type,active,missing,retired,total", 0), 0u);
  for (const char* clause : {"8.3.3", "8.4.3", "8.5.1", "9.1"}) {
    const std::string page = run(cli + "evidence " + clause + " 2>&1; echo exit=$?");
    EXPECT_NE(page.find(std::string("clause ") + clause + ":"), std::string::npos) << page;
    EXPECT_NE(page.find("exit=0"), std::string::npos) << page;
  }
  const std::string unknown = run(cli + "evidence 4.1 2>&1; echo exit=$?");
  EXPECT_NE(unknown.find("no report of clause 4.1"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("exit=1"), std::string::npos) << unknown;
}

// The audit trail from the command line: it verifies and a checkpoint is
// saved; an entry edited in the SQLite file afterwards is named as where the
// chain breaks; entries removed from the end pass on their own but not
// against the checkpoint.
TEST(EndToEnd, TheCommandLineVerifiesTheAuditTrailAndCatchesTampering) {
  Stack s;
  auto send = [&](const std::string& method, const std::string& target, const std::string& body) {
    http::Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.headers = {{"Authorization", "Bearer " + s.token}, {"Content-Type", "application/json"}};
    auto res = http::fetch(http::Url{"http", "127.0.0.1", s.port, ""}, r);
    EXPECT_TRUE(res);
    return res ? res->body : std::string();
  };
  const auto created = json::parse(send("POST", "/api/v1/cis", R"({"type":"application","name":"billing","origin":"user"})"));
  const std::string id(created.at("id").as_string());
  for (const char* tier : {"1", "2", "3"})
    send("PATCH", "/api/v1/cis/" + id, std::string(R"({"attributes":{"tier":)") + tier + R"(},"origin":"user"})");
  const std::string cli = cli_as(s.token, s.url);
  const std::string checkpoint = s.dir.file("audit-checkpoint.json");
  const std::string verified = run(cli + "audit verify --save " + checkpoint);
  EXPECT_NE(verified.find("verified: 4 entries in 1 chain(s)"), std::string::npos) << verified;
  EXPECT_NE(verified.find("checkpoint saved"), std::string::npos) << verified;
  EXPECT_EQ(std::system((cli + "audit verify --ci billing --checkpoint " + checkpoint + " >/dev/null").c_str()), 0);

  auto tamper = [&](const std::string& statement) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(s.dir.file("surveyor.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  };
  tamper("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; "
         "UPDATE audit SET new_value = '9' WHERE ci_id = '" + id + "' AND seq = 3");
  const std::string broken = run(cli + "audit verify 2>&1; echo exit=$?");
  EXPECT_NE(broken.find("BROKEN: CI " + id + ", entry 3: its content does not match its hash"), std::string::npos)
      << broken;
  EXPECT_NE(broken.find("exit=1"), std::string::npos) << broken;

  tamper("DELETE FROM audit WHERE ci_id = '" + id + "' AND seq >= 3");
  EXPECT_NE(run(cli + "audit verify").find("verified: 2 entries"), std::string::npos);
  const std::string cut = run(cli + "audit verify --checkpoint " + checkpoint + " 2>&1; echo exit=$?");
  EXPECT_NE(cut.find("the chain ends at entry 2 but the checkpoint holds entry 4"), std::string::npos) << cut;
  EXPECT_NE(cut.find("exit=1"), std::string::npos) << cut;
  // A checkpoint edited to match is refused by its digest.
  std::string text = run("cat " + checkpoint);
  const auto seq4 = text.find("\"seq\":4");
  ASSERT_NE(seq4, std::string::npos) << text;
  text.replace(seq4, 7, "\"seq\":2");
  std::ofstream(checkpoint) << text;
  const std::string altered = run(cli + "audit verify --checkpoint " + checkpoint + " 2>&1; echo exit=$?");
  EXPECT_NE(altered.find("the checkpoint was altered"), std::string::npos) << altered;
  EXPECT_NE(altered.find("exit=1"), std::string::npos) << altered;
}

// Agent, command line and collector over HTTPS with certificates from
// `certs init`: the agent enrolls and reports; given another CA, or a pin of
// another key, it sends nothing and keeps its reports in the spool until it
// trusts the collector again.
TEST(EndToEnd, AgentAndCommandLineOverHttpsRefuseACollectorTheyDoNotTrust) {
  test::TempDir dir;
  const std::string init = run(admin_command() + "certs init --dir " + dir.file("certs") + " --host 127.0.0.1");
  const std::string other = run(admin_command() + "certs init --dir " + dir.file("other") + " --host 127.0.0.1");
  auto pin_of = [](const std::string& out) { return out.substr(out.rfind(": ") + 2, 64); };
  const std::string pin = pin_of(init), other_pin = pin_of(other);
  ASSERT_EQ(pin.size(), 64u) << init;
  ASSERT_NE(pin, other_pin);
  const std::string store = "sqlite:" + dir.file("surveyor.db");
  const std::string token = admin_token(store);
  Process collector({test::binary("surveyor-collector"), "--listen", "127.0.0.1:0", "--store", store, "--rate-limit", "0",
                     "--tls-cert",
                     dir.file("certs/server.pem"), "--tls-key", dir.file("certs/server-key.pem"),
                     "--enrollment-token", "e2e-token"},
                    dir.path(), kEnv);
  const std::uint16_t port = listening_port(collector, "https");
  ASSERT_NE(port, 0) << collector.output();
  const std::string url = "https://127.0.0.1:" + std::to_string(port);
  const std::string ca = dir.file("certs/ca.pem");
  auto get = [&](const std::string& target) -> std::optional<json::value> {
    http::Request r;
    r.target = target;
    r.headers.emplace_back("Authorization", "Bearer " + token);
    http::ClientOptions o;
    o.ca_file = ca;
    auto res = http::fetch(http::Url{"https", "127.0.0.1", port, ""}, r, o);
    if (!res || res->status != 200) return std::nullopt;
    return json::parse(res->body);
  };
  std::unique_ptr<Process> agent;
  auto start_agent = [&](const std::string& trust) {
    std::ofstream(dir.file("agent.toml"), std::ios::trunc)
        << "collector_url = \"" << url << "\"\nenrollment_token = \"e2e-token\"\n" << trust
        << "state_dir = \"" << dir.file("agent-state") << "\"\nsample_interval = \"1s\"\nreport_interval = \"1s\"\n";
    agent = std::make_unique<Process>(
        std::vector<std::string>{test::binary("surveyor-agent"), "--config", dir.file("agent.toml")}, dir.path(), kEnv);
  };
  auto reports_stored = [&] {
    auto v = get("/api/v1/cis?type=host");
    return v && !v->at("items").as_array().empty();
  };

  start_agent("ca_file = \"" + ca + "\"\n");
  ASSERT_TRUE(test::eventually(reports_stored, 30s)) << collector.output() << agent->output();
  const std::string hostname = run("cat /proc/sys/kernel/hostname");
  std::string shown;
  EXPECT_TRUE(test::eventually(
      [&] {
        shown = run(cli_as(token, url) + "--ca-file " + ca + " ci show " + hostname);
        return shown.find("cpu.cores") != std::string::npos;
      },
      30s))
      << "the host's inventory, read over https: " << shown;
  const std::string untrusted = run(cli_as(token, url) + "ci show " + hostname + " 2>&1");
  EXPECT_NE(untrusted.find("TLS"), std::string::npos) << "the system's CAs do not know the quick-start CA: " << untrusted;
  ASSERT_TRUE(agent->stop(SIGTERM, 10s));

  // Another CA, then another key's pin: nothing is sent, the reports wait.
  for (const std::string& trust : {"ca_file = \"" + dir.file("other/ca.pem") + "\"\n",
                                   "pin_sha256 = \"" + other_pin + "\"\n"}) {
    SCOPED_TRACE(trust);
    start_agent(trust);
    ASSERT_TRUE(test::eventually([&] { return spool_entries(dir.file("agent-state/spool")).size() >= 2; }, 30s))
        << agent->output();
    EXPECT_TRUE(test::eventually([&] { return agent->output().find("TLS failed") != std::string::npos; }, 30s))
        << agent->output();
    ASSERT_TRUE(agent->stop(SIGTERM, 10s));
  }
  // Trusted again by the right pin alone: the spool drains.
  start_agent("pin_sha256 = \"" + pin + "\"\n");
  ASSERT_TRUE(test::eventually([&] { return spool_entries(dir.file("agent-state/spool")).empty(); }, 30s))
      << agent->output();
  ASSERT_TRUE(agent->stop(SIGTERM, 10s));

  // The agent's key rotated over the same link: the new one is saved and works.
  const std::string key_of = "sed -n 's/^agent_key=//p' " + dir.file("agent-state/identity");
  const std::string old_key = run(key_of);
  Process rotate({test::binary("surveyor-agent"), "--config", dir.file("agent.toml"), "--rotate-key"}, dir.path(), kEnv);
  const auto rotated = rotate.stop(0, 20s);
  ASSERT_TRUE(rotated);
  EXPECT_TRUE(WIFEXITED(*rotated) && WEXITSTATUS(*rotated) == 0) << rotate.output();
  EXPECT_NE(run(key_of), old_key);
  start_agent("pin_sha256 = \"" + pin + "\"\n");
  const std::string stored = R"(surveyor_reports_total{outcome="stored"})";
  auto stored_count = [&] {
    http::Request r;
    r.target = "/metrics";
    r.headers.emplace_back("Authorization", "Bearer " + token);
    http::ClientOptions o;
    o.ca_file = ca;
    auto res = http::fetch(http::Url{"https", "127.0.0.1", port, ""}, r, o);
    return res ? metric_value(res->body, stored) : 0;
  };
  const std::uint64_t before = stored_count();
  ASSERT_TRUE(test::eventually([&] { return stored_count() > before; }, 30s)) << agent->output();
  ASSERT_TRUE(agent->stop(SIGTERM, 10s));
}

// The collector's certificate rotated: new files in place, SIGHUP, and new
// connections get the new certificate; a bad pair keeps the one in use.
TEST(EndToEnd, SighupLoadsARotatedCertificate) {
  test::TempDir dir;
  for (const char* d : {"a", "b"})
    ASSERT_FALSE(run(admin_command() + "certs init --dir " + dir.file(d) + " --host 127.0.0.1").empty());
  std::filesystem::create_directories(dir.file("live"));
  auto install = [&](const std::string& from) {
    for (const char* f : {"server.pem", "server-key.pem"})
      std::filesystem::copy_file(dir.file(from + "/" + f), dir.file(std::string("live/") + f),
                                 std::filesystem::copy_options::overwrite_existing);
  };
  install("a");
  Process collector({test::binary("surveyor-collector"), "--listen", "127.0.0.1:0", "--store",
                     "sqlite:" + dir.file("s.db"), "--tls-cert", dir.file("live/server.pem"), "--tls-key",
                     dir.file("live/server-key.pem")},
                    dir.path(), kEnv);
  const std::uint16_t port = listening_port(collector, "https");
  ASSERT_NE(port, 0) << collector.output();
  auto healthy_with = [&](const std::string& ca) {
    http::Request r;
    r.target = "/healthz";
    http::ClientOptions o;
    o.ca_file = dir.file(ca + "/ca.pem");
    auto res = http::fetch(http::Url{"https", "127.0.0.1", port, ""}, r, o);
    return res && res->status == 200;
  };
  EXPECT_TRUE(healthy_with("a"));
  EXPECT_FALSE(healthy_with("b"));
  install("b");
  ::kill(collector.pid(), SIGHUP);
  ASSERT_TRUE(test::eventually([&] { return healthy_with("b"); }, 15s)) << collector.output();
  EXPECT_FALSE(healthy_with("a"));
  // A key that is not the certificate's: refused, the rotated one stays.
  std::filesystem::copy_file(dir.file("a/server-key.pem"), dir.file("live/server-key.pem"),
                             std::filesystem::copy_options::overwrite_existing);
  ::kill(collector.pid(), SIGHUP);
  ASSERT_TRUE(test::eventually(
      [&] { return collector.output().find("the certificate in use stays") != std::string::npos; }, 15s))
      << collector.output();
  EXPECT_TRUE(healthy_with("b"));
}

// Plain http to another host would carry the agent's key and the enrollment
// token in clear text: the agent refuses to start unless told it may.
TEST(EndToEnd, AnAgentRefusesPlainHttpToAnotherHost) {
  test::TempDir dir;
  std::ofstream(dir.file("agent.toml")) << "collector_url = \"http://192.0.2.1:8080\"\nenrollment_token = \"t\"\n"
                                        << "state_dir = \"" << dir.file("state") << "\"\n";
  Process agent({test::binary("surveyor-agent"), "--config", dir.file("agent.toml")}, dir.path(), kEnv);
  const auto st = agent.stop(0, 20s);  // waits for it to exit by itself
  ASSERT_TRUE(st) << agent.output();
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 2) << agent.output();
  EXPECT_NE(agent.output().find("clear text"), std::string::npos) << agent.output();
}

// A second agent on the same machine (its own state, no key of the first)
// does not take the host's CI: it gets one of its own, flagged, until
// `surveyor-collector agent approve` hands it the host.
TEST(EndToEnd, AConflictingEnrollmentWaitsForApproval) {
  Stack s;
  s.start_agent();
  ASSERT_TRUE(test::eventually([&] { return s.host_ci().has_value(); }, 30s)) << s.agent->output();
  const std::string host = std::string(s.host_ci()->at("id").as_string());
  std::ofstream(s.dir.file("second.toml")) << "collector_url = \"" << s.url << "\"\nenrollment_token = \"e2e-token\"\n"
                                           << "state_dir = \"" << s.dir.file("second-state") << "\"\n"
                                           << "sample_interval = \"1s\"\nreport_interval = \"2s\"\n";
  Process second({test::binary("surveyor-agent"), "--config", s.dir.file("second.toml")}, s.dir.path(), kEnv);
  std::string second_id, conflict_ci;
  ASSERT_TRUE(test::eventually(
      [&] {
        second_id = run("sed -n 's/^agent_id=//p' " + s.dir.file("second-state/identity") + " 2>/dev/null");
        conflict_ci = run("sed -n 's/^ci_id=//p' " + s.dir.file("second-state/identity") + " 2>/dev/null");
        return !second_id.empty();
      },
      30s))
      << second.output();
  ASSERT_NE(conflict_ci, host);
  auto flagged = s.get("/api/v1/cis/" + conflict_ci);
  ASSERT_TRUE(flagged);
  EXPECT_EQ(flagged->at("attributes").at("identity.conflict_with").as_string(), host);
  const std::string approved = run(admin_command() + "agent approve " + second_id + " --store " + s.store_url);
  EXPECT_NE(approved.find("now reports for " + host), std::string::npos) << approved;
  ASSERT_TRUE(test::eventually(
      [&] {
        auto ci = s.get("/api/v1/cis/" + host);
        return ci && ci->at("attributes").as_object().contains("agent.id") &&
               ci->at("attributes").at("agent.id").as_string() == second_id;
      },
      30s))
      << "the host's CI hears from the approved agent: " << second.output();
  ASSERT_TRUE(second.stop(SIGTERM, 10s));
}

TEST(EndToEnd, AgentWithAWrongTokenStopsWithExitCode2) {
  Stack s;
  s.start_agent("not-the-token");
  ASSERT_TRUE(test::eventually([&] { return !s.agent->running(); }, 20s)) << s.agent->output();
  auto st = s.agent->stop(SIGKILL, 1s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 2) << s.agent->output();
  const std::string metrics = fetch_body(s.port, "/metrics", s.token);
  EXPECT_EQ(metric_value(metrics, R"(surveyor_http_requests_total{method="POST",route="enroll",code="401"})"), 1u)
      << metrics;
  EXPECT_EQ(metric_value(metrics, "surveyor_enrollments_total"), 0u) << metrics;
}

// Enrollment by configuration management: `surveyor-agent enroll` enrolls
// once, records the collector in agent.d/, and exits 0; run again it
// changes nothing; the agent then starts from agent.toml alone. A refused
// token exits 3, an unreachable collector 1, each with a one-line reason.
TEST(EndToEnd, AgentEnrollsOnceFromTheCommandLine) {
  Stack s;
  const std::string conf = s.dir.file("agent.toml");
  std::ofstream(conf) << "state_dir = \"" << s.dir.file("agent-state") << "\"\n"
                      << "sample_interval = \"1s\"\nreport_interval = \"2s\"\n";
  std::ofstream(s.dir.file("token")) << "e2e-token\n";
  std::filesystem::permissions(s.dir.file("token"), std::filesystem::perms::owner_read);
  std::ofstream(s.dir.file("wrong")) << "not-the-token\n";
  std::filesystem::permissions(s.dir.file("wrong"), std::filesystem::perms::owner_read);
  // The subcommand form, `enroll --collector URL --token-file F`, as the
  // flag form, `--enroll --collector-url URL --enrollment-token-file F`.
  const auto enroll = [&](const std::string& url, const std::string& token_file, const std::string& state_dir,
                          bool as_command = true) {
    Process p(as_command ? std::vector<std::string>{test::binary("surveyor-agent"), "enroll", "--collector", url,
                                                    "--token-file", token_file, "--config", conf, "--state-dir",
                                                    state_dir}
                         : std::vector<std::string>{test::binary("surveyor-agent"), "--config", conf, "--enroll",
                                                    "--collector-url", url, "--enrollment-token-file", token_file,
                                                    "--state-dir", state_dir},
              s.dir.path(), kEnv);
    const auto st = p.stop(0, 60s);  // waits for it to exit by itself
    return std::make_pair(st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, p.output());
  };
  const std::string state_dir = s.dir.file("agent-state");
  const auto [code, out] = enroll(s.url, s.dir.file("token"), state_dir);
  ASSERT_EQ(code, 0) << out;
  const std::string identity = test::read_file(state_dir + "/identity");
  ASSERT_NE(identity.find("agent_id="), std::string::npos) << identity;
  const std::string drop_in = test::read_file(s.dir.file("agent.d/50-enrollment.toml"));
  EXPECT_NE(drop_in.find("collector_url = '" + s.url + "'"), std::string::npos) << drop_in;
  EXPECT_EQ(drop_in.find("enrollment_token"), std::string::npos) << "the token is needed no more: " << drop_in;

  const auto [again, again_out] = enroll(s.url, s.dir.file("token"), state_dir, false);
  EXPECT_EQ(again, 0) << again_out;
  EXPECT_NE(again_out.find("already enrolled"), std::string::npos) << again_out;
  EXPECT_EQ(test::read_file(state_dir + "/identity"), identity) << "a second run changes nothing";
  const std::string metrics = fetch_body(s.port, "/metrics", s.token);
  EXPECT_EQ(metric_value(metrics, "surveyor_enrollments_total"), 1u) << metrics;

  const auto [refused, refused_out] = enroll(s.url, s.dir.file("wrong"), s.dir.file("other-state"));
  EXPECT_EQ(refused, 3) << refused_out;
  EXPECT_NE(refused_out.find("refused the enrollment token"), std::string::npos) << refused_out;
  const std::string nowhere = "http://127.0.0.1:" + std::to_string(test::free_port());
  const auto [unreachable, unreachable_out] =
      enroll(nowhere, s.dir.file("token"), s.dir.file("third-state"), false);
  EXPECT_EQ(unreachable, 1) << unreachable_out;
  EXPECT_NE(unreachable_out.find("cannot reach the collector"), std::string::npos) << unreachable_out;
  for (const std::string& o : {refused_out, unreachable_out}) {
    std::size_t errors = 0;
    for (std::size_t at = o.find(" error ["); at != std::string::npos; at = o.find(" error [", at + 1)) ++errors;
    EXPECT_EQ(errors, 1u) << o;
  }

  // The agent started from agent.toml and its drop-ins reports as the
  // identity --enroll made.
  s.agent = std::make_unique<Process>(std::vector<std::string>{test::binary("surveyor-agent"), "--config", conf},
                                      s.dir.path(), kEnv);
  std::optional<json::object> ci;
  ASSERT_TRUE(test::eventually([&] { return (ci = s.host_ci()).has_value(); }, 30s)) << s.agent->output();
  EXPECT_NE(identity.find("ci_id=" + std::string(ci->at("id").as_string())), std::string::npos) << identity;
}

}  // namespace
}  // namespace surveyor::e2e
