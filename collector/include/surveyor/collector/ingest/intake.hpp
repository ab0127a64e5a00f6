// SPDX-License-Identifier: Apache-2.0
// A report from the wire to the store, end to end: the agent authenticated
// by its key, the body decoded, the report applied in one transaction, and
// the host's component relationships kept in step with its inventory.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

#include "surveyor/collector/store/stores.hpp"
#include "surveyor/core/result.hpp"
#include "surveyor/wire/codec.hpp"
#include "surveyor/wire/report.hpp"

namespace surveyor::collector::ingest {

// Why a report was refused before it reached the store (store failures come
// as StoreErrc).
enum class IntakeErrc { unauthenticated = 1, unknown_agent, unsupported_media_type, bad_report, agent_mismatch };
const std::error_category& intake_category();
inline std::error_code make_error_code(IntakeErrc e) { return {static_cast<int>(e), intake_category()}; }

struct Accepted {
  wire::Format format = wire::Format::binary;  // the agent's, for the answer
  wire::ReportAck ack;
  std::uint64_t samples = 0;        // stored by this report (0 for a replay)
};

class Intake {
 public:
  explicit Intake(store::Stores stores) : stores_(std::move(stores)) {}

  // `authorization` is the request's "Bearer <agent-id>:<key>".
  [[nodiscard]] core::Result<Accepted> accept(std::string_view authorization, std::string_view content_type,
                                              std::string_view body, std::int64_t now_ms);

 private:
  store::Stores stores_;
};

}  // namespace surveyor::collector::ingest

template <>
struct std::is_error_code_enum<surveyor::collector::ingest::IntakeErrc> : std::true_type {};
