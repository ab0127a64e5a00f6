// SPDX-License-Identifier: Apache-2.0
// The HTTP client's TLS, on mbed TLS 2.28 (private to the http module): what
// a client trusts, loaded once per Client, and a stream over Beast's
// tcp_stream that Beast's HTTP reads and writes run on.
// Design: mbed TLS reads and writes through two callbacks that only move
// bytes between it and this stream's buffers; each call into it is driven by
// a coroutine that sends what it wrote and reads from the socket when it
// waits, so the deadline and cancellation of the tcp_stream cover TLS too.
// mbed TLS rather than OpenSSL keeps the agent small: its three libraries
// map 0.8 MB where libssl and libcrypto map 5.3 MB (docs/security.md).
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <array>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "surveyor/core/result.hpp"

namespace surveyor::http::detail {

// What the connections of one Client trust, and its last TLS session (for
// resumption: a reconnect then skips the key exchange and the chain).
class Trust {
 public:
  // A chain checked against `ca_file` (PEM; "" the system's CAs) unless only
  // a pin is given; a pin (64 hex digits) checked against the server's key.
  static core::Result<std::shared_ptr<Trust>> make(const std::string& ca_file, const std::string& pin_sha256);
  ~Trust();
  Trust(const Trust&) = delete;
  Trust& operator=(const Trust&) = delete;

 private:
  Trust();
  friend class TlsStream;
  mbedtls_ssl_config conf_;
  mbedtls_x509_crt ca_;
  mbedtls_entropy_context entropy_;
  mbedtls_ctr_drbg_context drbg_;
  mbedtls_ssl_session session_;
  bool has_session_ = false;
  bool check_chain_ = true;
  std::string pin_;  // lower-case hex, "" none
};

class TlsStream : public std::enable_shared_from_this<TlsStream> {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;
  using result = std::pair<boost::beast::error_code, std::size_t>;

  TlsStream(boost::asio::io_context& io, std::shared_ptr<Trust> trust);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  boost::beast::tcp_stream& next_layer() { return tcp_; }
  executor_type get_executor() { return tcp_.get_executor(); }

  // The handshake with `host` on the connected tcp_stream: the chain, the
  // name and the pin are checked before it returns. Its error is the
  // socket's (timeout, cancelled, reset), or protocol_error with failure()
  // saying why TLS failed.
  boost::asio::awaitable<boost::beast::error_code> handshake(const std::string& host);
  [[nodiscard]] const std::string& failure() const { return failure_; }  // "" none

  boost::asio::awaitable<result> read_some(boost::asio::mutable_buffer b);
  boost::asio::awaitable<result> write_some(boost::asio::const_buffer b);

  // Beast's AsyncReadStream and AsyncWriteStream.
  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    boost::asio::mutable_buffer first;
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
      first = *it;
      if (first.size() > 0) break;
    }
    return start(std::forward<Token>(token), [self = shared_from_this(), first] { return self->read_some(first); });
  }
  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    // One record of up to 16 KiB from the whole sequence (Beast's header and
    // body together), not one record per piece.
    const std::size_t n = boost::asio::buffer_copy(boost::asio::buffer(scratch_), buffers);
    return start(std::forward<Token>(token),
                 [self = shared_from_this(), n] { return self->write_some(boost::asio::buffer(self->scratch_.data(), n)); });
  }

 private:
  template <class Token, class Op>
  auto start(Token&& token, Op op) {
    return boost::asio::async_initiate<Token, void(boost::beast::error_code, std::size_t)>(
        [this](auto handler, Op op_) {
          boost::asio::co_spawn(tcp_.get_executor(), std::move(op_),
                                [h = std::move(handler)](std::exception_ptr e, result r) mutable {
                                  if (e) std::rethrow_exception(e);
                                  std::move(h)(r.first, r.second);
                                });
        },
        token, std::move(op));
  }

  static int send_cb(void* self, const unsigned char* buf, std::size_t len);
  static int recv_cb(void* self, unsigned char* buf, std::size_t len);
  static int verify_cb(void* self, mbedtls_x509_crt* crt, int depth, std::uint32_t* flags);
  boost::asio::awaitable<boost::beast::error_code> flush();
  boost::asio::awaitable<boost::beast::error_code> fill();
  template <class Step>
  boost::asio::awaitable<std::pair<boost::beast::error_code, int>> drive(Step step);

  boost::beast::tcp_stream tcp_;
  std::shared_ptr<Trust> trust_;
  mbedtls_ssl_context ssl_;
  std::string host_;
  std::string out_;  // written by mbed TLS, not yet sent
  std::array<unsigned char, 8192> in_{};
  std::size_t in_len_ = 0, in_pos_ = 0;
  bool eof_ = false;
  std::string failure_;
  std::array<char, 16384> scratch_{};
};

}  // namespace surveyor::http::detail
