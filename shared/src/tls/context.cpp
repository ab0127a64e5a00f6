// SPDX-License-Identifier: Apache-2.0
// TLS contexts for clients and the server, and public-key pins.
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "surveyor/core/error_category.hpp"
#include "surveyor/tls/tls.hpp"

namespace surveyor::tls {
namespace {

namespace ssl = boost::asio::ssl;

enum class TlsErrc { config = 1, untrusted };
const core::TableCategory kCategory("tls", {{TlsErrc::config, "TLS configuration"},
                                            {TlsErrc::untrusted, "server not trusted"}});

core::Error tls_error(TlsErrc c, std::string message) {
  return core::Error{std::error_code(static_cast<int>(c), kCategory), std::move(message)};
}

// The newest OpenSSL error as text ("" when none).
std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return {};
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
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

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

bool valid_pin(std::string_view pin) {
  return pin.size() == 64 && std::all_of(pin.begin(), pin.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

core::Result<Context> client_context(const ClientTrust& trust) {
  if (!trust.pin_sha256.empty() && !valid_pin(trust.pin_sha256))
    return tls_error(TlsErrc::config, "pin_sha256 must be 64 hex digits (the SHA-256 of the server key's SPKI)");
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  if (!trust.ca_file.empty()) {
    ctx->load_verify_file(trust.ca_file, ec);
    if (ec) return tls_error(TlsErrc::config, "cannot load the CA file " + trust.ca_file + ": " + ec.message());
  } else if (trust.pin_sha256.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) return tls_error(TlsErrc::config, "cannot load the system's CA certificates: " + ec.message());
  }
  ctx->set_verify_mode(ssl::verify_peer);
  // A pin alone: the chain is not checked, the key is (check_pin).
  if (trust.ca_file.empty() && !trust.pin_sha256.empty())
    ctx->set_verify_callback([](bool, ssl::verify_context&) { return true; });
  return ctx;
}

core::Status prepare_client(ssl_st* ssl, const std::string& host, const ClientTrust& trust) {
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1)
    return tls_error(TlsErrc::config, "cannot set the server name " + host + ": " + openssl_error());
  if (!trust.ca_file.empty() || trust.pin_sha256.empty()) {
    // The certificate must name the host (DNS name or IP address).
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const bool is_ip = X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
    if (!is_ip && X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1)
      return tls_error(TlsErrc::config, "cannot check the server name " + host + ": " + openssl_error());
    ERR_clear_error();
  }
  return {};
}

std::string verify_failure(ssl_st* ssl) {
  const long v = SSL_get_verify_result(ssl);
  return v == X509_V_OK ? std::string() : X509_verify_cert_error_string(v);
}

core::Status check_pin(ssl_st* ssl, const ClientTrust& trust) {
  if (trust.pin_sha256.empty()) return {};
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return tls_error(TlsErrc::untrusted, "the server sent no certificate");
  const std::string pin = spki_pin(cert);
  X509_free(cert);
  if (pin != lower(trust.pin_sha256))
    return tls_error(TlsErrc::untrusted, "the server's key does not match pin_sha256 (it is " + pin + ")");
  return {};
}

core::Result<Context> server_context(const std::string& cert_file, const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression | ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) return tls_error(TlsErrc::config, "cannot load the certificate " + cert_file + ": " + ec.message());
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return tls_error(TlsErrc::config, "cannot load the key " + key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    return tls_error(TlsErrc::config, key_file + " is not the key of " + cert_file);
  return ctx;
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
