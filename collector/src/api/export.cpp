// SPDX-License-Identifier: Apache-2.0
// A host's inventory in GLPI's inventory format (the JSON that glpi-agent
// sends and GLPI imports; github.com/glpi-project/inventory_format), so GLPI
// users can import what Surveyor discovered. Sizes in MB (MiB) and speeds in
// MHz, as that format has them.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "surveyor/collector/api/api.hpp"
#include "surveyor/core/clock.hpp"

namespace surveyor::collector::api {
namespace {

namespace json = boost::json;

constexpr std::int64_t kMiB = 1 << 20;

// The data of a collected (or formerly collected) section, as JSON.
json::value section_data(const std::vector<store::InventorySection>& sections, std::string_view name) {
  for (const store::InventorySection& s : sections) {
    if (s.name != name || s.data_json.empty()) continue;
    boost::system::error_code ec;
    json::value v = json::parse(s.data_json, ec);
    if (!ec) return v;
  }
  return nullptr;
}

std::string text(const json::value& o, std::string_view key) {
  if (!o.is_object()) return {};
  auto it = o.get_object().find(key);
  return it != o.get_object().end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

std::int64_t number(const json::value& o, std::string_view key) {
  if (!o.is_object()) return 0;
  auto it = o.get_object().find(key);
  if (it == o.get_object().end()) return 0;
  if (it->value().is_int64()) return it->value().get_int64();
  if (it->value().is_uint64()) return static_cast<std::int64_t>(std::min<std::uint64_t>(it->value().get_uint64(), INT64_MAX));
  if (it->value().is_double()) return static_cast<std::int64_t>(it->value().get_double());
  return 0;
}

bool flag(const json::value& o, std::string_view key) {
  if (!o.is_object()) return false;
  auto it = o.get_object().find(key);
  return it != o.get_object().end() && it->value().is_bool() && it->value().get_bool();
}

const json::array& items(const json::value& v) {
  static const json::array kNone;
  return v.is_array() ? v.get_array() : kNone;
}

// Only the members that have a value: the format treats "" as a value.
void put(json::object& o, std::string_view key, const std::string& v) {
  if (!v.empty()) o[key] = v;
}

// A GLPI member taken from a member of one of our inventory entries: as
// text (left out when empty), as MiB from bytes, or as the text of a number
// (left out unless positive).
enum class As { text, mib, positive_text };
struct Field {
  const char* glpi;
  const char* ours;
  As as;
};

json::object mapped(const json::value& entry, std::initializer_list<Field> fields) {
  json::object o;
  for (const Field& f : fields) {
    switch (f.as) {
      case As::text: put(o, f.glpi, text(entry, f.ours)); break;
      case As::mib: o[f.glpi] = number(entry, f.ours) / kMiB; break;
      case As::positive_text:
        if (number(entry, f.ours) > 0) o[f.glpi] = std::to_string(number(entry, f.ours));
        break;
    }
  }
  return o;
}

// "192.0.2.7/24" -> ("192.0.2.7", "255.255.255.0"); IPv6 -> (address, prefix mask).
std::pair<std::string, std::string> split_cidr(const std::string& cidr, bool v6) {
  const auto slash = cidr.find('/');
  const std::string addr = cidr.substr(0, slash);
  int bits = slash == std::string::npos ? (v6 ? 128 : 32) : std::atoi(cidr.c_str() + slash + 1);
  if (!v6) {
    bits = std::clamp(bits, 0, 32);
    const std::uint32_t m = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    return {addr, std::to_string(m >> 24) + "." + std::to_string((m >> 16) & 255) + "." + std::to_string((m >> 8) & 255) +
                      "." + std::to_string(m & 255)};
  }
  bits = std::clamp(bits, 0, 128);
  std::string mask;
  for (int g = 0; g < 8; ++g) {
    const int take = std::clamp(bits - g * 16, 0, 16);
    const unsigned group = take == 0 ? 0 : (0xffffu << (16 - take)) & 0xffffu;
    if (g) mask += ":";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%x", group);
    mask += buf;
  }
  return {addr, mask};
}

// GLPI inventory sections, each added to `content` when there is something to say.
void glpi_hardware(json::object& content, const json::value& host, const json::value& hw,
                   const std::string& ci_name) {
  json::object hardware;
  put(hardware, "name", text(host, "hostname").empty() ? ci_name : text(host, "hostname"));
  put(hardware, "uuid", text(hw, "system_uuid"));
  if (number(host, "memory_total_bytes") > 0) hardware["memory"] = number(host, "memory_total_bytes") / kMiB;
  hardware["vmsystem"] = text(host, "virtualization").empty() ? std::string("Physical") : text(host, "virtualization");
  put(hardware, "chassis_type", text(hw, "chassis_type"));
  content["hardware"] = std::move(hardware);
}

void glpi_bios(json::object& content, const json::value& hw) {
  json::object bios;
  for (auto [to, from] : {std::pair{"smanufacturer", "system_vendor"}, {"smodel", "system_product"},
                          {"ssn", "system_serial"}, {"bmanufacturer", "bios_vendor"}, {"bversion", "bios_version"},
                          {"bdate", "bios_date"}, {"mmanufacturer", "board_vendor"}, {"mmodel", "board_product"},
                          {"msn", "board_serial"}})
    put(bios, to, text(hw, from));
  if (!bios.empty()) content["bios"] = std::move(bios);
}

void glpi_os(json::object& content, const json::value& host) {
  if (host.is_object()) {
    json::object os;
    put(os, "name", text(host, "os_name"));
    put(os, "version", text(host, "os_version"));
    put(os, "full_name", text(host, "os_description"));
    os["kernel_name"] = text(host, "os_type").empty() ? std::string("linux") : text(host, "os_type");
    put(os, "kernel_version", text(host, "kernel_release"));
    put(os, "arch", text(host, "architecture"));
    put(os, "fqdn", text(host, "hostname"));
    if (number(host, "boot_time_ms") > 0) {
      std::string t = core::format_rfc3339(number(host, "boot_time_ms"));  // "YYYY-MM-DD HH:MM:SS"
      os["boot_time"] = t.substr(0, 10) + " " + t.substr(11, 8);
    }
    content["operatingsystem"] = std::move(os);
  }
}

void glpi_cpus(json::object& content, const json::value& cpu) {
  if (cpu.is_object() && number(cpu, "packages") > 0) {
    json::array cpus;
    const std::int64_t packages = number(cpu, "packages");
    for (std::int64_t i = 0; i < packages && i < 1024; ++i) {
      json::object c;
      put(c, "name", text(cpu, "model"));
      put(c, "manufacturer", text(cpu, "vendor"));
      c["core"] = number(cpu, "cores") / packages;
      c["thread"] = number(cpu, "pus") / packages;
      cpus.push_back(std::move(c));
    }
    content["cpus"] = std::move(cpus);
  }
}

void glpi_memories(json::object& content, const json::value& memory_data) {
  json::array memories;
  std::int64_t slot = 0;
  for (const json::value& m : items(memory_data)) {
    json::object o = mapped(m, {{"capacity", "size_bytes", As::mib},
                                {"caption", "locator", As::text},
                                {"type", "type", As::text},
                                {"speed", "speed_mts", As::positive_text},
                                {"serialnumber", "serial", As::text},
                                {"manufacturer", "manufacturer", As::text},
                                {"model", "part_number", As::text}});
    o["numslots"] = ++slot;
    memories.push_back(std::move(o));
  }
  if (!memories.empty()) content["memories"] = std::move(memories);
}

void glpi_storages(json::object& content, const json::value& disks_data) {
  json::array storages;
  for (const json::value& d : items(disks_data)) {
    json::object o = mapped(d, {{"name", "name", As::text},
                                {"model", "model", As::text},
                                {"serial", "serial", As::text},
                                {"disksize", "size_bytes", As::mib},
                                {"interface", "transport", As::text}});
    o["type"] = flag(d, "removable") ? "removable" : "disk";
    storages.push_back(std::move(o));
  }
  if (!storages.empty()) content["storages"] = std::move(storages);
}

void glpi_drives(json::object& content, const json::value& filesystems_data,
                 const std::vector<store::LatestSample>& latest) {
  json::array drives;
  for (const json::value& f : items(filesystems_data)) {
    json::object o;
    const std::string mount = text(f, "mountpoint");
    put(o, "volumn", text(f, "device"));
    put(o, "filesystem", text(f, "type"));
    put(o, "type", mount);
    o["total"] = number(f, "size_bytes") / kMiB;
    // Free space from the latest filesystem sample, when there is one.
    for (const store::LatestSample& s : latest) {
      if (s.series.key.metric != "system.filesystem.usage") continue;
      const auto& a = s.series.key.attributes;
      auto has = [&a](const char* k, const std::string& v) {
        return std::find(a.begin(), a.end(), std::pair<std::string, std::string>{k, v}) != a.end();
      };
      if (has("mountpoint", mount) && has("state", "free") && std::isfinite(s.sample.value))
        o["free"] = static_cast<std::int64_t>(std::clamp(s.sample.value, 0.0, 9.0e18)) / kMiB;
    }
    drives.push_back(std::move(o));
  }
  if (!drives.empty()) content["drives"] = std::move(drives);
}

void glpi_networks(json::object& content, const json::value& nics_data) {
  json::array networks;
  for (const json::value& n : items(nics_data)) {
    json::object base = mapped(n, {{"description", "name", As::text},
                                   {"mac", "mac", As::text},
                                   {"driver", "driver", As::text},
                                   {"status", "state", As::text}});
    base["virtualdev"] = flag(n, "virtual");
    if (number(n, "speed_mbps") > 0) base["speed"] = std::to_string(number(n, "speed_mbps"));
    if (number(n, "mtu") > 0) base["mtu"] = number(n, "mtu");
    bool any = false;
    if (n.is_object())
      if (auto a = n.get_object().find("addresses"); a != n.get_object().end())
        for (const json::value& addr : items(a->value())) {
          if (!addr.is_string()) continue;
          const std::string cidr(addr.get_string());
          const bool v6 = cidr.find(':') != std::string::npos;
          auto [ip, mask] = split_cidr(cidr, v6);
          json::object o = base;
          o[v6 ? "ipaddress6" : "ipaddress"] = ip;
          o[v6 ? "ipmask6" : "ipmask"] = mask;
          networks.push_back(std::move(o));
          any = true;
        }
    if (!any) networks.push_back(std::move(base));  // one entry per address, or one without
  }
  if (!networks.empty()) content["networks"] = std::move(networks);
}

void glpi_softwares(json::object& content, const json::value& packages_data) {
  json::array softwares;
  for (const json::value& s : items(packages_data)) {
    json::object o = mapped(s, {{"name", "name", As::text},
                                {"version", "version", As::text},
                                {"arch", "architecture", As::text},
                                {"from", "source", As::text}});
    softwares.push_back(std::move(o));
  }
  if (!softwares.empty()) content["softwares"] = std::move(softwares);
}

}  // namespace

http::Response Api::export_glpi(const server::Params& p) {
  const std::string& id = p.path.at("id");
  auto ci = existing_ci(id);
  if (!ci) return ci_failure(ci.error());
  if (ci->type != "host") return fail(400, "bad_request", "only hosts have an inventory to export");
  auto sections = stores_.inventory->get_inventory(id);
  if (!sections) return store_failure(sections.error());
  auto latest = stores_.series->latest_samples(id);
  if (!latest) return store_failure(latest.error());
  const json::value host = section_data(*sections, "host"), cpu = section_data(*sections, "cpu"),
                    hw = section_data(*sections, "hardware");
  // Held for the loops below (their arrays must outlive them).
  const json::value memory_data = section_data(*sections, "memory"), disks_data = section_data(*sections, "disks"),
                    filesystems_data = section_data(*sections, "filesystems"),
                    nics_data = section_data(*sections, "nics"), packages_data = section_data(*sections, "packages");

  json::object content;
  glpi_hardware(content, host, hw, ci->name);
  glpi_bios(content, hw);
  glpi_os(content, host);
  glpi_cpus(content, cpu);
  glpi_memories(content, memory_data);
  glpi_storages(content, disks_data);
  glpi_drives(content, filesystems_data, *latest);
  glpi_networks(content, nics_data);
  glpi_softwares(content, packages_data);
  content["versionclient"] = "Surveyor_v" + options_.version;

  json::object out{{"action", "inventory"}, {"itemtype", "Computer"}, {"deviceid", id}, {"content", std::move(content)}};
  return server::json_response(200, json::serialize(out));
}

// The routes of this file's handlers (docs/api.md).
void Api::routes_export(server::Router& r) {
  r.add("GET", "/api/v1/cis/{id}/export/glpi", "cis.export",
        [this](const http::Request&, const server::Params& p) { return export_glpi(p); });
}

}  // namespace surveyor::collector::api
