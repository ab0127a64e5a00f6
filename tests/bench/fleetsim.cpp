// SPDX-License-Identifier: Apache-2.0
// surveyor-fleetsim: a fleet of simulated agents against a real collector
// (docs/benchmarks.md, "Ingest through HTTP"). Each agent enrolls, sends this
// host's inventory once in its first report (as its own: its host id and
// name changed; the first reports go before the timed ones and are not in
// their figures), then reports of --samples samples in series shaped like the agent's, over
// --connections keep-alive connections, as fast as the collector answers or
// paced at --rate reports/s in all. At the end it prints reports/s,
// samples/s, latency percentiles and errors by status, and, with
// --verify-token-file, counts through the API the samples the collector
// holds for the fleet and compares them with those it acknowledged
// (stored, or duplicates: stored by an attempt whose answer was lost, as
// when the collector is killed under load and the reports are sent again).
//
//   surveyor-fleetsim --url URL[,URL...] --enrollment-token-file FILE [--agents 200]
//       [--connections 32] [--duration 30s] [--rate 0] [--samples 60]
//       [--format binary|json] [--ca-file FILE] [--verify-token-file FILE]
//       [--backlog N] [--roam] [--cpu-of NAME=PID ...]
//
// Several URLs (collectors sharing one store) share the connections in
// turn, and each agent sends to one of them (agent i to URL i mod N), as an
// agent given several collectors does until its collector fails; with
// --roam every report goes to whichever collector's connection is free, so
// one agent's reports alternate between the collectors.
//
// --backlog N is the catch-up after an outage: every agent has N
// reports spooled (no inventory: it was sent before the outage) and sends
// them one at a time, as the agent does; the run ends when all are
// acknowledged, and the time it took is the catch-up time.
//
// --cpu-of NAME=PID (the collector, Redis) prints the CPU each used over
// the timed reports, as a share of a core and per report acknowledged,
// beside fleetsim's own: throughput on a shared machine varies from run to
// run, the CPU a report costs much less.
//
// Paced latencies count from the moment a report was due, not from when it
// could be sent (no coordinated omission).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "surveyor/agent/inventory/collect.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/duration.hpp"
#include "surveyor/http/client.hpp"
#include "surveyor/wire/codec.hpp"

namespace {

using namespace surveyor;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string url;
  std::string enrollment_token_file;
  std::string ca_file;
  std::string verify_token_file;
  std::string format = "binary";
  int agents = 200;
  int connections = 32;
  std::string duration = "30s";
  double rate = 0;  // reports/s in all; 0: as fast as answered
  int samples = 60;
  bool bare = false;  // against a server that answers 202 to anything: no enrollment, no acks
  int backlog = 0;    // reports each agent has spooled; 0: send for --duration
  bool roam = false;  // an agent's reports to whichever collector; else to one
  std::vector<std::string> cpu_of;  // NAME=PID: processes whose CPU the timed phase reports
};

// CPU time (user and system) a process has used so far, from
// /proc/PID/stat; nullopt when it cannot be read.
std::optional<double> cpu_seconds(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  const auto close = line.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // fields 3.. after the name; utime is 14, stime 15
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  if (!rest) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The processes named by --cpu-of, and fleetsim itself, with their CPU
// time at the start of the timed phase.
struct CpuWatch {
  std::string name;
  long pid;
  double start = 0;
};

struct Agent {
  std::string id, key, ci;
  std::uint64_t sequence = 0;
  bool inventory_sent = false;
  bool busy = false;  // a report of it is on the wire
};

struct Stats {
  std::vector<std::uint32_t> latency_us;
  std::map<std::string, std::uint64_t> errors;  // "HTTP 503", "timed out", ...
  std::uint64_t reports = 0, samples = 0, duplicates = 0;
};

std::string read_secret(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  return s;
}

// The series one simulated host reports: the agent's metrics, 10 series of
// samples/10 points each at 1 s spacing (distinct per report: times advance
// with the sequence from a start two days back).
std::vector<wire::Series> series_for(std::uint64_t sequence, int samples, std::int64_t base_ms, std::uint64_t seed) {
  static const std::vector<std::pair<std::string, std::vector<wire::Attribute>>> kShapes = {
      {"system.cpu.utilization", {{"state", "user"}}},
      {"system.cpu.utilization", {{"state", "system"}}},
      {"system.cpu.load_average.1m", {}},
      {"system.memory.usage", {{"state", "used"}}},
      {"system.memory.utilization", {{"state", "used"}}},
      {"system.filesystem.usage", {{"mountpoint", "/"}, {"state", "used"}}},
      {"system.filesystem.utilization", {{"mountpoint", "/"}}},
      {"system.network.io", {{"device", "eth0"}, {"direction", "receive"}}},
      {"system.network.io", {{"device", "eth0"}, {"direction", "transmit"}}},
      {"system.processes.count", {}},
  };
  const int per = std::max(1, samples / static_cast<int>(kShapes.size()));
  std::vector<wire::Series> out;
  std::uint64_t x = seed * 6364136223846793005ULL + sequence;
  for (const auto& [metric, attrs] : kShapes) {
    wire::Series s;
    s.metric = metric;
    s.unit = metric.find("utilization") != std::string::npos ? "1" : metric.find("load") != std::string::npos ? "1" : "By";
    s.attributes = attrs;
    for (int i = 0; i < per; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      const double noise = static_cast<double>(x >> 40) / static_cast<double>(1ULL << 24);
      const std::int64_t t = base_ms + static_cast<std::int64_t>(sequence) * per * 1000 + i * 1000;
      double v = noise;
      if (s.unit == "By") v = std::floor(1e9 + noise * 1e8 + static_cast<double>(sequence) * 4096);
      if (metric == "system.processes.count") v = std::floor(150 + noise * 20);
      // As the agent computes them: used / total of a size that is no power
      // of two (bytes of RAM, blocks of a filesystem), different per host.
      if (metric == "system.memory.utilization") {
        const double total = 16'000'000'000.0 + static_cast<double>(seed % 1'000'003) * 4096;
        v = std::floor(total * (0.3 + 0.4 * noise)) / total;
      }
      if (metric == "system.filesystem.utilization") {
        const double blocks = 25'000'000.0 + static_cast<double>(seed % 999'983);
        v = std::floor(blocks * (0.5 + 0.1 * noise)) / blocks;
      }
      s.points.push_back({t, v});
    }
    out.push_back(std::move(s));
  }
  return out;
}

asio::awaitable<core::Result<http::Response>> request(http::Client& c, http::Request r) {
  auto token = asio::use_awaitable;
  co_return co_await asio::async_initiate<decltype(token), void(core::Result<http::Response>)>(
      [&c](auto handler, http::Request req) {
        // std::function wants a copyable callback: the handler is shared.
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        c.async_request(std::move(req), [h](core::Result<http::Response> res) { std::move(*h)(std::move(res)); });
      },
      token, std::move(r));
}

std::string error_name(const core::Result<http::Response>& r) {
  if (!r) return r.error().code.message();
  return "HTTP " + std::to_string(r->status);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("surveyor-fleetsim: simulated agents against a collector");
  app.add_option("--url", o.url, "the collector (http:// or https://), or several separated by commas")->required();
  app.add_option("--enrollment-token-file", o.enrollment_token_file, "an enrollment token of enough uses");
  app.add_flag("--bare", o.bare, "the server is bench_bare_http: made-up identities, no enrollment, 202 is enough");
  app.add_option("--ca-file", o.ca_file, "CA of the collector's certificate (https)");
  app.add_option("--verify-token-file", o.verify_token_file, "a viewer token: count the stored samples at the end");
  app.add_option("--agents", o.agents, "simulated agents (10 to 100000)")->check(CLI::Range(1, 100000));
  app.add_option("--connections", o.connections, "keep-alive connections")->check(CLI::Range(1, 4096));
  app.add_option("--duration", o.duration, "how long reports are sent (10s, 2m)");
  app.add_option("--rate", o.rate, "reports per second in all (0: as fast as answered)");
  app.add_option("--samples", o.samples, "samples per report")->check(CLI::Range(10, 10000));
  app.add_option("--format", o.format, "binary or json")->check(CLI::IsMember({"binary", "json"}));
  app.add_flag("--roam", o.roam, "with several URLs, send each report to whichever collector, not each agent to one");
  app.add_option("--backlog", o.backlog, "reports each agent has spooled after an outage: send them all, then stop")
      ->check(CLI::Range(0, 100000));
  app.add_option("--cpu-of", o.cpu_of,
                 "NAME=PID: also print the CPU that process used over the timed reports, per report (repeatable)");
  CLI11_PARSE(app, argc, argv);
  std::vector<CpuWatch> watched;
  for (const std::string& w : o.cpu_of) {
    const auto eq = w.find('=');
    const long pid = eq == std::string::npos ? 0 : std::strtol(w.c_str() + eq + 1, nullptr, 10);
    if (pid <= 0 || !cpu_seconds(pid)) {
      std::fprintf(stderr, "fleetsim: --cpu-of %s: not NAME=PID of a running process\n", w.c_str());
      return 2;
    }
    watched.push_back({w.substr(0, eq), pid});
  }
  watched.push_back({"fleetsim", static_cast<long>(getpid())});
  if (!o.bare && o.enrollment_token_file.empty()) {
    std::fprintf(stderr, "fleetsim: --enrollment-token-file is required (or --bare)\n");
    return 2;
  }

  auto urls = http::parse_url_list(o.url);
  auto duration = core::parse_duration(o.duration);
  if (!urls || !duration) {
    std::fprintf(stderr, "fleetsim: bad --url or --duration\n");
    return 2;
  }
  const wire::Format format = o.format == "json" ? wire::Format::json : wire::Format::binary;
  const std::string content_type(wire::content_type_for(format));
  http::ClientOptions copts;
  copts.ca_file = o.ca_file;
  copts.timeout = std::chrono::seconds(30);
  const std::string token = o.bare ? std::string() : read_secret(o.enrollment_token_file);
  const std::int64_t now_ms = core::to_unix_ms(core::SystemClock().now());
  const std::int64_t base_ms = now_ms - 48LL * 3600 * 1000;

  // This host's inventory, sent by every simulated host as its own.
  wire::Inventory inventory = agent::inventory::collect({}, now_ms, false);

  asio::io_context io;
  std::vector<Agent> agents(static_cast<std::size_t>(o.agents));
  std::vector<std::unique_ptr<http::Client>> clients;
  for (int i = 0; i < o.connections; ++i)
    clients.push_back(std::make_unique<http::Client>(io, (*urls)[static_cast<std::size_t>(i) % urls->size()], copts));

  // Enrollment, on every connection at once.
  int enroll_failures = 0;
  std::size_t next_enroll = 0;
  const auto enroll_start = Clock::now();
  if (o.bare) {
    for (std::size_t i = 0; i < agents.size(); ++i) {
      agents[i].id = "agt-" + std::to_string(i);
      agents[i].key = std::string(64, 'k');
      agents[i].ci = "host-" + std::to_string(i);
    }
    next_enroll = agents.size();
  }
  for (auto& c : clients)
    asio::co_spawn(io, [&, client = c.get()]() -> asio::awaitable<void> {
      while (next_enroll < agents.size()) {
        const std::size_t i = next_enroll++;
        wire::EnrollRequest e{token, "fleetsim-" + std::to_string(now_ms) + "-" + std::to_string(i),
                              "sim-" + std::to_string(i), "fleetsim", {}, {}};
        http::Request r;
        r.method = "POST";
        r.target = "/api/v1/enroll";
        r.headers = {{"Content-Type", content_type}};
        r.body = wire::encode(e, format);
        auto res = co_await request(*client, std::move(r));
        if (!res || (res->status != 200 && res->status != 201)) {
          if (++enroll_failures <= 3)
            std::fprintf(stderr, "fleetsim: enrollment failed: %s %s\n", error_name(res).c_str(),
                         res ? res->body.c_str() : "");
          continue;
        }
        auto ans = wire::decode<wire::EnrollResponse>(res->body, format);
        if (!ans) {
          ++enroll_failures;
          continue;
        }
        agents[i].id = ans->agent_id;
        agents[i].key = ans->agent_key;
        agents[i].ci = ans->ci_id;
      }
    }, asio::detached);
  io.run();
  io.restart();
  const double enroll_s = std::chrono::duration<double>(Clock::now() - enroll_start).count();
  std::erase_if(agents, [](const Agent& a) { return a.id.empty(); });
  std::printf("enrolled %zu agents in %.1f s (%d failed)\n", agents.size(), enroll_s, enroll_failures);
  if (agents.empty()) return 1;

  // The agent's next report, with the host's inventory if it has not sent
  // it yet; n: its samples.
  const auto report_of = [&](Agent& a, std::size_t& n) {
    wire::Report rep;
    rep.agent_id = a.id;
    rep.sequence = ++a.sequence;
    rep.sent_at_ms = now_ms;
    rep.heartbeat_interval_s = 60;
    rep.agent_version = "fleetsim";
    if (!a.inventory_sent && o.backlog == 0 && !o.bare) {
      wire::Inventory inv = inventory;
      if (inv.host.data) {
        inv.host.data->host_id = "fleetsim-" + a.id;
        inv.host.data->hostname = "sim-" + a.id;
        inv.host.digest = wire::digest_of(*inv.host.data);
      }
      if (inv.hardware.data) {
        inv.hardware.data->system_serial = inv.hardware.data->system_uuid = inv.hardware.data->board_serial =
            inv.hardware.data->chassis_serial = "";
        inv.hardware.digest = wire::digest_of(*inv.hardware.data);
      }
      // Hardware identities of its own, as every real host has: NICs are
      // CIs by MAC and disks by WWN across the fleet, and 200 hosts with
      // this host's would all write the same CIs.
      const std::size_t h = std::hash<std::string>{}(a.id);
      if (inv.nics.data) {
        for (std::size_t i = 0; i < inv.nics.data->size(); ++i) {
          char mac[18];
          std::snprintf(mac, sizeof mac, "02:%02x:%02x:%02x:%02x:%02x", static_cast<unsigned>(h >> 24 & 0xff),
                        static_cast<unsigned>(h >> 16 & 0xff), static_cast<unsigned>(h >> 8 & 0xff),
                        static_cast<unsigned>(h & 0xff), static_cast<unsigned>(i & 0xff));
          if (!(*inv.nics.data)[i].mac.empty()) (*inv.nics.data)[i].mac = mac;
        }
        inv.nics.digest = wire::digest_of(*inv.nics.data);
      }
      if (inv.disks.data) {
        for (std::size_t i = 0; i < inv.disks.data->size(); ++i) {
          wire::Disk& d = (*inv.disks.data)[i];
          if (!d.wwn.empty()) d.wwn = "sim-" + a.id + "-" + std::to_string(i);
        }
        inv.disks.digest = wire::digest_of(*inv.disks.data);
      }
      rep.inventory_digest = wire::inventory_digest(inv);
      rep.inventory = std::move(inv);
    }
    rep.series = series_for(rep.sequence, o.samples, base_ms, std::hash<std::string>{}(a.id));
    n = 0;
    for (const auto& s : rep.series) n += s.points.size();
    http::Request r;
    r.method = "POST";
    r.target = "/api/v1/reports";
    r.headers = {{"Content-Type", content_type}, {"Authorization", "Bearer " + a.id + ":" + a.key}};
    r.body = wire::encode(rep, format);
    return r;
  };

  // Each host's first report carries its inventory, as an agent's does
  // once: sent before the timed reports, on every connection at once, and
  // left out of their figures (a fleet's inventories do not all arrive in
  // the same second). Its samples are counted in the check at the end.
  std::uint64_t first_samples = 0;
  if (!o.bare && o.backlog == 0) {
    int inventory_failures = 0;
    std::size_t next_inventory = 0;
    const auto inventory_start = Clock::now();
    for (auto& c : clients)
      asio::co_spawn(io, [&, client = c.get()]() -> asio::awaitable<void> {
        while (next_inventory < agents.size()) {
          Agent& a = agents[next_inventory++];
          std::size_t n = 0;
          auto res = co_await request(*client, report_of(a, n));
          if (!res || res->status != 202) {
            --a.sequence;  // the timed phase sends it again, inventory and all
            if (++inventory_failures <= 3)
              std::fprintf(stderr, "fleetsim: a first report failed: %s %s\n", error_name(res).c_str(),
                           res ? res->body.c_str() : "");
            continue;
          }
          a.inventory_sent = true;
          first_samples += n;
        }
      }, asio::detached);
    io.run();
    io.restart();
    std::printf("first reports  %zu, each with the host's inventory, in %.1f s (%d failed; not in the figures below)\n",
                agents.size(), std::chrono::duration<double>(Clock::now() - inventory_start).count(),
                inventory_failures);
  }

  // Reports. The agents of each collector (pools[u]: agent i sends to URL
  // i mod N, over the connections to it), or all in one pool with --roam.
  Stats st;
  const std::size_t n_pools = o.roam ? 1 : urls->size();
  std::vector<std::vector<Agent*>> pools(n_pools);
  for (std::size_t i = 0; i < agents.size(); ++i) pools[i % n_pools].push_back(&agents[i]);
  std::vector<std::size_t> next_of(n_pools, 0);
  std::uint64_t issued = 0;
  const auto start = Clock::now();
  for (CpuWatch& w : watched) w.start = cpu_seconds(w.pid).value_or(0);
  const auto end = o.backlog > 0 ? Clock::time_point::max() : start + *duration;
  const auto backlog = static_cast<std::uint64_t>(o.backlog);
  // With a backlog: the next agent with reports left and none on the wire;
  // nullptr when every agent is done or busy.
  const auto next_of_pool = [&](std::size_t pool) -> Agent& {
    return *pools[pool][next_of[pool]++ % pools[pool].size()];
  };
  const auto next_with_work = [&](std::size_t pool) -> Agent* {
    for (std::size_t tried = 0; tried < pools[pool].size(); ++tried) {
      Agent& a = next_of_pool(pool);
      if (!a.busy && a.sequence < backlog) return &a;
    }
    return nullptr;
  };
  for (std::size_t ci = 0; ci < clients.size(); ++ci)
    asio::co_spawn(io, [&, client = clients[ci].get(), pool = ci % n_pools]() -> asio::awaitable<void> {
      if (pools[pool].empty()) co_return;  // fewer agents than collectors
      asio::steady_timer pace(io);
      for (;;) {
        Clock::time_point due = Clock::now();
        Agent* picked = nullptr;
        if (o.backlog > 0) {
          picked = next_with_work(pool);
          if (picked == nullptr) {
            if (std::none_of(agents.begin(), agents.end(), [&](const Agent& a) { return a.sequence < backlog; }))
              co_return;
            pace.expires_after(std::chrono::milliseconds(5));  // the last agents' reports are on the wire
            co_await pace.async_wait(asio::use_awaitable);
            continue;
          }
        } else if (o.rate > 0) {
          due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                            static_cast<double>(issued) / o.rate));
          if (due >= end) co_return;
          ++issued;
          pace.expires_at(due);
          co_await pace.async_wait(asio::use_awaitable);
        } else if (due >= end) {
          co_return;
        }
        Agent& a = picked != nullptr ? *picked : next_of_pool(pool);
        a.busy = true;
        std::size_t n = 0;
        auto res = co_await request(*client, report_of(a, n));
        a.busy = false;
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - due).count();
        if (!res || res->status != 202) {
          ++st.errors[error_name(res)];
          --a.sequence;  // sent again later under the same number, as an agent would
          if (res && (res->status == 429 || res->status == 503)) {
            pace.expires_after(std::chrono::milliseconds(100));
            co_await pace.async_wait(asio::use_awaitable);
          }
          continue;
        }
        st.latency_us.push_back(static_cast<std::uint32_t>(us));
        ++st.reports;
        a.inventory_sent = true;
        // Stored or a duplicate, the samples are held: a duplicate is a
        // report stored by an attempt whose answer was lost (a collector
        // killed, a connection cut).
        st.samples += n;
        if (!o.bare) {
          auto ack = wire::decode<wire::ReportAck>(res->body, format);
          if (!ack) ++st.errors["bad acknowledgement"];
          if (ack && ack->duplicate) ++st.duplicates;
        }
      }
    }, asio::detached);
  io.run();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::string cpu_line;  // taken now: the count through the API below is not part of it
  for (const CpuWatch& w : watched) {
    const double used = cpu_seconds(w.pid).value_or(w.start) - w.start;
    char part[160];
    std::snprintf(part, sizeof part, "%s%s %.0f %% of a core, %.0f us a report", cpu_line.empty() ? "" : "; ",
                  w.name.c_str(), 100 * used / secs, st.reports > 0 ? 1e6 * used / static_cast<double>(st.reports) : 0.0);
    cpu_line += part;
  }

  std::sort(st.latency_us.begin(), st.latency_us.end());
  auto pct = [&](double p) {
    if (st.latency_us.empty()) return 0.0;
    const auto i = static_cast<std::size_t>(p * static_cast<double>(st.latency_us.size() - 1));
    return st.latency_us[i] / 1000.0;
  };
  std::printf("%s reports of %d samples from %zu agents over %d connections to %zu collector(s) for %.1f s%s\n",
              o.format.c_str(), o.samples, agents.size(), o.connections, urls->size(), secs,
              o.rate > 0 ? (", paced at " + std::to_string(static_cast<int>(o.rate)) + "/s").c_str() : "");
  if (o.backlog > 0)
    std::printf("  catch-up      a backlog of %d reports per agent (%llu in all) acknowledged in %.1f s\n", o.backlog,
                static_cast<unsigned long long>(backlog * agents.size()), secs);
  std::printf("  acknowledged  %llu reports (%llu duplicates): %.0f reports/s, %.0f samples/s\n",
              static_cast<unsigned long long>(st.reports), static_cast<unsigned long long>(st.duplicates),
              static_cast<double>(st.reports) / secs, static_cast<double>(st.samples) / secs);
  std::printf("  latency       p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", pct(0.5), pct(0.99), pct(1.0));
  std::uint64_t errors = 0;
  for (const auto& [what, n] : st.errors) {
    std::printf("  errors        %s: %llu\n", what.c_str(), static_cast<unsigned long long>(n));
    errors += n;
  }
  if (errors == 0) std::printf("  errors        none\n");
  std::printf("  cpu           %s\n", cpu_line.c_str());

  if (o.verify_token_file.empty() || o.bare) return 0;
  // Every acknowledged sample must be in the store: count them through the
  // series API, per metric, for the fleet's hosts in batches.
  const std::string viewer = read_secret(o.verify_token_file);
  std::uint64_t stored = 0;
  bool failed = false;
  http::Client client(io, urls->front(), copts);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    static const char* kMetrics[] = {"system.cpu.utilization", "system.cpu.load_average.1m", "system.memory.usage",
                                     "system.memory.utilization", "system.filesystem.usage",
                                     "system.filesystem.utilization", "system.network.io", "system.processes.count"};
    // 20 hosts a query, at most 2 series each per metric: 40 series of up to
    // 25,000 points, within the API's million points a query.
    for (std::size_t from = 0; from < agents.size(); from += 20) {
      std::string cis;
      for (std::size_t i = from; i < std::min(agents.size(), from + 20); ++i) cis += (cis.empty() ? "" : ",") + agents[i].ci;
      for (const char* m : kMetrics) {
        http::Request r;
        r.target = "/api/v1/series?ci=" + cis + "&metric=" + m + "&from=" + std::to_string(base_ms - 1000) +
                   "&to=" + std::to_string(now_ms) + "&limit=25000";
        r.headers = {{"Authorization", "Bearer " + viewer}};
        auto res = co_await request(client, std::move(r));
        if (!res || res->status != 200) {
          std::fprintf(stderr, "fleetsim: counting failed: %s %s\n", error_name(res).c_str(), res ? res->body.c_str() : "");
          failed = true;
          co_return;
        }
        boost::system::error_code ec;
        auto doc = boost::json::parse(res->body, ec);
        if (ec) {
          failed = true;
          co_return;
        }
        for (const auto& s : doc.at("series").as_array()) {
          if (s.at("truncated").as_bool()) {
            std::fprintf(stderr, "fleetsim: a series has more than 25,000 points: run shorter or with more agents\n");
            failed = true;
            co_return;
          }
          stored += s.at("points").as_array().size();
        }
      }
    }
  }, asio::detached);
  io.restart();
  io.run();
  if (failed) return 1;
  const std::uint64_t acknowledged = st.samples + first_samples;
  std::printf("  stored        %llu samples counted through the API, %llu acknowledged: %s\n",
              static_cast<unsigned long long>(stored), static_cast<unsigned long long>(acknowledged),
              stored == acknowledged ? "all there" : "MISMATCH");
  return stored == acknowledged ? 0 : 1;
}
