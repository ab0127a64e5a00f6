// SPDX-License-Identifier: Apache-2.0
// The agent's spool: reports kept in order across restarts, bounded, and
// damaged or unreadable entries skipped and counted.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "surveyor/agent/spool/spool.hpp"
#include "test_support.hpp"

namespace surveyor::agent::spool {
namespace {

namespace fs = std::filesystem;

std::string entry_file(const test::TempDir& dir, std::uint64_t seq) {
  char name[40];
  std::snprintf(name, sizeof name, "/%020llu.rpt", static_cast<unsigned long long>(seq));
  return dir.file("spool") + name;
}

TEST(Spool, FifoThatSurvivesReopening) {
  test::TempDir dir;
  {
    auto s = Spool::open(dir.file("spool"));
    ASSERT_TRUE(s) << s.error().describe();
    ASSERT_TRUE(s->push(7, "seven"));
    ASSERT_TRUE(s->push(8, std::string("eight\0bytes", 11)));
    ASSERT_TRUE(s->push(10, "ten"));
  }
  auto s = Spool::open(dir.file("spool"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->stats().entries, 3u);
  auto f = s->front();
  ASSERT_TRUE(f && *f);
  EXPECT_EQ((*f)->first, 7u);
  EXPECT_EQ((*f)->second, "seven");
  ASSERT_TRUE(s->pop_front(7));
  f = s->front();
  EXPECT_EQ((*f)->second, std::string("eight\0bytes", 11));
  ASSERT_TRUE(s->pop_front(99)) << "not the head: nothing happens";
  EXPECT_EQ(s->stats().entries, 2u);
  ASSERT_TRUE(s->pop_front(8));
  ASSERT_TRUE(s->pop_front(10));
  EXPECT_TRUE(s->empty());
  f = s->front();
  ASSERT_TRUE(f);
  EXPECT_FALSE(*f);
  EXPECT_TRUE(fs::is_empty(dir.file("spool")));
}

TEST(Spool, TheBoundDropsTheOldestAndCountsThem) {
  test::TempDir dir;
  auto s = Spool::open(dir.file("spool"), {.max_bytes = 1 << 20, .max_entries = 3});
  ASSERT_TRUE(s);
  for (std::uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(s->push(i, "x"));
  EXPECT_EQ(s->stats().entries, 3u);
  EXPECT_EQ(s->stats().dropped, 2u);
  EXPECT_EQ((*s->front())->first, 3u);
  auto by_bytes = Spool::open(dir.file("b"), {.max_bytes = 100, .max_entries = 100});
  ASSERT_TRUE(by_bytes);
  for (std::uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(by_bytes->push(i, std::string(30, 'y')));
  EXPECT_LE(by_bytes->stats().bytes, 100u);
  EXPECT_EQ(by_bytes->stats().entries, 2u);  // 42 bytes each with the header
  EXPECT_EQ(by_bytes->stats().dropped, 8u);
}

TEST(Spool, TornAndDamagedEntriesAreSkippedNotReplayed) {
  test::TempDir dir;
  {
    auto s = Spool::open(dir.file("spool"));
    for (std::uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(s->push(i, "payload-" + std::to_string(i)));
  }
  // 1: torn (cut short), 2: a flipped byte, 3: zeroed (a crash before the data
  // reached the disk), 4: intact, 5: garbage header; plus a stray temp file.
  fs::resize_file(entry_file(dir, 1), 9);
  {
    std::fstream f(entry_file(dir, 2), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(14);
    f.put('X');
  }
  {
    const auto size = fs::file_size(entry_file(dir, 3));
    std::ofstream(entry_file(dir, 3), std::ios::binary) << std::string(size, '\0');
  }
  std::ofstream(entry_file(dir, 5), std::ios::binary) << "not a spool entry at all";
  std::ofstream(dir.file("spool") + "/00000000000000000006.rpt.tmp") << "half written";
  auto s = Spool::open(dir.file("spool"));
  ASSERT_TRUE(s);
  EXPECT_FALSE(fs::exists(dir.file("spool") + "/00000000000000000006.rpt.tmp"));
  auto f = s->front();
  ASSERT_TRUE(f && *f);
  EXPECT_EQ((*f)->first, 4u);
  EXPECT_EQ((*f)->second, "payload-4");
  EXPECT_EQ(s->stats().corrupt, 3u);
  ASSERT_TRUE(s->pop_front(4));
  f = s->front();
  ASSERT_TRUE(f);
  EXPECT_FALSE(*f);
  EXPECT_EQ(s->stats().corrupt, 4u);
}

// An entry the agent cannot read (here a directory where the file should be:
// open() succeeds, read() fails with EISDIR even for root) is skipped and
// counted; it must not hold back the entries after it.
TEST(Spool, AnUnreadableEntryIsSkippedAndCounted) {
  test::TempDir dir;
  {
    auto s = Spool::open(dir.file("spool"));
    for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(s->push(i, "payload-" + std::to_string(i)));
  }
  fs::remove(entry_file(dir, 1));
  fs::create_directory(entry_file(dir, 1));
  auto s = Spool::open(dir.file("spool"));
  ASSERT_TRUE(s);
  auto f = s->front();
  ASSERT_TRUE(f) << f.error().describe();
  ASSERT_TRUE(*f);
  EXPECT_EQ((*f)->first, 2u);
  EXPECT_EQ((*f)->second, "payload-2");
  EXPECT_EQ(s->stats().unreadable, 1u);
  EXPECT_EQ(s->stats().corrupt, 0u) << "unreadable is not damaged";
  EXPECT_NE(s->stats().last_unreadable.find("00000000000000000001.rpt"), std::string::npos)
      << s->stats().last_unreadable;
  EXPECT_EQ(s->stats().entries, 2u);
}

TEST(Spool, UnwritableDirectoryIsAnError) {
  test::TempDir dir;
  std::ofstream(dir.file("file")) << "x";
  auto s = Spool::open(dir.file("file"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, SpoolErrc::io);
}

}  // namespace
}  // namespace surveyor::agent::spool
