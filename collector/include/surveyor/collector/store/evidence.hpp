// SPDX-License-Identifier: Apache-2.0
// Frozen audit evidence: the report of one ISO/IEC 20000-1 clause over a
// closed period, stored the first time it is generated, and its store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

struct FrozenEvidence {
  std::string clause;  // "8.2.6"
  std::string period;  // "2026-11", "2026-Q4", "2026"
  std::int64_t created_ms = 0;
  std::string document;  // the report's JSON, with its digest
  friend bool operator==(const FrozenEvidence&, const FrozenEvidence&) = default;
};

class EvidenceStore {
 public:
  virtual ~EvidenceStore() = default;
  // Stores e unless (clause, period) has a report already: false then
  // (another writer came first), nothing changes. Never replaced or removed.
  virtual core::Result<bool> add_evidence(const FrozenEvidence& e) = 0;
  virtual core::Result<std::optional<FrozenEvidence>> find_evidence(std::string_view clause,
                                                                    std::string_view period) = 0;
};

}  // namespace surveyor::collector::store
