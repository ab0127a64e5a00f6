// SPDX-License-Identifier: Apache-2.0
// What TLS costs a report (docs/benchmarks.md): the collector's HTTP server
// and the agent's HTTP client on loopback, a 2 KiB POST answered 202, over
// plain HTTP and over TLS (certs init's ECDSA P-256 certificate), on one
// kept-alive connection, on a new connection per request (over TLS the
// client resumes its session: an abbreviated handshake), and on a new client
// per request (a full handshake, as an agent that has just started).
//
//   bench_tls [--requests N]
//
// Prints the mean wall time and CPU per request in each case, and the
// handshakes' cost per report: new connection or client minus kept-alive.
#include <boost/asio/io_context.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "surveyor/collector/server/server.hpp"
#include "surveyor/http/client.hpp"
#include "surveyor/tls/tls.hpp"

namespace {

using namespace surveyor;
using Clock = std::chrono::steady_clock;

http::Request report() {
  http::Request r;
  r.method = "POST";
  r.target = "/api/v1/reports";
  r.body.assign(2048, 'x');
  r.headers.emplace_back("Content-Type", "application/x-surveyor-report");
  return r;
}

// How requests are sent: all on one kept-alive connection; each on a new
// connection of one client ("Connection: close"; over TLS it resumes the
// client's session); each from a new client (a full handshake).
enum class Mode { kept_alive, new_connection, new_client };

// Mean microseconds per request.
struct Cost {
  double wall_us = 0;  // mean wall time per request
  double cpu_us = 0;   // mean CPU time per request, client and server together
};

double cpu_now_us() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

Cost per_request(const http::Url& url, const http::ClientOptions& o, int n, Mode mode) {
  boost::asio::io_context io;
  auto client = std::make_unique<http::Client>(io, url, o);
  int done = 0, failed = 0;
  const auto start = Clock::now();
  const double cpu_start = cpu_now_us();
  std::function<void()> next = [&] {
    if (done == n) return;
    http::Request req = report();
    if (mode != Mode::kept_alive) req.headers.emplace_back("Connection", "close");
    if (mode == Mode::new_client && done > 0) client = std::make_unique<http::Client>(io, url, o);
    client->async_request(std::move(req), [&](core::Result<http::Response> r) {
      if (!r || r->status != 202) ++failed;
      ++done;
      next();
    });
  };
  next();
  io.run();
  Cost c;
  c.wall_us = std::chrono::duration<double, std::micro>(Clock::now() - start).count() / n;
  c.cpu_us = (cpu_now_us() - cpu_start) / n;
  if (failed != 0) {
    std::fprintf(stderr, "bench_tls: %d of %d requests failed\n", failed, n);
    std::exit(1);
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 2000;
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::strcmp(argv[i], "--requests") == 0) n = std::atoi(argv[i + 1]);
  const std::string dir = std::filesystem::temp_directory_path() / ("bench-tls-" + std::to_string(::getpid()));
  auto pin = tls::make_quick_start(dir, {"127.0.0.1"});
  if (!pin) {
    std::fprintf(stderr, "bench_tls: %s\n", pin.error().describe().c_str());
    return 1;
  }
  auto router = std::make_shared<collector::server::Router>();
  router->add("POST", "/api/v1/reports", "reports", [](const http::Request&, const collector::server::Params&) {
    return collector::server::json_response(202, "{}");
  });
  collector::server::ServerOptions plain_o, tls_o;
  plain_o.port = tls_o.port = 0;
  plain_o.io_threads = tls_o.io_threads = 1;
  plain_o.worker_threads = tls_o.worker_threads = 1;
  tls_o.tls_cert_file = dir + "/server.pem";
  tls_o.tls_key_file = dir + "/server-key.pem";
  collector::server::Server plain(plain_o, router), secure(tls_o, router);
  if (!plain.start() || !secure.start()) return 1;
  http::ClientOptions o;
  o.ca_file = dir + "/ca.pem";
  const http::Url plain_url{"http", "127.0.0.1", plain.port(), ""};
  const http::Url tls_url{"https", "127.0.0.1", secure.port(), ""};

  per_request(tls_url, o, 50, Mode::kept_alive);  // warm up
  const Cost plain_kept = per_request(plain_url, o, n, Mode::kept_alive);
  const Cost plain_new = per_request(plain_url, o, n, Mode::new_connection);
  const Cost tls_kept = per_request(tls_url, o, n, Mode::kept_alive);
  const Cost tls_resumed = per_request(tls_url, o, n, Mode::new_connection);
  const Cost tls_full = per_request(tls_url, o, n, Mode::new_client);
  std::printf("%d requests of 2 KiB each, per request (client and server in this process): wall time, CPU time\n", n);
  std::printf("  plain HTTP, kept alive                  %8.1f us  %8.1f us\n", plain_kept.wall_us, plain_kept.cpu_us);
  std::printf("  plain HTTP, new connection              %8.1f us  %8.1f us\n", plain_new.wall_us, plain_new.cpu_us);
  std::printf("  TLS, kept alive                         %8.1f us  %8.1f us\n", tls_kept.wall_us, tls_kept.cpu_us);
  std::printf("  TLS, new connection (session resumed)   %8.1f us  %8.1f us\n", tls_resumed.wall_us, tls_resumed.cpu_us);
  std::printf("  TLS, new client (full handshake)        %8.1f us  %8.1f us\n", tls_full.wall_us, tls_full.cpu_us);
  std::printf("per report over TLS, beyond kept-alive: resumed handshake %.1f us wall, %.1f us CPU; full handshake "
              "%.1f us wall, %.1f us CPU; TLS on a kept-alive connection: %+.1f us CPU\n",
              tls_resumed.wall_us - tls_kept.wall_us, tls_resumed.cpu_us - tls_kept.cpu_us,
              tls_full.wall_us - tls_kept.wall_us, tls_full.cpu_us - tls_kept.cpu_us,
              tls_kept.cpu_us - plain_kept.cpu_us);
  std::filesystem::remove_all(dir);
  return 0;
}
