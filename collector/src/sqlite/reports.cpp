// SPDX-License-Identifier: Apache-2.0
// Agent reports applied across agents, CIs, series, inventory, the host's
// component links and the audit trail, with group commit: reports that
// arrive while a commit is under way wait and are then applied together, in
// one transaction and one fsync, each in a savepoint of its own. A report
// that fails is rolled back to its savepoint alone; every report of the
// group returns only once the commit holding it is on the disk.
//
// Two threads of the store's own do it (started with the first report):
//  - the writer takes the reports waiting, up to group_commit_max, applies
//    them and commits; with synchronous = FULL the commit is made without
//    the fsync, and the group handed to
//  - the syncer, which fdatasync()s the WAL (wal.hpp) once for every commit
//    handed over before it began, then answers those groups.
// So the next group is applied while one goes to the disk, and the writer
// goes on from group to group without waiting to be woken: on a machine of
// few cores, a hand-off of the lead from one report's thread to another's
// cost a wake-up on every commit's path. What needs no row (the series'
// head chunks encoded) is done on the report's own thread before it queues.
// A report handed over with apply_report_async waits without a thread: the
// writer or the syncer calls its callback, with mu_ released, where
// apply_report's thread would have been woken.
#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>
#include <utility>

#include "backend.hpp"

namespace surveyor::collector::sqlite {

class SqliteReportStore final : public Bound<ReportStore> {
 public:
  using Bound::Bound;

  ~SqliteReportStore() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    if (writer_.joinable()) writer_.join();  // it answers what is queued first
    {
      std::lock_guard lock(mu_);
      syncer_stopping_ = true;
    }
    sync_cv_.notify_all();
    if (syncer_.joinable()) syncer_.join();
  }

  core::Result<ApplyResult> apply_report(const ReportBatch& batch) override {
    Waiter me{&batch};
    try {  // on this thread, beside the writer: it applies one report at a time
      me.prepared = prepare_series(*b_, batch.series);
    } catch (const std::bad_alloc&) {
      return core::make_error(StoreErrc::unavailable, "out of memory preparing a report");
    }
    std::unique_lock lock(mu_);
    if (auto queued = enqueue(&me); !queued) return std::move(queued).error();
    // Answered by the syncer once the WAL is on the disk past the commit
    // holding it (or the last commit, for a group that wrote nothing), or
    // by the writer where there is nothing to sync (synchronous = NORMAL,
    // no commit yet). Each waiter has a condition of its own: nobody is
    // woken for another's report.
    me.cv.wait(lock, [&] { return me.result.has_value() || me.failed; });
    if (!me.result) return unanswered();
    return std::move(*me.result);
  }

  // The same queue; the writer or the syncer calls `done` (with mu_
  // released) where apply_report's thread would have been woken.
  void apply_report_async(const ReportBatch& batch, ApplyDone done) override {
    std::unique_ptr<Waiter> me;
    try {
      me = std::make_unique<Waiter>(&batch);
      me->prepared = prepare_series(*b_, batch.series);
      me->failure = unanswered();  // made now: answering out of memory allocates nothing
    } catch (const std::bad_alloc&) {
      return done(core::make_error(StoreErrc::unavailable, "out of memory preparing a report"));
    }
    me->done = std::move(done);
    core::Status queued;
    {
      std::lock_guard lock(mu_);
      queued = enqueue(me.get());
      if (queued) {
        me.release();  // the writer's or the syncer's now
        return;
      }
    }
    const ApplyDone d = std::move(me->done);
    d(std::move(queued).error());
  }

  [[nodiscard]] bool applies_async() const override { return true; }

  CommitStats commit_stats() const override {
    CommitStats out;
    {
      std::lock_guard lock(mu_);
      out = stats_;
    }
    const WalKeeper::Stats w = b_->wal->stats();
    out.wal_syncs = w.syncs;
    out.checkpoints = w.checkpoints;
    out.inline_checkpoints = w.inline_checkpoints;
    out.wal_frames = w.log_frames;
    out.wal_frames_logged = w.frames_logged;
    return out;
  }

 private:
  struct Waiter {
    explicit Waiter(const ReportBatch* b) : batch(b) {}
    const ReportBatch* batch;
    std::vector<PreparedSeries> prepared;              // of batch->series
    std::optional<core::Result<ApplyResult>> result;  // set under mu_
    bool failed = false;  // or this, under mu_: out of memory (setting it allocates nothing)
    std::condition_variable cv;
    // apply_report_async's: set, the waiter is answered by calling it (with
    // `result`, or `failure` if failed) and deleted, not woken.
    ApplyDone done;
    std::optional<core::Result<ApplyResult>> failure;
    Waiter* next_ready = nullptr;  // in the chain of those to call, under mu_
  };
  // A group committed, waiting for the WAL to be synced past its commit.
  struct Committed {
    std::vector<Waiter*> group;
    std::vector<core::Result<ApplyResult>> results;
    std::uint64_t commit = 0;
  };

  // Under mu_: the syncer and the writer, at the first report. One that
  // cannot be started is tried again at the next; one started runs until
  // the store is destroyed.
  core::Status start_threads() {
    try {
      if (!syncer_.joinable()) syncer_ = std::thread([this] {
          pthread_setname_np(pthread_self(), "report-sync");  // as top -H and /proc show it
          sync_loop();
        });
      if (!writer_.joinable()) writer_ = std::thread([this] {
          pthread_setname_np(pthread_self(), "report-writer");
          write_loop();
        });
    } catch (const std::exception& e) {  // std::system_error, bad_alloc
      return core::make_error(StoreErrc::unavailable, std::string("cannot start the report writer: ") + e.what());
    }
    return {};
  }

  // Under mu_: `w` in line for the writer, which is woken if idle; or why not.
  core::Status enqueue(Waiter* w) {
    if (stopping_) return core::make_error(StoreErrc::unavailable, "the store is closing");
    if (auto started = start_threads(); !started) return started;
    try {
      queue_.push_back(w);
    } catch (const std::bad_alloc&) {
      return core::make_error(StoreErrc::unavailable, "out of memory queueing a report");
    }
    if (writer_idle_ || gathering_) work_cv_.notify_one();
    return {};
  }

  // A report's answer when it was failed (out of memory): applied or not,
  // synced or not, a resend is stored once either way.
  static core::Error unanswered() {
    return core::make_error(StoreErrc::unavailable, "out of memory applying or syncing a report");
  }

  // Under mu_: a waiter answered, woken, or chained in `ready` to be
  // called (apply_report_async's).
  static void wake(Waiter* w, Waiter*& ready) noexcept {
    if (w->done) {
      w->next_ready = ready;
      ready = w;
    } else {
      w->cv.notify_one();
    }
  }

  // Under mu_: each report of the group woken without a result (out of
  // memory: what is left allocates nothing).
  static void fail(const std::vector<Waiter*>& group, Waiter*& ready) noexcept {
    for (Waiter* w : group) {
      w->failed = true;
      wake(w, ready);
    }
  }

  // Under mu_: each report of the group answered and woken.
  static void answer(const std::vector<Waiter*>& group, std::vector<core::Result<ApplyResult>>& results,
                     Waiter*& ready) {
    for (std::size_t i = 0; i < group.size(); ++i) {
      group[i]->result = std::move(results[i]);
      wake(group[i], ready);
    }
  }

  // Without mu_: each waiter of the chain answered through its `done`, and
  // deleted. What `done` throws is dropped: this is the writer's or the
  // syncer's thread.
  static void call_ready(Waiter* ready) noexcept {
    while (ready != nullptr) {
      std::unique_ptr<Waiter> w(std::exchange(ready, ready->next_ready));
      try {
        const ApplyDone done = std::move(w->done);
        done(std::move(w->result ? *w->result : *w->failure));
      } catch (...) {
      }
    }
  }

  // The writer: applies the reports waiting, a group at a time, and hands
  // each commit to the syncer; the next group is applied while that one
  // goes to the disk. It never waits for a wake-up while reports wait.
  // Nothing it does past taking a group may leave a report unanswered: out
  // of memory, the group's reports fail (a resend of one that was stored
  // is a duplicate).
  void write_loop() {
    std::unique_lock lock(mu_);
    Waiter* ready = nullptr;
    for (;;) {
      if (ready != nullptr) {
        lock.unlock();
        call_ready(std::exchange(ready, nullptr));
        lock.lock();
      }
      writer_idle_ = true;
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      writer_idle_ = false;
      if (queue_.empty()) return;  // stopping, and everyone answered
      const std::size_t max = std::max<std::size_t>(1, b_->group_commit_max);
      if (b_->group_commit_delay.count() > 0 && queue_.size() < max && !stopping_) {
        gathering_ = true;  // each report that arrives meanwhile wakes the writer to count
        work_cv_.wait_for(lock, b_->group_commit_delay, [&] { return stopping_ || queue_.size() >= max; });
        gathering_ = false;
      }
      Committed c;
      const auto n = static_cast<std::ptrdiff_t>(std::min(queue_.size(), max));
      try {
        c.group.assign(queue_.begin(), queue_.begin() + n);
      } catch (...) {  // out of memory: nothing taken; the reports wait
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        lock.lock();
        continue;
      }
      queue_.erase(queue_.begin(), queue_.begin() + n);
      lock.unlock();
      bool failed = false;
      try {
        c.results = apply_group(c.group, c.commit);
      } catch (...) {  // bad_alloc: rolled back, or committed and unanswered
        failed = true;
      }
      // A group that wrote nothing (duplicates, refusals) is answered after
      // the WAL is synced through the last commit all the same: a duplicate
      // may be of a report whose own commit is not on the disk yet.
      if (!failed && c.commit == 0 && b_->synchronous_full && b_->wal) c.commit = b_->wal->last_commit();
      lock.lock();
      if (failed) {
        fail(c.group, ready);
      } else if (c.commit == 0) {
        answer(c.group, c.results, ready);
      } else {
        try {
          committed_.push_back(std::move(c));  // strong guarantee: c intact if it throws
          sync_cv_.notify_one();
        } catch (...) {
          fail(c.group, ready);
        }
      }
    }
  }

  // The syncer: one fdatasync for every commit handed over before it began,
  // then those groups answered.
  void sync_loop() {
    std::unique_lock lock(mu_);
    Waiter* ready = nullptr;
    for (;;) {
      if (ready != nullptr) {
        lock.unlock();
        call_ready(std::exchange(ready, nullptr));
        lock.lock();
      }
      sync_cv_.wait(lock, [&] { return syncer_stopping_ || !committed_.empty(); });
      if (committed_.empty()) return;
      const std::uint64_t through = committed_.back().commit;
      lock.unlock();
      core::Status synced;
      bool failed = false;
      try {
        synced = b_->wal->sync_through(through);
      } catch (...) {  // bad_alloc: not known to be synced
        failed = true;
      }
      lock.lock();
      while (!committed_.empty() && committed_.front().commit <= through) {
        Committed& c = committed_.front();
        bool group_failed = failed;
        if (!group_failed && !synced) {  // what the commit wrote may not be on the disk
          try {
            for (auto& r : c.results)
              if (r) r = synced.error();
          } catch (...) {
            group_failed = true;
          }
        }
        if (group_failed) fail(c.group, ready);
        else answer(c.group, c.results, ready);
        committed_.pop_front();
      }
    }
  }

  // BEGIN, each report in a savepoint of its own (its result in `out`, a
  // failure rolled back to it and noted in `rolled_back`), COMMIT.
  core::Status apply_in_transaction(Connection& c, const std::vector<Waiter*>& group,
                                    std::vector<std::optional<core::Result<ApplyResult>>>& out, bool& rolled_back) {
    auto tx = WriteTransaction::begin(c);
    if (!tx) return std::move(tx).error();
    if (auto st = b_->check_others_wrote(c); !st) return st;
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (auto sp = Backend::run_cached(c, "SAVEPOINT report"); !sp) return sp;
      core::Result<ApplyResult> r = apply(c, *group[i]->batch, group[i]->prepared);
      if (!r) {
        rolled_back = true;
        if (auto back = c.exec("ROLLBACK TO report"); !back) return back;
        b_->clear_caches();  // the next report of the group must not see its rows in them
      }
      if (auto rel = Backend::run_cached(c, "RELEASE report"); !rel) return rel;
      out[i] = std::move(r);
    }
    return tx->commit();
  }

  // One transaction for the group, a savepoint per report; the results in
  // the group's order. When the WAL keeper makes it durable, the commit is
  // made without the fsync and `to_sync` is set to its number.
  std::vector<core::Result<ApplyResult>> apply_group(const std::vector<Waiter*>& group, std::uint64_t& to_sync) {
    std::vector<std::optional<core::Result<ApplyResult>>> out(group.size());
    bool rolled_back = false;
    std::chrono::steady_clock::duration busy{};  // under the writer lock, applying and committing
    auto [st, commit] = b_->write_unsynced([&](Connection& c) -> core::Status {
      const auto started = std::chrono::steady_clock::now();
      core::Status applied;
      try {
        applied = apply_in_transaction(c, group, out, rolled_back);
      } catch (...) {  // rolled back (WriteTransaction)
        b_->clear_caches();
        throw;
      }
      // Rows of a rolled-back report (or group) are gone: forget what was
      // cached of them, still under the writer lock that guards the caches.
      if (!applied || rolled_back) b_->clear_caches();
      busy = std::chrono::steady_clock::now() - started;
      return applied;
    });
    if (st) to_sync = commit;
    {
      std::lock_guard lock(mu_);  // the caller does not hold it while applying
      stats_.reports += group.size();
      if (st) ++stats_.commits;
      stats_.writer_busy_ns += static_cast<std::uint64_t>(std::chrono::nanoseconds(busy).count());
    }
    if (!st)  // nothing of the group was committed
      for (auto& r : out)
        if (!r || *r) r = st.error();
    std::vector<core::Result<ApplyResult>> results;
    results.reserve(out.size());
    for (auto& r : out) results.push_back(std::move(*r));
    return results;
  }

  mutable std::mutex mu_;             // everything below
  std::condition_variable work_cv_;   // the writer waits on it
  std::condition_variable sync_cv_;   // the syncer waits on it
  CommitStats stats_;
  std::deque<Waiter*> queue_;         // reports waiting, in arrival order
  std::deque<Committed> committed_;   // groups waiting for the sync, in commit order
  bool writer_idle_ = false;
  bool gathering_ = false;            // the writer waits group_commit_delay for more
  bool stopping_ = false;             // the writer answers what is queued, then ends
  bool syncer_stopping_ = false;      // set once the writer has ended
  std::thread writer_;
  std::thread syncer_;

  // A CI's inventory sections without their data, as the writer last read
  // or wrote them (Backend::inventory_states; under the writer lock).
  core::Result<std::vector<InventorySection>> inventory_states(Connection& c, const std::string& ci_id) {
    auto& cached = b_->inventory_states;
    if (auto it = cached.find(ci_id); it != cached.end()) return it->second;
    auto inv = load_inventory(c, ci_id, false);
    if (inv && cached.size() < Backend::kInventoryStatesCached) cached.emplace(ci_id, *inv);
    return inv;
  }

  core::Result<ApplyResult> apply(Connection& c, const ReportBatch& batch, const std::vector<PreparedSeries>& prepared) {
    const auto seq = static_cast<std::int64_t>(batch.sequence);
    ApplyResult result;
    std::uint64_t highest = 0;  // the agent's highest sequence applied
    std::string ring;           // and its window of those applied (store::seen_in_window)
    std::string own_ci;         // the CI the agent reports for
    {
      SURVEYOR_TRY_STMT(agent, c, "SELECT key_hash, ci_id, last_sequence, seen FROM agents WHERE id = ?1");
      agent.bind(1, batch.agent_id);
      const int rc = agent.step();
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return c.error(rc, "read agent");
      if (!batch.agent_key_hash.empty() &&
          (rc == SQLITE_DONE || agent.text(0) != batch.agent_key_hash || agent.text(1) != batch.inventory_ci_id))
        return core::make_error(StoreErrc::changed, "agent " + batch.agent_id + " changed since its key was checked");
      if (rc == SQLITE_DONE) return core::make_error(StoreErrc::invalid, "unknown agent " + batch.agent_id);
      own_ci = agent.text(1);
      highest = static_cast<std::uint64_t>(std::max<std::int64_t>(0, agent.int64(2)));
      ring = agent.blob(3);
    }
    if (store::seen_in_window(ring, highest, batch.sequence)) result.outcome = ApplyOutcome::duplicate;
    if (result.outcome == ApplyOutcome::duplicate) {
      if (batch.inventory_ci_id.empty()) return result;
      auto inv = inventory_states(c, batch.inventory_ci_id);
      if (!inv) return std::move(inv).error();
      result.inventory = std::move(*inv);
      return result;
    }
    std::int64_t own_ci_seen = 0;  // a sighting of the agent's own CI kept in its row, not the CI's
    for (const CiUpdate& u : batch.cis) {
      const bool own = u.id == own_ci;
      auto seen = sight_in(c, *b_, u, own);
      if (!seen) return std::move(seen).error();
      if (*seen && own) own_ci_seen = std::max(own_ci_seen, u.seen_at_ms);
      if (*seen) continue;
      if (auto ci = upsert_in(c, u); !ci) return std::move(ci).error();
    }
    if (auto st = append_samples(c, *b_, batch.series, prepared, batch.max_series); !st) return std::move(st).error();
    {
      // The sequence goes into the agent's window in the same row (a page
      // written a report, not a row of its own in another table), and so
      // does the time its CI was seen.
      store::mark_in_window(ring, highest, batch.sequence);
      SURVEYOR_TRY_STMT(upd, c,
                        "UPDATE agents SET last_seen_ms = MAX(last_seen_ms, ?2), "
                        "last_sequence = MAX(last_sequence, ?3), heartbeat_interval_s = ?4, "
                        "inventory_digest = COALESCE(?5, inventory_digest), seen = ?6, "
                        "ci_seen_ms = MAX(ci_seen_ms, ?7) WHERE id = ?1");
      upd.bind(1, batch.agent_id).bind(2, batch.received_at_ms).bind(3, seq);
      upd.bind(4, static_cast<std::int64_t>(batch.heartbeat_interval_s));
      if (batch.inventory_digest) upd.bind(5, *batch.inventory_digest);
      upd.bind_blob(6, ring).bind(7, own_ci_seen);
      if (int rc = upd.step(); rc != SQLITE_DONE) return c.error(rc, "update agent");
      if (c.changes() != 1) return core::make_error(StoreErrc::invalid, "unknown agent " + batch.agent_id);
    }
    if (batch.inventory_ci_id.empty()) return result;
    if (batch.sections.empty() && !batch.components) {
      // Most reports carry no inventory: nothing to write, and the states
      // and digests are all the acknowledgement needs (not the data, which
      // is hundreds of kilobytes with the packages).
      auto inv = inventory_states(c, batch.inventory_ci_id);
      if (!inv) return std::move(inv).error();
      result.inventory = std::move(*inv);
      return result;
    }
    if (batch.components)
      if (auto st = follow_components(c, batch.inventory_ci_id, *batch.components, batch.received_at_ms); !st)
        return std::move(st).error();
    b_->inventory_states.erase(batch.inventory_ci_id);  // read again when next asked for
    auto held = load_inventory(c, batch.inventory_ci_id);
    if (!held) return std::move(held).error();
    InventoryPlan plan = plan_inventory(batch.inventory_ci_id, std::move(*held), batch.sections, batch.received_at_ms);
    for (const InventorySection& s : plan.writes)
      if (auto st = save_section(c, batch.inventory_ci_id, s); !st) return std::move(st).error();
    if (auto st = write_audit(c, std::move(plan.audit)); !st) return std::move(st).error();
    result.inventory = std::move(plan.after);
    return result;
  }
};

std::shared_ptr<store::ReportStore> make_report_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteReportStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
