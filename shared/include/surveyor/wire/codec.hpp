// SPDX-License-Identifier: Apache-2.0
// Wire messages as bytes: binary and JSON encoding, decoding of untrusted input, validation,
// and the digests of inventory sections.
#pragma once

#include <optional>
#include <utility>
#include <vector>
#include <string>
#include <string_view>

#include "surveyor/core/result.hpp"
#include "surveyor/wire/enroll.hpp"
#include "surveyor/wire/report.hpp"

namespace surveyor::wire {

inline constexpr std::string_view kBinaryContentType = "application/x-surveyor-report";
inline constexpr std::string_view kJsonContentType = "application/json";
// The newest report layout this build reads and writes.
inline constexpr std::uint32_t kProtocolVersion = 1;

enum class Errc {
  bad_magic = 1,     // not a Surveyor message of this kind
  truncated,         // ended in the middle of a value
  malformed,         // structurally wrong (bad bool, bad JSON token, ...)
  too_large,         // a length or count beyond what the body can hold
  unsupported_version,
  trailing_data,
  missing_field,
  wrong_type,
  invalid_value,     // well-formed but not acceptable (empty id, unsorted attributes, ...)
};
const std::error_category& wire_category();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), wire_category()}; }

enum class Format { binary, json };

// Maps a Content-Type header ("application/json; charset=utf-8") to a format.
[[nodiscard]] std::optional<Format> format_for_content_type(std::string_view content_type);
[[nodiscard]] std::string_view content_type_for(Format f);

// Encodes one message: PortableBinary behind a 4-byte magic, or plain JSON.
// Defined for Report, ReportAck, EnrollRequest, EnrollResponse.
template <class M>
[[nodiscard]] std::string encode(const M& message, Format format);

enum class Check { validate, structure_only };

// Decodes untrusted bytes. Never throws and never allocates more than a small
// multiple of body.size(): bad input is a typed Errc with a reason. The result
// has also passed validate(), unless `check` is structure_only (for a
// sender re-reading what it wrote itself, before it completes it).
template <class M>
[[nodiscard]] core::Result<M> decode(std::string_view body, Format format, Check check = Check::validate);

// True for what metric names, attribute keys and check names may be:
// 1-255 printable ASCII characters, no spaces.
[[nodiscard]] bool is_valid_name(std::string_view s);
// Attribute values and other short texts: at most 255 bytes.
inline constexpr std::size_t kMaxAttributeValue = 255;

// Semantic checks beyond structure (lengths, ids, sorted attributes).
[[nodiscard]] core::Status validate(const Report& r);
[[nodiscard]] core::Status validate(const ReportAck& r);
[[nodiscard]] core::Status validate(const EnrollRequest& r);
[[nodiscard]] core::Status validate(const EnrollResponse& r);

// SHA-256 hex of a section's data in its canonical binary encoding. Defined
// for the data type of every inventory section.
template <class T>
[[nodiscard]] std::string digest_of(const T& section_data);

// The digest of a whole inventory: SHA-256 over its section digests in
// kSectionNames order. The agent sends it with every report; the collector
// recomputes it from the sections it holds to see whether it is up to date.
[[nodiscard]] std::string inventory_digest(const Inventory& inv);
[[nodiscard]] std::string inventory_digest(const std::vector<std::string>& section_digests);

// The agent id of an encoded binary report, read without decoding the rest
// (a sender checks whether a spooled report needs re-encoding); nullopt if
// the bytes do not start like a report.
[[nodiscard]] std::optional<std::string_view> peek_agent_id(std::string_view binary_report);

// The inventory document alone as JSON (what `surveyor-agent --inventory` prints).
[[nodiscard]] std::string inventory_json(const Inventory& inv);

// One section as plain text: its state ("collected", "empty", "unchanged",
// "failed"), reason, digest and data as a JSON text ("" without data), for the
// collector to store and serve without knowing each section's type.
struct SectionText {
  std::string name, state, reason, digest, data_json;
};
[[nodiscard]] std::vector<SectionText> section_texts(const Inventory& inv);

}  // namespace surveyor::wire

template <>
struct std::is_error_code_enum<surveyor::wire::Errc> : std::true_type {};
