// SPDX-License-Identifier: Apache-2.0
// TLS for the HTTP client on mbed TLS 2.28 (see tls_stream.hpp).
#include "tls_stream.hpp"

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "surveyor/core/crypto.hpp"
#include "surveyor/http/client.hpp"
#include "surveyor/http/x509_names.hpp"

namespace surveyor::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;

constexpr const char* kSystemBundle = "/etc/ssl/certs/ca-certificates.crt";
constexpr const char* kSystemDir = "/etc/ssl/certs";

std::string mbedtls_message(int code) {
  char buf[160];
  mbedtls_strerror(code, buf, sizeof buf);
  return buf;
}

core::Error config_error(std::string message) { return core::make_error(HttpErrc::tls, std::move(message)); }

}  // namespace

std::string ip_address_bytes(const std::string& host) {
  unsigned char b[16];
  if (inet_pton(AF_INET, host.c_str(), b) == 1) return std::string(reinterpret_cast<char*>(b), 4);
  if (inet_pton(AF_INET6, host.c_str(), b) == 1) return std::string(reinterpret_cast<char*>(b), 16);
  return {};
}

// Extensions ::= SEQUENCE OF Extension, Extension ::= SEQUENCE { extnID,
// critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING holding
// GeneralNames }, and an iPAddress is [7]; mbed TLS's ASN.1 readers check
// every length against the end.
bool extensions_name_ip(const unsigned char* extensions, std::size_t size, std::string_view ip) {
  if (extensions == nullptr || ip.empty()) return false;
  auto* p = const_cast<unsigned char*>(extensions);
  const unsigned char* end = p + size;
  std::size_t len = 0;
  if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0) return false;
  end = p + len;
  while (p < end) {
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0) return false;
    unsigned char* const ext_end = p + len;
    mbedtls_asn1_buf oid;
    oid.tag = MBEDTLS_ASN1_OID;
    if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len, MBEDTLS_ASN1_OID) != 0) return false;
    oid.p = p;
    p += oid.len;
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid) != 0) {
      p = ext_end;
      continue;
    }
    int critical = 0;
    (void)mbedtls_asn1_get_bool(&p, ext_end, &critical);
    if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0) return false;
    const unsigned char* names_end = p + len;
    if (mbedtls_asn1_get_tag(&p, names_end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0) return false;
    names_end = p + len;
    while (p < names_end) {
      const unsigned char tag = *p++;
      if (mbedtls_asn1_get_len(&p, names_end, &len) != 0) return false;
      if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == ip.size() && std::memcmp(p, ip.data(), len) == 0)
        return true;
      p += len;
    }
    return false;
  }
  return false;
}

namespace detail {

Trust::Trust() {
  mbedtls_ssl_config_init(&conf_);
  mbedtls_x509_crt_init(&ca_);
  mbedtls_entropy_init(&entropy_);
  mbedtls_ctr_drbg_init(&drbg_);
  mbedtls_ssl_session_init(&session_);
}

Trust::~Trust() {
  mbedtls_ssl_session_free(&session_);
  mbedtls_ctr_drbg_free(&drbg_);
  mbedtls_entropy_free(&entropy_);
  mbedtls_x509_crt_free(&ca_);
  mbedtls_ssl_config_free(&conf_);
}

core::Result<std::shared_ptr<Trust>> Trust::make(const std::string& ca_file, const std::string& pin_sha256) {
  if (!pin_sha256.empty() && !valid_pin(pin_sha256))
    return config_error("pin_sha256 must be 64 hex digits (the SHA-256 of the server key's SPKI)");
  std::shared_ptr<Trust> t(new Trust());
  t->pin_ = pin_sha256;
  std::transform(t->pin_.begin(), t->pin_.end(), t->pin_.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // A pin alone: the chain is not checked, the key is (after the handshake).
  t->check_chain_ = !ca_file.empty() || pin_sha256.empty();
  if (!ca_file.empty()) {
    const int r = mbedtls_x509_crt_parse_file(&t->ca_, ca_file.c_str());
    if (r != 0 || t->ca_.version == 0)
      return config_error("cannot load the CA file " + ca_file + ": " +
                          (r < 0 ? mbedtls_message(r) : std::string("not every certificate in it is valid")));
  } else if (t->check_chain_) {
    // The system's CAs: Debian's bundle, else the directory (some of its
    // certificates may be of kinds mbed TLS does not read: those are left out).
    int r = mbedtls_x509_crt_parse_file(&t->ca_, kSystemBundle);
    if (r < 0 || t->ca_.version == 0) r = mbedtls_x509_crt_parse_path(&t->ca_, kSystemDir);
    if (r < 0 || t->ca_.version == 0)
      return config_error(std::string("cannot load the system's CA certificates from ") + kSystemBundle);
  }
  if (mbedtls_ssl_config_defaults(&t->conf_, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                  MBEDTLS_SSL_PRESET_DEFAULT) != 0)
    return config_error("cannot set up TLS");
  static const char kPersonal[] = "surveyor-http-client";
  if (const int r = mbedtls_ctr_drbg_seed(&t->drbg_, mbedtls_entropy_func, &t->entropy_,
                                          reinterpret_cast<const unsigned char*>(kPersonal), sizeof kPersonal - 1);
      r != 0)
    return config_error("cannot seed the random generator: " + mbedtls_message(r));
  mbedtls_ssl_conf_rng(&t->conf_, mbedtls_ctr_drbg_random, &t->drbg_);
  mbedtls_ssl_conf_min_version(&t->conf_, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);  // TLS 1.2
  // Key exchange on X25519, else P-256: mbed TLS's default order puts P-521
  // first, which the collector (OpenSSL, honouring the client's order)
  // picked, at twice the handshake's cost (docs/benchmarks.md).
  static const mbedtls_ecp_group_id kCurves[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
                                                 MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};
  mbedtls_ssl_conf_curves(&t->conf_, kCurves);
  mbedtls_ssl_conf_authmode(&t->conf_, t->check_chain_ ? MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_OPTIONAL);
  if (t->check_chain_) mbedtls_ssl_conf_ca_chain(&t->conf_, &t->ca_, nullptr);
  return t;
}

TlsStream::TlsStream(asio::io_context& io, std::shared_ptr<Trust> trust) : tcp_(io), trust_(std::move(trust)) {
  mbedtls_ssl_init(&ssl_);
}

TlsStream::~TlsStream() { mbedtls_ssl_free(&ssl_); }

int TlsStream::send_cb(void* self, const unsigned char* buf, std::size_t len) {
  static_cast<TlsStream*>(self)->out_.append(reinterpret_cast<const char*>(buf), len);
  return static_cast<int>(len);
}

int TlsStream::recv_cb(void* self, unsigned char* buf, std::size_t len) {
  auto* s = static_cast<TlsStream*>(self);
  if (s->in_pos_ == s->in_len_) return s->eof_ ? 0 : MBEDTLS_ERR_SSL_WANT_READ;
  const std::size_t n = std::min(len, s->in_len_ - s->in_pos_);
  std::memcpy(buf, s->in_.data() + s->in_pos_, n);
  s->in_pos_ += n;
  return static_cast<int>(n);
}

// mbed TLS checks a name against the certificate's DNS names and common
// name; an address is checked here against its IP addresses instead.
int TlsStream::verify_cb(void* self, mbedtls_x509_crt* crt, int depth, std::uint32_t* flags) {
  auto* s = static_cast<TlsStream*>(self);
  if (depth != 0 || !s->trust_->check_chain_) return 0;
  const std::string ip = ip_address_bytes(s->host_);
  if (ip.empty()) return 0;
  if (extensions_name_ip(crt->v3_ext.p, crt->v3_ext.len, ip))
    *flags &= ~static_cast<std::uint32_t>(MBEDTLS_X509_BADCERT_CN_MISMATCH);
  else
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
  return 0;
}

asio::awaitable<beast::error_code> TlsStream::flush() {
  beast::error_code ec;
  if (out_.empty()) co_return ec;
  co_await asio::async_write(tcp_, asio::buffer(out_), asio::redirect_error(asio::use_awaitable, ec));
  out_.clear();
  co_return ec;
}

asio::awaitable<beast::error_code> TlsStream::fill() {
  beast::error_code ec;
  const std::size_t n = co_await tcp_.async_read_some(asio::buffer(in_), asio::redirect_error(asio::use_awaitable, ec));
  in_len_ = n;
  in_pos_ = 0;
  if (ec == asio::error::eof) {
    eof_ = true;
    ec = {};
  }
  co_return ec;
}

// Runs one mbed TLS call until it has done more than wait for bytes: what it
// wrote is sent, and it is called again once bytes have come in.
template <class Step>
asio::awaitable<std::pair<beast::error_code, int>> TlsStream::drive(Step step) {
  for (;;) {
    const int r = step();
    if (auto ec = co_await flush()) co_return std::pair{ec, r};
    if (r == MBEDTLS_ERR_SSL_WANT_READ) {
      if (auto ec = co_await fill()) co_return std::pair{ec, r};
      continue;
    }
    if (r == MBEDTLS_ERR_SSL_WANT_WRITE) continue;  // sent by flush
    co_return std::pair{beast::error_code{}, r};
  }
}

asio::awaitable<beast::error_code> TlsStream::handshake(const std::string& host) {
  const beast::error_code failed = make_error_code(boost::system::errc::protocol_error);
  host_ = host;
  failure_.clear();
  if (int r = mbedtls_ssl_setup(&ssl_, &trust_->conf_); r != 0) {
    failure_ = "cannot set up TLS: " + mbedtls_message(r);
    co_return failed;
  }
  // The name is sent (SNI) and, for a DNS name, checked by mbed TLS.
  if (int r = mbedtls_ssl_set_hostname(&ssl_, host.c_str()); r != 0) {
    failure_ = "cannot use the server name " + host + ": " + mbedtls_message(r);
    co_return failed;
  }
  mbedtls_ssl_set_verify(&ssl_, &TlsStream::verify_cb, this);
  mbedtls_ssl_set_bio(&ssl_, this, &TlsStream::send_cb, &TlsStream::recv_cb, nullptr);
  if (trust_->has_session_) (void)mbedtls_ssl_set_session(&ssl_, &trust_->session_);

  auto [ec, r] = co_await drive([this] { return mbedtls_ssl_handshake(&ssl_); });
  if (ec) co_return ec;
  if (r != 0) {
    trust_->has_session_ = false;  // not worth resuming
    const std::uint32_t flags = mbedtls_ssl_get_verify_result(&ssl_);
    if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) != 0) {
      failure_ = "the server's certificate does not name " + host + " (name mismatch)";
    } else if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags != 0) {
      char buf[512];
      const int n = mbedtls_x509_crt_verify_info(buf, sizeof buf, "", flags);
      std::string why = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("not trusted");
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      std::replace(why.begin(), why.end(), '\n', ';');
      failure_ = "the server's certificate is not trusted: " + why;
    } else {
      failure_ = mbedtls_message(r);
    }
    co_return failed;
  }
  if (!trust_->pin_.empty()) {
    const mbedtls_x509_crt* peer = mbedtls_ssl_get_peer_cert(&ssl_);
    if (peer == nullptr) {
      failure_ = "the server sent no certificate";
      co_return failed;
    }
    // The pin is the SHA-256 of the DER SubjectPublicKeyInfo.
    const std::string pin = core::sha256_hex(
        std::string_view(reinterpret_cast<const char*>(peer->pk_raw.p), peer->pk_raw.len));
    if (pin != trust_->pin_) {
      trust_->has_session_ = false;
      failure_ = "the server's key does not match pin_sha256 (it is " + pin + ")";
      co_return failed;
    }
  }
  // Kept for the next connection, which resumes it when the server agrees.
  mbedtls_ssl_session_free(&trust_->session_);
  mbedtls_ssl_session_init(&trust_->session_);
  trust_->has_session_ = mbedtls_ssl_get_session(&ssl_, &trust_->session_) == 0;
  co_return beast::error_code{};
}

asio::awaitable<TlsStream::result> TlsStream::read_some(asio::mutable_buffer b) {
  if (b.size() == 0) co_return result{};
  auto [ec, r] = co_await drive(
      [this, b] { return mbedtls_ssl_read(&ssl_, static_cast<unsigned char*>(b.data()), b.size()); });
  if (ec) co_return result{ec, 0};
  if (r > 0) co_return result{beast::error_code{}, static_cast<std::size_t>(r)};
  if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == MBEDTLS_ERR_SSL_CONN_EOF)
    co_return result{asio::error::eof, 0};
  failure_ = mbedtls_message(r);
  co_return result{make_error_code(boost::system::errc::protocol_error), 0};
}

asio::awaitable<TlsStream::result> TlsStream::write_some(asio::const_buffer b) {
  if (b.size() == 0) co_return result{};
  auto [ec, r] = co_await drive(
      [this, b] { return mbedtls_ssl_write(&ssl_, static_cast<const unsigned char*>(b.data()), b.size()); });
  if (ec) co_return result{ec, 0};
  if (r > 0) co_return result{beast::error_code{}, static_cast<std::size_t>(r)};
  failure_ = mbedtls_message(r);
  co_return result{make_error_code(boost::system::errc::protocol_error), 0};
}

}  // namespace detail
}  // namespace surveyor::http
