// SPDX-License-Identifier: Apache-2.0
#include "surveyor/text/csv.hpp"

namespace surveyor::text {

std::string csv_field(std::string_view in) {
  if (in.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(in);
  std::string out = "\"";
  for (char c : in) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace surveyor::text
