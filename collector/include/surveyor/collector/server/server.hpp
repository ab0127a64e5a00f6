// SPDX-License-Identifier: Apache-2.0
// The collector's HTTP/1.1 server: its limits and timeouts, and a record of every finished
// request for metrics and access logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "surveyor/collector/server/router.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::server {

enum class ServerErrc { bad_address = 1, cannot_listen, bad_tls };
const std::error_category& server_category();
inline std::error_code make_error_code(ServerErrc e) { return {static_cast<int>(e), server_category()}; }

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (see Server::port())
  std::size_t io_threads = 2;
  std::size_t worker_threads = 4;  // everything but ingest
  // Agents' requests (these paths) run on a pool of their own, so heavy
  // queries cannot starve ingest.
  std::size_t ingest_threads = 2;
  std::vector<std::string> ingest_paths{"/api/v1/reports", "/api/v1/enroll"};
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds request_timeout{30'000};  // to receive one whole request, idle included
  std::size_t max_connections = 10'000;
  // Per pool; beyond this, 429 with Retry-After. Also the most agents'
  // requests waiting for an answer without a thread (Router::dispatch_async);
  // beyond, they take the ingest pool.
  std::size_t max_queued_requests = 1024;
  // Both set: HTTPS only, with this certificate chain and key (PEM files).
  std::string tls_cert_file;
  std::string tls_key_file;
};

// One line per finished request, for metrics and access logs.
struct RequestRecord {
  std::string method;
  std::string route;  // router name, or "-" for unmatched / rejected
  unsigned status = 0;
  double seconds = 0;
};

// HTTP/1.1 server over Beast: keep-alive, body and header limits, timeouts.
// Design: N I/O threads run the accept loop and one coroutine per connection,
// each on its own strand. Handlers run on a separate worker pool so a slow
// store never stalls the I/O threads. stop() stops accepting, lets requests
// in flight finish for a grace period, then closes everything.
class Server {
 public:
  Server(ServerOptions options, std::shared_ptr<const Router> router,
         std::function<void(const RequestRecord&)> observer = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the threads. Fails if the address cannot be bound.
  [[nodiscard]] core::Status start();
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] bool tls() const;
  // Loads a new certificate chain and key (a rotated certificate): new
  // connections use them, connections open keep theirs. On failure the one
  // in use stays. Only for a server started with TLS.
  [[nodiscard]] core::Status reload_tls(const std::string& cert_file, const std::string& key_file);
  // TLS handshakes that failed (a client that does not trust the
  // certificate, a port scanner, plain HTTP sent to the HTTPS port).
  [[nodiscard]] std::uint64_t handshake_failures() const;
  // TLS handshakes that resumed an earlier session (a client reconnecting
  // without a new key exchange).
  [[nodiscard]] std::uint64_t resumed_handshakes() const;
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds{5000});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace surveyor::collector::server

template <>
struct std::is_error_code_enum<surveyor::collector::server::ServerErrc> : std::true_type {};
