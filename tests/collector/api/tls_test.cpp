// SPDX-License-Identifier: Apache-2.0
// HTTPS between the HTTP client and the collector's server on loopback, with
// certificates made by certs init: verified chains and names, pins, and what
// is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>

#include <boost/asio/io_context.hpp>

#include "surveyor/collector/server/server.hpp"
#include "surveyor/http/client.hpp"
#include "surveyor/tls/tls.hpp"
#include "test_support.hpp"

namespace surveyor::collector {
namespace {

struct TlsServer {
  explicit TlsServer(const std::vector<std::string>& hosts) {
    auto p = tls::make_quick_start(dir.file("certs"), hosts);
    EXPECT_TRUE(p) << p.error().describe();
    pin = p ? *p : "";
    auto router = std::make_shared<server::Router>();
    router->add("GET", "/hello", "hello", [](const http::Request& q, const server::Params&) {
      return server::json_response(200, "{\"peer\":\"" + q.peer + "\"}");
    });
    server::ServerOptions o;
    o.port = 0;
    o.tls_cert_file = dir.file("certs/server.pem");
    o.tls_key_file = dir.file("certs/server-key.pem");
    srv = std::make_unique<server::Server>(o, router);
    auto st = srv->start();
    EXPECT_TRUE(st) << st.error().describe();
  }

  core::Result<http::Response> get(const std::string& host, http::ClientOptions o) {
    http::Request r;
    r.target = "/hello";
    return http::fetch(http::Url{"https", host, srv->port(), ""}, r, o);
  }

  test::TempDir dir;
  std::string pin;
  std::unique_ptr<server::Server> srv;
};

http::ClientOptions trusting(const std::string& ca_file, const std::string& pin = "") {
  http::ClientOptions o;
  o.ca_file = ca_file;
  o.pin_sha256 = pin;
  o.timeout = std::chrono::seconds(10);
  return o;
}

TEST(Tls, TheQuickStartCaIsTrustedByNameAndAddressAndItsPinIsTheKeys) {
  TlsServer s({"localhost", "127.0.0.1"});
  ASSERT_TRUE(s.srv->tls());
  const std::string ca = s.dir.file("certs/ca.pem");
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto r = s.get(host, trusting(ca));
    ASSERT_TRUE(r) << host << ": " << r.error().describe();
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->body, R"({"peer":"127.0.0.1"})");
  }
  // The pin is the key's SPKI SHA-256, as OpenSSL's own tools compute it.
  const std::string independent = test::run_command(
      "openssl x509 -in " + s.dir.file("certs/server.pem") +
      " -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1");
  EXPECT_EQ(s.pin, independent);
  auto both = s.get("127.0.0.1", trusting(ca, s.pin));
  ASSERT_TRUE(both) << both.error().describe();
  auto pinned = s.get("127.0.0.1", trusting("", s.pin));
  ASSERT_TRUE(pinned) << "a pin alone trusts the key: " << pinned.error().describe();
  // Key files are the owner's only.
  EXPECT_EQ(std::filesystem::status(s.dir.file("certs/server-key.pem")).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST(Tls, AnotherCaAWrongPinAWrongNameAndPlainHttpAreRefused) {
  TlsServer s({"collector.example.test"});
  test::TempDir other;
  auto other_pin = tls::make_quick_start(other.file("certs"), {"127.0.0.1"});
  ASSERT_TRUE(other_pin);
  const std::string ca = s.dir.file("certs/ca.pem");

  auto wrong_ca = s.get("127.0.0.1", trusting(other.file("certs/ca.pem")));
  ASSERT_FALSE(wrong_ca);
  EXPECT_EQ(wrong_ca.error().code, http::HttpErrc::tls);
  auto system_cas = s.get("127.0.0.1", trusting(""));
  ASSERT_FALSE(system_cas) << "a private CA is not among the system's";
  EXPECT_EQ(system_cas.error().code, http::HttpErrc::tls);
  auto wrong_name = s.get("127.0.0.1", trusting(ca));
  ASSERT_FALSE(wrong_name) << "the certificate names collector.example.test only";
  EXPECT_EQ(wrong_name.error().code, http::HttpErrc::tls);
  EXPECT_NE(wrong_name.error().message.find("mismatch"), std::string::npos) << wrong_name.error().message;
  auto wrong_dns_name = s.get("localhost", trusting(ca));
  ASSERT_FALSE(wrong_dns_name) << "localhost is not collector.example.test";
  EXPECT_NE(wrong_dns_name.error().message.find("mismatch"), std::string::npos) << wrong_dns_name.error().message;
  auto wrong_pin = s.get("127.0.0.1", trusting("", *other_pin));
  ASSERT_FALSE(wrong_pin);
  EXPECT_EQ(wrong_pin.error().code, http::HttpErrc::tls);
  EXPECT_NE(wrong_pin.error().message.find("pin_sha256"), std::string::npos) << wrong_pin.error().message;
  auto bad_pin = s.get("127.0.0.1", trusting("", "not-hex"));
  ASSERT_FALSE(bad_pin);
  EXPECT_EQ(bad_pin.error().code, http::HttpErrc::tls);

  const auto failures = s.srv->handshake_failures();
  http::Request r;
  r.target = "/hello";
  auto plain = http::fetch(http::Url{"http", "127.0.0.1", s.srv->port(), ""}, r);
  EXPECT_TRUE(!plain || plain->status != 200u) << "plain HTTP to the HTTPS port is not served";
  ASSERT_TRUE(test::eventually([&] { return s.srv->handshake_failures() > failures; }, std::chrono::seconds(10)));
}

TEST(Tls, AnAddressMustBeOneOfTheCertificatesAddresses) {
  TlsServer s({"127.0.0.2", "::1", "localhost"});
  auto r = s.get("127.0.0.1", trusting(s.dir.file("certs/ca.pem")));
  ASSERT_FALSE(r) << "the certificate names 127.0.0.2, ::1 and localhost, not 127.0.0.1";
  EXPECT_EQ(r.error().code, http::HttpErrc::tls);
  EXPECT_NE(r.error().message.find("mismatch"), std::string::npos) << r.error().message;
  auto by_name = s.get("localhost", trusting(s.dir.file("certs/ca.pem")));
  EXPECT_TRUE(by_name) << by_name.error().describe();
}

TEST(Tls, AReconnectResumesTheSessionAndIsStillVerified) {
  TlsServer s({"127.0.0.1"});
  boost::asio::io_context io;
  http::Client client(io, http::Url{"https", "127.0.0.1", s.srv->port(), ""},
                      trusting(s.dir.file("certs/ca.pem"), s.pin));
  // Each request asks the server to close: the next one connects anew.
  auto once = [&] {
    http::Request r;
    r.target = "/hello";
    r.headers.emplace_back("Connection", "close");
    std::optional<core::Result<http::Response>> out;
    client.async_request(r, [&](core::Result<http::Response> res) { out = std::move(res); });
    io.restart();
    io.run();
    return out && *out && (*out)->status == 200u;
  };
  ASSERT_TRUE(once());
  EXPECT_EQ(s.srv->resumed_handshakes(), 0u);
  ASSERT_TRUE(once());
  ASSERT_TRUE(once());
  EXPECT_EQ(s.srv->resumed_handshakes(), 2u) << "the second and third connections resumed the first's session";
  EXPECT_EQ(s.srv->handshake_failures(), 0u);
}

TEST(Tls, AServerWithAKeyThatIsNotItsCertificatesDoesNotStart) {
  test::TempDir a, b;
  ASSERT_TRUE(tls::make_quick_start(a.file("c"), {"localhost"}));
  ASSERT_TRUE(tls::make_quick_start(b.file("c"), {"localhost"}));
  auto again = tls::make_quick_start(a.file("c"), {"localhost"});
  ASSERT_FALSE(again) << "existing certificates are not overwritten";
  EXPECT_NE(again.error().message.find("exists"), std::string::npos);
  server::ServerOptions o;
  o.port = 0;
  o.tls_cert_file = a.file("c/server.pem");
  o.tls_key_file = b.file("c/server-key.pem");
  server::Server srv(o, std::make_shared<server::Router>());
  auto st = srv.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, server::ServerErrc::bad_tls);
  o.tls_key_file = "";
  server::Server half(o, std::make_shared<server::Router>());
  EXPECT_FALSE(half.start());
}

}  // namespace
}  // namespace surveyor::collector
