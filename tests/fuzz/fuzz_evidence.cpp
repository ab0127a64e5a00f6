// SPDX-License-Identifier: Apache-2.0
// Fuzz target: what audit evidence reads from outside. The first byte picks
// the reader, the rest is its input: a period as the API's query gives it
// (period=), incident targets as the configuration gives them, an evidence
// document rendered as HTML and CSV and digested, and a downloaded report
// as `surveyor evidence verify FILE` reads it (with a change record as
// `surveyor change show` prints it).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "surveyor/cli/format/render.hpp"
#include "surveyor/collector/evidence/evidence.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace surveyor::collector::evidence;
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      if (auto p = parse_period(in); p && (p->end_ms <= p->start_ms || p->name.empty())) __builtin_trap();
      break;
    case 1:
      if (auto t = parse_targets(in))
        for (const auto& [priority, target] : *t)
          if (priority < 1 || priority > 5 || target.acknowledge_ms <= 0 || target.resolve_ms <= 0) __builtin_trap();
      break;
    case 2:
      (void)to_html(in);
      (void)digest_of(in);
      break;
    case 3:
      (void)to_csv(in, "t");
      (void)to_csv(in, "");
      break;
    default:
      (void)surveyor::cli::format::read_evidence(in);
      (void)surveyor::cli::format::render_change(in);
      break;
  }
  return 0;
}
