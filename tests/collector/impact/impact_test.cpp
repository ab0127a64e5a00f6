// SPDX-License-Identifier: Apache-2.0
// Impact analysis verdicts on small graphs whose answers are known: a tier
// with redundancy losing one of three (degraded) or two (down), the single
// database (down), paths through relationships, cycles, the depth limit.
#include <gtest/gtest.h>

#include <set>

#include "surveyor/collector/impact/impact.hpp"

namespace surveyor::collector::impact {
namespace {

using services::Redundancy;

ResolvedService shop() {
  ResolvedService s;
  s.name = "shop";
  s.criticality = "high";
  s.sla = services::Sla{99.9, "month"};
  s.groups.push_back({"frontends", {Redundancy::Kind::at_least, 2}, {"web1", "web2", "web3"}});
  s.groups.push_back({"database", {Redundancy::Kind::all}, {"db1"}});
  return s;
}

const ServiceImpact* find(const ImpactResult& r, const std::string& name) {
  for (const ServiceImpact& s : r.services)
    if (s.service == name) return &s;
  return nullptr;
}

auto all_up = [](std::string_view) { return true; };

TEST(Impact, LosingOneOfThreeWithTwoRequiredDegrades) {
  const Graph g = Graph::build({}, {shop()});
  auto r = analyse(g, "web1", all_up);
  const ServiceImpact* s = find(r, "shop");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->verdict, Verdict::degraded);
  EXPECT_EQ(s->path, (std::vector<std::string>{"web1", "service:shop"}));
  ASSERT_EQ(s->groups.size(), 2u);
  EXPECT_EQ(s->groups[0].up, 2u);
  EXPECT_EQ(s->groups[0].required, 2u);
  EXPECT_EQ(s->groups[0].down, std::vector<std::string>{"web1"});
  EXPECT_EQ(s->groups[0].redundancy, "at least 2");
  EXPECT_EQ(s->groups[1].up, 1u);
}

TEST(Impact, LosingASecondFrontendOrTheOnlyDatabaseIsDown) {
  const Graph g = Graph::build({}, {shop()});
  // web2 is already down: losing web1 leaves one of the two needed.
  auto r = analyse(g, "web1", [](std::string_view ci) { return ci != "web2"; });
  ASSERT_NE(find(r, "shop"), nullptr);
  EXPECT_EQ(find(r, "shop")->verdict, Verdict::down);
  EXPECT_EQ(find(r, "shop")->groups[0].down, (std::vector<std::string>{"web1", "web2"}));
  auto db = analyse(g, "db1", all_up);
  ASSERT_NE(find(db, "shop"), nullptr);
  EXPECT_EQ(find(db, "shop")->verdict, Verdict::down);
  // A CI nothing depends on affects nothing.
  auto none = analyse(g, "printer", all_up);
  EXPECT_TRUE(none.services.empty());
  EXPECT_TRUE(none.cis.empty());
}

TEST(Impact, FailuresTravelUpRelationshipsAndIntoServices) {
  // app1 runs on host1, which is connected to sw1; the shop's web tier is
  // app1 and app2 (any); the checkout service needs the shop.
  const std::vector<store::Relationship> rels{{"app1", "runs_on", "host1", "user", 0},
                                              {"app2", "runs_on", "host2", "user", 0},
                                              {"host1", "connected_to", "sw1", "user", 0},
                                              {"host2", "connected_to", "sw1", "user", 0},
                                              {"disk1", "member_of", "raid1", "agent", 0}};
  ResolvedService web{"web", "medium", std::nullopt, {{"apps", {Redundancy::Kind::any}, {"app1", "app2"}}}, {}};
  ResolvedService checkout{"checkout", "critical", std::nullopt, {{"web", {Redundancy::Kind::all}, {"service:web"}}}, {}};
  const Graph g = Graph::build(rels, {web, checkout});

  auto host = analyse(g, "host1", all_up);
  ASSERT_EQ(host.cis.size(), 1u);
  EXPECT_EQ(host.cis[0].id, "app1");
  ASSERT_NE(find(host, "web"), nullptr);
  EXPECT_EQ(find(host, "web")->verdict, Verdict::degraded);
  EXPECT_EQ(find(host, "web")->path, (std::vector<std::string>{"host1", "app1", "service:web"}));
  ASSERT_NE(find(host, "checkout"), nullptr);
  EXPECT_EQ(find(host, "checkout")->verdict, Verdict::degraded) << "a degraded dependency degrades";

  // The switch takes both hosts, both apps, the web tier and checkout down.
  auto sw = analyse(g, "sw1", all_up);
  std::set<std::string> cis;
  for (const AffectedCi& c : sw.cis) cis.insert(c.id);
  EXPECT_EQ(cis, (std::set<std::string>{"host1", "host2", "app1", "app2"}));
  EXPECT_EQ(find(sw, "web")->verdict, Verdict::down);
  EXPECT_EQ(find(sw, "checkout")->verdict, Verdict::down);
  EXPECT_EQ(sw.services[0].verdict, Verdict::down) << "worst first";

  // member_of points the other way: the array depends on its disks.
  auto disk = analyse(g, "disk1", all_up);
  ASSERT_EQ(disk.cis.size(), 1u);
  EXPECT_EQ(disk.cis[0].id, "raid1");

  bool truncated = true;
  auto deps = dependencies(g, "service:checkout", 10, &truncated);
  EXPECT_FALSE(truncated);
  std::set<std::string> below;
  for (const DependencyNode& d : deps) below.insert(d.node);
  EXPECT_EQ(below, (std::set<std::string>{"service:web", "app1", "app2", "host1", "host2", "sw1"}));
}

TEST(Impact, CyclesEndAndTheDepthLimitIsReported) {
  const std::vector<store::Relationship> rels{{"a", "depends_on", "b", "user", 0},
                                              {"b", "depends_on", "c", "user", 0},
                                              {"c", "depends_on", "a", "user", 0}};
  ResolvedService s1{"s1", "low", std::nullopt, {{"", {Redundancy::Kind::all}, {"service:s2", "a"}}}, {}};
  ResolvedService s2{"s2", "low", std::nullopt, {{"", {Redundancy::Kind::any}, {"service:s1", "x"}}}, {}};
  const Graph g = Graph::build(rels, {s1, s2});
  auto r = analyse(g, "a", all_up);
  std::set<std::string> cis;
  for (const AffectedCi& c : r.cis) cis.insert(c.id);
  EXPECT_EQ(cis, (std::set<std::string>{"b", "c"}));
  ASSERT_NE(find(r, "s1"), nullptr);
  ASSERT_NE(find(r, "s2"), nullptr);
  EXPECT_EQ(find(r, "s1")->verdict, Verdict::down);       // needs a, which failed
  EXPECT_EQ(find(r, "s2")->verdict, Verdict::degraded);   // any: x is still up
  EXPECT_FALSE(r.truncated);

  auto shallow = analyse(g, "a", all_up, 1);
  EXPECT_TRUE(shallow.truncated);
  for (const AffectedCi& c : shallow.cis) EXPECT_LE(c.depth, 1u);
}

}  // namespace
}  // namespace surveyor::collector::impact
