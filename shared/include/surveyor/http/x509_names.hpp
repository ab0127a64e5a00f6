// SPDX-License-Identifier: Apache-2.0
// What a server certificate names, beyond what mbed TLS 2.28 checks itself
// (DNS names and the common name): its IP addresses.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace surveyor::http {

// Whether `extensions`, a certificate's DER X.509 v3 Extensions (SEQUENCE OF
// Extension), list the address `ip` (its 4 or 16 bytes) as an iPAddress of
// their subjectAltName. Malformed input is no match, never read past its end.
[[nodiscard]] bool extensions_name_ip(const unsigned char* extensions, std::size_t size, std::string_view ip);

// The 4 or 16 bytes of `host` when it is an IPv4 or IPv6 literal, "" otherwise.
[[nodiscard]] std::string ip_address_bytes(const std::string& host);

}  // namespace surveyor::http
