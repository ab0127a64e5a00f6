// SPDX-License-Identifier: Apache-2.0
// Lenient readers of the collector's JSON answers, shared by every rendering.
#include "answer.hpp"

#include <boost/json/parse.hpp>

#include <cstdio>

#include "surveyor/core/error_category.hpp"

namespace surveyor::cli::format {
namespace {

enum class CliErrc { unexpected_answer = 1 };
const core::TableCategory kCliCategory("cli", {{CliErrc::unexpected_answer,
                                                "unexpected answer from the collector"}});

}  // namespace

core::Error unexpected(const std::string& what) {
  return core::Error{std::error_code(static_cast<int>(CliErrc::unexpected_answer), kCliCategory),
                     what};
}

std::string str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return "";
  const json::value& v = it->value();
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  if (v.is_double()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v.get_double());
    return buf;
  }
  return v.is_null() ? "-" : "";
}

std::string attrs_of(const json::object& o) {
  std::string attrs;
  if (auto at = o.find("attributes"); at != o.end() && at->value().is_object())
    for (const auto& kv : at->value().get_object())
      attrs += (attrs.empty() ? "" : ",") + std::string(kv.key()) + "=" +
               (kv.value().is_string() ? std::string(kv.value().get_string()) : "");
  return attrs;
}

const json::array* array_at(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_array() ? &it->value().get_array() : nullptr;
}

core::Result<json::value> parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return unexpected("not a JSON object");
  return v;
}

}  // namespace surveyor::cli::format
