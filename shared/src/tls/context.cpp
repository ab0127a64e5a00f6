// SPDX-License-Identifier: Apache-2.0
// The server's TLS context, and public-key pins of certificate files.
#include <boost/asio/ssl/context.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>

#include "surveyor/core/error_category.hpp"
#include "surveyor/tls/tls.hpp"

namespace surveyor::tls {
namespace {

namespace ssl = boost::asio::ssl;

enum class TlsErrc { config = 1 };
const core::TableCategory kCategory("tls", {{TlsErrc::config, "TLS configuration"}});

core::Error tls_error(TlsErrc c, std::string message) {
  return core::Error{std::error_code(static_cast<int>(c), kCategory), std::move(message)};
}

std::string spki_pin(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  const bool ok = EVP_Digest(der, static_cast<std::size_t>(len), md, &md_len, EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  if (!ok) return {};
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < md_len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

}  // namespace

core::Result<Context> server_context(const std::string& cert_file, const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression | ssl::context::single_dh_use);
  if (auto st = use_key_pair(*ctx, cert_file, key_file); !st) return std::move(st).error();
  return ctx;
}

core::Status use_key_pair(ssl::context& ctx, const std::string& cert_file, const std::string& key_file) {
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) return tls_error(TlsErrc::config, "cannot load the certificate " + cert_file + ": " + ec.message());
  ctx.use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return tls_error(TlsErrc::config, "cannot load the key " + key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
    return tls_error(TlsErrc::config, key_file + " is not the key of " + cert_file);
  return {};
}

core::Result<std::string> pin_of_certificate_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return tls_error(TlsErrc::config, "cannot read " + path);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) return tls_error(TlsErrc::config, path + " holds no PEM certificate");
  std::string pin = spki_pin(cert);
  X509_free(cert);
  return pin;
}

}  // namespace surveyor::tls
