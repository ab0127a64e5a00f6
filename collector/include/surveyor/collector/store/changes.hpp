// SPDX-License-Identifier: Apache-2.0
// Approved change records and their store.
#pragma once

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

// An approved change: its CIs may change inside [start, end).
struct ChangeRecord {
  std::string id;  // assigned by the store
  std::string reference;  // the change manager's own number, e.g. CHG0042
  std::vector<std::string> ci_ids;
  std::int64_t start_ms = 0, end_ms = 0;
  std::string description;
  std::string origin;
  std::string actor;  // the operator's token that recorded it
  std::int64_t created_ms = 0;
  // The impact analysis made when the change was recorded (JSON, as
  // impact::change_impact_json writes it; empty for changes recorded before
  // it was kept): what the change manager was told it would touch.
  std::string impact;
  friend bool operator==(const ChangeRecord&, const ChangeRecord&) = default;
};

struct ChangeFilter {
  std::string ci_id;  // empty: any
  std::int64_t ends_after_ms = INT64_MIN;  // only changes whose window ends after this
  std::size_t limit = 100;  // by start, newest first
};

// The record a store keeps for a new change: a fresh id, its CIs sorted and
// without repeats.
[[nodiscard]] ChangeRecord new_change(const ChangeRecord& in);

class ChangeStore {
 public:
  virtual ~ChangeStore() = default;
  // Records an approved change (id and created_ms are set here).
  virtual core::Result<ChangeRecord> create_change(const ChangeRecord& c) = 0;
  virtual core::Result<std::optional<ChangeRecord>> find_change(std::string_view id) = 0;
  virtual core::Result<std::vector<ChangeRecord>> list_changes(const ChangeFilter& f) = 0;
};

}  // namespace surveyor::collector::store
