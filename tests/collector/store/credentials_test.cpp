// SPDX-License-Identifier: Apache-2.0
// Operators' tokens, enrollment grants and agents' revocation on both backends.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/fixture.hpp"
#include "surveyor/core/crypto.hpp"

namespace surveyor::collector::store {
namespace {

SURVEYOR_STORE_SUITE(CredentialConformance);

OperatorToken token(const std::string& name, Role role, const std::string& secret) {
  return {name, role, core::sha256_hex(secret), 1'000, 0, 0};
}

EnrollmentGrant grant(const std::string& id, const std::string& secret, std::int64_t uses,
                      std::int64_t expires_ms = 0) {
  return {id, core::sha256_hex(secret), uses, 0, 1'000, expires_ms, 0};
}

TYPED_TEST(CredentialConformance, TokensAreFoundByHashListedByNameAndRevokedForGood) {
  CredentialStore& c = *this->stores.credentials;
  const OperatorToken bob = token("bob", Role::operator_, "secret-b");
  const OperatorToken alice = token("alice", Role::change_manager, "secret-a");
  for (const OperatorToken& t : {bob, alice}) {
    auto added = c.add_token(t);
    ASSERT_TRUE(added) << added.error().describe();
    EXPECT_TRUE(*added);
  }
  auto again = c.add_token(token("bob", Role::admin, "other"));
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again) << "a name is one person's";

  auto found = c.token_by_hash(core::sha256_hex("secret-a"));
  ASSERT_TRUE(found) << found.error().describe();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, alice);
  auto none = c.token_by_hash(core::sha256_hex("guess"));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  auto list = c.list_tokens();
  ASSERT_TRUE(list) << list.error().describe();
  EXPECT_EQ(*list, (std::vector<OperatorToken>{alice, bob}));

  auto revoked = c.revoke_token("bob", 5'000);
  ASSERT_TRUE(revoked) << revoked.error().describe();
  EXPECT_TRUE(*revoked);
  EXPECT_FALSE(*c.revoke_token("bob", 6'000)) << "revoked once";
  EXPECT_FALSE(*c.revoke_token("nobody", 6'000));
  auto held = c.token_by_hash(core::sha256_hex("secret-b"));
  ASSERT_TRUE(held && held->has_value());
  EXPECT_EQ((*held)->revoked_ms, 5'000) << "a revoked token is still found, so it is refused as revoked";
  EXPECT_FALSE(*c.add_token(token("bob", Role::viewer, "new"))) << "a revoked name is not given again";
}

TYPED_TEST(CredentialConformance, AGrantIsSpentUseByUseUntilItExpiresOrIsRevoked) {
  CredentialStore& c = *this->stores.credentials;
  ASSERT_TRUE(c.add_grant(grant("enr-1", "two-uses", 2)));
  ASSERT_TRUE(c.add_grant(grant("enr-2", "short", 5, 10'000)));
  ASSERT_TRUE(c.add_grant(grant("enr-3", "revoked", 5)));
  auto dup = c.add_grant(grant("enr-1", "other", 1));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, StoreErrc::conflict);

  const std::string two = core::sha256_hex("two-uses");
  EXPECT_EQ(*c.use_grant(two, 2'000), GrantUse::accepted);
  EXPECT_EQ(*c.use_grant(two, 2'000), GrantUse::accepted);
  EXPECT_EQ(*c.use_grant(two, 2'000), GrantUse::used_up);
  EXPECT_EQ(*c.use_grant(core::sha256_hex("short"), 9'999), GrantUse::accepted);
  EXPECT_EQ(*c.use_grant(core::sha256_hex("short"), 10'000), GrantUse::expired);
  ASSERT_TRUE(*c.revoke_grant("enr-3", 3'000));
  EXPECT_FALSE(*c.revoke_grant("enr-3", 3'000));
  EXPECT_EQ(*c.use_grant(core::sha256_hex("revoked"), 3'000), GrantUse::revoked);
  EXPECT_EQ(*c.use_grant(core::sha256_hex("never made"), 3'000), GrantUse::unknown);

  auto list = c.list_grants();
  ASSERT_TRUE(list) << list.error().describe();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, "enr-1");
  EXPECT_EQ((*list)[0].used, 2) << "a refused use spends nothing";
  EXPECT_EQ((*list)[1].used, 1);
  EXPECT_EQ((*list)[2].revoked_ms, 3'000);
}

TYPED_TEST(CredentialConformance, ConcurrentEnrollmentsNeverSpendMoreUsesThanAGrantHas) {
  CredentialStore& c = *this->stores.credentials;
  ASSERT_TRUE(c.add_grant(grant("enr-1", "five", 5)));
  const std::string hash = core::sha256_hex("five");
  std::atomic<int> accepted{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto u = c.use_grant(hash, 2'000);
        if (!u) ++failed;
        else if (*u == GrantUse::accepted) ++accepted;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(accepted.load(), 5);
  EXPECT_EQ(c.list_grants()->front().used, 5);
}

TYPED_TEST(CredentialConformance, ARevokedAgentKeepsItsRecordButNoKey) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  auto r = this->stores.agents->revoke_agent("agt-1");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(*r);
  EXPECT_FALSE(*this->stores.agents->revoke_agent("agt-1"));
  EXPECT_FALSE(*this->stores.agents->revoke_agent("agt-2"));
  auto a = this->stores.agents->find_agent("agt-1");
  ASSERT_TRUE(a && a->has_value());
  EXPECT_EQ((*a)->key_hash, "");
  EXPECT_EQ((*a)->host_id, "host-agt-1");
}

TYPED_TEST(CredentialConformance, AnAgentIsReassignedToAnotherCi) {
  ASSERT_TRUE(this->stores.agents->create_agent(agent_record("agt-1")));
  auto moved = this->stores.agents->reassign_agent("agt-1", "host-x");
  ASSERT_TRUE(moved) << moved.error().describe();
  EXPECT_TRUE(*moved);
  EXPECT_FALSE(*this->stores.agents->reassign_agent("agt-2", "host-x"));
  auto a = this->stores.agents->find_agent("agt-1");
  ASSERT_TRUE(a && a->has_value());
  EXPECT_EQ((*a)->ci_id, "host-x");
  EXPECT_EQ((*a)->key_hash, std::string(64, 'a')) << "nothing else changes";
}

}  // namespace
}  // namespace surveyor::collector::store
