// SPDX-License-Identifier: Apache-2.0
// Hashing and secrets: SHA-256, HMAC-SHA256, random hex from the CSPRNG, and constant-time
// comparison.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace surveyor::core {

// Lower-case hex SHA-256 of the bytes.
[[nodiscard]] std::string sha256_hex(std::string_view data);

// Lower-case hex HMAC-SHA256 (RFC 2104) of the bytes under `key`.
[[nodiscard]] std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// `bytes` bytes from the operating system's CSPRNG, as lower-case hex.
// Throws std::runtime_error only if the CSPRNG is unavailable.
[[nodiscard]] std::string random_hex(std::size_t bytes);

// Compares in time independent of where the inputs differ (for secrets).
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace surveyor::core
