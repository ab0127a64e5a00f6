// SPDX-License-Identifier: Apache-2.0
// The housekeeper schedules the evaluation step: it runs it while it holds
// the evaluation lease, stands by while another collector does, and counts
// each step in /metrics as the jobs "availability" and "incidents" and the
// notices by event, a failed step included.
#include <gtest/gtest.h>

#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "evaluation/scene.hpp"
#include "surveyor/collector/jobs/housekeeper.hpp"
#include "surveyor/core/clock.hpp"

namespace surveyor::collector::jobs {
namespace {

using fixtures::heartbeat;

constexpr std::int64_t kT0 = 1'795'000'000'000;

// A critical service with an SLA, standing on host db1; its incident store
// takes `incident_writes` writes, then refuses them.
struct Scheduled : fixtures::Scene {
  explicit Scheduled(int incident_writes = INT_MAX)
      : Scene("name = \"shop\"\nowner = \"o\"\ncriticality = \"critical\"\nsla_target = 99.9\n"
              "[[group]]\nmembers = [\"db1\"]\n") {
    if (incident_writes != INT_MAX)
      stores.incidents = std::make_shared<fixtures::WritesRefusedAfter>(stores.incidents, incident_writes);
    HousekeepingOptions o;
    o.evaluation.catalog = catalog;
    o.evaluation.notify = [this](const std::vector<incidents::Notice>& n) { sent += n.size(); };
    hk = std::make_unique<Housekeeper>(stores, clock, registry, o);
  }

  // Steps every 10 s; db1 reports at the first two, then falls silent. Runs
  // until a step has notices or fails; that step's answer.
  core::Result<std::optional<availability::Report>> until_db1_is_down() {
    core::Result<std::optional<availability::Report>> r = std::optional<availability::Report>{};
    for (steps = 0; steps < 10 && r && sent == 0; ++steps) {
      const std::int64_t now = core::to_unix_ms(clock.now());
      if (steps < 2) {
        EXPECT_TRUE(stores.cmdb->upsert_ci(heartbeat("db1", now)));
      }
      r = hk->run_availability();
      clock.advance(std::chrono::seconds(10));
    }
    return r;
  }

  // A sample of /metrics, e.g. R"(name{label="value"} 3)".
  [[nodiscard]] bool shows(const std::string& sample) const {
    return ("\n" + registry.render()).find("\n" + sample + "\n") != std::string::npos;
  }

  core::ManualClock clock{core::from_unix_ms(kT0)};
  metrics::Registry registry;
  std::size_t sent = 0;
  int steps = 0;
  std::unique_ptr<Housekeeper> hk;
};

TEST(Housekeeper, EachEvaluationStepIsCountedAsItsJobs) {
  Scheduled h;
  auto r = h.until_db1_is_down();
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_TRUE(*r) << "this collector holds the lease";
  EXPECT_EQ((*r)->states.at("host-db1"), store::Availability::down);
  EXPECT_EQ(h.sent, 2u) << "db1, and shop linked to it";
  const std::string steps = std::to_string(h.steps);
  EXPECT_TRUE(h.shows(R"(surveyor_housekeeping_runs_total{job="availability",outcome="ok"} )" + steps));
  // The first step only starts the pulse: no incidents.
  EXPECT_TRUE(h.shows(R"(surveyor_housekeeping_runs_total{job="incidents",outcome="ok"} )" +
                      std::to_string(h.steps - 1)));
  EXPECT_TRUE(h.shows(R"(surveyor_incident_notices_total{event="opened"} 2)"));

  // Another collector on the same store stands by while the lease is held.
  metrics::Registry other_registry;
  HousekeepingOptions o;
  o.holder = "other";
  Housekeeper other(h.stores, h.clock, other_registry, o);
  auto standby = other.run_availability();
  ASSERT_TRUE(standby);
  EXPECT_FALSE(*standby);
  EXPECT_NE(other_registry.render().find(R"(surveyor_housekeeping_runs_total{job="availability",outcome="standby"} 1)"),
            std::string::npos);
}

TEST(Housekeeper, AFailedStepIsCountedAndWhatItWroteIsSent) {
  Scheduled h(1);  // db1's incident is written, shop's is refused
  auto r = h.until_db1_is_down();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, store::StoreErrc::unavailable);
  EXPECT_EQ(h.sent, 1u);
  EXPECT_TRUE(h.shows(R"(surveyor_housekeeping_runs_total{job="availability",outcome="ok"} )" +
                      std::to_string(h.steps)));
  EXPECT_TRUE(h.shows(R"(surveyor_housekeeping_runs_total{job="incidents",outcome="failed"} 1)"));
  EXPECT_TRUE(h.shows(R"(surveyor_incident_notices_total{event="opened"} 1)"));
}

}  // namespace
}  // namespace surveyor::collector::jobs
