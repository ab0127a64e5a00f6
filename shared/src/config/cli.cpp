// SPDX-License-Identifier: Apache-2.0
// Command-line flags generated from an option table, so every config key is
// also a flag and the two never drift apart.
#include "surveyor/config/cli.hpp"

#include <CLI/CLI.hpp>

namespace surveyor::config {

void add_flags(CLI::App& app, const Schema& schema, std::map<std::string, std::string>& out) {
  for (const Option& o : schema.options()) {
    std::string flag = "--" + o.key;
    for (char& c : flag)
      if (c == '_') c = '-';
    std::string help = o.description;
    if (o.default_value) help += " (default: " + value_text(*o.default_value) + ")";
    app.add_option_function<std::string>(flag, [&out, key = o.key](const std::string& v) { out[key] = v; }, help);
  }
}

core::Result<Settings> resolve(const Schema& schema, const std::string& config_path,
                               const std::map<std::string, std::string>& flags) {
  Settings s = defaults(schema);
  if (!config_path.empty()) {
    auto loaded = load_file(schema, config_path);
    if (!loaded) return std::move(loaded).error();
    s = std::move(*loaded);
  }
  for (const auto& [key, text] : flags) {
    std::string flag = "--" + key;
    for (char& c : flag)
      if (c == '_') c = '-';
    if (auto st = set_from_text(schema, s, key, text, flag); !st) return std::move(st).error();
  }
  if (auto st = check_required(schema, s); !st) return std::move(st).error();
  return s;
}

}  // namespace surveyor::config
