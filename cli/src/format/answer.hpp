// SPDX-License-Identifier: Apache-2.0
// Reading the collector's JSON answers, for the renderings: lenient field
// access (a missing or odd field shows as text, never throws) and the one
// error every rendering returns for an answer that is not what the API sends.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "surveyor/core/result.hpp"

namespace surveyor::cli::format {

namespace json = boost::json;

// An error in the "cli" category: the collector's answer is not what the API sends.
[[nodiscard]] core::Error unexpected(const std::string& what);

// The answer as a JSON object, or unexpected().
[[nodiscard]] core::Result<json::value> parse(std::string_view text);

// A field as text: strings as they are, numbers and booleans spelled out,
// null as "-", a missing field or a structure as "".
[[nodiscard]] std::string str(const json::object& o, std::string_view key);

// "k=v,k=v" of an "attributes" object.
[[nodiscard]] std::string attrs_of(const json::object& o);

// The array at `key`, or nullptr when there is none.
[[nodiscard]] const json::array* array_at(const json::object& o, std::string_view key);

// One row per object of the answer's "items", made by `row`.
template <class F>
core::Result<std::vector<std::vector<std::string>>> item_rows(const json::value& v,
                                                              const std::string& what, F row) {
  const json::array* items = array_at(v.get_object(), "items");
  if (items == nullptr) return unexpected("no items in the answer");
  std::vector<std::vector<std::string>> rows;
  for (const json::value& e : *items) {
    if (!e.is_object()) return unexpected(what + " is not an object");
    rows.push_back(row(e.get_object()));
  }
  return rows;
}

}  // namespace surveyor::cli::format
