// SPDX-License-Identifier: Apache-2.0
// Capacity series: keys, samples, blocks and rollups, maintenance, and their store.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/codec/chunk.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

using Labels = std::vector<std::pair<std::string, std::string>>;  // sorted by key

// A series is a CI, a metric and attributes.
struct SeriesKey {
  std::string ci_id;
  std::string metric;
  Labels attributes;
  friend bool operator==(const SeriesKey&, const SeriesKey&) = default;
  friend auto operator<=>(const SeriesKey&, const SeriesKey&) = default;
};

// The attributes as a JSON object text with sorted keys: the identity stored
// alongside the metric.
[[nodiscard]] std::string labels_to_json(const Labels& l);
[[nodiscard]] core::Result<Labels> labels_from_json(std::string_view text);

struct SeriesInfo {
  SeriesKey key;
  std::string unit;
  friend bool operator==(const SeriesInfo&, const SeriesInfo&) = default;
};

// A sample is the codec's: a time and a value, stored bit for bit.
using Sample = codec::Sample;

// How series are laid out in every store. Samples arrive into a raw head;
// once a block (kBlockMs, aligned to the epoch) has been closed for a grace
// period, its samples are compacted into one chunk (codec::encode_chunk).
// Hourly rollups are kept beside, built as samples arrive.
inline constexpr std::int64_t kBlockMs = 4 * 3'600'000;
inline constexpr std::int64_t kRollupMs = 3'600'000;

// The start of the step-long interval holding t (floor division, also for t < 0).
[[nodiscard]] constexpr std::int64_t floor_to(std::int64_t t, std::int64_t step) {
  const std::int64_t q = t / step;
  return (q * step > t ? q - 1 : q) * step;
}

// One hour of a series: count, sum, min and max of its non-NaN values (the
// codec's, which stores a day of them in a block).
using Rollup = codec::Rollup;

// Rollups of `samples` (in their order; NaN skipped), one per hour that has a
// value, oldest first.
[[nodiscard]] std::vector<Rollup> rollups_of(std::span<const Sample> samples);
// `add` folded into `into` (same hour): counts and sums add, extremes widen.
void fold_rollup(Rollup& into, const Rollup& add);

// `held` (sorted, unique times) with the samples of `extra` at times not in
// `held`; sorted, unique. A stored value is never replaced by a late copy.
[[nodiscard]] std::vector<Sample> merge_samples(std::vector<Sample> held, std::span<const Sample> extra);

// What SeriesStore::maintain does, as of now_ms.
struct SeriesMaintenance {
  std::int64_t now_ms = 0;
  // A block is compacted once it ended this long ago (late samples after
  // that still land, in the head, and are merged by a later pass).
  std::int64_t grace_ms = 3'600'000;
  std::int64_t raw_retention_ms = 14 * 86'400'000LL;
  std::int64_t rollup_retention_ms = 730 * 86'400'000LL;
  // Work per call; the rest is left for the next call (`more`).
  std::size_t max_series = 2000;
  // Work per transaction, so ingest waits for at most one small step.
  std::size_t series_per_step = 32;
};

// What retention removes: raw data (chunks and head) in whole blocks before
// raw_before, rollups before rollups_before.
struct ExpiryBounds {
  std::int64_t raw_before = 0;
  std::int64_t rollups_before = 0;
};
[[nodiscard]] ExpiryBounds expiry_bounds(const SeriesMaintenance& m);

struct MaintenanceReport {
  std::size_t series_visited = 0;
  std::size_t blocks_compacted = 0;
  std::size_t samples_compacted = 0;
  std::size_t chunks_expired = 0;
  std::size_t samples_expired = 0;
  std::size_t rollups_expired = 0;
  // Resolved capacity events deleted (kept as long as the rollups they
  // were raised from); filled in by the housekeeper, not by maintain().
  std::size_t events_expired = 0;
  // Series whose stored chunk could not be read: left as they are (their
  // head keeps growing) and reported, never rewritten.
  std::size_t damaged = 0;
  std::string damage;  // the last such error
  bool more = false;  // the pass over all series is not finished
};

// A series' newest sample from the newest head entry and the samples of its
// newest chunk (a late sample can leave the head older than the chunk).
[[nodiscard]] std::optional<Sample> newest_of(std::optional<Sample> head_newest, std::span<const Sample> newest_chunk);

struct LatestSample {
  SeriesInfo series;
  Sample sample;
};

class SeriesStore {
 public:
  virtual ~SeriesStore() = default;
  // The series recorded for a CI, ordered by metric then attributes.
  virtual core::Result<std::vector<SeriesInfo>> list_series(std::string_view ci_id) = 0;
  // Samples with from_ms <= time < to_ms, oldest first, at most `limit`.
  virtual core::Result<std::vector<Sample>> read_samples(const SeriesKey& key, std::int64_t from_ms,
                                                         std::int64_t to_ms, std::size_t limit) = 0;
  // The newest sample of each series of a CI (only of `metric`, if given),
  // in list_series order.
  virtual core::Result<std::vector<LatestSample>> latest_samples(std::string_view ci_id,
                                                                 std::string_view metric = {}) = 0;
  // The same for several CIs, in their order (Redis answers in two round
  // trips for all of them).
  virtual core::Result<std::vector<std::vector<LatestSample>>> latest_samples_of(const std::vector<std::string>& ci_ids,
                                                                                std::string_view metric) {
    std::vector<std::vector<LatestSample>> out;
    out.reserve(ci_ids.size());
    for (const std::string& id : ci_ids) {
      auto one = latest_samples(id, metric);
      if (!one) return std::move(one).error();
      out.push_back(std::move(*one));
    }
    return out;
  }
  // Hourly rollups with from_ms <= start < to_ms, oldest first.
  virtual core::Result<std::vector<Rollup>> read_rollups(const SeriesKey& key, std::int64_t from_ms,
                                                         std::int64_t to_ms) = 0;
  // One slice of housekeeping: compacts closed blocks of the raw head into
  // chunks (merging late samples into chunks already written) and drops what
  // is past retention, in short transactions. Successive calls walk all
  // series in turn; `more` says the walk has not come round yet.
  virtual core::Result<MaintenanceReport> maintain(const SeriesMaintenance& m) = 0;
};

}  // namespace surveyor::collector::store
