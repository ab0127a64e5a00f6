// SPDX-License-Identifier: Apache-2.0
// Samplers and parsers on fixture trees copied from real machines, and on
// this machine against independent tools (df).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "../shared/wire_fixtures.hpp"
#include "surveyor/agent/samplers/proc_parsers.hpp"
#include "surveyor/agent/samplers/sampler.hpp"
#include "surveyor/wire/codec.hpp"
#include "test_support.hpp"

namespace surveyor::agent::samplers {
namespace {

const std::string kFixtures = SURVEYOR_AGENT_FIXTURES;

// A sink that keeps every point by "metric{k=v,...}".
struct Recorder final : SampleSink {
  std::map<std::string, double> points;
  std::map<std::string, std::string> units;
  void add(std::string_view metric, std::string_view unit, Attrs attrs, std::int64_t, double v) override {
    std::sort(attrs.begin(), attrs.end());
    std::string key(metric);
    key += "{";
    for (std::size_t i = 0; i < attrs.size(); ++i) key += (i ? "," : "") + attrs[i].first + "=" + attrs[i].second;
    key += "}";
    points[key] = v;
    units[key] = unit;
  }
};

std::string run(const std::string& cmd) { return test::run_command(cmd); }

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(ProcParsers, ProcStatAggregateLine) {
  auto t = parse_proc_stat_cpu(test::read_file(kFixtures + "/rocky9-server/proc/stat"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ticks[0], 2255347u);
  EXPECT_EQ(t->ticks[3], 892245981u);
  EXPECT_EQ(t->total(), 2255347u + 3411 + 1012541 + 892245981 + 122487 + 0 + 31872 + 0);
  EXPECT_FALSE(parse_proc_stat_cpu("cpu0 1 2 3 4 5\n"));
  EXPECT_FALSE(parse_proc_stat_cpu("cpu  1 2\n"));
  EXPECT_FALSE(parse_proc_stat_cpu(""));
}

TEST(ProcParsers, MountsDecodeEscapesAndModes) {
  auto mounts = parse_mounts(test::read_file(kFixtures + "/rocky9-server/proc/self/mounts"));
  ASSERT_EQ(mounts.size(), 9u);
  EXPECT_EQ(mounts[6].mountpoint, "/srv/backup data");
  EXPECT_TRUE(mounts[6].read_only);
  EXPECT_FALSE(mounts[0].read_only);
  std::vector<std::string> real;
  for (const Mount& m : mounts)
    if (is_real_filesystem(m.type)) real.push_back(m.mountpoint);
  // proc, sysfs, tmpfs, overlay and NFS are left out.
  EXPECT_EQ(real, (std::vector<std::string>{"/", "/boot", "/boot/efi", "/srv/backup data"}));
}

TEST(CpuSampler, UtilizationFromTickDeltas) {
  test::TempDir root;
  const auto stat = root.path() / "stat";
  write(stat, "cpu  100 10 50 800 20 5 5 10 0 0\n");
  auto s = make_cpu_sampler(root.path().string());
  Recorder r;
  ASSERT_TRUE(s->sample(1000, r));
  EXPECT_TRUE(r.points.empty()) << "the first reading is only a baseline";
  // +60 user, +0 nice, +20 system, +100 idle, +10 iowait, +5 irq, +0 softirq, +5 steal = 200
  write(stat, "cpu  160 10 70 900 30 10 5 15 0 0\n");
  ASSERT_TRUE(s->sample(2000, r));
  EXPECT_DOUBLE_EQ(r.points["system.cpu.utilization{state=user}"], 60.0 / 200);
  EXPECT_DOUBLE_EQ(r.points["system.cpu.utilization{state=system}"], 20.0 / 200);
  EXPECT_DOUBLE_EQ(r.points["system.cpu.utilization{state=idle}"], 100.0 / 200);
  EXPECT_DOUBLE_EQ(r.points["system.cpu.utilization{state=iowait}"], 10.0 / 200);
  EXPECT_DOUBLE_EQ(r.points["system.cpu.utilization{state=steal}"], 5.0 / 200);
  EXPECT_DOUBLE_EQ(r.points["system.cpu.utilization{}"], 1.0 - 110.0 / 200);
  EXPECT_EQ(r.units["system.cpu.utilization{}"], "1");
  double sum = 0;
  for (const char* st : kCpuStates) sum += r.points[std::string("system.cpu.utilization{state=") + st + "}"];
  EXPECT_NEAR(sum, 1.0, 1e-12);
}

TEST(CpuSampler, CounterGoingBackwardsRestartsTheBaseline) {
  test::TempDir root;
  write(root.path() / "stat", "cpu  1000 0 0 1000 0 0 0 0 0 0\n");
  auto s = make_cpu_sampler(root.path().string());
  Recorder r;
  ASSERT_TRUE(s->sample(1, r));
  write(root.path() / "stat", "cpu  10 0 0 10 0 0 0 0 0 0\n");
  ASSERT_TRUE(s->sample(2, r));
  EXPECT_TRUE(r.points.empty());
  write(root.path() / "stat", "cpu  20 0 0 30 0 0 0 0 0 0\n");
  ASSERT_TRUE(s->sample(3, r));
  EXPECT_DOUBLE_EQ(r.points["system.cpu.utilization{state=user}"], 10.0 / 30);
}

TEST(CpuSampler, MissingOrGarbledSourceIsAnError) {
  test::TempDir root;
  auto s = make_cpu_sampler(root.path().string());
  Recorder r;
  auto st = s->sample(1, r);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, SamplerErrc::unreadable);
  write(root.path() / "stat", "garbage\n");
  st = s->sample(2, r);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, SamplerErrc::malformed);
}

TEST(MemorySampler, StatesAsProcpsFreeComputesThem) {
  auto s = make_memory_sampler(kFixtures + "/rocky9-server/proc");
  Recorder r;
  ASSERT_TRUE(s->sample(1, r));
  const double total = 263596164.0 * 1024, free = 4188692.0 * 1024, buffers = 912340.0 * 1024;
  const double cached = (180612872.0 + 10904412.0) * 1024;
  EXPECT_EQ(r.points["system.memory.limit{}"], total);
  EXPECT_EQ(r.points["system.memory.usage{state=free}"], free);
  EXPECT_EQ(r.points["system.memory.usage{state=buffered}"], buffers);
  EXPECT_EQ(r.points["system.memory.usage{state=cached}"], cached);
  EXPECT_EQ(r.points["system.memory.usage{state=used}"], total - free - buffers - cached);
  EXPECT_DOUBLE_EQ(r.points["system.memory.utilization{state=used}"], (total - free - buffers - cached) / total);
  EXPECT_EQ(r.units["system.memory.usage{state=used}"], "By");
}

TEST(MemorySampler, ThisMachineMatchesFree) {
  auto s = make_memory_sampler("/proc");
  Recorder r;
  ASSERT_TRUE(s->sample(1, r));
  // free(1) from procps, an independent reading of the same kernel counters.
  std::istringstream in(run("free -b | awk '/^Mem:/ {print $2}'"));
  double total = 0;
  ASSERT_TRUE(in >> total);
  EXPECT_EQ(r.points["system.memory.limit{}"], total);
}

TEST(FilesystemSampler, RealMountsOnceAndAsDfSeesThem) {
  test::TempDir root;
  // This machine's root, a bind mount of the same filesystem, and pseudo mounts.
  const std::string dev = run("findmnt -n -o SOURCE /");
  const std::string type = run("findmnt -n -o FSTYPE /");
  const std::string d = dev.substr(0, dev.find('\n')), t = type.substr(0, type.find('\n'));
  if (!is_real_filesystem(t)) GTEST_SKIP() << "/ is " << t << " here, not a disk filesystem";
  write(root.path() / "self/mounts", d + " / " + t + " rw,relatime 0 0\nproc /proc proc rw 0 0\n" + d + " " +
                                         root.path().string() + " " + t + " rw,relatime 0 0\n");
  auto s = make_filesystem_sampler(root.path().string());
  Recorder r;
  ASSERT_TRUE(s->sample(1, r));
  const std::string attrs = "device=" + d + ",mode=rw,mountpoint=/,";
  ASSERT_TRUE(r.points.contains("system.filesystem.usage{" + attrs + "state=used,type=" + t + "}"));
  EXPECT_EQ(r.points.size(), 4u) << "the bind mount of the same filesystem is not counted again";

  std::istringstream df(run("df -B1 --output=used,avail / | tail -1"));
  double used = 0, avail = 0;
  ASSERT_TRUE(df >> used >> avail);
  // The filesystem is live: allow what a busy test machine writes in a moment.
  EXPECT_NEAR(r.points["system.filesystem.usage{" + attrs + "state=used,type=" + t + "}"], used, 64.0 * 1024 * 1024);
  EXPECT_NEAR(r.points["system.filesystem.usage{" + attrs + "state=free,type=" + t + "}"], avail, 64.0 * 1024 * 1024);
  EXPECT_NEAR(r.points["system.filesystem.utilization{" + attrs + "type=" + t + "}"], used / (used + avail), 0.001);
}

TEST(SeriesBuffer, GroupsPointsAndSortsAttributes) {
  SeriesBuffer b;
  b.add("m", "1", {{"z", "1"}, {"a", "2"}}, 10, 1.0);
  b.add("m", "1", {{"a", "2"}, {"z", "1"}}, 20, 2.0);
  b.add("m", "1", {{"a", "2"}, {"z", "1"}}, 20, 3.0);  // same time again: dropped
  b.add("m", "1", {}, 10, 4.0);
  EXPECT_EQ(b.points(), 3u);
  auto series = b.take();
  ASSERT_EQ(series.size(), 2u);
  EXPECT_TRUE(series[0].attributes.empty());
  ASSERT_EQ(series[1].attributes.size(), 2u);
  EXPECT_EQ(series[1].attributes[0].key, "a");
  ASSERT_EQ(series[1].points.size(), 2u);
  EXPECT_EQ(series[1].points[1].value, 2.0);
  EXPECT_EQ(b.points(), 0u);
  EXPECT_TRUE(b.take().empty());
}

TEST(SeriesBuffer, DropsWhatTheCollectorWouldRefuse) {
  SeriesBuffer b;
  b.add("bad metric", "1", {}, 10, 1.0);
  b.add("m", "1", {{"bad key", "x"}}, 10, 1.0);
  b.add("m", "1", {{"k", "a"}, {"k", "b"}}, 10, 1.0);
  b.add("m", "1", {}, 0, 1.0);
  b.add("m", "1", {{"mountpoint", std::string(300, 'x')}}, 10, 1.0);
  EXPECT_EQ(b.dropped(), 4u);
  auto s = b.take();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].attributes[0].value.size(), 255u);
  wire::Report r = test::bare_report("a");
  r.series = s;
  EXPECT_TRUE(wire::validate(r));
}

}  // namespace
}  // namespace surveyor::agent::samplers
