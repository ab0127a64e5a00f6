// SPDX-License-Identifier: Apache-2.0
// The full inventory against independent sources on this machine (dpkg-query,
// lsblk, ip, findmnt, systemd-detect-virt) and its parsers on fixtures and
// crafted SMBIOS tables.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "../shared/wire_fixtures.hpp"
#include "surveyor/agent/inventory/collect.hpp"
#include "surveyor/agent/inventory/devices.hpp"
#include "surveyor/agent/inventory/hardware.hpp"
#include "surveyor/agent/inventory/mounts.hpp"
#include "surveyor/agent/inventory/packages.hpp"
#include "surveyor/agent/runner/inventory_tracker.hpp"
#include "surveyor/wire/codec.hpp"
#include "test_support.hpp"

namespace surveyor::agent::inventory {
namespace {

namespace json = boost::json;
const std::string kFixtures = SURVEYOR_AGENT_FIXTURES;

std::string run(const std::string& cmd) { return test::run_command(cmd); }

json::value run_json(const std::string& cmd) { return json::parse(run(cmd)); }

std::string str(const json::value& v) { return v.is_string() ? std::string(v.get_string()) : std::string(); }

// ---- SMBIOS ----------------------------------------------------------------

std::string structure(std::uint8_t type, const std::vector<std::uint8_t>& body, const std::vector<std::string>& strings) {
  std::string s;
  s += static_cast<char>(type);
  s += static_cast<char>(4 + body.size());
  s += std::string("\x01\x00", 2);  // handle
  for (auto b : body) s += static_cast<char>(b);
  for (const auto& str : strings) s += str + '\0';
  s += strings.empty() ? std::string(2, '\0') : std::string(1, '\0');
  return s;
}

void put16(std::vector<std::uint8_t>& b, std::size_t off, std::uint16_t v) {
  b[off - 4] = v & 0xff;
  b[off - 3] = static_cast<std::uint8_t>(v >> 8);
}
void put32(std::vector<std::uint8_t>& b, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off - 4 + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// A type 17 structure of SMBIOS 2.7 length (0x22).
std::vector<std::uint8_t> memory_device(std::uint16_t size, std::uint8_t type, std::uint16_t speed) {
  std::vector<std::uint8_t> b(0x22 - 4, 0);
  put16(b, 0x0C, size);
  b[0x0E - 4] = 0x09;  // DIMM
  b[0x10 - 4] = 1;     // locator
  b[0x11 - 4] = 2;     // bank
  b[0x12 - 4] = type;
  put16(b, 0x15, speed);
  b[0x17 - 4] = 3;  // manufacturer
  b[0x18 - 4] = 4;  // serial
  b[0x1A - 4] = 5;  // part number
  put16(b, 0x20, 2933);
  return b;
}

TEST(Smbios, MemoryDevicesAsDmidecodeDescribesThem) {
  std::string table = structure(0, std::vector<std::uint8_t>(0x14, 0), {"Dell Inc.", "1.10.2"});  // BIOS, skipped
  table += structure(17, memory_device(16384, 0x1A, 3200),
                     {"DIMM_A1", "BANK 0", "Samsung", "12AB34CD", "M393A2K43DB3-CWE"});
  table += structure(17, memory_device(0, 0x02, 0), {"DIMM_A2", "BANK 1", "Not Specified", "Not Specified", "NO DIMM"});
  auto big = memory_device(0x7FFF, 0x22, 4800);
  put32(big, 0x1C, 65536);  // 64 GiB in the extended size field
  table += structure(17, big, {"DIMM_B1", "BANK 2", "Micron", "Not Specified", "MTC40F2046S1RC48BA1"});
  table += structure(17, memory_device(0x8000 | 512, 0x0F, 0), {"CACHE", "-", "None", "0", "-"});
  table += structure(127, {}, {});
  table += structure(17, memory_device(1024, 0x18, 1600), {"AFTER-END", "", "x", "y", "z"});

  auto m = parse_smbios_memory(table);
  ASSERT_TRUE(m) << m.error().describe();
  ASSERT_EQ(m->size(), 3u) << "the empty slot and whatever follows the end marker are left out";
  EXPECT_EQ((*m)[0], (wire::MemoryModule{"DIMM_A1", "BANK 0", 16ull << 30, "DDR4", "DIMM", 3200, 2933, "Samsung",
                                         "12AB34CD", "M393A2K43DB3-CWE"}));
  EXPECT_EQ((*m)[1].size_bytes, 64ull << 30);
  EXPECT_EQ((*m)[1].type, "DDR5");
  EXPECT_EQ((*m)[1].serial, "") << "placeholder serials are absent";
  EXPECT_EQ((*m)[2].size_bytes, 512ull << 10);
  EXPECT_EQ((*m)[2].manufacturer, "");
}

TEST(Smbios, BadTablesAreErrorsNotCrashes) {
  const std::string good = structure(17, memory_device(8192, 0x1A, 2666), {"A", "B", "C", "D", "E"});
  EXPECT_FALSE(parse_smbios_memory(std::string("\x11\x02\x00\x00", 4)));  // length below the header
  EXPECT_FALSE(parse_smbios_memory(good.substr(0, 20)));                // cut inside the formatted area
  EXPECT_FALSE(parse_smbios_memory(good.substr(0, good.size() - 3)));   // strings not terminated
  // A string index past the strings there are reads as "".
  auto b = memory_device(8192, 0x1A, 2666);
  b[0x17 - 4] = 42;
  auto r = parse_smbios_memory(structure(17, b, {"A"}));
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].manufacturer, "");
  // Every truncation of a good table is refused; only the empty table (no
  // structures) and the whole one parse.
  for (std::size_t n = 1; n < good.size(); ++n) {
    auto cut = parse_smbios_memory(good.substr(0, n));
    EXPECT_FALSE(cut) << n << " bytes parsed as " << cut->size() << " module(s)";
    if (!cut) {
      EXPECT_FALSE(cut.error().message.empty()) << n;
    }
  }
  auto empty = parse_smbios_memory("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto padded = parse_smbios_memory(good + std::string(3, '\0'));  // zero padding after the last structure
  ASSERT_TRUE(padded) << padded.error().describe();
  EXPECT_EQ(padded->size(), 1u);
  auto whole = parse_smbios_memory(good);
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->size(), 1u);
  EXPECT_EQ(whole->front().size_bytes, 8192ull << 20);
}

// ---- DMI and identity --------------------------------------------------------

TEST(Identity, PlaceholdersAreAbsent) {
  for (const char* p : {"To Be Filled By O.E.M.", "Default string", "System Serial Number", "Not Specified", "None",
                        "00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "  ", "0",
                        "03000200-0400-0500-0006-000700080009", "XXXXXXXX"})
    EXPECT_TRUE(is_placeholder(p)) << p;
  for (const char* real : {"7XK2JH3", "4C4C4544-0058-4B10-8032-B7C04F4A4833", "VMware-42 1a 2b", "CZ12345678"})
    EXPECT_FALSE(is_placeholder(real)) << real;
  EXPECT_EQ(clean_identity("  7XK2JH3\n"), "7XK2JH3");
}

TEST(Hardware, FromADmiFixture) {
  Roots roots;
  roots.sys = kFixtures + "/rocky9-server/sys";
  auto h = read_hardware(roots);
  ASSERT_TRUE(h && h->has_value()) << (h ? "no DMI" : h.error().describe());
  const wire::Hardware& x = **h;
  EXPECT_EQ(x.system_vendor, "Dell Inc.");
  EXPECT_EQ(x.system_product, "PowerEdge R650");
  EXPECT_EQ(x.system_version, "") << "'Not Specified' is no version";
  EXPECT_EQ(x.system_serial, "7XK2JH3");
  EXPECT_EQ(x.system_uuid, "4c4c4544-0058-4b10-8032-b7c04f4a4833");
  EXPECT_EQ(x.chassis_type, "rack mount chassis");
  EXPECT_EQ(x.chassis_serial, "") << "placeholder";
  EXPECT_EQ(x.bios_date, "05/12/2023");
  EXPECT_TRUE(x.unreadable.empty());
}

TEST(Hardware, NoDmiIsEmptyNotFailed) {
  test::TempDir empty;
  Roots roots;
  roots.sys = empty.path().string();
  auto h = read_hardware(roots);
  ASSERT_TRUE(h);
  EXPECT_FALSE(h->has_value());
  auto m = read_memory_modules(roots);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->has_value());
}

// ---- packages -------------------------------------------------------------

TEST(Packages, DpkgStatusKeepsOnlyInstalledPackages) {
  std::ifstream in(kFixtures + "/dpkg-status");
  auto p = parse_dpkg_status(in);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0], (wire::Package{"adduser", "3.134", "all", "dpkg"}));
  EXPECT_EQ(p[1], (wire::Package{"libssl3", "3.0.15-1~deb12u1", "amd64", "dpkg"}));
  EXPECT_EQ(p[2].architecture, "i386");
}

TEST(Packages, RpmQueryLines) {
  auto p = parse_rpm_query("bash\t5.1.8-9.el9\tx86_64\nkernel\t0:5.14.0-427.el9\tx86_64\nbroken line\n\tno-name\tx\n");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], (wire::Package{"bash", "5.1.8-9.el9", "x86_64", "rpm"}));
  EXPECT_EQ(p[1].version, "0:5.14.0-427.el9");
}

TEST(Packages, ThisMachineAgreesWithDpkgQuery) {
  auto ours = read_packages({});
  ASSERT_TRUE(ours && ours->has_value()) << (ours ? "no package manager" : ours.error().describe());
  std::map<std::string, std::string> theirs;  // "name:arch" -> version
  std::istringstream in(run("dpkg-query -W -f='${Package}:${Architecture}\\t${Version}\\t${db:Status-Status}\\n'"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string key, version, status;
    std::getline(f, key, '\t');
    std::getline(f, version, '\t');
    std::getline(f, status);
    if (status == "installed") theirs[key] = version;
  }
  ASSERT_GT(theirs.size(), 50u);
  EXPECT_EQ((*ours)->size(), theirs.size());
  std::size_t checked = 0;
  for (const wire::Package& p : **ours) {
    auto it = theirs.find(p.name + ":" + p.architecture);
    ASSERT_NE(it, theirs.end()) << p.name;
    EXPECT_EQ(p.version, it->second) << p.name;
    ++checked;
  }
  EXPECT_EQ(checked, theirs.size());
}

// ---- devices ----------------------------------------------------------------

TEST(Devices, DisksAgreeWithLsblk) {
  auto ours = read_disks({});
  ASSERT_TRUE(ours) << ours.error().describe();
  std::map<std::string, json::object> theirs;
  const json::value lsblk = run_json("lsblk -J -d -b -o NAME,SIZE,ROTA,TYPE,RM");
  for (const auto& d : lsblk.at("blockdevices").as_array()) {
    const auto& o = d.as_object();
    const std::string name = str(o.at("name"));
    bool skip = str(o.at("type")) != "disk";
    for (const char* p : {"loop", "ram", "zram", "sr", "fd"}) skip = skip || name.rfind(p, 0) == 0;
    if (!skip) theirs[name] = o;
  }
  ASSERT_FALSE(theirs.empty());
  ASSERT_EQ(ours->size(), theirs.size());
  for (const wire::Disk& d : *ours) {
    ASSERT_TRUE(theirs.contains(d.name)) << d.name;
    const auto& o = theirs[d.name];
    EXPECT_EQ(d.size_bytes, o.at("size").to_number<std::uint64_t>()) << d.name;
    EXPECT_EQ(d.rotational, o.at("rota").as_bool()) << d.name;
    EXPECT_EQ(d.removable, o.at("rm").as_bool()) << d.name;
  }
}

TEST(Devices, FilesystemsAgreeWithFindmnt) {
  auto ours = read_filesystems({});
  ASSERT_TRUE(ours) << ours.error().describe();
  std::map<std::string, std::uint64_t> theirs;  // mountpoint -> size
  std::set<std::string> sources;
  const json::value findmnt = run_json("findmnt -J -b -l -o TARGET,SOURCE,FSTYPE,SIZE");
  for (const auto& f : findmnt.at("filesystems").as_array()) {
    const auto& o = f.as_object();
    if (!is_real_filesystem(str(o.at("fstype")))) continue;
    // One entry per filesystem, as the inventory lists them.
    if (!sources.insert(str(o.at("source"))).second) continue;
    theirs[str(o.at("target"))] = o.at("size").to_number<std::uint64_t>();
  }
  ASSERT_EQ(ours->size(), theirs.size());
  for (const wire::Filesystem& f : *ours) {
    ASSERT_TRUE(theirs.contains(f.mountpoint)) << f.mountpoint;
    EXPECT_EQ(f.size_bytes, theirs[f.mountpoint]) << f.mountpoint;
  }
}

TEST(Devices, NicsAgreeWithIp) {
  auto ours = read_nics({});
  ASSERT_TRUE(ours) << ours.error().describe();
  std::map<std::string, const wire::Nic*> by_name;
  for (const wire::Nic& n : *ours) by_name[n.name] = &n;
  std::size_t compared = 0;
  const json::value ip = run_json("ip -j addr");
  for (const auto& i : ip.as_array()) {
    const auto& o = i.as_object();
    const std::string name = str(o.at("ifname"));
    if (name == "lo") continue;
    ASSERT_TRUE(by_name.contains(name)) << name;
    const wire::Nic& n = *by_name[name];
    EXPECT_EQ(n.mac, str(o.at("address"))) << name;
    EXPECT_EQ(n.mtu, o.at("mtu").to_number<std::uint32_t>()) << name;
    std::vector<std::string> addrs;
    if (o.contains("addr_info"))
      for (const auto& a : o.at("addr_info").as_array())
        addrs.push_back(str(a.at("local")) + "/" + std::to_string(a.at("prefixlen").to_number<int>()));
    std::sort(addrs.begin(), addrs.end());
    EXPECT_EQ(n.addresses, addrs) << name;
    ++compared;
  }
  EXPECT_EQ(compared, ours->size());
}

TEST(Platform, AgreesWithSystemdDetectVirt) {
  if (run("command -v systemd-detect-virt").empty()) GTEST_SKIP() << "systemd-detect-virt not installed";
  auto h = read_host_info({});
  ASSERT_TRUE(h);
  std::string vm = run("systemd-detect-virt --vm");
  vm = vm.substr(0, vm.find('\n'));
  std::string ct = run("systemd-detect-virt --container");
  ct = ct.substr(0, ct.find('\n'));
  // systemd says "none" where we say "none"/""; its "qemu" and "kvm" are both KVM-family names.
  EXPECT_EQ(h->virtualization, vm);
  EXPECT_EQ(h->container.empty() ? "none" : h->container, ct);
}

TEST(Collect, EverySectionHasAStateAndTheDigestTracksIt) {
  auto inv = collect({}, 1);
  wire::for_each_section(inv, [](std::string_view name, const auto& s) {
    EXPECT_NE(s.state, wire::SectionState::unchanged) << name;
    if (s.state == wire::SectionState::failed) {
      EXPECT_FALSE(s.reason.empty()) << name;
    } else {
      ASSERT_TRUE(s.data) << name;
      EXPECT_EQ(s.digest, wire::digest_of(*s.data)) << name;
    }
  });
  // It goes through the wire and back.
  wire::Report r = test::bare_report("agt-1");
  r.inventory = inv;
  r.inventory_digest = wire::inventory_digest(inv);
  for (auto f : {wire::Format::binary, wire::Format::json}) {
    auto back = wire::decode<wire::Report>(wire::encode(r, f), f);
    ASSERT_TRUE(back) << back.error().describe();
    EXPECT_EQ(*back->inventory, inv);
  }
}

}  // namespace
}  // namespace surveyor::agent::inventory

namespace surveyor::agent::runner {
namespace {

wire::Inventory sample_inventory(std::uint64_t memory) {
  wire::Inventory inv;
  wire::HostInfo h;
  h.host_id = "abc";
  h.memory_total_bytes = memory;
  inv.host = {wire::SectionState::collected, "", wire::digest_of(h), h};
  std::vector<wire::Disk> disks{{"sda", "m", "s", "w", 1, true, false, "sata"}};
  inv.disks = {wire::SectionState::collected, "", wire::digest_of(disks), disks};
  inv.hardware = {wire::SectionState::failed, "permission denied", "", std::nullopt};
  return inv;
}

TEST(InventoryTracker, FullFirstThenOnlyChangesThenFullAgain) {
  InventoryTracker t(3);
  const auto a = sample_inventory(1024);
  auto first = t.next(a);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, a) << "first contact: everything";
  EXPECT_FALSE(t.next(a)) << "nothing changed: no inventory";
  const auto b = sample_inventory(2048);
  auto delta = t.next(b);
  ASSERT_TRUE(delta);
  EXPECT_EQ(delta->host, b.host);
  EXPECT_EQ(delta->disks.state, wire::SectionState::unchanged);
  EXPECT_FALSE(delta->disks.data);
  EXPECT_EQ(delta->disks.digest, b.disks.digest);
  EXPECT_EQ(wire::inventory_digest(*delta), wire::inventory_digest(b)) << "a delta names the same whole";
  auto full = t.next(b);  // the 4th report: full_every = 3
  ASSERT_TRUE(full);
  EXPECT_EQ(*full, b);
  EXPECT_FALSE(t.next(b));
  t.want_full();
  auto asked = t.next(b);
  ASSERT_TRUE(asked);
  EXPECT_EQ(*asked, b);
}

}  // namespace
}  // namespace surveyor::agent::runner

namespace surveyor::agent::inventory {
namespace {

// As an unprivileged user the agent degrades per section: each section is
// collected, empty, or failed with a reason; none silently empty, none fatal.
TEST(Collect, AsAnUnprivilegedUserEverySectionSaysWhatItCould) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to nobody";
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    auto inv = collect({}, 1);
    std::string out;
    wire::for_each_section(inv, [&](std::string_view name, const auto& s) {
      out += std::string(name) + " " + std::to_string(static_cast<int>(s.state)) + " " +
             (s.state == wire::SectionState::failed ? (s.reason.empty() ? "NO-REASON" : "reason") : "-") + "\n";
    });
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(out.find("NO-REASON"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 10) << out;
  // What any user may read is still there.
  EXPECT_NE(out.find("host 0"), std::string::npos) << out;
  EXPECT_NE(out.find("packages 0"), std::string::npos) << out;
}

}  // namespace
}  // namespace surveyor::agent::inventory
