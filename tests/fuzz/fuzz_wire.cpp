// SPDX-License-Identifier: Apache-2.0
// Fuzz target: every wire message, binary and JSON. The first byte picks the
// message and format; decoding must never crash, hang or over-allocate, and
// whatever decodes must encode and decode back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "surveyor/wire/codec.hpp"

namespace {

template <class M>
void round_trip(std::string_view body, surveyor::wire::Format f) {
  auto m = surveyor::wire::decode<M>(body, f);
  if (!m) {
    if (m.error().message.empty() && !m.error().code) std::abort();  // an error must say something
    return;
  }
  // NaN != NaN: compare re-encodings rather than values.
  const std::string once = surveyor::wire::encode(*m, surveyor::wire::Format::binary);
  auto again = surveyor::wire::decode<M>(once, surveyor::wire::Format::binary);
  if (!again || surveyor::wire::encode(*again, surveyor::wire::Format::binary) != once) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto f = (data[0] & 1) ? surveyor::wire::Format::json : surveyor::wire::Format::binary;
  switch ((data[0] >> 1) % 4) {
    case 0: round_trip<surveyor::wire::Report>(body, f); break;
    case 1: round_trip<surveyor::wire::ReportAck>(body, f); break;
    case 2: round_trip<surveyor::wire::EnrollRequest>(body, f); break;
    default: round_trip<surveyor::wire::EnrollResponse>(body, f); break;
  }
  return 0;
}
