// SPDX-License-Identifier: Apache-2.0
// Frozen SLA reports and their amendments, and their store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

// One stored version of a closed period's SLA report: version 1 is the
// report frozen when the period closed, later ones are amendments.
struct SlaReportVersion {
  std::string service;
  std::string period;  // "2026-10"
  int version = 1;
  std::int64_t created_ms = 0;
  std::string by;      // "surveyor" for the freeze, else who asked for the recomputation
  std::string reason;
  std::string report;  // the report's JSON
  friend bool operator==(const SlaReportVersion&, const SlaReportVersion&) = default;
};

class SlaReportStore {
 public:
  virtual ~SlaReportStore() = default;
  // Stores v unless (service, period) already has v.version or more
  // versions: false then (another writer came first), nothing changes.
  virtual core::Result<bool> add_sla_report(const SlaReportVersion& v) = 0;
  // Every version of one period's report, oldest first.
  virtual core::Result<std::vector<SlaReportVersion>> sla_reports(std::string_view service,
                                                                  std::string_view period) = 0;
};

}  // namespace surveyor::collector::store
