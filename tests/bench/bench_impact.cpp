// SPDX-License-Identifier: Apache-2.0
// Impact analysis on a generated CMDB of 100,000 CIs and 500,000
// relationships (docs/benchmarks.md), shaped like a data centre: switches,
// hosts connected to two of them, components contained in hosts, and
// applications running on hosts and depending on other applications (only
// on earlier ones, as layers do), with 1,000 services over the applications.
//
//   bench_impact [--seed N] [--runs N]
//
// Prints the graph's build time and size, then the time of analyse() for
// CIs of each kind (median and worst over the runs, each on a different CI),
// with how much each answer held.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "surveyor/collector/impact/impact.hpp"

namespace {

using namespace surveyor::collector;
using Clock = std::chrono::steady_clock;

constexpr int kSwitches = 200, kHosts = 30'000, kComponents = 50'000, kApps = 19'800;
constexpr int kAppHosts = 4, kAppDeps = 15;

std::string sw(int i) { return "sw-" + std::to_string(i); }
std::string host(int i) { return "host-" + std::to_string(i); }
std::string comp(int i) { return "comp-" + std::to_string(i); }
std::string app(int i) { return "app-" + std::to_string(i); }

}  // namespace

int main(int argc, char** argv) {
  unsigned seed = 20261125;
  int runs = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seed") == 0) seed = static_cast<unsigned>(std::atoi(argv[i + 1]));
    else if (std::strcmp(argv[i], "--runs") == 0) runs = std::max(1, std::atoi(argv[i + 1]));
  }
  std::mt19937 rng(seed);
  auto pick = [&rng](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };

  std::vector<store::Relationship> rels;
  rels.reserve(500'000);
  for (int h = 0; h < kHosts; ++h) {
    const int a = pick(kSwitches);
    rels.push_back({host(h), "connected_to", sw(a), "agent", 0});
    rels.push_back({host(h), "connected_to", sw((a + 1 + pick(kSwitches - 1)) % kSwitches), "agent", 0});
  }
  for (int c = 0; c < kComponents; ++c) rels.push_back({host(c % kHosts), "contains", comp(c), "agent", 0});
  for (int a = 0; a < kApps; ++a) {
    for (int k = 0; k < kAppHosts; ++k) rels.push_back({app(a), "runs_on", host(pick(kHosts)), "user", 0});
    for (int k = 0; k < kAppDeps && a > 0; ++k) rels.push_back({app(a), "depends_on", app(pick(a)), "user", 0});
  }
  while (rels.size() < 500'000) rels.push_back({app(pick(kApps)), "uses", app(pick(kApps)), "user", 0});
  std::vector<impact::ResolvedService> services;
  for (int s = 0; s < 1'000; ++s) {
    impact::ResolvedService svc;
    svc.name = "svc-" + std::to_string(s);
    svc.criticality = "high";
    impact::ResolvedGroup web{"web", {services::Redundancy::Kind::at_least, 2}, {}};
    for (int k = 0; k < 3; ++k) web.members.push_back(app(pick(kApps)));
    impact::ResolvedGroup db{"db", {services::Redundancy::Kind::all}, {app(pick(kApps))}};
    svc.groups = {web, db};
    services.push_back(std::move(svc));
  }
  const std::size_t cis = kSwitches + kHosts + kComponents + kApps;

  const auto t0 = Clock::now();
  const impact::Graph g = impact::Graph::build(rels, services);
  const double build_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  std::printf("graph: %zu CIs, %zu relationships, %zu services: %zu nodes, %zu edges, built in %.0f ms\n", cis,
              rels.size(), services.size(), g.nodes(), g.edges(), build_ms);

  auto up = [](std::string_view) { return true; };
  struct Kind {
    const char* what;
    std::string (*name)(int);
    int count;
  };
  const Kind kinds[] = {{"component", comp, kComponents}, {"host", host, kHosts},
                        {"application", app, kApps}, {"switch", sw, kSwitches}};
  for (const Kind& k : kinds) {
    std::vector<double> ms;
    std::size_t most_cis = 0, most_services = 0, truncated = 0;
    double sum_cis = 0;
    for (int r = 0; r < runs; ++r) {
      const std::string ci = k.name(pick(k.count));
      const auto s = Clock::now();
      const impact::ImpactResult res = impact::analyse(g, ci, up, 10);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
      most_cis = std::max(most_cis, res.cis.size());
      most_services = std::max(most_services, res.services.size());
      sum_cis += static_cast<double>(res.cis.size());
      truncated += res.truncated;
    }
    std::sort(ms.begin(), ms.end());
    std::printf("impact of a %-11s median %7.3f ms  p99 %7.3f ms  worst %7.3f ms  (%d runs; CIs affected: mean %.0f, "
                "most %zu; services reached: most %zu; depth limit hit %zu times)\n",
                k.what, ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back(), runs, sum_cis / runs, most_cis,
                most_services, truncated);
  }
  return 0;
}
