// SPDX-License-Identifier: Apache-2.0
// Turns a wire report into store changes. The edge where wire types become
// the collector's domain: nothing past here sees a wire struct.
#include "surveyor/collector/ingest/ingest.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>

#include "surveyor/core/crypto.hpp"
#include "surveyor/wire/codec.hpp"

namespace surveyor::collector::ingest {
namespace {

using store::AttrMap;

std::string cache_name(const wire::CpuCache& c) {
  std::string kind = c.kind == "data" ? "d" : c.kind == "instruction" ? "i" : "";
  return "l" + std::to_string(c.level) + kind;
}

void add_hardware(const wire::Hardware& h, AttrMap& a) {
  const std::pair<const char*, const std::string*> fields[] = {
      {"hardware.vendor", &h.system_vendor},   {"hardware.product", &h.system_product},
      {"hardware.version", &h.system_version}, {"hardware.serial", &h.system_serial},
      {"hardware.uuid", &h.system_uuid},       {"hardware.chassis", &h.chassis_type},
      {"board.vendor", &h.board_vendor},       {"board.product", &h.board_product},
      {"board.serial", &h.board_serial},       {"bios.vendor", &h.bios_vendor},
      {"bios.version", &h.bios_version},       {"bios.date", &h.bios_date}};
  // Absent values are left out rather than stored as "".
  for (const auto& [k, v] : fields)
    if (!v->empty()) a[k] = *v;
}

// Byte counts arrive as uint64 from the agent and are stored as int64: sum
// and convert without overflowing, saturating at the int64 maximum.
std::int64_t saturated(std::uint64_t v) {
  return v > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(v);
}
template <class T, class F>
std::int64_t saturated_sum(const std::vector<T>& v, F&& size) {
  std::uint64_t total = 0;
  for (const auto& x : v) total = size(x) > UINT64_MAX - total ? UINT64_MAX : total + size(x);
  return saturated(total);
}

void add_memory(const std::vector<wire::MemoryModule>& modules, AttrMap& a) {
  a["memory.modules"] = static_cast<std::int64_t>(modules.size());
  a["memory.installed_bytes"] = saturated_sum(modules, [](const auto& m) { return m.size_bytes; });
}

template <class T>
auto add_count(const char* key) {
  return [key](const std::vector<T>& v, AttrMap& a) { a[key] = static_cast<std::int64_t>(v.size()); };
}

void add_disks(const std::vector<wire::Disk>& disks, AttrMap& a) {
  a["disks.count"] = static_cast<std::int64_t>(disks.size());
  a["disks.total_bytes"] = saturated_sum(disks, [](const auto& d) { return d.size_bytes; });
}

void add_host(const wire::HostInfo& h, AttrMap& a) {
  a["host.id"] = h.host_id;
  a["host.name"] = h.hostname;
  a["host.arch"] = h.architecture;
  a["host.boot_time_ms"] = h.boot_time_ms;
  a["os.type"] = h.os_type;
  a["os.name"] = h.os_name;
  a["os.version"] = h.os_version;
  a["os.description"] = h.os_description;
  a["os.kernel"] = h.kernel_release;
  a["memory.total_bytes"] = saturated(h.memory_total_bytes);
  if (!h.os_id.empty()) a["os.id"] = h.os_id;
  if (!h.timezone.empty()) a["host.timezone"] = h.timezone;
  if (!h.virtualization.empty()) a["host.virtualization"] = h.virtualization;
  if (!h.container.empty()) a["host.container"] = h.container;
}

void add_cpu(const wire::CpuTopology& c, AttrMap& a) {
  a["cpu.packages"] = std::int64_t{c.packages};
  a["cpu.cores"] = std::int64_t{c.cores};
  a["cpu.pus"] = std::int64_t{c.pus};
  a["cpu.numa_nodes"] = std::int64_t{c.numa_nodes};
  a["cpu.model"] = c.model;
  a["cpu.vendor"] = c.vendor;
  for (const wire::CpuCache& k : c.caches) {
    const std::string p = "cpu.cache." + cache_name(k) + ".";
    a[p + "size_bytes"] = saturated(k.size_bytes);
    a[p + "line_bytes"] = std::int64_t{k.line_bytes};
    a[p + "ways"] = std::int64_t{k.ways};
    a[p + "count"] = std::int64_t{k.count};
  }
}

// Applies one section: collected replaces the prefixes' attributes, empty
// clears them, failed and unchanged leave them alone.
template <class T, class F>
void apply_section(const wire::Section<T>& s, std::vector<std::string> prefixes, F&& add, store::CiUpdate& u) {
  if (s.state == wire::SectionState::collected && s.data) {
    add(*s.data, u.attributes);
    u.replace_prefixes.insert(u.replace_prefixes.end(), prefixes.begin(), prefixes.end());
  } else if (s.state == wire::SectionState::empty) {
    u.replace_prefixes.insert(u.replace_prefixes.end(), prefixes.begin(), prefixes.end());
  }
}

}  // namespace

std::string host_ci_id(std::string_view host_id) {
  return "host-" + core::sha256_hex("surveyor host.id:" + std::string(host_id)).substr(0, 24);
}

store::CiUpdate host_update(const std::string& ci_id, const wire::Inventory* inv, std::int64_t seen_at_ms) {
  store::CiUpdate u;
  u.id = ci_id;
  u.type = "host";
  u.source = "agent";
  u.seen_at_ms = seen_at_ms;
  if (inv != nullptr) {
    apply_section(inv->host, {"host.", "os.", "memory.total_bytes"}, add_host, u);
    if (inv->host.data && !inv->host.data->hostname.empty()) u.name = inv->host.data->hostname;
    apply_section(inv->cpu, {"cpu."}, add_cpu, u);
    apply_section(inv->hardware, {"hardware.", "board.", "bios."}, add_hardware, u);
    apply_section(inv->memory, {"memory.modules", "memory.installed_bytes"}, add_memory, u);
    apply_section(inv->pci, {"pci."}, add_count<wire::PciDevice>("pci.count"), u);
    apply_section(inv->disks, {"disks."}, add_disks, u);
    apply_section(inv->filesystems, {"filesystems."}, add_count<wire::Filesystem>("filesystems.count"), u);
    apply_section(inv->nics, {"nics."}, add_count<wire::Nic>("nics.count"), u);
    apply_section(inv->packages, {"packages."}, add_count<wire::Package>("packages.count"), u);
    apply_section(inv->instances, {"instances."}, add_count<wire::Instance>("instances.count"), u);
  }
  return u;
}

store::ReportBatch to_batch(const wire::Report& r, const store::AgentRecord& agent, std::int64_t received_at_ms) {
  store::ReportBatch b;
  b.agent_id = agent.id;
  b.sequence = r.sequence;
  b.received_at_ms = received_at_ms;
  b.heartbeat_interval_s = r.heartbeat_interval_s;
  if (r.inventory && !r.inventory_digest.empty()) b.inventory_digest = r.inventory_digest;
  store::CiUpdate host = host_update(agent.ci_id, r.inventory ? &*r.inventory : nullptr, received_at_ms);
  b.inventory_ci_id = agent.ci_id;
  if (r.inventory)
    for (wire::SectionText& t : wire::section_texts(*r.inventory))
      b.sections.push_back({std::move(t.name), std::move(t.state), std::move(t.reason), std::move(t.digest),
                            std::move(t.data_json)});
  host.name_if_new = agent.hostname;  // a report without the host section keeps the CI's name
  // Availability counts a host down after 2 x its heartbeat interval.
  if (r.heartbeat_interval_s > 0)
    host.attributes["agent.heartbeat_interval_s"] = static_cast<std::int64_t>(r.heartbeat_interval_s);
  // The agent that reports for the host: enrollment asks it before handing
  // the host's CI to another.
  host.attributes["agent.id"] = agent.id;
  b.cis.push_back(std::move(host));
  if (r.inventory) {
    Components found = components(*r.inventory, agent.ci_id, received_at_ms);
    for (store::CiUpdate& c : found.cis) b.cis.push_back(std::move(c));
    b.components = std::move(found.contains);
  }

  for (const wire::Series& s : r.series) {
    store::SeriesInfo info{{agent.ci_id, s.metric, {}}, s.unit};
    info.key.attributes.reserve(s.attributes.size());
    for (const wire::Attribute& a : s.attributes) info.key.attributes.emplace_back(a.key, a.value);
    std::vector<store::Sample> samples;
    samples.reserve(s.points.size());
    for (const wire::Point& p : s.points) samples.push_back({p.time_ms, p.value});
    b.series.emplace_back(std::move(info), std::move(samples));
  }
  for (const wire::CheckResult& c : r.checks) {
    store::Labels labels{{"check", c.name}, {"kind", c.kind}};
    b.series.push_back({store::SeriesInfo{{agent.ci_id, "surveyor.check.status", labels}, "1"},
                        {{c.time_ms, static_cast<double>(static_cast<unsigned>(c.state))}}});
    b.series.push_back({store::SeriesInfo{{agent.ci_id, "surveyor.check.duration", labels}, "s"},
                        {{c.time_ms, static_cast<double>(c.duration_ms) / 1000.0}}});
  }
  return b;
}

namespace {

std::string component_id(std::string_view prefix, const std::string& identity) {
  return std::string(prefix) + core::sha256_hex("surveyor component:" + identity).substr(0, 24);
}

template <class T, class F>
void component_section(const wire::Section<std::vector<T>>& s, const char* prefix, Components& out, F&& make) {
  if (s.state == wire::SectionState::empty) {
    out.contains.push_back({prefix, {}});
    return;
  }
  if (s.state != wire::SectionState::collected || !s.data) return;
  std::vector<std::string> ids;
  for (const T& item : *s.data) {
    std::optional<store::CiUpdate> u = make(item);
    if (!u) continue;
    ids.push_back(u->id);
    out.cis.push_back(std::move(*u));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  out.contains.push_back({prefix, std::move(ids)});
}

}  // namespace

Components components(const wire::Inventory& inv, const std::string& host, std::int64_t seen_at_ms) {
  Components out;
  auto base = [&](std::string id, const char* type, std::string name, std::string rule) {
    store::CiUpdate u;
    u.id = std::move(id);
    u.type = type;
    u.name = std::move(name);
    u.source = "agent";
    u.seen_at_ms = seen_at_ms;
    u.attributes["identity.rule"] = std::move(rule);
    u.attributes["host.ci"] = host;
    return u;
  };
  component_section(inv.disks, "disk-", out, [&](const wire::Disk& d) -> std::optional<store::CiUpdate> {
    // A WWN is unique by standard; serials are not always (emulated disks
    // report QM00001 on every VM), so a serial identifies a disk within
    // its host only.
    const bool wwn = !placeholder(d.wwn), serial = !placeholder(d.serial);
    const std::string rule = wwn ? "wwn" : serial ? "host+serial" : "host+name";
    const std::string identity = wwn      ? "wwn:" + d.wwn
                                 : serial ? "serial:" + host + ":" + d.serial
                                          : "name:" + host + ":" + d.name;
    store::CiUpdate u = base(component_id("disk-", identity), "disk", d.name, rule);
    u.attributes["disk.name"] = d.name;
    u.attributes["disk.size_bytes"] = saturated(d.size_bytes);
    u.attributes["disk.rotational"] = d.rotational;
    u.attributes["disk.transport"] = d.transport;
    if (!d.model.empty()) u.attributes["disk.model"] = d.model;
    if (!d.serial.empty()) u.attributes["disk.serial"] = d.serial;
    if (!d.wwn.empty()) u.attributes["disk.wwn"] = d.wwn;
    return u;
  });
  component_section(inv.nics, "nic-", out, [&](const wire::Nic& n) -> std::optional<store::CiUpdate> {
    if (n.is_virtual || placeholder(n.mac)) return std::nullopt;
    store::CiUpdate u = base(component_id("nic-", "mac:" + n.mac), "nic", n.name, "mac");
    u.attributes["nic.name"] = n.name;
    u.attributes["nic.mac"] = n.mac;
    u.attributes["nic.mtu"] = std::int64_t{n.mtu};
    if (!n.driver.empty()) u.attributes["nic.driver"] = n.driver;
    return u;
  });
  component_section(inv.memory, "memory-", out, [&](const wire::MemoryModule& m) -> std::optional<store::CiUpdate> {
    const bool serial = !placeholder(m.serial);
    store::CiUpdate u = base(component_id("memory-", serial ? "serial:" + host + ":" + m.serial : "slot:" + host + ":" + m.locator),
                             "memory_module", m.locator, serial ? "host+serial" : "host+slot");
    u.attributes["memory.locator"] = m.locator;
    u.attributes["memory.size_bytes"] = saturated(m.size_bytes);
    if (!m.type.empty()) u.attributes["memory.type"] = m.type;
    if (m.speed_mts) u.attributes["memory.speed_mts"] = std::int64_t{m.speed_mts};
    if (!m.manufacturer.empty()) u.attributes["memory.manufacturer"] = m.manufacturer;
    if (!m.part_number.empty()) u.attributes["memory.part_number"] = m.part_number;
    if (serial) u.attributes["memory.serial"] = m.serial;
    return u;
  });
  component_section(inv.filesystems, "fs-", out, [&](const wire::Filesystem& f) -> std::optional<store::CiUpdate> {
    store::CiUpdate u = base(component_id("fs-", "mount:" + host + ":" + f.mountpoint), "filesystem", f.mountpoint,
                             "host+mountpoint");
    u.attributes["fs.mountpoint"] = f.mountpoint;
    u.attributes["fs.device"] = f.device;
    u.attributes["fs.type"] = f.type;
    u.attributes["fs.size_bytes"] = saturated(f.size_bytes);
    return u;
  });
  if (inv.cpu.state == wire::SectionState::collected && inv.cpu.data) {
    std::vector<std::string> ids;
    for (std::uint32_t p = 0; p < inv.cpu.data->packages && p < 1024; ++p) {
      store::CiUpdate u = base(component_id("cpu-", "package:" + host + ":" + std::to_string(p)), "cpu",
                               "package " + std::to_string(p), "host+package");
      u.attributes["cpu.model"] = inv.cpu.data->model;
      u.attributes["cpu.vendor"] = inv.cpu.data->vendor;
      ids.push_back(u.id);
      out.cis.push_back(std::move(u));
    }
    std::sort(ids.begin(), ids.end());
    out.contains.push_back({"cpu-", std::move(ids)});
  }
  if (inv.host.state == wire::SectionState::collected && inv.host.data) {
    const wire::HostInfo& h = *inv.host.data;
    store::CiUpdate u = base(component_id("os-", "os:" + host), "os",
                             h.os_description.empty() ? h.os_name : h.os_description, "host");
    u.attributes["os.name"] = h.os_name;
    u.attributes["os.version"] = h.os_version;
    u.attributes["os.kernel"] = h.kernel_release;
    out.contains.push_back({"os-", {u.id}});
    out.cis.push_back(std::move(u));
  }
  // Two items with one identity (a multipath disk seen twice) are one CI.
  std::vector<store::CiUpdate> unique;
  for (store::CiUpdate& u : out.cis)
    if (std::none_of(unique.begin(), unique.end(), [&u](const store::CiUpdate& x) { return x.id == u.id; }))
      unique.push_back(std::move(u));
  out.cis = std::move(unique);
  return out;
}

bool placeholder(std::string_view v) {
  std::string t;
  for (char c : v)
    if (c != ' ' && c != '-' && c != '.' && c != '_' && c != ':') t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t.empty()) return true;
  static constexpr std::string_view kKnown[] = {
      "tobefilledbyoem", "defaultstring", "none", "notspecified", "notapplicable", "na", "oem", "systemserialnumber",
      "chassisserialnumber", "0123456789", "123456789", "1234567890", "unknown", "notavailable", "xxxxxxxxxxxxxxxx",
      "03000200040005000006000700080009"};  // the UUID of the SMBIOS specification's example
  if (std::find(std::begin(kKnown), std::end(kKnown), t) != std::end(kKnown)) return true;
  // All zeros or all Fs (an unset UUID or serial).
  return t.find_first_not_of('0') == std::string::npos || t.find_first_not_of('f') == std::string::npos;
}

namespace {

std::string attr_text(const store::Ci& c, const std::string& key) {
  auto it = c.attributes.find(key);
  if (it == c.attributes.end()) return {};
  const auto* s = std::get_if<std::string>(&it->second);
  return s ? *s : std::string();
}

std::string lower(std::string_view v) {
  std::string out(v);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

core::Result<HostMatch> reconcile_host(store::CmdbStore& cmdb, std::string_view host_id, std::string_view uuid_in,
                                       std::string_view serial_in) {
  const std::string uuid = placeholder(uuid_in) ? std::string() : lower(uuid_in);
  const std::string serial = placeholder(serial_in) ? std::string() : std::string(serial_in);
  const std::string by_machine = host_ci_id(host_id);
  auto known = cmdb.find_ci(by_machine);
  if (!known) return std::move(known).error();
  if (*known) {
    const std::string held_uuid = lower(attr_text(**known, "hardware.uuid"));
    if (!uuid.empty() && !held_uuid.empty() && !placeholder(held_uuid) && held_uuid != uuid)
      return HostMatch{host_ci_id(std::string(host_id) + "/" + uuid), "clone", by_machine};
    return HostMatch{by_machine, "host.id", ""};
  }
  if (!uuid.empty() || !serial.empty()) {
    std::optional<HostMatch> by_uuid, by_serial;
    auto walked = store::for_each_ci(cmdb, "host", [&](const store::Ci& c) -> core::Result<bool> {
      if (c.state == store::CiState::retired && c.source != "agent") return true;
      const std::string u = lower(attr_text(c, "hardware.uuid"));
      if (!uuid.empty() && !placeholder(u) && u == uuid) {
        by_uuid = HostMatch{c.id, "smbios_uuid", ""};
        return false;
      }
      const std::string sn = attr_text(c, "hardware.serial");
      if (!serial.empty() && !by_serial && !placeholder(sn) && sn == serial) by_serial = HostMatch{c.id, "serial", ""};
      return true;
    });
    if (!walked) return std::move(walked).error();
    if (by_uuid) return *by_uuid;
    if (by_serial) return *by_serial;
  }
  return HostMatch{by_machine, "new", ""};
}

core::Result<std::optional<Holder>> holder_of(store::Stores& stores, const std::string& ci_id, std::string_view proof) {
  auto ci = stores.cmdb->find_ci(ci_id);
  if (!ci) return std::move(ci).error();
  if (!*ci) return std::optional<Holder>{};
  const std::string held = attr_text(**ci, "agent.id");
  if (held.empty()) return std::optional<Holder>{};
  auto agent = stores.agents->find_agent(held);
  if (!agent) return std::move(agent).error();
  if (!*agent || (*agent)->key_hash.empty()) return std::optional<Holder>{};  // gone or revoked: nothing to take
  Holder h{held, false};
  const auto colon = proof.find(':');
  if (colon != std::string_view::npos && proof.substr(0, colon) == held)
    h.proven = core::constant_time_equal(core::sha256_hex(proof.substr(colon + 1)), (*agent)->key_hash);
  return std::optional<Holder>{std::move(h)};
}

std::string conflict_ci_id(std::string_view host_id, std::string_view agent_id) {
  return host_ci_id(std::string(host_id) + "/conflict/" + std::string(agent_id));
}

core::Result<std::string> approve_conflict(store::Stores& stores, std::string_view agent_id, std::int64_t now_ms) {
  auto agent = stores.agents->find_agent(agent_id);
  if (!agent) return std::move(agent).error();
  if (!*agent) return core::make_error(store::StoreErrc::not_found, "no agent '" + std::string(agent_id) + "'");
  auto own = stores.cmdb->find_ci((*agent)->ci_id);
  if (!own) return std::move(own).error();
  const std::string host = *own ? attr_text(**own, "identity.conflict_with") : std::string();
  if (host.empty() || attr_text(**own, "identity.rule") != "conflict")
    return core::make_error(store::StoreErrc::invalid,
                            "agent " + std::string(agent_id) + " reports for " + (*agent)->ci_id + ", not a conflict");
  auto holder = holder_of(stores, host, "");
  if (!holder) return std::move(holder).error();
  if (*holder && (*holder)->agent_id != agent_id)
    if (auto r = stores.agents->revoke_agent((*holder)->agent_id); !r) return std::move(r).error();
  if (auto r = stores.agents->reassign_agent(agent_id, host); !r) return std::move(r).error();
  // The conflict CI is done with; the host's CI carries on with this agent.
  store::CiUpdate retire;
  retire.id = (**own).id;
  retire.type = (**own).type;
  retire.source = "user";
  retire.actor = "surveyor-collector agent approve";
  retire.seen_at_ms = now_ms;
  retire.state = store::CiState::retired;
  retire.attributes["identity.approved_into"] = host;
  if (auto r = stores.cmdb->upsert_ci(retire); !r) return std::move(r).error();
  return host;
}

bool inventory_wanted(const wire::Report& r, const std::vector<store::InventorySection>& held) {
  if (r.inventory_digest.empty()) return false;  // the sender does not track digests
  std::vector<std::string> digests;
  for (std::string_view name : wire::kSectionNames) {
    std::string d;
    for (const store::InventorySection& s : held)
      if (s.name == name && s.state != "failed") d = s.digest;
    digests.push_back(std::move(d));
  }
  return wire::inventory_digest(digests) != r.inventory_digest;
}

}  // namespace surveyor::collector::ingest
