// SPDX-License-Identifier: Apache-2.0
// TLS to Redis (rediss://) for hiredis 0.14, which has none of its own
// (Debian 12 ships 0.14.1; TLS came in hiredis 1.0). Each connection is a
// TLS stream to Redis, verified like every other link, whose plaintext is
// carried over a local socket pair: hiredis gets one end (redisConnectFd)
// and a thread shared by all the pool's connections relays between the
// other end and TLS.
// Closing hiredis's end (redisFree) ends the relay and the TLS connection;
// a TLS connection that Redis closes or that fails closes the local socket,
// so hiredis sees a broken connection and the pool opens a new one. As for
// plain connections, the process must ignore SIGPIPE (surveyor-collector
// does): hiredis writes with write(2).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "surveyor/core/result.hpp"

namespace surveyor::collector::redis {

struct TlsFiles {
  std::string ca_file;    // PEM CAs that sign Redis's certificate; "" the system's
  std::string cert_file;  // PEM client certificate, for Redis' tls-auth-clients
  std::string key_file;   // its key
};

class TlsTunnel {
 public:
  // Loads the CA file and the client certificate (when given).
  static core::Result<std::shared_ptr<TlsTunnel>> make(const TlsFiles& files);
  ~TlsTunnel();
  TlsTunnel(const TlsTunnel&) = delete;
  TlsTunnel& operator=(const TlsTunnel&) = delete;

  // Connects to host:port, completes a verified handshake (the certificate
  // must name `host`) within `timeout`, and returns the file descriptor of
  // the local end that carries its plaintext; the caller owns it.
  [[nodiscard]] core::Result<int> open(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit TlsTunnel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace surveyor::collector::redis
