// SPDX-License-Identifier: Apache-2.0
// Hashing and randomness. SHA-256 comes from Nettle, which every Debian
// system already has (GnuTLS uses it) and which costs the agent ~100 KB of
// memory where OpenSSL's libcrypto costs over 3 MB; random bytes come from
// the kernel (getrandom).
#include "surveyor/core/crypto.hpp"

#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <sys/random.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

namespace surveyor::core {
namespace {

std::string to_hex(const unsigned char* p, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  hmac_sha256_ctx ctx;
  hmac_sha256_set_key(&ctx, key.size(), reinterpret_cast<const std::uint8_t*>(key.data()));
  hmac_sha256_update(&ctx, data.size(), reinterpret_cast<const std::uint8_t*>(data.data()));
  std::uint8_t md[SHA256_DIGEST_SIZE];
  hmac_sha256_digest(&ctx, sizeof md, md);
  return to_hex(md, sizeof md);
}

std::string sha256_hex(std::string_view data) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, data.size(), reinterpret_cast<const std::uint8_t*>(data.data()));
  std::uint8_t md[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, sizeof md, md);
  return to_hex(md, sizeof md);
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  std::size_t done = 0;
  while (done < bytes) {
    const ssize_t n = ::getrandom(buf.data() + done, bytes - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("the kernel's random number generator is unavailable");
    }
    done += static_cast<std::size_t>(n);
  }
  return to_hex(buf.data(), buf.size());
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return nettle_memeql_sec(a.data(), b.data(), a.size()) != 0;
}

}  // namespace surveyor::core
