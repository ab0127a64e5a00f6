// SPDX-License-Identifier: Apache-2.0
// Semantic checks on decoded messages: what the structure cannot say
// (lengths, identifiers, ordering, states that need data). Runs on every
// decoded message before anyone else sees it.
#include <algorithm>
#include <string>

#include "surveyor/wire/codec.hpp"

namespace surveyor::wire {
namespace {

constexpr std::size_t kMaxId = 128;
constexpr std::size_t kMaxName = 255;
constexpr std::size_t kMaxText = 4096;
constexpr std::size_t kMaxAttributes = 64;

core::Error invalid(const std::string& path, const std::string& what) {
  return core::make_error(Errc::invalid_value, path + ": " + what);
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == ':';
}

bool is_name(std::string_view s) { return is_valid_name(s); }

std::optional<core::Error> check_id(const std::string& path, std::string_view s) {
  if (s.empty()) return invalid(path, "must not be empty");
  if (s.size() > kMaxId) return invalid(path, "longer than " + std::to_string(kMaxId) + " characters");
  if (!std::all_of(s.begin(), s.end(), is_id_char))
    return invalid(path, "may hold only letters, digits and - _ . :");
  return std::nullopt;
}

std::optional<core::Error> check_len(const std::string& path, std::string_view s, std::size_t max) {
  if (s.size() > max) return invalid(path, "longer than " + std::to_string(max) + " bytes");
  return std::nullopt;
}

bool is_hex_digest(std::string_view s) {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

template <class T>
std::optional<core::Error> check_section(const std::string& path, const Section<T>& s) {
  if (static_cast<unsigned>(s.state) > static_cast<unsigned>(SectionState::failed))
    return invalid(path + ".state", "unknown section state");
  if (s.state == SectionState::collected && !s.data) return invalid(path, "collected but has no data");
  if (s.state != SectionState::collected && s.state != SectionState::empty && s.data)
    return invalid(path, "carries data although its state says it has none");
  if (s.state == SectionState::failed && s.reason.empty()) return invalid(path, "failed without a reason");
  if (!s.digest.empty() && !is_hex_digest(s.digest)) return invalid(path + ".digest", "not a SHA-256 hex digest");
  if (auto e = check_len(path + ".reason", s.reason, kMaxText)) return e;
  return std::nullopt;
}

}  // namespace

bool is_valid_name(std::string_view s) {
  return !s.empty() && s.size() <= kMaxName &&
         std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

core::Status validate(const Report& r) {
  if (auto e = check_id("agent_id", r.agent_id)) return *e;
  if (r.sequence == 0) return invalid("sequence", "starts at 1");
  if (r.sent_at_ms <= 0) return invalid("sent_at_ms", "must be a Unix time in milliseconds");
  if (r.heartbeat_interval_s == 0 || r.heartbeat_interval_s > 86400)
    return invalid("heartbeat_interval_s", "must be between 1 and 86400");
  if (auto e = check_len("agent_version", r.agent_version, kMaxId)) return *e;
  if (!r.inventory_digest.empty() && !is_hex_digest(r.inventory_digest))
    return invalid("inventory_digest", "not a SHA-256 hex digest");
  if (r.inventory) {
    std::optional<core::Error> bad;
    for_each_section(*r.inventory, [&bad](std::string_view name, const auto& section) {
      if (!bad) bad = check_section("inventory." + std::string(name), section);
    });
    if (bad) return *bad;
    if (r.inventory->host.data && r.inventory->host.data->host_id.empty())
      return invalid("inventory.host.data.host_id", "must not be empty");
  }
  for (std::size_t i = 0; i < r.series.size(); ++i) {
    const Series& s = r.series[i];
    const std::string p = "series[" + std::to_string(i) + "]";
    if (!is_name(s.metric)) return invalid(p + ".metric", "must be 1-255 printable characters without spaces");
    if (auto e = check_len(p + ".unit", s.unit, 32)) return *e;
    if (s.attributes.size() > kMaxAttributes)
      return invalid(p + ".attributes", "more than " + std::to_string(kMaxAttributes));
    for (std::size_t j = 0; j < s.attributes.size(); ++j) {
      const std::string ap = p + ".attributes[" + std::to_string(j) + "]";
      if (!is_name(s.attributes[j].key)) return invalid(ap + ".key", "must be 1-255 printable characters without spaces");
      if (auto e = check_len(ap + ".value", s.attributes[j].value, kMaxAttributeValue)) return *e;
      if (j > 0 && !(s.attributes[j - 1].key < s.attributes[j].key))
        return invalid(ap + ".key", "attribute keys must be unique and sorted");
    }
    for (std::size_t j = 0; j < s.points.size(); ++j) {
      if (s.points[j].time_ms <= 0)
        return invalid(p + ".points[" + std::to_string(j) + "]", "time must be a Unix time in milliseconds");
      if (j > 0 && s.points[j].time_ms <= s.points[j - 1].time_ms)
        return invalid(p + ".points[" + std::to_string(j) + "]", "times must increase");
    }
  }
  for (std::size_t i = 0; i < r.checks.size(); ++i) {
    const CheckResult& c = r.checks[i];
    const std::string p = "checks[" + std::to_string(i) + "]";
    if (!is_name(c.name)) return invalid(p + ".name", "must be 1-255 printable characters without spaces");
    if (auto e = check_len(p + ".kind", c.kind, 32)) return *e;
    if (static_cast<unsigned>(c.state) > static_cast<unsigned>(CheckState::unknown))
      return invalid(p + ".state", "unknown check state");
    if (auto e = check_len(p + ".output", c.output, kMaxText)) return *e;
  }
  return {};
}

core::Status validate(const ReportAck&) { return {}; }

core::Status validate(const EnrollRequest& r) {
  if (r.token.empty()) return invalid("token", "must not be empty");
  if (auto e = check_len("token", r.token, kMaxName)) return *e;
  if (auto e = check_id("host_id", r.host_id)) return *e;
  if (r.hostname.empty()) return invalid("hostname", "must not be empty");
  if (auto e = check_len("hostname", r.hostname, kMaxName)) return *e;
  if (auto e = check_len("agent_version", r.agent_version, kMaxId)) return *e;
  if (auto e = check_len("system_uuid", r.system_uuid, kMaxId)) return *e;
  if (auto e = check_len("system_serial", r.system_serial, kMaxId)) return *e;
  return {};
}

core::Status validate(const EnrollResponse& r) {
  if (auto e = check_id("agent_id", r.agent_id)) return *e;
  if (r.agent_key.empty()) return invalid("agent_key", "must not be empty");
  return {};
}

}  // namespace surveyor::wire
