// SPDX-License-Identifier: Apache-2.0
// TLS to Redis through a local socket pair (see tls_tunnel.hpp).
#include "tls_tunnel.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <future>
#include <thread>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/tls/tls.hpp"

namespace surveyor::collector::redis {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using store::StoreErrc;

// One tunnelled connection: TLS to Redis, and the relay's end of the pair.
struct Link {
  Link(asio::io_context& io, ssl::context& ctx) : tls(io, ctx), local(io) {}
  ssl::stream<tcp::socket> tls;
  asio::local::stream_protocol::socket local;
  void close() {
    error_code ignored;
    local.close(ignored);
    tls.next_layer().close(ignored);
  }
};

// Copies bytes one way until either side ends, then closes both.
template <class From, class To>
asio::awaitable<void> relay(std::shared_ptr<Link> link, From& from, To& to) {
  std::vector<char> buf(16 * 1024);
  error_code ec;
  for (;;) {
    const std::size_t n = co_await from.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    co_await asio::async_write(to, asio::buffer(buf.data(), n), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  link->close();
}

bool is_address(const std::string& host) {
  error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

asio::awaitable<void> connect(std::shared_ptr<Link> link, std::string host, std::uint16_t port,
                              std::chrono::milliseconds timeout, std::shared_ptr<std::promise<std::string>> ready) {
  auto executor = co_await asio::this_coro::executor;
  auto resolver = std::make_shared<tcp::resolver>(executor);
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer deadline(executor, timeout);
  deadline.async_wait([link, resolver, timed_out](const error_code& e) {
    if (e) return;
    *timed_out = true;
    resolver->cancel();
    link->close();
  });
  auto fail = [&](const std::string& why) {
    deadline.cancel();
    link->close();
    ready->set_value(*timed_out ? "timed out after " + std::to_string(timeout.count()) + " ms" : why);
  };
  error_code ec;
  auto endpoints =
      co_await resolver->async_resolve(host, std::to_string(port), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail("cannot resolve: " + ec.message());
  co_await asio::async_connect(link->tls.next_layer(), endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(ec.message());
  link->tls.next_layer().set_option(tcp::socket::keep_alive(true), ec);
  // The certificate must name the host (a DNS name, or an address).
  if (!is_address(host) && SSL_set_tlsext_host_name(link->tls.native_handle(), host.c_str()) != 1)
    co_return fail("cannot set the server name");
  link->tls.set_verify_callback(ssl::host_name_verification(host));
  co_await link->tls.async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    const long v = SSL_get_verify_result(link->tls.native_handle());
    co_return fail(v != X509_V_OK ? std::string("certificate not trusted: ") + X509_verify_cert_error_string(v)
                                  : "TLS handshake failed: " + ec.message());
  }
  deadline.cancel();
  if (*timed_out) co_return fail("");
  ready->set_value("");
  asio::co_spawn(executor, relay(link, link->tls, link->local), asio::detached);
  asio::co_spawn(executor, relay(link, link->local, link->tls), asio::detached);
}

}  // namespace

struct TlsTunnel::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  ssl::context ctx{ssl::context::tls_client};
  std::thread thread;

  ~Impl() {
    work.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }
};

TlsTunnel::TlsTunnel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TlsTunnel::~TlsTunnel() = default;

core::Result<std::shared_ptr<TlsTunnel>> TlsTunnel::make(const TlsFiles& files) {
  auto impl = std::make_unique<Impl>();
  SSL_CTX_set_min_proto_version(impl->ctx.native_handle(), TLS1_2_VERSION);
  impl->ctx.set_verify_mode(ssl::verify_peer);
  error_code ec;
  if (!files.ca_file.empty()) {
    impl->ctx.load_verify_file(files.ca_file, ec);
    if (ec) return core::make_error(StoreErrc::invalid, "rediss: cannot load the CA file " + files.ca_file + ": " + ec.message());
  } else {
    impl->ctx.set_default_verify_paths(ec);
    if (ec) return core::make_error(StoreErrc::invalid, "rediss: cannot load the system's CA certificates: " + ec.message());
  }
  if (files.cert_file.empty() != files.key_file.empty())
    return core::make_error(StoreErrc::invalid, "rediss: a client certificate needs its key, and a key its certificate");
  if (!files.cert_file.empty())
    if (auto st = tls::use_key_pair(impl->ctx, files.cert_file, files.key_file); !st)
      return core::make_error(StoreErrc::invalid, "rediss: " + st.error().message);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::shared_ptr<TlsTunnel>(new TlsTunnel(std::move(impl)));
}

core::Result<int> TlsTunnel::open(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  const std::string where = "rediss://" + host + ":" + std::to_string(port);
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return core::make_error(StoreErrc::unavailable, where + ": cannot make a socket pair");
  auto link = std::make_shared<Link>(impl_->io, impl_->ctx);
  error_code ec;
  link->local.assign(asio::local::stream_protocol(), fds[0], ec);
  if (ec) {
    ::close(fds[0]);
    ::close(fds[1]);
    return core::make_error(StoreErrc::unavailable, where + ": " + ec.message());
  }
  auto ready = std::make_shared<std::promise<std::string>>();
  auto result = ready->get_future();
  asio::co_spawn(impl_->io, connect(link, host, port, timeout, ready), asio::detached);
  link.reset();  // the relay owns it from now on
  // The coroutine always answers: its deadline closes the socket.
  std::string why;
  try {
    why = result.get();
  } catch (const std::future_error&) {  // the tunnel is being destroyed
    why = "closed";
  }
  if (!why.empty()) {
    ::close(fds[1]);
    return core::make_error(StoreErrc::unavailable, where + ": " + why);
  }
  return fds[1];
}

}  // namespace surveyor::collector::redis
