// SPDX-License-Identifier: Apache-2.0
// Disks, filesystems and network interfaces, read from sysfs, the mount
// table and getifaddrs. Identity fields (serials, WWNs, MACs) are what the
// CMDB reconciles components by, so placeholders are cleared here.
#include "surveyor/agent/inventory/devices.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <map>
#include <set>

#include "surveyor/agent/inventory/hardware.hpp"
#include "surveyor/agent/inventory/mounts.hpp"

namespace surveyor::agent::inventory {
namespace {

std::string trimmed(const std::string& path) {
  auto r = read_text(path, 4096);
  if (!r) return {};
  std::string s = *r;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\0')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(0, 1);
  return s;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : std::string();
}

// The udev database entry of a block device: "E:KEY=value" lines.
std::map<std::string, std::string> udev_properties(const Roots& roots, const std::string& majmin) {
  std::map<std::string, std::string> out;
  auto r = read_text(roots.rootfs + "/run/udev/data/b" + majmin, 64 * 1024);
  if (!r) return out;
  std::size_t pos = 0;
  while (pos < r->size()) {
    const auto eol = r->find('\n', pos);
    const std::string line = r->substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? r->size() : eol + 1;
    if (line.rfind("E:", 0) != 0) continue;
    const auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(2, eq - 2)] = line.substr(eq + 1);
  }
  return out;
}

std::string transport_of(const std::string& device_path, const std::map<std::string, std::string>& udev) {
  if (device_path.find("/nvme") != std::string::npos) return "nvme";
  if (device_path.find("/virtio") != std::string::npos) return "virtio";
  if (device_path.find("/usb") != std::string::npos) return "usb";
  if (device_path.find("/mmc") != std::string::npos) return "mmc";
  if (device_path.find("/ata") != std::string::npos) return "sata";
  if (device_path.find("/end_device") != std::string::npos || device_path.find("/sas") != std::string::npos) return "sas";
  if (device_path.find("/xen") != std::string::npos || device_path.find("/vbd") != std::string::npos) return "xen";
  if (auto it = udev.find("ID_BUS"); it != udev.end()) return it->second == "ata" ? "sata" : it->second;
  if (device_path.find("/host") != std::string::npos && device_path.find("/target") != std::string::npos) return "scsi";
  return {};
}

std::string prefix_address(const sockaddr* a, const sockaddr* mask) {
  char buf[INET6_ADDRSTRLEN] = {};
  int bits = 0;
  if (a->sa_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a)->sin_addr, buf, sizeof buf);
    if (mask) bits = std::popcount(reinterpret_cast<const sockaddr_in*>(mask)->sin_addr.s_addr);
  } else {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr, buf, sizeof buf);
    if (mask)
      for (unsigned char byte : reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr.s6_addr) bits += std::popcount(byte);
  }
  return std::string(buf) + "/" + std::to_string(bits);
}

}  // namespace

core::Result<std::vector<wire::Disk>> read_disks(const Roots& roots) {
  const std::string block = roots.sys + "/block";
  struct stat st{};
  if (::stat(block.c_str(), &st) != 0) return core::make_error(InventoryErrc::not_found, block + " does not exist");
  std::vector<wire::Disk> out;
  for (const std::string& name : list_dir(block)) {
    bool skip = false;
    for (const char* prefix : {"loop", "ram", "zram", "sr", "fd"}) skip = skip || name.rfind(prefix, 0) == 0;
    const std::string dir = block + "/" + name;
    if (skip || ::stat((dir + "/device").c_str(), &st) != 0) continue;  // no hardware behind it (dm, md)
    const auto udev = udev_properties(roots, trimmed(dir + "/dev"));
    auto prop = [&udev](const char* k) {
      auto it = udev.find(k);
      return it == udev.end() ? std::string() : it->second;
    };
    wire::Disk d;
    d.name = name;
    d.size_bytes = std::strtoull(trimmed(dir + "/size").c_str(), nullptr, 10) * 512;
    d.rotational = trimmed(dir + "/queue/rotational") == "1";
    d.removable = trimmed(dir + "/removable") == "1";
    d.model = trimmed(dir + "/device/model");
    if (d.model.empty()) d.model = prop("ID_MODEL");
    d.serial = clean_identity(trimmed(dir + "/device/serial"));
    if (d.serial.empty()) d.serial = clean_identity(prop("ID_SERIAL_SHORT"));
    d.wwn = clean_identity(trimmed(dir + "/device/wwid"));
    if (d.wwn.empty()) d.wwn = clean_identity(prop("ID_WWN"));
    d.transport = transport_of(real_path(dir), udev);
    out.push_back(std::move(d));
  }
  return out;
}

core::Result<std::vector<wire::Filesystem>> read_filesystems(const Roots& roots) {
  auto text = read_text(roots.proc + "/self/mounts", 4 << 20);
  if (!text) return std::move(text).error();
  std::vector<wire::Filesystem> out;
  std::set<dev_t> seen;
  for (const Mount& m : parse_mounts(*text)) {
    if (!is_real_filesystem(m.type)) continue;
    const std::string at = roots.rootfs + m.mountpoint;
    struct stat st{};
    struct statvfs vfs{};
    if (::stat(at.c_str(), &st) != 0 || ::statvfs(at.c_str(), &vfs) != 0) continue;
    if (!seen.insert(st.st_dev).second) continue;
    const std::uint64_t unit = vfs.f_frsize ? vfs.f_frsize : vfs.f_bsize;
    out.push_back({m.mountpoint, m.device, m.type, static_cast<std::uint64_t>(vfs.f_blocks) * unit, m.read_only});
  }
  return out;
}

core::Result<std::vector<wire::Nic>> read_nics(const Roots& roots) {
  const std::string net = roots.sys + "/class/net";
  struct stat st{};
  if (::stat(net.c_str(), &st) != 0) return core::make_error(InventoryErrc::not_found, net + " does not exist");
  std::map<std::string, std::vector<std::string>> addresses;
  ifaddrs* ifa = nullptr;
  if (::getifaddrs(&ifa) == 0) {
    for (const ifaddrs* a = ifa; a != nullptr; a = a->ifa_next)
      if (a->ifa_addr && (a->ifa_addr->sa_family == AF_INET || a->ifa_addr->sa_family == AF_INET6))
        addresses[a->ifa_name].push_back(prefix_address(a->ifa_addr, a->ifa_netmask));
    ::freeifaddrs(ifa);
  }
  std::vector<wire::Nic> out;
  for (const std::string& name : list_dir(net)) {
    if (name == "lo") continue;
    const std::string dir = net + "/" + name;
    if (::stat((dir + "/address").c_str(), &st) != 0) continue;  // bonding_masters and other files
    wire::Nic n;
    n.name = name;
    n.mac = trimmed(dir + "/address");
    n.mtu = static_cast<std::uint32_t>(std::strtoul(trimmed(dir + "/mtu").c_str(), nullptr, 10));
    const std::string speed = trimmed(dir + "/speed");  // EINVAL while down: unknown
    n.speed_mbps = speed.empty() ? -1 : std::strtoll(speed.c_str(), nullptr, 10);
    if (n.speed_mbps < 0) n.speed_mbps = -1;
    n.state = trimmed(dir + "/operstate");
    n.is_virtual = real_path(dir).find("/devices/virtual/") != std::string::npos;
    const std::string driver = real_path(dir + "/device/driver");
    if (!driver.empty()) n.driver = driver.substr(driver.rfind('/') + 1);
    if (auto it = addresses.find(name); it != addresses.end()) {
      n.addresses = it->second;
      std::sort(n.addresses.begin(), n.addresses.end());
    }
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace surveyor::agent::inventory
