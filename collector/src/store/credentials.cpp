// SPDX-License-Identifier: Apache-2.0
// Roles' and grant outcomes' names, and when a grant may be used.
#include "surveyor/collector/store/credentials.hpp"

#include "surveyor/core/names.hpp"

namespace surveyor::collector::store {
namespace {

constexpr core::Names<Role, 4> kRoleNames{{{{Role::viewer, "viewer"},
                                            {Role::operator_, "operator"},
                                            {Role::change_manager, "change-manager"},
                                            {Role::admin, "admin"}}}};

constexpr core::Names<GrantUse, 5> kGrantUseNames{{{{GrantUse::accepted, "accepted"},
                                                    {GrantUse::unknown, "unknown"},
                                                    {GrantUse::expired, "expired"},
                                                    {GrantUse::revoked, "revoked"},
                                                    {GrantUse::used_up, "used_up"}}}};

}  // namespace

std::string_view to_string(Role r) { return kRoleNames.name(r); }
std::optional<Role> role_from(std::string_view s) { return kRoleNames.parse(s); }
std::string_view to_string(GrantUse u) { return kGrantUseNames.name(u); }

GrantUse grant_use(const EnrollmentGrant& g, std::int64_t now_ms) {
  if (g.revoked_ms != 0) return GrantUse::revoked;
  if (g.expires_ms != 0 && now_ms >= g.expires_ms) return GrantUse::expired;
  if (g.used >= g.uses) return GrantUse::used_up;
  return GrantUse::accepted;
}

}  // namespace surveyor::collector::store
