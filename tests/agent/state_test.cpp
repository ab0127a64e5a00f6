// SPDX-License-Identifier: Apache-2.0
// The agent's state directory: its identity and sequence kept safely, and
// refused when unusable.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <string>

#include "surveyor/agent/state/state_dir.hpp"
#include "test_support.hpp"

namespace surveyor::agent::state {
namespace {

unsigned mode_of(const std::string& p) {
  struct stat st{};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

TEST(StateDir, IdentityIsPrivateAndReadsBack) {
  test::TempDir tmp;
  const std::string dir = tmp.file("state");
  auto s = StateDir::open(dir);
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(mode_of(dir), 0700u);
  auto none = s->load_identity();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  const Identity id{"agt-1", "secret", "host-1", "http://c:8080"};
  ASSERT_TRUE(s->save_identity(id));
  EXPECT_EQ(mode_of(dir + "/identity"), 0600u);
  auto back = StateDir::open(dir)->load_identity();
  ASSERT_TRUE(back && *back);
  EXPECT_EQ(**back, id);
  ASSERT_TRUE(s->forget_identity());
  EXPECT_FALSE(*s->load_identity());
}

TEST(StateDir, RefusesAKeyFileOthersCanRead) {
  test::TempDir tmp;
  auto s = StateDir::open(tmp.file("state"));
  ASSERT_TRUE(s->save_identity({"agt-1", "secret", "", ""}));
  ::chmod(tmp.file("state/identity").c_str(), 0644);
  auto r = s->load_identity();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, StateErrc::permissions);
}

// A symbolic link planted at the temporary name is replaced, never written
// through: the file it points at stays as it was.
TEST(StateDir, WritesNeverFollowALinkAtTheTemporaryName) {
  test::TempDir tmp;
  auto s = StateDir::open(tmp.file("state"));
  ASSERT_TRUE(s);
  std::ofstream(tmp.file("victim")) << "untouched";
  ASSERT_EQ(::symlink(tmp.file("victim").c_str(), tmp.file("state/identity.tmp").c_str()), 0);
  ASSERT_TRUE(s->save_identity({"agt-1", "secret", "", ""}));
  std::ifstream victim(tmp.file("victim"));
  std::string text;
  std::getline(victim, text);
  EXPECT_EQ(text, "untouched");
  auto back = s->load_identity();
  ASSERT_TRUE(back && *back);
  EXPECT_EQ((*back)->agent_key, "secret");
}

// Another user's state directory that others may write to is refused (its
// owner, not the agent, must fix it); the agent's own is made private.
TEST(StateDir, RefusesADirectoryOthersMayWriteThatIsNotItsOwn) {
  test::TempDir tmp;
  const std::string dir = tmp.file("shared");
  ASSERT_EQ(::mkdir(dir.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  if (::chown(dir.c_str(), ::geteuid() + 1, static_cast<gid_t>(-1)) != 0)
    GTEST_SKIP() << "giving the directory to another user needs root";
  auto s = StateDir::open(dir);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, StateErrc::permissions);
  EXPECT_NE(s.error().message.find("writable by others"), std::string::npos) << s.error().message;
}

TEST(StateDir, CorruptFilesAreErrors) {
  test::TempDir tmp;
  auto s = StateDir::open(tmp.file("state"));
  std::ofstream(tmp.file("state/identity")) << "nonsense\n";
  ::chmod(tmp.file("state/identity").c_str(), 0600);
  auto r = s->load_identity();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, StateErrc::corrupt);
  std::ofstream(tmp.file("state/sequence")) << "minus one\n";
  auto q = s->next_sequence();
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().code, StateErrc::corrupt);
}

TEST(StateDir, SequenceNumbersAreNeverReusedAcrossRestarts) {
  test::TempDir tmp;
  const std::string dir = tmp.file("state");
  std::set<std::uint64_t> seen;
  std::uint64_t last = 0;
  for (int restart = 0; restart < 5; ++restart) {
    auto s = StateDir::open(dir);
    ASSERT_TRUE(s);
    // Each "run" uses a different number of sequences, then "crashes".
    for (int i = 0; i < 10 + restart * 40; ++i) {
      auto n = s->next_sequence();
      ASSERT_TRUE(n) << n.error().describe();
      EXPECT_GT(*n, last);
      EXPECT_TRUE(seen.insert(*n).second) << *n << " handed out twice";
      last = *n;
    }
  }
  EXPECT_EQ(*seen.begin(), 1u);
}

TEST(StateDir, UnusableDirectoryIsAnError) {
  test::TempDir tmp;
  std::ofstream(tmp.file("file")) << "x";
  auto s = StateDir::open(tmp.file("file"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, StateErrc::io);
}

}  // namespace
}  // namespace surveyor::agent::state
