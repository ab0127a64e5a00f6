// SPDX-License-Identifier: Apache-2.0
// The inventory on fixtures, and on this machine against independent
// sources: hwloc-calc and nproc for the topology, /proc/meminfo read by awk,
// /etc/machine-id, os-release.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "surveyor/agent/inventory/collect.hpp"
#include "surveyor/agent/inventory/topology.hpp"
#include "surveyor/wire/codec.hpp"
#include "test_support.hpp"

namespace surveyor::agent::inventory {
namespace {

const std::string kFixtures = SURVEYOR_AGENT_FIXTURES;

std::string run(const std::string& cmd) { return test::run_command(cmd); }

TEST(OsRelease, QuotesEscapesAndComments) {
  auto kv = parse_os_release("NAME=\"Rocky Linux\"\nID=rocky\n# c\nX='single quoted'\nY=\"a \\\"q\\\" b\"\nbad line\n");
  EXPECT_EQ(kv["NAME"], "Rocky Linux");
  EXPECT_EQ(kv["ID"], "rocky");
  EXPECT_EQ(kv["X"], "single quoted");
  EXPECT_EQ(kv["Y"], "a \"q\" b");
  EXPECT_FALSE(kv.contains("bad line"));
}

TEST(HostInfo, FromAFixtureTree) {
  const std::string root = kFixtures + "/rocky9-server";
  auto h = read_host_info({root + "/etc", root + "/proc"});
  ASSERT_TRUE(h) << h.error().describe();
  EXPECT_EQ(h->host_id, "5f3c1a9e0b7d4c2e8f6a1b3c5d7e9f01");
  EXPECT_EQ(h->hostname, "db-prod-07");
  EXPECT_EQ(h->os_name, "Rocky Linux");
  EXPECT_EQ(h->os_version, "9.4");
  EXPECT_EQ(h->os_description, "Rocky Linux 9.4 (Blue Onyx)");
  EXPECT_EQ(h->kernel_release, "5.14.0-427.13.1.el9_4.x86_64");
  EXPECT_EQ(h->memory_total_bytes, 263596164ull * 1024);
  EXPECT_EQ(h->boot_time_ms, 1793862400000);
  EXPECT_EQ(h->os_type, "linux");
}

TEST(HostInfo, MissingMachineIdIsAReasonNotACrash) {
  test::TempDir empty;
  auto h = read_host_info({empty.path().string(), kFixtures + "/rocky9-server/proc"});
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, InventoryErrc::not_found);
  EXPECT_NE(h.error().message.find("machine-id"), std::string::npos);
  auto inv = collect({empty.path().string(), kFixtures + "/rocky9-server/proc"}, 5);
  EXPECT_EQ(inv.host.state, wire::SectionState::failed);
  EXPECT_FALSE(inv.host.reason.empty());
  EXPECT_FALSE(inv.host.data);
  EXPECT_EQ(inv.cpu.state, wire::SectionState::collected) << "one failed section does not fail the others";
}

TEST(HostInfo, ThisMachineAgreesWithItsOwnFiles) {
  auto h = read_host_info({});
  ASSERT_TRUE(h) << h.error().describe();
  EXPECT_EQ(h->host_id, run("cat /etc/machine-id"));
  EXPECT_EQ(h->memory_total_bytes, std::stoull(run("awk '/^MemTotal:/ {print $2}' /proc/meminfo")) * 1024);
  EXPECT_EQ(h->kernel_release, run("uname -r"));
  EXPECT_EQ(h->architecture, run("uname -m"));
  EXPECT_EQ(h->hostname, run("cat /proc/sys/kernel/hostname"));
  EXPECT_EQ(h->os_description, run(". /etc/os-release && echo \"$PRETTY_NAME\""));
  EXPECT_EQ(h->boot_time_ms / 1000, std::stoll(run("awk '/^btime/ {print $2}' /proc/stat")));
}

TEST(CpuTopology, ThisMachineAgreesWithHwlocCalcAndNproc) {
  auto c = read_cpu_topology({});
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->cores, std::stoul(run("hwloc-calc --number-of core all")));
  EXPECT_EQ(c->pus, std::stoul(run("hwloc-calc --number-of pu all")));
  EXPECT_EQ(c->packages, std::stoul(run("hwloc-calc --number-of package all")));
  EXPECT_EQ(c->numa_nodes, std::stoul(run("hwloc-calc --number-of numanode all")));
  EXPECT_EQ(c->pus, std::stoul(run("nproc --all")));
  EXPECT_EQ(c->model, run("lstopo-no-graphics --of xml | grep -o 'name=\"CPUModel\" value=\"[^\"]*\"' | head -1 | "
                          "sed 's/.*value=\"//;s/\"$//'"));
  // L1i is there only because the instruction-cache filter was turned on.
  bool l1i = false;
  for (const auto& k : c->caches) l1i = l1i || (k.level == 1 && k.kind == "instruction");
  const bool hwloc_sees_l1i = run("lstopo-no-graphics --filter icache:all --of console | grep -c L1i") != "0";
  EXPECT_EQ(l1i, hwloc_sees_l1i);
}

TEST(Collect, SectionsCarryDigestsThatTrackContent) {
  const std::string root = kFixtures + "/rocky9-server";
  const Roots roots{root + "/etc", root + "/proc"};
  auto a = collect(roots, 1);
  auto b = collect(roots, 2);
  ASSERT_EQ(a.host.state, wire::SectionState::collected);
  EXPECT_EQ(a.host.digest, wire::digest_of(*a.host.data));
  EXPECT_EQ(a.host.digest, b.host.digest);
  EXPECT_EQ(wire::inventory_digest(a), wire::inventory_digest(b)) << "collection time is not content";
  const std::string other = kFixtures + "/debian12-vm";
  auto c = collect({other + "/etc", other + "/proc"}, 1);
  EXPECT_NE(c.host.digest, a.host.digest);
}

}  // namespace
}  // namespace surveyor::agent::inventory
