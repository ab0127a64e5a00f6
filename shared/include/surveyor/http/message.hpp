// SPDX-License-Identifier: Apache-2.0
// Plain HTTP messages: what handlers and callers see. Beast stays inside the
// .cpp files of the server and the client.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace surveyor::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive header lookup; empty when absent.
[[nodiscard]] std::string_view find_header(const Headers& h, std::string_view name);

// The credentials of an Authorization header of the Bearer scheme (RFC 6750:
// the scheme in any case, one or more spaces, then token68 characters:
// letters, digits and -._~+/ then optional '=' padding); empty when the
// header is absent, of another scheme or malformed. Agents' "ID:KEY" is
// accepted too (':' is allowed inside).
[[nodiscard]] std::string_view bearer_credentials(std::string_view authorization);

struct Request {
  std::string method = "GET";
  std::string target = "/";  // path and query, percent-encoded
  Headers headers;
  std::string body;
  // The client's address as the server saw it (empty on the client side).
  std::string peer;

  [[nodiscard]] std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

struct Response {
  unsigned status = 200;
  Headers headers;
  std::string body;

  [[nodiscard]] std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

}  // namespace surveyor::http
