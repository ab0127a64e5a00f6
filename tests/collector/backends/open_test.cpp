// SPDX-License-Identifier: Apache-2.0
// Opening a store from its URL: data survives reopening, bad paths, servers and
// URLs are refused with a reason.
#include <gtest/gtest.h>

#include "store/fixture.hpp"

namespace surveyor::collector::store {
namespace {

using test::TempDir;

TEST(SqliteStore, DataSurvivesReopening) {
  TempDir dir;
  const std::string url = "sqlite:" + dir.file("s.db");
  {
    auto s = backends::open_stores(url);
    ASSERT_TRUE(s);
    CiUpdate u;
    u.id = "ci-1";
    u.type = "host";
    u.name = "web01";
    u.source = "agent";
    u.seen_at_ms = 5;
    ASSERT_TRUE(s->cmdb->upsert_ci(u));
  }
  auto s = backends::open_stores(url);
  ASSERT_TRUE(s);
  auto ci = s->cmdb->find_ci("ci-1");
  ASSERT_TRUE(ci && ci->has_value());
  EXPECT_EQ((*ci)->name, "web01");
}

TEST(SqliteStore, RefusesAPathItCannotCreate) {
  auto s = backends::open_stores("sqlite:/nonexistent-dir/x/y.db");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, StoreErrc::unavailable);
}

TEST(RedisStore, UnreachableServerIsUnavailableNotACrash) {
  const auto port = test::free_port();  // nothing listens there
  auto s = backends::open_stores("redis://127.0.0.1:" + std::to_string(port) + "/x");
  ASSERT_TRUE(s);
  auto st = s->health->ping();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, StoreErrc::unavailable);
  auto a = s->agents->find_agent("agt-1");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, StoreErrc::unavailable);
}

// A Redis with an ACL user (and no default user): the collector AUTHs as
// that user with the password it was given, never from the URL.
TEST(RedisStore, AnAclUserAuthenticatesWithItsPassword) {
  test::RedisServer redis(
      {"--user", "surveyor", "on", ">s3cret-pw", "~*", "&*", "+@all", "--user", "default", "off"});
  const std::string at = std::to_string(redis.address().port);
  auto s = backends::open_stores("redis://surveyor@127.0.0.1:" + at + "/acl", "s3cret-pw");
  ASSERT_TRUE(s) << s.error().describe();
  auto st = s->health->ping();
  EXPECT_TRUE(st) << st.error().describe();
  ASSERT_TRUE(s->agents->create_agent({"agt-1", std::string(64, 'a'), "h", "web01", "ci-1", "0.1.0", 1, 0, 0, 0, ""}));
  auto wrong = backends::open_stores("redis://surveyor@127.0.0.1:" + at + "/acl", "guess");
  ASSERT_TRUE(wrong);
  auto refused = wrong->health->ping();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("authentication failed"), std::string::npos) << refused.error().message;
  auto anonymous = backends::open_stores("redis://127.0.0.1:" + at + "/acl");
  ASSERT_TRUE(anonymous);
  EXPECT_FALSE(anonymous->agents->find_agent("agt-1")) << "no password: refused by Redis";
  auto in_url = backends::open_stores("redis://surveyor:s3cret-pw@127.0.0.1:" + at + "/acl");
  ASSERT_FALSE(in_url);
  EXPECT_NE(in_url.error().message.find("no password in the URL"), std::string::npos);
  auto no_password = backends::open_stores("redis://surveyor@127.0.0.1:" + at + "/acl");
  ASSERT_FALSE(no_password) << "a user without a password is a configuration error";
}

TEST(StoreUrl, BadUrlsAreRefusedWithAReason) {
  for (const char* url : {"", "mysql://x", "sqlite:", "sqlite:/tmp/x.db?foo=bar", "redis://"}) {
    auto s = backends::open_stores(url);
    EXPECT_FALSE(s) << url;
    if (!s) {
      EXPECT_EQ(s.error().code, StoreErrc::invalid) << url;
    }
  }
}

}  // namespace
}  // namespace surveyor::collector::store
