// SPDX-License-Identifier: Apache-2.0
// Where this host runs: time zone, hypervisor, container. Each answer comes
// from the first source that knows, in the order systemd-detect-virt uses.
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <algorithm>
#include <cstring>

#include "surveyor/agent/inventory/host_facts.hpp"

namespace surveyor::agent::inventory {
namespace {

std::string first_line(const std::string& path) {
  auto r = read_text(path, 4096);
  if (!r) return {};
  std::string s = r->substr(0, r->find('\n'));
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

bool contains(const std::string& hay, const char* needle) { return hay.find(needle) != std::string::npos; }

bool exists(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string from_dmi(const Roots& roots) {
  const std::string id = roots.sys + "/class/dmi/id/";
  const std::string vendor = lower(first_line(id + "sys_vendor"));
  const std::string product = lower(first_line(id + "product_name"));
  const std::string bios = lower(first_line(id + "bios_vendor"));
  const std::string all = vendor + " " + product + " " + bios;
  if (contains(all, "vmware")) return "vmware";
  if (contains(all, "virtualbox") || contains(all, "innotek")) return "virtualbox";
  if (contains(vendor, "microsoft") && contains(product, "virtual")) return "hyperv";
  if (contains(all, "xen")) return "xen";
  if (contains(all, "amazon ec2") || contains(bios, "amazon")) return "amazon";
  if (contains(all, "google compute engine")) return "google";
  if (contains(all, "kvm") || contains(all, "openstack")) return "kvm";
  if (contains(all, "qemu") || contains(all, "bochs")) return "qemu";
  if (contains(all, "parallels")) return "parallels";
  return {};
}

std::string from_cpuid() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  __cpuid(1, a, b, c, d);
  if ((c & (1u << 31)) == 0) return {};  // no hypervisor present
  __cpuid(0x40000000, a, b, c, d);
  char sig[13] = {};
  std::memcpy(sig, &b, 4);
  std::memcpy(sig + 4, &c, 4);
  std::memcpy(sig + 8, &d, 4);
  const std::string s(sig);
  if (s == "KVMKVMKVM") return "kvm";
  if (s == "TCGTCGTCGTCG") return "qemu";
  if (s == "VMwareVMware") return "vmware";
  if (s == "Microsoft Hv") return "hyperv";
  if (s == "XenVMMXenVMM") return "xen";
  if (s == "bhyve bhyve ") return "bhyve";
  if (s == "ACRNACRNACRN") return "acrn";
  if (s == "VBoxVBoxVBox") return "virtualbox";
  if (s == " lrpepyh  vr") return "parallels";
  return "vm";
#else
  return {};
#endif
}

}  // namespace

std::string read_timezone(const Roots& roots) {
  std::string tz = first_line(roots.etc + "/timezone");
  if (!tz.empty()) return tz;
  char buf[512];
  const ssize_t n = ::readlink((roots.etc + "/localtime").c_str(), buf, sizeof buf - 1);
  if (n <= 0) return {};
  const std::string target(buf, static_cast<std::size_t>(n));
  const auto pos = target.find("zoneinfo/");
  return pos == std::string::npos ? std::string() : target.substr(pos + 9);
}

std::string detect_virtualization(const Roots& roots) {
  if (std::string v = from_dmi(roots); !v.empty()) return v;
  if (std::string xen = first_line(roots.sys + "/hypervisor/type"); xen == "xen") return "xen";
  if (std::string v = from_cpuid(); !v.empty()) return v;
  auto cpuinfo = read_text(roots.proc + "/cpuinfo", 1 << 20);
  if (cpuinfo && contains(*cpuinfo, " hypervisor")) return "vm";
  return "none";
}

std::string detect_container(const Roots& roots) {
  if (std::string c = first_line(roots.rootfs + "/run/systemd/container"); !c.empty()) return c;
  if (exists(roots.rootfs + "/.dockerenv")) return "docker";
  if (exists(roots.rootfs + "/run/.containerenv")) return "podman";
  auto cg = read_text(roots.proc + "/1/cgroup", 64 * 1024);
  if (cg) {
    if (contains(*cg, "kubepods")) return "kubernetes";
    if (contains(*cg, "/docker")) return "docker";
    if (contains(*cg, "/lxc")) return "lxc";
  }
  return {};
}

}  // namespace surveyor::agent::inventory
