// SPDX-License-Identifier: Apache-2.0
// Endpoint URLs: http:// and https://, taken apart into host, port and base path.
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>

#include "surveyor/http/client.hpp"

namespace surveyor::http {

std::string Url::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return scheme + "://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + base_path;
}

bool is_loopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

bool valid_pin(std::string_view pin) {
  return pin.size() == 64 &&
         std::all_of(pin.begin(), pin.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

core::Result<Url> parse_url(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return core::make_error(HttpErrc::bad_url, "'" + std::string(text) + "': " + parsed.error().message());
  const auto& u = *parsed;
  Url out;
  out.scheme = std::string(u.scheme());
  if (out.scheme != "http" && out.scheme != "https")
    return core::make_error(HttpErrc::bad_url, "'" + std::string(text) + "': scheme must be http or https");
  if (out.scheme == "https") out.port = 443;
  if (u.has_userinfo() || u.has_query() || u.has_fragment())
    return core::make_error(HttpErrc::bad_url, "'" + std::string(text) + "': no user, query or fragment allowed");
  out.host = std::string(u.encoded_host_address());
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty()) return core::make_error(HttpErrc::bad_url, "'" + std::string(text) + "': no host");
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0)
      return core::make_error(HttpErrc::bad_url, "'" + std::string(text) + "': bad port");
    out.port = u.port_number();
  }
  out.base_path = std::string(u.encoded_path());
  while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
  return out;
}

core::Result<std::vector<Url>> parse_url_list(std::string_view text) {
  std::vector<Url> out;
  for (;;) {
    const std::size_t comma = text.find(',');
    std::string_view one = text.substr(0, comma);
    while (!one.empty() && (one.front() == ' ' || one.front() == '\t')) one.remove_prefix(1);
    while (!one.empty() && (one.back() == ' ' || one.back() == '\t')) one.remove_suffix(1);
    if (one.empty()) return core::make_error(HttpErrc::bad_url, "an empty URL in the list");
    auto u = parse_url(one);
    if (!u) return std::move(u).error();
    out.push_back(std::move(*u));
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

bool share_an_endpoint(std::string_view a, std::string_view b) {
  auto x = parse_url_list(a), y = parse_url_list(b);
  if (!x || !y) return false;
  for (const Url& u : *x)
    for (const Url& v : *y)
      if (u.to_string() == v.to_string()) return true;
  return false;
}

}  // namespace surveyor::http
