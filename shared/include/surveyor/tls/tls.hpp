// SPDX-License-Identifier: Apache-2.0
// The collector's side of TLS (OpenSSL 3 through Asio's ssl stream): the
// server's context, public-key pins of certificate files, and the
// quick-start certificates of `surveyor-collector certs init`. Clients
// (agent, command line, webhooks) use mbed TLS inside the HTTP client.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/core/result.hpp"

namespace boost::asio::ssl {
class context;
}

namespace surveyor::tls {

using Context = std::shared_ptr<boost::asio::ssl::context>;

// A server context (TLS 1.2 or later) from PEM files: the certificate chain
// and its private key (which must match).
[[nodiscard]] core::Result<Context> server_context(const std::string& cert_file, const std::string& key_file);

// Loads a PEM certificate chain and its private key into `ctx` (a server's,
// or a client's that presents a certificate); a key that is not the
// certificate's is an error.
[[nodiscard]] core::Status use_key_pair(boost::asio::ssl::context& ctx, const std::string& cert_file,
                                        const std::string& key_file);

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
