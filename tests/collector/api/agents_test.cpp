// SPDX-License-Identifier: Apache-2.0
// Enrollment and reports through the API: what is stored, acknowledged or refused.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness.hpp"

namespace surveyor::collector {
namespace {

TEST(Api, EnrollmentCreatesTheHostCi) {
  Harness h;
  h.enroll();
  EXPECT_EQ(h.ci_id, ingest::host_ci_id(test::sample_report().inventory->host.data->host_id));
  auto res = h.call("GET", "/api/v1/cis/" + h.ci_id);
  ASSERT_EQ(res.status, 200u) << res.body;
  auto v = json::parse(res.body).as_object();
  EXPECT_EQ(v.at("name").as_string(), "web01");
  EXPECT_EQ(v.at("type").as_string(), "host");
  EXPECT_EQ(v.at("attributes").as_object().at("host.id").as_string(), "4c4c4544003610518053b7c04f4e4d32");
}

TEST(Api, EnrollmentRefusals) {
  Harness h;
  const std::string ct = std::string(wire::kJsonContentType);
  auto bad_token = h.call("POST", "/api/v1/enroll", R"({"token":"nope","host_id":"abc","hostname":"h"})",
                          {{"Content-Type", ct}});
  EXPECT_EQ(bad_token.status, 401u);
  EXPECT_EQ(error_code(bad_token), "bad_enrollment_token");
  auto garbage = h.call("POST", "/api/v1/enroll", "{not json", {{"Content-Type", ct}});
  EXPECT_EQ(garbage.status, 400u);
  EXPECT_EQ(error_code(garbage), "bad_enrollment");
  auto media = h.call("POST", "/api/v1/enroll", "x", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(media.status, 415u);
  EXPECT_EQ(error_code(media), "unsupported_media_type");
  auto json_ok = h.call("POST", "/api/v1/enroll", R"({"token":"secret-token","host_id":"abc","hostname":"h"})",
                        {{"Content-Type", ct}});
  EXPECT_EQ(json_ok.status, 201u) << json_ok.body;
  EXPECT_NE(json_ok.body.find("\"agent_key\""), std::string::npos);
}

// Enrollment tokens made by `surveyor-collector enrollment create`: each
// enrollment spends a use; a used-up, expired or revoked one is refused.
TEST(Api, EnrollmentGrantsAreSpentAndRefusedWhenUsedUpExpiredOrRevoked) {
  Harness h;
  const std::string ct = std::string(wire::kJsonContentType);
  const std::int64_t now = core::to_unix_ms(h.clock.now());
  ASSERT_TRUE(h.stores.credentials->add_grant({"enr-2", core::sha256_hex("sve_two"), 2, 0, now, now + 60'000, 0}));
  ASSERT_TRUE(h.stores.credentials->add_grant({"enr-r", core::sha256_hex("sve_rev"), 5, 0, now, 0, 0}));
  auto enroll = [&](const std::string& token, const std::string& host) {
    return h.call("POST", "/api/v1/enroll", R"({"token":")" + token + R"(","host_id":")" + host + R"(","hostname":"h"})",
                  {{"Content-Type", ct}});
  };
  EXPECT_EQ(enroll("sve_two", "host-a").status, 201u);
  EXPECT_EQ(enroll("sve_two", "host-b").status, 201u);
  auto third = enroll("sve_two", "host-c");
  EXPECT_EQ(third.status, 401u);
  EXPECT_NE(third.body.find("as many times as it allows"), std::string::npos) << third.body;
  ASSERT_TRUE(*h.stores.credentials->revoke_grant("enr-r", now));
  auto revoked = enroll("sve_rev", "host-d");
  EXPECT_EQ(revoked.status, 401u);
  EXPECT_NE(revoked.body.find("revoked"), std::string::npos) << revoked.body;
  ASSERT_TRUE(h.stores.credentials->add_grant({"enr-x", core::sha256_hex("sve_exp"), 5, 0, now, now + 60'000, 0}));
  h.clock.advance(std::chrono::minutes(1));
  auto expired = enroll("sve_exp", "host-e");
  EXPECT_EQ(expired.status, 401u);
  EXPECT_NE(expired.body.find("expired"), std::string::npos) << expired.body;
  EXPECT_EQ(h.stores.credentials->list_grants()->front().used, 2) << "refusals spend nothing";
  EXPECT_EQ(enroll("secret-token", "host-f").status, 201u) << "the fleet-wide token still works when configured";
}

// `surveyor-collector agent revoke`: the agent's reports are refused from
// then on, with a message that says so.
TEST(Api, ARevokedAgentsReportsAreRefused) {
  Harness h;
  const std::string auth = h.enroll();
  EXPECT_EQ(h.post_report(h.report(1), auth).status, 202u);
  ASSERT_TRUE(*h.stores.agents->revoke_agent(h.agent_id));
  auto refused = h.post_report(h.report(2), auth);
  EXPECT_EQ(refused.status, 401u);
  EXPECT_NE(refused.body.find("was revoked"), std::string::npos) << refused.body;
}

// The intake remembers an agent's key between its reports; a revocation by
// another process on the same database (the command line's `agent revoke`)
// still refuses the very next report, and stores nothing of it. So does a
// rotation of the key the intake remembered.
TEST(Api, AnAgentRevokedElsewhereIsRefusedAtItsNextReport) {
  Harness h;
  const std::string auth = h.enroll();
  ASSERT_EQ(h.post_report(h.report(1), auth).status, 202u);
  ASSERT_EQ(h.post_report(h.report(2), auth).status, 202u);  // the agent is remembered
  {
    auto other = backends::open_stores("sqlite:" + h.dir.file("s.db"));
    ASSERT_TRUE(other) << other.error().describe();
    ASSERT_TRUE(*other->agents->revoke_agent(h.agent_id));
  }
  auto refused = h.post_report(h.report(3), auth);
  EXPECT_EQ(refused.status, 401u);
  EXPECT_NE(refused.body.find("was revoked"), std::string::npos) << refused.body;
  auto agent = h.stores.agents->find_agent(h.agent_id);
  ASSERT_TRUE(agent && *agent);
  EXPECT_EQ((*agent)->last_sequence, 2u) << "nothing of the third report was applied";

  Harness r;
  const std::string old_auth = r.enroll();
  ASSERT_EQ(r.post_report(r.report(1), old_auth).status, 202u);
  auto rotated = r.call("POST", "/api/v1/agents/rotate-key", "{}",
                        {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + old_auth}});
  ASSERT_EQ(rotated.status, 200u) << rotated.body;
  EXPECT_EQ(r.post_report(r.report(2), old_auth).status, 401u) << "the remembered key was rotated";
  const std::string new_auth =
      r.agent_id + ":" + std::string(json::parse(rotated.body).as_object().at("agent_key").as_string());
  EXPECT_EQ(r.post_report(r.report(2), new_auth).status, 202u);
}

// An agent replaces its key: the old one stops working at once.
TEST(Api, AnAgentRotatesItsKey) {
  Harness h;
  const std::string old_auth = h.enroll();
  auto rotate = [&](const std::string& auth) {
    return h.call("POST", "/api/v1/agents/rotate-key", "{}",
                  {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + auth}});
  };
  auto res = rotate(old_auth);
  ASSERT_EQ(res.status, 200u) << res.body;
  const json::object o = json::parse(res.body).as_object();
  EXPECT_EQ(o.at("agent_id").as_string(), h.agent_id);
  const std::string new_auth = h.agent_id + ":" + std::string(o.at("agent_key").as_string());
  EXPECT_NE(new_auth, old_auth);
  EXPECT_EQ(h.post_report(h.report(1), old_auth).status, 401u);
  EXPECT_EQ(h.post_report(h.report(1), new_auth).status, 202u);
  EXPECT_EQ(rotate(old_auth).status, 401u) << "the old key rotates nothing";
  EXPECT_EQ(rotate(h.agent_id + ":" + std::string(64, '0')).status, 401u);
  EXPECT_EQ(h.call_as("", "POST", "/api/v1/agents/rotate-key", "{}").status, 401u);
  ASSERT_TRUE(*h.stores.agents->revoke_agent(h.agent_id));
  EXPECT_EQ(rotate(new_auth).status, 401u) << "a revoked agent gets no new key";
}

TEST(Api, ReportIsStoredAndItsReplayIsAcknowledgedOnce) {
  Harness h;
  const std::string auth = h.enroll();
  auto first = h.post_report(h.report(1), auth);
  ASSERT_EQ(first.status, 202u) << first.body;
  auto ack = wire::decode<wire::ReportAck>(first.body, wire::Format::binary);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->sequence, 1u);
  EXPECT_FALSE(ack->duplicate);
  EXPECT_FALSE(ack->inventory_wanted);

  auto again = h.post_report(h.report(1), auth);
  ASSERT_EQ(again.status, 202u);
  auto ack2 = wire::decode<wire::ReportAck>(again.body, wire::Format::binary);
  ASSERT_TRUE(ack2);
  EXPECT_TRUE(ack2->duplicate);

  const store::SeriesKey key{h.ci_id, "system.cpu.utilization", {}};
  auto samples = h.stores.series->read_samples(key, 0, INT64_MAX, 100);
  ASSERT_TRUE(samples);
  EXPECT_EQ(samples->size(), 2u) << "the replay stored nothing more";
  auto metrics = h.call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("surveyor_reports_total{outcome=\"stored\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("surveyor_reports_total{outcome=\"duplicate\"} 1"), std::string::npos);
  // Both reports went through the store, one at a time: a commit each.
  EXPECT_NE(metrics.find("surveyor_store_reports_applied_total 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("surveyor_store_report_commits_total 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("surveyor_store_report_round_trips_total "), std::string::npos) << metrics;
  // The stored report wrote pages to the log (the agent's row, its CI's, the head's).
  const std::string frames = "\nsurveyor_store_wal_frames_written_total ";  // the sample, not its # HELP
  const auto frames_at = metrics.find(frames);
  ASSERT_NE(frames_at, std::string::npos) << metrics;
  EXPECT_GE(std::stod(metrics.substr(frames_at + frames.size())), 2.0) << metrics;
  // The writer was busy with them, for a time given in seconds.
  const std::string busy = "\nsurveyor_store_report_writer_busy_seconds_total ";
  const auto busy_at = metrics.find(busy);
  ASSERT_NE(busy_at, std::string::npos) << metrics;
  const double busy_s = std::stod(metrics.substr(busy_at + busy.size()));
  EXPECT_GT(busy_s, 0.0) << metrics;
  EXPECT_LT(busy_s, 60.0) << "seconds, not nanoseconds";

  auto ci = json::parse(h.call("GET", "/api/v1/cis/" + h.ci_id).body).as_object();
  const auto& attrs = ci.at("attributes").as_object();
  EXPECT_EQ(attrs.at("cpu.cores").as_int64(), 2);
  EXPECT_EQ(attrs.at("memory.total_bytes").as_int64(), 25'275'224'064);
  EXPECT_EQ(attrs.at("cpu.cache.l1i.size_bytes").as_int64(), 32768);
  bool found = false;
  for (const auto& s : ci.at("latest_samples").as_array())
    if (s.as_object().at("metric").as_string() == "system.cpu.utilization") {
      EXPECT_EQ(s.as_object().at("value").as_double(), 0.5);
      found = true;
    }
  EXPECT_TRUE(found);
}

// max_series_per_agent: 422 series_limit naming the bound, counted as
// rejected; nothing of the report stored.
TEST(Api, AReportBeyondTheSeriesLimitIsRefusedNamingIt) {
  const std::size_t series = test::sample_report().series.size();
  ASSERT_GE(series, 2u);
  Harness h("", 1 << 20, nullptr, {}, false, 0, 200, ingest::IntakePolicy{.max_series_per_agent = series - 1});
  const std::string auth = h.enroll();
  auto refused = h.post_report(h.report(1), auth);
  EXPECT_EQ(refused.status, 422u) << refused.body;
  EXPECT_EQ(error_code(refused), "series_limit");
  EXPECT_NE(refused.body.find("max_series_per_agent is " + std::to_string(series - 1)), std::string::npos)
      << refused.body;
  auto listed = h.stores.series->list_series(h.ci_id);
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
  EXPECT_NE(h.call("GET", "/metrics").body.find("surveyor_reports_total{outcome=\"rejected\"} 1"), std::string::npos);
}

TEST(Api, JsonReportsAreAcceptedToo) {
  Harness h;
  const std::string auth = h.enroll();
  auto res = h.post_report(h.report(5), auth, wire::Format::json);
  ASSERT_EQ(res.status, 202u) << res.body;
  EXPECT_EQ(res.body, R"({"sequence":5,"duplicate":false,"inventory_wanted":false})");
}

TEST(Api, CollectorAsksForTheInventoryWhenItsDigestIsUnknown) {
  Harness h;
  const std::string auth = h.enroll();
  wire::Report r = h.report(1);
  r.inventory.reset();  // only the digest
  auto res = h.post_report(r, auth);
  ASSERT_EQ(res.status, 202u);
  EXPECT_TRUE(wire::decode<wire::ReportAck>(res.body, wire::Format::binary)->inventory_wanted);
  ASSERT_EQ(h.post_report(h.report(2), auth).status, 202u);  // with the inventory
  wire::Report later = h.report(3);
  later.inventory.reset();
  auto res3 = h.post_report(later, auth);
  EXPECT_FALSE(wire::decode<wire::ReportAck>(res3.body, wire::Format::binary)->inventory_wanted);
}

TEST(Api, ReportRefusals) {
  Harness h;
  const std::string auth = h.enroll();
  const std::string ct = std::string(wire::kBinaryContentType);
  const std::string body = wire::encode(h.report(1), wire::Format::binary);

  auto none = h.call("POST", "/api/v1/reports", body, {{"Content-Type", ct}});
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(error_code(none), "unauthenticated");
  auto wrong_key = h.post_report(h.report(1), h.agent_id + ":" + std::string(64, '0'));
  EXPECT_EQ(wrong_key.status, 401u);
  EXPECT_EQ(error_code(wrong_key), "unknown_agent");
  auto unknown = h.post_report(h.report(1), "agt-nobody:abc");
  EXPECT_EQ(unknown.status, 401u);

  auto truncated = h.call("POST", "/api/v1/reports", body.substr(0, body.size() / 2),
                          {{"Content-Type", ct}, {"Authorization", "Bearer " + auth}});
  EXPECT_EQ(truncated.status, 400u);
  EXPECT_EQ(error_code(truncated), "bad_report");
  EXPECT_NE(truncated.body.find("truncated"), std::string::npos) << truncated.body;

  wire::Report other = h.report(1);
  other.agent_id = "agt-someone-else";
  auto mismatch = h.post_report(other, auth);
  EXPECT_EQ(mismatch.status, 403u);
  EXPECT_EQ(error_code(mismatch), "agent_mismatch");

  wire::Report ahead = h.report(1);
  ahead.series[0].points.push_back({core::to_unix_ms(h.clock.now()) + 3'600'000, 0.5});
  auto future = h.post_report(ahead, auth);
  EXPECT_EQ(future.status, 400u);
  EXPECT_EQ(error_code(future), "time_in_future");

  auto media = h.call("POST", "/api/v1/reports", body, {{"Content-Type", "text/csv"}, {"Authorization", "Bearer " + auth}});
  EXPECT_EQ(media.status, 415u);

  // More series than the default max_series_per_report (10,000).
  wire::Report wide = h.report(1);
  const wire::Series one = wide.series[0];
  wide.series.clear();
  for (int i = 0; i < 10'001; ++i) {
    wire::Series s = one;
    s.metric = "m" + std::to_string(i);
    wide.series.push_back(std::move(s));
  }
  std::sort(wide.series.begin(), wide.series.end(),
            [](const wire::Series& a, const wire::Series& b) { return a.metric < b.metric; });
  auto too_wide = h.post_report(wide, auth);
  EXPECT_EQ(too_wide.status, 413u) << too_wide.body;
  EXPECT_EQ(error_code(too_wide), "report_too_large");
  EXPECT_NE(too_wide.body.find("max_series_per_report is 10000"), std::string::npos) << too_wide.body;

  auto metrics = h.call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("surveyor_errors_total{reason=\"unknown_agent\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("surveyor_errors_total{reason=\"bad_report\"} 1"), std::string::npos);
  // Nothing was stored by any refused report.
  auto samples = h.stores.series->list_series(h.ci_id);
  ASSERT_TRUE(samples);
  EXPECT_TRUE(samples->empty());
}

}  // namespace
}  // namespace surveyor::collector
