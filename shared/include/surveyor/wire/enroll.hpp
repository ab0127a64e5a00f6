// SPDX-License-Identifier: Apache-2.0
// The enrollment exchange: what an agent sends to join, and the identity it gets back.
#pragma once

#include <cstdint>
#include <string>

namespace surveyor::wire {

// POST /api/v1/enroll: an agent asks to join with the enrollment token.
struct EnrollRequest {
  std::string token;
  std::string host_id;
  std::string hostname;
  std::string agent_version;
  // v2: the hardware's SMBIOS identity, for reconciliation (empty: unknown).
  std::string system_uuid;
  std::string system_serial;
  friend bool operator==(const EnrollRequest&, const EnrollRequest&) = default;
};

// The identity the agent keeps in its state directory. The key is shown only
// here; the collector keeps its SHA-256.
struct EnrollResponse {
  std::string agent_id;
  std::string agent_key;
  std::string ci_id;  // the host's configuration item
  friend bool operator==(const EnrollResponse&, const EnrollResponse&) = default;
};

}  // namespace surveyor::wire
