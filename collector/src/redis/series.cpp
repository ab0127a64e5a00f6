// SPDX-License-Identifier: Apache-2.0
// Capacity series on Redis: the raw head, compressed chunks, hourly rollups, maintenance.
#include <set>

#include "backend.hpp"

namespace surveyor::collector::redis {

class RedisSeriesStore final : public Bound<SeriesStore> {
 public:
  using Bound::Bound;

  core::Result<std::vector<SeriesInfo>> list_series(std::string_view ci_id) override {
    return b_->pool.with([&](Connection& c) { return list_in(c, ci_id); });
  }

  core::Result<std::vector<Sample>> read_samples(const SeriesKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms, std::size_t limit) override {
    if (from_ms >= to_ms || limit == 0) return std::vector<Sample>{};
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Sample>> {
      const std::string sid = series_id(key);
      const SeriesKeys k = keys_of(*b_, sid);
      // MULTI: the chunks and the head are read as of one moment.
      const std::int64_t first_block = from_ms <= INT64_MIN + kBlockMs ? INT64_MIN : floor_to(from_ms, kBlockMs);
      auto r = c.pipeline({{"MULTI"},
                           {"ZRANGEBYSCORE", k.chunks, i64(first_block), "(" + i64(to_ms)},
                           {"ZRANGEBYSCORE", k.head, i64(from_ms), "(" + i64(to_ms), "LIMIT", "0", std::to_string(limit)},
                           {"EXEC"}});
      if (!r) return std::move(r).error();
      const redisReply* exec = r->back().get();
      if (is_error(exec) || exec->type != REDIS_REPLY_ARRAY || exec->elements != 2)
        return reply_error(exec, "read samples");
      const redisReply* chunks = exec->element[0];
      const redisReply* head = exec->element[1];
      if (is_error(chunks) || is_error(head)) return reply_error(is_error(chunks) ? chunks : head, "read samples");
      std::vector<Sample> held;
      for (std::size_t i = 0; held.size() < limit && i < chunks->elements; ++i) {
        auto d = decode_stored(reply_text(chunks->element[i]), sid);
        if (!d) return std::move(d).error();
        for (const Sample& x : *d)
          if (x.time_ms >= from_ms && x.time_ms < to_ms) held.push_back(x);
      }
      std::vector<Sample> raw;
      for (std::size_t i = 0; i < head->elements; ++i) {
        auto x = parse_sample_member(reply_text(head->element[i]));
        if (!x) return core::make_error(StoreErrc::corrupt, "bad sample entry");
        raw.push_back(*x);
      }
      auto out = merge_samples(std::move(held), raw);
      if (out.size() > limit) out.resize(limit);
      return out;
    });
  }

  core::Result<std::vector<LatestSample>> latest_samples(std::string_view ci_id, std::string_view metric) override {
    auto all = latest_samples_of({std::string(ci_id)}, metric);
    if (!all) return std::move(all).error();
    return std::move(all->front());
  }

  // Two round trips for any number of CIs: their series lists, then the
  // newest head entry and chunk of each series wanted, in one transaction.
  core::Result<std::vector<std::vector<LatestSample>>> latest_samples_of(const std::vector<std::string>& ci_ids,
                                                                        std::string_view metric) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<std::vector<LatestSample>>> {
      std::vector<std::vector<LatestSample>> out(ci_ids.size());
      if (ci_ids.empty()) return out;
      std::vector<Argv> lists;
      for (const std::string& id : ci_ids) {
        lists.push_back({"ZRANGE", b_->key("series", id), "0", "-1"});
        lists.push_back({"HGETALL", b_->key("units", id)});
      }
      auto listed = c.pipeline(lists);
      if (!listed) return std::move(listed).error();
      std::vector<std::pair<std::size_t, SeriesInfo>> wanted;  // (CI index, series)
      for (std::size_t n = 0; n < ci_ids.size(); ++n) {
        auto series = series_from(ci_ids[n], (*listed)[2 * n].get(), (*listed)[2 * n + 1].get());
        if (!series) return std::move(series).error();
        for (SeriesInfo& info : *series)
          if (metric.empty() || info.key.metric == metric) wanted.emplace_back(n, std::move(info));
      }
      if (wanted.empty()) return out;
      std::vector<Argv> reads{{"MULTI"}};
      for (const auto& [n, info] : wanted) {
        const SeriesKeys k = keys_of(*b_, series_id(info.key));
        reads.push_back({"ZRANGE", k.head, "-1", "-1"});
        reads.push_back({"ZRANGE", k.chunks, "-1", "-1"});
      }
      reads.push_back({"EXEC"});
      auto rows = c.pipeline(reads);
      if (!rows) return std::move(rows).error();
      const redisReply* exec = rows->back().get();
      if (is_error(exec) || exec->type != REDIS_REPLY_ARRAY || exec->elements != 2 * wanted.size())
        return reply_error(exec, "latest samples");
      for (std::size_t i = 0; i < wanted.size(); ++i) {
        const redisReply* head = exec->element[2 * i];
        const redisReply* chunk = exec->element[2 * i + 1];
        if (is_error(head) || is_error(chunk)) return reply_error(is_error(head) ? head : chunk, "latest sample");
        std::optional<Sample> best;
        if (head->elements > 0) {
          auto x = parse_sample_member(reply_text(head->element[0]));
          if (!x) return core::make_error(StoreErrc::corrupt, "bad sample entry");
          best = *x;
        }
        if (chunk->elements > 0) {
          auto d = decode_stored(reply_text(chunk->element[0]), series_id(wanted[i].second.key));
          if (!d) return std::move(d).error();
          best = newest_of(best, *d);
        }
        if (best) out[wanted[i].first].push_back(LatestSample{wanted[i].second, *best});
      }
      return out;
    });
  }

  core::Result<std::vector<Rollup>> read_rollups(const SeriesKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms) override {
    if (from_ms >= to_ms) return std::vector<Rollup>{};
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Rollup>> {
      const SeriesKeys k = keys_of(*b_, series_id(key));
      // MULTI: the rollups and the figures not yet folded into them as of one moment.
      auto r = c.pipeline({{"MULTI"},
                           {"ZRANGEBYSCORE", k.rollups, i64(from_ms), "(" + i64(to_ms)},
                           {"LRANGE", k.pending, "0", "-1"},
                           {"EXEC"}});
      if (!r) return std::move(r).error();
      const redisReply* exec = r->back().get();
      if (is_error(exec) || exec->type != REDIS_REPLY_ARRAY || exec->elements != 2)
        return reply_error(exec, "read rollups");
      if (is_error(exec->element[0]) || is_error(exec->element[1]))
        return reply_error(is_error(exec->element[0]) ? exec->element[0] : exec->element[1], "read rollups");
      return fold_pending(exec->element[0], exec->element[1], from_ms, to_ms);
    });
  }

  core::Result<MaintenanceReport> maintain(const SeriesMaintenance& m) override {
    std::lock_guard lock(maintain_mu_);
    return b_->pool.with([&](Connection& c) -> core::Result<MaintenanceReport> {
      MaintenanceReport rep;
      const std::string count = std::to_string(std::max<std::size_t>(1, m.series_per_step));
      while (rep.series_visited < m.max_series) {
        auto r = c.command({"SSCAN", b_->key("allseries"), cursor_, "COUNT", count});
        if (!r) return std::move(r).error();
        const redisReply* arr = r->get();
        if (is_error(arr) || arr->type != REDIS_REPLY_ARRAY || arr->elements != 2) return reply_error(arr, "list series");
        for (std::size_t i = 0; i < arr->element[1]->elements; ++i) {
          if (auto st = maintain_series(c, reply_text(arr->element[1]->element[i]), m, rep); !st) {
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
  core::Status maintain_series(Connection& c, const std::string& sid, const SeriesMaintenance& m,
                               MaintenanceReport& rep) {
    const SeriesKeys k = keys_of(*b_, sid);
    const ExpiryBounds e = expiry_bounds(m);
    // First the reports' figures into the rollups, so retention counts what
    // it drops of them; a damaged entry is reported after the rest is done.
    const core::Status folded = fold_rollups(c, sid, k);
    if (!folded && folded.error().code != StoreErrc::corrupt) return folded;
    auto dropped = c.pipeline({{"ZREMRANGEBYSCORE", k.chunks, "-inf", "(" + i64(e.raw_before)},
                               {"ZREMRANGEBYSCORE", k.head, "-inf", "(" + i64(e.raw_before)},
                               {"ZREMRANGEBYSCORE", k.rollups, "-inf", "(" + i64(e.rollups_before)}});
    if (!dropped) return std::move(dropped).error();
    for (const Reply& x : *dropped)
      if (is_error(x.get())) return reply_error(x.get(), "expire series data");
    rep.chunks_expired += static_cast<std::size_t>(reply_int((*dropped)[0].get()).value_or(0));
    rep.samples_expired += static_cast<std::size_t>(reply_int((*dropped)[1].get()).value_or(0));
    rep.rollups_expired += static_cast<std::size_t>(reply_int((*dropped)[2].get()).value_or(0));

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
    return folded;
  }

  // The reports' figures pending for series `sid` folded into its rollups,
  // in the order they were pushed.
  core::Status fold_rollups(Connection& c, const std::string& sid, const SeriesKeys& k) {
    // Most series have nothing pending at a pass: one round trip tells,
    // without a WATCH to undo.
    auto length = c.command({"LLEN", k.pending});
    if (!length) return std::move(length).error();
    if (is_error(length->get())) return reply_error(length->get(), "read pending rollups");
    if (reply_int(length->get()).value_or(0) == 0) return {};
    auto folded = optimistic<bool>(c, "rollups of " + sid, [&]() -> core::Result<std::optional<bool>> {
      auto seen = c.pipeline({{"WATCH", k.pending, k.rollups}, {"LRANGE", k.pending, "0", "-1"}});
      if (!seen) return std::move(seen).error();
      const redisReply* pending = (*seen)[1].get();
      if (is_error(pending)) return reply_error(pending, "read pending rollups");
      if (pending->type != REDIS_REPLY_ARRAY || pending->elements == 0) return std::optional<bool>(true);
      // Only the hours the pending figures name are read and rewritten.
      std::set<std::int64_t> touched;
      for (std::size_t i = 0; i < pending->elements; ++i) {
        auto r = parse_rollup_member(reply_text(pending->element[i]));
        if (!r) return core::make_error(StoreErrc::corrupt, "bad pending rollup entry of series " + sid);
        touched.insert(r->start_ms);
      }
      auto held = c.command({"ZRANGEBYSCORE", k.rollups, i64(*touched.begin()), i64(*touched.rbegin())});
      if (!held) return std::move(held).error();
      if (is_error(held->get())) return reply_error(held->get(), "read rollups");
      auto sums = fold_pending(held->get(), pending, INT64_MIN, INT64_MAX);
      if (!sums) return std::move(sums).error();
      std::vector<Argv> tx{{"MULTI"}};
      for (const Rollup& r : *sums) {
        if (!touched.contains(r.start_ms)) continue;
        tx.push_back({"ZREMRANGEBYSCORE", k.rollups, i64(r.start_ms), i64(r.start_ms)});
        tx.push_back({"ZADD", k.rollups, i64(r.start_ms), rollup_member(r)});
      }
      tx.push_back({"LTRIM", k.pending, std::to_string(pending->elements), "-1"});
      tx.push_back({"EXEC"});
      auto done = c.pipeline(tx);
      if (!done) return std::move(done).error();
      const redisReply* exec = done->back().get();
      if (is_error(exec)) return reply_error(exec, "fold rollups");
      if (exec->type != REDIS_REPLY_ARRAY) return std::optional<bool>{};  // a report pushed meanwhile
      for (std::size_t i = 0; i < exec->elements; ++i)
        if (is_error(exec->element[i])) return reply_error(exec->element[i], "fold rollups");
      return std::optional<bool>(true);
    });
    if (!folded) return std::move(folded).error();
    return {};
  }

  core::Result<std::vector<SeriesInfo>> list_in(Connection& c, std::string_view ci_id) {
    auto r = c.pipeline({{"ZRANGE", b_->key("series", ci_id), "0", "-1"}, {"HGETALL", b_->key("units", ci_id)}});
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
