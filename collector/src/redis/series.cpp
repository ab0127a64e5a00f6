// SPDX-License-Identifier: Apache-2.0
// Capacity series on Redis: the head (an entry per report and CI),
// compressed chunks, hourly rollups, maintenance.
#include <set>

#include "head.hpp"

namespace surveyor::collector::redis {

class RedisSeriesStore final : public Bound<SeriesStore> {
 public:
  using Bound::Bound;

  core::Result<std::vector<SeriesInfo>> list_series(std::string_view ci_id) override {
    if (auto st = b_->resolve_layout(); !st) return std::move(st).error();
    return b_->with_ci(ci_id, [&](Connection& c) { return list_in(c, ci_id); });
  }

  core::Result<std::vector<Sample>> read_samples(const SeriesKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms, std::size_t limit) override {
    if (from_ms >= to_ms || limit == 0) return std::vector<Sample>{};
    if (auto st = b_->resolve_layout(); !st) return std::move(st).error();
    return b_->with_ci(key.ci_id, [&](Connection& c) -> core::Result<std::vector<Sample>> {
      const std::string sid = series_id(key);
      const SeriesKeys k = keys_of(*b_, sid);
      // MULTI: the chunks and the heads are read as of one moment.
      const std::int64_t first_block = from_ms <= INT64_MIN + kBlockMs ? INT64_MIN : floor_to(from_ms, kBlockMs);
      auto r = c.pipeline({{"MULTI"},
                           {"ZRANGEBYSCORE", k.chunks, i64(first_block), "(" + i64(to_ms)},
                           {"ZRANGEBYSCORE", k.head, i64(from_ms), "(" + i64(to_ms), "LIMIT", "0", std::to_string(limit)},
                           {"HGET", b_->ci_key("hmeta", key.ci_id), head_number_field(series_member(key))},
                           {"ZRANGEBYSCORE", b_->ci_key("headlog", key.ci_id), i64(from_ms), "+inf"},
                           {"EXEC"}});
      if (!r) return std::move(r).error();
      const redisReply* exec = r->back().get();
      if (is_error(exec) || exec->type != REDIS_REPLY_ARRAY || exec->elements != 4)
        return reply_error(exec, "read samples");
      for (std::size_t i = 0; i < exec->elements; ++i)
        if (is_error(exec->element[i])) return reply_error(exec->element[i], "read samples");
      const redisReply* chunks = exec->element[0];
      std::vector<Sample> held;
      for (std::size_t i = 0; held.size() < limit && i < chunks->elements; ++i) {
        auto d = decode_stored(reply_text(chunks->element[i]), sid);
        if (!d) return std::move(d).error();
        for (const Sample& x : *d)
          if (x.time_ms >= from_ms && x.time_ms < to_ms) held.push_back(x);
      }
      auto raw = own_head(exec->element[1]);
      if (!raw) return std::move(raw).error();
      auto number = number_from(exec->element[2], key.ci_id);
      if (!number) return std::move(number).error();
      if (*number) {
        auto entries = head_entries(exec->element[3], key.ci_id, nullptr);
        if (!entries) return std::move(entries).error();
        auto in_head = head_samples(*entries, **number, key.ci_id, from_ms, to_ms);
        if (!in_head) return std::move(in_head).error();
        raw->insert(raw->end(), in_head->begin(), in_head->end());
      }
      auto out = merge_samples(std::move(held), *raw);
      if (out.size() > limit) out.resize(limit);
      return out;
    });
  }

  core::Result<std::vector<LatestSample>> latest_samples(std::string_view ci_id, std::string_view metric) override {
    auto all = latest_samples_of({std::string(ci_id)}, metric);
    if (!all) return std::move(all).error();
    return std::move(all->front());
  }

  core::Result<std::vector<std::vector<LatestSample>>> latest_samples_of(const std::vector<std::string>& ci_ids,
                                                                        std::string_view metric) override {
    if (auto st = b_->resolve_layout(); !st) return std::move(st).error();
    if (!b_->spread()) return b_->pool.with([&](Connection& c) { return latest_in(c, ci_ids, metric); });
    // The CIs grouped by the master of their slots: the same round trips
    // on each master as on one Redis.
    std::map<Pool*, std::vector<std::size_t>> by_master;
    for (std::size_t n = 0; n < ci_ids.size(); ++n) {
      auto master = b_->shards->master_of(b_->ci_key("head", ci_ids[n]));
      if (!master) return std::move(master).error();
      by_master[*master].push_back(n);
    }
    std::vector<std::vector<LatestSample>> out(ci_ids.size());
    for (const auto& [master, ns] : by_master) {
      std::vector<std::string> ids;
      for (std::size_t n : ns) ids.push_back(ci_ids[n]);
      auto got = b_->shards->on(*master, [&](Connection& c) { return latest_in(c, ids, metric); });
      if (!got) return std::move(got).error();
      for (std::size_t i = 0; i < ns.size(); ++i) out[ns[i]] = std::move((*got)[i]);
    }
    return out;
  }

  core::Result<std::vector<Rollup>> read_rollups(const SeriesKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms) override {
    if (from_ms >= to_ms) return std::vector<Rollup>{};
    if (auto st = b_->resolve_layout(); !st) return std::move(st).error();
    return b_->with_ci(key.ci_id, [&](Connection& c) -> core::Result<std::vector<Rollup>> {
      const SeriesKeys k = keys_of(*b_, series_id(key));
      // A sample counts in the hour it falls in: it may lie up to an hour past to_ms.
      const std::int64_t head_to = to_ms > INT64_MAX - kRollupMs ? INT64_MAX : to_ms + kRollupMs;
      // MULTI: the rollups, the figures not folded into them yet and the
      // head as of one moment.
      auto r = c.pipeline({{"MULTI"},
                           {"ZRANGEBYSCORE", k.rollups, rollup_day_score(from_ms), "(" + i64(to_ms)},
                           {"LRANGE", k.pending, "0", "-1"},
                           {"HGET", b_->ci_key("hmeta", key.ci_id), head_number_field(series_member(key))},
                           {"ZRANGEBYSCORE", b_->ci_key("headlog", key.ci_id), i64(from_ms), "+inf"},
                           {"EXEC"}});
      if (!r) return std::move(r).error();
      const redisReply* exec = r->back().get();
      if (is_error(exec) || exec->type != REDIS_REPLY_ARRAY || exec->elements != 4)
        return reply_error(exec, "read rollups");
      for (std::size_t i = 0; i < exec->elements; ++i)
        if (is_error(exec->element[i])) return reply_error(exec->element[i], "read rollups");
      auto stored = fold_pending(exec->element[0], exec->element[1], from_ms, to_ms);
      if (!stored) return std::move(stored).error();
      auto number = number_from(exec->element[2], key.ci_id);
      if (!number) return std::move(number).error();
      if (!*number) return stored;
      auto entries = head_entries(exec->element[3], key.ci_id, nullptr);
      if (!entries) return std::move(entries).error();
      // The head's figures, entry by entry in the order written, as the
      // SQLite store folds its head rows.
      std::map<std::int64_t, Rollup> hours;
      for (const Rollup& x : *stored) hours.emplace(x.start_ms, x);
      for (const HeadEntry& e : *entries) {
        if (e.max_ms < from_ms || e.min_ms >= head_to) continue;
        auto got = entry_samples(e, **number, key.ci_id);
        if (!got) return std::move(got).error();
        std::vector<Sample> in_range;
        for (const Sample& x : *got)
          if (const std::int64_t h = floor_to(x.time_ms, kRollupMs); h >= from_ms && h < to_ms) in_range.push_back(x);
        for (const Rollup& x : rollups_of(in_range)) {
          auto [it, fresh] = hours.try_emplace(x.start_ms, x);
          if (!fresh) fold_rollup(it->second, x);
        }
      }
      std::vector<Rollup> out;
      out.reserve(hours.size());
      for (auto& [hour, x] : hours) out.push_back(x);
      return out;
    });
  }

  core::Result<MaintenanceReport> maintain(const SeriesMaintenance& m) override {
    std::lock_guard lock(maintain_mu_);
    if (auto st = b_->resolve_layout(); !st) return std::move(st).error();
    return b_->pool.with([&](Connection& c) -> core::Result<MaintenanceReport> {
      MaintenanceReport rep;
      const std::string count = std::to_string(std::max<std::size_t>(1, m.series_per_step));
      while (rep.series_visited < m.max_series) {
        auto r = c.command({"SSCAN", b_->key("allseries"), cursor_, "COUNT", count});
        if (!r) return std::move(r).error();
        const redisReply* arr = r->get();
        if (is_error(arr) || arr->type != REDIS_REPLY_ARRAY || arr->elements != 2) return reply_error(arr, "list series");
        for (std::size_t i = 0; i < arr->element[1]->elements; ++i) {
          const std::string sid = reply_text(arr->element[1]->element[i]);
          // On a spread store, on the master of the series' CI's slot.
          const auto maintained = [&](Connection& on) { return maintain_series(on, sid, m, rep); };
          if (auto st = b_->spread() ? b_->with_ci(sid.substr(0, sid.find(kSep)), maintained) : maintained(c); !st) {
            if (st.error().code != StoreErrc::corrupt) return std::move(st).error();
            ++rep.damaged;
            rep.damage = st.error().describe();
          }
          ++rep.series_visited;
        }
        cursor_ = reply_text(arr->element[0]);
        if (cursor_ == "0") return rep;
      }
      rep.more = true;
      return rep;
    });
  }

 private:
  // Two round trips for any number of CIs on one server (one Redis, or
  // one master of a spread store): their series lists, then the newest
  // entries of their heads and the newest chunk of each series wanted (a
  // MULTI per CI, newest_for). A CI whose newest head entries do not
  // settle every series wanted is read again, its whole head at once.
  core::Result<std::vector<std::vector<LatestSample>>> latest_in(Connection& c, const std::vector<std::string>& ci_ids,
                                                                 std::string_view metric) {
    std::vector<std::vector<LatestSample>> out(ci_ids.size());
    if (ci_ids.empty()) return out;
    std::vector<Argv> lists;
    for (const std::string& id : ci_ids) {
      lists.push_back({"ZRANGE", b_->ci_key("series", id), "0", "-1"});
      lists.push_back({"HGETALL", b_->ci_key("units", id)});
      lists.push_back({"HGETALL", b_->ci_key("hmeta", id)});
    }
    auto listed = c.pipeline(lists);
    if (!listed) return std::move(listed).error();
    std::vector<std::vector<Wanted>> wanted(ci_ids.size());
    std::vector<std::size_t> cis;
    for (std::size_t n = 0; n < ci_ids.size(); ++n) {
      auto series = series_from(ci_ids[n], (*listed)[3 * n].get(), (*listed)[3 * n + 1].get());
      if (!series) return std::move(series).error();
      const redisReply* meta = (*listed)[3 * n + 2].get();
      if (is_error(meta)) return reply_error(meta, "read head metadata");
      const auto numbers = hash_of(meta);
      for (SeriesInfo& info : *series) {
        if (!metric.empty() && info.key.metric != metric) continue;
        Wanted w{std::move(info), {}};
        if (auto it = numbers.find(head_number_field(series_member(w.info.key))); it != numbers.end()) {
          auto v = head_field(it->second, ci_ids[n]);
          if (!v) return std::move(v).error();
          w.number = *v;
        }
        wanted[n].push_back(std::move(w));
      }
      if (!wanted[n].empty()) cis.push_back(n);
    }
    if (cis.empty()) return out;
    auto unsettled = newest_for(c, ci_ids, wanted, cis, kLatestPage, out);
    if (!unsettled) return std::move(unsettled).error();
    if (!unsettled->empty()) {
      auto again = newest_for(c, ci_ids, wanted, *unsettled, 0, out);
      if (!again) return std::move(again).error();
    }
    return out;
  }

  struct Wanted {
    SeriesInfo info;
    std::optional<std::uint64_t> number;  // in its CI's head
  };
  static constexpr std::size_t kLatestPage = 4;  // a report holds every series of its CI: the newest entry mostly settles all

  // The newest samples of the series wanted of CIs `cis` into `out`, from
  // their own heads, newest chunks and the CIs' heads read newest entry
  // first (at most `page` entries, 0: all). Returns the CIs whose page did
  // not settle every series wanted: an older entry may still beat one.
  // Each CI is read in a MULTI of its own (as of one moment; on a spread
  // store the CIs of one master are in different slots), all in one
  // round trip.
  core::Result<std::vector<std::size_t>> newest_for(Connection& c, const std::vector<std::string>& ci_ids,
                                                    const std::vector<std::vector<Wanted>>& wanted,
                                                    const std::vector<std::size_t>& cis, std::size_t page,
                                                    std::vector<std::vector<LatestSample>>& out) {
    std::vector<Argv> reads;
    for (std::size_t n : cis) {
      reads.push_back({"MULTI"});
      Argv r{"ZREVRANGEBYSCORE", b_->ci_key("headlog", ci_ids[n]), "+inf", "-inf"};
      if (page > 0) r.insert(r.end(), {"LIMIT", "0", std::to_string(page)});
      reads.push_back(std::move(r));
      for (const Wanted& w : wanted[n]) {
        const SeriesKeys k = keys_of(*b_, series_id(w.info.key));
        reads.push_back({"ZRANGE", k.head, "-1", "-1"});
        reads.push_back({"ZRANGE", k.chunks, "-1", "-1"});
      }
      reads.push_back({"EXEC"});
    }
    auto rows = c.pipeline(reads);
    if (!rows) return std::move(rows).error();
    std::vector<std::size_t> unsettled;
    std::size_t exec_at = 0;
    for (std::size_t n : cis) {
      const std::vector<Wanted>& ws = wanted[n];
      exec_at += 3 + 2 * ws.size();  // MULTI, QUEUED for each read, EXEC
      const redisReply* exec = (*rows)[exec_at - 1].get();
      if (is_error(exec) || exec->type != REDIS_REPLY_ARRAY || exec->elements != 1 + 2 * ws.size())
        return reply_error(exec, "latest samples");
      for (std::size_t i = 0; i < exec->elements; ++i)
        if (is_error(exec->element[i])) return reply_error(exec->element[i], "latest samples");
      std::size_t at = 1;
      std::vector<std::optional<Sample>> head_best(ws.size());
      std::vector<std::vector<Sample>> chunk(ws.size());
      std::vector<std::int64_t> floor(ws.size(), INT64_MIN);  // the newest time known of each
      for (std::size_t i = 0; i < ws.size(); ++i, at += 2) {
        auto own = own_head(exec->element[at]);
        if (!own) return std::move(own).error();
        if (!own->empty()) head_best[i] = own->back();
        const redisReply* newest_chunk = exec->element[at + 1];
        if (newest_chunk->elements > 0) {
          auto d = decode_stored(reply_text(newest_chunk->element[0]), series_id(ws[i].info.key));
          if (!d) return std::move(d).error();
          chunk[i] = std::move(*d);
        }
        if (head_best[i]) floor[i] = head_best[i]->time_ms;
        if (!chunk[i].empty()) floor[i] = std::max(floor[i], chunk[i].back().time_ms);
      }
      const redisReply* entries = exec->element[0];
      bool settled = false;
      for (std::size_t e = 0; !settled && e < entries->elements; ++e) {
        auto entry = parse_head_entry(std::string_view(entries->element[e]->str, entries->element[e]->len));
        if (!entry) return damaged_entry(ci_ids[n], "unreadable framing");
        // Newest entry first: once every series wanted holds a sample at or
        // after all this entry holds, no older entry can beat one.
        settled = true;
        for (std::size_t i = 0; i < ws.size(); ++i)
          if (ws[i].number && floor[i] < entry->max_ms) settled = false;
        if (settled) break;
        for (std::size_t i = 0; i < ws.size(); ++i) {
          if (!ws[i].number) continue;
          auto got = entry_samples(*entry, *ws[i].number, ci_ids[n]);
          if (!got) return std::move(got).error();
          if (got->empty()) continue;
          if (!head_best[i] || got->back().time_ms > head_best[i]->time_ms) head_best[i] = got->back();
          floor[i] = std::max(floor[i], got->back().time_ms);
        }
      }
      if (!settled && page > 0 && entries->elements == page) {
        unsettled.push_back(n);
        continue;
      }
      for (std::size_t i = 0; i < ws.size(); ++i)
        if (auto best = newest_of(head_best[i], chunk[i])) out[n].push_back(LatestSample{ws[i].info, *best});
    }
    return unsettled;
  }

  core::Status maintain_series(Connection& c, const std::string& sid, const SeriesMaintenance& m,
                               MaintenanceReport& rep) {
    const SeriesKeys k = keys_of(*b_, sid);
    const ExpiryBounds e = expiry_bounds(m);
    // First the reports' figures into the rollups, so retention counts what
    // it drops of them; a damaged entry is reported after the rest is done.
    const core::Status folded = fold_rollups(c, sid, k);
    if (!folded && folded.error().code != StoreErrc::corrupt) return folded;
    const std::size_t sep = sid.find(kSep);
    const std::string ci = sid.substr(0, sep);
    // Rollups go a day's block at a time, once the whole day is past
    // retention (an hour member of an older store, with the blocks before
    // its day): up to a day later than on SQLite. The hours dropped are
    // counted from what is read in the same MULTI.
    const std::string rollups_cut =
        e.rollups_before <= INT64_MIN + codec::kDayMs ? "-inf" : "(" + i64(e.rollups_before - codec::kDayMs + 1);
    auto dropped = c.pipeline({{"ZREMRANGEBYSCORE", k.chunks, "-inf", "(" + i64(e.raw_before)},
                               {"ZREMRANGEBYSCORE", k.head, "-inf", "(" + i64(e.raw_before)},
                               {"HGET", b_->ci_key("hmeta", ci), head_number_field(sid.substr(sep + 1))},
                               {"MULTI"},
                               {"ZRANGEBYSCORE", k.rollups, "-inf", rollups_cut},
                               {"ZREMRANGEBYSCORE", k.rollups, "-inf", rollups_cut},
                               {"EXEC"}});
    if (!dropped) return std::move(dropped).error();
    for (const Reply& x : *dropped)
      if (is_error(x.get())) return reply_error(x.get(), "expire series data");
    const redisReply* rolled = dropped->back().get();
    if (rolled->type != REDIS_REPLY_ARRAY || rolled->elements != 2) return reply_error(rolled, "expire rollups");
    for (std::size_t i = 0; i < rolled->elements; ++i)
      if (is_error(rolled->element[i])) return reply_error(rolled->element[i], "expire rollups");
    auto number = number_from((*dropped)[2].get(), ci);
    if (!number) return std::move(number).error();
    rep.chunks_expired += static_cast<std::size_t>(reply_int((*dropped)[0].get()).value_or(0));
    rep.samples_expired += static_cast<std::size_t>(reply_int((*dropped)[1].get()).value_or(0));
    rep.rollups_expired += rollup_hours_in(rolled->element[0]);

    const std::int64_t closed_before = floor_to(m.now_ms - m.grace_ms, kBlockMs);
    // One closed block at a time, each an optimistic transaction; true when
    // a block was compacted, false when none is left.
    const auto compact_oldest = [&]() -> core::Result<std::optional<bool>> {
      auto seen = c.pipeline({{"WATCH", k.head, k.chunks, k.chunkend},
                              {"ZRANGEBYSCORE", k.head, "-inf", "(" + i64(closed_before), "LIMIT", "0", "1"}});
      if (!seen) return std::move(seen).error();
      const redisReply* first = (*seen)[1].get();
      if (is_error(first)) return reply_error(first, "oldest sample");
      if (first->elements == 0) return std::optional<bool>(false);
      auto oldest = parse_sample_member(reply_text(first->element[0]));
      if (!oldest) return core::make_error(StoreErrc::corrupt, "bad sample entry");
      const std::int64_t block = floor_to(oldest->time_ms, kBlockMs);
      auto got = c.pipeline({{"ZRANGEBYSCORE", k.head, i64(block), "(" + i64(block + kBlockMs)},
                             {"ZRANGEBYSCORE", k.chunks, i64(block), i64(block)},
                             {"GET", k.chunkend}});
      if (!got) return std::move(got).error();
      for (const Reply& x : *got)
        if (is_error(x.get())) return reply_error(x.get(), "read block");
      std::vector<Sample> raw;
      for (std::size_t i = 0; i < (*got)[0]->elements; ++i) {
        auto x = parse_sample_member(reply_text((*got)[0]->element[i]));
        if (!x) return core::make_error(StoreErrc::corrupt, "bad sample entry");
        raw.push_back(*x);
      }
      std::vector<Sample> held;
      if ((*got)[1]->elements > 0) {
        auto d = decode_stored(reply_text((*got)[1]->element[0]), sid);
        if (!d) return std::move(d).error();
        held = std::move(*d);
      }
      const std::int64_t end = std::max(reply_int((*got)[2].get()).value_or(INT64_MIN), block + kBlockMs);
      auto done = c.pipeline({{"MULTI"},
                              {"ZREMRANGEBYSCORE", k.head, i64(block), "(" + i64(block + kBlockMs)},
                              {"ZREMRANGEBYSCORE", k.chunks, i64(block), i64(block)},
                              {"ZADD", k.chunks, i64(block), codec::encode_chunk(merge_samples(std::move(held), raw))},
                              {"SET", k.chunkend, i64(end)},
                              {"EXEC"}});
      if (!done) return std::move(done).error();
      const redisReply* exec = done->back().get();
      if (is_error(exec)) return reply_error(exec, "compact block");
      if (exec->type != REDIS_REPLY_ARRAY) return std::optional<bool>{};  // raced with ingest or another collector
      ++rep.blocks_compacted;
      rep.samples_compacted += raw.size();
      return std::optional<bool>(true);
    };
    for (;;) {
      auto compacted = optimistic<bool>(c, "compaction of " + sid, compact_oldest);
      if (!compacted) return std::move(compacted).error();
      if (!*compacted) break;
    }
    // A CI's head is compacted once a pass: when its first series is visited.
    if (*number == 1u)
      if (auto st = compact_head(c, *b_, ci, m, rep); !st) return st;
    return folded;
  }

  core::Result<std::vector<SeriesInfo>> list_in(Connection& c, std::string_view ci_id) {
    auto r = c.pipeline({{"ZRANGE", b_->ci_key("series", ci_id), "0", "-1"}, {"HGETALL", b_->ci_key("units", ci_id)}});
    if (!r) return std::move(r).error();
    return series_from(ci_id, (*r)[0].get(), (*r)[1].get());
  }

  // A CI's series from the replies of ZRANGE on its series set and HGETALL of its units.
  static core::Result<std::vector<SeriesInfo>> series_from(std::string_view ci_id, const redisReply* arr,
                                                           const redisReply* units_reply) {
    if (is_error(arr)) return reply_error(arr, "list series");
    const auto units = hash_of(units_reply);
    std::vector<SeriesInfo> out;
    for (std::size_t i = 0; arr->type == REDIS_REPLY_ARRAY && i < arr->elements; ++i) {
      const std::string m = reply_text(arr->element[i]);
      const auto sep = m.find(kSep);
      if (sep == std::string::npos) return core::make_error(StoreErrc::corrupt, "bad series entry");
      auto labels = labels_from_json(m.substr(sep + 1));
      if (!labels) return std::move(labels).error();
      out.push_back(SeriesInfo{SeriesKey{std::string(ci_id), m.substr(0, sep), std::move(*labels)}, field(units, m)});
    }
    return out;
  }

  std::mutex maintain_mu_;
  std::string cursor_ = "0";
};

std::shared_ptr<store::SeriesStore> make_series_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisSeriesStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
