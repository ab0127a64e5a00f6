// SPDX-License-Identifier: Apache-2.0
// Options declared once (key, type, default, description, validator) and read from TOML,
// each value with where it came from.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "surveyor/core/result.hpp"

namespace surveyor::config {

enum class ConfigErrc { io = 1, syntax, unknown_key, wrong_type, invalid_value, missing };
const std::error_category& config_category();
inline std::error_code make_error_code(ConfigErrc e) { return {static_cast<int>(e), config_category()}; }

enum class Type { string, integer, boolean, duration, string_list, number };
using Value = std::variant<std::string, std::int64_t, bool, std::chrono::milliseconds,
                           std::vector<std::string>, double>;

class Schema;

// One option, declared once: it drives the TOML loader, the command-line flags,
// --help, --print-config and docs/configuration.md.
struct Option {
  std::string key;
  Type type = Type::string;
  std::optional<Value> default_value;  // none: the option is unset unless given
  std::string description;
  // Returns an error text for a value that has the right type but is not acceptable.
  std::function<std::optional<std::string>(const Value&)> validate;
  bool required = false;
  bool secret = false;  // masked in --print-config
};

// A section holding an array of tables ([[check]]), each read with `schema`.
struct TableArray {
  std::string key;
  std::string description;
  std::shared_ptr<const Schema> schema;
};

class Schema {
 public:
  Schema& add(Option o);
  Schema& add_table_array(TableArray t);

  [[nodiscard]] const std::vector<Option>& options() const { return options_; }
  [[nodiscard]] const std::vector<TableArray>& table_arrays() const { return tables_; }
  [[nodiscard]] const Option* find(std::string_view key) const;

  // A Markdown table of the options (key, type, default, description).
  [[nodiscard]] std::string markdown() const;

 private:
  std::vector<Option> options_;
  std::vector<TableArray> tables_;
};

// Resolved values of one schema, each with where it came from.
class Settings {
 public:
  [[nodiscard]] bool has(std::string_view key) const;
  [[nodiscard]] const std::string& str(std::string_view key) const;
  [[nodiscard]] std::int64_t integer(std::string_view key) const;
  [[nodiscard]] bool flag(std::string_view key) const;
  [[nodiscard]] double number(std::string_view key) const;
  [[nodiscard]] std::chrono::milliseconds duration(std::string_view key) const;
  [[nodiscard]] const std::vector<std::string>& list(std::string_view key) const;
  // "default", "FILE:LINE" or "command line".
  [[nodiscard]] std::string origin(std::string_view key) const;
  [[nodiscard]] const std::vector<Settings>& tables(std::string_view key) const;
  // The raw value; throws std::logic_error if the option is unset.
  [[nodiscard]] const Value& value(std::string_view key) const;

  void set(const std::string& key, Value v, std::string origin);
  void add_table(const std::string& key, Settings s) { tables_[key].push_back(std::move(s)); }
  // The configuration file they were read from ("" when none).
  [[nodiscard]] const std::string& config_path() const { return config_path_; }
  void set_config_path(std::string p) { config_path_ = std::move(p); }

 private:
  struct Entry {
    Value value;
    std::string origin;
  };
  std::map<std::string, Entry, std::less<>> values_;
  std::map<std::string, std::vector<Settings>, std::less<>> tables_;
  std::string config_path_;
};

// Defaults only (and a check that required options are present).
[[nodiscard]] Settings defaults(const Schema& schema);

// Defaults overlaid with a TOML document. Unknown keys, wrong types and invalid
// values are errors naming the source, line and key.
[[nodiscard]] core::Result<Settings> load_string(const Schema& schema, std::string_view toml,
                                                 const std::string& source_name);
// A file, then its drop-ins: the *.toml files of the directory named after
// it without ".toml" and with ".d" (agent.toml: agent.d/), in name order,
// each overlaid on what came before (arrays of tables are appended), so a
// configuration-management tool can own one file each.
[[nodiscard]] core::Result<Settings> load_file(const Schema& schema, const std::string& path);
// The drop-in directory of a configuration file (agent.toml: agent.d).
[[nodiscard]] std::string drop_in_dir(const std::string& path);
// `s` as a TOML basic string, quoted and escaped.
[[nodiscard]] std::string toml_string(const std::string& s);

// Sets one option from text (a command-line flag), converted by its type.
[[nodiscard]] core::Status set_from_text(const Schema& schema, Settings& settings,
                                         const std::string& key, std::string_view text,
                                         const std::string& origin);

// Fails naming the first required option that has no value.
[[nodiscard]] core::Status check_required(const Schema& schema, const Settings& settings);

// The effective configuration as TOML, secrets masked, origins as comments.
[[nodiscard]] std::string print_toml(const Schema& schema, const Settings& settings);

// Declares a secret two ways: `key` (masked in --print-config) and
// `key`_file (its first line), which keeps it off command lines.
void add_secret(Schema& schema, const std::string& key, const std::string& description);
// The secret from `key`_file if set, else from `key`; empty when neither.
// An unreadable or empty file, or one others may read (any group or other
// permission bit), is an error.
[[nodiscard]] core::Result<std::string> read_secret(const Settings& settings, const std::string& key);
// The first line of a secret file (`what` names the secret in errors); an
// unreadable or empty file, one others may read, or one owned by another
// user than this one or root is an error.
[[nodiscard]] core::Result<std::string> read_secret_file(const std::string& path, std::string_view what);
// Whether the secret was given as a value rather than a file: on the command
// line it shows in `ps`, so programs warn about it.
[[nodiscard]] bool secret_given_inline(const Settings& settings, const std::string& key);

// The option value as TOML/flag text ("10s", "true", "[\"a\", \"b\"]").
[[nodiscard]] std::string value_text(const Value& v);

}  // namespace surveyor::config

template <>
struct std::is_error_code_enum<surveyor::config::ConfigErrc> : std::true_type {};
