// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the TOML option loader with a schema like the agent's.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "surveyor/config/options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace surveyor::config;
  static const Schema schema = [] {
    Schema s;
    s.add({.key = "collector_url", .type = Type::string, .description = "url"});
    s.add({.key = "sample_interval", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{10'000}},
           .description = "d"});
    s.add({.key = "n", .type = Type::integer, .description = "n"});
    s.add({.key = "b", .type = Type::boolean, .description = "b"});
    s.add({.key = "l", .type = Type::string_list, .description = "l"});
    auto sub = std::make_shared<Schema>();
    sub->add({.key = "name", .type = Type::string, .description = "n", .required = true});
    s.add_table_array({.key = "check", .description = "c", .schema = sub});
    return s;
  }();
  auto r = load_string(schema, std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
  if (r) (void)print_toml(schema, *r);
  return 0;
}
