// SPDX-License-Identifier: Apache-2.0
// Capacity series on SQLite: the raw head, compressed chunks, hourly rollups, maintenance.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

namespace {

std::string series_identity(const SeriesKey& k, const std::string& attrs_json) {
  return k.ci_id + '\x1f' + k.metric + '\x1f' + attrs_json;
}

constexpr std::int64_t kNoChunk = std::numeric_limits<std::int64_t>::min();

// The lowest block start whose block can hold times >= from_ms.
std::int64_t first_block_for(std::int64_t from_ms) {
  return from_ms <= kNoChunk + kBlockMs ? kNoChunk : floor_to(from_ms, kBlockMs);
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

// Samples of a series with from <= time < to, oldest first, at most `limit`:
// chunks and head merged (run inside one read snapshot).
core::Result<std::vector<Sample>> read_series(Connection& c, std::int64_t id, std::int64_t from_ms,
                                              std::int64_t to_ms, std::size_t limit) {
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
  std::vector<Sample> raw;
  {
    SURVEYOR_TRY_STMT(s, c,
                      "SELECT time_ms, bits FROM head WHERE series_id = ?1 AND time_ms >= ?2 "
                      "AND time_ms < ?3 ORDER BY time_ms LIMIT ?4");
    s.bind(1, id).bind(2, from_ms).bind(3, to_ms).bind(4, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) raw.push_back({s.int64(0), from_bits(s.int64(1))});
    if (rc != SQLITE_DONE) return c.error(rc, "read samples");
  }
  auto out = merge_samples(std::move(held), raw);
  if (out.size() > limit) out.resize(limit);
  return out;
}

// The newest sample of a series, head or chunks, if any.
core::Result<std::optional<Sample>> newest_sample(Connection& c, std::int64_t id) {
  std::optional<Sample> best;
  {
    SURVEYOR_TRY_STMT(s, c, "SELECT time_ms, bits FROM head WHERE series_id = ?1 ORDER BY time_ms DESC LIMIT 1");
    s.bind(1, id);
    const int rc = s.step();
    if (rc == SQLITE_ROW) best = Sample{s.int64(0), from_bits(s.int64(1))};
    else if (rc != SQLITE_DONE) return c.error(rc, "newest sample");
  }
  SURVEYOR_TRY_STMT(s, c,
                    "SELECT block_start, data FROM chunks WHERE series_id = ?1 ORDER BY block_start DESC LIMIT 1");
  s.bind(1, id);
  const int rc = s.step();
  if (rc == SQLITE_ROW) {
    auto d = decode_stored(s.blob(1), id, s.int64(0));
    if (!d) return std::move(d).error();
    best = newest_of(best, *d);
  } else if (rc != SQLITE_DONE) {
    return c.error(rc, "newest chunk");
  }
  return best;
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

// Appends the samples of one series inside the report's transaction: new
// times only (head and chunks both checked), and their rollups.

// Retention, then compaction of every closed block of one series' head.
core::Status maintain_series(Connection& c, Backend& b, std::int64_t id, const SeriesMaintenance& m,
                             MaintenanceReport& rep) {
  const ExpiryBounds e = expiry_bounds(m);
  auto drop = [&](const char* sql, std::int64_t bound, std::size_t& counter) -> core::Status {
    SURVEYOR_TRY_STMT(d, c, sql);
    d.bind(1, id).bind(2, bound);
    if (int rc = d.step(); rc != SQLITE_DONE) return c.error(rc, "expire series data");
    counter += static_cast<std::size_t>(c.changes());
    return {};
  };
  if (auto st = drop("DELETE FROM chunks WHERE series_id = ?1 AND block_start < ?2", e.raw_before,
                     rep.chunks_expired); !st)
    return st;
  if (auto st = drop("DELETE FROM head WHERE series_id = ?1 AND time_ms < ?2", e.raw_before,
                     rep.samples_expired); !st)
    return st;
  if (auto st = drop("DELETE FROM rollups WHERE series_id = ?1 AND hour_ms < ?2", e.rollups_before,
                     rep.rollups_expired); !st)
    return st;

  const std::int64_t closed_before = floor_to(m.now_ms - m.grace_ms, kBlockMs);
  for (;;) {
    std::int64_t block;
    {
      SURVEYOR_TRY_STMT(s, c, "SELECT MIN(time_ms) FROM head WHERE series_id = ?1");
      s.bind(1, id);
      if (int rc = s.step(); rc != SQLITE_ROW) return c.error(rc, "oldest sample");
      if (s.is_null(0) || s.int64(0) >= closed_before) return {};
      block = floor_to(s.int64(0), kBlockMs);
    }
    std::vector<Sample> raw;
    {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT time_ms, bits FROM head WHERE series_id = ?1 AND time_ms >= ?2 "
                        "AND time_ms < ?3 ORDER BY time_ms");
      s.bind(1, id).bind(2, block).bind(3, block + kBlockMs);
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) raw.push_back({s.int64(0), from_bits(s.int64(1))});
      if (rc != SQLITE_DONE) return c.error(rc, "read head");
    }
    auto held = load_chunk(c, id, block);
    if (!held) return std::move(held).error();
    const std::vector<Sample> merged = merge_samples(std::move(*held), raw);
    {
      SURVEYOR_TRY_STMT(s, c, "INSERT OR REPLACE INTO chunks(series_id, block_start, data) VALUES(?1, ?2, ?3)");
      s.bind(1, id).bind(2, block).bind_blob(3, codec::encode_chunk(merged));
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "write chunk");
    }
    {
      SURVEYOR_TRY_STMT(s, c, "DELETE FROM head WHERE series_id = ?1 AND time_ms >= ?2 AND time_ms < ?3");
      s.bind(1, id).bind(2, block).bind(3, block + kBlockMs);
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "trim head");
    }
    // A cached end moves; an uncached one is loaded from the table when needed.
    if (auto it = b.chunk_end.find(id); it != b.chunk_end.end()) it->second = std::max(it->second, block + kBlockMs);
    ++rep.blocks_compacted;
    rep.samples_compacted += raw.size();
  }
}

}  // namespace

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
      return read_series(c, **id, from_ms, to_ms, limit);
    });
  }

  core::Result<std::vector<LatestSample>> latest_samples(std::string_view ci_id, std::string_view metric) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<LatestSample>> {
      auto snap = ReadSnapshot::begin(c);
      if (!snap) return std::move(snap).error();
      auto series = list_in(c, ci_id);
      if (!series) return std::move(series).error();
      std::vector<LatestSample> out;
      for (const SeriesInfo& info : *series) {
        if (!metric.empty() && info.key.metric != metric) continue;
        auto id = find_series_id(c, info.key);
        if (!id) return std::move(id).error();
        if (!*id) continue;
        auto newest = newest_sample(c, **id);
        if (!newest) return std::move(newest).error();
        if (*newest) out.push_back(LatestSample{info, **newest});
      }
      return out;
    });
  }

  core::Result<std::vector<Rollup>> read_rollups(const SeriesKey& key, std::int64_t from_ms,
                                                 std::int64_t to_ms) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::vector<Rollup>> {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT r.hour_ms, r.count, r.sum, r.min, r.max FROM series s JOIN rollups r "
                        "ON r.series_id = s.id WHERE s.ci_id = ?1 AND s.metric = ?2 AND s.attributes = ?3 "
                        "AND r.hour_ms >= ?4 AND r.hour_ms < ?5 ORDER BY r.hour_ms");
      s.bind(1, key.ci_id).bind(2, key.metric).bind(3, labels_to_json(key.attributes));
      s.bind(4, from_ms).bind(5, to_ms);
      std::vector<Rollup> out;
      int rc;
      while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.int64(0), s.int64(1), s.real(2), s.real(3), s.real(4)});
      if (rc != SQLITE_DONE) return c.error(rc, "read rollups");
      return out;
    });
  }

  core::Result<MaintenanceReport> maintain(const SeriesMaintenance& m) override {
    MaintenanceReport rep;
    const std::size_t per_step = std::max<std::size_t>(1, m.series_per_step);
    while (rep.series_visited < m.max_series) {
      // One short write transaction per step: ingest waits for one step at most.
      auto done = b_->pool.with_writer([&](Connection& c) {
        return in_transaction<bool>(c, [&]() -> core::Result<bool> {
          std::vector<std::int64_t> ids;
          {
            SURVEYOR_TRY_STMT(s, c, "SELECT id FROM series WHERE id > ?1 ORDER BY id LIMIT ?2");
            s.bind(1, b_->maintain_cursor).bind(2, static_cast<std::int64_t>(per_step));
            int rc;
            while ((rc = s.step()) == SQLITE_ROW) ids.push_back(s.int64(0));
            if (rc != SQLITE_DONE) return c.error(rc, "list series");
          }
          for (std::int64_t id : ids) {
            // A chunk that cannot be read fails before anything of its block is written.
            if (auto st = maintain_series(c, *b_, id, m, rep); !st) {
              if (st.error().code != StoreErrc::corrupt) return std::move(st).error();
              ++rep.damaged;
              rep.damage = st.error().describe();
            }
          }
          rep.series_visited += ids.size();
          b_->maintain_cursor = ids.empty() ? 0 : ids.back();
          return ids.size() < per_step;  // the walk came round
        });
      });
      if (!done) {
        b_->chunk_end.clear();  // the step was rolled back
        return std::move(done).error();
      }
      if (*done) {
        b_->maintain_cursor = 0;
        return rep;
      }
    }
    rep.more = true;
    return rep;
  }

 private:
  static core::Result<std::vector<SeriesInfo>> list_in(Connection& c, std::string_view ci_id) {
    SURVEYOR_TRY_STMT(s, c, "SELECT metric, attributes, unit FROM series WHERE ci_id = ?1 ORDER BY metric, attributes");
    s.bind(1, ci_id);
    std::vector<SeriesInfo> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      auto labels = labels_from_json(s.text(1));
      if (!labels) return std::move(labels).error();
      out.push_back(SeriesInfo{SeriesKey{std::string(ci_id), s.text(0), std::move(*labels)}, s.text(2)});
    }
    if (rc != SQLITE_DONE) return c.error(rc, "list series");
    return out;
  }
};

core::Result<std::int64_t> series_id_for(Connection& c, Backend& b, const SeriesInfo& info) {
  const std::string attrs = labels_to_json(info.key.attributes);
  const std::string identity = series_identity(info.key, attrs);
  // A known series with an unchanged unit needs no write.
  if (auto it = b.series_ids.find(identity); it != b.series_ids.end() && it->second.second == info.unit)
    return it->second.first;
  {
    SURVEYOR_TRY_STMT(ins, c,
                      "INSERT INTO series(ci_id, metric, attributes, unit) VALUES(?1, ?2, ?3, ?4) "
                      "ON CONFLICT(ci_id, metric, attributes) DO UPDATE SET unit = ?4");
    ins.bind(1, info.key.ci_id).bind(2, info.key.metric).bind(3, attrs).bind(4, info.unit);
    if (int rc = ins.step(); rc != SQLITE_DONE) return c.error(rc, "write series");
  }
  SURVEYOR_TRY_STMT(sel, c, "SELECT id FROM series WHERE ci_id = ?1 AND metric = ?2 AND attributes = ?3");
  sel.bind(1, info.key.ci_id).bind(2, info.key.metric).bind(3, attrs);
  if (int rc = sel.step(); rc != SQLITE_ROW) return c.error(rc, "read series id");
  const std::int64_t id = sel.int64(0);
  b.series_ids[identity] = {id, info.unit};
  return id;
}

// Appends the samples of one series inside the report's transaction: new
// times only (head and chunks both checked), and their rollups.
core::Status append_samples(Connection& c, Backend& b, std::int64_t id, const std::vector<Sample>& samples) {
  auto end = chunk_end_of(c, b, id);
  if (!end) return std::move(end).error();
  std::vector<Sample> fresh;
  fresh.reserve(samples.size());
  std::int64_t cached_block = kNoChunk;
  std::vector<Sample> cached;
  SURVEYOR_TRY_STMT(ins, c, "INSERT OR IGNORE INTO head(series_id, time_ms, bits) VALUES(?1, ?2, ?3)");
  for (const Sample& s : samples) {
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
      if (std::binary_search(cached.begin(), cached.end(), s,
                             [](const Sample& x, const Sample& y) { return x.time_ms < y.time_ms; }))
        continue;
    }
    ins.bind(1, id).bind(2, s.time_ms).bind(3, to_bits(s.value));
    if (int rc = ins.step(); rc != SQLITE_DONE) return c.error(rc, "write sample");
    if (c.changes() == 1) fresh.push_back(s);
    ins.reset();
  }
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

std::shared_ptr<store::SeriesStore> make_series_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteSeriesStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
