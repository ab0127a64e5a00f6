// SPDX-License-Identifier: Apache-2.0
// Installed software. dpkg's status file is read line by line (it can be
// several MB; the agent never holds it whole); rpm's database is a binary
// format only rpm reads, so `rpm -qa` is run with a query format, no shell.
#include "surveyor/agent/inventory/packages.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "surveyor/agent/exec/command.hpp"

namespace surveyor::agent::inventory {
namespace {

bool exists(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0;
}

void sort_packages(std::vector<wire::Package>& v) {
  std::sort(v.begin(), v.end(), [](const wire::Package& a, const wire::Package& b) {
    return std::tie(a.name, a.architecture, a.version) < std::tie(b.name, b.architecture, b.version);
  });
}

}  // namespace

std::vector<wire::Package> parse_dpkg_status(std::istream& in) {
  std::vector<wire::Package> out;
  wire::Package cur;
  bool installed = false;
  auto flush = [&] {
    if (installed && !cur.name.empty()) {
      cur.source = "dpkg";
      out.push_back(cur);
    }
    cur = {};
    installed = false;
  };
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      flush();
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t') continue;  // continuation of a multi-line field
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (key == "Package") cur.name = value;
    else if (key == "Version") cur.version = value;
    else if (key == "Architecture") cur.architecture = value;
    else if (key == "Status") {
      // "want flag status": installed is the third word.
      std::istringstream w(value);
      std::string want, flag, status;
      w >> want >> flag >> status;
      installed = status == "installed";
    }
  }
  flush();
  sort_packages(out);
  return out;
}

std::vector<wire::Package> parse_rpm_query(std::string_view text) {
  std::vector<wire::Package> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    const auto t1 = line.find('\t');
    const auto t2 = t1 == std::string::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string::npos || t1 == 0) continue;
    out.push_back({line.substr(0, t1), line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1), "rpm"});
  }
  sort_packages(out);
  return out;
}

core::Result<std::optional<std::vector<wire::Package>>> read_packages(const Roots& roots) {
  std::optional<std::vector<wire::Package>> out;
  const std::string status = roots.rootfs + "/var/lib/dpkg/status";
  if (exists(status)) {
    std::ifstream in(status);
    if (!in) return core::make_error(InventoryErrc::permission_denied, status + ": cannot open");
    out = parse_dpkg_status(in);
  }
  const bool rpm_db = exists(roots.rootfs + "/var/lib/rpm/Packages") || exists(roots.rootfs + "/var/lib/rpm/rpmdb.sqlite") ||
                      exists(roots.rootfs + "/usr/lib/sysimage/rpm/rpmdb.sqlite");
  if (rpm_db && (exists("/usr/bin/rpm") || exists("/bin/rpm"))) {
    std::vector<std::string> argv{"rpm"};
    if (!roots.rootfs.empty()) argv.insert(argv.end(), {"--root", roots.rootfs});
    argv.insert(argv.end(), {"-qa", "--queryformat", "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\t%{ARCH}\\n"});
    exec::CommandOptions o;
    o.timeout = std::chrono::seconds(30);
    o.max_output = 32 << 20;
    auto r = exec::run(argv, o);
    if (!r) return core::make_error(InventoryErrc::command_failed, r.error().describe());
    if (r->timed_out || r->exit_code != 0)
      return core::make_error(InventoryErrc::command_failed, "rpm -qa: " + (r->timed_out ? std::string("timed out")
                                                                                          : "exit " + std::to_string(r->exit_code)));
    auto rpms = parse_rpm_query(r->output);
    if (!out) out.emplace();
    out->insert(out->end(), rpms.begin(), rpms.end());
  }
  return out;
}

}  // namespace surveyor::agent::inventory
