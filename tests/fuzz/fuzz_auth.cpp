// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the Authorization header as the collector reads it, for
// operators' tokens and agents' "ID:KEY" alike. Whatever comes back must be
// the header's own tail, non-empty and of token68 characters only.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "surveyor/http/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view header(reinterpret_cast<const char*>(data), size);
  const std::string_view credentials = surveyor::http::bearer_credentials(header);
  if (credentials.empty()) return 0;
  if (credentials.data() < header.data() || credentials.data() + credentials.size() > header.data() + header.size())
    __builtin_trap();
  for (char c : credentials)
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && std::string_view("-._~+/:=").find(c) == std::string_view::npos)
      __builtin_trap();
  if (header.size() < 7 || (header[0] | 0x20) != 'b') __builtin_trap();
  return 0;
}
