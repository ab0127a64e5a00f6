// SPDX-License-Identifier: Apache-2.0
// The series store on Redis, looked at behind the stores' back: one head
// entry per report and CI, stores written by older collectors (a head per
// series, pending rollup figures, an hourly rollup member per hour) read
// and rewritten, and the rollups kept as a block per series and day.
#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

#include <string>
#include <vector>

#include "store/series_fixture.hpp"
#include "surveyor/codec/chunk.hpp"

namespace surveyor::collector::store {
namespace {

// Direct access to the test's Redis, behind the stores' back.
class RedisSeriesStore : public SeriesStoreTest<RedisBackend> {
 protected:
  void SetUp() override {
    SeriesStoreTest<RedisBackend>::SetUp();
    const auto addr = test::test_redis();
    rc_ = redisConnect(addr.host.c_str(), addr.port);
    ASSERT_TRUE(rc_ != nullptr && rc_->err == 0);
  }
  void TearDown() override {
    if (rc_ != nullptr) redisFree(rc_);
    SeriesStoreTest<RedisBackend>::TearDown();
  }
  // The reply's integer, or its number of elements; -1 on anything else.
  long long command(const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<std::size_t> lens;
    for (const std::string& a : argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(rc_, static_cast<int>(args.size()), args.data(), lens.data()));
    long long out = -1;
    if (r != nullptr && r->type == REDIS_REPLY_INTEGER) out = r->integer;
    if (r != nullptr && r->type == REDIS_REPLY_ARRAY) out = static_cast<long long>(r->elements);
    if (r != nullptr && r->type == REDIS_REPLY_STATUS) out = 0;
    freeReplyObject(r);
    return out;
  }
  std::string k(const std::string& kind, const std::string& id) const { return backend.prefix + ":" + kind + ":" + id; }
  // The members of sorted set `key`, lowest score first.
  std::vector<std::string> members(const std::string& key) {
    auto* r = static_cast<redisReply*>(redisCommand(rc_, "ZRANGE %b 0 -1", key.data(), key.size()));
    std::vector<std::string> out;
    for (std::size_t i = 0; r != nullptr && r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i)
      out.emplace_back(r->element[i]->str, r->element[i]->len);
    freeReplyObject(r);
    return out;
  }
  const std::string rollups_key = k("rollups", std::string("ci-1") + '\x1f' + "system.cpu.utilization" + '\x1f' + "{}");
  redisContext* rc_ = nullptr;
};

// On Redis a report is one entry in its CI's head, whatever its series;
// reads fold the entries' rollups in, maintenance moves the closed ones
// into chunks and rollups with the same figures, and a damaged entry fails
// reads as corrupt, is reported by maintenance and does not stop ingest.
TEST_F(RedisSeriesStore, AReportIsOneHeadEntryPerCiAndCompactionKeepsItsFigures) {
  const SeriesKey other = key("system.memory.utilization");
  {
    ReportBatch b = report_batch("agt-1", ++sequence_, kT0);
    b.series.push_back({SeriesInfo{key(), "1"}, {{kT0, 1.5}, {kT0 + kMin, 2.25}}});
    b.series.push_back({SeriesInfo{other, "1"}, {{kT0, 0.5}}});
    ASSERT_TRUE(stores.reports->apply_report(b));
  }
  put(key(), {{kT0 + 2 * kMin, -4.0}});
  put(key(), {{kT0 + kHour, 8.0}, {kT0 + kHour + kMin, kNaN}});
  const std::string log = k("headlog", "ci-1");
  EXPECT_EQ(command({"ZCARD", log}), 3);  // one entry per report, two series in the first
  const std::vector<Rollup> before = rollups(key());
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before[0], (Rollup{kT0, 3, (1.5 + 2.25) + -4.0, -4.0, 2.25}));
  EXPECT_EQ(before[1], (Rollup{kT0 + kHour, 1, 8.0, 8.0, 8.0}));
  const std::vector<Sample> samples = read(key());
  ASSERT_EQ(samples.size(), 5u);

  // The block still open: nothing moves.
  MaintenanceReport rep = maintain(kT0 + 2 * kHour);
  EXPECT_EQ(rep.blocks_compacted, 0u);
  EXPECT_EQ(command({"ZCARD", log}), 3);
  // Closed: both series' samples go into their chunks, with the same figures.
  rep = maintain(kT0 + kBlockMs + 2 * kHour);
  EXPECT_EQ(rep.damaged, 0u);
  EXPECT_EQ(rep.blocks_compacted, 2u);
  EXPECT_EQ(rep.samples_compacted, 6u);
  EXPECT_EQ(command({"ZCARD", log}), 0);
  EXPECT_EQ(rollups(key()), before);
  EXPECT_TRUE(same_samples(samples, read(key())));
  EXPECT_EQ(read(other).size(), 1u);

  // A late sample at a time the chunk holds is a duplicate; a new one lands.
  put(key(), {{kT0 + kMin, 99.0}, {kT0 + 3 * kMin, 10.0}});
  EXPECT_EQ(command({"ZCARD", log}), 1);
  EXPECT_EQ(read(key()).size(), 6u);
  EXPECT_EQ(rollups(key())[0], (Rollup{kT0, 4, ((1.5 + 2.25) + -4.0) + 10.0, -4.0, 10.0}));

  EXPECT_EQ(command({"ZADD", log, std::to_string(kT0 + 5 * kMin), std::string("\x07\x02\x01\x05", 4) + "not a batch"}), 1);
  auto damaged = stores.series->read_samples(key(), INT64_MIN, INT64_MAX, 100);
  ASSERT_FALSE(damaged);
  EXPECT_EQ(damaged.error().code, StoreErrc::corrupt);
  EXPECT_NE(damaged.error().describe().find("head entry"), std::string::npos) << damaged.error().describe();
  put(key(), {{kT0 + 4 * kMin, 11.0}});  // ingest goes on
  rep = maintain(kT0 + kBlockMs + 3 * kHour);
  EXPECT_EQ(rep.damaged, 1u);
  EXPECT_NE(rep.damage.find("head entry"), std::string::npos) << rep.damage;
  EXPECT_EQ(rep.blocks_compacted, 1u);
  EXPECT_EQ(command({"ZCARD", log}), 1);  // the damaged entry, left as it is
}

// A store written before the per-CI head holds, per series, a head of its
// own and a list of figures not folded into the rollups yet: reads see them,
// a report's copy of a time they hold is a duplicate, and maintenance
// empties them into the chunks and rollups.
TEST_F(RedisSeriesStore, AStoreFromBeforeThePerCiHeadIsReadAndCompacted) {
  put(key(), {{kT0, 1.0}});  // creates the series (and its index entries) the current way
  const std::string member = std::string("system.cpu.utilization") + '\x1f' + "{}";
  const std::string sid = std::string("ci-1") + '\x1f' + member;
  // The series as an older collector left it: two samples in its own head,
  // their figures pending; the head entry and metadata of the first put gone.
  ASSERT_EQ(command({"DEL", k("headlog", "ci-1"), k("hmeta", "ci-1")}), 2);
  ASSERT_EQ(command({"ZADD", k("samples", sid), std::to_string(kT0 + kMin), std::to_string(kT0 + kMin) + ":4000000000000000",
                     std::to_string(kT0 + 2 * kMin), std::to_string(kT0 + 2 * kMin) + ":4008000000000000"}),
            2);  // 2.0 and 3.0
  ASSERT_EQ(command({"RPUSH", k("rollpend", sid), std::to_string(kT0) + ":2:5:2:3"}), 1);
  EXPECT_TRUE(same_samples({{kT0 + kMin, 2.0}, {kT0 + 2 * kMin, 3.0}}, read(key())));
  EXPECT_EQ(rollups(key()), (std::vector<Rollup>{{kT0, 2, 5.0, 2.0, 3.0}}));

  // Its first report since: a copy of a time its own head holds is ignored.
  put(key(), {{kT0 + 2 * kMin, 30.0}, {kT0 + 3 * kMin, 4.0}});
  EXPECT_TRUE(same_samples({{kT0 + kMin, 2.0}, {kT0 + 2 * kMin, 3.0}, {kT0 + 3 * kMin, 4.0}}, read(key())));
  EXPECT_EQ(rollups(key()), (std::vector<Rollup>{{kT0, 3, 9.0, 2.0, 4.0}}));
  put(key(), {{kT0 + 3 * kMin, 40.0}, {kT0 + 4 * kMin, 5.0}});  // and now after its newest time
  EXPECT_EQ(read(key()).size(), 4u);

  MaintenanceReport rep = maintain(kT0 + kBlockMs + 2 * kHour);
  EXPECT_EQ(rep.damaged, 0u);
  EXPECT_EQ(command({"EXISTS", k("samples", sid), k("rollpend", sid), k("headlog", "ci-1")}), 0);
  EXPECT_TRUE(same_samples({{kT0 + kMin, 2.0}, {kT0 + 2 * kMin, 3.0}, {kT0 + 3 * kMin, 4.0}, {kT0 + 4 * kMin, 5.0}},
                           read(key())));
  EXPECT_EQ(rollups(key()), (std::vector<Rollup>{{kT0, 4, 14.0, 2.0, 5.0}}));
}

// A SQLite file with agent agt-1 on ci-1, and reports of one series to it.

// Rollups are kept as a block per series and UTC day, scored by the day's
// start: one member a day, not one an hour. Two days of samples make two
// members, each decoding to that day's hours with the figures reads give.
TEST_F(RedisSeriesStore, RollupsAreABlockPerDay) {
  const std::int64_t day = floor_to(kT0, kDay);
  std::vector<Sample> in;
  for (std::int64_t t = kT0; t < day + kDay + 6 * kHour; t += 10 * kMin) in.push_back({t, static_cast<double>(t % 97)});
  put(key(), in);
  maintain(day + 2 * kDay);
  const std::vector<Rollup> all = rollups(key());
  ASSERT_EQ(all.size(), 14u);  // 16:00 to 24:00, then 00:00 to 06:00
  const std::vector<std::string> stored = members(rollups_key);
  ASSERT_EQ(stored.size(), 2u);
  std::vector<Rollup> decoded;
  for (const std::string& m : stored) {
    auto d = codec::decode_rollup_day(m);
    ASSERT_TRUE(d) << d.error().describe();
    decoded.insert(decoded.end(), d->begin(), d->end());
  }
  EXPECT_EQ(decoded, all);
  EXPECT_EQ(command({"ZCOUNT", rollups_key, std::to_string(day), std::to_string(day)}), 1);
  EXPECT_EQ(command({"ZCOUNT", rollups_key, std::to_string(day + kDay), std::to_string(day + kDay)}), 1);
  // A range starting inside a day reads only its hours.
  auto part = stores.series->read_rollups(key(), day + 23 * kHour, day + kDay + kHour);
  ASSERT_TRUE(part) << part.error().describe();
  ASSERT_EQ(part->size(), 2u);
  EXPECT_EQ((*part)[0].start_ms, day + 23 * kHour);
  EXPECT_EQ((*part)[1].start_ms, day + kDay);
}

// An older collector kept a member per hour ("hour:count:sum:min:max").
// They are read as they are; a day written again (new samples compacted
// into it) becomes one block holding them, and the other days keep theirs.
TEST_F(RedisSeriesStore, HourMembersOfAnOlderStoreAreReadAndFoldedIntoTheirDay) {
  const std::int64_t day = floor_to(kT0, kDay);
  put(key(), {{kT0, 1.0}});  // creates the series the current way
  maintain(kT0 + kBlockMs + 2 * kHour);
  ASSERT_EQ(command({"DEL", rollups_key}), 1);
  const std::int64_t yesterday = kT0 - kDay;
  ASSERT_EQ(command({"ZADD", rollups_key, std::to_string(kT0), std::to_string(kT0) + ":2:5:2:3",
                     std::to_string(kT0 + kHour), std::to_string(kT0 + kHour) + ":1:0.5:0.5:0.5",
                     std::to_string(yesterday), std::to_string(yesterday) + ":3:3:1:1"}),
            3);
  EXPECT_EQ(rollups(key()), (std::vector<Rollup>{{yesterday, 3, 3.0, 1.0, 1.0},
                                                 {kT0, 2, 5.0, 2.0, 3.0},
                                                 {kT0 + kHour, 1, 0.5, 0.5, 0.5}}));
  // A late sample in the first hour's block is compacted into today.
  put(key(), {{kT0 + 5 * kMin, 4.0}});
  maintain(kT0 + kBlockMs + 3 * kHour);
  EXPECT_EQ(rollups(key()), (std::vector<Rollup>{{yesterday, 3, 3.0, 1.0, 1.0},
                                                 {kT0, 3, 9.0, 2.0, 4.0},
                                                 {kT0 + kHour, 1, 0.5, 0.5, 0.5}}));
  const std::vector<std::string> stored = members(rollups_key);
  ASSERT_EQ(stored.size(), 2u);  // yesterday's hour member, today's block
  EXPECT_EQ(stored[0], std::to_string(yesterday) + ":3:3:1:1");
  EXPECT_EQ(command({"ZCOUNT", rollups_key, std::to_string(day), std::to_string(day)}), 1);
  auto today = codec::decode_rollup_day(stored[1]);
  ASSERT_TRUE(today) << today.error().describe();
  EXPECT_EQ(today->size(), 2u);
}

// A damaged block, or an hour held both as a member and in a block, fails
// reads of the series as corrupt; other series read on.
TEST_F(RedisSeriesStore, ADamagedRollupBlockOrAnHourHeldTwiceIsCorrupt) {
  const std::int64_t day = floor_to(kT0, kDay);
  put(key(), {{kT0, 1.0}});
  put(key("other"), {{kT0, 2.0}});
  maintain(kT0 + kBlockMs + 2 * kHour);
  const std::string good = members(rollups_key).at(0);
  for (const std::string& bad : {good.substr(0, good.size() - 1), std::string("R\x02") + good.substr(2)}) {
    ASSERT_EQ(command({"DEL", rollups_key}), 1);
    ASSERT_EQ(command({"ZADD", rollups_key, std::to_string(day), bad}), 1);
    auto r = stores.series->read_rollups(key(), INT64_MIN, INT64_MAX);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, StoreErrc::corrupt) << r.error().describe();
    EXPECT_NE(r.error().describe().find("rollup day"), std::string::npos) << r.error().describe();
  }
  ASSERT_EQ(command({"DEL", rollups_key}), 1);
  ASSERT_EQ(command({"ZADD", rollups_key, std::to_string(day), good, std::to_string(kT0), std::to_string(kT0) + ":1:1:1:1"}), 2);
  auto twice = stores.series->read_rollups(key(), INT64_MIN, INT64_MAX);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, StoreErrc::corrupt);
  EXPECT_NE(twice.error().describe().find("stored twice"), std::string::npos) << twice.error().describe();
  EXPECT_EQ(rollups(key("other")).size(), 1u);
}

// Retention drops a day's block once the whole day is past it, and counts
// its hours; a day still partly within is kept whole.
TEST_F(RedisSeriesStore, RollupRetentionGoesADayAtATime) {
  const std::int64_t day = floor_to(kT0, kDay);
  std::vector<Sample> in;
  for (std::int64_t t = kT0; t < day + kDay + 2 * kHour; t += 30 * kMin) in.push_back({t, 1.0});
  put(key(), in);
  maintain(day + 2 * kDay);
  ASSERT_EQ(rollups(key()).size(), 10u);  // 8 hours of the first day, 2 of the second
  // 730 days on from the first day's last hour (23:00): the day is not over yet.
  MaintenanceReport rep = maintain(day + 23 * kHour + 730 * kDay);
  EXPECT_EQ(rep.rollups_expired, 0u);
  EXPECT_EQ(rollups(key()).size(), 10u);
  // Once all of it is: its 8 hours go, the next day's stay.
  rep = maintain(day + kDay + 730 * kDay);
  EXPECT_EQ(rep.rollups_expired, 8u);
  EXPECT_EQ(rollups(key()).size(), 2u);
  EXPECT_EQ(members(rollups_key).size(), 1u);
}

}  // namespace
}  // namespace surveyor::collector::store
