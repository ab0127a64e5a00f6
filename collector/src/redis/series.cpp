// SPDX-License-Identifier: Apache-2.0
// Capacity series on Redis: the head (an entry per report and CI),
// compressed chunks, hourly rollups, maintenance.
#include <set>

#include "backend.hpp"

namespace surveyor::collector::redis {

namespace {

core::Error damaged_entry(std::string_view ci, const std::string& why) {
  return core::make_error(StoreErrc::corrupt, "head entry of CI " + std::string(ci) + ": " + why);
}

// The entries of a CI's head in `r` (members of its headlog), in the order
// they were written, views into `r`. A damaged entry is an error, or, given
// a maintenance report, counted there and passed over.
core::Result<std::vector<HeadEntry>> head_entries(const redisReply* r, std::string_view ci, MaintenanceReport* damage) {
  std::vector<HeadEntry> out;
  for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
    auto e = parse_head_entry(std::string_view(r->element[i]->str, r->element[i]->len));
    if (!e) {
      if (!damage) return damaged_entry(ci, "unreadable framing");
      ++damage->damaged;
      damage->damage = damaged_entry(ci, "unreadable framing").describe();
      continue;
    }
    out.push_back(std::move(*e));
  }
  std::sort(out.begin(), out.end(), [](const HeadEntry& a, const HeadEntry& b) { return a.seq < b.seq; });
  return out;
}

// The samples of series `number` in one entry.
core::Result<std::vector<Sample>> entry_samples(const HeadEntry& e, std::uint64_t number, std::string_view ci) {
  std::vector<Sample> out;
  for (const codec::BatchEntry& part : e.series) {
    if (part.id != number) continue;
    auto d = codec::decode_chunk(part.chunk);
    if (!d) return damaged_entry(ci, d.error().describe());
    out.insert(out.end(), d->begin(), d->end());
  }
  return out;
}

// The head's samples of series `number` with from <= time < to: sorted,
// unique (of two entries holding one time, the older entry's sample).
core::Result<std::vector<Sample>> head_samples(const std::vector<HeadEntry>& entries, std::uint64_t number,
                                               std::string_view ci, std::int64_t from, std::int64_t to) {
  std::vector<Sample> raw;
  for (const HeadEntry& e : entries) {
    if (e.max_ms < from || e.min_ms >= to) continue;
    auto got = entry_samples(e, number, ci);
    if (!got) return std::move(got).error();
    for (const Sample& x : *got)
      if (x.time_ms >= from && x.time_ms < to) raw.push_back(x);
  }
  return merge_samples({}, raw);
}

// The series' number in its CI's head from HGET's reply: nullopt when it
// has none (it has nothing in the head).
core::Result<std::optional<std::uint64_t>> number_from(const redisReply* r, std::string_view ci) {
  if (r->type == REDIS_REPLY_NIL) return std::optional<std::uint64_t>{};
  std::uint64_t v = 0;
  const char* end = r->str + r->len;
  if (r->type != REDIS_REPLY_STRING) return reply_error(r, "read series number");
  if (auto [p, ec] = std::from_chars(r->str, end, v); ec != std::errc() || p != end)
    return core::make_error(StoreErrc::corrupt, "head metadata of " + std::string(ci) + " unreadable");
  return std::optional<std::uint64_t>{v};
}

// A series' own head (of stores written before the per-CI head) from ZRANGEBYSCORE's reply.
core::Result<std::vector<Sample>> own_head(const redisReply* r) {
  std::vector<Sample> out;
  for (std::size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
    auto x = parse_sample_member(reply_text(r->element[i]));
    if (!x) return core::make_error(StoreErrc::corrupt, "bad sample entry");
    out.push_back(*x);
  }
  return out;
}

}  // namespace

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
      // MULTI: the chunks and the heads are read as of one moment.
      const std::int64_t first_block = from_ms <= INT64_MIN + kBlockMs ? INT64_MIN : floor_to(from_ms, kBlockMs);
      auto r = c.pipeline({{"MULTI"},
                           {"ZRANGEBYSCORE", k.chunks, i64(first_block), "(" + i64(to_ms)},
                           {"ZRANGEBYSCORE", k.head, i64(from_ms), "(" + i64(to_ms), "LIMIT", "0", std::to_string(limit)},
                           {"HGET", b_->key("hmeta", key.ci_id), head_number_field(series_member(key))},
                           {"ZRANGEBYSCORE", b_->key("headlog", key.ci_id), i64(from_ms), "+inf"},
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

  // Two round trips for any number of CIs: their series lists, then the
  // newest entries of their heads and the newest chunk of each series
  // wanted, in one transaction. A CI whose newest head entries do not
  // settle every series wanted is read again, its whole head at once.
  core::Result<std::vector<std::vector<LatestSample>>> latest_samples_of(const std::vector<std::string>& ci_ids,
                                                                        std::string_view metric) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<std::vector<LatestSample>>> {
      std::vector<std::vector<LatestSample>> out(ci_ids.size());
      if (ci_ids.empty()) return out;
      std::vector<Argv> lists;
      for (const std::string& id : ci_ids) {
        lists.push_back({"ZRANGE", b_->key("series", id), "0", "-1"});
        lists.push_back({"HGETALL", b_->key("units", id)});
        lists.push_back({"HGETALL", b_->key("hmeta", id)});
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
            std::uint64_t v = 0;
            const char* end = it->second.data() + it->second.size();
            if (auto [p, ec] = std::from_chars(it->second.data(), end, v); ec != std::errc() || p != end)
              return core::make_error(StoreErrc::corrupt, "head metadata of " + ci_ids[n] + " unreadable");
            w.number = v;
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
    });
  }

  core::Result<std::vector<Rollup>> read_rollups(const SeriesKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms) override {
    if (from_ms >= to_ms) return std::vector<Rollup>{};
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Rollup>> {
      const SeriesKeys k = keys_of(*b_, series_id(key));
      // A sample counts in the hour it falls in: it may lie up to an hour past to_ms.
      const std::int64_t head_to = to_ms > INT64_MAX - kRollupMs ? INT64_MAX : to_ms + kRollupMs;
      // MULTI: the rollups, the figures not folded into them yet and the
      // head as of one moment.
      auto r = c.pipeline({{"MULTI"},
                           {"ZRANGEBYSCORE", k.rollups, i64(from_ms), "(" + i64(to_ms)},
                           {"LRANGE", k.pending, "0", "-1"},
                           {"HGET", b_->key("hmeta", key.ci_id), head_number_field(series_member(key))},
                           {"ZRANGEBYSCORE", b_->key("headlog", key.ci_id), i64(from_ms), "+inf"},
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
  struct Wanted {
    SeriesInfo info;
    std::optional<std::uint64_t> number;  // in its CI's head
  };
  static constexpr std::size_t kLatestPage = 4;  // a report holds every series of its CI: the newest entry mostly settles all

  // The newest samples of the series wanted of CIs `cis` into `out`, from
  // their own heads, newest chunks and the CIs' heads read newest entry
  // first (at most `page` entries, 0: all). Returns the CIs whose page did
  // not settle every series wanted: an older entry may still beat one.
  core::Result<std::vector<std::size_t>> newest_for(Connection& c, const std::vector<std::string>& ci_ids,
                                                    const std::vector<std::vector<Wanted>>& wanted,
                                                    const std::vector<std::size_t>& cis, std::size_t page,
                                                    std::vector<std::vector<LatestSample>>& out) {
    std::vector<Argv> reads{{"MULTI"}};
    for (std::size_t n : cis) {
      Argv r{"ZREVRANGEBYSCORE", b_->key("headlog", ci_ids[n]), "+inf", "-inf"};
      if (page > 0) r.insert(r.end(), {"LIMIT", "0", std::to_string(page)});
      reads.push_back(std::move(r));
    }
    for (std::size_t n : cis)
      for (const Wanted& w : wanted[n]) {
        const SeriesKeys k = keys_of(*b_, series_id(w.info.key));
        reads.push_back({"ZRANGE", k.head, "-1", "-1"});
        reads.push_back({"ZRANGE", k.chunks, "-1", "-1"});
      }
    reads.push_back({"EXEC"});
    auto rows = c.pipeline(reads);
    if (!rows) return std::move(rows).error();
    const redisReply* exec = rows->back().get();
    if (is_error(exec) || exec->type != REDIS_REPLY_ARRAY || exec->elements != reads.size() - 2)
      return reply_error(exec, "latest samples");
    for (std::size_t i = 0; i < exec->elements; ++i)
      if (is_error(exec->element[i])) return reply_error(exec->element[i], "latest samples");
    std::vector<std::size_t> unsettled;
    std::size_t at = cis.size();
    for (std::size_t j = 0; j < cis.size(); ++j) {
      const std::size_t n = cis[j];
      const std::vector<Wanted>& ws = wanted[n];
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
      const redisReply* entries = exec->element[j];
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
    auto dropped = c.pipeline({{"ZREMRANGEBYSCORE", k.chunks, "-inf", "(" + i64(e.raw_before)},
                               {"ZREMRANGEBYSCORE", k.head, "-inf", "(" + i64(e.raw_before)},
                               {"ZREMRANGEBYSCORE", k.rollups, "-inf", "(" + i64(e.rollups_before)},
                               {"HGET", b_->key("hmeta", ci), head_number_field(sid.substr(sep + 1))}});
    if (!dropped) return std::move(dropped).error();
    for (const Reply& x : *dropped)
      if (is_error(x.get())) return reply_error(x.get(), "expire series data");
    auto number = number_from((*dropped)[3].get(), ci);
    if (!number) return std::move(number).error();
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
    // A CI's head is compacted once a pass: when its first series is visited.
    if (*number == 1u)
      if (auto st = compact_head(c, ci, m, rep); !st) return st;
    return folded;
  }

  // Compacts a CI's head as the SQLite store compacts its head rows: the
  // entries with samples in closed blocks or past retention are taken,
  // oldest first; their closed samples are merged into the chunks of their
  // series, block by block, adding the rollups of those new to each chunk,
  // entry by entry; what is left goes back as one new entry. Damaged
  // entries are reported and left where they are, and so are, in the new
  // entry, the samples of a block whose chunk is damaged.
  core::Status compact_head(Connection& c, const std::string& ci, const SeriesMaintenance& m, MaintenanceReport& rep) {
    const ExpiryBounds e = expiry_bounds(m);
    const std::int64_t closed_before = floor_to(m.now_ms - m.grace_ms, kBlockMs);
    const std::int64_t bound = std::max(closed_before, e.raw_before);
    const std::string log = b_->key("headlog", ci), meta = b_->key("hmeta", ci);
    auto due = c.pipeline({{"ZCARD", log}, {"HGETALL", meta}});
    if (!due) return std::move(due).error();
    for (const Reply& x : *due)
      if (is_error(x.get())) return reply_error(x.get(), "read head");
    if (reply_int((*due)[0].get()).value_or(0) == 0) return {};
    const auto fields = hash_of((*due)[1].get());
    // The oldest time the head holds: nothing is due before a block closes after it.
    if (auto it = fields.find("min"); it != fields.end() && std::strtoll(it->second.c_str(), nullptr, 10) >= bound)
      return {};
    std::map<std::uint64_t, std::string> sid_of;  // series number -> series id
    for (const auto& [f, v] : fields) {
      if (f.empty() || f[0] != '#') continue;
      std::uint64_t n = 0;
      if (auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n); ec != std::errc() || p != v.data() + v.size())
        return core::make_error(StoreErrc::corrupt, "head metadata of " + ci + " unreadable");
      sid_of[n] = ci + kSep + f.substr(1);
    }
    // Figures still pending from before the per-CI head go into the rollups
    // first, so each hour's sum keeps its order (a damaged list is reported
    // when its series is visited).
    for (const auto& [n, sid] : sid_of)
      if (auto st = fold_rollups(c, sid, keys_of(*b_, sid)); !st && st.error().code != StoreErrc::corrupt) return st;
    MaintenanceReport done;
    auto compacted = optimistic<bool>(c, "compaction of the head of " + ci, [&]() -> core::Result<std::optional<bool>> {
      done = {};
      auto seen = c.pipeline({{"WATCH", log, meta}, {"ZRANGE", log, "0", "-1"}, {"HGET", meta, "seq"}});
      if (!seen) return std::move(seen).error();
      for (const Reply& x : *seen)
        if (is_error(x.get())) return reply_error(x.get(), "read head");
      auto entries = head_entries((*seen)[1].get(), ci, &done);
      if (!entries) return std::move(entries).error();
      // series number -> block -> the samples of each entry, oldest entry first
      std::map<std::uint64_t, std::map<std::int64_t, std::vector<std::vector<Sample>>>> closed;
      std::map<std::uint64_t, std::vector<Sample>> kept;  // what goes back into the head
      std::vector<std::string_view> taken;
      std::int64_t oldest_left = INT64_MAX;  // of the entries left as they are
      for (const HeadEntry& en : *entries) {
        std::vector<std::pair<std::uint64_t, std::vector<Sample>>> decoded;
        std::string damage;
        for (const codec::BatchEntry& part : en.series) {
          auto d = codec::decode_chunk(part.chunk);
          if (!d) damage = d.error().describe();
          else if (!sid_of.contains(part.id)) damage = "series number " + std::to_string(part.id) + " unknown";
          if (!damage.empty()) break;
          decoded.emplace_back(part.id, std::move(*d));
        }
        if (!damage.empty()) {
          ++done.damaged;
          done.damage = damaged_entry(ci, damage).describe();
          continue;
        }
        if (en.min_ms >= bound) {
          oldest_left = std::min(oldest_left, en.min_ms);
          continue;
        }
        taken.push_back(en.bytes);
        for (auto& [n, samples] : decoded) {
          std::int64_t part_block = INT64_MIN;
          std::vector<Sample>* part = nullptr;
          for (const Sample& x : samples) {  // sorted: an entry's samples of one block are consecutive
            if (x.time_ms < e.raw_before) {
              ++done.samples_expired;
            } else if (x.time_ms >= closed_before) {
              kept[n].push_back(x);
            } else {
              const std::int64_t block = floor_to(x.time_ms, kBlockMs);
              if (!part || block != part_block) {
                part = &closed[n][block].emplace_back();
                part_block = block;
              }
              part->push_back(x);
            }
          }
        }
      }
      if (taken.empty()) return std::optional<bool>(true);
      std::vector<Argv> tx{{"MULTI"}};
      Argv trim{"ZREM", log};
      for (std::string_view t : taken) trim.emplace_back(t);
      tx.push_back(std::move(trim));
      if (!closed.empty())
        if (auto st = merge_closed(c, sid_of, closed, kept, tx, done); !st) return std::move(st).error();
      Argv fields_left{"HSET", meta};
      if (!kept.empty()) {
        std::string batch;
        std::int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (auto& [n, samples] : kept) {
          samples = merge_samples({}, samples);
          codec::append_to_batch(batch, n, samples);
          lo = std::min(lo, samples.front().time_ms);
          hi = std::max(hi, samples.back().time_ms);
        }
        const std::uint64_t seq = static_cast<std::uint64_t>(reply_int((*seen)[2].get()).value_or(0)) + 1;
        tx.push_back({"ZADD", log, i64(hi), codec::place_batch(seq, lo, hi, batch)});
        fields_left.insert(fields_left.end(), {"seq", std::to_string(seq)});
        oldest_left = std::min(oldest_left, lo);
      }
      if (oldest_left != INT64_MAX) fields_left.insert(fields_left.end(), {"min", i64(oldest_left)});
      tx.push_back(fields_left.size() > 2 ? fields_left : Argv{"HDEL", meta, "min"});
      tx.push_back({"EXEC"});
      auto wrote = c.pipeline(tx);
      if (!wrote) return std::move(wrote).error();
      const redisReply* exec = wrote->back().get();
      if (is_error(exec)) return reply_error(exec, "compact head");
      if (exec->type != REDIS_REPLY_ARRAY) return std::optional<bool>{};  // raced with ingest or another collector
      for (std::size_t i = 0; i < exec->elements; ++i)
        if (is_error(exec->element[i])) return reply_error(exec->element[i], "compact head");
      return std::optional<bool>(true);
    });
    if (!compacted) return std::move(compacted).error();
    rep.blocks_compacted += done.blocks_compacted;
    rep.samples_compacted += done.samples_compacted;
    rep.samples_expired += done.samples_expired;
    if (done.damaged > 0) {
      rep.damaged += done.damaged;
      rep.damage = done.damage;
    }
    return {};
  }

  // The writes that merge the closed samples of a CI's head into the chunks
  // of their series (WATCHed, then read) and add the rollups of the new
  // ones. The samples of a block whose chunk is damaged go to `kept`.
  core::Status merge_closed(Connection& c, const std::map<std::uint64_t, std::string>& sid_of,
                            const std::map<std::uint64_t, std::map<std::int64_t, std::vector<std::vector<Sample>>>>& closed,
                            std::map<std::uint64_t, std::vector<Sample>>& kept, std::vector<Argv>& tx,
                            MaintenanceReport& done) {
    Argv watch{"WATCH"};
    std::vector<Argv> reads{{}};
    for (const auto& [n, blocks] : closed) {
      const SeriesKeys k = keys_of(*b_, sid_of.at(n));
      watch.insert(watch.end(), {k.chunks, k.chunkend, k.rollups});
      reads.push_back({"GET", k.chunkend});
      reads.push_back({"ZRANGEBYSCORE", k.rollups, i64(blocks.begin()->first), i64(blocks.rbegin()->first + kBlockMs - 1)});
      for (const auto& entry : blocks) reads.push_back({"ZRANGEBYSCORE", k.chunks, i64(entry.first), i64(entry.first)});
    }
    reads.front() = std::move(watch);
    auto held = c.pipeline(reads);
    if (!held) return std::move(held).error();
    for (const Reply& x : *held)
      if (is_error(x.get())) return reply_error(x.get(), "read chunks");
    const auto earlier = [](const Sample& a, const Sample& b) { return a.time_ms < b.time_ms; };
    std::size_t at = 1;
    for (const auto& [n, blocks] : closed) {
      const std::string& sid = sid_of.at(n);
      const SeriesKeys k = keys_of(*b_, sid);
      std::int64_t end = reply_int((*held)[at++].get()).value_or(INT64_MIN);
      std::map<std::int64_t, Rollup> hours;
      const redisReply* stored = (*held)[at++].get();
      for (std::size_t i = 0; i < stored->elements; ++i) {
        auto r = parse_rollup_member(reply_text(stored->element[i]));
        if (!r) return core::make_error(StoreErrc::corrupt, "bad rollup entry of series " + sid);
        hours.emplace(r->start_ms, *r);
      }
      std::set<std::int64_t> touched;
      bool wrote_chunk = false;
      for (const auto& [block, parts] : blocks) {
        const redisReply* chunk = (*held)[at++].get();
        std::vector<Sample> merged;
        if (chunk->elements > 0) {
          auto d = decode_stored(reply_text(chunk->element[0]), sid);
          if (!d) {
            ++done.damaged;
            done.damage = d.error().describe();
            for (const std::vector<Sample>& p : parts) kept[n].insert(kept[n].end(), p.begin(), p.end());
            continue;
          }
          merged = std::move(*d);
        }
        for (const std::vector<Sample>& p : parts) {
          std::vector<Sample> fresh;
          for (const Sample& x : p)
            if (!std::binary_search(merged.begin(), merged.end(), x, earlier)) fresh.push_back(x);
          for (const Rollup& r : rollups_of(fresh)) {
            auto [it, new_hour] = hours.try_emplace(r.start_ms, r);
            if (!new_hour) fold_rollup(it->second, r);
            touched.insert(r.start_ms);
          }
          merged = merge_samples(std::move(merged), fresh);
          done.samples_compacted += p.size();
        }
        tx.push_back({"ZREMRANGEBYSCORE", k.chunks, i64(block), i64(block)});
        tx.push_back({"ZADD", k.chunks, i64(block), codec::encode_chunk(merged)});
        end = std::max(end, block + kBlockMs);
        wrote_chunk = true;
        ++done.blocks_compacted;
      }
      if (wrote_chunk) tx.push_back({"SET", k.chunkend, i64(end)});
      for (std::int64_t h : touched) {
        tx.push_back({"ZREMRANGEBYSCORE", k.rollups, i64(h), i64(h)});
        tx.push_back({"ZADD", k.rollups, i64(h), rollup_member(hours[h])});
      }
    }
    return {};
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
