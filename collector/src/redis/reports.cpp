// SPDX-License-Identifier: Apache-2.0
// Agent reports applied on Redis with optimistic MULTI/EXEC across the
// agent, its CIs, series, inventory, the host's component links and the
// audit trail. Reports that arrive together are applied together: the
// reads of a group in one round trip (each report's WATCH, then its
// reads), the writes of all in one MULTI/EXEC. Reports of one group share
// no agent and no CI, so none reads what another writes; one that fails
// (an unknown agent, a limit) fails alone. A report that carries
// inventory or components, or an acknowledgement that waits for replicas,
// is applied on its own. On a store spread over a cluster a report is
// applied on its own on its host's slot (host_reports.cpp); only the
// agents whose keys are still in the store's slot (without a CI) are
// applied here, their series written first, apart (write_series). The
// series part is report_series.cpp's. Reports handed over with
// apply_report_async wait without a thread of the caller's: the store's
// runners apply them, in groups taken the same way, and answer each
// through its callback. A runner a core (at least two) keeps groups large
// and wake-ups few; on a spread store, where a runner applies one report
// at a time, there are as many as the pool has connections.
#include <pthread.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <span>
#include <thread>

#include "report_steps.hpp"

namespace surveyor::collector::redis {

class RedisReportStore final : public Bound<ReportStore> {
 public:
  using Bound::Bound;
  RedisReportStore(const RedisReportStore&) = delete;
  RedisReportStore& operator=(const RedisReportStore&) = delete;
  // Every report handed over is answered before the runners stop.
  ~RedisReportStore() override {
    {
      std::lock_guard lock(handed_mu_);
      stopping_ = true;
    }
    handed_cv_.notify_all();
    for (std::thread& t : runners_) t.join();
  }

  [[nodiscard]] bool applies_async() const override { return true; }

  // Queued for the runners, started with the first report. What fails
  // here (out of memory, no thread) throws, with nothing queued.
  void apply_report_async(const ReportBatch& batch, ApplyDone done) override {
    Handed h{&batch, std::move(done), core::make_error(StoreErrc::unavailable, "out of memory applying a report")};
    std::lock_guard lock(handed_mu_);
    start_runners(std::clamp<std::size_t>(std::thread::hardware_concurrency(), 2, pool_size()));
    const bool may_follow = groupable(batch) && !b_->spread();
    handed_.push_back(std::move(h));
    // A report that a group under way will be followed by, when its runner
    // comes back for the next, waits for it: fewer wake-ups, larger groups.
    // Another runner is woken for a report that goes alone, or a full group.
    if (grouping_ == 0 || !may_follow || handed_.size() >= kGroupMax) handed_cv_.notify_one();
  }

  core::Result<ApplyResult> apply_report(const ReportBatch& batch) override {
    reports_.fetch_add(1, std::memory_order_relaxed);
    if (auto st = b_->resolve_layout(); !st) return std::move(st).error();
    if (b_->spread()) {
      auto host = host_of(batch);
      if (!host) return std::move(host).error();
      if (!host->empty()) return apply_on_host(*b_, batch, *host, round_trips_, commits_);
    }
    if (!groupable(batch)) {
      auto r = apply_group({&batch});
      return std::move(r.front());
    }
    Waiter me{&batch};
    std::unique_lock lock(mu_);
    queue_.push_back(&me);
    // A report leads a group when fewer groups are under way than the pool
    // has connections; else it waits to be applied, or to be handed the lead.
    if (leaders_ < pool_size()) {
      ++leaders_;
      me.lead = true;
    }
    me.cv.wait(lock, [&] { return me.result.has_value() || me.lead; });
    if (me.result) return std::move(*me.result);
    // The leader's report first, then those waiting that share nothing with
    // the group so far, in arrival order.
    std::vector<Waiter*> group{&me};
    std::erase(queue_, &me);
    // One handed the lead leads a group of its own.
    gather(queue_, group, [](const Waiter* w) { return w->batch; }, [](const Waiter* w) { return w->lead; });
    lock.unlock();
    std::vector<const ReportBatch*> batches;
    for (const Waiter* w : group) batches.push_back(w->batch);
    std::vector<core::Result<ApplyResult>> results;
    try {
      results = apply_group(batches);
    } catch (...) {  // bad_alloc: the group's waiters are answered all the same
      results.assign(group.size(), core::make_error(StoreErrc::unavailable, "out of memory applying a report"));
    }
    lock.lock();
    for (std::size_t i = 1; i < group.size(); ++i) {
      group[i]->result = std::move(results[i]);
      group[i]->cv.notify_one();
    }
    // The lead passes to the first in line not handed one already, if any.
    const auto next = std::find_if(queue_.begin(), queue_.end(), [](const Waiter* w) { return !w->lead; });
    if (next == queue_.end()) {
      --leaders_;
    } else {
      (*next)->lead = true;
      (*next)->cv.notify_one();
    }
    return std::move(results.front());
  }

  CommitStats commit_stats() const override {
    return {reports_.load(std::memory_order_relaxed), commits_.load(std::memory_order_relaxed),
            round_trips_.load(std::memory_order_relaxed)};
  }

 private:
  struct Waiter {
    const ReportBatch* batch;
    std::optional<core::Result<ApplyResult>> result;  // set under mu_
    bool lead = false;                                 // set under mu_
    std::condition_variable cv;
  };
  static constexpr std::size_t kGroupMax = 32;

  // A report handed over, and the answer it gets should applying it fail
  // for want of memory (made before it is queued).
  struct Handed {
    const ReportBatch* batch;
    ApplyDone done;
    core::Result<ApplyResult> failure;
  };
  std::mutex handed_mu_;
  std::condition_variable handed_cv_;
  std::deque<Handed> handed_;  // waiting for a runner, in arrival order
  std::size_t grouping_ = 0;   // runners applying a group of reports that may share one
  bool stopping_ = false;
  std::vector<std::thread> runners_;  // added to only under handed_mu_, never once stopping

  // How many connections the store's pool keeps: groups under way at once.
  [[nodiscard]] std::size_t pool_size() const { return std::max<std::size_t>(1, b_->options.max_connections); }

  // Moves into `group` (its first report there already), from `queue` in
  // arrival order, the items whose report may share the group: groupable,
  // sharing no agent or CI with a report in it, up to kGroupMax; those
  // `held` says are left where they are.
  template <class Queue, class Group, class BatchOf, class Held>
  void gather(Queue& queue, Group& group, BatchOf batch_of, Held held) const {
    std::set<std::string> taken;
    claim(*batch_of(group.front()), taken);
    for (auto it = queue.begin(); it != queue.end() && group.size() < kGroupMax;) {
      if (held(*it) || !groupable(*batch_of(*it)) || !claim(*batch_of(*it), taken)) {
        ++it;
        continue;
      }
      group.push_back(std::move(*it));
      it = queue.erase(it);
    }
  }

  // Under handed_mu_: runners started until there are `n`.
  void start_runners(std::size_t n) {
    while (!stopping_ && runners_.size() < n)
      runners_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "report-apply");  // as top -H and /proc show it
        run();
      });
  }

  // A runner: takes the first report waiting and those that may share its
  // group (on a store spread over a cluster, or for a report that may not
  // share one, it alone), applies them and answers each; it stops once
  // stopping with nothing waiting. Nothing past taking a group leaves a
  // report unanswered; what a callback throws is dropped.
  void run() {
    bool resolved = false;  // the layout is known: spread or not
    std::unique_lock lock(handed_mu_);
    for (;;) {
      handed_cv_.wait(lock, [&] { return stopping_ || !handed_.empty(); });
      if (handed_.empty()) return;
      if (!resolved) {
        lock.unlock();
        resolved = static_cast<bool>(b_->resolve_layout());
        lock.lock();
        if (resolved && b_->spread()) try {
            start_runners(pool_size());
          } catch (...) {  // no thread: those there carry on
          }
        if (handed_.empty()) continue;
      }
      const bool may_group = resolved && !b_->spread();
      std::vector<Handed> group;
      try {
        take(group, may_group);
      } catch (...) {  // out of memory: what was taken stays in `group`, the rest waits
        if (group.empty()) {
          lock.unlock();
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          lock.lock();
          continue;
        }
      }
      const bool grouped = may_group && groupable(*group.front().batch);
      grouping_ += grouped ? 1 : 0;
      lock.unlock();
      std::vector<core::Result<ApplyResult>> results;
      try {
        results = apply_handed(group);
      } catch (...) {
        results.clear();
      }
      for (std::size_t i = 0; i < group.size(); ++i) try {
          const ApplyDone done = std::move(group[i].done);
          done(i < results.size() ? std::move(results[i]) : std::move(group[i].failure));
        } catch (...) {
        }
      lock.lock();
      grouping_ -= grouped ? 1 : 0;
    }
  }

  // Under handed_mu_: the first report waiting and, when `may_group`,
  // those after it that share no agent or CI with the group, moved into
  // `group`.
  void take(std::vector<Handed>& group, bool may_group) {
    group.reserve(kGroupMax);
    group.push_back(std::move(handed_.front()));
    handed_.pop_front();
    if (!may_group || !groupable(*group.front().batch)) return;
    gather(handed_, group, [](const Handed& h) { return h.batch; }, [](const Handed&) { return false; });
  }

  std::vector<core::Result<ApplyResult>> apply_handed(const std::vector<Handed>& group) {
    std::vector<core::Result<ApplyResult>> out;
    if (group.size() == 1) {
      out.push_back(apply_report(*group.front().batch));
      return out;
    }
    reports_.fetch_add(group.size(), std::memory_order_relaxed);
    std::vector<const ReportBatch*> batches;
    for (const Handed& h : group) batches.push_back(h.batch);
    return apply_group(batches);
  }

  std::atomic<std::uint64_t> reports_{0};
  std::atomic<std::uint64_t> commits_{0};  // MULTI/EXECs that committed
  std::atomic<std::uint64_t> round_trips_{0};
  std::mutex mu_;
  std::deque<Waiter*> queue_;  // reports waiting, in arrival order
  std::size_t leaders_ = 0;    // groups being gathered or applied

  // The CI of the report's agent, whose slot holds its keys on a spread
  // store: the one the report was authenticated for, or else the one the
  // agents' index names ("": the agent's keys are in the store's slot).
  core::Result<std::string> host_of(const ReportBatch& batch) {
    if (!batch.agent_key_hash.empty() && !batch.inventory_ci_id.empty()) return batch.inventory_ci_id;
    return indexed_host(*b_, batch.agent_id);
  }

  // Whether a report may share a round trip with others: those that carry
  // inventory or components read and write much more, and the duplicate of
  // a report waiting for replicas needs its own fence.
  bool groupable(const ReportBatch& b) const {
    return b.sections.empty() && !b.components && b_->options.wait_replicas == 0;
  }

  // Adds the report's agent and CIs to `taken`; false (and nothing added)
  // when one is taken already.
  static bool claim(const ReportBatch& b, std::set<std::string>& taken) {
    std::vector<std::string> mine{"a:" + b.agent_id};
    if (!b.inventory_ci_id.empty()) mine.push_back("c:" + b.inventory_ci_id);
    for (const CiUpdate& u : b.cis) mine.push_back("c:" + u.id);
    for (const auto& entry : b.series) mine.push_back("c:" + entry.first.key.ci_id);
    for (const std::string& m : mine)
      if (taken.contains(m)) return false;
    taken.insert(mine.begin(), mine.end());
    return true;
  }

  // The reports, applied together (see the top of this file); their
  // results in their order.
  std::vector<core::Result<ApplyResult>> apply_group(const std::vector<const ReportBatch*>& batches) {
    auto r = b_->pool.with([&](Connection& c) -> core::Result<std::vector<core::Result<ApplyResult>>> {
      const std::uint64_t before = c.round_trips();
      auto out = optimistic<std::vector<core::Result<ApplyResult>>>(c, "report", [&] { return attempt_group(c, batches); });
      round_trips_.fetch_add(c.round_trips() - before, std::memory_order_relaxed);
      return out;
    });
    if (!r) return std::vector<core::Result<ApplyResult>>(batches.size(), r.error());
    return std::move(*r);
  }

  // The results, or nullopt when EXEC was aborted by a concurrent change.
  core::Result<std::optional<std::vector<core::Result<ApplyResult>>>> attempt_group(
      Connection& c, const std::vector<const ReportBatch*>& batches) {
    const bool spread = b_->spread();  // the series apart, before the rest (write_series)
    std::vector<Prepared> prepared;
    std::vector<Argv> pre;
    std::vector<std::size_t> from;  // where each report's replies start
    for (const ReportBatch* b : batches) {
      prepared.push_back(prepare(*b, !spread));
      from.push_back(pre.size());
      for (Argv& a : prepared.back().pre) pre.push_back(std::move(a));
    }
    auto got = c.pipeline(pre);
    if (!got) return std::move(got).error();
    std::vector<core::Result<ApplyResult>> results(batches.size(), core::make_error(StoreErrc::io, "not applied"));
    std::vector<Argv> tx{{"MULTI"}};
    std::vector<std::pair<std::size_t, std::size_t>> queued(batches.size());  // each report's writes in EXEC's reply
    std::size_t queued_count = 0;
    for (std::size_t i = 0; i < batches.size(); ++i) {
      const std::size_t end = i + 1 < batches.size() ? from[i + 1] : got->size();
      auto planned = plan(c, prepared[i], std::span<const Reply>(*got).subspan(from[i], end - from[i]), !spread);
      if (!planned) {
        results[i] = std::move(planned).error();
        continue;
      }
      if (spread && !planned->writes.empty())  // not a duplicate
        if (auto st = write_series(*b_, c, *batches[i], std::nullopt, round_trips_); !st) {
          results[i] = std::move(st).error();
          continue;
        }
      queued[i] = {queued_count, planned->writes.size()};
      queued_count += planned->writes.size();
      for (Argv& a : planned->writes) tx.push_back(std::move(a));
      results[i] = std::move(planned->result);
    }
    if (queued_count == 0) return std::optional{std::move(results)};  // duplicates and failures only
    auto sent = send_exec(*b_, c, tx);
    if (!sent) return std::move(sent).error();
    const redisReply* exec = sent->exec();
    if (is_error(exec)) return reply_error(exec, "apply report");
    if (exec->type != REDIS_REPLY_ARRAY) return std::optional<std::vector<core::Result<ApplyResult>>>{};
    if (exec->elements != queued_count) return reply_error(exec, "apply report");
    commits_.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < batches.size(); ++i) {
      if (!results[i]) continue;
      for (std::size_t j = queued[i].first; j < queued[i].first + queued[i].second; ++j)
        if (is_error(exec->element[j])) {
          results[i] = reply_error(exec->element[j], "apply report");
          break;
        }
    }
    if (sent->waited)
      if (auto st = check_wait(*b_, sent->replies.back().get()); !st)
        for (auto& r : results)
          if (r) r = st.error();
    return std::optional{std::move(results)};
  }

  // What a report writes (between MULTI and EXEC) and its outcome.
  struct Planned {
    std::vector<Argv> writes;
    ApplyResult result;
  };

  // A report's reads: its agent, window, CIs and inventory, then (unless
  // `with_series` is false: a spread store reads each CI's series on the
  // master of its slot) those of its series.
  Prepared prepare(const ReportBatch& batch, bool with_series = true) const {
    Prepared p;
    p.batch = &batch;
    p.window_key = b_->key("window", batch.agent_id);
    p.seen_key = b_->key("seen", batch.agent_id);
    p.agent_key = b_->key("agent", batch.agent_id);
    p.inventory_key = batch.inventory_ci_id.empty() ? std::string() : b_->key("inventory", batch.inventory_ci_id);
    // Beside each inventory, its sections without their data: most reports
    // carry no inventory and need only the states and digests, not the
    // hundreds of kilobytes of packages. Every inventory write rewrites it.
    p.digests_key =
        batch.inventory_ci_id.empty() ? std::string() : b_->key("inventory-digests", batch.inventory_ci_id);
    p.digests_only = batch.sections.empty() && !batch.components;
    const std::string& read_key = p.digests_only ? p.digests_key : p.inventory_key;
    Argv watch{"WATCH", p.window_key, p.seen_key, p.agent_key};
    for (const CiUpdate& u : batch.cis) watch.push_back(b_->key("ci", u.id));
    if (!p.inventory_key.empty()) watch.push_back(read_key);
    p.pre.push_back(std::move(watch));
    p.pre.push_back({"GETBIT", p.window_key, std::to_string(batch.sequence % kSeenWindow)});
    p.pre.push_back({"HMGET", p.agent_key, "last_seen_ms", "last_sequence", "key_hash", "ci_id"});
    p.pre.push_back(p.inventory_key.empty() ? Argv{"PING"} : Argv{"HGETALL", read_key});
    for (const CiUpdate& u : batch.cis) p.pre.push_back({"HGETALL", b_->key("ci", u.id)});
    p.legacy_at = p.pre.size();  // nothing, once the agent's sequences are in its window
    p.pre.push_back({"ZRANGE", p.seen_key, "0", "-1"});
    p.series.batch = &batch;
    if (with_series) add_series_reads(*b_, p.series, p.pre, {});
    return p;
  }

  // The report's writes and outcome from its replies (`got`: to its WATCH,
  // then its reads), those of its series too unless `with_series` is false.
  core::Result<Planned> plan(Connection& c, Prepared& p, std::span<const Reply> got, bool with_series = true) {
    const ReportBatch& batch = *p.batch;
    const std::string& agent_key = p.agent_key;
    const std::string& inventory_key = p.inventory_key;
    const std::string& digests_key = p.digests_key;
    const bool digests_only = p.digests_only;
    for (const Reply& rep : got)
      if (is_error(rep.get())) return reply_error(rep.get(), "apply report");
    ApplyResult result;
    if (!inventory_key.empty()) {
      auto held = inventory_from_hash(got[3].get());
      if (!held) return std::move(held).error();
      result.inventory = std::move(*held);
    }
    // On a spread store only agents without a CI are applied here: one
    // whose record names a CI is on its way to that host (agents.cpp).
    static const std::string kNoHost;
    auto agent = check_agent(batch, got[2].get(), b_->spread() ? &kNoHost : nullptr);
    if (!agent) return std::move(agent).error();
    const std::uint64_t highest = agent->highest;
    auto window = read_window(c, p, got, highest);
    if (!window) return std::move(window).error();
    if (window->seen) {
      if (auto st = fence_duplicate(*b_, c, b_->key("replication-fence")); !st) return std::move(st).error();
      result.outcome = ApplyOutcome::duplicate;
      return Planned{{}, std::move(result)};
    }

    std::optional<ComponentReads> components;
    if (batch.components) {
      auto read = read_components(c, *b_, batch.inventory_ci_id, *batch.components, batch.received_at_ms);
      if (!read) return std::move(read).error();
      components = std::move(*read);
    }

    std::vector<Argv> tx;
    std::vector<AuditRecord> audit;
    std::optional<std::int64_t> unused;  // no host here: every sighting is written to its CI
    if (auto st = plan_cis(*b_, batch, got.subspan(4, batch.cis.size()), nullptr, unused, tx, audit); !st)
      return std::move(st).error();
    if (with_series)
      if (auto st = plan_series(c, *b_, p.series, got, tx, tx); !st) return std::move(st).error();
    tx.push_back(agent_update(batch, agent_key, *agent));
    if (!inventory_key.empty()) {
      InventoryPlan plan =
          plan_inventory(batch.inventory_ci_id, std::move(result.inventory), batch.sections, batch.received_at_ms);
      for (const InventorySection& s : plan.writes) tx.push_back({"HSET", inventory_key, s.name, section_record(s)});
      if (!digests_only) {
        // Rewritten whole from the inventory as it stands after the report,
        // so a store written before the digests existed catches up too.
        tx.push_back({"DEL", digests_key});
        Argv digests{"HSET", digests_key};
        for (InventorySection s : plan.after) {
          s.data_json.clear();
          digests.push_back(s.name);
          digests.push_back(section_record(s));
        }
        if (digests.size() > 2) tx.push_back(std::move(digests));
      }
      for (AuditRecord& r : plan.audit) audit.push_back(std::move(r));
      result.inventory = std::move(plan.after);
    }
    if (components) write_components(*b_, *components, batch.received_at_ms, tx, audit);
    if (auto st = add_audit(c, *b_, std::move(audit), tx); !st) return std::move(st).error();
    mark_window(p, *window, highest, tx);
    return Planned{std::move(tx), std::move(result)};
  }
};

std::shared_ptr<store::ReportStore> make_report_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisReportStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
