// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the walk over a server certificate's v3 extensions that finds
// the IP addresses of its subjectAltName. Whatever the bytes, it stays inside
// them and a match is an address listed in them.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "surveyor/http/x509_names.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (const char* host : {"127.0.0.1", "::1"}) {
    const std::string ip = surveyor::http::ip_address_bytes(host);
    if (!surveyor::http::extensions_name_ip(data, size, ip)) continue;
    // A match is the tag [7], the length and the address, in the input.
    const std::string needle = std::string{'\x87', static_cast<char>(ip.size())} + ip;
    if (size < needle.size() ||
        std::search(data, data + size, needle.begin(), needle.end(),
                    [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); }) == data + size)
      __builtin_trap();
  }
  return 0;
}
