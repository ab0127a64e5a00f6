// SPDX-License-Identifier: Apache-2.0
// `surveyor-collector certs init`: a small CA and a server certificate for a
// quick start (ECDSA P-256, SHA-256 signatures).
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "surveyor/core/error_category.hpp"
#include "surveyor/tls/tls.hpp"

namespace surveyor::tls {
namespace {

enum class CertErrc { failed = 1, exists, io };
const core::TableCategory kCategory("certs", {{CertErrc::failed, "cannot make certificates"},
                                              {CertErrc::exists, "file exists"},
                                              {CertErrc::io, "cannot write"}});

core::Error cert_error(CertErrc c, std::string message) {
  return core::Error{std::error_code(static_cast<int>(c), kCategory), std::move(message)};
}

struct Free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;

bool is_ip(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key`, named `cn`, valid from an hour ago for `days`.
Cert new_cert(EVP_PKEY* key, const std::string& cn, int days) {
  Cert c(X509_new());
  if (!c) return c;
  X509_set_version(c.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), static_cast<long>(days) * 86'400);
  X509_set_pubkey(c.get(), key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(c.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return c;
}

// Creates `path` (never over an existing file) with `mode` and the PEM
// `write` puts in it.
template <class F>
core::Status write_pem(const std::string& path, mode_t mode, F&& write) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    return cert_error(errno == EEXIST ? CertErrc::exists : CertErrc::io, path + ": " + std::strerror(errno));
  FILE* f = fdopen(fd, "w");
  if (f == nullptr) {
    ::close(fd);
    return cert_error(CertErrc::io, path);
  }
  const bool ok = write(f);
  if (std::fclose(f) != 0 || !ok) return cert_error(CertErrc::io, path);
  return {};
}

}  // namespace

core::Result<std::string> make_quick_start(const std::string& dir, const std::vector<std::string>& hosts, int days) {
  if (hosts.empty()) return cert_error(CertErrc::failed, "name at least one host (--host NAME or address)");
  for (const char* name : {"ca.pem", "ca-key.pem", "server.pem", "server-key.pem"})
    if (std::filesystem::exists(std::filesystem::path(dir) / name))
      return cert_error(CertErrc::exists, dir + "/" + name + " exists: not overwritten");
  std::error_code fec;
  std::filesystem::create_directories(dir, fec);
  if (fec) return cert_error(CertErrc::io, dir + ": " + fec.message());

  Key ca_key(EVP_EC_gen("P-256"));
  Key server_key(EVP_EC_gen("P-256"));
  if (!ca_key || !server_key) return cert_error(CertErrc::failed, "cannot make ECDSA keys");

  Cert ca = new_cert(ca_key.get(), "Surveyor quick-start CA", 3650);
  if (!ca) return cert_error(CertErrc::failed, "cannot make the CA certificate");
  X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get()));
  if (!add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash") ||
      X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0)
    return cert_error(CertErrc::failed, "cannot sign the CA certificate");

  Cert server = new_cert(server_key.get(), hosts.front(), days);
  if (!server) return cert_error(CertErrc::failed, "cannot make the server certificate");
  X509_set_issuer_name(server.get(), X509_get_subject_name(ca.get()));
  std::string san;
  for (const std::string& h : hosts) san += (san.empty() ? "" : ",") + std::string(is_ip(h) ? "IP:" : "DNS:") + h;
  if (!add_ext(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_ext(server.get(), ca.get(), NID_key_usage, "critical,digitalSignature") ||
      !add_ext(server.get(), ca.get(), NID_ext_key_usage, "serverAuth") ||
      !add_ext(server.get(), ca.get(), NID_subject_alt_name, san) ||
      !add_ext(server.get(), ca.get(), NID_authority_key_identifier, "keyid") ||
      X509_sign(server.get(), ca_key.get(), EVP_sha256()) == 0)
    return cert_error(CertErrc::failed, "cannot sign the server certificate (hosts: " + san + ")");

  const std::string d = dir + "/";
  auto key_writer = [](EVP_PKEY* k) {
    return [k](FILE* f) { return PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr) == 1; };
  };
  auto cert_writer = [](X509* c) { return [c](FILE* f) { return PEM_write_X509(f, c) == 1; }; };
  if (auto st = write_pem(d + "ca-key.pem", 0600, key_writer(ca_key.get())); !st) return std::move(st).error();
  if (auto st = write_pem(d + "ca.pem", 0644, cert_writer(ca.get())); !st) return std::move(st).error();
  if (auto st = write_pem(d + "server-key.pem", 0600, key_writer(server_key.get())); !st) return std::move(st).error();
  if (auto st = write_pem(d + "server.pem", 0644, cert_writer(server.get())); !st) return std::move(st).error();
  return pin_of_certificate_file(d + "server.pem");
}

}  // namespace surveyor::tls
