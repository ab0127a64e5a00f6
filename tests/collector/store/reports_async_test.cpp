// SPDX-License-Identifier: Apache-2.0
// Reports handed over with apply_report_async, on every backend: answered
// through their callback as apply_report would answer them, and, on a
// store that applies them on threads of its own (applies_async), never
// on the caller's thread.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

SURVEYOR_STORE_SUITE(AsyncReportConformance);

// 48 reports at once from 8 agents (which a store may apply in groups),
// all stored; a resend a duplicate; an unknown agent's report refused; a
// report with inventory stored with it.
TYPED_TEST(AsyncReportConformance, ReportsHandedOverAreAnsweredAsOnReturn) {
  constexpr int kAgents = 8;
  constexpr std::uint64_t kEach = 6;
  for (int a = 1; a <= kAgents; ++a)
    ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-" + std::to_string(a))));
  HandedReports handed(*this->stores.reports);
  const auto load = [](int a, std::uint64_t seq) {
    const std::string agent = "agt-" + std::to_string(a);
    const auto at = static_cast<std::int64_t>(seq) * 60'000;
    ReportBatch b = report_batch(agent, seq, at);
    b.series.push_back({series_info("ci-" + agent, "cpu.load"), {{at, static_cast<double>(seq)}}});
    return b;
  };
  for (std::uint64_t seq = 1; seq <= kEach; ++seq)
    for (int a = 1; a <= kAgents; ++a)
      handed.send(load(a, seq), std::to_string(a) + "/" + std::to_string(seq));
  ASSERT_TRUE(handed.wait_for(kAgents * kEach));
  for (const auto& [key, r] : handed.answers()) {
    ASSERT_TRUE(r) << key << ": " << r.error().describe();
    EXPECT_EQ(r->outcome, ApplyOutcome::stored) << key;
  }
  EXPECT_EQ(handed.on_callers_thread(), !this->stores.reports->applies_async());
  for (int a = 1; a <= kAgents; ++a) {
    const std::string ci = "ci-agt-" + std::to_string(a);
    auto held = this->stores.series->read_samples({ci, "cpu.load", {}}, 0, 1'000'000, 100);
    ASSERT_TRUE(held) << held.error().describe();
    EXPECT_EQ(held->size(), kEach) << ci;
  }

  handed.send(load(3, 4), "resent");
  ReportBatch ghost = report_batch("agt-ghost", 1, 1'000);
  ghost.series.push_back({series_info("ci-ghost", "cpu.load"), {{1'000, 1.0}}});
  handed.send(std::move(ghost), "ghost");
  ReportBatch inventory = load(5, kEach + 1);
  inventory.inventory_ci_id = "ci-agt-5";
  inventory.sections.push_back({"disks", "collected", "", "d1", R"([{"name":"sda"}])"});
  handed.send(std::move(inventory), "inventory");
  ASSERT_TRUE(handed.wait_for(kAgents * kEach + 3));
  const auto& answers = handed.answers();
  ASSERT_TRUE(answers.at("resent")) << answers.at("resent").error().describe();
  EXPECT_EQ(answers.at("resent")->outcome, ApplyOutcome::duplicate);
  ASSERT_FALSE(answers.at("ghost"));
  EXPECT_EQ(answers.at("ghost").error().code, StoreErrc::invalid);
  const auto& inv = answers.at("inventory");
  ASSERT_TRUE(inv) << inv.error().describe();
  EXPECT_EQ(inv->outcome, ApplyOutcome::stored);
  ASSERT_EQ(inv->inventory.size(), 1u);
  EXPECT_EQ(inv->inventory.front().digest, "d1");
  auto held = this->stores.inventory->get_inventory("ci-agt-5");
  ASSERT_TRUE(held) << held.error().describe();
  ASSERT_EQ(held->size(), 1u);
  EXPECT_EQ(held->front().data_json, R"([{"name":"sda"}])");
}

// A store closed with reports still handed over answers every one of
// them first, each stored or refused as apply_report would have it.
TYPED_TEST(AsyncReportConformance, AStoreClosedAnswersEveryReportHandedOver) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  constexpr std::uint64_t kReports = 40;
  std::deque<ReportBatch> batches;
  std::atomic<std::uint64_t> stored{0}, answered{0};
  for (std::uint64_t seq = 1; seq <= kReports; ++seq) {
    const auto at = static_cast<std::int64_t>(seq) * 60'000;
    batches.push_back(report_batch("agt-1", seq, at));
    batches.back().series.push_back({series_info("ci-agt-1", "cpu.load"), {{at, 1.0}}});
    this->stores.reports->apply_report_async(batches.back(), [&](core::Result<ApplyResult> r) {
      if (r && r->outcome == ApplyOutcome::stored) ++stored;
      ++answered;
    });
  }
  this->stores = Stores{};  // closed: the last owners
  EXPECT_EQ(answered.load(), kReports);
  EXPECT_EQ(stored.load(), kReports);
  auto reopened = backends::open_stores(this->backend.url());
  ASSERT_TRUE(reopened) << reopened.error().describe();
  auto held = reopened->series->read_samples({"ci-agt-1", "cpu.load", {}}, 0, 1'000'000'000, 100);
  ASSERT_TRUE(held) << held.error().describe();
  EXPECT_EQ(held->size(), kReports);
}

}  // namespace
}  // namespace surveyor::collector::store
