// SPDX-License-Identifier: Apache-2.0
// The series of a report on Redis: see report_series.hpp.
#include "report_series.hpp"

#include <set>

namespace surveyor::collector::redis {

namespace {

// Each series' number and the samples it does not hold yet, from the
// metadata read (reply `meta_at` on, one per CI): samples after the
// newest time a series holds are new without another read; the others
// are looked up in the CI's head and in the series' chunks and own head.
core::Status find_fresh(Connection& c, const Backend& b, std::span<const Reply> got, std::size_t meta_at,
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
    reads.push_back({"ZRANGEBYSCORE", b.ci_key("headlog", *ci), i64(written[i].fresh.front().time_ms), "+inf"});
  for (const auto& [ci, i] : look_ups) {
    const Written& w = written[i];
    const SeriesKeys k = keys_of(b, w.sid);
    reads.push_back({"ZRANGEBYSCORE", k.head, i64(w.fresh.front().time_ms), i64(w.fresh.back().time_ms)});
    reads.push_back({"ZRANGE", k.head, "-1", "-1"});
    reads.push_back({"GET", k.chunkend});
  }
  for (const auto& [ci, i] : look_ups) {
    const Written& w = written[i];
    reads.push_back({"ZRANGEBYSCORE", keys_of(b, w.sid).chunks, i64(floor_to(w.fresh.front().time_ms, kBlockMs)),
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

// The writes of the report's samples: one head entry per CI, and the
// CI's metadata (entry number, series numbers, newest times).
void write_heads(Backend& b, const std::vector<Written>& written, const std::map<std::string, CiWrites>& by_ci,
                 std::vector<Argv>& tx) {
  for (const auto& [ci, cw] : by_ci) {
    std::string batch;
    std::int64_t lo = INT64_MAX, hi = INT64_MIN;
    Argv meta{"HSET", b.ci_key("hmeta", ci)};
    for (std::size_t i : cw.written) {
      const Written& w = written[i];
      if (!w.numbered) {
        meta.push_back(head_number_field(w.member));
        meta.push_back(std::to_string(w.number));
      }
      if (w.fresh.empty()) continue;
      const std::uint64_t series = std::hash<std::string>{}(w.sid);
      codec::append_chunk_to_batch(batch, w.number, b.denominators.encode(series, w.fresh));
      lo = std::min(lo, w.fresh.front().time_ms);
      hi = std::max(hi, w.fresh.back().time_ms);
      meta.push_back(head_newest_field(w.member));
      meta.push_back(i64(std::max(w.newest.value_or(INT64_MIN), w.fresh.back().time_ms)));
    }
    if (!batch.empty()) {
      tx.push_back({"ZADD", b.ci_key("headlog", ci), i64(hi), codec::place_batch(cw.seq + 1, lo, hi, batch)});
      meta.insert(meta.end(), {"seq", std::to_string(cw.seq + 1), "min", i64(std::min(cw.oldest.value_or(lo), lo))});
    }
    if (cw.numbers_given) {
      meta.push_back("n");
      meta.push_back(std::to_string(cw.numbers));
    }
    if (meta.size() > 2) tx.push_back(std::move(meta));
  }
}

}  // namespace

void add_series_reads(const Backend& b, ReportSeries& p, std::vector<Argv>& pre, std::optional<std::string_view> only) {
  const ReportBatch& batch = *p.batch;
  for (std::size_t i = 0; i < batch.series.size(); ++i) {
    const SeriesKey& key = batch.series[i].first.key;
    p.members.push_back(series_member(key));
    p.sids.push_back(series_id(key.ci_id, p.members.back()));
    if (!only || key.ci_id == *only) p.series_of_ci[key.ci_id].push_back(i);
  }
  // Each series once, grouped by CI. A report that writes to a CI's head
  // changes its hmeta: concurrent writers of one CI abort each other.
  std::map<std::string_view, std::size_t> at;
  for (const auto& [ci, indexes] : p.series_of_ci)
    for (std::size_t i : indexes) {
      const auto [it, fresh] = at.try_emplace(p.sids[i], p.written.size());
      if (fresh) {
        p.written.push_back({p.sids[i], p.members[i], {}});
        p.by_ci[ci].written.push_back(it->second);
      }
      Written& w = p.written[it->second];
      w.samples.insert(w.samples.end(), batch.series[i].second.begin(), batch.series[i].second.end());
    }
  Argv watch{"WATCH"};
  // Counted against max_series: a concurrent writer adding series aborts.
  if (batch.max_series > 0)
    for (const auto& entry : p.series_of_ci) watch.push_back(b.ci_key("series", entry.first));
  for (const auto& entry : p.by_ci) watch.push_back(b.ci_key("hmeta", entry.first));
  if (watch.size() > 1) pre.push_back(std::move(watch));
  p.meta_at = pre.size();  // per CI: its head's metadata for the report's series
  for (const auto& [ci, w] : p.by_ci) {
    Argv meta{"HMGET", b.ci_key("hmeta", ci), "seq", "n", "min"};
    for (std::size_t i : w.written) {
      meta.push_back(head_number_field(p.written[i].member));
      meta.push_back(head_newest_field(p.written[i].member));
    }
    pre.push_back(std::move(meta));
  }
  p.known_at = pre.size();  // per CI: ZMSCORE, HMGET, and ZCARD under a bound
  for (const auto& [ci, indexes] : p.series_of_ci) {
    Argv scores{"ZMSCORE", b.ci_key("series", ci)}, units{"HMGET", b.ci_key("units", ci)};
    for (std::size_t i : indexes) {
      scores.push_back(p.members[i]);
      units.push_back(p.members[i]);
    }
    pre.push_back(std::move(scores));
    pre.push_back(std::move(units));
    if (batch.max_series > 0) pre.push_back({"ZCARD", b.ci_key("series", ci)});
  }
}

core::Status plan_series(Connection& c, Backend& b, ReportSeries& p, std::span<const Reply> got, std::vector<Argv>& tx,
                         std::vector<Argv>& indexes) {
  const ReportBatch& batch = *p.batch;
  const std::vector<std::string>& sids = p.sids;
  const std::vector<std::string>& members = p.members;
  std::size_t at = p.known_at;
  for (const auto& [ci, of_ci] : p.series_of_ci) {
    const redisReply* scores = got[at++].get();
    const redisReply* units = got[at++].get();
    const redisReply* count = batch.max_series > 0 ? got[at++].get() : nullptr;
    if (scores->type != REDIS_REPLY_ARRAY || scores->elements != of_ci.size() || units->type != REDIS_REPLY_ARRAY ||
        units->elements != of_ci.size())
      return reply_error(scores, "read the series of " + ci);
    std::set<std::string_view> created;
    for (std::size_t j = 0; j < of_ci.size(); ++j) {
      const std::size_t i = of_ci[j];
      const SeriesInfo& info = batch.series[i].first;
      if (scores->element[j]->type == REDIS_REPLY_NIL) {
        if (!created.insert(members[i]).second) continue;  // twice in one report
        tx.push_back({"ZADD", b.ci_key("series", ci), "0", members[i]});
        tx.push_back({"HSET", b.ci_key("units", ci), members[i], info.unit});
        indexes.push_back({"SADD", b.key("allseries"), sids[i]});
      } else if (reply_text(units->element[j]) != info.unit) {
        tx.push_back({"HSET", b.ci_key("units", ci), members[i], info.unit});
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
  if (auto st = find_fresh(c, b, got, p.meta_at, p.written, p.by_ci); !st) return st;
  write_heads(b, p.written, p.by_ci, tx);
  return {};
}

}  // namespace surveyor::collector::redis
