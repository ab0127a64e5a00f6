// SPDX-License-Identifier: Apache-2.0
// Small, allocation-free helpers for the line-and-field text of /proc: the
// samplers parse these every few seconds, so iostreams (locale lookups,
// a string per line) are too dear here.
#pragma once

#include <charconv>
#include <string_view>
#include <system_error>

namespace surveyor::agent::text {

// The next line of `rest` (without its '\n'), consuming it; false at the end.
inline bool next_line(std::string_view& rest, std::string_view& line) {
  if (rest.empty()) return false;
  const auto eol = rest.find('\n');
  line = rest.substr(0, eol);
  rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
  return true;
}

// The next field separated by spaces or tabs, consuming it; "" at the end.
inline std::string_view next_field(std::string_view& s) {
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
  std::size_t j = i;
  while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\r') ++j;
  const std::string_view field = s.substr(i, j - i);
  s.remove_prefix(j);
  return field;
}

// The whole of `s` as a number; false if it is not one (or has trailing text).
template <class T>
bool to_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace surveyor::agent::text
