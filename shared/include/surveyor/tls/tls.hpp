// SPDX-License-Identifier: Apache-2.0
// TLS for every link (OpenSSL 3 through Asio's ssl stream): what a client
// trusts, the contexts of clients and of the server, public-key pins, and the
// quick-start certificates of `surveyor-collector certs init`.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/core/result.hpp"

namespace boost::asio::ssl {
class context;
}
struct ssl_st;

namespace surveyor::tls {

// How a client checks the server it reaches over https. The certificate
// chain is verified against `ca_file` (PEM), or the system's CAs when it is
// empty, and the name against the URL's host; with `pin_sha256` (the server
// key's SubjectPublicKeyInfo SHA-256, 64 hex digits) the key must be that
// one too. A pin without a ca_file is checked alone: the collector's own
// certificate, not signed by any CA the client knows, is then trusted by its
// key.
struct ClientTrust {
  std::string ca_file;
  std::string pin_sha256;
};

using Context = std::shared_ptr<boost::asio::ssl::context>;

// A client context (TLS 1.2 or later) that verifies peers as `trust` says;
// an unreadable ca_file or a malformed pin is an error.
[[nodiscard]] core::Result<Context> client_context(const ClientTrust& trust);
// Prepares a client connection to `host`: its name sent (SNI) and checked
// against the certificate unless only a pin is checked.
[[nodiscard]] core::Status prepare_client(ssl_st* ssl, const std::string& host, const ClientTrust& trust);
// Why a client's handshake failed verification ("" when it did not).
[[nodiscard]] std::string verify_failure(ssl_st* ssl);
// After the handshake: the pin, when there is one, against the peer's key.
[[nodiscard]] core::Status check_pin(ssl_st* ssl, const ClientTrust& trust);

// A server context (TLS 1.2 or later) from PEM files: the certificate chain
// and its private key (which must match).
[[nodiscard]] core::Result<Context> server_context(const std::string& cert_file, const std::string& key_file);

// Whether `pin` is 64 hex digits.
[[nodiscard]] bool valid_pin(std::string_view pin);
// The pin of the first certificate in a PEM file: the SHA-256 of its public
// key's DER SubjectPublicKeyInfo, lower-case hex (what `openssl x509 -pubkey
// -noout | openssl pkey -pubin -outform der | sha256sum` prints).
[[nodiscard]] core::Result<std::string> pin_of_certificate_file(const std::string& path);

// A small CA and a server certificate signed by it, for a quick start: in
// `dir`, ca.pem (the CA's certificate: agents' ca_file), ca-key.pem,
// server.pem and server-key.pem (the collector's --tls-cert, --tls-key);
// keys are ECDSA P-256, files of keys mode 0600. The server certificate
// names every host (DNS names or IP addresses) and lasts `days`. Existing
// files are not overwritten. Returns the server key's pin.
[[nodiscard]] core::Result<std::string> make_quick_start(const std::string& dir, const std::vector<std::string>& hosts,
                                                         int days = 825);

}  // namespace surveyor::tls
