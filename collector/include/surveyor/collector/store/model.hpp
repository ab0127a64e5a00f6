// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "surveyor/codec/chunk.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

enum class StoreErrc { unavailable = 1, conflict, corrupt, io, invalid, not_found };
const std::error_category& store_category();
inline std::error_code make_error_code(StoreErrc e) { return {static_cast<int>(e), store_category()}; }

// An enrolled agent. The key itself is never stored, only its SHA-256.
struct AgentRecord {
  std::string id;
  std::string key_hash;
  std::string host_id;
  std::string hostname;
  std::string ci_id;
  std::string agent_version;
  std::int64_t enrolled_at_ms = 0;
  // Advanced by every stored report.
  std::int64_t last_seen_ms = 0;
  std::uint64_t last_sequence = 0;
  std::uint32_t heartbeat_interval_s = 0;
  std::string inventory_digest;
  friend bool operator==(const AgentRecord&, const AgentRecord&) = default;
};

// A typed attribute value of a configuration item.
using AttrValue = std::variant<std::string, std::int64_t, double, bool>;
using AttrMap = std::map<std::string, AttrValue, std::less<>>;

// JSON object text of an attribute map, keys in order; and back.
[[nodiscard]] std::string attrs_to_json(const AttrMap& m);
[[nodiscard]] core::Result<AttrMap> attrs_from_json(std::string_view text);

enum class CiState { active, missing, retired };
[[nodiscard]] std::string_view to_string(CiState s);
[[nodiscard]] std::optional<CiState> ci_state_from(std::string_view s);

struct Ci {
  std::string id;
  std::string type;  // host, cpu, disk, ...
  std::string name;
  std::string source;  // agent, user, api
  CiState state = CiState::active;
  AttrMap attributes;
  std::int64_t first_seen_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::int64_t updated_ms = 0;  // last attribute change
  // Attributes a person or an integration set (origin user or api): agents
  // do not overwrite or remove them.
  std::vector<std::string> protected_keys;  // sorted
  friend bool operator==(const Ci&, const Ci&) = default;
};

// What an observation says about a CI: it was seen, and (perhaps) what some of
// its attributes are now. Keys under `replace_prefixes` that are not in
// `attributes` are removed; other existing keys are kept, so a section that
// could not be read leaves what was known before untouched.
struct CiUpdate {
  std::string id;
  std::string type;
  std::string name;  // empty: keep the current name
  std::string name_if_new;  // the name a CI created by this update gets when `name` is empty
  std::string source;
  AttrMap attributes;
  std::vector<std::string> replace_prefixes;
  std::int64_t seen_at_ms = 0;
  // The state the CI is in after this update. None: an agent's update is a
  // sighting (active, seen at seen_at_ms); anyone else's keeps the state.
  // With a state, seen_at_ms is only when it changed.
  std::optional<CiState> state;
};

// A CI's protected keys as a JSON array text, and back (sorted).
[[nodiscard]] std::string keys_to_json(const std::vector<std::string>& keys);
[[nodiscard]] core::Result<std::vector<std::string>> keys_from_json(std::string_view text);

// The CI after applying `u` to what was stored (nullopt: a new CI).
[[nodiscard]] Ci merge_ci(const std::optional<Ci>& existing, const CiUpdate& u);

struct CiFilter {
  std::string type;  // empty: any
  std::string name;  // exact name; empty: any
  std::size_t limit = 1000;
  std::size_t offset = 0;
};

using Labels = std::vector<std::pair<std::string, std::string>>;  // sorted by key

// A series is a CI, a metric and attributes.
struct SeriesKey {
  std::string ci_id;
  std::string metric;
  Labels attributes;
  friend bool operator==(const SeriesKey&, const SeriesKey&) = default;
  friend auto operator<=>(const SeriesKey&, const SeriesKey&) = default;
};

// The attributes as a JSON object text with sorted keys: the identity stored
// alongside the metric.
[[nodiscard]] std::string labels_to_json(const Labels& l);
[[nodiscard]] core::Result<Labels> labels_from_json(std::string_view text);

struct SeriesInfo {
  SeriesKey key;
  std::string unit;
  friend bool operator==(const SeriesInfo&, const SeriesInfo&) = default;
};

// A sample is the codec's: a time and a value, stored bit for bit.
using Sample = codec::Sample;

// How series are laid out in every store. Samples arrive into a raw head;
// once a block (kBlockMs, aligned to the epoch) has been closed for a grace
// period, its samples are compacted into one chunk (codec::encode_chunk).
// Hourly rollups are kept beside, built as samples arrive.
inline constexpr std::int64_t kBlockMs = 4 * 3'600'000;
inline constexpr std::int64_t kRollupMs = 3'600'000;

// The start of the step-long interval holding t (floor division, also for t < 0).
[[nodiscard]] constexpr std::int64_t floor_to(std::int64_t t, std::int64_t step) {
  const std::int64_t q = t / step;
  return (q * step > t ? q - 1 : q) * step;
}

// One hour of a series: count, sum, min and max of its non-NaN values.
struct Rollup {
  std::int64_t start_ms = 0;
  std::int64_t count = 0;
  double sum = 0, min = 0, max = 0;
  [[nodiscard]] double avg() const { return sum / static_cast<double>(count); }
  friend bool operator==(const Rollup&, const Rollup&) = default;
};

// Rollups of `samples` (in their order; NaN skipped), one per hour that has a
// value, oldest first.
[[nodiscard]] std::vector<Rollup> rollups_of(std::span<const Sample> samples);
// `add` folded into `into` (same hour): counts and sums add, extremes widen.
void fold_rollup(Rollup& into, const Rollup& add);

// `held` (sorted, unique times) with the samples of `extra` at times not in
// `held`; sorted, unique. A stored value is never replaced by a late copy.
[[nodiscard]] std::vector<Sample> merge_samples(std::vector<Sample> held, std::span<const Sample> extra);

// What SeriesStore::maintain does, as of now_ms.
struct SeriesMaintenance {
  std::int64_t now_ms = 0;
  // A block is compacted once it ended this long ago (late samples after
  // that still land, in the head, and are merged by a later pass).
  std::int64_t grace_ms = 3'600'000;
  std::int64_t raw_retention_ms = 14 * 86'400'000LL;
  std::int64_t rollup_retention_ms = 730 * 86'400'000LL;
  // Work per call; the rest is left for the next call (`more`).
  std::size_t max_series = 2000;
  // Work per transaction, so ingest waits for at most one small step.
  std::size_t series_per_step = 32;
};

// What retention removes: raw data (chunks and head) in whole blocks before
// raw_before, rollups before rollups_before.
struct ExpiryBounds {
  std::int64_t raw_before = 0;
  std::int64_t rollups_before = 0;
};
[[nodiscard]] ExpiryBounds expiry_bounds(const SeriesMaintenance& m);

struct MaintenanceReport {
  std::size_t series_visited = 0;
  std::size_t blocks_compacted = 0;
  std::size_t samples_compacted = 0;
  std::size_t chunks_expired = 0;
  std::size_t samples_expired = 0;
  std::size_t rollups_expired = 0;
  // Resolved capacity events deleted (kept as long as the rollups they
  // were raised from); filled in by the housekeeper, not by maintain().
  std::size_t events_expired = 0;
  // Series whose stored chunk could not be read: left as they are (their
  // head keeps growing) and reported, never rewritten.
  std::size_t damaged = 0;
  std::string damage;  // the last such error
  bool more = false;  // the pass over all series is not finished
};

struct LatestSample {
  SeriesInfo series;
  Sample sample;
};

// One inventory section of a CI as the collector holds it. `digest` and
// `data_json` describe the last data received; `state` says what the latest
// report said (a failed section keeps its old data).
struct InventorySection {
  std::string name;
  std::string state;  // collected, empty, failed, unchanged
  std::string reason;
  std::string digest;
  std::string data_json;
  std::int64_t updated_ms = 0;
  friend bool operator==(const InventorySection&, const InventorySection&) = default;
};

// What one report says about a section.
struct SectionUpdate {
  std::string name, state, reason, digest, data_json;
};

// The section to store after `u` (nullopt: nothing to store). Collected and
// empty replace; failed keeps the old data and records why; unchanged keeps
// what is there.
[[nodiscard]] std::optional<InventorySection> merge_section(const std::optional<InventorySection>& old,
                                                            const SectionUpdate& u, std::int64_t now_ms);

// Everything one report changes, applied atomically by ReportStore.
struct ReportBatch {
  std::string agent_id;
  std::uint64_t sequence = 0;
  std::int64_t received_at_ms = 0;
  std::uint32_t heartbeat_interval_s = 0;
  std::optional<std::string> inventory_digest;  // set when the report carried an inventory
  std::vector<CiUpdate> cis;
  std::vector<std::pair<SeriesInfo, std::vector<Sample>>> series;
  std::string inventory_ci_id;  // whose inventory `sections` update
  std::vector<SectionUpdate> sections;
};

enum class ApplyOutcome { stored, duplicate };

struct ApplyResult {
  ApplyOutcome outcome = ApplyOutcome::stored;
  // The inventory of batch.inventory_ci_id as stored after the report
  // (before it, for a duplicate), sorted by section name.
  std::vector<InventorySection> inventory;
};

// A capacity condition met by one series of a CI: raised by a capacity rule,
// one open per (rule, CI, series); resolved when the condition clears.
struct CapacityEvent {
  std::string id;
  std::string kind;  // capacity (sustained breach) or capacity-forecast
  std::string rule;
  std::string ci_id;
  std::string metric;
  Labels attributes;
  std::string state;  // open or resolved
  std::int64_t opened_ms = 0;
  std::int64_t updated_ms = 0;  // last evaluation that found the condition
  std::int64_t resolved_ms = 0;
  double threshold = 0;
  double value = 0;  // the figure that breached: lowest value in the window, or the latest for a forecast
  std::optional<std::int64_t> predicted_ms;  // forecast: when the threshold is reached
  std::string summary;
  friend bool operator==(const CapacityEvent&, const CapacityEvent&) = default;
};

// The identity an open event is de-duplicated on.
[[nodiscard]] std::string event_key(std::string_view rule, const SeriesKey& series);

struct EventFilter {
  std::string state;  // empty: any
  std::string ci_id;  // empty: any
  std::string kind;   // empty: any
  std::size_t limit = 100;
};

// --- relationships, audit trail, change records (docs/cmdb.md) -------------

// A typed, directed link between two CIs: `from` runs_on / depends_on /
// connected_to / contains `to`. Identity is (from, type, to).
struct Relationship {
  std::string from;
  std::string type;
  std::string to;
  std::string origin;  // agent, user or api
  std::int64_t created_ms = 0;
  friend bool operator==(const Relationship&, const Relationship&) = default;
};
// runs_on, depends_on, connected_to, contains, uses, member_of.
[[nodiscard]] bool valid_relationship_type(std::string_view type);

// One immutable entry of the audit trail.
struct AuditRecord {
  std::string id;  // assigned by the store; ordered by (time, id)
  std::int64_t time_ms = 0;
  std::string ci_id;
  // created, attribute, relationship, software, state, name
  std::string kind;
  std::string key;        // the attribute, "TYPE TARGET" of a relationship, the package
  std::string old_value;  // JSON text; empty: there was none
  std::string new_value;  // JSON text; empty: there is none now
  std::string origin;     // agent, user or api
  std::string change_id;  // the change record it falls under; empty: none
  // Observed by an agent outside every change window of the CI. `alert`:
  // the first such record for this CI and key within an hour (flapping
  // values raise one alert, not one per report).
  bool unauthorized = false;
  bool alert = false;
  friend bool operator==(const AuditRecord&, const AuditRecord&) = default;
};

struct AuditFilter {
  std::string ci_id;  // empty: the whole fleet
  std::int64_t from_ms = INT64_MIN;  // from <= time < to
  std::int64_t to_ms = INT64_MAX;
  std::string kind;          // empty: any
  bool unauthorized = false;  // only alerts for unauthorised changes
  std::size_t limit = 100;    // newest first
};

// An approved change: its CIs may change inside [start, end).
struct ChangeRecord {
  std::string id;  // assigned by the store
  std::string reference;  // the change manager's own number, e.g. CHG0042
  std::vector<std::string> ci_ids;
  std::int64_t start_ms = 0, end_ms = 0;
  std::string description;
  std::string origin;
  std::int64_t created_ms = 0;
  friend bool operator==(const ChangeRecord&, const ChangeRecord&) = default;
};

struct ChangeFilter {
  std::string ci_id;  // empty: any
  std::int64_t ends_after_ms = INT64_MIN;  // only changes whose window ends after this
  std::size_t limit = 100;  // by start, newest first
};

// How long one unauthorised change of a CI attribute suppresses further alerts.
inline constexpr std::int64_t kFlapWindowMs = 3'600'000;

// The audit entries for a CI write: "created" for a new CI, else one per
// attribute added, changed or removed, and one for a new name or state.
[[nodiscard]] std::vector<AuditRecord> audit_ci(const std::optional<Ci>& old, const Ci& now, std::string_view origin,
                                                std::int64_t time_ms);
// The entries for a software inventory that changed: package installed,
// upgraded (or downgraded) and removed, by name (and architecture). None
// for the first inventory (old_json empty): that is the baseline.
[[nodiscard]] std::vector<AuditRecord> audit_software(std::string_view ci_id, std::string_view old_json,
                                                      std::string_view new_json, std::string_view origin,
                                                      std::int64_t time_ms);
// Whether a held packages section is a baseline to compare the next one to
// (it holds a list that is not empty).
[[nodiscard]] bool has_baseline(const std::optional<InventorySection>& held);

// Links each agent-observed change to the change record of its CI whose
// window holds it, or, for a value replaced or removed, software changed or a
// relationship removed (not for something seen for the first time), marks it
// unauthorised; `alerted` answers whether an alert for that
// CI and key was raised within kFlapWindowMs before the entry.
void classify_changes(std::vector<AuditRecord>& records, std::span<const ChangeRecord> changes,
                      const std::function<bool(const AuditRecord&)>& alerted);

// A service definition stored through the API (the same TOML as a file).
struct StoredService {
  std::string name;
  std::string definition;  // TOML text
  std::string origin;      // user or api
  std::int64_t updated_ms = 0;
  friend bool operator==(const StoredService&, const StoredService&) = default;
};

// --- availability (docs/sla.md) ------------------------------------------------

// degraded: a service still up on part of its redundancy.
enum class Availability { up, down, unknown, maintenance, degraded };
[[nodiscard]] std::string_view to_string(Availability a);
[[nodiscard]] std::optional<Availability> availability_from(std::string_view s);

// A stretch of time [start, end) in one state, of a subject: a CI id or
// "service:NAME".
struct StateInterval {
  std::string subject;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  Availability state = Availability::unknown;
  friend bool operator==(const StateInterval&, const StateInterval&) = default;
};


// --- incidents (docs/incidents.md) ---------------------------------------------

enum class IncidentKind { availability, capacity, capacity_forecast, sla_risk, sla_breach, unauthorised_change };
[[nodiscard]] std::string_view to_string(IncidentKind k);  // "capacity-forecast", "SLA-risk", ...
[[nodiscard]] std::optional<IncidentKind> incident_kind_from(std::string_view s);

enum class IncidentState { open, acknowledged, resolved, closed };
[[nodiscard]] std::string_view to_string(IncidentState s);
[[nodiscard]] std::optional<IncidentState> incident_state_from(std::string_view s);
// Open or acknowledged: the condition is (or may be) still there.
[[nodiscard]] inline bool is_active(IncidentState s) {
  return s == IncidentState::open || s == IncidentState::acknowledged;
}

// One entry of an incident's timeline: what happened, when, by whom.
struct IncidentEvent {
  std::int64_t time_ms = 0;
  std::string by;      // "surveyor" for the evaluation, else the person
  std::string action;  // opened, acknowledged, resolved, closed, reopened, comment, recovered, relapsed,
                       // priority, linked, unlinked
  std::string text;
  friend bool operator==(const IncidentEvent&, const IncidentEvent&) = default;
};

struct Incident {
  std::string id;  // "INC-42", numbered by the store
  IncidentKind kind = IncidentKind::availability;
  std::string key;      // dedup key "KIND:SUBJECT:RULE": one active incident per key
  std::string subject;  // the CI id or "service:NAME"
  std::string rule;     // what fired: heartbeat, check:NAME, service, a capacity rule, burn-rate, a period
  std::string summary;
  int impact = 3, urgency = 3;  // 1 high, 2 medium, 3 low
  int priority = 5;             // 1 (critical) .. 5 (planning), from the matrix
  IncidentState state = IncidentState::open;
  std::int64_t opened_ms = 0, updated_ms = 0, acknowledged_ms = 0, resolved_ms = 0, closed_ms = 0;
  // When the condition cleared while the incident is active (0: it holds);
  // the incident resolves once it stayed clear for the hold-down.
  std::int64_t recovered_ms = 0;
  // Suppressed: the incident of the CI this one fails because of (no page
  // of its own; it travels in that incident's notifications).
  std::string parent;
  int reopened = 0;
  std::vector<IncidentEvent> timeline;  // oldest first
  friend bool operator==(const Incident&, const Incident&) = default;
};

struct IncidentFilter {
  std::vector<IncidentState> states;  // empty: any
  std::optional<IncidentKind> kind;
  std::string subject;                      // empty: any
  int max_priority = 5;                     // priority <= this (1 is the highest)
  std::int64_t opened_from_ms = INT64_MIN;  // from <= opened < to
  std::int64_t opened_to_ms = INT64_MAX;
  std::size_t limit = 100;  // newest opened first
};

// The JSON document an incident is stored as (and the API shows).
[[nodiscard]] std::string incident_to_json(const Incident& i);
[[nodiscard]] core::Result<Incident> incident_from_json(std::string_view text);

// One attempt to deliver a webhook message.
struct Delivery {
  std::int64_t time_ms = 0;
  std::string webhook;     // its name in the configuration
  std::string message_id;  // the same for every attempt of one message
  std::vector<std::string> incidents;
  int attempt = 1;
  int status = 0;  // HTTP status; 0: no answer
  std::string error;
  bool delivered = false;
  friend bool operator==(const Delivery&, const Delivery&) = default;
};

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

}  // namespace surveyor::collector::store

template <>
struct std::is_error_code_enum<surveyor::collector::store::StoreErrc> : std::true_type {};
