// SPDX-License-Identifier: Apache-2.0
// Agent reports applied on Redis with optimistic MULTI/EXEC across the
// agent, its CIs, series, inventory, the host's component links and the
// audit trail. Reports that arrive together are applied together: the
// reads of a group in one round trip (each report's WATCH, then its
// reads), the writes of all in one MULTI/EXEC. Reports of one group share
// no agent and no CI, so none reads what another writes; one that fails
// (an unknown agent, a limit) fails alone. A report that carries
// inventory or components, or an acknowledgement that waits for replicas,
// is applied on its own.
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <span>

#include "head.hpp"

namespace surveyor::collector::redis {

class RedisReportStore final : public Bound<ReportStore> {
 public:
  using Bound::Bound;

  core::Result<ApplyResult> apply_report(const ReportBatch& batch) override {
    reports_.fetch_add(1, std::memory_order_relaxed);
    if (!groupable(batch)) {
      auto r = apply_group({&batch});
      return std::move(r.front());
    }
    Waiter me{&batch};
    std::unique_lock lock(mu_);
    queue_.push_back(&me);
    // A report leads a group when fewer groups are under way than the pool
    // has connections; else it waits to be applied, or to be handed the lead.
    if (leaders_ < std::max<std::size_t>(1, b_->options.max_connections)) {
      ++leaders_;
      me.lead = true;
    }
    me.cv.wait(lock, [&] { return me.result.has_value() || me.lead; });
    if (me.result) return std::move(*me.result);
    // The leader's report first, then those waiting that share nothing with
    // the group so far, in arrival order.
    std::vector<Waiter*> group{&me};
    std::set<std::string> taken;
    claim(*me.batch, taken);
    std::erase(queue_, &me);
    for (auto it = queue_.begin(); it != queue_.end() && group.size() < kGroupMax;) {
      // One handed the lead leads a group of its own.
      if ((*it)->lead || !groupable(*(*it)->batch) || !claim(*(*it)->batch, taken)) {
        ++it;
        continue;
      }
      group.push_back(*it);
      it = queue_.erase(it);
    }
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
  // A series the report writes, once (a series twice in one report is one,
  // its first copy winning at a time both hold).
  struct Written {
    std::string sid, member;
    std::vector<Sample> samples;  // every copy's, in the report's order
    std::uint64_t number = 0;     // in its CI's head
    bool numbered = false;        // the number is stored already
    std::optional<std::int64_t> newest;  // the newest time the series holds, when known
    std::vector<Sample> fresh;    // sorted: the samples it does not hold yet
    bool look_up = false;         // some samples may be held: read the head and chunks
  };
  // The series a report writes to one CI, with its head's metadata.
  struct CiWrites {
    std::vector<std::size_t> written;  // into the report's Written
    std::uint64_t seq = 0, numbers = 0;
    bool numbers_given = false;
    std::optional<std::int64_t> oldest;  // the oldest time the head holds
  };

  struct Waiter {
    const ReportBatch* batch;
    std::optional<core::Result<ApplyResult>> result;  // set under mu_
    bool lead = false;                                 // set under mu_
    std::condition_variable cv;
  };
  static constexpr std::size_t kGroupMax = 32;

  std::atomic<std::uint64_t> reports_{0};
  std::atomic<std::uint64_t> commits_{0};  // MULTI/EXECs that committed
  std::atomic<std::uint64_t> round_trips_{0};
  std::mutex mu_;
  std::deque<Waiter*> queue_;  // reports waiting, in arrival order
  std::size_t leaders_ = 0;    // groups being gathered or applied

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
    std::vector<Prepared> prepared;
    std::vector<Argv> pre;
    std::vector<std::size_t> from;  // where each report's replies start
    for (const ReportBatch* b : batches) {
      prepared.push_back(prepare(*b));
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
      auto planned = plan(c, prepared[i], std::span<const Reply>(*got).subspan(from[i], end - from[i]));
      if (!planned) {
        results[i] = std::move(planned).error();
        continue;
      }
      queued[i] = {queued_count, planned->writes.size()};
      queued_count += planned->writes.size();
      for (Argv& a : planned->writes) tx.push_back(std::move(a));
      results[i] = std::move(planned->result);
    }
    if (queued_count == 0) return std::optional{std::move(results)};  // duplicates and failures only
    tx.push_back({"EXEC"});
    const bool wait = b_->options.wait_replicas > 0;
    if (wait) tx.push_back(wait_command());
    auto done = c.pipeline(tx);
    if (!done) return std::move(done).error();
    const redisReply* exec = (*done)[done->size() - (wait ? 2 : 1)].get();
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
    if (wait)
      if (auto st = check_wait(done->back().get()); !st)
        for (auto& r : results)
          if (r) r = st.error();
    return std::optional{std::move(results)};
  }

  // A report's keys, what it WATCHes and reads first, and its series.
  struct Prepared {
    const ReportBatch* batch = nullptr;
    // window_key: the agent's window of sequences applied (store::
    // mark_in_window); seen_key: the sorted set of them that stores written
    // before the window kept, moved into the window at the agent's next report.
    std::string window_key, seen_key, agent_key, inventory_key, digests_key;
    bool digests_only = false;
    std::vector<std::string> sids, members;
    std::map<std::string, std::vector<std::size_t>> series_of_ci;
    std::vector<Written> written;
    std::map<std::string, CiWrites> by_ci;
    std::vector<Argv> pre;  // WATCH, then the reads
    std::size_t meta_at = 0, known_at = 0, legacy_at = 0;
  };
  // What a report writes (between MULTI and EXEC) and its outcome.
  struct Planned {
    std::vector<Argv> writes;
    ApplyResult result;
  };

  Prepared prepare(const ReportBatch& batch) const {
    Prepared p;
    p.batch = &batch;
    std::string& seen_key = p.seen_key;
    std::string& agent_key = p.agent_key;
    std::string& inventory_key = p.inventory_key;
    std::string& digests_key = p.digests_key;
    std::vector<Argv>& pre = p.pre;
    std::vector<std::string>& sids = p.sids;
    std::vector<std::string>& members = p.members;
    std::map<std::string, std::vector<std::size_t>>& series_of_ci = p.series_of_ci;
    std::vector<Written>& written = p.written;
    std::map<std::string, CiWrites>& by_ci = p.by_ci;
    p.window_key = b_->key("window", batch.agent_id);
    seen_key = b_->key("seen", batch.agent_id);
    agent_key = b_->key("agent", batch.agent_id);
    inventory_key = batch.inventory_ci_id.empty() ? std::string() : b_->key("inventory", batch.inventory_ci_id);
    // Beside each inventory, its sections without their data: most reports
    // carry no inventory and need only the states and digests, not the
    // hundreds of kilobytes of packages. Every inventory write rewrites it.
    digests_key = batch.inventory_ci_id.empty() ? std::string() : b_->key("inventory-digests", batch.inventory_ci_id);
    const bool digests_only = p.digests_only = batch.sections.empty() && !batch.components;
    const std::string& read_key = digests_only ? digests_key : inventory_key;
    // The report's series by CI: which each CI holds already (and their
    // units) is read first, so only new series and changed units are written.
    for (std::size_t i = 0; i < batch.series.size(); ++i) {
      const SeriesKey& key = batch.series[i].first.key;
      members.push_back(series_member(key));
      sids.push_back(series_id(key.ci_id, members.back()));
      series_of_ci[key.ci_id].push_back(i);
    }
    Argv watch{"WATCH", p.window_key, seen_key, agent_key};
    for (const CiUpdate& u : batch.cis) watch.push_back(b_->key("ci", u.id));
    // Counted against max_series: a concurrent writer adding series aborts.
    if (batch.max_series > 0)
      for (const auto& entry : series_of_ci) watch.push_back(b_->key("series", entry.first));
    if (!inventory_key.empty()) watch.push_back(read_key);
    // Each series once, grouped by CI. A report that writes to a CI's head
    // changes its hmeta: concurrent writers of one CI abort each other.
    {
      std::map<std::string_view, std::size_t> at;
      for (std::size_t i = 0; i < sids.size(); ++i) {
        const auto [it, fresh] = at.try_emplace(sids[i], written.size());
        if (fresh) {
          written.push_back({sids[i], members[i], {}});
          by_ci[batch.series[i].first.key.ci_id].written.push_back(it->second);
        }
        Written& w = written[it->second];
        w.samples.insert(w.samples.end(), batch.series[i].second.begin(), batch.series[i].second.end());
      }
    }
    for (const auto& entry : by_ci) watch.push_back(b_->key("hmeta", entry.first));
    pre.push_back(std::move(watch));
    pre.push_back({"GETBIT", p.window_key, std::to_string(batch.sequence % kSeenWindow)});
    pre.push_back({"HMGET", agent_key, "last_seen_ms", "last_sequence", "key_hash", "ci_id"});
    pre.push_back(inventory_key.empty() ? Argv{"PING"} : Argv{"HGETALL", read_key});
    for (const CiUpdate& u : batch.cis) pre.push_back({"HGETALL", b_->key("ci", u.id)});
    p.meta_at = pre.size();  // per CI: its head's metadata for the report's series
    for (const auto& [ci, w] : by_ci) {
      Argv meta{"HMGET", b_->key("hmeta", ci), "seq", "n", "min"};
      for (std::size_t i : w.written) {
        meta.push_back(head_number_field(written[i].member));
        meta.push_back(head_newest_field(written[i].member));
      }
      pre.push_back(std::move(meta));
    }
    p.known_at = pre.size();  // per CI: ZMSCORE, HMGET, and ZCARD under a bound
    for (const auto& [ci, indexes] : series_of_ci) {
      Argv scores{"ZMSCORE", b_->key("series", ci)}, units{"HMGET", b_->key("units", ci)};
      for (std::size_t i : indexes) {
        scores.push_back(members[i]);
        units.push_back(members[i]);
      }
      pre.push_back(std::move(scores));
      pre.push_back(std::move(units));
      if (batch.max_series > 0) pre.push_back({"ZCARD", b_->key("series", ci)});
    }
    p.legacy_at = pre.size();  // nothing, once the agent's sequences are in its window
    pre.push_back({"ZRANGE", seen_key, "0", "-1"});
    return p;
  }

  // The report's writes and outcome from its replies (`got`: to its WATCH,
  // then its reads).
  core::Result<Planned> plan(Connection& c, Prepared& p, std::span<const Reply> got) {
    const ReportBatch& batch = *p.batch;
    const std::string& agent_key = p.agent_key;
    const std::string& inventory_key = p.inventory_key;
    const std::string& digests_key = p.digests_key;
    const bool digests_only = p.digests_only;
    const std::vector<std::string>& sids = p.sids;
    const std::vector<std::string>& members = p.members;
    std::vector<Written>& written = p.written;
    std::map<std::string, CiWrites>& by_ci = p.by_ci;
    const std::map<std::string, std::vector<std::size_t>>& series_of_ci = p.series_of_ci;
    const std::size_t meta_at = p.meta_at, known_at = p.known_at;
    for (const Reply& rep : got)
      if (is_error(rep.get())) return reply_error(rep.get(), "apply report");
    ApplyResult result;
    if (!inventory_key.empty()) {
      auto held = inventory_from_hash(got[3].get());
      if (!held) return std::move(held).error();
      result.inventory = std::move(*held);
    }
    const redisReply* agent = got[2].get();
    if (agent->type != REDIS_REPLY_ARRAY || agent->elements != 4 || agent->element[0]->type == REDIS_REPLY_NIL)
      return core::make_error(StoreErrc::invalid, "unknown agent " + batch.agent_id);
    if (!batch.agent_key_hash.empty() &&
        (reply_text(agent->element[2]) != batch.agent_key_hash ||
         reply_text(agent->element[3]) != batch.inventory_ci_id))
      return core::make_error(StoreErrc::changed, "agent " + batch.agent_id + " changed since its key was checked");
    const std::int64_t last_seen = reply_int(agent->element[0]).value_or(0);
    const std::int64_t last_seq = reply_int(agent->element[1]).value_or(0);
    const auto highest = static_cast<std::uint64_t>(std::max<std::int64_t>(0, last_seq));
    auto window = read_window(c, p, got, highest);
    if (!window) return std::move(window).error();
    if (window->seen) {
      // The first copy may have been refused for want of replicas: this
      // acknowledgement waits for them too. A write of this connection's
      // own is the fence: WAIT counts replicas that have it, and with it
      // every earlier write of the master.
      if (b_->options.wait_replicas > 0) {
        auto fenced = c.pipeline({{"UNWATCH"}, {"INCR", b_->key("replication-fence")}, wait_command()});
        if (!fenced) return std::move(fenced).error();
        if (auto st = check_wait(fenced->back().get()); !st) return std::move(st).error();
      }
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
    for (std::size_t i = 0; i < batch.cis.size(); ++i) {
      if (sighted(batch.cis[i], got[4 + i].get(), tx)) continue;
      auto old = ci_from_hash(batch.cis[i].id, got[4 + i].get());
      if (!old) return std::move(old).error();
      Ci merged = merge_ci(*old, batch.cis[i]);
      if (old->has_value()) {
        // A sighting (most reports): only the time it was last seen moves,
        // so that is all that is written, not the CI and its indexes.
        Ci seen = **old;
        seen.last_seen_ms = merged.last_seen_ms;
        if (seen == merged) {
          if (merged.last_seen_ms != (*old)->last_seen_ms)
            tx.push_back({"HSET", b_->key("ci", merged.id), "last_seen_ms", i64(merged.last_seen_ms)});
          continue;
        }
      }
      write_ci(*b_, *old, merged, tx);
      for (AuditRecord& r : audit_ci(*old, merged, batch.cis[i].source, batch.cis[i].actor, batch.cis[i].seen_at_ms))
        audit.push_back(std::move(r));
    }
    std::size_t at = known_at;
    for (const auto& [ci, indexes] : series_of_ci) {
      const redisReply* scores = got[at++].get();
      const redisReply* units = got[at++].get();
      const redisReply* count = batch.max_series > 0 ? got[at++].get() : nullptr;
      if (scores->type != REDIS_REPLY_ARRAY || scores->elements != indexes.size() || units->type != REDIS_REPLY_ARRAY ||
          units->elements != indexes.size())
        return reply_error(scores, "read the series of " + ci);
      std::set<std::string_view> created;
      for (std::size_t j = 0; j < indexes.size(); ++j) {
        const std::size_t i = indexes[j];
        const SeriesInfo& info = batch.series[i].first;
        if (scores->element[j]->type == REDIS_REPLY_NIL) {
          if (!created.insert(members[i]).second) continue;  // twice in one report
          tx.push_back({"ZADD", b_->key("series", ci), "0", members[i]});
          tx.push_back({"HSET", b_->key("units", ci), members[i], info.unit});
          tx.push_back({"SADD", b_->key("allseries"), sids[i]});
        } else if (reply_text(units->element[j]) != info.unit) {
          tx.push_back({"HSET", b_->key("units", ci), members[i], info.unit});
        }
      }
      if (count != nullptr && !created.empty()) {
        const auto held = static_cast<std::size_t>(reply_int(count).value_or(0));
        if (held + created.size() > batch.max_series)
          return core::make_error(StoreErrc::limit, series_limit_message(ci, held, created.size(), batch.max_series));
      }
    }
    // The samples the series do not hold yet go into their CIs' heads, one
    // entry per CI; their rollups are added when the entry is compacted.
    if (auto st = find_fresh(c, got, meta_at, written, by_ci); !st) return std::move(st).error();
    write_heads(written, by_ci, tx);
    Argv agent_update{"HSET", agent_key, "last_seen_ms", i64(std::max(last_seen, batch.received_at_ms)),
                      "last_sequence", i64(std::max<std::int64_t>(last_seq, static_cast<std::int64_t>(batch.sequence))),
                      "heartbeat_interval_s", std::to_string(batch.heartbeat_interval_s)};
    if (batch.inventory_digest) {
      agent_update.push_back("inventory_digest");
      agent_update.push_back(*batch.inventory_digest);
    }
    tx.push_back(std::move(agent_update));
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

  // Whether the report's sequence was applied, from its agent's window (its
  // bit, read with the report's reads) or, the agent's sequences not yet
  // moved into it, from the window made of them here (`ring`).
  struct Window {
    bool seen = false;
    std::optional<std::string> ring;
  };
  core::Result<Window> read_window(Connection& c, const Prepared& p, std::span<const Reply> got,
                                   std::uint64_t highest) const {
    const std::uint64_t sequence = p.batch->sequence;
    const redisReply* legacy = got[p.legacy_at].get();
    if (legacy->type != REDIS_REPLY_ARRAY)
      return core::make_error(StoreErrc::corrupt, p.seen_key + " is not a sorted set of sequences");
    Window w;
    if (legacy->elements == 0) {
      w.seen = reply_int(got[1].get()).value_or(0) == 1 && within_window(highest, sequence);
      return w;
    }
    // A store from before the window: the sorted set's sequences join the
    // window (read whole, in the report's WATCH), which replaces it.
    auto held = c.command({"GET", p.window_key});
    if (!held) return std::move(held).error();
    std::string ring = reply_text(held->get());
    ring.resize(kSeenWindow / 8, '\0');
    for (std::size_t i = 0; i < legacy->elements; ++i) {
      const std::string text = reply_text(legacy->element[i]);
      std::uint64_t s = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), s);
      if (ec != std::errc() || end != text.data() + text.size())
        return core::make_error(StoreErrc::corrupt, p.seen_key + " holds " + text + ", not a sequence");
      if (s <= highest) mark_in_window(ring, highest, s);
    }
    w.seen = seen_in_window(ring, highest, sequence);
    w.ring = std::move(ring);
    return w;
  }

  // The writes that mark the report's sequence in its agent's window.
  void mark_window(const Prepared& p, Window& w, std::uint64_t highest, std::vector<Argv>& tx) const {
    const std::uint64_t sequence = p.batch->sequence;
    if (w.ring) {
      mark_in_window(*w.ring, highest, sequence);
      tx.push_back({"SET", p.window_key, std::move(*w.ring)});
      tx.push_back({"DEL", p.seen_key});
      return;
    }
    if (below_window(highest, sequence)) return;
    for (auto [from, to] : window_clears(highest, sequence)) {
      if (from == 0 && to == kSeenWindow) {
        tx.push_back({"DEL", p.window_key});
        break;
      }
      for (; from < to && from % 8 != 0; ++from) tx.push_back({"SETBIT", p.window_key, std::to_string(from), "0"});
      for (; to > from && to % 8 != 0; --to) tx.push_back({"SETBIT", p.window_key, std::to_string(to - 1), "0"});
      if (from < to)
        tx.push_back({"SETRANGE", p.window_key, std::to_string(from / 8), std::string((to - from) / 8, '\0')});
    }
    tx.push_back({"SETBIT", p.window_key, std::to_string(sequence % kSeenWindow), "1"});
  }

  Argv wait_command() const {
    return {"WAIT", std::to_string(b_->options.wait_replicas), std::to_string(b_->options.wait_timeout.count())};
  }

  // The report is on the master but not yet on enough replicas: it is not
  // acknowledged, and the agent's resend is recognised as a duplicate.
  core::Status check_wait(const redisReply* r) const {
    if (is_error(r)) return reply_error(r, "wait for replicas");
    const std::int64_t got = reply_int(r).value_or(0);
    if (got >= b_->options.wait_replicas) return {};
    return core::make_error(StoreErrc::unavailable,
                            "the report reached " + std::to_string(got) + " of " +
                                std::to_string(b_->options.wait_replicas) + " replicas within " +
                                std::to_string(b_->options.wait_timeout.count()) + " ms (store_wait_replicas)");
  }

  // Each series' number and the samples it does not hold yet, from the
  // metadata read (reply `meta_at` on, one per CI): samples after the
  // newest time a series holds are new without another read; the others
  // are looked up in the CI's head and in the series' chunks and own head.
  core::Status find_fresh(Connection& c, std::span<const Reply> got, std::size_t meta_at,
                          std::vector<Written>& written, std::map<std::string, CiWrites>& by_ci) {
    std::vector<std::pair<const std::string*, std::size_t>> look_ups;  // (CI, series)
    for (auto& [ci, cw] : by_ci) {
      const redisReply* meta = got[meta_at++].get();
      if (meta->type != REDIS_REPLY_ARRAY || meta->elements != 3 + 2 * cw.written.size())
        return reply_error(meta, "read the head of " + ci);
      const auto number = [&]<class T = std::uint64_t>(std::size_t j) -> core::Result<std::optional<T>> {
        const redisReply* r = meta->element[j];
        if (r->type == REDIS_REPLY_NIL) return std::optional<T>{};
        auto v = head_field<T>(std::string_view(r->str, r->len), ci);
        if (!v) return std::move(v).error();
        return std::optional<T>{*v};
      };
      auto seq = number(0);
      auto given = number(1);
      if (!seq || !given) return std::move(!seq ? seq : given).error();
      auto oldest = number.template operator()<std::int64_t>(2);
      if (!oldest) return std::move(oldest).error();
      cw.seq = seq->value_or(0);
      cw.numbers = given->value_or(0);
      cw.oldest = *oldest;
      for (std::size_t j = 0; j < cw.written.size(); ++j) {
        Written& w = written[cw.written[j]];
        auto n = number(3 + 2 * j);
        auto newest = number.template operator()<std::int64_t>(4 + 2 * j);
        if (!n) return std::move(n).error();
        if (!newest) return std::move(newest).error();
        w.numbered = n->has_value();
        w.number = w.numbered ? **n : ++cw.numbers;
        cw.numbers_given |= !w.numbered;
        w.newest = *newest;
        // Sorted, one sample per time (the first of the report's copies).
        w.fresh = merge_samples({}, w.samples);
        w.look_up = !w.fresh.empty() && (!w.newest || w.fresh.front().time_ms <= *w.newest);
        if (w.look_up) look_ups.emplace_back(&ci, cw.written[j]);
      }
    }
    if (look_ups.empty()) return {};
    // Not in one transaction (EXEC would end the WATCH), but in an order
    // that misses nothing: a compaction moves samples from a head to the
    // chunks at once, and the heads are read before the chunks.
    std::vector<Argv> reads;
    for (const auto& [ci, i] : look_ups)
      reads.push_back({"ZRANGEBYSCORE", b_->key("headlog", *ci), i64(written[i].fresh.front().time_ms), "+inf"});
    for (const auto& [ci, i] : look_ups) {
      const Written& w = written[i];
      const SeriesKeys k = keys_of(*b_, w.sid);
      reads.push_back({"ZRANGEBYSCORE", k.head, i64(w.fresh.front().time_ms), i64(w.fresh.back().time_ms)});
      reads.push_back({"ZRANGE", k.head, "-1", "-1"});
      reads.push_back({"GET", k.chunkend});
    }
    for (const auto& [ci, i] : look_ups) {
      const Written& w = written[i];
      reads.push_back({"ZRANGEBYSCORE", keys_of(*b_, w.sid).chunks, i64(floor_to(w.fresh.front().time_ms, kBlockMs)),
                       i64(floor_to(w.fresh.back().time_ms, kBlockMs))});
    }
    auto r = c.pipeline(reads);
    if (!r) return std::move(r).error();
    for (const Reply& x : *r)
      if (is_error(x.get())) return reply_error(x.get(), "look up samples");
    const std::size_t n = look_ups.size();
    for (std::size_t at = 0; at < n; ++at) {
      Written& w = written[look_ups[at].second];
      std::vector<std::int64_t> held;  // times the series holds over the report's span
      std::int64_t newest = w.newest.value_or(INT64_MIN);
      const redisReply* entries = (*r)[at].get();
      for (std::size_t e = 0; w.numbered && e < entries->elements; ++e) {
        // A damaged entry must not stop ingest: maintenance reports it.
        auto entry = parse_head_entry(std::string_view(entries->element[e]->str, entries->element[e]->len));
        if (!entry) continue;
        for (const codec::BatchEntry& part : entry->series) {
          if (part.id != w.number) continue;
          auto samples = codec::decode_chunk(part.chunk);
          if (!samples) continue;
          for (const Sample& x : *samples) {
            held.push_back(x.time_ms);
            newest = std::max(newest, x.time_ms);
          }
        }
      }
      const redisReply* own = (*r)[n + 3 * at].get();
      for (std::size_t j = 0; j < own->elements; ++j)
        if (auto x = parse_sample_member(reply_text(own->element[j]))) held.push_back(x->time_ms);
      const redisReply* own_newest = (*r)[n + 3 * at + 1].get();
      if (own_newest->elements == 1)
        if (auto x = parse_sample_member(reply_text(own_newest->element[0]))) newest = std::max(newest, x->time_ms);
      if (auto end = reply_int((*r)[n + 3 * at + 2].get())) newest = std::max(newest, *end - 1);
      const redisReply* chunks = (*r)[4 * n + at].get();
      for (std::size_t j = 0; j < chunks->elements; ++j) {
        // A damaged chunk must not stop ingest either: its block takes the
        // sample into the head, and maintenance reports the damage.
        auto d = decode_stored(reply_text(chunks->element[j]), w.sid);
        if (!d) continue;
        for (const Sample& x : *d) held.push_back(x.time_ms);
      }
      std::sort(held.begin(), held.end());
      newest = std::max(newest, w.fresh.back().time_ms);
      std::erase_if(w.fresh, [&](const Sample& x) { return std::binary_search(held.begin(), held.end(), x.time_ms); });
      w.newest = newest;
    }
    return {};
  }

  // A sighting of a CI that holds the update's attributes already (most
  // reports): the time it was last seen is written, if it moves, and the
  // CI is not read whole. False: the caller merges the update in full.
  bool sighted(const CiUpdate& u, const redisReply* held, std::vector<Argv>& tx) const {
    if (u.source != "agent") return false;  // before reading the hash: nothing else can be one
    const std::map<std::string, std::string> h = hash_of(held);
    if (h.empty()) return false;  // a new CI
    const std::optional<CiState> state = ci_state_from(field(h, "state"));
    if (!state || !is_plain_sighting(u, *state, field(h, "attributes"), field(h, "protected"))) return false;
    if (u.seen_at_ms > field_int(h, "last_seen_ms"))
      tx.push_back({"HSET", b_->key("ci", u.id), "last_seen_ms", i64(u.seen_at_ms)});
    return true;
  }

  // The writes of the report's samples: one head entry per CI, and the
  // CI's metadata (entry number, series numbers, newest times).
  void write_heads(const std::vector<Written>& written, const std::map<std::string, CiWrites>& by_ci,
                   std::vector<Argv>& tx) const {
    for (const auto& [ci, cw] : by_ci) {
      std::string batch;
      std::int64_t lo = INT64_MAX, hi = INT64_MIN;
      Argv meta{"HSET", b_->key("hmeta", ci)};
      for (std::size_t i : cw.written) {
        const Written& w = written[i];
        if (!w.numbered) {
          meta.push_back(head_number_field(w.member));
          meta.push_back(std::to_string(w.number));
        }
        if (w.fresh.empty()) continue;
        const std::uint64_t series = std::hash<std::string>{}(w.sid);
        codec::append_chunk_to_batch(batch, w.number, b_->denominators.encode(series, w.fresh));
        lo = std::min(lo, w.fresh.front().time_ms);
        hi = std::max(hi, w.fresh.back().time_ms);
        meta.push_back(head_newest_field(w.member));
        meta.push_back(i64(std::max(w.newest.value_or(INT64_MIN), w.fresh.back().time_ms)));
      }
      if (!batch.empty()) {
        tx.push_back({"ZADD", b_->key("headlog", ci), i64(hi), codec::place_batch(cw.seq + 1, lo, hi, batch)});
        meta.insert(meta.end(), {"seq", std::to_string(cw.seq + 1), "min", i64(std::min(cw.oldest.value_or(lo), lo))});
      }
      if (cw.numbers_given) {
        meta.push_back("n");
        meta.push_back(std::to_string(cw.numbers));
      }
      if (meta.size() > 2) tx.push_back(std::move(meta));
    }
  }
};

std::shared_ptr<store::ReportStore> make_report_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisReportStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
