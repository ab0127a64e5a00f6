// SPDX-License-Identifier: Apache-2.0
// DMI/SMBIOS: identification strings from sysfs and memory modules from the
// raw SMBIOS table, parsed here rather than by running dmidecode. The table
// parser follows DMTF DSP0134 (type 17, Memory Device) and trusts no length
// or index in the bytes it reads.
#include "surveyor/agent/inventory/hardware.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>

namespace surveyor::agent::inventory {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

constexpr std::array<const char*, 37> kChassisTypes{
    "",           "other",        "unknown",         "desktop",         "low profile desktop", "pizza box",
    "mini tower", "tower",        "portable",        "laptop",          "notebook",            "hand held",
    "docking station", "all in one", "sub notebook", "space-saving",    "lunch box",           "main server chassis",
    "expansion chassis", "sub chassis", "bus expansion chassis", "peripheral chassis", "raid chassis",
    "rack mount chassis", "sealed-case pc", "multi-system chassis", "compact pci", "advanced tca", "blade",
    "blade enclosure", "tablet", "convertible", "detachable", "iot gateway", "embedded pc", "mini pc", "stick pc"};

std::string memory_type(std::uint8_t t) {
  switch (t) {
    case 0x03: return "DRAM";
    case 0x07: return "RAM";
    case 0x0F: return "SDRAM";
    case 0x11: return "RDRAM";
    case 0x12: return "DDR";
    case 0x13: return "DDR2";
    case 0x14: return "DDR2 FB-DIMM";
    case 0x18: return "DDR3";
    case 0x19: return "FBD2";
    case 0x1A: return "DDR4";
    case 0x1B: return "LPDDR";
    case 0x1C: return "LPDDR2";
    case 0x1D: return "LPDDR3";
    case 0x1E: return "LPDDR4";
    case 0x1F: return "Logical non-volatile device";
    case 0x20: return "HBM";
    case 0x21: return "HBM2";
    case 0x22: return "DDR5";
    case 0x23: return "LPDDR5";
    case 0x24: return "HBM3";
    case 0x02: return "Unknown";
    default: return "Other";
  }
}

std::string form_factor(std::uint8_t f) {
  static constexpr std::array<const char*, 17> kNames{
      "",    "Other", "Unknown",  "SIMM", "SIP",   "Chip",   "DIP",     "ZIP",     "Proprietary Card",
      "DIMM", "TSOP", "Row of chips", "RIMM", "SODIMM", "SRIMM", "FB-DIMM", "Die"};
  return f < kNames.size() ? kNames[f] : "Other";
}

// Bounds-checked little-endian reads inside one structure's formatted area.
struct Area {
  const unsigned char* p;
  std::size_t len;
  [[nodiscard]] bool has(std::size_t off, std::size_t n) const { return off + n <= len; }
  [[nodiscard]] std::uint8_t u8(std::size_t off) const { return has(off, 1) ? p[off] : 0; }
  [[nodiscard]] std::uint16_t u16(std::size_t off) const {
    return has(off, 2) ? static_cast<std::uint16_t>(p[off] | (p[off + 1] << 8)) : 0;
  }
  [[nodiscard]] std::uint32_t u32(std::size_t off) const {
    return has(off, 4) ? static_cast<std::uint32_t>(p[off]) | (static_cast<std::uint32_t>(p[off + 1]) << 8) |
                             (static_cast<std::uint32_t>(p[off + 2]) << 16) | (static_cast<std::uint32_t>(p[off + 3]) << 24)
                       : 0;
  }
};

}  // namespace

bool is_placeholder(std::string_view value) {
  const std::string v = lower(trim(value));
  if (v.empty()) return true;
  static constexpr const char* kPlaceholders[] = {
      "to be filled by o.e.m.", "to be filled by oem", "default string", "system serial number",
      "system product name",    "system manufacturer", "not specified", "not applicable", "none",
      "n/a",                    "o.e.m.",              "oem",           "0",              "123456789",
      "chassis serial number",  "base board serial number", "serial number", "invalid", "unknown"};
  for (const char* p : kPlaceholders)
    if (v == p) return true;
  // A UUID or serial made of one repeated character (0, F, X, space) says nothing.
  std::string compact;
  for (char c : v)
    if (c != '-' && c != ' ') compact += c;
  if (!compact.empty() && std::all_of(compact.begin(), compact.end(), [&](char c) { return c == compact[0]; }) &&
      (compact[0] == '0' || compact[0] == 'f' || compact[0] == 'x'))
    return true;
  // The well-known "03000200-0400-0500-0006-000700080009" of unprogrammed boards.
  return v == "03000200-0400-0500-0006-000700080009";
}

std::string clean_identity(std::string_view value) {
  std::string t = trim(value);
  return is_placeholder(t) ? std::string() : t;
}

core::Result<std::optional<wire::Hardware>> read_hardware(const Roots& roots) {
  const std::string dir = roots.sys + "/class/dmi/id/";
  auto probe = read_text(dir + "sys_vendor", 4096);
  if (!probe && probe.error().code == InventoryErrc::not_found) {
    auto modalias = read_text(dir + "modalias", 4096);
    if (!modalias && modalias.error().code == InventoryErrc::not_found) return std::optional<wire::Hardware>{};
  }
  wire::Hardware h;
  auto field = [&](const char* name, std::string& out, bool identity) {
    auto r = read_text(dir + name, 4096);
    if (!r) {
      if (r.error().code == InventoryErrc::permission_denied) h.unreadable.push_back(std::string(name) + ": permission denied");
      return;
    }
    out = identity ? clean_identity(*r) : trim(*r);
    if (!identity && is_placeholder(out)) out.clear();
  };
  field("sys_vendor", h.system_vendor, false);
  field("product_name", h.system_product, false);
  field("product_version", h.system_version, false);
  field("product_serial", h.system_serial, true);
  field("product_uuid", h.system_uuid, true);
  h.system_uuid = lower(h.system_uuid);
  field("board_vendor", h.board_vendor, false);
  field("board_name", h.board_product, false);
  field("board_serial", h.board_serial, true);
  std::string chassis;
  field("chassis_type", chassis, false);
  const int ct = std::atoi(chassis.c_str());
  h.chassis_type = ct > 0 && static_cast<std::size_t>(ct) < kChassisTypes.size() ? kChassisTypes[ct] : chassis;
  field("chassis_vendor", h.chassis_vendor, false);
  field("chassis_serial", h.chassis_serial, true);
  field("bios_vendor", h.bios_vendor, false);
  field("bios_version", h.bios_version, false);
  field("bios_date", h.bios_date, false);
  return std::optional<wire::Hardware>{std::move(h)};
}

core::Result<std::vector<wire::MemoryModule>> parse_smbios_memory(std::string_view table) {
  std::vector<wire::MemoryModule> out;
  const auto* b = reinterpret_cast<const unsigned char*>(table.data());
  const std::size_t n = table.size();
  std::size_t i = 0;
  while (i + 4 <= n) {
    const std::uint8_t type = b[i];
    const std::uint8_t len = b[i + 1];
    if (len < 4 || i + len > n)
      return core::make_error(InventoryErrc::malformed, "SMBIOS structure at offset " + std::to_string(i) +
                                                            " has a bad length " + std::to_string(len));
    // The strings follow the formatted area and end with two NULs.
    std::vector<std::string_view> strings;
    std::size_t s = i + len;
    if (s + 1 < n && b[s] == 0 && b[s + 1] == 0) {
      s += 2;
    } else {
      for (;;) {
        const void* nul = s < n ? std::memchr(b + s, 0, n - s) : nullptr;
        if (nul == nullptr)
          return core::make_error(InventoryErrc::malformed,
                                  "SMBIOS strings of the structure at offset " + std::to_string(i) + " are not terminated");
        const std::size_t end = static_cast<std::size_t>(static_cast<const unsigned char*>(nul) - b);
        strings.emplace_back(reinterpret_cast<const char*>(b + s), end - s);
        s = end + 1;
        if (s < n && b[s] == 0) {
          ++s;
          break;
        }
        if (s >= n)
          return core::make_error(InventoryErrc::malformed,
                                  "SMBIOS strings of the structure at offset " + std::to_string(i) + " are not terminated");
      }
    }
    const Area a{b + i, len};
    auto str = [&](std::size_t off) -> std::string {
      const std::uint8_t idx = a.u8(off);
      if (idx == 0 || idx > strings.size()) return {};
      return trim(strings[idx - 1]);
    };
    if (type == 17 && a.has(0x0C, 2)) {
      const std::uint16_t size = a.u16(0x0C);
      if (size != 0) {  // 0: the slot is empty
        wire::MemoryModule m;
        if (size == 0x7FFF && a.has(0x1C, 4)) m.size_bytes = std::uint64_t{a.u32(0x1C) & 0x7FFFFFFFu} << 20;
        else if (size == 0xFFFF) m.size_bytes = 0;  // unknown
        else if (size & 0x8000) m.size_bytes = std::uint64_t{size & 0x7FFFu} << 10;
        else m.size_bytes = std::uint64_t{size} << 20;
        m.form_factor = form_factor(a.u8(0x0E));
        m.locator = str(0x10);
        m.bank = str(0x11);
        if (a.has(0x12, 1)) m.type = memory_type(a.u8(0x12));
        if (a.has(0x15, 2)) {
          const std::uint16_t speed = a.u16(0x15);
          m.speed_mts = speed == 0xFFFF && a.has(0x54, 4) ? a.u32(0x54) : speed;
        }
        if (a.has(0x17, 1)) m.manufacturer = clean_identity(str(0x17));
        if (a.has(0x18, 1)) m.serial = clean_identity(str(0x18));
        if (a.has(0x1A, 1)) m.part_number = clean_identity(str(0x1A));
        if (a.has(0x20, 2)) {
          const std::uint16_t speed = a.u16(0x20);
          m.configured_speed_mts = speed == 0xFFFF && a.has(0x58, 4) ? a.u32(0x58) : speed;
        }
        out.push_back(std::move(m));
      }
    }
    if (type == 127) return out;  // end of table
    i = s;
  }
  // Fewer bytes than a structure header are left: zero padding is fine,
  // anything else is a table cut short inside a header.
  for (std::size_t k = i; k < n; ++k)
    if (b[k] != 0)
      return core::make_error(InventoryErrc::malformed,
                              "SMBIOS table ends inside the structure header at offset " + std::to_string(i));
  return out;
}

core::Result<std::optional<std::vector<wire::MemoryModule>>> read_memory_modules(const Roots& roots) {
  auto table = read_text(roots.sys + "/firmware/dmi/tables/DMI", 1 << 20);
  if (!table) {
    if (table.error().code == InventoryErrc::not_found) return std::optional<std::vector<wire::MemoryModule>>{};
    return std::move(table).error();
  }
  auto modules = parse_smbios_memory(*table);
  if (!modules) return std::move(modules).error();
  return std::optional<std::vector<wire::MemoryModule>>{std::move(*modules)};
}

}  // namespace surveyor::agent::inventory
