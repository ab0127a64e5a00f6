// SPDX-License-Identifier: Apache-2.0
// What a report changes, decided once for every backend: the inventory plan
// and the classification of audit entries against change records.
#include <algorithm>
#include <string>

#include "surveyor/collector/store/audit.hpp"
#include "surveyor/collector/store/reports.hpp"

namespace surveyor::collector::store {

namespace {
constexpr std::size_t kRingBytes = kSeenWindow / 8;
static_assert(kSeenWindow % 8 == 0);
// Bit `at` of the ring, counted from the most significant bit of each
// byte, as Redis's SETBIT and GETBIT count.
unsigned char bit_of(std::uint64_t at) { return static_cast<unsigned char>(0x80U >> (at % 8)); }
void set_bit(std::string& ring, std::uint64_t sequence, bool on) {
  const std::uint64_t at = sequence % kSeenWindow;
  auto& byte = reinterpret_cast<unsigned char&>(ring[at / 8]);
  const unsigned char bit = bit_of(at);
  byte = on ? static_cast<unsigned char>(byte | bit) : static_cast<unsigned char>(byte & ~bit);
}
}  // namespace

bool within_window(std::uint64_t highest, std::uint64_t sequence) {
  return sequence <= highest && highest - sequence < kSeenWindow;
}

bool below_window(std::uint64_t highest, std::uint64_t sequence) {
  return sequence <= highest && !within_window(highest, sequence);
}

bool seen_in_window(std::string_view ring, std::uint64_t highest, std::uint64_t sequence) {
  if (ring.size() != kRingBytes || !within_window(highest, sequence)) return false;
  const std::uint64_t at = sequence % kSeenWindow;
  return (static_cast<unsigned char>(ring[at / 8]) & bit_of(at)) != 0;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> window_clears(std::uint64_t highest, std::uint64_t sequence) {
  if (sequence <= highest + 1) return {};
  // The places of highest + 1 .. sequence - 1, none of them applied, held
  // sequences the window leaves behind.
  if (sequence - highest > kSeenWindow) return {{0, kSeenWindow}};
  const std::uint64_t from = (highest + 1) % kSeenWindow, count = sequence - highest - 1;
  if (from + count <= kSeenWindow) return {{from, from + count}};
  return {{from, kSeenWindow}, {0, from + count - kSeenWindow}};
}

void mark_in_window(std::string& ring, std::uint64_t highest, std::uint64_t sequence) {
  if (ring.size() != kRingBytes) ring.assign(kRingBytes, '\0');
  if (below_window(highest, sequence)) return;
  for (const auto& [from, to] : window_clears(highest, sequence))
    for (std::uint64_t at = from; at < to; ++at) set_bit(ring, at, false);
  set_bit(ring, sequence, true);
}

InventoryPlan plan_inventory(std::string_view ci_id, std::vector<InventorySection> held,
                             const std::vector<SectionUpdate>& updates, std::int64_t now_ms) {
  InventoryPlan plan;
  for (const SectionUpdate& u : updates) {
    auto at = std::find_if(held.begin(), held.end(), [&u](const InventorySection& s) { return s.name == u.name; });
    std::optional<InventorySection> old;
    if (at != held.end()) old = *at;
    auto merged = merge_section(old, u, now_ms);
    if (!merged || merged == old) continue;
    plan.writes.push_back(*merged);
    if (merged->name == "packages" && has_baseline(old) && old->data_json != merged->data_json)
      for (AuditRecord& r : audit_software(ci_id, old->data_json, merged->data_json, "agent", now_ms))
        plan.audit.push_back(std::move(r));
    if (at != held.end()) *at = *merged;
    else held.push_back(*merged);
  }
  std::sort(held.begin(), held.end(), [](const InventorySection& a, const InventorySection& b) { return a.name < b.name; });
  plan.after = std::move(held);
  return plan;
}

core::Status classify_audit(
    std::vector<AuditRecord>& records,
    const std::function<core::Result<AuditContext>(std::string_view ci_id, const std::vector<std::string>& keys)>& context) {
  std::map<std::string, std::vector<std::size_t>> by_ci;  // CI -> its entries, in order
  for (std::size_t i = 0; i < records.size(); ++i) by_ci[records[i].ci_id].push_back(i);
  for (const auto& [ci, at] : by_ci) {
    std::vector<std::string> keys;
    for (std::size_t i : at) keys.push_back(records[i].key);
    auto ctx = context(ci, keys);
    if (!ctx) return std::move(ctx).error();
    std::vector<AuditRecord> part;
    for (std::size_t i : at) part.push_back(records[i]);
    classify_changes(part, ctx->changes, [&ctx](const AuditRecord& r) {
      auto it = ctx->last_alert.find(r.key);
      return it != ctx->last_alert.end() && it->second > r.time_ms - kFlapWindowMs;
    });
    for (std::size_t k = 0; k < at.size(); ++k) records[at[k]] = std::move(part[k]);
  }
  return {};
}

std::string series_limit_message(std::string_view ci_id, std::size_t held, std::size_t added,
                                 std::size_t max_series) {
  return "CI " + std::string(ci_id) + " has " + std::to_string(held) + " series and the report adds " +
         std::to_string(added) + "; the collector's max_series_per_agent is " + std::to_string(max_series);
}

}  // namespace surveyor::collector::store
