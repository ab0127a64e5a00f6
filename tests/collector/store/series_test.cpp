// SPDX-License-Identifier: Apache-2.0
// The series store on both backends: exact values and half-open ranges, the
// newest sample per series, compaction of the raw head into chunks,
// late and duplicate samples, hourly rollups against an independent
// computation, retention, and the walk over all series in slices.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <thread>
#include <atomic>

#include "store/series_fixture.hpp"
#include "surveyor/codec/chunk.hpp"
#include "surveyor/collector/store/denominators.hpp"

namespace surveyor::collector::store {
namespace {

TYPED_TEST_SUITE(SeriesStoreTest, Backends, BackendNames);

TYPED_TEST(SeriesStoreTest, CompactedBlocksReadBackExactly) {
  // Ten hours every 10 s, with jitter, gaps and awkward values.
  std::vector<Sample> in;
  std::mt19937_64 rng(7);
  for (std::int64_t t = kT0; t < kT0 + 10 * kHour; t += 10'000) {
    if (rng() % 50 == 0) continue;  // a missed sample
    const std::int64_t at = t + static_cast<std::int64_t>(rng() % 3);
    double v = 40 + 10 * std::sin(static_cast<double>(t) / 1e6) + static_cast<double>(rng() % 1000) / 7.0;
    switch (in.size() % 997) {
      case 10: v = kNaN; break;
      case 20: v = -0.0; break;
      case 30: v = kInf; break;
      case 40: v = -kInf; break;
      case 50: v = 1e300; break;
      case 51: v = 5e-324; break;
      default: break;
    }
    in.push_back({at, v});
  }
  const std::size_t third = in.size() / 3;
  this->put(this->key(), {in.begin(), in.begin() + static_cast<std::ptrdiff_t>(third)});
  this->put(this->key(), {in.begin() + static_cast<std::ptrdiff_t>(third), in.end()});

  // Closed: blocks that ended an hour (the grace) before now.
  const MaintenanceReport rep = this->maintain(kT0 + 10 * kHour);
  EXPECT_EQ(rep.blocks_compacted, 2u);
  const auto in_first_two = static_cast<std::size_t>(
      std::count_if(in.begin(), in.end(), [](const Sample& s) { return s.time_ms < kT0 + 2 * kBlockMs; }));
  EXPECT_EQ(rep.samples_compacted, in_first_two);
  EXPECT_FALSE(rep.more);
  EXPECT_EQ(rep.damaged, 0u);

  EXPECT_TRUE(same_samples(in, this->read(this->key())));
  // A window across a chunk boundary and into the head.
  const std::int64_t from = kT0 + 3 * kHour + 123, to = kT0 + 9 * kHour;
  std::vector<Sample> want;
  for (const Sample& s : in)
    if (s.time_ms >= from && s.time_ms < to) want.push_back(s);
  EXPECT_TRUE(same_samples(want, this->read(this->key(), from, to)));
  // The limit keeps the oldest.
  EXPECT_TRUE(same_samples({in.begin(), in.begin() + 100}, this->read(this->key(), INT64_MIN, INT64_MAX, 100)));

  // Nothing left to do; then, later, the third block closes too.
  EXPECT_EQ(this->maintain(kT0 + 10 * kHour).blocks_compacted, 0u);
  EXPECT_EQ(this->maintain(kT0 + 14 * kHour).blocks_compacted, 1u);
  EXPECT_TRUE(same_samples(in, this->read(this->key())));
  auto latest = this->stores.series->latest_samples("ci-1");
  ASSERT_TRUE(latest);
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_TRUE(same(latest->front().sample, in.back())) << "the newest sample comes from a chunk";
}

// used / total ratios, as the agent reports them, report after report: the
// total is searched for once and then hinted (codec/chunk.hpp); when it
// changes (a resized filesystem) the stale hint fails its check and the
// search finds the new one. Every value reads back to the bit, before and
// after compaction.
TYPED_TEST(SeriesStoreTest, RatiosOfALargeTotalReadBackExactlyReportAfterReport) {
  std::vector<Sample> in;
  std::mt19937_64 rng(11);
  double blocks = 1'000'000'007.0;
  for (int report = 0; report < 24; ++report) {
    if (report == 12) blocks = 999'999'937.0;
    std::vector<Sample> part;
    for (int i = 0; i < 6; ++i) {
      const std::int64_t t = kT0 + (report * 6 + i) * 10'000;
      part.push_back({t, std::floor(blocks * (0.5 + static_cast<double>(rng() % 1000) / 10'000.0)) / blocks});
    }
    in.insert(in.end(), part.begin(), part.end());
    this->put(this->key("system.filesystem.utilization"), part);
    codec::ChunkInfo info;
    (void)codec::encode_chunk(part, &info);
    ASSERT_TRUE(info.rational && info.search == codec::Search::found) << "report " << report << ": the data must need the search";
  }
  EXPECT_TRUE(same_samples(in, this->read(this->key("system.filesystem.utilization"))));
  EXPECT_EQ(this->maintain(kT0 + 2 * kBlockMs + kHour).blocks_compacted, 1u);
  EXPECT_TRUE(same_samples(in, this->read(this->key("system.filesystem.utilization"))));
}

TYPED_TEST(SeriesStoreTest, LateSamplesLandInPlaceAndDuplicatesAreIgnored) {
  std::vector<Sample> in;
  for (std::int64_t t = kT0; t < kT0 + 5 * kHour; t += kMin)
    if (t < kT0 + kHour || t >= kT0 + kHour + 30 * kMin) in.push_back({t, static_cast<double>(t / kMin % 100)});
  this->put(this->key(), in);
  ASSERT_EQ(this->maintain(kT0 + 6 * kHour).blocks_compacted, 1u);
  const std::vector<Rollup> before = this->rollups(this->key());
  ASSERT_EQ(before.size(), 5u);
  EXPECT_EQ(before[1].count, 30);

  // A spool replay after an outage: old times again with other values (in
  // the compacted block and in the head), and samples that were missing.
  this->put(this->key(), {{kT0 + 10 * kMin, 999.0},
                          {kT0 + kHour + 5 * kMin, 7.5},
                          {kT0 + kHour + 5 * kMin, 8.5},
                          {kT0 + 4 * kHour + 2 * kMin, 999.0},
                          {kT0 + kHour + 6 * kMin, 1000.0}});
  std::vector<Sample> want = in;
  want.push_back({kT0 + kHour + 5 * kMin, 7.5});
  want.push_back({kT0 + kHour + 6 * kMin, 1000.0});
  std::sort(want.begin(), want.end(), [](const Sample& a, const Sample& b) { return a.time_ms < b.time_ms; });
  EXPECT_TRUE(same_samples(want, this->read(this->key())));

  const std::vector<Rollup> after = this->rollups(this->key());
  ASSERT_EQ(after.size(), 5u);
  EXPECT_EQ(after[0], before[0]) << "a duplicate changes no rollup";
  EXPECT_EQ(after[4], before[4]);
  EXPECT_EQ(after[1].count, 32);
  EXPECT_EQ(after[1].sum, before[1].sum + (7.5 + 1000.0));
  EXPECT_EQ(after[1].max, 1000.0);
  EXPECT_EQ(after[1].min, before[1].min);

  // The next pass merges the late samples into the chunk they belong to.
  const MaintenanceReport rep = this->maintain(kT0 + 6 * kHour);
  EXPECT_EQ(rep.blocks_compacted, 1u);
  EXPECT_EQ(rep.samples_compacted, 2u);
  EXPECT_TRUE(same_samples(want, this->read(this->key())));
  // Replayed once more, now that they are in the chunk: still nothing new.
  this->put(this->key(), {{kT0 + kHour + 5 * kMin, 1.0}, {kT0, 1.0}});
  EXPECT_TRUE(same_samples(want, this->read(this->key())));
  EXPECT_EQ(this->rollups(this->key()), after);
  EXPECT_EQ(this->maintain(kT0 + 6 * kHour).blocks_compacted, 0u);
}

TYPED_TEST(SeriesStoreTest, TheLatestSampleIsTheNewestTimeNotTheLastToArrive) {
  const SeriesKey x = this->key("x"), y = this->key("y"), z = this->key("z");
  this->put(x, {{kT0 + 10 * kMin, 1.0}});
  // A later report: y moves on, x gets a late sample, z arrives only late.
  ReportBatch b = report_batch("agt-1", ++this->sequence_, kT0);
  b.series.push_back({SeriesInfo{x, "1"}, {{kT0 + 9 * kMin, 2.0}}});
  b.series.push_back({SeriesInfo{y, "1"}, {{kT0 + 11 * kMin, 3.0}}});
  ASSERT_TRUE(this->stores.reports->apply_report(b));
  this->put(z, {{kT0 + kMin, 4.0}});
  auto latest = this->stores.series->latest_samples("ci-1");
  ASSERT_TRUE(latest) << latest.error().describe();
  ASSERT_EQ(latest->size(), 3u);
  EXPECT_EQ((*latest)[0].series.key, x);
  EXPECT_TRUE(same((*latest)[0].sample, {kT0 + 10 * kMin, 1.0}));
  EXPECT_TRUE(same((*latest)[1].sample, {kT0 + 11 * kMin, 3.0}));
  EXPECT_TRUE(same((*latest)[2].sample, {kT0 + kMin, 4.0}));
  auto only_x = this->stores.series->latest_samples("ci-1", "x");
  ASSERT_TRUE(only_x) << only_x.error().describe();
  ASSERT_EQ(only_x->size(), 1u);
  EXPECT_TRUE(same(only_x->front().sample, {kT0 + 10 * kMin, 1.0}));
}

// A series silent for a while has its newest sample behind many newer
// reports of the CI's other series (and the Redis store behind the head's
// newest entries it reads first).
TYPED_TEST(SeriesStoreTest, TheLatestSampleOfASilentSeriesIsFoundBehindNewerReports) {
  const SeriesKey quiet = this->key("quiet"), busy = this->key("busy");
  for (int i = 0; i < 3; ++i) this->put(quiet, {{kT0 + i * kMin, double(i)}});
  for (int i = 0; i < 12; ++i) this->put(busy, {{kT0 + (10 + i) * kMin, 100.0 + i}});
  this->put(quiet, {{kT0 + 3 * kMin, 3.0}, {kT0 + 4 * kMin, 4.0}});  // late, behind the busy series' entries
  for (int i = 12; i < 20; ++i) this->put(busy, {{kT0 + (10 + i) * kMin, 100.0 + i}});
  for (const std::int64_t now : {std::int64_t{0}, kT0 + kBlockMs + 2 * kHour}) {  // in the head, then compacted
    if (now != 0) this->maintain(now);
    auto latest = this->stores.series->latest_samples("ci-1");
    ASSERT_TRUE(latest) << latest.error().describe();
    ASSERT_EQ(latest->size(), 2u);
    EXPECT_EQ((*latest)[0].series.key, busy);
    EXPECT_TRUE(same((*latest)[0].sample, {kT0 + 29 * kMin, 119.0}));
    EXPECT_EQ((*latest)[1].series.key, quiet);
    EXPECT_TRUE(same((*latest)[1].sample, {kT0 + 4 * kMin, 4.0}));
  }
}

TYPED_TEST(SeriesStoreTest, ASeriesTwiceInOneReportIsOneWithItsFirstCopyWinning) {
  ReportBatch b = report_batch("agt-1", ++this->sequence_, kT0);
  b.series.push_back({SeriesInfo{this->key(), "1"}, {{kT0 + 2 * kMin, 0.1}, {kT0, 0.7}}});
  b.series.push_back({SeriesInfo{this->key(), "1"}, {{kT0, 5.0}, {kT0 + kMin, 0.2}, {kT0 + kHour, 3.0}}});
  auto r = this->stores.reports->apply_report(b);
  ASSERT_TRUE(r) << r.error().describe();
  const std::vector<Sample> want{{kT0, 0.7}, {kT0 + kMin, 0.2}, {kT0 + 2 * kMin, 0.1}, {kT0 + kHour, 3.0}};
  EXPECT_TRUE(same_samples(want, this->read(this->key())));
  // The figures of both copies as one, in time order, as a store adds any report's.
  const std::vector<Rollup> got = this->rollups(this->key());
  const std::vector<Rollup> expected = rollups_of(want);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(got[0].sum), std::bit_cast<std::uint64_t>((0.7 + 0.2) + 0.1));
  auto listed = this->stores.series->list_series("ci-1");
  ASSERT_TRUE(listed) << listed.error().describe();
  EXPECT_EQ(listed->size(), 1u);
}

TYPED_TEST(SeriesStoreTest, RollupsAgreeWithAnIndependentComputation) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> dist(-1e6, 1e6);
  std::vector<Sample> first, second;
  for (std::int64_t t = kT0; t < kT0 + 6 * kHour; t += 15'000) {
    double v = dist(rng);
    if (t % (97 * 15'000) == 0) v = kNaN;
    if (t == kT0 + 3 * kHour) v = kInf;
    if (t == kT0 + 4 * kHour) v = -0.0;
    ((t / 15'000) % 3 == 0 ? second : first).push_back({t, v});
  }
  this->put(this->key(), first);
  this->put(this->key(), second);

  // Per hour: each report's figures in sample order, then the second added
  // to the first -- how a store folds one report into what it holds.
  struct Acc {
    std::int64_t count = 0;
    double sum = 0, min = 0, max = 0;
  };
  auto accumulate = [](const std::vector<Sample>& batch) {
    std::map<std::int64_t, Acc> m;
    for (const Sample& s : batch) {
      if (std::isnan(s.value)) continue;
      Acc& a = m[(s.time_ms - kT0) / kHour * kHour + kT0];
      if (a.count == 0) a.min = a.max = s.value;
      a.min = s.value < a.min ? s.value : a.min;
      a.max = a.max < s.value ? s.value : a.max;
      a.sum = a.count == 0 ? s.value : a.sum + s.value;
      ++a.count;
    }
    return m;
  };
  std::map<std::int64_t, Acc> want = accumulate(first);
  for (const auto& [hour, b] : accumulate(second)) {
    Acc& a = want[hour];
    a.sum += b.sum;
    a.count += b.count;
    a.min = b.min < a.min ? b.min : a.min;
    a.max = a.max < b.max ? b.max : a.max;
  }
  const std::vector<Rollup> got = this->rollups(this->key());
  ASSERT_EQ(got.size(), want.size());
  std::size_t i = 0;
  for (const auto& [hour, a] : want) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].start_ms, hour);
    EXPECT_EQ(got[i].count, a.count);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(got[i].sum), std::bit_cast<std::uint64_t>(a.sum));
    EXPECT_EQ(got[i].min, a.min);
    EXPECT_EQ(got[i].max, a.max);
    ++i;
  }
  EXPECT_EQ(got[3].sum, kInf);
  // A sub-range, half open.
  auto part = this->stores.series->read_rollups(this->key(), kT0 + kHour, kT0 + 3 * kHour);
  ASSERT_TRUE(part);
  ASSERT_EQ(part->size(), 2u);
  EXPECT_EQ((*part)[0], got[1]);
  EXPECT_EQ((*part)[1], got[2]);
  // Compaction leaves rollups alone.
  this->maintain(kT0 + 12 * kHour);
  EXPECT_EQ(this->rollups(this->key()), got);
}

TYPED_TEST(SeriesStoreTest, RetentionDropsRawDataInWholeBlocksAndRollupsLater) {
  std::vector<Sample> in;
  for (std::int64_t t = kT0; t < kT0 + 2 * kBlockMs; t += 5 * kMin) in.push_back({t, 1.0});
  this->put(this->key(), in);
  this->maintain(kT0 + 2 * kBlockMs + 2 * kHour);  // both blocks compacted

  // Raw retention (14 days) has passed for the first block and half the second.
  const MaintenanceReport rep = this->maintain(kT0 + 14 * kDay + kBlockMs + kBlockMs / 2);
  EXPECT_EQ(rep.chunks_expired, 1u);
  const std::vector<Sample> left = this->read(this->key());
  ASSERT_FALSE(left.empty());
  EXPECT_EQ(left.front().time_ms, kT0 + kBlockMs) << "a block goes whole, once all of it is past retention";
  EXPECT_EQ(left.size(), in.size() / 2);
  EXPECT_EQ(this->rollups(this->key()).size(), 8u) << "rollups are kept longer";

  // A late sample older than retention is accepted and expires with the next pass.
  // A day on, the second block has passed retention too.
  this->put(this->key(), {{kT0 + 10 * kMin + 1, 2.0}});
  const MaintenanceReport next = this->maintain(kT0 + 15 * kDay);
  EXPECT_EQ(next.samples_expired, 1u);
  EXPECT_EQ(next.chunks_expired, 1u);
  EXPECT_EQ(next.rollups_expired, 0u);

  // Two years on, rollups go too.
  const MaintenanceReport later = this->maintain(kT0 + 731 * kDay);
  EXPECT_EQ(later.chunks_expired, 0u);
  EXPECT_EQ(later.rollups_expired, 8u);
  EXPECT_TRUE(this->read(this->key()).empty());
  EXPECT_TRUE(this->rollups(this->key()).empty());
  // The series itself stays known, and takes new samples.
  this->put(this->key(), {{kT0 + 731 * kDay, 3.0}});
  EXPECT_EQ(this->read(this->key()).size(), 1u);
}

TYPED_TEST(SeriesStoreTest, MaintenanceWalksEverySeriesInSlices) {
  constexpr int kSeries = 7;
  for (int i = 0; i < kSeries; ++i)
    this->put(this->key("m" + std::to_string(i)), {{kT0 + i, 1.0}, {kT0 + kHour, 2.0}});
  std::size_t compacted = 0;
  int calls = 0;
  MaintenanceReport rep;
  do {
    rep = this->maintain(kT0 + kBlockMs + 2 * kHour, 3, 2);
    compacted += rep.blocks_compacted;
  } while (rep.more && ++calls < 10);
  EXPECT_FALSE(rep.more);
  EXPECT_EQ(compacted, static_cast<std::size_t>(kSeries));
  for (int i = 0; i < kSeries; ++i)
    EXPECT_EQ(this->read(this->key("m" + std::to_string(i))).size(), 2u) << i;
}

struct SqliteFile {
  SqliteFile() {
    reopen();
    AgentRecord a = agent_record("agt-1");
    a.ci_id = "ci-1";
    EXPECT_TRUE(s->agents->create_agent(a));
  }
  // A fresh collector's stores on the same file.
  void reopen() {
    auto opened = backends::open_stores("sqlite:" + path);
    ASSERT_TRUE(opened) << opened.error().describe();
    s = std::move(*opened);
  }
  void put(std::uint64_t seq, std::vector<Sample> samples) {
    ReportBatch b;
    b.agent_id = "agt-1";
    b.sequence = seq;
    b.series.push_back({SeriesInfo{k, "1"}, std::move(samples)});
    auto r = s->reports->apply_report(b);
    ASSERT_TRUE(r) << r.error().describe();
  }
  // Damages the file behind the stores' back, as a disk or a person could.
  void damage(const char* sql) const {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  // Reading the series fails as corrupt, naming `what`.
  void read_fails_naming(const std::string& what) const {
    auto r = s->series->read_samples(k, INT64_MIN, INT64_MAX, 100);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, StoreErrc::corrupt);
    EXPECT_NE(r.error().describe().find(what), std::string::npos) << r.error().describe();
  }
  test::TempDir dir;
  const std::string path = dir.file("s.db");
  const SeriesKey k{"ci-1", "m", {}};
  std::optional<Stores> s;
};

TEST(DenominatorHints, KeepWhatTheSearchLearnedAndStayBounded) {
  DenominatorHints hints(3);
  codec::ChunkInfo found;
  found.rational = true;
  found.search = codec::Search::found;
  found.denominator = 1'000'003;
  codec::ChunkInfo hinted = found, not_needed = found, failed, skipped;
  hinted.search = codec::Search::hinted;
  not_needed.search = codec::Search::not_needed;
  not_needed.denominator = 100;
  failed.search = codec::Search::failed;
  skipped.search = codec::Search::skipped;
  EXPECT_EQ(hints.hint(1), 0);
  hints.note(1, found);
  EXPECT_EQ(hints.hint(1), 1'000'003);
  hints.note(1, not_needed);  // a constant stretch says nothing of the D
  EXPECT_EQ(hints.hint(1), 1'000'003);
  hints.note(2, not_needed);
  EXPECT_EQ(hints.hint(2), 0);
  // A failed search is skipped for the next kSkips entries, then run again.
  hints.note(1, failed);
  for (std::int64_t i = 0; i < DenominatorHints::kSkips; ++i) {
    EXPECT_EQ(hints.hint(1), -1) << i;
    hints.note(1, skipped);
  }
  EXPECT_EQ(hints.hint(1), 0);
  hints.note(1, hinted);
  EXPECT_EQ(hints.hint(1), 1'000'003);
  // Bounded: full, it is forgotten whole.
  DenominatorHints few(3);
  for (std::uint64_t id = 10; id < 13; ++id) few.note(id, found);
  EXPECT_EQ(few.size(), 3u);
  few.note(10, found);  // known: kept in place
  EXPECT_EQ(few.size(), 3u);
  few.note(20, found);
  EXPECT_EQ(few.size(), 1u);
  EXPECT_EQ(few.hint(20), 1'000'003);
  EXPECT_EQ(few.hint(10), 0);
}

TEST(SqliteSeriesStore, DamagedChunkIsReportedAndIngestGoesOn) {
  SqliteFile f;
  f.put(1, {{kT0, 1.0}, {kT0 + kMin, 2.0}});
  SeriesMaintenance m;
  m.now_ms = kT0 + kBlockMs + 2 * kHour;
  ASSERT_EQ(f.s->series->maintain(m)->blocks_compacted, 1u);

  f.damage("UPDATE chunks SET data = x'53010203'");
  f.read_fails_naming("chunk");

  f.put(2, {{kT0 + 2 * kMin, 3.0}});  // late, into the damaged block
  auto rep = f.s->series->maintain(m);
  ASSERT_TRUE(rep) << rep.error().describe();
  EXPECT_EQ(rep->damaged, 1u);
  EXPECT_EQ(rep->blocks_compacted, 0u);
  EXPECT_FALSE(rep->damage.empty());
  auto rollups = f.s->series->read_rollups(f.k, INT64_MIN, INT64_MAX);
  ASSERT_TRUE(rollups);
  ASSERT_EQ(rollups->size(), 1u);
  EXPECT_EQ(rollups->front().count, 3);
}

// The series table as schema versions 2 and 3 had it, with series 1.
const std::string kOldSeriesTable =
    "CREATE TABLE series(id INTEGER PRIMARY KEY, ci_id TEXT NOT NULL, metric TEXT NOT NULL, "
    "attributes TEXT NOT NULL, unit TEXT NOT NULL, UNIQUE(ci_id, metric, attributes));"
    "INSERT INTO series VALUES(1, 'ci-1', 'm', '{}', '1');";

// A database at `path` as an old schema version left it: the old series
// table, then `sql`. Open: the caller may add more, then closes it.
sqlite3* old_database(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, (kOldSeriesTable + sql).c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  return db;
}

TEST(SqliteSeriesStore, SchemaTwoSamplesMoveIntoTheHead) {
  test::TempDir dir;
  const std::string path = dir.file("old.db");
  sqlite3_close(old_database(path,
                             "CREATE TABLE samples(series_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, value REAL, "
                             "PRIMARY KEY(series_id, time_ms)) WITHOUT ROWID;"
                             "INSERT INTO samples VALUES(1, 1000, 0.5), (1, 2000, NULL), (1, 3000, 1e308);"
                             "PRAGMA user_version = 2;"));
  auto s = backends::open_stores("sqlite:" + path);
  ASSERT_TRUE(s) << s.error().describe();
  auto got = s->series->read_samples({"ci-1", "m", {}}, 0, 10'000, 10);
  ASSERT_TRUE(got) << got.error().describe();
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].value, 0.5);
  EXPECT_TRUE(std::isnan((*got)[1].value));
  EXPECT_EQ((*got)[2].value, 1e308);
}

TEST(SqliteSeriesStore, SchemaThreeChunksMoveIntoARowidTableAndCisGainProtectedKeys) {
  test::TempDir dir;
  const std::string path = dir.file("old.db");
  const std::vector<Sample> block{{0, 0.25}, {10'000, 0.5}, {20'000, -0.0}};
  const std::string chunk = codec::encode_chunk(block);
  sqlite3* db = old_database(
      path,
      "CREATE TABLE chunks(series_id INTEGER NOT NULL, block_start INTEGER NOT NULL, "
      "data BLOB NOT NULL, PRIMARY KEY(series_id, block_start)) WITHOUT ROWID;"
      "CREATE TABLE cis(id TEXT PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL, "
      "source TEXT NOT NULL, state TEXT NOT NULL, attributes TEXT NOT NULL, "
      "first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
      "INSERT INTO cis VALUES('ci-1', 'host', 'web01', 'agent', 'active', '{\"a\":1}', 1, 2, 1);"
      "PRAGMA user_version = 3;");
  sqlite3_stmt* ins = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO chunks VALUES(1, 0, ?1)", -1, &ins, nullptr), SQLITE_OK);
  sqlite3_bind_blob(ins, 1, chunk.data(), static_cast<int>(chunk.size()), SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
  sqlite3_finalize(ins);
  sqlite3_close(db);

  {
    auto s = backends::open_stores("sqlite:" + path);
    ASSERT_TRUE(s) << s.error().describe();
    auto got = s->series->read_samples({"ci-1", "m", {}}, INT64_MIN, INT64_MAX, 10);
    ASSERT_TRUE(got) << got.error().describe();
    EXPECT_TRUE(same_samples(block, *got));
    // Version 4 CIs gain protected keys (none).
    auto ci = s->cmdb->find_ci("ci-1");
    ASSERT_TRUE(ci && *ci) << (ci ? "" : ci.error().describe());
    EXPECT_EQ((*ci)->name, "web01");
    EXPECT_TRUE((*ci)->protected_keys.empty());
  }

  // The table is now a rowid table, and the version is current.
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_schema WHERE name = 'chunks'", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  const std::string sql = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  EXPECT_EQ(sql.find("WITHOUT ROWID"), std::string::npos) << sql;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 15);
  sqlite3_finalize(q);
  // Version 13's covering index of the sections' digests survived the
  // rebuild of the table, and is what a report's read of them uses.
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "EXPLAIN QUERY PLAN SELECT section, state, reason, digest, '', updated_ms "
                               "FROM inventory_sections WHERE ci_id = 'h' ORDER BY section",
                               -1, &q, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_NE(std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, 3))).find(
                "COVERING INDEX inventory_section_digests"),
            std::string::npos);
  sqlite3_finalize(q);
  // Version 10's index of the audit chains is there, and version 9's table.
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'audit_chain'", -1, &q, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 1);
  sqlite3_finalize(q);
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'hot_spots'", -1, &q, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 1);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

// Version 7 kept the head as a row per sample, with rollups stored as the
// samples came: the head moves into rows per CI, its rollups counted once,
// before and after the block is compacted; inventory sections keep their
// data as the last column.
TEST(SqliteSeriesStore, SchemaSevenHeadMovesIntoRowsWithItsRollupsCountedOnce) {
  test::TempDir dir;
  const std::string path = dir.file("old.db");
  sqlite3* db = old_database(
      path,
      "INSERT INTO series VALUES(2, 'ci-1', 'n', '{}', '1'), (3, 'ci-2', 'm', '{}', '1');"
      "CREATE TABLE head(series_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, bits INTEGER NOT NULL,"
      " PRIMARY KEY(series_id, time_ms)) WITHOUT ROWID;"
      "CREATE TABLE rollups(series_id INTEGER NOT NULL, hour_ms INTEGER NOT NULL, count INTEGER NOT NULL, sum REAL,"
      " min REAL, max REAL, PRIMARY KEY(series_id, hour_ms)) WITHOUT ROWID;"
      "CREATE TABLE inventory_sections(ci_id TEXT NOT NULL, section TEXT NOT NULL, state TEXT NOT NULL,"
      " reason TEXT NOT NULL, digest TEXT NOT NULL, data TEXT NOT NULL, updated_ms INTEGER NOT NULL,"
      " PRIMARY KEY(ci_id, section)) WITHOUT ROWID;"
      "INSERT INTO inventory_sections VALUES('ci-1', 'disks', 'collected', '', 'd1', '[{\"name\":\"sda\"}]', 1234);"
      "PRAGMA user_version = 7;");
  // Series 1 and 2 of ci-1 and series 3 of ci-2, each with its rollups.
  std::map<std::int64_t, std::vector<Sample>> held{
      {1, {{kT0, 1.0}, {kT0 + kMin, 2.0}, {kT0 + kHour, 4.0}}},
      {2, {{kT0 + kMin, 10.0}}},
      {3, {{kT0 + 2 * kMin, -0.0}, {kT0 + 3 * kMin, kNaN}}}};
  sqlite3_stmt* ins = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO head VALUES(?1, ?2, ?3)", -1, &ins, nullptr), SQLITE_OK);
  for (const auto& [id, samples] : held)
    for (const Sample& x : samples) {
      sqlite3_bind_int64(ins, 1, id);
      sqlite3_bind_int64(ins, 2, x.time_ms);
      sqlite3_bind_int64(ins, 3, std::bit_cast<std::int64_t>(x.value));
      ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
      sqlite3_reset(ins);
    }
  sqlite3_finalize(ins);
  ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO rollups VALUES(?1, ?2, ?3, ?4, ?5, ?6)", -1, &ins, nullptr),
            SQLITE_OK);
  for (const auto& [id, samples] : held)
    for (const Rollup& r : rollups_of(samples)) {
      sqlite3_bind_int64(ins, 1, id);
      sqlite3_bind_int64(ins, 2, r.start_ms);
      sqlite3_bind_int64(ins, 3, r.count);
      sqlite3_bind_double(ins, 4, r.sum);
      sqlite3_bind_double(ins, 5, r.min);
      sqlite3_bind_double(ins, 6, r.max);
      ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
      sqlite3_reset(ins);
    }
  sqlite3_finalize(ins);
  sqlite3_close(db);

  auto s = backends::open_stores("sqlite:" + path);
  ASSERT_TRUE(s) << s.error().describe();
  const std::map<std::int64_t, SeriesKey> keys{{1, {"ci-1", "m", {}}}, {2, {"ci-1", "n", {}}}, {3, {"ci-2", "m", {}}}};
  auto check = [&](const char* when) {
    for (const auto& [id, k] : keys) {
      SCOPED_TRACE(std::string(when) + ", series " + std::to_string(id));
      auto got = s->series->read_samples(k, INT64_MIN, INT64_MAX, 100);
      ASSERT_TRUE(got) << got.error().describe();
      EXPECT_TRUE(same_samples(held.at(id), *got));
      auto r = s->series->read_rollups(k, INT64_MIN, INT64_MAX);
      ASSERT_TRUE(r) << r.error().describe();
      EXPECT_EQ(*r, rollups_of(held.at(id)));
    }
  };
  check("moved");
  // The inventory section table was rebuilt with its data last.
  auto inv = s->inventory->get_inventory("ci-1");
  ASSERT_TRUE(inv) << inv.error().describe();
  ASSERT_EQ(inv->size(), 1u);
  EXPECT_EQ(inv->front().name, "disks");
  EXPECT_EQ(inv->front().digest, "d1");
  EXPECT_EQ(inv->front().data_json, "[{\"name\":\"sda\"}]");
  EXPECT_EQ(inv->front().updated_ms, 1234);
  // New samples of series 1 come on top, and count in the rollups once.
  AgentRecord a = agent_record("agt-1");
  a.ci_id = "ci-1";
  ASSERT_TRUE(s->agents->create_agent(a));
  ReportBatch b;
  b.agent_id = "agt-1";
  b.sequence = 1;
  b.series.push_back({SeriesInfo{keys.at(1), "1"}, {{kT0 + kMin, 99.0}, {kT0 + 2 * kHour, 8.0}}});
  ASSERT_TRUE(s->reports->apply_report(b));
  held[1].push_back({kT0 + 2 * kHour, 8.0});
  check("with a new report");
  SeriesMaintenance m;
  m.now_ms = kT0 + kBlockMs + 2 * kHour;
  auto rep = s->series->maintain(m);
  ASSERT_TRUE(rep) << rep.error().describe();
  EXPECT_EQ(rep->blocks_compacted, 3u);
  EXPECT_EQ(rep->samples_compacted, 7u);
  check("compacted");
}

// A head row whose bytes are damaged: reads of its CI say so, ingest goes
// on, and maintenance reports it and leaves it.
TEST(SqliteSeriesStore, DamagedHeadRowIsReportedAndIngestGoesOn) {
  SqliteFile f;
  f.put(1, {{kT0, 1.0}});
  f.damage("UPDATE head_log SET data = x'01ff'");
  f.read_fails_naming("head row");

  // A fresh collector on the same file takes new reports.
  f.reopen();
  f.put(2, {{kT0 + kMin, 2.0}});
  SeriesMaintenance m;
  m.now_ms = kT0 + kBlockMs + 2 * kHour;
  auto rep = f.s->series->maintain(m);
  ASSERT_TRUE(rep) << rep.error().describe();
  EXPECT_EQ(rep->damaged, 1u);
  EXPECT_EQ(rep->blocks_compacted, 1u) << "the good row is compacted";
  EXPECT_NE(rep->damage.find("head row"), std::string::npos) << rep->damage;
}

// Version 6 did not record who made audit entries and change records: the
// rows it left keep no actor, new ones name theirs.
TEST(SqliteSeriesStore, SchemaSixAuditEntriesAndChangeRecordsGainTheirActor) {
  test::TempDir dir;
  const std::string path = dir.file("old.db");
  sqlite3_close(old_database(
      path,
      "CREATE TABLE audit(id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, ci_id TEXT NOT NULL, kind TEXT NOT NULL,"
      " key TEXT NOT NULL, old_value TEXT NOT NULL, new_value TEXT NOT NULL, origin TEXT NOT NULL,"
      " change_id TEXT NOT NULL, unauthorized INTEGER NOT NULL, alert INTEGER NOT NULL);"
      "INSERT INTO audit VALUES(1, 1000, 'app', 'created', 'application', '', '{}', 'api', '', 0, 0);"
      "CREATE TABLE changes(id TEXT PRIMARY KEY, reference TEXT NOT NULL, start_ms INTEGER NOT NULL,"
      " end_ms INTEGER NOT NULL, description TEXT NOT NULL, origin TEXT NOT NULL, created_ms INTEGER NOT NULL);"
      "INSERT INTO changes VALUES('chg-1', 'CHG1', 1, 2, '', 'api', 1);"
      "PRAGMA user_version = 6;"));
  auto s = backends::open_stores("sqlite:" + path);
  ASSERT_TRUE(s) << s.error().describe();
  auto old_change = s->changes->find_change("chg-1");
  ASSERT_TRUE(old_change && *old_change) << (old_change ? "" : old_change.error().describe());
  EXPECT_EQ((*old_change)->actor, "");
  EXPECT_EQ((*old_change)->impact, "") << "no impact analysis was kept before version 12";
  CiUpdate u;
  u.id = "app";
  u.type = "application";
  u.name = "shop";
  u.source = "api";
  u.actor = "carol (10.0.0.7)";
  u.seen_at_ms = 2'000;
  ASSERT_TRUE(s->cmdb->upsert_ci(u));
  auto trail = s->audit->list_audit({.ci_id = "app"});
  ASSERT_TRUE(trail) << trail.error().describe();
  ASSERT_EQ(trail->size(), 2u);
  EXPECT_EQ((*trail)[0].actor, "carol (10.0.0.7)");
  EXPECT_EQ((*trail)[1].actor, "") << "the entry from before the upgrade";
}

SURVEYOR_STORE_SUITE(SampleConformance);

TYPED_TEST(SampleConformance, SamplesKeepExactValuesAndRangeIsHalfOpen) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  const std::vector<Sample> in{{1'000, 0.1},  {2'000, -0.0},   {3'000, kInf}, {4'000, -kInf},
                               {5'000, kNaN}, {6'000, 1e-308}, {7'000, 123456789.123456789}};
  ReportBatch b = report_batch("agt-1", 1, 10'000);
  b.series.push_back({series_info("ci-1", "m"), in});
  ASSERT_TRUE(this->stores.reports->apply_report(b));

  auto all = this->stores.series->read_samples(b.series[0].first.key, 1'000, 8'000, 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ((*all)[i].time_ms, in[i].time_ms);
    if (std::isnan(in[i].value)) EXPECT_TRUE(std::isnan((*all)[i].value));
    else EXPECT_EQ((*all)[i].value, in[i].value) << i;
  }
  auto window = this->stores.series->read_samples(b.series[0].first.key, 2'000, 4'000, 100);
  ASSERT_TRUE(window);
  ASSERT_EQ(window->size(), 2u);
  EXPECT_EQ((*window)[0].time_ms, 2'000);
  EXPECT_EQ((*window)[1].time_ms, 3'000);
  auto limited = this->stores.series->read_samples(b.series[0].first.key, 0, 100'000, 3);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->size(), 3u);

  // A later report repeating a stored time adds nothing, even with another value.
  ReportBatch again = b;
  again.sequence = 2;
  again.series[0].second = {{7'000, 999.0}, {8'000, 2.0}};
  again.series[0].first.unit = "By";
  ASSERT_TRUE(this->stores.reports->apply_report(again));
  auto after = this->stores.series->read_samples(b.series[0].first.key, 0, 100'000, 100);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), in.size() + 1);
  EXPECT_EQ((*after)[6].value, 123456789.123456789) << "the first value at a time stays";
  auto latest = this->stores.series->latest_samples("ci-1");
  ASSERT_TRUE(latest);
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ(latest->front().sample.value, 2.0);
  EXPECT_EQ(latest->front().series.unit, "By") << "a changed unit is stored";
}

TYPED_TEST(SampleConformance, LatestSamplesAreTheNewestPerSeries) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  ReportBatch b = report_batch("agt-1", 1, 10'000);
  b.series.push_back({series_info("ci-1", "b.metric"), {{1'000, 1.0}, {3'000, 3.0}}});
  b.series.push_back({series_info("ci-1", "a.metric", {{"state", "idle"}}), {{2'000, 2.0}}});
  b.series.push_back({series_info("ci-2", "other"), {{9'000, 9.0}}});
  ASSERT_TRUE(this->stores.reports->apply_report(b));
  auto latest = this->stores.series->latest_samples("ci-1");
  ASSERT_TRUE(latest) << latest.error().describe();
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].series.key.metric, "a.metric");
  EXPECT_EQ((*latest)[0].sample.value, 2.0);
  EXPECT_EQ((*latest)[1].series.key.metric, "b.metric");
  EXPECT_EQ((*latest)[1].sample.time_ms, 3'000);
  EXPECT_EQ((*latest)[1].sample.value, 3.0);
  auto only_b = this->stores.series->latest_samples("ci-1", "b.metric");
  ASSERT_TRUE(only_b);
  ASSERT_EQ(only_b->size(), 1u);
  EXPECT_EQ(only_b->front().sample.value, 3.0);
  EXPECT_TRUE(this->stores.series->latest_samples("ci-1", "nope")->empty());
  // Several CIs at once, in their order, as one by one.
  auto many = this->stores.series->latest_samples_of({"ci-2", "nobody", "ci-1"}, "");
  ASSERT_TRUE(many) << many.error().describe();
  ASSERT_EQ(many->size(), 3u);
  ASSERT_EQ((*many)[0].size(), 1u);
  EXPECT_EQ((*many)[0][0].sample.value, 9.0);
  EXPECT_TRUE((*many)[1].empty());
  ASSERT_EQ((*many)[2].size(), 2u);
  EXPECT_EQ((*many)[2][1].sample.value, 3.0);
  auto some = this->stores.series->latest_samples_of({"ci-1", "ci-2"}, "a.metric");
  ASSERT_TRUE(some);
  EXPECT_EQ((*some)[0].size(), 1u);
  EXPECT_TRUE((*some)[1].empty());
  // One metric under two sets of attributes: both, each with its own sample,
  // in the order of their attributes.
  ReportBatch busy = report_batch("agt-1", 2, 20'000);
  busy.series.push_back({series_info("ci-1", "a.metric", {{"state", "busy"}}), {{4'000, 4.0}}});
  ASSERT_TRUE(this->stores.reports->apply_report(busy));
  auto both = this->stores.series->latest_samples("ci-1", "a.metric");
  ASSERT_TRUE(both) << both.error().describe();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].series.key.attributes, (Labels{{"state", "busy"}}));
  EXPECT_EQ((*both)[0].sample.value, 4.0);
  EXPECT_EQ((*both)[1].series.key.attributes, (Labels{{"state", "idle"}}));
  EXPECT_EQ((*both)[1].sample.value, 2.0);
}

}  // namespace
}  // namespace surveyor::collector::store
