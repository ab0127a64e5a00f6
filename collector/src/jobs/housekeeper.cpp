// SPDX-License-Identifier: Apache-2.0
// The housekeeper: schedules series maintenance, capacity rules, the
// evaluation step and the CI lifecycle, each on its own interval.
#include "surveyor/collector/jobs/housekeeper.hpp"

#include "surveyor/log/log.hpp"

namespace surveyor::collector::jobs {
namespace {

using Steady = std::chrono::steady_clock;

double seconds_since(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }

}  // namespace

Housekeeper::Housekeeper(store::Stores stores, const core::Clock& clock, metrics::Registry& registry,
                         HousekeepingOptions o)
    : stores_(std::move(stores)),
      clock_(clock),
      options_(std::move(o)),
      runs_(registry.counter("surveyor_housekeeping_runs_total", "Background job runs, by job and outcome.",
                             {"job", "outcome"})),
      duration_(registry.gauge("surveyor_housekeeping_last_duration_seconds", "How long the last run of a job took.",
                               {"job"})),
      compacted_(registry.counter("surveyor_series_blocks_compacted_total", "Blocks of raw samples compacted into chunks.")),
      expired_(registry.counter("surveyor_series_expired_total", "Stored items dropped by retention, by kind.", {"what"})),
      damaged_(registry.gauge("surveyor_series_damaged_chunks", "Chunks and head rows that could not be read in the last pass.")),
      open_events_(registry.gauge("surveyor_capacity_events_breaching", "Series breaching a capacity rule at the last evaluation.")),
      lifecycle_(registry.counter("surveyor_ci_state_changes_total", "CIs that became missing or retired by silence.", {"state"})),
      incident_events_(registry.counter("surveyor_incident_notices_total",
                                        "Incidents opened, reopened, escalated, unlinked and resolved by the evaluation.",
                                        {"event"})),
      evaluator_(stores_, options_.evaluation) {}

Housekeeper::~Housekeeper() { stop(); }

void Housekeeper::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void Housekeeper::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Housekeeper::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

core::Result<store::MaintenanceReport> Housekeeper::run_maintenance() {
  const auto started = Steady::now();
  store::MaintenanceReport total;
  for (;;) {
    store::SeriesMaintenance m = options_.maintenance;
    m.now_ms = core::to_unix_ms(clock_.now());
    auto r = stores_.series->maintain(m);
    if (!r) {
      runs_.with({"maintenance", "failed"}).inc();
      return r;
    }
    total.series_visited += r->series_visited;
    total.blocks_compacted += r->blocks_compacted;
    total.samples_compacted += r->samples_compacted;
    total.chunks_expired += r->chunks_expired;
    total.samples_expired += r->samples_expired;
    total.rollups_expired += r->rollups_expired;
    total.damaged += r->damaged;
    if (!r->damage.empty()) total.damage = r->damage;
    if (!r->more || !sleep_for(options_.slice_pause)) break;
  }
  const std::int64_t now_ms = core::to_unix_ms(clock_.now());
  auto pruned = stores_.events->prune_events(now_ms - options_.maintenance.rollup_retention_ms);
  if (!pruned) {
    runs_.with({"maintenance", "failed"}).inc();
    return std::move(pruned).error();
  }
  total.events_expired = *pruned;
  compacted_.with({}).inc(total.blocks_compacted);
  expired_.with({"chunks"}).inc(total.chunks_expired);
  expired_.with({"samples"}).inc(total.samples_expired);
  expired_.with({"rollups"}).inc(total.rollups_expired);
  expired_.with({"events"}).inc(total.events_expired);
  damaged_.with({}).set(static_cast<double>(total.damaged));
  duration_.with({"maintenance"}).set(seconds_since(started));
  runs_.with({"maintenance", "ok"}).inc();
  return total;
}

core::Result<std::pair<std::size_t, std::size_t>> Housekeeper::run_lifecycle() {
  const std::int64_t now = core::to_unix_ms(clock_.now());
  const std::int64_t missing_ms = options_.missing_after.count(), retire_ms = options_.retire_after.count();
  std::pair<std::size_t, std::size_t> changed{0, 0};
  std::vector<store::CiUpdate> updates;
  auto walked = store::for_each_ci(*stores_.cmdb, "host", [&](const store::Ci& ci) -> core::Result<bool> {
    if (ci.source != "agent" || ci.state == store::CiState::retired) return true;
    const std::int64_t silent = now - ci.last_seen_ms;
    std::optional<store::CiState> next;
    if (retire_ms > 0 && silent > retire_ms) next = store::CiState::retired;
    else if (missing_ms > 0 && silent > missing_ms && ci.state == store::CiState::active) next = store::CiState::missing;
    if (!next) return true;
    store::CiUpdate u;
    u.id = ci.id;
    u.type = ci.type;
    u.source = "collector";
    u.state = next;
    u.seen_at_ms = now;  // when the state changed (last_seen stays)
    updates.push_back(std::move(u));
    return true;
  });
  if (!walked) return std::move(walked).error();
  for (const store::CiUpdate& u : updates) {
    // A host may have reported since the listing: look again just before.
    auto now_ci = stores_.cmdb->find_ci(u.id);
    if (!now_ci) return std::move(now_ci).error();
    if (!*now_ci || now - (*now_ci)->last_seen_ms <= missing_ms) continue;
    if (auto st = stores_.cmdb->upsert_ci(u); !st) return std::move(st).error();
    ++(*u.state == store::CiState::missing ? changed.first : changed.second);
  }
  lifecycle_.with({"missing"}).inc(changed.first);
  lifecycle_.with({"retired"}).inc(changed.second);
  return changed;
}

core::Result<std::optional<availability::Report>> Housekeeper::run_availability() {
  const auto started = Steady::now();
  const std::int64_t now = core::to_unix_ms(clock_.now());
  // The lease outlives a few intervals, so a collector that stops hands over
  // within that time (and the gap it leaves is recorded as unknown).
  auto mine = stores_.leases->acquire_lease("evaluation", options_.holder, now,
                                            3 * options_.availability_interval.count() + 1000);
  if (!mine) return std::move(mine).error();
  if (!*mine) {
    runs_.with({"availability", "standby"}).inc();
    return std::optional<availability::Report>{};
  }
  const double leased = seconds_since(started);
  evaluation::StepReport step = evaluator_.run(now);
  record(step, leased);
  if (auto st = step.status(); !st) return std::move(st).error();
  return std::optional<availability::Report>{std::move(step.availability)};
}

// The step's figures as jobs: "availability" (taking the lease included)
// and "incidents" (SLA freeze, signals and lifecycle, when they ran), and
// the notices by event (those written before a failure too).
void Housekeeper::record(const evaluation::StepReport& step, double lease_seconds) {
  using evaluation::Stage;
  const evaluation::StageReport* a = step.stage(Stage::availability);
  runs_.with({"availability", a->status ? "ok" : "failed"}).inc();
  duration_.with({"availability"}).set(lease_seconds + a->seconds);
  if (!step.stage(Stage::sla_freeze)) return;
  bool ok = true;
  double seconds = 0;
  for (Stage s : {Stage::sla_freeze, Stage::signals, Stage::lifecycle})
    if (const evaluation::StageReport* r = step.stage(s)) {
      ok = ok && r->status;
      seconds += r->seconds;
    }
  runs_.with({"incidents", ok ? "ok" : "failed"}).inc();
  duration_.with({"incidents"}).set(seconds);
  for (const incidents::Notice& n : step.notices) incident_events_.with({n.event}).inc();
}

core::Result<capacity::RulesReport> Housekeeper::run_rules() {
  const auto started = Steady::now();
  std::vector<capacity::CapacityRule> rules = options_.rules;
  core::Result<capacity::RulesReport> r = capacity::RulesReport{};
  if (options_.more_rules) {
    auto more = options_.more_rules();
    if (more) rules.insert(rules.end(), std::make_move_iterator(more->begin()), std::make_move_iterator(more->end()));
    else r = std::move(more).error();
  }
  const std::int64_t now = core::to_unix_ms(clock_.now());
  if (r) r = capacity::evaluate_rules(stores_, rules, now);
  // The hot spots, for every collector on the store to answer with.
  if (r)
    if (auto saved = stores_.events->save_hot_spots(capacity::hot_spots_json(r->hot_spots, now), now); !saved)
      r = std::move(saved).error();
  runs_.with({"capacity", r ? "ok" : "failed"}).inc();
  duration_.with({"capacity"}).set(seconds_since(started));
  if (r) open_events_.with({}).set(static_cast<double>(r->open));
  return r;
}

void Housekeeper::loop() {
  log::Logger log("housekeeping");
  auto next_maintenance = Steady::now();
  auto next_rules = Steady::now();
  auto next_availability = Steady::now();
  for (;;) {
    const auto now = Steady::now();
    if (now >= next_maintenance) {
      auto r = run_maintenance();
      if (!r) {
        log.warn("series maintenance failed: {}", r.error().describe());
      } else {
        if (r->blocks_compacted || r->chunks_expired || r->samples_expired || r->rollups_expired)
          log.debug("series maintenance: {} series, {} blocks compacted ({} samples), {} chunks, {} samples and "
                    "{} rollups expired",
                    r->series_visited, r->blocks_compacted, r->samples_compacted, r->chunks_expired,
                    r->samples_expired, r->rollups_expired);
        if (r->damaged)
          log.error("{} series have chunks that cannot be read (left as they are); last: {}", r->damaged, r->damage);
      }
      if (auto lc = run_lifecycle(); !lc) log.warn("CI lifecycle failed: {}", lc.error().describe());
      else if (lc->first || lc->second)
        log.info("CI lifecycle: {} host(s) now missing, {} retired", lc->first, lc->second);
      next_maintenance = Steady::now() + options_.maintenance_interval;
    }
    if (now >= next_rules && has_rules()) {
      auto r = run_rules();
      if (!r) log.warn("capacity rules failed: {}", r.error().describe());
      else if (r->opened || r->resolved)
        log.info("capacity rules: {} series checked, {} events opened, {} resolved, {} breaching", r->series,
                 r->opened, r->resolved, r->open);
      next_rules = Steady::now() + options_.capacity_interval;
    }
    if (options_.availability_interval.count() > 0 && now >= next_availability) {
      auto r = run_availability();
      if (!r) log.warn("availability evaluation failed: {}", r.error().describe());
      else if (*r && (*r)->gap)
        log.warn("availability: nothing evaluated for {} s (collector not running?): recorded as unknown",
                 ((*r)->to_ms - (*r)->from_ms) / 1000);
      next_availability = Steady::now() + options_.availability_interval;
    }
    auto wake = std::min(next_maintenance, has_rules() ? next_rules : next_maintenance);
    if (options_.availability_interval.count() > 0) wake = std::min(wake, next_availability);
    if (!sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(std::max(wake - Steady::now(), Steady::duration{})) +
                   std::chrono::milliseconds(1)))
      return;
  }
}

}  // namespace surveyor::collector::jobs
