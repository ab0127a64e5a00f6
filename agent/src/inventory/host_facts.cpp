// SPDX-License-Identifier: Apache-2.0
// Host identity and OS facts read straight from the kernel's and the
// distribution's files. Memory comes from /proc/meminfo: hwloc's NUMA figure
// follows ballooning and hot-plug on VMs and is not the installed total.
#include "surveyor/core/error_category.hpp"
#include "surveyor/agent/inventory/host_facts.hpp"

#include "surveyor/agent/inventory/text.hpp"

#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace surveyor::agent::inventory {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

const std::error_category& inventory_category() {
  static const core::TableCategory c("inventory", {
      {InventoryErrc::unreadable, "cannot read"},
      {InventoryErrc::malformed, "unexpected content"},
      {InventoryErrc::topology, "hardware topology unavailable"},
      {InventoryErrc::not_found, "not present"},
      {InventoryErrc::permission_denied, "permission denied"},
      {InventoryErrc::command_failed, "command failed"}});
  return c;
}

core::Result<std::string> read_text(const std::string& path, std::size_t max_bytes) {
  auto fail = [&path](int err) {
    const auto code = err == ENOENT || err == ENOTDIR ? InventoryErrc::not_found
                      : err == EACCES || err == EPERM ? InventoryErrc::permission_denied
                                                      : InventoryErrc::unreadable;
    return core::make_error(code, path + ": " + std::strerror(err));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  std::string out;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, std::min(sizeof buf, max_bytes - out.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return fail(err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() >= max_bytes) break;
  }
  ::close(fd);
  return out;
}

std::map<std::string, std::string> parse_os_release(std::string_view text) {
  std::map<std::string, std::string> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    std::string key = trim(std::string_view(line).substr(0, eq));
    std::string raw = trim(std::string_view(line).substr(eq + 1));
    std::string value;
    if (!raw.empty() && (raw.front() == '"' || raw.front() == '\'')) {
      const char q = raw.front();
      for (std::size_t i = 1; i < raw.size() && raw[i] != q; ++i) {
        if (raw[i] == '\\' && q == '"' && i + 1 < raw.size()) ++i;
        value += raw[i];
      }
    } else {
      value = raw;
    }
    out[key] = value;
  }
  return out;
}

std::map<std::string, std::uint64_t> parse_meminfo(std::string_view rest) {
  std::map<std::string, std::uint64_t> out;
  std::string_view line;
  while (text::next_line(rest, line)) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view fields = line.substr(colon + 1);
    std::uint64_t n = 0;
    if (!text::to_number(text::next_field(fields), n)) continue;
    const std::string_view unit = text::next_field(fields);
    out.emplace(std::string(line.substr(0, colon)), unit == "kB" ? n * 1024 : n);
  }
  return out;
}

core::Result<wire::HostInfo> read_host_info(const Roots& roots) {
  wire::HostInfo h;
  auto machine_id = read_text(roots.etc + "/machine-id", 4096);
  if (!machine_id) return std::move(machine_id).error();
  h.host_id = trim(*machine_id);
  if (h.host_id.empty()) return core::make_error(InventoryErrc::malformed, roots.etc + "/machine-id is empty");

  // os-release lives in /etc, falling back to /usr/lib as the spec says.
  auto os = read_text(roots.etc + "/os-release", 64 * 1024);
  if (!os) os = read_text(roots.etc + "/../usr/lib/os-release", 64 * 1024);
  if (os) {
    const auto kv = parse_os_release(*os);
    auto get = [&](const char* k) { auto it = kv.find(k); return it == kv.end() ? std::string() : it->second; };
    h.os_name = get("NAME");
    h.os_version = get("VERSION_ID");
    h.os_description = get("PRETTY_NAME");
    h.os_id = get("ID");
  }
  h.timezone = read_timezone(roots);
  h.virtualization = detect_virtualization(roots);
  h.container = detect_container(roots);
  h.os_type = "linux";

  if (auto r = read_text(roots.proc + "/sys/kernel/osrelease", 4096)) h.kernel_release = trim(*r);
  if (auto r = read_text(roots.proc + "/sys/kernel/hostname", 4096)) h.hostname = trim(*r);
  utsname u{};
  if (uname(&u) == 0) {
    h.architecture = u.machine;
    if (h.hostname.empty()) h.hostname = u.nodename;
    if (h.kernel_release.empty()) h.kernel_release = u.release;
  }

  auto meminfo = read_text(roots.proc + "/meminfo", 64 * 1024);
  if (!meminfo) return std::move(meminfo).error();
  const auto mem = parse_meminfo(*meminfo);
  auto total = mem.find("MemTotal");
  if (total == mem.end()) return core::make_error(InventoryErrc::malformed, roots.proc + "/meminfo has no MemTotal");
  h.memory_total_bytes = total->second;

  if (auto stat = read_text(roots.proc + "/stat", 1 << 20)) {
    const auto pos = stat->find("\nbtime ");
    if (pos != std::string::npos) h.boot_time_ms = std::strtoll(stat->c_str() + pos + 7, nullptr, 10) * 1000;
  }
  return h;
}

}  // namespace surveyor::agent::inventory
