// SPDX-License-Identifier: Apache-2.0
// Counter samplers: rates from two readings, wrap and reset handling, and
// the small /proc files; on fixtures and against this machine.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "surveyor/agent/samplers/proc_parsers.hpp"
#include "surveyor/agent/samplers/sampler.hpp"
#include "test_support.hpp"

namespace surveyor::agent::samplers {
namespace {

const std::string kFixtures = SURVEYOR_AGENT_FIXTURES;

struct Recorder final : SampleSink {
  std::map<std::string, double> points;
  void add(std::string_view metric, std::string_view, Attrs attrs, std::int64_t, double v) override {
    std::sort(attrs.begin(), attrs.end());
    std::string key(metric);
    key += "{";
    for (std::size_t i = 0; i < attrs.size(); ++i) key += (i ? "," : "") + attrs[i].first + "=" + attrs[i].second;
    points[key + "}"] = v;
  }
};

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(CounterIncrease, PlainWrapAndReset) {
  EXPECT_EQ(counter_increase(100, 250), 150u);
  EXPECT_EQ(counter_increase(7, 7), 0u);
  // A 32-bit counter wrapping: 4294967290 -> 10 is 16 more.
  EXPECT_EQ(counter_increase(4294967290ull, 10), 16u);
  // Small old value, smaller new value: the counter restarted, no rate.
  EXPECT_EQ(counter_increase(1000, 10), std::nullopt);
  // A 64-bit value going back is a restart, never a wrap.
  EXPECT_EQ(counter_increase(1ull << 40, 5), std::nullopt);
}

TEST(ProcParsers, DiskstatsAndNetDevAndLoadavg) {
  const auto disks = parse_diskstats(test::read_file(kFixtures + "/debian12-vm/proc/diskstats"));
  ASSERT_FALSE(disks.empty());
  bool vda = false;
  for (const auto& d : disks) vda = vda || d.name == "vda";
  EXPECT_TRUE(vda);
  const auto nets = parse_net_dev(test::read_file(kFixtures + "/debian12-vm/proc/net/dev"));
  ASSERT_EQ(nets.size(), 4u);
  EXPECT_EQ(nets[3].name, "eth0");
  EXPECT_EQ(nets[3].rx_bytes, 31583237u);
  EXPECT_EQ(nets[3].tx_packets, 417u);
  auto l = parse_loadavg("0.52 0.58 0.59 2/372 12345\n");
  ASSERT_TRUE(l);
  EXPECT_EQ((*l)[2], 0.59);
  EXPECT_FALSE(parse_loadavg("x y z"));
  EXPECT_FALSE(parse_loadavg("-1 0 0"));
}

TEST(DiskSampler, RatesFromTwoReadingsOfWholeDisksOnly) {
  test::TempDir root;
  write(root.path() / "sys/block/sda/.keep", "");
  const auto stats = root.path() / "proc/diskstats";
  // major minor name reads merged sectors ms writes merged sectors ms inflight io_ms weighted
  write(stats, "8 0 sda 100 0 2000 50 10 0 800 20 0 300 70\n8 1 sda1 100 0 2000 50 10 0 800 20 0 300 70\n"
               "7 0 loop0 5 0 10 0 0 0 0 0 0 0 0\n");
  auto s = make_disk_sampler((root.path() / "proc").string(), (root.path() / "sys").string());
  Recorder r;
  ASSERT_TRUE(s->sample(10'000, r));
  EXPECT_TRUE(r.points.empty());
  // 10 s later: +50 reads, +4000 sectors read, +1000 ms reading, +20 writes,
  // +1600 sectors written, +400 ms writing, +2500 ms busy.
  write(stats, "8 0 sda 150 0 6000 1050 30 0 2400 420 0 2800 70\n8 1 sda1 150 0 6000 1050 30 0 2400 420 0 2800 70\n");
  ASSERT_TRUE(s->sample(20'000, r));
  EXPECT_DOUBLE_EQ(r.points["system.disk.io{device=sda,direction=read}"], 4000.0 * 512 / 10);
  EXPECT_DOUBLE_EQ(r.points["system.disk.io{device=sda,direction=write}"], 1600.0 * 512 / 10);
  EXPECT_DOUBLE_EQ(r.points["system.disk.operations{device=sda,direction=read}"], 5.0);
  EXPECT_DOUBLE_EQ(r.points["system.disk.operations{device=sda,direction=write}"], 2.0);
  EXPECT_DOUBLE_EQ(r.points["system.disk.operation_time{device=sda,direction=read}"], 0.1);
  EXPECT_DOUBLE_EQ(r.points["system.disk.utilization{device=sda}"], 0.25);
  for (const auto& [k, v] : r.points) EXPECT_EQ(k.find("sda1"), std::string::npos) << "partitions are not disks: " << k;
  EXPECT_EQ(r.points.size(), 7u);
}

TEST(DiskSampler, ARestartedCounterSkipsARound) {
  test::TempDir root;
  write(root.path() / "sys/block/sda/.keep", "");
  const auto stats = root.path() / "proc/diskstats";
  write(stats, "8 0 sda 100 0 2000 50 10 0 800 20 0 300 70\n");
  auto s = make_disk_sampler((root.path() / "proc").string(), (root.path() / "sys").string());
  Recorder r;
  ASSERT_TRUE(s->sample(10'000, r));
  write(stats, "8 0 sda 3 0 20 1 1 0 8 1 0 3 1\n");
  ASSERT_TRUE(s->sample(20'000, r));
  EXPECT_TRUE(r.points.empty());
  write(stats, "8 0 sda 13 0 40 1 1 0 8 1 0 3 1\n");
  ASSERT_TRUE(s->sample(30'000, r));
  EXPECT_DOUBLE_EQ(r.points["system.disk.operations{device=sda,direction=read}"], 1.0);
}

TEST(NetworkSampler, RatesPerInterfaceWithoutLoopback) {
  test::TempDir root;
  const auto dev = root.path() / "net/dev";
  const std::string head = "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n";
  write(dev, head + "    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n  eth0: 4294967000 10 0 0 0 0 0 0 1000 5 0 0 0 0 0 0\n");
  auto s = make_network_sampler(root.path().string());
  Recorder r;
  ASSERT_TRUE(s->sample(0, r));
  // eth0's receive byte counter wraps at 32 bits: 4294967000 -> 704 is +1000.
  write(dev, head + "    lo: 900 9 0 0 0 0 0 0 900 9 0 0 0 0 0 0\n  eth0: 704 30 2 1 0 0 0 0 21000 45 0 3 0 0 0 0\n");
  ASSERT_TRUE(s->sample(2'000, r));
  EXPECT_DOUBLE_EQ(r.points["system.network.io{device=eth0,direction=receive}"], 500.0);
  EXPECT_DOUBLE_EQ(r.points["system.network.io{device=eth0,direction=transmit}"], 10000.0);
  EXPECT_DOUBLE_EQ(r.points["system.network.packets{device=eth0,direction=receive}"], 10.0);
  EXPECT_DOUBLE_EQ(r.points["system.network.errors{device=eth0,direction=receive}"], 1.0);
  EXPECT_DOUBLE_EQ(r.points["system.network.dropped{device=eth0,direction=transmit}"], 1.5);
  for (const auto& [k, v] : r.points) EXPECT_EQ(k.find("device=lo"), std::string::npos) << k;
}

TEST(SmallSamplers, LoadSwapUptimeProcesses) {
  Recorder r;
  ASSERT_TRUE(make_swap_sampler(kFixtures + "/rocky9-server/proc")->sample(1, r));
  EXPECT_EQ(r.points["system.paging.usage{state=used}"], (8388604.0 - 8121340.0) * 1024);
  EXPECT_DOUBLE_EQ(r.points["system.paging.utilization{state=free}"], 8121340.0 / 8388604.0);

  test::TempDir root;
  write(root.path() / "loadavg", "0.52 0.58 0.59 2/372 12345\n");
  write(root.path() / "uptime", "350735.47 234388.90\n");
  write(root.path() / "stat", "cpu  1 2 3 4\nprocs_running 3\nprocs_blocked 1\n");
  for (const char* pid : {"1", "42", "4242"}) std::filesystem::create_directories(root.path() / pid);
  std::filesystem::create_directories(root.path() / "self");
  ASSERT_TRUE(make_load_sampler(root.path().string())->sample(1, r));
  ASSERT_TRUE(make_uptime_sampler(root.path().string())->sample(1, r));
  ASSERT_TRUE(make_process_sampler(root.path().string())->sample(1, r));
  EXPECT_EQ(r.points["system.cpu.load_average.5m{}"], 0.58);
  EXPECT_EQ(r.points["system.uptime{}"], 350735.47);
  EXPECT_EQ(r.points["system.processes.count{}"], 3.0);
  EXPECT_EQ(r.points["system.processes.count{status=running}"], 3.0);
  EXPECT_EQ(r.points["system.processes.count{status=blocked}"], 1.0);
}

TEST(BuiltinSamplers, AllWorkOnThisMachine) {
  Recorder r;
  auto all = builtin_samplers("/proc", "/sys", "");
  EXPECT_EQ(all.size(), 9u);
  for (auto& s : all) ASSERT_TRUE(s->sample(1'000, r)) << s->name();
  // The second round once the kernel's tick counters (the first line of
  // /proc/stat) have moved, however long that takes on a busy machine.
  const auto cpu_line = [] {
    std::ifstream in("/proc/stat");
    std::string line;
    std::getline(in, line);
    return line;
  };
  const std::string before = cpu_line();
  ASSERT_TRUE(test::eventually([&] { return cpu_line() != before; }, std::chrono::seconds(10)));
  for (auto& s : all) ASSERT_TRUE(s->sample(11'000, r)) << s->name();
  for (const char* m : {"system.cpu.utilization{}", "system.cpu.load_average.1m{}", "system.memory.limit{}",
                        "system.paging.usage{state=free}", "system.processes.count{}", "system.uptime{}"})
    EXPECT_TRUE(r.points.contains(m)) << m;
  bool disk = false, net = false;
  for (const auto& [k, v] : r.points) {
    disk = disk || k.rfind("system.disk.utilization{", 0) == 0;
    net = net || k.rfind("system.network.io{", 0) == 0;
  }
  EXPECT_TRUE(disk);
  EXPECT_TRUE(net);
}

}  // namespace
}  // namespace surveyor::agent::samplers
