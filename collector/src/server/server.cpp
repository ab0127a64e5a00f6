// SPDX-License-Identifier: Apache-2.0
// The collector's HTTP/1.1 server (Beast's own coroutine server is the model).
// Design:
//  - threads: `io_threads` run the io_context (accept loop, one coroutine per
//    connection on its own strand); handlers run on worker pools, reached
//    with co_spawn onto a pool and awaited, so blocking store calls never
//    run on an I/O thread: agents' requests (`ingest_paths`) on
//    `ingest_threads`, everything else on `worker_threads`, each with its own
//    queue cap, so heavy queries cannot starve ingest. An agent's request
//    whose route answers without blocking (Router::dispatch_async: a report
//    on SQLite, whose writer thread makes it durable) runs on the I/O thread
//    instead and is answered from the store's thread, no thread waiting for
//    it: that spares a report three hand-offs from thread to thread;
//  - limits: a body limit (413), a header limit (431), a timeout to receive
//    each whole request (the connection is closed), a connection cap (503) and
//    a queue cap for requests waiting on the workers (429 + Retry-After);
//  - stop: close the acceptor, answer requests in flight with
//    "Connection: close", wait for them up to a grace period, then stop.
#include "surveyor/collector/server/server.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "surveyor/core/error_category.hpp"
#include "surveyor/log/log.hpp"
#include "surveyor/tls/tls.hpp"

namespace surveyor::collector::server {

const std::error_category& server_category() {
  static const core::TableCategory c("server", {{ServerErrc::bad_address, "bad listen address"},
                                                {ServerErrc::cannot_listen, "cannot listen"},
                                                {ServerErrc::bad_tls, "cannot serve TLS"}});
  return c;
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Server::Impl {
  Impl(ServerOptions o, std::shared_ptr<const Router> r, std::function<void(const RequestRecord&)> obs)
      : options(std::move(o)),
        router(std::move(r)),
        observer(std::move(obs)),
        io(static_cast<int>(std::max<std::size_t>(1, options.io_threads))),
        workers(std::max<std::size_t>(1, options.worker_threads)),
        ingest_workers(std::max<std::size_t>(1, options.ingest_threads)),
        acceptor(accept_strand) {}

  // Declared before the io_context: connection coroutines destroyed with it
  // still touch the counters and the log.
  ServerOptions options;
  std::shared_ptr<const Router> router;
  std::function<void(const RequestRecord&)> observer;
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> queued{0};
  std::atomic<std::size_t> ingest_queued{0};
  // Agents' requests waiting for an answer without a thread (at most
  // max_queued_requests): stop() waits for them, as for the threads of the
  // pools, so no answer is posted to a destroyed io_context.
  std::mutex async_mu;
  std::condition_variable async_cv;
  std::size_t async_unanswered = 0;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<bool> stopping{false};
  std::uint16_t bound_port = 0;
  log::Logger log{"collector.http"};
  log::RateLimit accept_errors{5, std::chrono::seconds(60)};
  asio::io_context io;
  asio::thread_pool workers;
  asio::thread_pool ingest_workers;
  // The acceptor is used from its strand only: the accept loop and close().
  asio::strand<asio::io_context::executor_type> accept_strand{asio::make_strand(io)};
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  tls::Context tls_context;  // set: HTTPS only; replaced whole by reload_tls (under tls_mu)
  mutable std::mutex tls_mu;

  [[nodiscard]] tls::Context current_tls() const {
    std::lock_guard lock(tls_mu);
    return tls_context;
  }

  void record(const std::string& method, const std::string& route, unsigned status,
              std::chrono::steady_clock::time_point start) {
    if (!observer) return;
    observer(RequestRecord{method, route, status,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::make_strand(io),
                                                          asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        std::uint64_t suppressed = 0;
        if (accept_errors.allow(suppressed)) log.warn("accept failed: {} ({} similar suppressed)", ec.message(), suppressed);
        // Out of file descriptors and the like: give the system a moment.
        asio::steady_timer pause(io, std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      asio::co_spawn(socket.get_executor(), session(std::move(socket)), asio::detached);
    }
  }

  template <class Stream>
  asio::awaitable<void> write(Stream& stream, http::Response res, unsigned version, bool keep_alive) {
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), version};
    out.set(bhttp::field::server, "surveyor-collector");
    for (auto& [k, v] : res.headers) out.set(k, v);
    out.body() = std::move(res.body);
    out.keep_alive(keep_alive);
    out.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(options.request_timeout);
    beast::error_code ec;
    co_await bhttp::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
  }

  asio::awaitable<void> session(tcp::socket socket) {
    struct Count {
      std::atomic<std::size_t>& n;
      explicit Count(std::atomic<std::size_t>& c) : n(c) { ++n; }
      ~Count() { --n; }
    } count(connections);
    const tls::Context ctx = current_tls();  // kept alive by this connection
    if (!ctx) {
      beast::tcp_stream stream(std::move(socket));
      co_await serve(stream);
      co_return;
    }
    // HTTPS only: the handshake must complete within the request timeout.
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *ctx);
    beast::get_lowest_layer(stream).expires_after(options.request_timeout);
    beast::error_code ec;
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      handshake_failures.fetch_add(1);
      beast::get_lowest_layer(stream).close();
      co_return;
    }
    if (SSL_session_reused(stream.native_handle()) == 1) resumed_handshakes.fetch_add(1);
    co_await serve(stream);
  }

  // The answer of the request's route if it answers without blocking; nothing
  // if the route has no such handler (or its handler says so): then its
  // plain handler answers, on a worker. The coroutine resumes on its own
  // strand when `respond` is called, from whichever thread.
  asio::awaitable<std::optional<http::Response>> dispatch_async(const http::Request& req, std::string& route) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::optional<http::Response>)>(
        [this, &req, &route](auto handler) {
          using H = decltype(handler);
          struct Once {
            explicit Once(H&& h) : handler(std::move(h)) {}
            H handler;
            std::atomic<bool> called{false};
          };
          auto once = std::make_shared<Once>(std::move(handler));
          {
            std::lock_guard lock(async_mu);
            ++async_unanswered;
          }
          // The handler moves into the io_context's queue at once: what
          // keeps `once` (a store's callback) may outlive the io_context.
          Respond respond = [this, once](std::optional<http::Response> res) {
            if (once->called.exchange(true)) return;  // one answer only
            struct Answered {  // counted even if the post throws (out of memory)
              Impl& s;
              ~Answered() {
                std::lock_guard lock(s.async_mu);
                if (--s.async_unanswered == 0) s.async_cv.notify_all();
              }
            } answered{*this};
            H h = std::move(once->handler);
            const auto ex = asio::get_associated_executor(h);
            asio::post(ex, [h = std::move(h), res = std::move(res)]() mutable { std::move(h)(std::move(res)); });
          };
          try {
            if (!router->dispatch_async(req, route, respond)) respond(std::nullopt);
          } catch (const std::exception& e) {
            respond(handler_threw(req, e));
          }
        },
        asio::use_awaitable);
  }

  [[nodiscard]] bool room_to_wait_without_a_thread() {
    std::lock_guard lock(async_mu);
    return async_unanswered < options.max_queued_requests;
  }

  // A handler's exception: logged, and a 500.
  http::Response handler_threw(const http::Request& req, const std::exception& e) {
    log.error("handler for {} {} threw: {}", req.method, req.target, e.what());
    return error_response(500, "internal", "internal error");
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream) {
    if (connections > options.max_connections) {
      co_await write(stream, error_response(503, "overloaded", "too many connections"), 11, false);
      co_return;
    }
    tcp::socket& socket = beast::get_lowest_layer(stream).socket();
    std::string peer;  // the connection's, asked of the kernel once
    {
      beast::error_code ec;
      if (auto remote = socket.remote_endpoint(ec); !ec) peer = remote.address().to_string();
    }
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(options.max_body_bytes);
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      beast::get_lowest_layer(stream).expires_after(options.request_timeout);
      beast::error_code ec;
      co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      const auto start = std::chrono::steady_clock::now();
      if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
          ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
          ec == asio::ssl::error::stream_truncated)
        break;
      if (ec) {
        // The request cannot be read to its end, so the connection cannot be reused.
        http::Response res = ec == bhttp::error::body_limit
                                 ? error_response(413, "too_large",
                                                  "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes")
                             : ec == bhttp::error::header_limit
                                 ? error_response(431, "header_too_large", "request header too large")
                                 : error_response(400, "bad_request", "malformed HTTP request: " + ec.message());
        const unsigned status = res.status;
        co_await write(stream, std::move(res), 11, false);
        record("-", "-", status, start);
        break;
      }
      bhttp::request<bhttp::string_body> breq = parser.release();
      // Beast reads at most what the buffer can take, and at least 512
      // bytes: a buffer left at 512 takes an agent's report of a few
      // kilobytes in as many reads. The connection's next requests are
      // likely of this one's size: it is read whole, up to 64 KiB at a time.
      if (const std::size_t size = breq.body().size() + 1024; size > buffer.capacity())
        buffer.reserve(std::min<std::size_t>(size, 64 * 1024));
      const bool keep_alive = breq.keep_alive() && !stopping;
      const unsigned version = breq.version();

      http::Request req;
      req.method = std::string(breq.method_string());
      req.target = std::string(breq.target());
      for (const auto& f : breq) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      req.body = std::move(breq.body());
      req.peer = peer;

      const bool ingest = is_ingest(req.target);
      std::string route;
      ++in_flight;
      std::optional<http::Response> res;
      if (ingest && router->has_async_routes() && room_to_wait_without_a_thread())
        res = co_await dispatch_async(req, route);
      if (!res) {
        std::atomic<std::size_t>& waiting = ingest ? ingest_queued : queued;
        if (waiting.load() >= options.max_queued_requests) {
          --in_flight;
          http::Response busy = error_response(429, "overloaded", "too many requests in progress; retry shortly");
          busy.headers.emplace_back("Retry-After", "1");
          co_await write(stream, std::move(busy), version, keep_alive);
          record(req.method, "-", 429, start);
          if (!keep_alive) break;
          continue;
        }
        ++waiting;
        res = co_await asio::co_spawn(
            ingest ? ingest_workers.get_executor() : workers.get_executor(),
            [this, &req, &route, &waiting]() -> asio::awaitable<http::Response> {
              --waiting;
              try {
                co_return router->dispatch(req, route);
              } catch (const std::exception& e) {
                co_return handler_threw(req, e);
              }
            },
            asio::use_awaitable);
      }
      const unsigned status = res->status;
      co_await write(stream, std::move(*res), version, keep_alive && !stopping);
      --in_flight;
      record(req.method, route, status, start);
      if (!keep_alive || stopping) break;
    }
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }

  std::atomic<std::uint64_t> handshake_failures{0};
  std::atomic<std::uint64_t> resumed_handshakes{0};

  // Whether the request's path is one of the agents' (its own pool).
  [[nodiscard]] bool is_ingest(std::string_view target) const {
    const std::string_view path = target.substr(0, target.find('?'));
    for (const std::string& p : options.ingest_paths)
      if (path == p) return true;
    return false;
  }
};

Server::Server(ServerOptions options, std::shared_ptr<const Router> router,
               std::function<void(const RequestRecord&)> observer)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), std::move(observer))) {}

Server::~Server() { stop(std::chrono::milliseconds(0)); }

core::Status Server::start() {
  Impl& s = *impl_;
  if (!s.options.tls_cert_file.empty() || !s.options.tls_key_file.empty()) {
    if (s.options.tls_cert_file.empty() || s.options.tls_key_file.empty())
      return core::make_error(ServerErrc::bad_tls, "TLS needs both a certificate and its key");
    auto ctx = tls::server_context(s.options.tls_cert_file, s.options.tls_key_file);
    if (!ctx) return core::make_error(ServerErrc::bad_tls, ctx.error().message);
    s.tls_context = std::move(*ctx);
  }
  beast::error_code ec;
  const auto addr = asio::ip::make_address(s.options.host, ec);
  if (ec) return core::make_error(ServerErrc::bad_address, "'" + s.options.host + "'");
  const tcp::endpoint ep(addr, s.options.port);
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return core::make_error(ServerErrc::cannot_listen,
                            "cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) + ": " + ec.message());
  s.bound_port = s.acceptor.local_endpoint().port();
  asio::co_spawn(s.accept_strand, s.accept_loop(), asio::detached);
  for (std::size_t i = 0; i < std::max<std::size_t>(1, s.options.io_threads); ++i)
    s.threads.emplace_back([&s] { s.io.run(); });
  return {};
}

std::uint16_t Server::port() const { return impl_->bound_port; }

bool Server::tls() const { return impl_->current_tls() != nullptr; }

core::Status Server::reload_tls(const std::string& cert_file, const std::string& key_file) {
  if (!tls()) return core::make_error(ServerErrc::bad_tls, "this server was not started with TLS");
  auto ctx = tls::server_context(cert_file, key_file);
  if (!ctx) return core::make_error(ServerErrc::bad_tls, ctx.error().message);
  std::lock_guard lock(impl_->tls_mu);
  impl_->tls_context = std::move(*ctx);
  return {};
}

std::uint64_t Server::handshake_failures() const { return impl_->handshake_failures.load(); }

std::uint64_t Server::resumed_handshakes() const { return impl_->resumed_handshakes.load(); }

void Server::stop(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  asio::post(s.accept_strand, [&s] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
  });
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (s.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  s.io.stop();
  for (auto& t : s.threads)
    if (t.joinable()) t.join();
  s.workers.join();
  s.ingest_workers.join();
  std::unique_lock lock(s.async_mu);  // a store answers every report it took
  s.async_cv.wait(lock, [&s] { return s.async_unanswered == 0; });
}

}  // namespace surveyor::collector::server
