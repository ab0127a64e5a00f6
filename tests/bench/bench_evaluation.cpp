// SPDX-License-Identifier: Apache-2.0
// One evaluation step (availability of every host and service, then the
// incidents: signals, impact and urgency, SLA burn rates, hold-down) on a
// real SQLite store (docs/benchmarks.md).
//
//   bench_evaluation [--hosts N] [--services N] [--steps N] [--store URL]
//
// The store is a SQLite file in a temporary directory unless --store names
// another (redis://HOST:PORT/PREFIX: use a throwaway server).
//
// N hosts report every 60 s; each service stands on 10 of them (any 8 of 10)
// with a 99.9 % monthly SLA. Prints the time of a step while all is well,
// of the step in which a tenth of the hosts is found down (opening their
// incidents, linked and weighed), of the steps while they stay down, and of
// the steps in which they come back and resolve.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "surveyor/collector/backends/open.hpp"
#include "surveyor/collector/jobs/housekeeper.hpp"
#include "surveyor/core/clock.hpp"

namespace {

using namespace surveyor;
using namespace surveyor::collector;
using Steady = std::chrono::steady_clock;

struct Figures {
  std::vector<double> ms;
  void add(double v) { ms.push_back(v); }
  void print(const char* what, std::size_t notices) {
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2], worst = ms.back();
    const double p99 = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
    std::printf("%-34s steps %4zu  median %8.2f ms  p99 %8.2f ms  worst %8.2f ms  notices %zu\n", what, ms.size(),
                median, p99, worst, notices);
  }
};

}  // namespace

int main(int argc, char** argv) {
  int hosts = 2000, services_n = 200, steps = 30;
  std::string store_url;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--hosts")) hosts = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--services")) services_n = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--store")) store_url = argv[i + 1];
  }
  const auto dir = std::filesystem::temp_directory_path() / ("surveyor-bench-eval-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "services");
  for (int s = 0; s < services_n; ++s) {
    std::ofstream f(dir / "services" / ("svc" + std::to_string(s) + ".toml"));
    f << "name = \"svc" << s << "\"\nowner = \"o\"\ncriticality = \"" << (s % 4 == 0 ? "critical" : "medium")
      << "\"\nsla_target = 99.9\n[[group]]\nredundancy = \"at_least\"\nmin = 8\nmembers = [";
    for (int m = 0; m < 10; ++m) f << (m ? ", " : "") << "\"h" << (s * 10 + m) % hosts << "\"";
    f << "]\n";
  }
  if (store_url.empty()) store_url = "sqlite:" + (dir / "s.db").string();
  auto stores = backends::open_stores(store_url);
  if (!stores) {
    std::fprintf(stderr, "bench_evaluation: %s\n", stores.error().describe().c_str());
    return 1;
  }
  auto catalog = std::make_shared<services::Catalog>(dir / "services");
  if (!catalog->refresh().errors.empty()) return 1;
  const std::int64_t t0 = 1'795'000'000'000;
  core::ManualClock clock{core::from_unix_ms(t0)};
  metrics::Registry registry;
  jobs::HousekeepingOptions o;
  o.evaluation.catalog = catalog;
  std::size_t notices = 0;
  o.evaluation.notify = [&](const std::vector<incidents::Notice>& n) { notices += n.size(); };
  jobs::Housekeeper hk(*stores, clock, registry, o);
  auto report = [&](int from, int to) {
    for (int h = from; h < to; ++h) {
      store::CiUpdate u;
      u.id = "host-" + std::to_string(h);
      u.type = "host";
      u.name = "h" + std::to_string(h);
      u.source = "agent";
      u.attributes = {{"agent.heartbeat_interval_s", std::int64_t{60}}};
      u.seen_at_ms = core::to_unix_ms(clock.now());
      if (!stores->cmdb->upsert_ci(u)) std::abort();
    }
  };
  auto step = [&](Figures* f) {
    const auto start = Steady::now();
    auto r = hk.run_availability();
    const double ms = std::chrono::duration<double, std::milli>(Steady::now() - start).count();
    if (!r) {
      std::fprintf(stderr, "bench_evaluation: %s\n", r.error().describe().c_str());
      std::exit(1);
    }
    if (f) f->add(ms);
    clock.advance(std::chrono::seconds(10));
  };
  std::printf("bench_evaluation: %d hosts, %d services of 10 hosts (at least 8), 10 s steps, %s\n", hosts,
              services_n, stores->health->describe().c_str());
  report(0, hosts);
  step(nullptr);
  step(nullptr);  // the graph is built on the first steps
  const int down = hosts / 10;
  Figures well, found, during, back;
  for (int i = 0; i < steps; ++i) {
    if (i % 6 == 0) report(0, hosts);
    step(&well);
  }
  well.print("all up", notices);
  // A tenth stops reporting: down 120 s after their last heartbeat.
  notices = 0;
  for (int i = 0; i < 12; ++i) {
    if (i % 6 == 0) report(down, hosts);
    const std::size_t before = notices;
    Figures one;
    step(&one);
    if (notices > before) found.add(one.ms.front());
    else during.add(one.ms.front());
  }
  for (int i = 0; i < steps; ++i) {
    if (i % 6 == 0) report(down, hosts);
    step(&during);
  }
  found.print("a tenth found down", notices);
  during.print("while they stay down", 0);
  notices = 0;
  for (int i = 0; i < 36; ++i) {  // back; resolved after the 5-minute hold-down
    if (i % 6 == 0) report(0, hosts);
    step(&back);
  }
  back.print("back and resolving", notices);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
