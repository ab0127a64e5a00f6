// SPDX-License-Identifier: Apache-2.0
// The head of a CI's samples on Redis: its entries read, and compacted
// into the series' chunks and rollups as the SQLite store compacts its
// head rows; the pending rollup figures of older stores folded.
#include <set>

#include "head.hpp"

namespace surveyor::collector::redis {

namespace {

// The writes that merge the closed samples of a CI's head into the chunks
// of their series (WATCHed, then read) and add the rollups of the new
// ones. The samples of a block whose chunk is damaged go to `kept`.
core::Status merge_closed(Connection& c, const Backend& b, const std::map<std::uint64_t, std::string>& sid_of,
                          const std::map<std::uint64_t, std::map<std::int64_t, std::vector<std::vector<Sample>>>>& closed,
                          std::map<std::uint64_t, std::vector<Sample>>& kept, std::vector<Argv>& tx,
                          MaintenanceReport& done) {
  Argv watch{"WATCH"};
  std::vector<Argv> reads{{}};
  for (const auto& [n, blocks] : closed) {
    const SeriesKeys k = keys_of(b, sid_of.at(n));
    watch.insert(watch.end(), {k.chunks, k.chunkend, k.rollups});
    reads.push_back({"GET", k.chunkend});
    // Whole days: each day touched is written again as one block.
    const auto [first, last] = rollup_days_span(blocks.begin()->first, blocks.rbegin()->first + kBlockMs - 1);
    reads.push_back({"ZRANGEBYSCORE", k.rollups, i64(first), i64(last)});
    for (const auto& entry : blocks) reads.push_back({"ZRANGEBYSCORE", k.chunks, i64(entry.first), i64(entry.first)});
  }
  reads.front() = std::move(watch);
  auto held = c.pipeline(reads);
  if (!held) return std::move(held).error();
  for (const Reply& x : *held)
    if (is_error(x.get())) return reply_error(x.get(), "read chunks");
  const auto earlier = [](const Sample& x, const Sample& y) { return x.time_ms < y.time_ms; };
  std::size_t at = 1;
  for (const auto& [n, blocks] : closed) {
    const std::string& sid = sid_of.at(n);
    const SeriesKeys k = keys_of(b, sid);
    std::int64_t end = reply_int((*held)[at++].get()).value_or(INT64_MIN);
    std::map<std::int64_t, Rollup> hours;
    if (auto st = read_rollup_members((*held)[at++].get(), INT64_MIN, INT64_MAX, hours); !st)
      return core::make_error(StoreErrc::corrupt, "series " + sid + ": " + st.error().message);
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
    write_rollup_days(k.rollups, hours, touched, tx);
  }
  return {};
}

}  // namespace

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
  if (r->type != REDIS_REPLY_STRING) return reply_error(r, "read series number");
  auto v = head_field(std::string_view(r->str, r->len), ci);
  if (!v) return std::move(v).error();
  return std::optional<std::uint64_t>{*v};
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

// Compacts a CI's head as the SQLite store compacts its head rows: the
// entries with samples in closed blocks or past retention are taken,
// oldest first; their closed samples are merged into the chunks of their
// series, block by block, adding the rollups of those new to each chunk,
// entry by entry; what is left goes back as one new entry. Damaged
// entries are reported and left where they are, and so are, in the new
// entry, the samples of a block whose chunk is damaged.
core::Status compact_head(Connection& c, const Backend& b, const std::string& ci, const SeriesMaintenance& m,
                          MaintenanceReport& rep) {
  const ExpiryBounds e = expiry_bounds(m);
  const std::int64_t closed_before = floor_to(m.now_ms - m.grace_ms, kBlockMs);
  const std::int64_t bound = std::max(closed_before, e.raw_before);
  const std::string log = b.ci_key("headlog", ci), meta = b.ci_key("hmeta", ci);
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
    auto n = head_field(v, ci);
    if (!n) return std::move(n).error();
    sid_of[*n] = ci + kSep + f.substr(1);
  }
  // Figures still pending from before the per-CI head go into the rollups
  // first, so each hour's sum keeps its order (a damaged list is reported
  // when its series is visited).
  for (const auto& [n, sid] : sid_of)
    if (auto st = fold_rollups(c, sid, keys_of(b, sid)); !st && st.error().code != StoreErrc::corrupt) return st;
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
      if (auto st = merge_closed(c, b, sid_of, closed, kept, tx, done); !st) return std::move(st).error();
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
    const auto [first, last] = rollup_days_span(*touched.begin(), *touched.rbegin());
    auto held = c.command({"ZRANGEBYSCORE", k.rollups, i64(first), i64(last)});
    if (!held) return std::move(held).error();
    if (is_error(held->get())) return reply_error(held->get(), "read rollups");
    auto sums = fold_pending(held->get(), pending, INT64_MIN, INT64_MAX);
    if (!sums) return std::move(sums).error();
    std::map<std::int64_t, Rollup> hours;
    for (const Rollup& r : *sums) hours.emplace(r.start_ms, r);
    std::vector<Argv> tx{{"MULTI"}};
    write_rollup_days(k.rollups, hours, touched, tx);
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

}  // namespace surveyor::collector::redis
