// SPDX-License-Identifier: Apache-2.0
// Audit evidence: one report per ISO/IEC 20000-1:2018 clause over a period,
// built from the stores (docs/iso20000.md). A report is a JSON document that
// says its clause, period, sources and method, carries its figures and
// tables, and ends with the SHA-256 digest of the rest; a closed period's
// report is frozen the first time it is generated. HTML and CSV are
// renderings of the document.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "surveyor/collector/capacity/rules.hpp"
#include "surveyor/collector/incidents/incidents.hpp"
#include "surveyor/collector/services/services.hpp"
#include "surveyor/collector/store/stores.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::evidence {

struct Clause {
  std::string_view id;     // "8.2.6"
  std::string_view title;  // "Configuration management"
  bool available = false;  // false: no report of this clause yet
};
// Every clause Surveyor holds evidence for, in the standard's order.
[[nodiscard]] std::span<const Clause> clauses();
[[nodiscard]] std::optional<Clause> find_clause(std::string_view id);

// A stretch of the UTC calendar: a month (2026-11), an ISO week (2026-W48),
// a quarter (2026-Q4), a year (2026), or days FROM..TO (2026-10-01..2026-12-31,
// both days included, at most 1,096 days). nullopt when malformed.
struct Period {
  std::string name;
  std::int64_t start_ms = 0, end_ms = 0;
};
[[nodiscard]] std::optional<Period> parse_period(std::string_view name);

// Targets per incident priority (1-5): time to acknowledge and to resolve.
struct Target {
  std::int64_t acknowledge_ms = 0, resolve_ms = 0;
};
using Targets = std::map<int, Target>;
// P1 15 min / 4 h, P2 30 min / 8 h, P3 4 h / 3 d, P4 1 d / 10 d, P5 3 d / 30 d.
[[nodiscard]] Targets default_targets();
// "P1=15m/4h,P2=30m/8h": the priorities given replace the defaults; an
// error names the part it cannot read.
[[nodiscard]] core::Result<Targets> parse_targets(std::string_view text);

struct Context {
  const store::Stores* stores = nullptr;
  const services::Catalog* catalog = nullptr;
  std::int64_t now_ms = 0;
  std::string by;  // who asks: the token's name and address
  Targets targets = default_targets();
  // The collector's capacity rules (the services' own come from the catalog).
  std::vector<capacity::CapacityRule> rules = capacity::default_rules();
};

// The report of `clause` over `period`, as its JSON document: for a period
// that has ended, the frozen one (generated and frozen now if there is none
// yet). Errors: StoreErrc::not_found for a clause without a report,
// StoreErrc::invalid for a period that has not begun, else the store's.
[[nodiscard]] core::Result<std::string> report(const Context& c, std::string_view clause, const Period& period);

// SHA-256 (hex) of the document's JSON without its "digest" member, as
// boost::json serializes it: what "digest" holds.
[[nodiscard]] std::string digest_of(std::string_view document_json);

// The document as one HTML page, readable and printable on its own (inline
// style, no scripts, no external resources).
[[nodiscard]] core::Result<std::string> to_html(std::string_view document_json);
// One of the document's tables as CSV (RFC 4180, a header row).
[[nodiscard]] core::Result<std::string> to_csv(std::string_view document_json, std::string_view table);

// The incident KPIs of [from, to) as of now (docs/incidents.md): from the
// incidents opened before `to` and the up time of the timelines that failed.
[[nodiscard]] core::Result<incidents::Kpis> period_kpis(const store::Stores& stores, std::int64_t from_ms,
                                                        std::int64_t to_ms, std::int64_t now_ms);

}  // namespace surveyor::collector::evidence
