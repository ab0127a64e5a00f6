// SPDX-License-Identifier: Apache-2.0
// HTTP/1.1 client over Beast for the agent (async, on its io_context) and the
// command line (blocking, on a private io_context).
// Design: one request at a time per Client, run as a coroutine that owns a
// shared_ptr to the state. A whole-request deadline covers resolve, connect,
// write and read. A kept-alive connection that the server has closed in the
// meantime shows up as an error before any response byte; the request is then
// retried once on a fresh connection (reports are idempotent by sequence).
#include "surveyor/core/error_category.hpp"
#include "surveyor/http/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <optional>

#include "tls_stream.hpp"

namespace surveyor::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

}  // namespace

const std::error_category& http_category() {
  static const core::TableCategory c("http", {
      {HttpErrc::bad_url, "bad URL"},
      {HttpErrc::resolve, "cannot resolve host"},
      {HttpErrc::connect, "cannot connect"},
      {HttpErrc::timeout, "timed out"},
      {HttpErrc::io, "connection failed"},
      {HttpErrc::protocol, "bad HTTP response"},
      {HttpErrc::too_large, "response too large"},
      {HttpErrc::cancelled, "cancelled"},
      {HttpErrc::tls, "TLS failed"}});
  return c;
}

std::string_view find_header(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return v;
  }
  return {};
}

struct Client::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io_, Url url_, ClientOptions opts_)
      : io(io_), url(std::move(url_)), opts(std::move(opts_)), resolver(io_), timer(io_) {}

  asio::io_context& io;
  Url url;
  ClientOptions opts;
  tcp::resolver resolver;
  asio::steady_timer timer;
  // A plain connection, or a TLS one (https); `stream` is its TCP layer
  // either way (timeouts, cancel, close).
  std::optional<beast::tcp_stream> plain;
  std::shared_ptr<detail::TlsStream> secure;
  beast::tcp_stream* stream = nullptr;
  std::shared_ptr<detail::Trust> trust;  // loaded on the first https connection
  beast::flat_buffer buffer;
  bool cancelled = false;
  bool busy = false;  // one request at a time

  core::Error fail(HttpErrc c, const beast::error_code& ec) {
    if (cancelled) return core::make_error(HttpErrc::cancelled, url.to_string());
    if (ec == beast::error::timeout) return core::make_error(HttpErrc::timeout, url.to_string());
    return core::make_error(c, url.to_string() + ": " + ec.message());
  }

  asio::awaitable<core::Status> connect(std::chrono::steady_clock::time_point deadline) {
    beast::error_code ec;
    // The resolver has no timeout of its own: a timer cancels it.
    timer.expires_at(deadline);
    auto timed_out = std::make_shared<bool>(false);
    timer.async_wait([self = shared_from_this(), timed_out](const beast::error_code& tec) {
      if (!tec) {
        *timed_out = true;
        self->resolver.cancel();
      }
    });
    auto endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    timer.cancel();
    if (ec) {
      if (*timed_out) co_return core::make_error(HttpErrc::timeout, url.to_string() + ": resolving");
      co_return fail(HttpErrc::resolve, ec);
    }
    if (url.scheme == "https") {
      if (!trust) {
        auto t = detail::Trust::make(opts.ca_file, opts.pin_sha256);
        if (!t) co_return core::make_error(HttpErrc::tls, url.to_string() + ": " + t.error().message);
        trust = std::move(*t);
      }
      secure = std::make_shared<detail::TlsStream>(io, trust);
      stream = &secure->next_layer();
    } else {
      plain.emplace(io);
      stream = &*plain;
    }
    stream->expires_at(deadline);
    co_await stream->async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      close();
      co_return fail(HttpErrc::connect, ec);
    }
    // A request (or a TLS handshake's last flight) then the request's body
    // must not wait for the server's delayed ACK (Nagle).
    stream->socket().set_option(tcp::no_delay(true), ec);
    if (secure) {
      // Nothing is written before the server is verified: its chain, name
      // and pin are checked in the handshake.
      ec = co_await secure->handshake(url.host);
      if (ec) {
        const std::string why = secure->failure().empty() ? ec.message() : secure->failure();
        close();
        if (ec == beast::error::timeout || cancelled) co_return fail(HttpErrc::timeout, ec);
        co_return core::make_error(HttpErrc::tls, url.to_string() + ": " + why);
      }
    }
    buffer.clear();
    co_return core::Status{};
  }

  // One exchange on the current connection. `fresh_byte` tells the caller
  // whether the failure happened before the server sent anything.
  asio::awaitable<core::Result<Response>> exchange(bhttp::request<bhttp::string_body>& breq,
                                                   std::chrono::steady_clock::time_point deadline,
                                                   bool& nothing_received) {
    if (secure) co_return co_await exchange_on(*secure, breq, deadline, nothing_received);
    co_return co_await exchange_on(*plain, breq, deadline, nothing_received);
  }

  template <class Stream>
  asio::awaitable<core::Result<Response>> exchange_on(Stream& s, bhttp::request<bhttp::string_body>& breq,
                                                      std::chrono::steady_clock::time_point deadline,
                                                      bool& nothing_received) {
    beast::error_code ec;
    nothing_received = true;
    stream->expires_at(deadline);
    co_await bhttp::async_write(s, breq, asio::redirect_error(asio::use_awaitable, ec));
    // A server may answer before reading the whole body (413) and close; the
    // write then fails, but its answer is waiting to be read.
    const beast::error_code write_error = ec;
    if (write_error && (write_error == beast::error::timeout || cancelled)) co_return fail(HttpErrc::io, write_error);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(opts.max_response_body);
    ec = {};
    co_await bhttp::async_read(s, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec && write_error) co_return fail(HttpErrc::io, write_error);
    if (ec) {
      nothing_received = parser.got_some() == false;
      if (ec == bhttp::error::body_limit) co_return core::make_error(HttpErrc::too_large, url.to_string());
      // A kept-alive connection the server closed meanwhile ends the stream
      // before any answer: the caller retries it on a fresh connection.
      if (ec == beast::error::timeout || cancelled || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == bhttp::error::end_of_stream)
        co_return fail(HttpErrc::io, ec);
      co_return fail(HttpErrc::protocol, ec);
    }
    auto res = parser.release();
    Response out;
    out.status = res.result_int();
    for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(res.body());
    if (!res.keep_alive()) close();
    co_return out;
  }

  void close() {
    if (stream) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    stream = nullptr;
    secure.reset();
    plain.reset();
  }

  asio::awaitable<core::Result<Response>> run(Request req) {
    const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
    bhttp::request<bhttp::string_body> breq;
    breq.method_string(req.method);
    breq.target(url.base_path + req.target);
    breq.version(11);
    breq.set(bhttp::field::host, url.host + ":" + std::to_string(url.port));
    breq.set(bhttp::field::user_agent, opts.user_agent);
    for (const auto& [k, v] : req.headers) breq.set(k, v);
    breq.body() = std::move(req.body);
    breq.prepare_payload();

    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = stream != nullptr;
      if (!reused) {
        auto st = co_await connect(deadline);
        if (!st) co_return std::move(st).error();
      }
      bool nothing_received = true;
      auto r = co_await exchange(breq, deadline, nothing_received);
      if (r) co_return r;
      close();
      // Only a reused connection that died before answering is worth a retry.
      if (!(reused && nothing_received && !cancelled && r.error().code == HttpErrc::io &&
            std::chrono::steady_clock::now() < deadline))
        co_return r;
    }
    co_return core::make_error(HttpErrc::io, url.to_string());
  }
};

Client::Client(asio::io_context& io, Url endpoint, ClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(endpoint), std::move(options))) {}

Client::~Client() {
  if (impl_) impl_->close();
}

const Url& Client::endpoint() const { return impl_->url; }

const ClientOptions& Client::options() const { return impl_->opts; }

void Client::async_request(Request req, std::function<void(core::Result<Response>)> done) {
  if (impl_->busy) {
    // A second request while one is in flight would share its connection.
    asio::post(impl_->io, [done = std::move(done), url = impl_->url.to_string()] {
      done(core::make_error(HttpErrc::io, url + ": a request is already in flight on this client"));
    });
    return;
  }
  impl_->busy = true;
  impl_->cancelled = false;
  auto self = impl_;
  asio::co_spawn(
      impl_->io,
      [self, req = std::move(req), done = std::move(done)]() mutable -> asio::awaitable<void> {
        core::Result<Response> r = co_await self->run(std::move(req));
        self->busy = false;
        done(std::move(r));
      },
      asio::detached);
}

void Client::cancel() {
  impl_->cancelled = true;
  impl_->resolver.cancel();
  impl_->timer.cancel();
  if (impl_->stream) impl_->stream->cancel();
}

core::Result<Response> fetch(const Url& endpoint, Request req, ClientOptions options) {
  asio::io_context io;
  Client client(io, endpoint, std::move(options));
  std::optional<core::Result<Response>> out;
  client.async_request(std::move(req), [&out](core::Result<Response> r) { out = std::move(r); });
  io.run();
  if (!out) return core::make_error(HttpErrc::io, "request did not complete");
  return std::move(*out);
}

}  // namespace surveyor::http
