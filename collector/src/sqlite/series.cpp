// SPDX-License-Identifier: Apache-2.0
// Capacity series on SQLite: the head (a row per report and CI), compressed
// chunks, hourly rollups, maintenance.
#include <map>

#include "backend.hpp"

namespace surveyor::collector::sqlite {

namespace {

constexpr std::int64_t kNoChunk = std::numeric_limits<std::int64_t>::min();

// The lowest block start whose block can hold times >= from_ms.
std::int64_t first_block_for(std::int64_t from_ms) {
  return from_ms <= kNoChunk + kBlockMs ? kNoChunk : floor_to(from_ms, kBlockMs);
}

bool earlier(const Sample& x, const Sample& y) { return x.time_ms < y.time_ms; }

bool holds_time(const std::vector<Sample>& sorted, std::int64_t t) {
  return std::binary_search(sorted.begin(), sorted.end(), Sample{t, 0}, earlier);
}

core::Result<std::optional<std::int64_t>> find_series_id(Connection& c, const SeriesKey& key) {
  SURVEYOR_TRY_STMT(s, c, "SELECT id FROM series WHERE ci_id = ?1 AND metric = ?2 AND attributes = ?3");
  s.bind(1, key.ci_id).bind(2, key.metric).bind(3, labels_to_json(key.attributes));
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<std::int64_t>{};
  if (rc != SQLITE_ROW) return c.error(rc, "find series");
  return std::optional<std::int64_t>{s.int64(0)};
}

core::Result<std::vector<Sample>> decode_stored(std::string_view bytes, std::int64_t series_id, std::int64_t block) {
  auto d = codec::decode_chunk(bytes);
  if (!d)
    return core::make_error(StoreErrc::corrupt, "chunk of series " + std::to_string(series_id) + " at " +
                                                    std::to_string(block) + ": " + d.error().describe());
  return d;
}

// The chunk of one block, or nothing.
core::Result<std::vector<Sample>> load_chunk(Connection& c, std::int64_t series_id, std::int64_t block) {
  SURVEYOR_TRY_STMT(s, c, "SELECT data FROM chunks WHERE series_id = ?1 AND block_start = ?2");
  s.bind(1, series_id).bind(2, block);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::vector<Sample>{};
  if (rc != SQLITE_ROW) return c.error(rc, "read chunk");
  return decode_stored(s.blob(0), series_id, block);
}

// ---- The head: rows of (ci_id, min_ms, max_ms, rolled_up, data), data a
// codec batch of the row's samples per series id.

// One head row, split into its series' entries (views into `data`).
struct HeadRow {
  std::int64_t id = 0;
  bool rolled_up = false;  // its samples' rollups are already stored (rows from schema 7)
  std::string data;
  std::vector<codec::BatchEntry> entries;
};

core::Error damaged_row(std::int64_t row, const core::Error& e) {
  return core::make_error(StoreErrc::corrupt, "head row " + std::to_string(row) + ": " + e.describe());
}

// The samples of one entry of a head row.
core::Result<std::vector<Sample>> decode_entry(const HeadRow& row, const codec::BatchEntry& e) {
  auto d = codec::decode_chunk(e.chunk);
  if (!d) return damaged_row(row.id, d.error());
  return d;
}

// Calls on_row(HeadRow&) for each head row of a CI that may hold samples with
// from <= time < to, oldest row first. A row whose framing is damaged is an
// error, or, given a maintenance report, counted there and passed over.
template <class F>
core::Status visit_head(Connection& c, std::string_view ci_id, std::int64_t from, std::int64_t to,
                        MaintenanceReport* damage, F&& on_row) {
  SURVEYOR_TRY_STMT(s, c,
                    "SELECT id, rolled_up, data FROM head_log WHERE ci_id = ?1 AND max_ms >= ?2 AND min_ms < ?3 "
                    "ORDER BY id");
  s.bind(1, ci_id).bind(2, from).bind(3, to);
  int rc;
  HeadRow row;
  while ((rc = s.step()) == SQLITE_ROW) {
    row.id = s.int64(0);
    row.rolled_up = s.int64(1) != 0;
    row.data = s.blob(2);
    auto split = codec::split_batch(row.data);
    if (!split) {
      if (!damage) return damaged_row(row.id, split.error());
      ++damage->damaged;
      damage->damage = damaged_row(row.id, split.error()).describe();
      continue;
    }
    row.entries = std::move(*split);
    if (auto st = on_row(row); !st) return st;
  }
  if (rc != SQLITE_DONE) return c.error(rc, "read head");
  return {};
}

// The head's samples of one series with from <= time < to: sorted, unique
// (of two rows holding one time, the older row's sample).
core::Result<std::vector<Sample>> head_samples(Connection& c, std::string_view ci_id, std::int64_t id,
                                               std::int64_t from, std::int64_t to) {
  std::vector<Sample> raw;
  auto st = visit_head(c, ci_id, from, to, nullptr, [&](const HeadRow& row) -> core::Status {
    for (const codec::BatchEntry& e : row.entries) {
      if (e.id != static_cast<std::uint64_t>(id)) continue;
      auto got = decode_entry(row, e);
      if (!got) return std::move(got).error();
      for (const Sample& x : *got)
        if (x.time_ms >= from && x.time_ms < to) raw.push_back(x);
    }
    return {};
  });
  if (!st) return std::move(st).error();
  return merge_samples({}, raw);
}

// Samples of a series with from <= time < to, oldest first, at most `limit`:
// chunks and head merged (run inside one read snapshot).
core::Result<std::vector<Sample>> read_series(Connection& c, std::string_view ci_id, std::int64_t id,
                                              std::int64_t from_ms, std::int64_t to_ms, std::size_t limit) {
  std::vector<Sample> held;
  {
    SURVEYOR_TRY_STMT(s, c,
                      "SELECT block_start, data FROM chunks WHERE series_id = ?1 AND block_start >= ?2 "
                      "AND block_start < ?3 ORDER BY block_start");
    s.bind(1, id).bind(2, first_block_for(from_ms)).bind(3, to_ms);
    int rc = SQLITE_DONE;
    // Chunks come in time order: once `limit` samples are held, later ones cannot make the cut.
    while (held.size() < limit && (rc = s.step()) == SQLITE_ROW) {
      auto d = decode_stored(s.blob(1), id, s.int64(0));
      if (!d) return std::move(d).error();
      for (const Sample& x : *d)
        if (x.time_ms >= from_ms && x.time_ms < to_ms) held.push_back(x);
    }
    if (held.size() < limit && rc != SQLITE_DONE) return c.error(rc, "read chunks");
  }
  auto raw = head_samples(c, ci_id, id, from_ms, to_ms);
  if (!raw) return std::move(raw).error();
  auto out = merge_samples(std::move(held), *raw);
  if (out.size() > limit) out.resize(limit);
  return out;
}

// The newest head sample of each of `wanted` (series of one CI). Rows are
// read newest first by max_ms, and only the wanted series' entries are
// decoded; the scan stops once every wanted series holds a sample no
// older row can beat (a series absent from the head costs a full scan).
core::Result<std::unordered_map<std::int64_t, Sample>> head_newest_of(Connection& c, std::string_view ci_id,
                                                                      const std::vector<std::int64_t>& wanted) {
  std::unordered_map<std::int64_t, Sample> out;
  if (wanted.empty()) return out;
  SURVEYOR_TRY_STMT(s, c, "SELECT id, max_ms, data FROM head_log WHERE ci_id = ?1 ORDER BY max_ms DESC, id");
  s.bind(1, ci_id);
  int rc;
  HeadRow row;
  while ((rc = s.step()) == SQLITE_ROW) {
    const std::int64_t row_max = s.int64(1);
    // Every wanted series has a sample at or after anything this row holds.
    const bool settled = out.size() == wanted.size() &&
                         std::all_of(out.begin(), out.end(), [&](const auto& e) { return e.second.time_ms >= row_max; });
    if (settled) return out;
    row.id = s.int64(0);
    row.data = s.blob(2);
    auto split = codec::split_batch(row.data);
    if (!split) return damaged_row(row.id, split.error());
    for (const codec::BatchEntry& e : *split) {
      const auto id = static_cast<std::int64_t>(e.id);
      if (std::find(wanted.begin(), wanted.end(), id) == wanted.end()) continue;
      auto got = decode_entry(row, e);
      if (!got) return std::move(got).error();
      if (got->empty()) continue;
      auto [it, fresh] = out.try_emplace(id, got->back());
      if (!fresh && got->back().time_ms > it->second.time_ms) it->second = got->back();
    }
  }
  if (rc != SQLITE_DONE) return c.error(rc, "read head");
  return out;
}

// The newest sample of a series from its newest head sample and its newest chunk.
core::Result<std::optional<Sample>> newest_sample(Connection& c, std::int64_t id, std::optional<Sample> head_best) {
  SURVEYOR_TRY_STMT(s, c,
                    "SELECT block_start, data FROM chunks WHERE series_id = ?1 ORDER BY block_start DESC LIMIT 1");
  s.bind(1, id);
  const int rc = s.step();
  if (rc == SQLITE_ROW) {
    auto d = decode_stored(s.blob(1), id, s.int64(0));
    if (!d) return std::move(d).error();
    return newest_of(head_best, *d);
  }
  if (rc != SQLITE_DONE) return c.error(rc, "newest chunk");
  return head_best;
}

core::Result<std::int64_t> chunk_end_of(Connection& c, Backend& b, std::int64_t id) {
  if (auto it = b.chunk_end.find(id); it != b.chunk_end.end()) return it->second;
  SURVEYOR_TRY_STMT(s, c, "SELECT MAX(block_start) FROM chunks WHERE series_id = ?1");
  s.bind(1, id);
  if (int rc = s.step(); rc != SQLITE_ROW) return c.error(rc, "newest chunk");
  const std::int64_t end = s.is_null(0) ? kNoChunk : s.int64(0) + kBlockMs;
  b.chunk_end[id] = end;
  return end;
}

// Fills b.head_newest for the series of a CI whose head has not been read
// since the caches were last cleared. A row's newest time stands for each
// series in it: at worst a sample is checked against the head for nothing.
// Damaged rows are passed over here (reads and maintenance report them).
core::Status load_head_newest(Connection& c, Backend& b, const std::string& ci_id) {
  if (b.head_loaded.contains(ci_id)) return {};
  SURVEYOR_TRY_STMT(s, c, "SELECT max_ms, data FROM head_log WHERE ci_id = ?1");
  s.bind(1, ci_id);
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    const std::int64_t newest = s.int64(0);
    const std::string data = s.blob(1);
    auto split = codec::split_batch(data);
    if (!split) continue;
    for (const codec::BatchEntry& e : *split) {
      auto [it, fresh] = b.head_newest.try_emplace(static_cast<std::int64_t>(e.id), newest);
      if (!fresh) it->second = std::max(it->second, newest);
    }
  }
  if (rc != SQLITE_DONE) return c.error(rc, "read head");
  b.head_loaded.insert(ci_id);
  return {};
}

}  // namespace

// The samples of one series of a report not stored yet (sorted; of two
// copies of one time in the report, the first): times after all the series
// holds are new at once; older ones are looked up in the chunk of their
// block and in the head.
// `sorted`: sorted, one sample a time (merge_samples).
core::Result<std::vector<Sample>> fresh_samples(Connection& c, Backend& b, const std::string& ci_id, std::int64_t id,
                                                const std::vector<Sample>& sorted) {
  if (sorted.empty()) return sorted;
  auto end = chunk_end_of(c, b, id);
  if (!end) return std::move(end).error();
  if (auto st = load_head_newest(c, b, ci_id); !st) return std::move(st).error();
  const auto newest_it = b.head_newest.find(id);
  const std::int64_t head_newest = newest_it == b.head_newest.end() ? kNoChunk : newest_it->second;
  if (sorted.front().time_ms >= *end && sorted.front().time_ms > head_newest) return sorted;

  std::vector<Sample> in_head;
  if (sorted.front().time_ms <= head_newest) {
    auto got = head_samples(c, ci_id, id, sorted.front().time_ms, head_newest + 1);
    if (!got) return std::move(got).error();
    in_head = std::move(*got);
  }
  std::vector<Sample> fresh;
  fresh.reserve(sorted.size());
  std::int64_t cached_block = kNoChunk;
  std::vector<Sample> cached;
  for (const Sample& s : sorted) {
    if (s.time_ms < *end) {  // late: the block may be compacted already
      const std::int64_t block = floor_to(s.time_ms, kBlockMs);
      if (block != cached_block) {
        auto chunk = load_chunk(c, id, block);
        // A damaged chunk must not stop ingest: its block takes the sample
        // into the head, and maintain() reports the damage.
        if (!chunk && chunk.error().code != StoreErrc::corrupt) return std::move(chunk).error();
        cached = chunk ? std::move(*chunk) : std::vector<Sample>{};
        cached_block = block;
      }
      if (holds_time(cached, s.time_ms)) continue;
    }
    if (holds_time(in_head, s.time_ms)) continue;
    fresh.push_back(s);
  }
  return fresh;
}

namespace {

// ---- Maintenance of one CI: retention, then compaction of the closed blocks
// of its head, series by series and block by block.

// The samples of one series and block from the head, row by row, oldest row first.
struct RowPart {
  bool rolled_up = false;
  std::vector<Sample> samples;
};

core::Status add_rollups(Connection& c, std::int64_t id, const std::vector<Sample>& fresh) {
  SURVEYOR_TRY_STMT(up, c,
                    "INSERT INTO rollups(series_id, hour_ms, count, sum, min, max) VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
                    "ON CONFLICT(series_id, hour_ms) DO UPDATE SET count = count + excluded.count, "
                    "sum = sum + excluded.sum, min = MIN(min, excluded.min), max = MAX(max, excluded.max)");
  for (const Rollup& r : rollups_of(fresh)) {
    up.bind(1, id).bind(2, r.start_ms).bind(3, r.count).bind(4, r.sum).bind(5, r.min).bind(6, r.max);
    if (int rc = up.step(); rc != SQLITE_DONE) return c.error(rc, "write rollup");
    up.reset();
  }
  return {};
}

// Merges the head's samples of one (series, block) into its chunk and adds
// the rollups of those that were new, row by row. False: the chunk is
// damaged, and nothing was written.
core::Result<bool> compact_block(Connection& c, Backend& b, std::int64_t id, std::int64_t block,
                                 const std::vector<RowPart>& parts, MaintenanceReport& rep) {
  auto held = load_chunk(c, id, block);
  if (!held) {
    if (held.error().code != StoreErrc::corrupt) return std::move(held).error();
    ++rep.damaged;
    rep.damage = held.error().describe();
    return false;
  }
  std::vector<Sample> merged = std::move(*held);
  for (const RowPart& p : parts) {
    std::vector<Sample> fresh;
    for (const Sample& s : p.samples)
      if (!holds_time(merged, s.time_ms)) fresh.push_back(s);
    if (!p.rolled_up)
      if (auto st = add_rollups(c, id, fresh); !st) return std::move(st).error();
    merged = merge_samples(std::move(merged), fresh);
    rep.samples_compacted += p.samples.size();
  }
  {
    SURVEYOR_TRY_STMT(s, c, "INSERT OR REPLACE INTO chunks(series_id, block_start, data) VALUES(?1, ?2, ?3)");
    s.bind(1, id).bind(2, block).bind_blob(3, codec::encode_chunk(merged));
    if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write chunk");
  }
  // A cached end moves; an uncached one is loaded from the table when needed.
  if (auto it = b.chunk_end.find(id); it != b.chunk_end.end()) it->second = std::max(it->second, block + kBlockMs);
  ++rep.blocks_compacted;
  return true;
}

core::Status maintain_ci(Connection& c, Backend& b, const std::string& ci_id, const std::vector<std::int64_t>& ids,
                         const SeriesMaintenance& m, MaintenanceReport& rep) {
  const ExpiryBounds e = expiry_bounds(m);
  auto drop = [&](const char* sql, std::int64_t id, std::int64_t bound, std::size_t& counter) -> core::Status {
    SURVEYOR_TRY_STMT(d, c, sql);
    d.bind(1, id).bind(2, bound);
    if (int rc = d.step(); rc != SQLITE_DONE) return c.error(rc, "expire series data");
    counter += static_cast<std::size_t>(c.changes());
    return {};
  };
  for (std::int64_t id : ids) {
    if (auto st = drop("DELETE FROM chunks WHERE series_id = ?1 AND block_start < ?2", id, e.raw_before,
                       rep.chunks_expired); !st)
      return st;
    if (auto st = drop("DELETE FROM rollups WHERE series_id = ?1 AND hour_ms < ?2", id, e.rollups_before,
                       rep.rollups_expired); !st)
      return st;
  }

  // Head rows with samples in closed blocks or past retention; damaged ones
  // are reported and left as they are.
  const std::int64_t closed_before = floor_to(m.now_ms - m.grace_ms, kBlockMs);
  const std::int64_t bound = std::max(closed_before, e.raw_before);
  std::vector<std::int64_t> taken;
  std::map<std::int64_t, std::map<std::int64_t, std::vector<RowPart>>> closed;  // series -> block -> row parts
  RowSamples kept[2];                                                             // by rolled_up
  auto st = visit_head(c, ci_id, kNoChunk, bound, &rep, [&](const HeadRow& row) -> core::Status {
    std::vector<std::pair<std::int64_t, std::vector<Sample>>> decoded;
    for (const codec::BatchEntry& en : row.entries) {
      auto got = decode_entry(row, en);
      if (!got) {
        ++rep.damaged;
        rep.damage = got.error().describe();
        return {};
      }
      decoded.emplace_back(static_cast<std::int64_t>(en.id), std::move(*got));
    }
    taken.push_back(row.id);
    for (auto& [id, samples] : decoded) {
      std::int64_t part_block = kNoChunk;
      RowPart* part = nullptr;
      for (const Sample& s : samples) {  // sorted: a row's samples of one block are consecutive
        if (s.time_ms < e.raw_before) {
          ++rep.samples_expired;
        } else if (s.time_ms >= closed_before) {
          kept[row.rolled_up ? 1 : 0][id].push_back(s);
        } else {
          const std::int64_t block = floor_to(s.time_ms, kBlockMs);
          if (!part || block != part_block) {
            auto& parts = closed[id][block];
            parts.push_back({row.rolled_up, {}});
            part = &parts.back();
            part_block = block;
          }
          part->samples.push_back(s);
        }
      }
    }
    return {};
  });
  if (!st) return st;
  for (auto& [id, blocks] : closed)
    for (auto& [block, parts] : blocks) {
      auto done = compact_block(c, b, id, block, parts, rep);
      if (!done) return std::move(done).error();
      if (!*done)  // a damaged chunk: its samples stay in the head
        for (RowPart& p : parts) {
          auto& into = kept[p.rolled_up ? 1 : 0][id];
          into.insert(into.end(), p.samples.begin(), p.samples.end());
        }
    }
  {
    SURVEYOR_TRY_STMT(del, c, "DELETE FROM head_log WHERE id = ?1");
    for (std::int64_t row : taken) {
      del.bind(1, row);
      if (int rc = del.step(); rc != SQLITE_DONE) return c.error(rc, "trim head");
      del.reset();
    }
  }
  // What stays in the head goes back as one row (two, if some came from
  // schema 7 with their rollups stored).
  for (int rolled = 0; rolled < 2; ++rolled) {
    for (auto& [id, samples] : kept[rolled]) samples = merge_samples({}, samples);
    if (auto put = insert_head_row(c, ci_id, kept[rolled], rolled == 1); !put) return put;
  }
  return {};
}

}  // namespace

core::Status insert_head_row(Connection& c, std::string_view ci_id, const RowSamples& by_series, bool rolled_up,
                             const std::map<std::int64_t, std::string_view>* encoded) {
  std::string data;
  std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = kNoChunk;
  for (const auto& [id, samples] : by_series) {
    if (samples.empty()) continue;
    const auto series = static_cast<std::uint64_t>(id);
    const std::string_view* made = nullptr;  // the chunk of `samples`, made already
    if (encoded != nullptr)
      if (const auto it = encoded->find(id); it != encoded->end()) made = &it->second;
    if (made != nullptr) codec::append_chunk_to_batch(data, series, *made);
    else codec::append_to_batch(data, series, samples);
    lo = std::min(lo, samples.front().time_ms);
    hi = std::max(hi, samples.back().time_ms);
  }
  if (data.empty()) return {};
  SURVEYOR_TRY_STMT(ins, c, "INSERT INTO head_log(ci_id, min_ms, max_ms, rolled_up, data) VALUES(?1, ?2, ?3, ?4, ?5)");
  ins.bind(1, ci_id).bind(2, lo).bind(3, hi).bind(4, std::int64_t{rolled_up ? 1 : 0}).bind_blob(5, data);
  if (int rc = ins.step(); rc != SQLITE_DONE) return c.error(rc, "write head");
  return {};
}

class SqliteSeriesStore final : public Bound<SeriesStore> {
 public:
  using Bound::Bound;

  core::Result<std::vector<SeriesInfo>> list_series(std::string_view ci_id) override {
    return b_->pool.with_reader([&](Connection& c) { return list_in(c, ci_id); });
  }

  core::Result<std::vector<Sample>> read_samples(const SeriesKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms, std::size_t limit) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<Sample>> {
      auto snap = ReadSnapshot::begin(c);
      if (!snap) return std::move(snap).error();
      auto id = find_series_id(c, key);
      if (!id) return std::move(id).error();
      if (!*id || from_ms >= to_ms || limit == 0) return std::vector<Sample>{};
      return read_series(c, key.ci_id, **id, from_ms, to_ms, limit);
    });
  }

  core::Result<std::vector<LatestSample>> latest_samples(std::string_view ci_id, std::string_view metric) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<LatestSample>> {
      auto snap = ReadSnapshot::begin(c);
      if (!snap) return std::move(snap).error();
      // The CI's series (of the metric, when one is asked for) with their ids, in one read.
      auto picked = series_ids_in(c, ci_id, metric);
      if (!picked) return std::move(picked).error();
      std::vector<std::int64_t> ids;
      for (const auto& [info, id] : *picked) ids.push_back(id);
      auto in_head = head_newest_of(c, ci_id, ids);
      if (!in_head) return std::move(in_head).error();
      std::vector<LatestSample> out;
      for (const auto& [info, id] : *picked) {
        std::optional<Sample> head_best;
        if (auto it = in_head->find(id); it != in_head->end()) head_best = it->second;
        auto newest = newest_sample(c, id, head_best);
        if (!newest) return std::move(newest).error();
        if (*newest) out.push_back(LatestSample{info, **newest});
      }
      return out;
    });
  }

  // The stored rollups (of compacted samples) with those of the head's rows
  // folded in, row by row, oldest first.
  core::Result<std::vector<Rollup>> read_rollups(const SeriesKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<Rollup>> {
      auto snap = ReadSnapshot::begin(c);
      if (!snap) return std::move(snap).error();
      auto id = find_series_id(c, key);
      if (!id) return std::move(id).error();
      if (!*id || from_ms >= to_ms) return std::vector<Rollup>{};
      std::map<std::int64_t, Rollup> hours;
      {
        SURVEYOR_TRY_STMT(s, c,
                          "SELECT hour_ms, count, sum, min, max FROM rollups WHERE series_id = ?1 "
                          "AND hour_ms >= ?2 AND hour_ms < ?3 ORDER BY hour_ms");
        s.bind(1, **id).bind(2, from_ms).bind(3, to_ms);
        int rc;
        while ((rc = s.step()) == SQLITE_ROW)
          hours[s.int64(0)] = Rollup{s.int64(0), s.int64(1), s.real(2), s.real(3), s.real(4)};
        if (rc != SQLITE_DONE) return c.error(rc, "read rollups");
      }
      // A sample counts in the hour it falls in: it may lie up to an hour past to_ms.
      const std::int64_t head_to = to_ms > std::numeric_limits<std::int64_t>::max() - kRollupMs
                                       ? std::numeric_limits<std::int64_t>::max()
                                       : to_ms + kRollupMs;
      auto st = visit_head(c, key.ci_id, from_ms, head_to, nullptr, [&](const HeadRow& row) -> core::Status {
        if (row.rolled_up) return {};
        for (const codec::BatchEntry& e : row.entries) {
          if (e.id != static_cast<std::uint64_t>(**id)) continue;
          auto got = decode_entry(row, e);
          if (!got) return std::move(got).error();
          std::vector<Sample> in_range;
          for (const Sample& x : *got)
            if (const std::int64_t h = floor_to(x.time_ms, kRollupMs); h >= from_ms && h < to_ms) in_range.push_back(x);
          for (const Rollup& r : rollups_of(in_range)) {
            auto [it, fresh] = hours.try_emplace(r.start_ms, r);
            if (!fresh) fold_rollup(it->second, r);
          }
        }
        return {};
      });
      if (!st) return std::move(st).error();
      std::vector<Rollup> out;
      out.reserve(hours.size());
      for (auto& [hour, r] : hours) out.push_back(r);
      return out;
    });
  }

  core::Result<MaintenanceReport> maintain(const SeriesMaintenance& m) override {
    MaintenanceReport rep;
    const std::size_t per_step = std::max<std::size_t>(1, m.series_per_step);
    while (rep.series_visited < m.max_series) {
      // One short write transaction per step (whole CIs, about per_step
      // series): ingest waits for one step at most.
      auto done = b_->write([&](Connection& c) {
        const std::string cursor = b_->maintain_cursor;  // where the step starts, should it be rolled back
        // The step rolled back: forget what was cached of it, under the
        // writer lock that guards the caches (the report writer reads them
        // under it too), and walk its CIs again next time.
        const auto forget = [&] {
          b_->clear_caches();
          b_->maintain_cursor = cursor;
        };
        core::Result<bool> step = false;
        try {
          step = in_transaction<bool>(c, [&]() -> core::Result<bool> {
            std::size_t in_step = 0;
            while (in_step < per_step) {
              std::string ci;
              {
                SURVEYOR_TRY_STMT(s, c, "SELECT ci_id FROM series WHERE ci_id > ?1 ORDER BY ci_id LIMIT 1");
                s.bind(1, b_->maintain_cursor);
                const int rc = s.step();
                if (rc == SQLITE_DONE) return true;  // the walk came round
                if (rc != SQLITE_ROW) return c.error(rc, "list series");
                ci = s.text(0);
              }
              std::vector<std::int64_t> ids;
              {
                SURVEYOR_TRY_STMT(s, c, "SELECT id FROM series WHERE ci_id = ?1 ORDER BY id");
                s.bind(1, ci);
                int rc;
                while ((rc = s.step()) == SQLITE_ROW) ids.push_back(s.int64(0));
                if (rc != SQLITE_DONE) return c.error(rc, "list series");
              }
              if (auto st = maintain_ci(c, *b_, ci, ids, m, rep); !st) return std::move(st).error();
              rep.series_visited += ids.size();
              in_step += ids.size();
              b_->maintain_cursor = std::move(ci);
            }
            return false;
          });
        } catch (...) {  // rolled back (in_transaction)
          forget();
          throw;
        }
        if (!step) forget();
        return step;
      });
      if (!done) return std::move(done).error();
      if (*done) {
        b_->maintain_cursor.clear();
        return rep;
      }
    }
    rep.more = true;
    return rep;
  }

 private:
  // The series of a CI with their ids, of `metric` only unless it is empty,
  // in list_in's order.
  static core::Result<std::vector<std::pair<SeriesInfo, std::int64_t>>> series_ids_in(Connection& c,
                                                                                       std::string_view ci_id,
                                                                                       std::string_view metric) {
    SURVEYOR_TRY_STMT(s, c,
                      metric.empty() ? "SELECT metric, attributes, unit, id FROM series WHERE ci_id = ?1 "
                                       "ORDER BY metric, attributes"
                                     : "SELECT metric, attributes, unit, id FROM series WHERE ci_id = ?1 AND metric = ?2 "
                                       "ORDER BY metric, attributes");
    s.bind(1, ci_id);
    if (!metric.empty()) s.bind(2, metric);
    std::vector<std::pair<SeriesInfo, std::int64_t>> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      auto labels = labels_from_json(s.text(1));
      if (!labels) return std::move(labels).error();
      out.emplace_back(SeriesInfo{SeriesKey{std::string(ci_id), s.text(0), std::move(*labels)}, s.text(2)}, s.int64(3));
    }
    if (rc != SQLITE_DONE) return c.error(rc, "list series");
    return out;
  }

  static core::Result<std::vector<SeriesInfo>> list_in(Connection& c, std::string_view ci_id) {
    auto with_ids = series_ids_in(c, ci_id, {});
    if (!with_ids) return std::move(with_ids).error();
    std::vector<SeriesInfo> out;
    out.reserve(with_ids->size());
    for (auto& [info, id] : *with_ids) out.push_back(std::move(info));
    return out;
  }
};

std::shared_ptr<store::SeriesStore> make_series_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteSeriesStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
