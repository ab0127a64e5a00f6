// SPDX-License-Identifier: Apache-2.0
// The HTTP client: the URLs it accepts, an async client for one endpoint, and a blocking
// fetch for the command line.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/core/result.hpp"
#include "surveyor/http/message.hpp"

namespace boost::asio {
class io_context;
}

namespace surveyor::http {

enum class HttpErrc { bad_url = 1, resolve, connect, timeout, io, protocol, too_large, cancelled, tls };
const std::error_category& http_category();
inline std::error_code make_error_code(HttpErrc e) { return {static_cast<int>(e), http_category()}; }

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::uint16_t port = 80;
  std::string base_path;  // without a trailing slash ("" or "/surveyor")

  [[nodiscard]] std::string to_string() const;
};

// Accepts http://HOST[:PORT][/PATH] and https://HOST[:PORT][/PATH].
[[nodiscard]] core::Result<Url> parse_url(std::string_view text);
// URLs separated by commas (blanks around each ignored): several collectors
// sharing one store. Each must parse, and none may be empty.
[[nodiscard]] core::Result<std::vector<Url>> parse_url_list(std::string_view text);
// Whether two such lists name a common endpoint (false if either does not parse).
[[nodiscard]] bool share_an_endpoint(std::string_view a, std::string_view b);
// Whether a URL's host is this machine: "localhost", 127.0.0.0/8 or ::1.
[[nodiscard]] bool is_loopback(std::string_view host);
// Whether `pin` is a public-key pin: 64 hex digits.
[[nodiscard]] bool valid_pin(std::string_view pin);

struct ClientOptions {
  std::chrono::milliseconds timeout{10'000};  // whole request: connect, write, read
  std::size_t max_response_body = 16 * 1024 * 1024;
  std::string user_agent = "surveyor";
  // https: the server's certificate is verified against `ca_file` (PEM;
  // empty: the system's CAs) and must name the URL's host; with
  // `pin_sha256` (64 hex digits) its key must be that one as well, and a
  // pin without a ca_file is checked alone: the collector's own
  // certificate, not signed by any CA the client knows, is then trusted by
  // its key. The pin is the SHA-256 of the key's DER SubjectPublicKeyInfo.
  std::string ca_file;
  std::string pin_sha256;
};

// An HTTP/1.1 client for one endpoint, over TLS 1.2 (mbed TLS) for https.
// Nothing is sent before the server is verified: a failed verification is
// HttpErrc::tls. A reconnect resumes the last TLS session when it can.
// The connection is kept alive between
// requests and re-opened once when a kept-alive connection turns out closed.
// Not thread-safe: use it from the io_context's thread, one request at a time.
class Client {
 public:
  Client(boost::asio::io_context& io, Url endpoint, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `req` (its target is appended to the endpoint's base path). `done`
  // runs on the io_context's thread with the response, whatever its status,
  // or an HttpErrc.
  void async_request(Request req, std::function<void(core::Result<Response>)> done);

  // Aborts the request in flight, if any (its callback gets `cancelled`).
  void cancel();

  [[nodiscard]] const Url& endpoint() const;
  [[nodiscard]] const ClientOptions& options() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// One blocking request on a private io_context (for the command line).
[[nodiscard]] core::Result<Response> fetch(const Url& endpoint, Request req, ClientOptions options = {});

}  // namespace surveyor::http

template <>
struct std::is_error_code_enum<surveyor::http::HttpErrc> : std::true_type {};
