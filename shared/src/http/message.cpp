// SPDX-License-Identifier: Apache-2.0
// Reading the Authorization header's Bearer credentials.
#include <algorithm>
#include <cctype>

#include "surveyor/http/message.hpp"

namespace surveyor::http {

std::string_view bearer_credentials(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), authorization.begin(),
                  [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); }))
    return {};
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ') return {};
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  std::size_t i = 0;
  auto token_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' || c == '~' ||
           c == '+' || c == '/' || c == ':';
  };
  while (i < rest.size() && token_char(rest[i])) ++i;
  if (i == 0) return {};
  while (i < rest.size() && rest[i] == '=') ++i;
  if (i != rest.size()) return {};
  return rest;
}

}  // namespace surveyor::http
