// SPDX-License-Identifier: Apache-2.0
// The HTTP client's checks that need no server: pins and the IP addresses a
// certificate's extensions name (over the fuzz corpus's DER files).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "surveyor/http/client.hpp"
#include "surveyor/http/x509_names.hpp"

namespace surveyor::http {
namespace {

TEST(UrlList, SeveralCollectorsAreParsedInOrderAndComparedByEndpoint) {
  auto one = parse_url_list("https://a.example:8443");
  ASSERT_TRUE(one) << one.error().describe();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().to_string(), "https://a.example:8443");
  auto two = parse_url_list(" https://a.example:8443/ ,\thttps://[::1]:9443/base ");
  ASSERT_TRUE(two) << two.error().describe();
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].to_string(), "https://a.example:8443");
  EXPECT_EQ((*two)[1].to_string(), "https://[::1]:9443/base");
  for (const char* bad : {"", ",", "https://a:1,", "https://a:1,,https://b:2", "https://a:1, ftp://b", "https://a:1 https://b:2"}) {
    auto r = parse_url_list(bad);
    EXPECT_FALSE(r) << "'" << bad << "'";
    if (!r) {
      EXPECT_EQ(r.error().code, HttpErrc::bad_url) << bad;
    }
  }
  EXPECT_TRUE(share_an_endpoint("https://a.example:8443", "https://b:1, https://a.example:8443/"));
  EXPECT_TRUE(share_an_endpoint("https://a:1,https://b:2", "https://b:2"));
  EXPECT_FALSE(share_an_endpoint("https://a:1", "https://a:2"));
  EXPECT_FALSE(share_an_endpoint("https://a:1", "http://a:1"));
  EXPECT_FALSE(share_an_endpoint("https://a:1", "not a url"));
}

std::string corpus(const std::string& name) {
  std::ifstream in(std::string(SURVEYOR_X509_CORPUS) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool names(const std::string& der, const std::string& host) {
  return extensions_name_ip(reinterpret_cast<const unsigned char*>(der.data()), der.size(), ip_address_bytes(host));
}

TEST(Http, PinsAreSixtyFourHexDigits) {
  EXPECT_TRUE(valid_pin(std::string(64, 'a')));
  EXPECT_TRUE(valid_pin("0123456789ABCDEFabcdef0123456789abcdef0123456789abcdef0123456789"));
  EXPECT_FALSE(valid_pin(std::string(63, 'a')));
  EXPECT_FALSE(valid_pin(std::string(63, 'a') + "g"));
  EXPECT_FALSE(valid_pin(""));
}

TEST(Http, AddressLiteralsAndNames) {
  EXPECT_EQ(ip_address_bytes("127.0.0.1"), std::string("\x7f\x00\x00\x01", 4));
  EXPECT_EQ(ip_address_bytes("::1").size(), 16u);
  EXPECT_EQ(ip_address_bytes("localhost"), "");
  EXPECT_EQ(ip_address_bytes("127.1"), "") << "only the dotted-quad form is an address";
}

TEST(Http, TheSubjectAltNameAddressesOfACertificatesExtensions) {
  const std::string both = corpus("san-dns-ip4-ip6");
  EXPECT_TRUE(names(both, "127.0.0.1"));
  EXPECT_TRUE(names(both, "::1"));
  EXPECT_FALSE(names(both, "127.0.0.2"));
  EXPECT_FALSE(names(both, "localhost")) << "a DNS name is mbed TLS's to check, not an address";
  EXPECT_TRUE(names(corpus("san-critical"), "127.0.0.1"));
  EXPECT_FALSE(names(corpus("san-other-ip"), "127.0.0.1")) << "127.0.0.2 and a 3-byte prefix are not 127.0.0.1";
  for (const char* bad : {"san-dns-only", "no-san", "length-past-end", "name-length-past-end", "not-a-sequence", "empty"})
    EXPECT_FALSE(names(corpus(bad), "127.0.0.1")) << bad;
  // Every truncation of a good one is refused, never read past.
  for (std::size_t n = 0; n < both.size(); ++n)
    EXPECT_FALSE(extensions_name_ip(reinterpret_cast<const unsigned char*>(both.data()), n, ip_address_bytes("::1")))
        << n;
}

}  // namespace
}  // namespace surveyor::http
