// SPDX-License-Identifier: Apache-2.0
// ingest::Intake on its own, on a real SQLite store: each reason a report is
// refused before the store, times ahead of the clock, capped heartbeats, a
// report applied with its component links, a replay acknowledged without
// a second write, and what is answered without waiting for the store.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <optional>
#include <thread>
#include <utility>

#include "surveyor/collector/backends/open.hpp"
#include "surveyor/collector/ingest/ingest.hpp"
#include "surveyor/collector/ingest/intake.hpp"
#include "surveyor/core/crypto.hpp"
#include "surveyor/wire/codec.hpp"
#include "test_support.hpp"
#include "../../shared/wire_fixtures.hpp"

namespace surveyor::collector::ingest {
namespace {

constexpr std::int64_t kNow = 1'795'000'000'000;

struct Fixture {
  Fixture() {
    auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
    EXPECT_TRUE(s) << s.error().describe();
    stores = *s;
    store::AgentRecord a;
    a.id = "agt-1";
    a.key_hash = core::sha256_hex("k");
    a.ci_id = host_ci_id(test::sample_report().inventory->host.data->host_id);
    EXPECT_TRUE(stores.agents->create_agent(a));
    intake = std::make_unique<Intake>(stores);
  }
  core::Result<Accepted> post(const wire::Report& r, std::string_view auth = "Bearer agt-1:k",
                              std::string_view type = wire::kBinaryContentType) {
    return intake->accept(auth, type, wire::encode(r, wire::Format::binary), kNow);
  }
  static wire::Report report(std::uint64_t seq) {
    wire::Report r = test::sample_report();
    r.agent_id = "agt-1";
    r.sequence = seq;
    return r;
  }
  // accept_async's answer, waited for here (it comes from the store's
  // thread); `thread` is where it came from.
  std::optional<core::Result<Accepted>> post_async(const wire::Report& r, std::string_view auth = "Bearer agt-1:k",
                                                   std::thread::id* thread = nullptr) {
    return post_async_body(wire::encode(r, wire::Format::binary), auth, thread);
  }
  std::optional<core::Result<Accepted>> post_async_body(const std::string& body, std::string_view auth = "Bearer agt-1:k",
                                                        std::thread::id* thread = nullptr) {
    std::promise<std::pair<std::optional<core::Result<Accepted>>, std::thread::id>> answered;
    auto got = answered.get_future();
    intake->accept_async(auth, wire::kBinaryContentType, body, kNow,
                         [&answered](std::optional<core::Result<Accepted>> a) {
                           answered.set_value({std::move(a), std::this_thread::get_id()});
                         });
    if (got.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      ADD_FAILURE() << "accept_async never answered";
      std::abort();  // the callback would write to a promise gone
    }
    auto [a, from] = got.get();
    if (thread != nullptr) *thread = from;
    return std::move(a);
  }
  test::TempDir dir;
  store::Stores stores;
  std::unique_ptr<Intake> intake;
};

TEST(Intake, RefusesBeforeTheStoreWithAReasonForEach) {
  Fixture f;
  const auto code = [](const core::Result<Accepted>& r) { return r ? std::error_code() : r.error().code; };
  EXPECT_EQ(code(f.post(Fixture::report(1), "agt-1:k")), IntakeErrc::unauthenticated);
  EXPECT_EQ(code(f.post(Fixture::report(1), "Bearer agt-1:")), IntakeErrc::unauthenticated);
  EXPECT_EQ(code(f.post(Fixture::report(1), "Bearer agt-1:wrong")), IntakeErrc::unknown_agent);
  EXPECT_EQ(code(f.post(Fixture::report(1), "Bearer agt-9:k")), IntakeErrc::unknown_agent);
  EXPECT_EQ(code(f.post(Fixture::report(1), "Bearer agt-1:k", "text/plain")), IntakeErrc::unsupported_media_type);
  EXPECT_EQ(code(f.intake->accept("Bearer agt-1:k", wire::kBinaryContentType, "garbage", kNow)),
            IntakeErrc::bad_report);
  wire::Report other = Fixture::report(1);
  other.agent_id = "agt-2";
  EXPECT_EQ(code(f.post(other)), IntakeErrc::agent_mismatch);
  auto ci = f.stores.cmdb->find_ci(host_ci_id(test::sample_report().inventory->host.data->host_id));
  ASSERT_TRUE(ci);
  EXPECT_FALSE(*ci) << "nothing refused reached the store";
}

TEST(Intake, AppliesAReportWithItsComponentsAndAcknowledgesAReplayOnce) {
  Fixture f;
  const wire::Report r = Fixture::report(7);
  auto first = f.post(r);
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_EQ(first->ack.sequence, 7u);
  EXPECT_FALSE(first->ack.duplicate);
  std::uint64_t sent = 0;
  for (const auto& s : r.series) sent += s.points.size();
  EXPECT_GE(first->samples, sent) << "the series sent, and check results as samples";
  const std::string host = host_ci_id(r.inventory->host.data->host_id);
  auto links = f.stores.relations->relationships_of(host);
  ASSERT_TRUE(links);
  EXPECT_FALSE(links->empty()) << "the host contains its components";

  auto again = f.post(r);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->ack.duplicate);
  EXPECT_EQ(again->samples, 0u);
}

// An agent whose clock runs ahead cannot write the future, and one that
// declares a long heartbeat cannot keep its host "up" for days.
TEST(Intake, ReportsBeyondAPerReportLimitAreRefusedWholeNamingIt) {
  Fixture f;
  const wire::Report base = Fixture::report(1);
  std::size_t samples = 0;
  for (const wire::Series& s : base.series) samples += s.points.size();
  ASSERT_GE(base.series.size(), 2u);
  ASSERT_GE(samples, 3u);
  const std::string host = host_ci_id(test::sample_report().inventory->host.data->host_id);

  f.intake = std::make_unique<Intake>(f.stores, IntakePolicy{.max_series_per_report = base.series.size() - 1});
  auto series = f.post(base);
  ASSERT_FALSE(series);
  EXPECT_EQ(series.error().code, IntakeErrc::too_large);
  EXPECT_NE(series.error().message.find("max_series_per_report is " + std::to_string(base.series.size() - 1)),
            std::string::npos)
      << series.error().message;

  f.intake = std::make_unique<Intake>(f.stores, IntakePolicy{.max_samples_per_report = samples - 1});
  auto points = f.post(base);
  ASSERT_FALSE(points);
  EXPECT_EQ(points.error().code, IntakeErrc::too_large);
  EXPECT_NE(points.error().message.find("the report has " + std::to_string(samples) + " samples"), std::string::npos)
      << points.error().message;
  auto stored = f.stores.series->list_series(host);
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->empty()) << "nothing of a refused report is stored";

  // At the limits exactly, the report is taken.
  f.intake = std::make_unique<Intake>(
      f.stores, IntakePolicy{.max_series_per_report = base.series.size(), .max_samples_per_report = samples});
  auto taken = f.post(base);
  EXPECT_TRUE(taken) << taken.error().describe();
}

TEST(Intake, TimesAheadOfTheClockAreRefusedAndLongHeartbeatsCapped) {
  Fixture f;
  f.intake = std::make_unique<Intake>(f.stores, IntakePolicy{.max_clock_skew_ms = 60'000, .max_heartbeat_interval_s = 600});
  const std::string host = host_ci_id(test::sample_report().inventory->host.data->host_id);

  wire::Report ahead = Fixture::report(1);
  ahead.series[0].points.push_back({kNow + 60'001, 0.5});
  auto refused = f.post(ahead);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, IntakeErrc::time_in_future);
  EXPECT_NE(refused.error().message.find("series system.cpu.utilization"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("check the agent's clock"), std::string::npos);
  wire::Report check_ahead = Fixture::report(2);
  check_ahead.checks[0].time_ms = kNow + 61'000;
  auto refused_check = f.post(check_ahead);
  ASSERT_FALSE(refused_check);
  EXPECT_NE(refused_check.error().message.find("check ssh"), std::string::npos) << refused_check.error().message;
  auto none = f.stores.cmdb->find_ci(host);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none) << "nothing of a refused report is stored";

  // At the limit it is stored; the one-day heartbeat (the most the wire allows)
  // is capped to the policy's.
  wire::Report edge = Fixture::report(3);
  edge.series[0].points.push_back({kNow + 60'000, 0.5});
  edge.heartbeat_interval_s = 86'400;
  auto stored = f.post(edge);
  ASSERT_TRUE(stored) << stored.error().describe();
  EXPECT_TRUE(stored->heartbeat_capped);
  auto agent = f.stores.agents->find_agent("agt-1");
  ASSERT_TRUE(agent && *agent);
  EXPECT_EQ((*agent)->heartbeat_interval_s, 600u);
  auto ci = f.stores.cmdb->find_ci(host);
  ASSERT_TRUE(ci && *ci);
  EXPECT_EQ(std::get<std::int64_t>((*ci)->attributes.at("agent.heartbeat_interval_s")), 600);
}


// Without waiting for the store, only a remembered agent's report that
// passes every check is answered (from the store's thread), as accept()
// answers it. Anything else gets no answer, for accept() to give: an agent
// not yet remembered, a wrong key, a bad body, a large one, and a report the store
// refused because the agent changed meanwhile (then nothing was written).
TEST(Intake, AnswersWithoutWaitingOnlyWhatNeedsNoWait) {
  Fixture f;
  auto unknown = f.post_async(Fixture::report(1));
  ASSERT_TRUE(unknown.has_value() == false) << "answered for an agent not remembered";
  ASSERT_TRUE(f.post(Fixture::report(1)));  // read from the store, remembered

  std::thread::id from;
  auto second = f.post_async(Fixture::report(2), "Bearer agt-1:k", &from);
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(*second) << second->error().describe();
  EXPECT_EQ((*second)->ack.sequence, 2u);
  EXPECT_FALSE((*second)->ack.duplicate);
  std::uint64_t sent = 0;
  for (const auto& s : Fixture::report(2).series) sent += s.points.size();
  EXPECT_GE((*second)->samples, sent);
  EXPECT_NE(from, std::this_thread::get_id()) << "answered on the caller's thread";
  auto resent = f.post_async(Fixture::report(2));
  ASSERT_TRUE(resent.has_value() && *resent);
  EXPECT_TRUE((*resent)->ack.duplicate);

  EXPECT_FALSE(f.post_async(Fixture::report(3), "Bearer agt-1:wrong").has_value());
  wire::Report large = Fixture::report(3);  // more than kMaxAsyncBodyBytes
  for (int cpu = 0; wire::encode(large, wire::Format::binary).size() <= kMaxAsyncBodyBytes; ++cpu) {
    wire::Series many{"system.cpu.utilization", "1", {{"cpu", std::to_string(cpu)}}, {}};
    for (std::int64_t i = 1; i <= 1000; ++i)
      many.points.push_back({kNow - (1001 - i) * 1000, static_cast<double>(i) * 0.7310585786300049});
    large.series.push_back(std::move(many));
  }
  EXPECT_FALSE(f.post_async(large).has_value()) << "decoded on the caller's thread";
  EXPECT_FALSE(f.post_async_body("garbage").has_value());

  // The key rotated elsewhere: the store refuses the remembered record.
  auto rotated = f.stores.agents->rotate_key("agt-1", core::sha256_hex("k"), core::sha256_hex("k2"));
  ASSERT_TRUE(rotated && *rotated);
  EXPECT_FALSE(f.post_async(Fixture::report(3)).has_value());
  auto refused = f.post(Fixture::report(3));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, IntakeErrc::unknown_agent);
  auto with_new_key = f.post(Fixture::report(3), "Bearer agt-1:k2");
  ASSERT_TRUE(with_new_key) << with_new_key.error().describe();
  EXPECT_FALSE(with_new_key->ack.duplicate) << "the refused report wrote its sequence";
}

}  // namespace
}  // namespace surveyor::collector::ingest
