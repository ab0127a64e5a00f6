// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/store/model.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Every method of every store is safe to call from several threads at once,
// and blocks: call it from a worker thread, never from an I/O thread.
// Failures are StoreErrc: `unavailable` when the backend cannot be reached
// (the caller answers 503), `corrupt` when stored data cannot be read back.

class AgentStore {
 public:
  virtual ~AgentStore() = default;
  // Adds a new agent; `conflict` if the id exists.
  virtual core::Status create_agent(const AgentRecord& a) = 0;
  // The agent, or nullopt when unknown.
  virtual core::Result<std::optional<AgentRecord>> find_agent(std::string_view id) = 0;
};

class CmdbStore {
 public:
  virtual ~CmdbStore() = default;
  // Creates or updates one CI as merge_ci() describes; returns it as stored.
  virtual core::Result<Ci> upsert_ci(const CiUpdate& u) = 0;
  virtual core::Result<std::optional<Ci>> find_ci(std::string_view id) = 0;
  // CIs matching the filter, ordered by name then id.
  virtual core::Result<std::vector<Ci>> list_cis(const CiFilter& f) = 0;
};

// Visits every CI of a type (all types when empty), in pages: `visit` returns
// true to go on, false to stop, or an error to stop with.
inline core::Status for_each_ci(CmdbStore& cmdb, std::string_view type,
                                const std::function<core::Result<bool>(const Ci&)>& visit) {
  constexpr std::size_t kPage = 500;
  for (std::size_t offset = 0;; offset += kPage) {
    CiFilter f;
    f.type = std::string(type);
    f.limit = kPage;
    f.offset = offset;
    auto cis = cmdb.list_cis(f);
    if (!cis) return std::move(cis).error();
    for (const Ci& ci : *cis) {
      auto more = visit(ci);
      if (!more) return std::move(more).error();
      if (!*more) return {};
    }
    if (cis->size() < kPage) return {};
  }
}

class SeriesStore {
 public:
  virtual ~SeriesStore() = default;
  // The series recorded for a CI, ordered by metric then attributes.
  virtual core::Result<std::vector<SeriesInfo>> list_series(std::string_view ci_id) = 0;
  // Samples with from_ms <= time < to_ms, oldest first, at most `limit`.
  virtual core::Result<std::vector<Sample>> read_samples(const SeriesKey& key, std::int64_t from_ms,
                                                         std::int64_t to_ms, std::size_t limit) = 0;
  // The newest sample of each series of a CI (only of `metric`, if given),
  // in list_series order.
  virtual core::Result<std::vector<LatestSample>> latest_samples(std::string_view ci_id,
                                                                 std::string_view metric = {}) = 0;
  // The same for several CIs, in their order (Redis answers in two round
  // trips for all of them).
  virtual core::Result<std::vector<std::vector<LatestSample>>> latest_samples_of(const std::vector<std::string>& ci_ids,
                                                                                std::string_view metric) {
    std::vector<std::vector<LatestSample>> out;
    out.reserve(ci_ids.size());
    for (const std::string& id : ci_ids) {
      auto one = latest_samples(id, metric);
      if (!one) return std::move(one).error();
      out.push_back(std::move(*one));
    }
    return out;
  }
  // Hourly rollups with from_ms <= start < to_ms, oldest first.
  virtual core::Result<std::vector<Rollup>> read_rollups(const SeriesKey& key, std::int64_t from_ms,
                                                         std::int64_t to_ms) = 0;
  // One slice of housekeeping: compacts closed blocks of the raw head into
  // chunks (merging late samples into chunks already written) and drops what
  // is past retention, in short transactions. Successive calls walk all
  // series in turn; `more` says the walk has not come round yet.
  virtual core::Result<MaintenanceReport> maintain(const SeriesMaintenance& m) = 0;
};

class ReportStore {
 public:
  virtual ~ReportStore() = default;
  // All or nothing: unless (agent, sequence) was applied before, apply the CI
  // updates, append the samples (a sample at a time already stored for its
  // series is ignored), advance the agent's state and remember the sequence.
  // Returns `duplicate`, having changed nothing, for a sequence seen before.
  // When this returns, the change is as durable as the backend is configured to make it.
  virtual core::Result<ApplyResult> apply_report(const ReportBatch& b) = 0;
};

class InventoryStore {
 public:
  virtual ~InventoryStore() = default;
  // The inventory sections held for a CI, sorted by name (empty if none).
  virtual core::Result<std::vector<InventorySection>> get_inventory(std::string_view ci_id) = 0;
};

class EventStore {
 public:
  virtual ~EventStore() = default;
  // Opens `e` (its id, state and times are set here) unless an event with the
  // same rule and series is open; then that one is updated (value, predicted
  // time, summary, updated_ms) instead. Returns the event as stored and
  // whether it was opened by this call. Atomic across collectors.
  virtual core::Result<std::pair<CapacityEvent, bool>> raise_event(const CapacityEvent& e, std::int64_t now_ms) = 0;
  // Resolves the open event with this rule and series, if any.
  virtual core::Result<std::optional<CapacityEvent>> resolve_event(std::string_view rule, const SeriesKey& series,
                                                                   std::int64_t now_ms) = 0;
  // Newest first. Open events are read through their own index, so the
  // evaluation's listing costs what is open, not what was ever raised.
  virtual core::Result<std::vector<CapacityEvent>> list_events(const EventFilter& f) = 0;
  // Deletes resolved events resolved before the instant; open ones stay
  // however old. Returns how many went.
  virtual core::Result<std::size_t> prune_events(std::int64_t resolved_before_ms) = 0;
};

class RelationStore {
 public:
  virtual ~RelationStore() = default;
  // Adds the relationship (both CIs must exist: `not_found` otherwise) and an
  // audit entry on `from`; false if it existed already (nothing changes).
  virtual core::Result<bool> add_relationship(const Relationship& r) = 0;
  // Removes it, with an audit entry by `origin` at now_ms; false if absent.
  virtual core::Result<bool> remove_relationship(const Relationship& r, std::string_view origin,
                                                 std::int64_t now_ms) = 0;
  // Every relationship from or to the CI, ordered by (from, type, to).
  virtual core::Result<std::vector<Relationship>> relationships_of(std::string_view ci_id) = 0;
  // All of them (for the dependency graph), and a number that changes
  // whenever one is added or removed (so a cached graph knows it is stale).
  virtual core::Result<std::vector<Relationship>> all_relationships() = 0;
  virtual core::Result<std::int64_t> relationships_version() = 0;
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Entries are written by the CI, report and relationship writes that make
  // them, in the same transaction; they are never changed or removed.
  virtual core::Result<std::vector<AuditRecord>> list_audit(const AuditFilter& f) = 0;
};

class ChangeStore {
 public:
  virtual ~ChangeStore() = default;
  // Records an approved change (id and created_ms are set here).
  virtual core::Result<ChangeRecord> create_change(const ChangeRecord& c) = 0;
  virtual core::Result<std::optional<ChangeRecord>> find_change(std::string_view id) = 0;
  virtual core::Result<std::vector<ChangeRecord>> list_changes(const ChangeFilter& f) = 0;
};

class ServiceStore {
 public:
  virtual ~ServiceStore() = default;
  // Creates or replaces the definition named s.name.
  virtual core::Status put_service(const StoredService& s) = 0;
  // False if there was none.
  virtual core::Result<bool> delete_service(std::string_view name) = 0;
  // By name.
  virtual core::Result<std::vector<StoredService>> list_services() = 0;
  // Changes whenever a definition is put or deleted.
  virtual core::Result<std::int64_t> services_version() = 0;
};

class TimelineStore {
 public:
  virtual ~TimelineStore() = default;
  // Records that each subject was in its state over [start, end), in order.
  // The part already recorded (before the subject's last end) is ignored, so
  // repeating a call changes nothing; a stretch in the same state as the last
  // one, starting where it ends, extends it. One transaction on SQLite, one
  // round trip on Redis (atomic per interval there).
  virtual core::Status record_states(const std::vector<StateInterval>& states) = 0;
  core::Status record_state(std::string_view subject, Availability state, std::int64_t from_ms, std::int64_t to_ms) {
    return record_states({{std::string(subject), from_ms, to_ms, state}});
  }
  // Intervals overlapping [from, to), oldest first (not clipped).
  virtual core::Result<std::vector<StateInterval>> read_timeline(std::string_view subject, std::int64_t from_ms,
                                                                 std::int64_t to_ms) = 0;
  // The time up to which availability was last evaluated (0: never), and
  // setting it: the collector's own pulse, so a gap is known as unknown.
  virtual core::Result<std::int64_t> evaluated_until() = 0;
  virtual core::Status set_evaluated_until(std::int64_t t_ms) = 0;
};

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;
  // Takes or renews the lease `name` for `holder` until now + ttl: true if
  // `holder` has it now, false while another holder's lease runs. So of
  // several collectors sharing a store one does a periodic job.
  virtual core::Result<bool> acquire_lease(std::string_view name, std::string_view holder, std::int64_t now_ms,
                                           std::int64_t ttl_ms) = 0;
};

class IncidentStore {
 public:
  virtual ~IncidentStore() = default;
  // Given the incident to change (or nullopt), returns what to store
  // (nullopt: leave it as it is). It runs while the store holds the write,
  // so it must not call the store; it may run more than once (Redis retries
  // after a lost race), so it must have no other effects.
  using Change = std::function<std::optional<Incident>(const std::optional<Incident>&)>;
  // Passes the newest incident with dedup key `key` (any state; nullopt if
  // none) to `change` and stores its answer, atomically against every other
  // writer of that key. An answer without id is a new incident: the store
  // numbers it ("INC-1", "INC-2", ...). Returns what was stored, if anything.
  virtual core::Result<std::optional<Incident>> update_incident_by_key(std::string_view key, const Change& change) = 0;
  // The same for the incident `id` (`not_found` if there is none).
  virtual core::Result<std::optional<Incident>> update_incident(std::string_view id, const Change& change) = 0;
  virtual core::Result<std::optional<Incident>> find_incident(std::string_view id) = 0;
  // Newest opened first.
  virtual core::Result<std::vector<Incident>> list_incidents(const IncidentFilter& f) = 0;

  // The webhook delivery log: every attempt, kept for the newest 10,000.
  virtual core::Status record_delivery(const Delivery& d) = 0;
  // Newest first.
  virtual core::Result<std::vector<Delivery>> list_deliveries(std::size_t limit) = 0;
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

// What the backend's own settings put at risk, as read from it.
struct Durability {
  // Ways an acknowledged write can be lost with these settings, each said
  // with the setting and what to set instead; empty when none.
  std::vector<std::string> warnings;
  // The backend deletes data under memory pressure (Redis's maxmemory-policy
  // other than noeviction): the collector refuses to start on it unless told to.
  bool evicting = false;
};

class StoreHealth {
 public:
  virtual ~StoreHealth() = default;
  // Cheap round trip to the backend.
  virtual core::Status ping() = 0;
  // Reads the backend's durability settings now (they can change while the
  // collector runs: Redis's CONFIG SET).
  virtual core::Result<Durability> durability() = 0;
  // "sqlite:/var/lib/surveyor/surveyor.db" or "redis://127.0.0.1:6379" (no secrets).
  [[nodiscard]] virtual std::string describe() const = 0;
};

// One backend's stores. The members share the backend's connections.
struct Stores {
  std::shared_ptr<AgentStore> agents;
  std::shared_ptr<CmdbStore> cmdb;
  std::shared_ptr<SeriesStore> series;
  std::shared_ptr<ReportStore> reports;
  std::shared_ptr<InventoryStore> inventory;
  std::shared_ptr<EventStore> events;
  std::shared_ptr<RelationStore> relations;
  std::shared_ptr<AuditStore> audit;
  std::shared_ptr<ChangeStore> changes;
  std::shared_ptr<ServiceStore> services;
  std::shared_ptr<TimelineStore> timelines;
  std::shared_ptr<LeaseStore> leases;
  std::shared_ptr<IncidentStore> incidents;
  std::shared_ptr<SlaReportStore> sla_reports;
  std::shared_ptr<StoreHealth> health;
};

}  // namespace surveyor::collector::store
