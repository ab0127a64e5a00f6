// SPDX-License-Identifier: Apache-2.0
// Service definitions: the file format and its errors, the catalog keeping
// the last good definition of a broken file, the walk to member CIs
// (through other services, cycles included) and the services' capacity
// rules applied to their members only.
#include <gtest/gtest.h>

#include <fstream>

#include "surveyor/collector/backends/open.hpp"
#include "surveyor/collector/capacity/rules.hpp"
#include "surveyor/collector/services/services.hpp"
#include "test_support.hpp"

namespace surveyor::collector::services {
namespace {

constexpr const char* kWebshop = R"(name = "webshop"
owner = "web-team@example.com"
criticality = "high"
description = "The public shop"
sla_target = 99.9
sla_period = "month"

[[group]]
name = "frontends"
members = ["web01", "web02", "web03"]
redundancy = "at_least"
min = 2

[[group]]
name = "database"
members = ["service:database"]

[[capacity_rule]]
name = "disk"
kind = "forecast"
metric = "system.filesystem.utilization"
threshold = 0.8
)";

TEST(ServiceFile, ParsesEveryPart) {
  auto s = parse_service(kWebshop, "webshop.toml");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->name, "webshop");
  EXPECT_EQ(s->owner, "web-team@example.com");
  EXPECT_EQ(s->criticality, "high");
  ASSERT_TRUE(s->sla);
  EXPECT_EQ(s->sla->target_percent, 99.9);
  EXPECT_EQ(s->sla->period, "month");
  ASSERT_EQ(s->groups.size(), 2u);
  EXPECT_EQ(s->groups[0].members, (std::vector<std::string>{"web01", "web02", "web03"}));
  EXPECT_EQ(s->groups[0].redundancy.kind, Redundancy::Kind::at_least);
  EXPECT_EQ(s->groups[0].redundancy.min, 2);
  EXPECT_EQ(s->groups[1].redundancy.kind, Redundancy::Kind::all);
  ASSERT_EQ(s->capacity_rules.size(), 1u);
  EXPECT_EQ(s->capacity_rules[0].threshold, 0.8);
  EXPECT_EQ(s->capacity_rules[0].kind, capacity::CapacityRule::Kind::forecast);
}

TEST(ServiceFile, SlaTimeZoneAndServiceHours) {
  auto s = parse_service("name = \"a\"\nowner = \"o\"\nsla_target = 99.5\nsla_time_zone = \"Europe/Berlin\"\n"
                         "sla_service_hours = [\"Mon-Fri 08:00-18:00\", \"Sat 09:00-13:00\", \"Sun 22:00-24:00\"]\n",
                         "a.toml");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE(s->sla);
  EXPECT_EQ(s->sla->time_zone, "Europe/Berlin");
  EXPECT_EQ(s->sla->service_hours,
            (std::vector<ServiceHours>{{0, 4, 8 * 60, 18 * 60}, {5, 5, 9 * 60, 13 * 60}, {6, 6, 22 * 60, 1440}}));
  // The defaults: UTC, all the time.
  s = parse_service("name = \"a\"\nowner = \"o\"\nsla_target = 99.5\n", "a.toml");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->sla->time_zone, "UTC");
  EXPECT_TRUE(s->sla->service_hours.empty());
}

TEST(ServiceHours, ParsedStrictlyAndDescribedBack) {
  for (const char* text : {"Mon-Fri 08:00-18:00", "Sat 09:00-13:00", "Mon-Sun 00:00-24:00", "Sun 23:59-24:00"}) {
    auto h = parse_service_hours(text);
    ASSERT_TRUE(h) << text << ": " << h.error().message;
    EXPECT_EQ(describe(*h), text);
  }
  struct Case {
    const char* text;
    const char* want;  // in the message
  };
  const Case cases[] = {
      {"Mon-Frii 08:00-18:00", "unknown day 'Frii'"},
      {"mon 08:00-18:00", "unknown day 'mon'"},
      {"Sat-Mon 08:00-18:00", "goes backwards; write it as two entries (\"Sat-Sun ...\" and \"Mon ...\")"},
      {"Sun-Tue 08:00-18:00", "(\"Sun ...\" and \"Mon-Tue ...\")"},
      {"Mon 18:00-08:00", "the end must be after the start"},
      {"Mon 08:00-08:00", "the end must be after the start"},
      {"Mon 08:00-25:00", "'25:00' is not a time of day"},
      {"Mon 24:00-24:00", "24:00 can only end a window"},
      {"Mon 24:30-24:45", "'24:30'"},
      {"Mon 8:00-18:00", "'8:00'"},
      {"Mon 08:60-18:00", "'08:60'"},
      {"Mon-Fri", "write DAYS HH:MM-HH:MM"},
      {"Mon-Fri  08:00-18:00", "write DAYS HH:MM-HH:MM"},
      {"Mon-Fri 08:00", "write DAYS HH:MM-HH:MM"},
      {"", "write DAYS HH:MM-HH:MM"},
      {"- 08:00-18:00", "unknown day ''"},
  };
  for (const Case& c : cases) {
    auto h = parse_service_hours(c.text);
    ASSERT_FALSE(h) << c.text;
    EXPECT_NE(h.error().message.find(c.want), std::string::npos) << c.text << "\n-> " << h.error().message;
  }
}

TEST(ServiceFile, ErrorsNameTheFileTheLineAndTheKey) {
  struct Case {
    const char* toml;
    const char* want;  // in the message
  };
  const Case cases[] = {
      {"name = \"a\"\nowner = \"o\"\ncolour = \"red\"\n", "a.toml:3"},
      {"name = \"a\"\nowner = \"o\"\ncriticality = \"extreme\"\n", "criticality"},
      {"name = \"a\"\n", "owner"},
      {"name = \"a b\"\nowner = \"o\"\n", "a.toml:1: name"},
      {"name = \"a\"\nowner = \"o\"\nsla_target = 120\n", "a.toml:3: sla_target"},
      {"name = \"a\"\nowner = \"o\"\nsla_target = \"high\"\n", "sla_target"},
      {"name = \"a\"\nowner = \"o\"\nsla_target = 99\nsla_time_zone = \"Europe/Berln\"\n",
       "a.toml:4: sla_time_zone: unknown time zone 'Europe/Berln'"},
      {"name = \"a\"\nowner = \"o\"\nsla_target = 99\nsla_time_zone = \"../../etc/passwd\"\n",
       "a.toml:4: sla_time_zone: unknown time zone"},
      {"name = \"a\"\nowner = \"o\"\nsla_target = 99\n"
       "sla_service_hours = [\"Mon-Fri 08:00-18:00\", \"Sonntag 10:00-12:00\"]\n",
       "a.toml:4: sla_service_hours: \"Sonntag 10:00-12:00\": unknown day 'Sonntag'"},
      {"name = \"a\"\nowner = \"o\"\nsla_target = 99\nsla_service_hours = [\"Mon-Fri 18:00-08:00\"]\n",
       "a.toml:4: sla_service_hours: \"Mon-Fri 18:00-08:00\": the end must be after the start"},
      {"name = \"a\"\nowner = \"o\"\nsla_target = 99\nsla_service_hours = [\"Mon-Fri 08:00-25:00\"]\n",
       "a.toml:4: sla_service_hours: \"Mon-Fri 08:00-25:00\": '25:00' is not a time of day"},
      {"name = \"a\"\nowner = \"o\"\nsla_target = 99\nsla_service_hours = \"Mon-Fri 08:00-18:00\"\n",
       "a.toml:4"},
      {"name = \"a\"\nowner = \"o\"\n[[group]]\nmembers = [\"x\", \"y\"]\nredundancy = \"at_least\"\nmin = 3\n",
       "a.toml:6: min"},
      {"name = \"a\"\nowner = \"o\"\n[[group]]\nmembers = [\"x\"]\nredundancy = \"percent\"\npercent = 0\n",
       "a.toml:6: percent"},
      {"name = \"a\"\nowner = \"o\"\n[[group]]\nmembers = []\n", "a.toml:4: members"},
      {"name = \"a\"\nowner = \"o\"\n[[group]]\nmembers = [\"service:a\"]\n", "depends on itself"},
      {"name = \"a\"\nowner = \"o\"\n[[group]]\nmembers = [\"x\"]\nredundancy = \"most\"\n", "redundancy"},
      {"name = \"a\"\nowner = \"o\"\n[[capacity_rule]]\nname = \"r\"\nkind = \"sometimes\"\nmetric = \"m\"\n"
       "threshold = 1\n",
       "a.toml:4"},
      {"name = \"a\"\nowner = \"o\"\n[[capacity_rule]]\nname = \"r\"\nkind = \"sustained\"\nmetric = \"m\"\n"
       "threshold = 1\n[[capacity_rule]]\nname = \"r\"\nkind = \"sustained\"\nmetric = \"m\"\nthreshold = 1\n",
       "defined twice"},
      {"name = \"a\"\nowner = [\n", "a.toml"},
      {"\xff\xfe", "a.toml"},
  };
  for (const Case& c : cases) {
    auto s = parse_service(c.toml, "a.toml");
    ASSERT_FALSE(s) << c.toml;
    EXPECT_NE(s.error().message.find(c.want), std::string::npos) << c.toml << "\n-> " << s.error().message;
  }
}

TEST(Redundancy, MembersRequired) {
  EXPECT_EQ((Redundancy{Redundancy::Kind::all}).required(3), 3u);
  EXPECT_EQ((Redundancy{Redundancy::Kind::any}).required(3), 1u);
  EXPECT_EQ((Redundancy{Redundancy::Kind::at_least, 2}).required(3), 2u);
  EXPECT_EQ((Redundancy{Redundancy::Kind::percent, 0, 66.67}).required(3), 3u);  // 2 of 3 is 66.666... %
  EXPECT_EQ((Redundancy{Redundancy::Kind::percent, 0, 66.66}).required(3), 2u);
  EXPECT_EQ((Redundancy{Redundancy::Kind::percent, 0, 50}).required(3), 2u);
  EXPECT_EQ((Redundancy{Redundancy::Kind::percent, 0, 50}).required(4), 2u);
  EXPECT_EQ((Redundancy{Redundancy::Kind::percent, 0, 100}).required(7), 7u);
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

TEST(Catalog, KeepsTheLastGoodDefinitionOfABrokenFile) {
  test::TempDir dir;
  Catalog c(dir.path());
  EXPECT_TRUE(c.list().empty());
  write(dir.file("webshop.toml"), kWebshop);
  write(dir.file("notes.txt"), "not a service");
  auto r = c.refresh();
  EXPECT_EQ(r.loaded, 1u);
  EXPECT_TRUE(r.errors.empty());
  ASSERT_EQ(c.list().size(), 1u);

  // Broken: the old definition stays, and the error names the line.
  write(dir.file("webshop.toml"), std::string(kWebshop) + "bogus = 1\n");
  r = c.refresh();
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("webshop.toml:"), std::string::npos) << r.errors[0].message;
  EXPECT_NE(r.errors[0].message.find("bogus"), std::string::npos) << r.errors[0].message;
  ASSERT_TRUE(c.find("webshop"));
  EXPECT_EQ(c.find("webshop")->owner, "web-team@example.com");
  EXPECT_EQ(c.errors().size(), 1u);

  // Fixed: the new definition, no error.
  std::string fixed = kWebshop;
  fixed.replace(fixed.find("web-team"), 8, "shop-team");
  write(dir.file("webshop.toml"), fixed);
  r = c.refresh();
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(c.find("webshop")->owner, "shop-team@example.com");

  // A second file with the same name: the first (by path) keeps it.
  write(dir.file("z-copy.toml"), fixed);
  r = c.refresh();
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("already defined"), std::string::npos);
  EXPECT_EQ(c.find("webshop")->file, dir.file("webshop.toml"));

  // The first file goes: the second one's definition is in use.
  std::filesystem::remove(dir.file("webshop.toml"));
  r = c.refresh();
  EXPECT_TRUE(r.errors.empty());
  ASSERT_TRUE(c.find("webshop"));
  EXPECT_EQ(c.find("webshop")->file, dir.file("z-copy.toml"));
  // Removed files are forgotten.
  std::filesystem::remove(dir.file("z-copy.toml"));
  c.refresh();
  EXPECT_TRUE(c.list().empty());
  EXPECT_TRUE(c.errors().empty());
}

TEST(Catalog, AMissingDirectoryIsNoServices) {
  Catalog c("/nonexistent/services.d");
  const auto r = c.refresh();
  EXPECT_EQ(r.loaded, 0u);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(c.list().empty());
}

class ServiceMembers : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = backends::open_stores("sqlite:" + dir.file("s.db"));
    ASSERT_TRUE(s) << s.error().describe();
    stores = *s;
    for (const char* name : {"web01", "web02", "web03", "db01"}) add_ci(std::string("host-") + name, name);
    add_ci("host-twin-1", "twin");
    add_ci("host-twin-2", "twin");
  }
  void add_ci(const std::string& id, const std::string& name) {
    store::CiUpdate u;
    u.id = id;
    u.type = "host";
    u.name = name;
    u.source = "agent";
    u.seen_at_ms = 1;
    ASSERT_TRUE(stores.cmdb->upsert_ci(u));
  }
  test::TempDir dir;
  store::Stores stores;
};

TEST_F(ServiceMembers, ThroughOtherServicesAndAroundCycles) {
  test::TempDir defs;
  write(defs.file("webshop.toml"), kWebshop);
  // The database service depends back on the shop: a cycle the walk ends.
  write(defs.file("database.toml"),
        "name = \"database\"\nowner = \"dba\"\n[[group]]\nmembers = [\"host-db01\", \"twin\", \"nowhere\", "
        "\"service:webshop\", \"service:ghost\"]\nredundancy = \"any\"\n");
  Catalog c(defs.path());
  ASSERT_TRUE(c.refresh().errors.empty());
  auto m = member_cis(c, *stores.cmdb, "webshop");
  ASSERT_TRUE(m) << m.error().describe();
  std::vector<std::string> ids;
  for (const store::Ci& ci : m->cis) ids.push_back(ci.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"host-web01", "host-web02", "host-web03", "host-db01"}));
  // "twin" names two CIs: ambiguous, so unresolved rather than guessed.
  EXPECT_EQ(m->unresolved, (std::vector<std::string>{"twin", "nowhere", "service:ghost"}));

  auto rules = service_rules(c, *stores.cmdb);
  ASSERT_TRUE(rules);
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_EQ((*rules)[0].name, "webshop/disk");
  ASSERT_TRUE((*rules)[0].ci_ids);
  EXPECT_EQ(*(*rules)[0].ci_ids, ids);
}

TEST_F(ServiceMembers, AServiceRuleWatchesItsMembersOnly) {
  // Filesystems at 0.85 on web01 (a member) and on a host outside the service.
  for (const char* ci : {"host-web01", "host-twin-1"}) {
    store::AgentRecord a;
    a.id = std::string("agt-") + ci;
    a.ci_id = ci;
    ASSERT_TRUE(stores.agents->create_agent(a));
    store::ReportBatch b;
    b.agent_id = a.id;
    b.sequence = 1;
    std::vector<store::Sample> s;
    for (std::int64_t t = 0; t <= 20 * 60'000; t += 60'000) s.push_back({t, 0.85});
    b.series.push_back({store::SeriesInfo{{ci, "system.filesystem.utilization", {{"mountpoint", "/"}}}, "1"}, s});
    ASSERT_TRUE(stores.reports->apply_report(b));
  }
  capacity::CapacityRule r;
  r.name = "webshop/full";
  r.metric = "system.filesystem.utilization";
  r.threshold = 0.8;
  r.for_ms = 10 * 60'000;
  r.ci_ids = std::vector<std::string>{"web01", "host-web02"};  // a unique name, an id
  const std::vector<capacity::CapacityRule> rules{r};
  auto rep = capacity::evaluate_rules(stores, rules, 20 * 60'000);
  ASSERT_TRUE(rep) << rep.error().describe();
  EXPECT_EQ(rep->opened, 1u);
  auto events = stores.events->list_events({});
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().ci_id, "host-web01");
  EXPECT_EQ(events->front().rule, "webshop/full");

  // No members resolved: the rule watches nothing (not every host).
  r.ci_ids = std::vector<std::string>{};
  const std::vector<capacity::CapacityRule> none{r};
  auto rep2 = capacity::evaluate_rules(stores, none, 20 * 60'000);
  ASSERT_TRUE(rep2);
  EXPECT_EQ(rep2->series, 0u);
}

}  // namespace
}  // namespace surveyor::collector::services
