// SPDX-License-Identifier: Apache-2.0
// Who may use the collector: operators' API tokens with their roles, and the
// enrollment grants agents enroll with; both kept only as hashes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

// What an operator's token may do (docs/security.md): a viewer reads
// everything; an operator also acts on incidents; a change manager also
// writes CIs, relationships, change records and services; an admin may do
// all of that, recompute SLA reports and manage tokens and enrollment.
enum class Role { viewer, operator_, change_manager, admin };
[[nodiscard]] std::string_view to_string(Role r);  // "viewer", "operator", "change-manager", "admin"
[[nodiscard]] std::optional<Role> role_from(std::string_view s);

// An operator's API token. The secret itself is never stored, only its
// SHA-256 (the secret is 256 random bits, so a fast hash is enough).
struct OperatorToken {
  std::string name;  // the actor every record made with it names; never reused
  Role role = Role::viewer;
  std::string hash;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;  // 0: never
  std::int64_t revoked_ms = 0;  // 0: not revoked
  friend bool operator==(const OperatorToken&, const OperatorToken&) = default;
};

// Allows `uses` enrollments until it expires or is revoked.
struct EnrollmentGrant {
  std::string id;  // names it in lists and to revoke it
  std::string hash;
  std::int64_t uses = 1;
  std::int64_t used = 0;
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;  // 0: never
  std::int64_t revoked_ms = 0;  // 0: not revoked
  friend bool operator==(const EnrollmentGrant&, const EnrollmentGrant&) = default;
};

// What presenting an enrollment grant came to.
enum class GrantUse { accepted, unknown, expired, revoked, used_up };
[[nodiscard]] std::string_view to_string(GrantUse u);

class CredentialStore {
 public:
  virtual ~CredentialStore() = default;
  // Adds a token; false when a token of that name exists or existed (a
  // revoked name is not given to anyone else: records made with it stay his).
  virtual core::Result<bool> add_token(const OperatorToken& t) = 0;
  // The token with this hash, revoked and expired ones too.
  virtual core::Result<std::optional<OperatorToken>> token_by_hash(std::string_view hash) = 0;
  // Every token, by name.
  virtual core::Result<std::vector<OperatorToken>> list_tokens() = 0;
  // False when there is no such token or it was revoked already.
  virtual core::Result<bool> revoke_token(std::string_view name, std::int64_t now_ms) = 0;

  // `conflict` when the id or the hash is taken.
  virtual core::Status add_grant(const EnrollmentGrant& g) = 0;
  // Every grant, by id.
  virtual core::Result<std::vector<EnrollmentGrant>> list_grants() = 0;
  // False when there is no such grant or it was revoked already.
  virtual core::Result<bool> revoke_grant(std::string_view id, std::int64_t now_ms) = 0;
  // Spends one use of the grant with this hash if it is in force at now_ms;
  // atomic, so concurrent enrollments never spend more uses than it has.
  virtual core::Result<GrantUse> use_grant(std::string_view hash, std::int64_t now_ms) = 0;
};

// Whether a grant in this state may be used at now_ms (the rule both
// backends apply).
[[nodiscard]] GrantUse grant_use(const EnrollmentGrant& g, std::int64_t now_ms);

}  // namespace surveyor::collector::store
