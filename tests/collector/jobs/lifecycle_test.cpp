// SPDX-License-Identifier: Apache-2.0
// The CI lifecycle on simulated time: a host that falls silent becomes
// missing after missing_after and retired after retire_after; one that keeps
// reporting (even with failing inventory sections) stays active; each step
// is on the audit trail.
#include <gtest/gtest.h>

#include "surveyor/collector/backends/open.hpp"
#include "surveyor/collector/jobs/housekeeper.hpp"
#include "test_support.hpp"

namespace surveyor::collector::jobs {
namespace {

constexpr std::int64_t kDay = 86'400'000;

TEST(Lifecycle, SilentHostsGoMissingThenRetired) {
  test::TempDir dir;
  auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
  ASSERT_TRUE(s) << s.error().describe();
  core::ManualClock clock{core::from_unix_ms(100 * kDay)};
  metrics::Registry registry;
  HousekeepingOptions o;
  o.rules.clear();
  Housekeeper hk(*s, clock, registry, o);
  auto seen = [&](const std::string& id, std::int64_t at) {
    store::CiUpdate u;
    u.id = id;
    u.type = "host";
    u.source = "agent";
    u.seen_at_ms = at;
    ASSERT_TRUE(s->cmdb->upsert_ci(u));
  };
  auto state = [&](const std::string& id) { return (*s->cmdb->find_ci(id))->state; };
  seen("quiet", 100 * kDay);
  seen("chatty", 100 * kDay);
  store::CiUpdate manual;
  manual.id = "switch-1";
  manual.type = "host";
  manual.source = "user";
  manual.seen_at_ms = 1;
  ASSERT_TRUE(s->cmdb->upsert_ci(manual));

  clock.advance(std::chrono::milliseconds(kDay / 2));
  auto none = hk.run_lifecycle();
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, (std::pair<std::size_t, std::size_t>{0, 0}));

  clock.advance(std::chrono::milliseconds(kDay));  // 1.5 days silent
  seen("chatty", core::to_unix_ms(clock.now()));
  auto first = hk.run_lifecycle();
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, (std::pair<std::size_t, std::size_t>{1, 0}));
  EXPECT_EQ(state("quiet"), store::CiState::missing);
  EXPECT_EQ(state("chatty"), store::CiState::active);
  EXPECT_EQ(state("switch-1"), store::CiState::active) << "CIs people made are theirs to retire";
  EXPECT_EQ((*s->cmdb->find_ci("quiet"))->last_seen_ms, 100 * kDay) << "going missing is not being seen";
  // A person's edit is not a sighting either.
  store::CiUpdate edit;
  edit.id = "quiet";
  edit.type = "host";
  edit.source = "user";
  edit.attributes = {{"location", std::string("DC2")}};
  edit.seen_at_ms = core::to_unix_ms(clock.now());
  ASSERT_TRUE(s->cmdb->upsert_ci(edit));
  EXPECT_EQ(state("quiet"), store::CiState::missing);
  EXPECT_EQ((*s->cmdb->find_ci("quiet"))->last_seen_ms, 100 * kDay);

  clock.advance(std::chrono::milliseconds(30 * kDay));
  seen("chatty", core::to_unix_ms(clock.now()));
  auto second = hk.run_lifecycle();
  ASSERT_TRUE(second);
  EXPECT_EQ(*second, (std::pair<std::size_t, std::size_t>{0, 1}));
  EXPECT_EQ(state("quiet"), store::CiState::retired);
  EXPECT_EQ(state("chatty"), store::CiState::active);

  store::AuditFilter f;
  f.ci_id = "quiet";
  f.kind = "state";
  auto trail = s->audit->list_audit(f);
  ASSERT_TRUE(trail);
  ASSERT_EQ(trail->size(), 2u);
  EXPECT_EQ((*trail)[0].new_value, "\"retired\"");
  EXPECT_EQ((*trail)[1].new_value, "\"missing\"");
  EXPECT_EQ((*trail)[1].origin, "collector");
  EXPECT_FALSE((*trail)[1].unauthorized);

  // A retired host that reports again is active again.
  seen("quiet", core::to_unix_ms(clock.now()));
  EXPECT_EQ(state("quiet"), store::CiState::active);
}

}  // namespace
}  // namespace surveyor::collector::jobs
