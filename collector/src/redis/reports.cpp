// SPDX-License-Identifier: Apache-2.0
// One agent report applied on Redis as one optimistic MULTI/EXEC across the
// agent, its CIs, series, inventory, the host's component links and the
// audit trail.
#include <atomic>
#include <set>

#include "backend.hpp"

namespace surveyor::collector::redis {

class RedisReportStore final : public Bound<ReportStore> {
 public:
  using Bound::Bound;

  core::Result<ApplyResult> apply_report(const ReportBatch& batch) override {
    reports_.fetch_add(1, std::memory_order_relaxed);  // one MULTI/EXEC each
    return b_->pool.with([&](Connection& c) {
      const std::uint64_t before = c.round_trips();
      auto r = optimistic<ApplyResult>(c, "report", [&] { return attempt_apply(c, batch); });
      round_trips_.fetch_add(c.round_trips() - before, std::memory_order_relaxed);
      return r;
    });
  }

  CommitStats commit_stats() const override {
    const std::uint64_t n = reports_.load(std::memory_order_relaxed);
    return {n, n, round_trips_.load(std::memory_order_relaxed)};
  }

 private:
  // A series the report writes: its samples, from first to last.
  struct Written {
    std::string sid;
    SeriesKeys keys;
    std::vector<Sample> samples;
    std::int64_t first, last;
  };

  std::atomic<std::uint64_t> reports_{0};
  std::atomic<std::uint64_t> round_trips_{0};

  // The outcome, or nullopt when EXEC was aborted by a concurrent change.
  core::Result<std::optional<ApplyResult>> attempt_apply(Connection& c, const ReportBatch& batch) {
    const std::string seen_key = b_->key("seen", batch.agent_id);
    const std::string agent_key = b_->key("agent", batch.agent_id);
    const std::string inventory_key =
        batch.inventory_ci_id.empty() ? std::string() : b_->key("inventory", batch.inventory_ci_id);
    // Beside each inventory, its sections without their data: most reports
    // carry no inventory and need only the states and digests, not the
    // hundreds of kilobytes of packages. Every inventory write rewrites it.
    const std::string digests_key =
        batch.inventory_ci_id.empty() ? std::string() : b_->key("inventory-digests", batch.inventory_ci_id);
    const bool digests_only = batch.sections.empty() && !batch.components;
    const std::string& read_key = digests_only ? digests_key : inventory_key;
    std::vector<Argv> pre;
    std::vector<std::string> sids;
    for (const auto& entry : batch.series) sids.push_back(series_id(entry.first.key));
    // The report's series by CI: which each CI holds already (and their
    // units) is read first, so only new series and changed units are written.
    std::vector<std::string> members;
    std::map<std::string, std::vector<std::size_t>> series_of_ci;
    for (std::size_t i = 0; i < batch.series.size(); ++i) {
      members.push_back(series_member(batch.series[i].first.key));
      series_of_ci[batch.series[i].first.key.ci_id].push_back(i);
    }
    Argv watch{"WATCH", seen_key, agent_key};
    for (const CiUpdate& u : batch.cis) watch.push_back(b_->key("ci", u.id));
    // Counted against max_series: a concurrent writer adding series aborts.
    if (batch.max_series > 0)
      for (const auto& entry : series_of_ci) watch.push_back(b_->key("series", entry.first));
    if (!inventory_key.empty()) watch.push_back(read_key);
    // Each series once (a series twice in one report is one, its first
    // copy winning at a time both hold): the end of its newest chunk and
    // its head over the times of the report's samples.
    std::vector<Written> written;
    {
      std::map<std::string_view, std::size_t> at;
      for (std::size_t i = 0; i < sids.size(); ++i) {
        const auto [it, fresh] = at.try_emplace(sids[i], written.size());
        if (fresh) written.push_back({sids[i], keys_of(*b_, sids[i]), {}, INT64_MAX, INT64_MIN});
        Written& w = written[it->second];
        for (const Sample& x : batch.series[i].second) {
          w.samples.push_back(x);
          w.first = std::min(w.first, x.time_ms);
          w.last = std::max(w.last, x.time_ms);
        }
      }
    }
    for (const Written& w : written) {
      watch.push_back(w.keys.chunkend);
      if (!w.samples.empty()) watch.push_back(w.keys.head);
    }
    pre.push_back(std::move(watch));
    pre.push_back({"ZSCORE", seen_key, std::to_string(batch.sequence)});
    pre.push_back({"HMGET", agent_key, "last_seen_ms", "last_sequence", "key_hash", "ci_id"});
    pre.push_back(inventory_key.empty() ? Argv{"PING"} : Argv{"HGETALL", read_key});
    for (const CiUpdate& u : batch.cis) pre.push_back({"HGETALL", b_->key("ci", u.id)});
    const std::size_t chunkend_at = pre.size();
    for (const Written& w : written) pre.push_back({"GET", w.keys.chunkend});
    const std::size_t spans_at = pre.size();  // per series with samples: the head's entries over its span
    for (const Written& w : written)
      if (!w.samples.empty()) pre.push_back({"ZRANGEBYSCORE", w.keys.head, i64(w.first), i64(w.last)});
    const std::size_t known_at = pre.size();  // per CI: ZMSCORE, HMGET, and ZCARD under a bound
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
    auto got = c.pipeline(pre);
    if (!got) return std::move(got).error();
    for (const Reply& rep : *got)
      if (is_error(rep.get())) return reply_error(rep.get(), "apply report");
    ApplyResult result;
    if (!inventory_key.empty()) {
      auto held = inventory_from_hash((*got)[3].get());
      if (!held) return std::move(held).error();
      result.inventory = std::move(*held);
    }
    const redisReply* agent = (*got)[2].get();
    if (agent->type != REDIS_REPLY_ARRAY || agent->elements != 4 || agent->element[0]->type == REDIS_REPLY_NIL)
      return core::make_error(StoreErrc::invalid, "unknown agent " + batch.agent_id);
    if (!batch.agent_key_hash.empty() &&
        (reply_text(agent->element[2]) != batch.agent_key_hash ||
         reply_text(agent->element[3]) != batch.inventory_ci_id))
      return core::make_error(StoreErrc::changed, "agent " + batch.agent_id + " changed since its key was checked");
    if ((*got)[1]->type != REDIS_REPLY_NIL) {
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
      return std::optional<ApplyResult>{std::move(result)};
    }
    const std::int64_t last_seen = reply_int(agent->element[0]).value_or(0);
    const std::int64_t last_seq = reply_int(agent->element[1]).value_or(0);

    std::optional<ComponentReads> components;
    if (batch.components) {
      auto read = read_components(c, *b_, batch.inventory_ci_id, *batch.components, batch.received_at_ms);
      if (!read) return std::move(read).error();
      components = std::move(*read);
    }

    std::vector<Argv> tx{{"MULTI"}};
    std::vector<AuditRecord> audit;
    for (std::size_t i = 0; i < batch.cis.size(); ++i) {
      auto old = ci_from_hash(batch.cis[i].id, (*got)[4 + i].get());
      if (!old) return std::move(old).error();
      Ci merged = merge_ci(*old, batch.cis[i]);
      write_ci(*b_, *old, merged, tx);
      for (AuditRecord& r : audit_ci(*old, merged, batch.cis[i].source, batch.cis[i].actor, batch.cis[i].seen_at_ms))
        audit.push_back(std::move(r));
    }
    std::size_t at = known_at;
    for (const auto& [ci, indexes] : series_of_ci) {
      const redisReply* scores = (*got)[at++].get();
      const redisReply* units = (*got)[at++].get();
      const redisReply* count = batch.max_series > 0 ? (*got)[at++].get() : nullptr;
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
    // The samples the series do not hold yet go into their heads, and each
    // series' figures over them, per hour, summed in time order, are pushed
    // to its pending list; folded into the rollups in the order pushed
    // (by reads and maintenance), they add up as the SQLite store adds a
    // head row's, so both agree to the bit.
    std::size_t span_at = spans_at;
    for (std::size_t i = 0; i < written.size(); ++i) {
      const Written& w = written[i];
      if (w.samples.empty()) continue;
      const redisReply* held_head = (*got)[span_at++].get();
      auto fresh = not_in_chunks(c, w.sid, w.samples, reply_int((*got)[chunkend_at + i].get()).value_or(INT64_MIN));
      if (!fresh) return std::move(fresh).error();
      std::vector<std::int64_t> held;
      for (std::size_t j = 0; j < held_head->elements; ++j) {
        auto x = parse_sample_member(reply_text(held_head->element[j]));
        if (!x) return core::make_error(StoreErrc::corrupt, "bad sample entry in series " + w.sid);
        held.push_back(x->time_ms);
      }
      std::sort(held.begin(), held.end());
      std::erase_if(*fresh, [&](const Sample& x) { return std::binary_search(held.begin(), held.end(), x.time_ms); });
      // Sorted, one sample per time (the first of the report's copies).
      const std::vector<Sample> sorted = merge_samples({}, *fresh);
      if (sorted.empty()) continue;
      Argv add{"ZADD", w.keys.head};
      for (const Sample& x : sorted) {
        add.push_back(i64(x.time_ms));
        add.push_back(sample_member(x));
      }
      tx.push_back(std::move(add));
      const std::vector<Rollup> figures = rollups_of(sorted);
      if (figures.empty()) continue;  // NaN only
      Argv push{"RPUSH", w.keys.pending};
      for (const Rollup& r : figures) push.push_back(rollup_member(r));
      tx.push_back(std::move(push));
    }
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
    tx.push_back({"ZADD", seen_key, std::to_string(batch.sequence), std::to_string(batch.sequence)});
    if (batch.sequence > kSeenWindow)
      tx.push_back({"ZREMRANGEBYSCORE", seen_key, "-inf", "(" + std::to_string(batch.sequence - kSeenWindow)});
    tx.push_back({"EXEC"});
    const bool wait = b_->options.wait_replicas > 0;
    if (wait) tx.push_back(wait_command());
    auto done = c.pipeline(tx);
    if (!done) return std::move(done).error();
    const redisReply* exec = (*done)[done->size() - (wait ? 2 : 1)].get();
    if (is_error(exec)) return reply_error(exec, "apply report");
    if (exec->type != REDIS_REPLY_ARRAY) return std::optional<ApplyResult>{};
    for (std::size_t i = 0; i < exec->elements; ++i)
      if (is_error(exec->element[i])) return reply_error(exec->element[i], "apply report");
    if (wait)
      if (auto st = check_wait(done->back().get()); !st) return std::move(st).error();
    return std::optional<ApplyResult>{std::move(result)};
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

  // `samples` without those a chunk already holds. Only samples before the
  // series' chunk end (late ones, after an outage) need a look at a chunk.
  core::Result<std::vector<Sample>> not_in_chunks(Connection& c, const std::string& sid,
                                                  const std::vector<Sample>& samples, std::int64_t chunk_end) {
    std::vector<std::int64_t> blocks;
    for (const Sample& s : samples)
      if (s.time_ms < chunk_end) blocks.push_back(floor_to(s.time_ms, kBlockMs));
    if (blocks.empty()) return samples;
    std::sort(blocks.begin(), blocks.end());
    blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
    const std::string chunks_key = keys_of(*b_, sid).chunks;
    std::vector<Argv> reads;
    for (std::int64_t b : blocks) reads.push_back({"ZRANGEBYSCORE", chunks_key, i64(b), i64(b)});
    auto got = c.pipeline(reads);
    if (!got) return std::move(got).error();
    std::vector<std::int64_t> held_times;
    for (const Reply& r : *got) {
      if (is_error(r.get())) return reply_error(r.get(), "read chunk");
      for (std::size_t i = 0; i < r->elements; ++i) {
        // A damaged chunk must not stop ingest: its block takes the sample
        // into the head, and maintain() reports the damage.
        auto d = decode_stored(reply_text(r->element[i]), sid);
        if (!d) continue;
        for (const Sample& x : *d) held_times.push_back(x.time_ms);
      }
    }
    std::sort(held_times.begin(), held_times.end());
    std::vector<Sample> out;
    for (const Sample& s : samples)
      if (!std::binary_search(held_times.begin(), held_times.end(), s.time_ms)) out.push_back(s);
    return out;
  }
};

std::shared_ptr<store::ReportStore> make_report_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisReportStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
