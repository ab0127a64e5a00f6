// SPDX-License-Identifier: Apache-2.0
// Enrolled agents: the record and its store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

// An enrolled agent. The key itself is never stored, only its SHA-256.
struct AgentRecord {
  std::string id;
  std::string key_hash;
  std::string host_id;
  std::string hostname;
  std::string ci_id;
  std::string agent_version;
  std::int64_t enrolled_at_ms = 0;
  // Advanced by every stored report.
  std::int64_t last_seen_ms = 0;
  std::uint64_t last_sequence = 0;
  std::uint32_t heartbeat_interval_s = 0;
  std::string inventory_digest;
  friend bool operator==(const AgentRecord&, const AgentRecord&) = default;
};

class AgentStore {
 public:
  virtual ~AgentStore() = default;
  // Adds a new agent; `conflict` if the id exists.
  virtual core::Status create_agent(const AgentRecord& a) = 0;
  // The agent, or nullopt when unknown.
  virtual core::Result<std::optional<AgentRecord>> find_agent(std::string_view id) = 0;
  // Forgets the agent's key hash, so its key is refused from now on (it has
  // to enroll again); false when there is no such agent or it was revoked.
  virtual core::Result<bool> revoke_agent(std::string_view id) = 0;
  // Makes the agent report for another CI (an approved enrollment
  // conflict); false when there is no such agent.
  virtual core::Result<bool> reassign_agent(std::string_view id, std::string_view ci_id) = 0;
  // Replaces the agent's key hash if it is still `old_hash` (a rotation);
  // false otherwise.
  virtual core::Result<bool> rotate_key(std::string_view id, std::string_view old_hash, std::string_view new_hash) = 0;
};

}  // namespace surveyor::collector::store
