// SPDX-License-Identifier: Apache-2.0
// The HTTP side of the API: limits, routing errors, readiness and malformed
// requests, through the real server on loopback.
#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>
#include <mutex>
#include <thread>
#include <tuple>

#include "harness.hpp"

namespace surveyor::collector {
namespace {

TEST(Api, OversizeBodyIs413) {
  Harness h("", 64 * 1024);
  const std::string auth = h.enroll();
  auto res = h.call("POST", "/api/v1/reports", std::string(100 * 1024, 'x'),
                    {{"Content-Type", std::string(wire::kBinaryContentType)}, {"Authorization", "Bearer " + auth}});
  EXPECT_EQ(res.status, 413u);
  EXPECT_EQ(error_code(res), "too_large");
  // The server is still fine afterwards.
  EXPECT_EQ(h.call("GET", "/healthz").status, 200u);
}

TEST(Api, RoutingErrors) {
  Harness h;
  auto nf = h.call("GET", "/api/v1/nothing");
  EXPECT_EQ(nf.status, 404u);
  auto wrong = h.call("DELETE", "/api/v1/cis");
  EXPECT_EQ(wrong.status, 405u);
  EXPECT_EQ(wrong.header("Allow"), "GET, POST");
  EXPECT_EQ(h.call("GET", "/healthz").body, R"({"status":"ok"})");
  auto ready = h.call("GET", "/readyz");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_NE(ready.body.find("\"status\":\"ready\""), std::string::npos);
  auto metrics = h.call("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_EQ(metrics.header("Content-Type").substr(0, 10), "text/plain");
}

TEST(Api, ReadyzFailsWhenTheStoreIsUnreachable) {
  Harness h("redis://127.0.0.1:" + std::to_string(test::free_port()) + "/x");
  auto r = h.call("GET", "/readyz");
  EXPECT_EQ(r.status, 503u);
  EXPECT_NE(r.body.find("\"status\":\"unavailable\""), std::string::npos) << r.body;
  EXPECT_EQ(r.header("Retry-After"), "5");
  // And a report gets 503 with Retry-After, never a 202.
  auto e = h.call("POST", "/api/v1/reports", "x",
                  {{"Content-Type", std::string(wire::kBinaryContentType)}, {"Authorization", "Bearer agt-1:k"}});
  EXPECT_EQ(e.status, 503u);
  EXPECT_EQ(error_code(e), "store_unavailable");
}

// Raw bytes over a socket, for what a well-behaved client cannot send.
std::string raw_exchange(std::uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    (void)::write(fd, bytes.data(), bytes.size());
    ::shutdown(fd, SHUT_WR);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST(Api, MalformedHttpGets400AndTheServerCarriesOn) {
  Harness h;
  EXPECT_EQ(raw_exchange(h.srv->port(), "THIS IS NOT HTTP\r\n\r\n").substr(0, 12), "HTTP/1.1 400");
  EXPECT_EQ(raw_exchange(h.srv->port(), "GET / HTTP/1.1\r\nContent-Length: banana\r\n\r\n").substr(0, 12),
            "HTTP/1.1 400");
  const std::string big_header = "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  EXPECT_EQ(raw_exchange(h.srv->port(), big_header).substr(0, 12), "HTTP/1.1 431");
  // Two requests on one kept-alive connection.
  const std::string two = raw_exchange(h.srv->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(std::count(two.begin(), two.end(), '{'), 2) << two;
  EXPECT_EQ(h.call("GET", "/healthz").status, 200u);
}

// A web page can send other origins only forms (text/plain, form data)
// without the browser asking first: no state-changing route accepts them.
TEST(Api, StateChangingRequestsNeedTheirDocumentedMediaType) {
  Harness h;
  h.enroll();
  struct Write {
    const char* method;
    std::string target;
    const char* body;
  };
  const std::vector<Write> writes{
      {"POST", "/api/v1/cis", R"({"type":"application","name":"shop"})"},
      {"PATCH", "/api/v1/cis/" + h.ci_id, R"({"attributes":{"owner":"x"}})"},
      {"POST", "/api/v1/relationships", R"({"from":"a","type":"runs_on","to":"b"})"},
      {"POST", "/api/v1/changes", R"({"reference":"C1","cis":["a"],"start":"1","end":"2"})"},
      {"POST", "/api/v1/incidents/INC-1/acknowledge", R"({"by":"x"})"},
      {"POST", "/api/v1/slas/shop/report/recompute?period=2026-10", "{}"},
      {"PUT", "/api/v1/services/shop", "name = \"shop\"\nowner = \"o\"\n"}};
  for (const Write& w : writes)
    for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""}) {
      http::Headers headers;
      if (*type) headers.emplace_back("Content-Type", type);
      else headers.emplace_back("X-Requested-With", "test");  // no type at all (the harness adds one to no headers)
      auto r = h.call(w.method, w.target, w.body, headers);
      EXPECT_EQ(r.status, 415u) << w.method << " " << w.target << " as '" << type << "': " << r.body;
      EXPECT_EQ(error_code(r), "unsupported_media_type");
    }
  // Parameters and case do not matter; the CI was not created by the refused ones.
  auto ok = h.call("POST", "/api/v1/cis", R"({"type":"application","name":"shop"})",
                   {{"Content-Type", "Application/JSON; charset=utf-8"}});
  EXPECT_EQ(ok.status, 201u) << ok.body;
  EXPECT_EQ(get_json(h, "/api/v1/cis?type=application").at("count").as_int64(), 1);
}

// With allowed_hosts set, a request naming another host (a page whose name
// was made to point at the collector: DNS rebinding) is not answered.
TEST(Api, OnlyTheAllowedHostNamesAreAnswered) {
  Harness h("", 1 << 20, nullptr, {"collector.example", "127.0.0.1"});
  EXPECT_EQ(h.call("GET", "/healthz").status, 200u) << "Host 127.0.0.1:PORT";
  EXPECT_EQ(h.call("GET", "/api/v1/cis", "", {{"Host", "Collector.Example:8080"}}).status, 200u)
      << "names compare without case or port";
  for (const char* host : {"evil.example", "evil.example:8080", "[::1]:8080", ""}) {
    auto r = h.call("GET", "/api/v1/cis", "", {{"Host", host}});
    EXPECT_EQ(r.status, 421u) << host;
    EXPECT_EQ(error_code(r), "host_not_allowed") << host;
  }
  Harness any;
  EXPECT_EQ(any.call("GET", "/api/v1/cis", "", {{"Host", "evil.example"}}).status, 200u) << "no list: any Host";
}

}  // namespace
}  // namespace surveyor::collector

namespace surveyor::collector {
namespace {

// A server of `router` on a free loopback port with these threads (and
// cap on requests waiting), started; its address in `url`.
std::unique_ptr<server::Server> start_server(std::shared_ptr<server::Router> router, http::Url& url,
                                             server::ServerOptions o) {
  o.port = 0;
  auto srv = std::make_unique<server::Server>(o, std::move(router));
  EXPECT_TRUE(srv->start());
  url = http::Url{"http", "127.0.0.1", srv->port(), ""};
  return srv;
}

// A POST of `body` to /api/v1/reports.
core::Result<http::Response> post_report(const http::Url& url, std::string body = {}) {
  http::Request r;
  r.method = "POST";
  r.target = "/api/v1/reports";
  r.body = std::move(body);
  return http::fetch(url, r);
}

// Agents' requests have a pool of their own: with every query worker stuck
// in a slow handler, a report is still answered.
TEST(Server, HeavyQueriesCannotStarveIngest) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  int stuck = 0;
  auto router = std::make_shared<server::Router>();
  router->add("GET", "/api/v1/slow", "slow", [&](const http::Request&, const server::Params&) {
    std::unique_lock lock(mu);
    ++stuck;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    return server::json_response(200, "{}");
  });
  router->add("POST", "/api/v1/reports", "reports", [](const http::Request&, const server::Params&) {
    return server::json_response(202, "{}");
  });
  http::Url url;
  const auto srv = start_server(router, url, {.worker_threads = 2, .ingest_threads = 1});
  std::vector<std::thread> queries;
  for (int i = 0; i < 2; ++i)
    queries.emplace_back([&] {
      http::Request r;
      r.target = "/api/v1/slow";
      (void)http::fetch(url, r);
    });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return stuck == 2; }));
  }
  auto res = post_report(url);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& t : queries) t.join();
  ASSERT_TRUE(res) << res.error().describe();
  EXPECT_EQ(res->status, 202u) << "answered while both query workers were busy";
}


// A reports route whose handler that does not block holds each request's
// `respond` until told (bodies "plain": no answer, so the plain handler
// answers, 200; "throw": it throws).
struct HeldReports {
  HeldReports() {
    router->add(
        "POST", "/api/v1/reports", "reports",
        [](const http::Request&, const server::Params&) { return server::json_response(200, R"({"by":"plain"})"); },
        [this](const http::Request& q, const server::Params&, const server::Respond& respond) {
          if (q.body == "plain") return respond(std::nullopt);
          if (q.body == "throw") throw std::runtime_error("a handler's bug");
          std::lock_guard lock(mu);
          waiting.push_back(respond);
          cv.notify_all();
        });
  }
  // Whether n requests are held, within 30 s.
  bool held(std::size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return waiting.size() == n; });
  }
  std::size_t held_now() {
    std::lock_guard lock(mu);
    return waiting.size();
  }
  // Each held one answered (again: only the first answer counts).
  void answer_all(unsigned status) {
    std::lock_guard lock(mu);
    for (auto& respond : waiting) respond(server::json_response(status, "{}"));
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<server::Respond> waiting;  // under mu
  std::shared_ptr<server::Router> router = std::make_shared<server::Router>();
};

// `n` reports posted each from a thread of its own, and their answers.
// Those still held when it goes (a test that failed) are answered 503
// first, so that neither its threads nor the server's stop wait for them.
struct Agents {
  Agents(const http::Url& url, int n, HeldReports& held) : answers(static_cast<std::size_t>(n)), h(held) {
    for (int i = 0; i < n; ++i) threads.emplace_back([this, url, i] { answers[i] = post_report(url, "later"); });
  }
  void expect_all(unsigned status) {
    for (auto& t : threads) t.join();
    threads.clear();
    for (const auto& a : answers) {
      ASSERT_TRUE(a && *a) << (a ? a->error().describe() : "no answer");
      EXPECT_EQ((*a)->status, status);
    }
  }
  ~Agents() {
    h.answer_all(503);
    for (auto& t : threads) t.join();
  }
  std::vector<std::optional<core::Result<http::Response>>> answers;
  std::vector<std::thread> threads;
  HeldReports& h;
};

// A route that answers without blocking holds no thread while its answer
// is awaited: with one I/O thread and one ingest thread, eight reports are
// all in the handler's hands at once, then answered from another thread.
// A handler that gives no answer has the route's plain handler answer, on
// the ingest pool; one that throws is a 500.
TEST(Server, ReportsAnsweredLaterHoldNoThreadWhileTheyWait) {
  HeldReports h;
  http::Url url;
  const auto srv = start_server(h.router, url, {.io_threads = 1, .ingest_threads = 1});
  Agents agents(url, 8, h);
  ASSERT_TRUE(h.held(8)) << h.held_now() << " of 8 reports reached the handler";
  std::thread store([&] {  // as a store's thread answers
    for (int i = 0; i < 8; ++i) h.waiting[i](server::json_response(202, "{\"n\":" + std::to_string(i) + "}"));
  });
  store.join();
  agents.expect_all(202);
  auto plain = post_report(url, "plain");
  ASSERT_TRUE(plain) << plain.error().describe();
  EXPECT_EQ(plain->status, 200u);
  EXPECT_NE(plain->body.find("plain"), std::string::npos) << plain->body;
  auto thrown = post_report(url, "throw");
  ASSERT_TRUE(thrown) << thrown.error().describe();
  EXPECT_EQ(thrown->status, 500u);
}

// At most max_queued_requests reports wait for an answer without a thread;
// one more takes the ingest pool, where the route's plain handler answers.
TEST(Server, ReportsBeyondTheCapOfThoseWaitingTakeTheIngestPool) {
  HeldReports h;
  http::Url url;
  const auto srv = start_server(h.router, url, {.io_threads = 1, .ingest_threads = 1, .max_queued_requests = 2});
  Agents agents(url, 2, h);
  ASSERT_TRUE(h.held(2));
  auto third = post_report(url, "later");
  ASSERT_TRUE(third) << third.error().describe();
  EXPECT_EQ(third->status, 200u) << "answered by the plain handler";
  EXPECT_EQ(h.held_now(), 2u) << "the third one waited too";
  h.answer_all(202);
  agents.expect_all(202);
}

// Router::dispatch_async answers what has no route (404, 405) and what the
// guard refuses through `respond`, runs a route's handler that does not
// block, and leaves a route without one to dispatch() (false, no answer).
TEST(Router, DispatchAsyncAnswersOrLeavesTheRequestToDispatch) {
  server::Router router;
  router.add("GET", "/api/v1/plain", "plain",
             [](const http::Request&, const server::Params&) { return server::json_response(200, "{}"); });
  router.add(
      "POST", "/api/v1/reports", "reports",
      [](const http::Request&, const server::Params&) { return server::json_response(200, "{}"); },
      [](const http::Request&, const server::Params&, const server::Respond& respond) {
        respond(server::json_response(202, "{}"));
      });
  router.set_guard([](const http::Request& q, std::string_view, server::Params&) -> std::optional<http::Response> {
    if (q.header("X-Refuse").empty()) return std::nullopt;
    return server::json_response(403, "{}");
  });
  EXPECT_TRUE(router.has_async_routes());
  const auto run = [&](std::string method, std::string target, http::Headers headers = {}) {
    http::Request q;
    q.method = std::move(method);
    q.target = std::move(target);
    q.headers = std::move(headers);
    std::string route;
    std::vector<std::optional<http::Response>> answers;
    const bool taken =
        router.dispatch_async(q, route, [&](std::optional<http::Response> r) { answers.push_back(std::move(r)); });
    return std::make_tuple(taken, route, std::move(answers));
  };
  auto [taken, route, answers] = run("POST", "/api/v1/reports");
  EXPECT_TRUE(taken);
  EXPECT_EQ(route, "reports");
  ASSERT_EQ(answers.size(), 1u);
  ASSERT_TRUE(answers[0]);
  EXPECT_EQ(answers[0]->status, 202u);

  std::tie(taken, route, answers) = run("POST", "/api/v1/reports", {{"X-Refuse", "1"}});
  EXPECT_TRUE(taken);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0]->status, 403u) << "the guard's answer";

  std::tie(taken, route, answers) = run("GET", "/api/v1/plain");
  EXPECT_FALSE(taken);
  EXPECT_TRUE(answers.empty()) << "left to dispatch()";

  for (const auto& [method, target, status] : {std::tuple{"GET", "/api/v1/nothing", 404u},
                                                std::tuple{"DELETE", "/api/v1/reports", 405u}}) {
    std::tie(taken, route, answers) = run(method, target);
    EXPECT_TRUE(taken) << target;
    ASSERT_EQ(answers.size(), 1u) << target;
    EXPECT_EQ(answers[0]->status, status) << target;
  }
  server::Router none;
  none.add("GET", "/", "root", [](const http::Request&, const server::Params&) { return server::json_response(200, "{}"); });
  EXPECT_FALSE(none.has_async_routes());
}

}  // namespace
}  // namespace surveyor::collector
