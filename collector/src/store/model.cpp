// SPDX-License-Identifier: Apache-2.0
// The store's domain model and the logic every backend shares: how a CI
// update merges with what is stored, and the JSON text of attributes.
#include "surveyor/core/error_category.hpp"
#include "surveyor/collector/store/stores.hpp"
#include "surveyor/core/names.hpp"
#include "surveyor/json/parse.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

namespace surveyor::collector::store {
namespace {

namespace json = boost::json;

bool starts_with_any(const std::string& key, const std::vector<std::string>& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return key.compare(0, p.size(), p) == 0; });
}

}  // namespace

const std::error_category& store_category() {
  static const core::TableCategory c("store", {
      {StoreErrc::unavailable, "store unavailable"},
      {StoreErrc::conflict, "already exists"},
      {StoreErrc::corrupt, "stored data unreadable"},
      {StoreErrc::io, "store I/O error"},
      {StoreErrc::invalid, "invalid request to the store"},
      {StoreErrc::not_found, "not found"},
      {StoreErrc::limit, "beyond a configured limit"},
      {StoreErrc::changed, "changed since it was read"}});
  return c;
}

std::string attrs_to_json(const AttrMap& m) {
  json::object o;
  o.reserve(m.size());
  for (const auto& kv : m) {
    auto& slot = o[kv.first];
    std::visit([&slot](const auto& x) { slot = x; }, kv.second);
  }
  return json::serialize(o);
}

namespace {

// An attribute's value as attrs_to_json wrote it; none for what it cannot
// have written (an array, an object, null).
std::optional<AttrValue> attr_value(const json::value& x) {
  if (x.is_string()) return AttrValue(std::string(x.get_string()));
  if (x.is_int64()) return AttrValue(x.get_int64());
  if (x.is_uint64()) return AttrValue(static_cast<double>(x.get_uint64()));
  if (x.is_double()) return AttrValue(x.get_double());
  if (x.is_bool()) return AttrValue(x.get_bool());
  return std::nullopt;
}

}  // namespace

core::Result<AttrMap> attrs_from_json(std::string_view text) {
  // The parsed value lives only here: its memory is taken from a buffer on
  // the stack (then from blocks freed with it), not from malloc piece by piece.
  unsigned char buffer[4096];
  json::monotonic_resource scratch(buffer, sizeof buffer);
  boost::system::error_code ec;
  json::value v = surveyor::json::parse_precise(text, ec, &scratch);
  if (ec || !v.is_object()) return core::make_error(StoreErrc::corrupt, "attributes are not a JSON object");
  AttrMap out;
  for (const auto& kv : v.get_object()) {
    std::optional<AttrValue> x = attr_value(kv.value());
    if (!x) return core::make_error(StoreErrc::corrupt, "attribute '" + std::string(kv.key()) + "' is not a scalar");
    out.emplace(std::string(kv.key()), std::move(*x));
  }
  return out;
}

bool is_plain_sighting(const CiUpdate& u, CiState state, std::string_view attributes_json,
                       std::string_view protected_json) {
  // What merge_ci changes beside the time last seen, when the update has
  // one of these, or the CI is not active.
  if (u.source != "agent" || u.state || !u.name.empty() || !u.replace_prefixes.empty() || state != CiState::active)
    return false;
  unsigned char buffer[4096];  // as in attrs_from_json
  json::monotonic_resource scratch(buffer, sizeof buffer);
  boost::system::error_code ec;
  const json::value held = surveyor::json::parse_precise(attributes_json, ec, &scratch);
  if (ec || !held.is_object()) return false;
  std::optional<std::vector<std::string>> protected_keys;  // read only when needed
  for (const auto& [k, want] : u.attributes) {
    if (const double* d = std::get_if<double>(&want); d && !std::isfinite(*d)) continue;  // merge_ci skips it
    const json::value* x = held.get_object().if_contains(k);
    if (x != nullptr && attr_value(*x) == want) continue;
    // Missing or different: an agent leaves a protected key alone.
    if (!protected_keys) {
      auto keys = keys_from_json(protected_json);
      if (!keys) return false;
      protected_keys = std::move(*keys);
    }
    if (!std::binary_search(protected_keys->begin(), protected_keys->end(), k)) return false;
  }
  return true;
}

std::string keys_to_json(const std::vector<std::string>& keys) {
  json::array a;
  for (const std::string& k : keys) a.emplace_back(k);
  return json::serialize(a);
}

core::Result<std::vector<std::string>> keys_from_json(std::string_view text) {
  if (text.empty()) return std::vector<std::string>{};
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return core::make_error(StoreErrc::corrupt, "protected keys are not a JSON array");
  std::vector<std::string> out;
  for (const json::value& k : v.get_array()) {
    if (!k.is_string()) return core::make_error(StoreErrc::corrupt, "a protected key is not a string");
    out.emplace_back(k.get_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string labels_to_json(const Labels& l) {
  unsigned char buffer[1024];  // the object lives only here (see attrs_from_json)
  json::monotonic_resource scratch(buffer, sizeof buffer);
  json::object o(&scratch);
  o.reserve(l.size());
  for (const auto& [k, v] : l) o[k] = v;
  return json::serialize(o);
}

core::Result<Labels> labels_from_json(std::string_view text) {
  unsigned char buffer[1024];  // as in attrs_from_json
  json::monotonic_resource scratch(buffer, sizeof buffer);
  boost::system::error_code ec;
  json::value v = surveyor::json::parse_precise(text, ec, &scratch);
  if (ec || !v.is_object()) return core::make_error(StoreErrc::corrupt, "series attributes are not a JSON object");
  Labels out;
  for (const auto& kv : v.get_object()) {
    if (!kv.value().is_string()) return core::make_error(StoreErrc::corrupt, "series attribute is not a string");
    out.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

constexpr core::Names<CiState, 3> kCiStateNames{
    {{{CiState::active, "active"}, {CiState::missing, "missing"}, {CiState::retired, "retired"}}}, "active"};

std::string_view to_string(CiState s) { return kCiStateNames.name(s); }
std::optional<CiState> ci_state_from(std::string_view s) { return kCiStateNames.parse(s); }

Ci merge_ci(const std::optional<Ci>& existing, const CiUpdate& u) {
  Ci c;
  if (existing) {
    c = *existing;
  } else {
    c.id = u.id;
    c.type = u.type;
    c.name = !u.name.empty() ? u.name : !u.name_if_new.empty() ? u.name_if_new : u.id;
    c.source = u.source;
    c.first_seen_ms = u.seen_at_ms;
    c.updated_ms = u.seen_at_ms;
  }
  bool changed = false;
  if (!u.name.empty() && c.name != u.name) {
    c.name = u.name;
    changed = true;
  }
  // Agents leave alone what a person or an integration set; those set it
  // and keep it theirs.
  const bool agent = u.source == "agent";
  auto is_protected = [&c](const std::string& k) {
    return std::binary_search(c.protected_keys.begin(), c.protected_keys.end(), k);
  };
  if (!agent)
    for (const auto& [k, v] : u.attributes)
      if (!is_protected(k)) c.protected_keys.insert(std::upper_bound(c.protected_keys.begin(), c.protected_keys.end(), k), k);
  for (auto it = c.attributes.begin(); it != c.attributes.end();) {
    if (starts_with_any(it->first, u.replace_prefixes) && !u.attributes.contains(it->first) &&
        !(agent && is_protected(it->first))) {
      it = c.attributes.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  for (const auto& [k, v] : u.attributes) {
    if (agent && is_protected(k)) continue;
    // JSON has no NaN or infinity: such a value could not be read back.
    if (const double* d = std::get_if<double>(&v); d && !std::isfinite(*d)) continue;
    auto it = c.attributes.find(k);
    if (it == c.attributes.end()) {
      c.attributes.emplace(k, v);
      changed = true;
    } else if (it->second != v) {
      it->second = v;
      changed = true;
    }
  }
  if (changed && existing) c.updated_ms = std::max(c.updated_ms, u.seen_at_ms);
  // Only an agent's report is a sighting (it makes the CI active and seen);
  // a person's edit or a state change (missing, retired) is not. A new CI
  // is seen when it is made.
  const bool sighting = !u.state && (agent || !existing);
  if (sighting) c.last_seen_ms = std::max(c.last_seen_ms, u.seen_at_ms);
  if (u.state) c.state = *u.state;
  else if (sighting) c.state = CiState::active;
  return c;
}

std::optional<InventorySection> merge_section(const std::optional<InventorySection>& old, const SectionUpdate& u,
                                              std::int64_t now_ms) {
  if (u.state == "collected" || u.state == "empty")
    return InventorySection{u.name, u.state, "", u.digest, u.data_json, now_ms};
  if (u.state == "failed") {
    InventorySection s = old.value_or(InventorySection{u.name, "", "", "", "", 0});
    if (s.state == "failed" && s.reason == u.reason) return s;  // nothing new
    s.state = "failed";
    s.reason = u.reason;
    s.updated_ms = now_ms;
    return s;
  }
  return old;  // unchanged
}

bool valid_relationship_type(std::string_view type) {
  static constexpr std::string_view kTypes[] = {"runs_on", "depends_on", "connected_to", "contains", "uses",
                                                 "member_of"};
  return std::find(std::begin(kTypes), std::end(kTypes), type) != std::end(kTypes);
}

namespace {

std::string value_json(const AttrValue& v) {
  json::value out;
  std::visit([&out](const auto& x) { out = x; }, v);
  return json::serialize(out);
}

AuditRecord audit_entry(std::string_view ci_id, std::string kind, std::string key, std::string old_value,
                        std::string new_value, std::string_view origin, std::int64_t time_ms) {
  AuditRecord r;
  r.time_ms = time_ms;
  r.ci_id = std::string(ci_id);
  r.kind = std::move(kind);
  r.key = std::move(key);
  r.old_value = std::move(old_value);
  r.new_value = std::move(new_value);
  r.origin = std::string(origin);
  return r;
}

// name[:architecture] -> version of a packages section; nullopt if unreadable.
std::optional<std::map<std::string, std::string>> package_versions(std::string_view text) {
  std::map<std::string, std::string> out;
  if (text.empty()) return out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return std::nullopt;
  for (const json::value& p : v.get_array()) {
    if (!p.is_object()) continue;
    const json::object& o = p.get_object();
    auto text_of = [&o](std::string_view k) {
      auto it = o.find(k);
      return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
    };
    std::string name = text_of("name");
    if (name.empty()) continue;
    const std::string arch = text_of("architecture");
    if (!arch.empty() && arch != "all") name += ":" + arch;
    out[name] = text_of("version");
  }
  return out;
}

std::vector<AuditRecord> audit_ci_fields(const std::optional<Ci>& old, const Ci& now, std::string_view origin,
                                         std::int64_t time_ms) {
  std::vector<AuditRecord> out;
  if (!old) {
    out.push_back(audit_entry(now.id, "created", now.type, "", attrs_to_json(now.attributes), origin, time_ms));
    return out;
  }
  auto quoted = [](const std::string& s) { return json::serialize(json::value(s)); };
  if (old->name != now.name) out.push_back(audit_entry(now.id, "name", "name", quoted(old->name), quoted(now.name), origin, time_ms));
  if (old->state != now.state)
    out.push_back(audit_entry(now.id, "state", "state", quoted(std::string(to_string(old->state))),
                              quoted(std::string(to_string(now.state))), origin, time_ms));
  auto a = old->attributes.begin();
  auto b = now.attributes.begin();
  while (a != old->attributes.end() || b != now.attributes.end()) {
    if (b == now.attributes.end() || (a != old->attributes.end() && a->first < b->first)) {
      out.push_back(audit_entry(now.id, "attribute", a->first, value_json(a->second), "", origin, time_ms));
      ++a;
    } else if (a == old->attributes.end() || b->first < a->first) {
      out.push_back(audit_entry(now.id, "attribute", b->first, "", value_json(b->second), origin, time_ms));
      ++b;
    } else {
      if (a->second != b->second)
        out.push_back(audit_entry(now.id, "attribute", a->first, value_json(a->second), value_json(b->second), origin,
                                  time_ms));
      ++a;
      ++b;
    }
  }
  return out;
}

}  // namespace

std::vector<AuditRecord> audit_ci(const std::optional<Ci>& old, const Ci& now, std::string_view origin,
                                  std::string_view actor, std::int64_t time_ms) {
  std::vector<AuditRecord> out = audit_ci_fields(old, now, origin, time_ms);
  for (AuditRecord& r : out) r.actor = std::string(actor);
  return out;
}

std::vector<AuditRecord> audit_software(std::string_view ci_id, std::string_view old_json, std::string_view new_json,
                                        std::string_view origin, std::int64_t time_ms) {
  std::vector<AuditRecord> out;
  if (old_json.empty()) return out;  // the first inventory is the baseline, not a change
  auto before = package_versions(old_json);
  auto after = package_versions(new_json);
  if (!before || !after) return out;
  auto quoted = [](const std::string& s) { return json::serialize(json::value(s)); };
  auto a = before->begin();
  auto b = after->begin();
  while (a != before->end() || b != after->end()) {
    if (b == after->end() || (a != before->end() && a->first < b->first)) {
      out.push_back(audit_entry(ci_id, "software", a->first, quoted(a->second), "", origin, time_ms));
      ++a;
    } else if (a == before->end() || b->first < a->first) {
      out.push_back(audit_entry(ci_id, "software", b->first, "", quoted(b->second), origin, time_ms));
      ++b;
    } else {
      if (a->second != b->second)
        out.push_back(audit_entry(ci_id, "software", a->first, quoted(a->second), quoted(b->second), origin, time_ms));
      ++a;
      ++b;
    }
  }
  return out;
}

bool has_baseline(const std::optional<InventorySection>& held) {
  return held && !held->data_json.empty() && held->data_json != "[]" && held->data_json != "null";
}

void classify_changes(std::vector<AuditRecord>& records, std::span<const ChangeRecord> changes,
                      const std::function<bool(const AuditRecord&)>& alerted) {
  for (AuditRecord& r : records) {
    // Observed by an agent, and a change rather than a discovery: a value
    // replaced or removed, software (after the baseline) or a relationship.
    // A CI coming back (state) is not a change of its configuration.
    if (r.origin != "agent" || r.kind == "created" || r.kind == "state") continue;
    // A reboot moves the boot time: availability, not configuration.
    if (r.kind == "attribute" && r.key == "host.boot_time_ms") continue;
    for (const ChangeRecord& c : changes)
      if (r.time_ms >= c.start_ms && r.time_ms < c.end_ms &&
          std::find(c.ci_ids.begin(), c.ci_ids.end(), r.ci_id) != c.ci_ids.end()) {
        r.change_id = c.id;
        break;
      }
    // Something appearing (an attribute or a component seen for the first
    // time) is a discovery: linked to a change if one is open, never flagged.
    // What it changes on the host (a count, a total) is a replaced value.
    const bool discovery = (r.kind == "attribute" || r.kind == "relationship") && r.old_value.empty();
    if (!r.change_id.empty() || discovery) continue;
    r.unauthorized = true;
    r.alert = !alerted(r);
  }
}

}  // namespace surveyor::collector::store

namespace surveyor::collector::store {

std::vector<Rollup> rollups_of(std::span<const Sample> samples) {
  std::map<std::int64_t, Rollup> by_hour;
  for (const Sample& s : samples) {
    if (std::isnan(s.value)) continue;
    const std::int64_t hour = floor_to(s.time_ms, kRollupMs);
    auto [it, fresh] = by_hour.try_emplace(hour, Rollup{hour, 1, s.value, s.value, s.value});
    if (!fresh) fold_rollup(it->second, Rollup{hour, 1, s.value, s.value, s.value});
  }
  std::vector<Rollup> out;
  out.reserve(by_hour.size());
  for (auto& [hour, r] : by_hour) out.push_back(r);
  return out;
}

void fold_rollup(Rollup& into, const Rollup& add) {
  into.count += add.count;
  into.sum += add.sum;
  into.min = std::min(into.min, add.min);
  into.max = std::max(into.max, add.max);
}

std::string event_key(std::string_view rule, const SeriesKey& series) {
  std::string k(rule);
  k += '\x1f';
  k += series.ci_id;
  k += '\x1f';
  k += series.metric;
  k += '\x1f';
  k += labels_to_json(series.attributes);
  return k;
}

ExpiryBounds expiry_bounds(const SeriesMaintenance& m) {
  return {floor_to(m.now_ms - m.raw_retention_ms, kBlockMs), floor_to(m.now_ms - m.rollup_retention_ms, kRollupMs)};
}

std::optional<Sample> newest_of(std::optional<Sample> head_newest, std::span<const Sample> newest_chunk) {
  if (!newest_chunk.empty() && (!head_newest || newest_chunk.back().time_ms > head_newest->time_ms))
    return newest_chunk.back();
  return head_newest;
}

std::vector<Sample> merge_samples(std::vector<Sample> held, std::span<const Sample> extra) {
  if (extra.empty()) return held;
  std::vector<Sample> add(extra.begin(), extra.end());
  // Stable: of several late copies of one time, the first one received wins.
  std::stable_sort(add.begin(), add.end(), [](const Sample& a, const Sample& b) { return a.time_ms < b.time_ms; });
  std::vector<Sample> out;
  out.reserve(held.size() + add.size());
  std::size_t i = 0, j = 0;
  while (i < held.size() || j < add.size()) {
    if (j == add.size() || (i < held.size() && held[i].time_ms <= add[j].time_ms)) {
      const std::int64_t t = held[i].time_ms;
      out.push_back(held[i++]);
      while (j < add.size() && add[j].time_ms == t) ++j;
    } else {
      const std::int64_t t = add[j].time_ms;
      out.push_back(add[j]);
      while (j < add.size() && add[j].time_ms == t) ++j;
    }
  }
  return out;
}

constexpr core::Names<Availability, 5> kAvailabilityNames{{{{Availability::up, "up"},
                                                           {Availability::down, "down"},
                                                           {Availability::unknown, "unknown"},
                                                           {Availability::maintenance, "maintenance"},
                                                           {Availability::degraded, "degraded"}}},
                                                         "unknown"};

std::string_view to_string(Availability a) { return kAvailabilityNames.name(a); }
std::optional<Availability> availability_from(std::string_view s) { return kAvailabilityNames.parse(s); }

}  // namespace surveyor::collector::store
