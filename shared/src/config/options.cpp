// SPDX-License-Identifier: Apache-2.0
// Declarative options: a component lists its options once (key, type, default,
// description, validator); this module reads them from TOML and flags, rejects
// unknown keys with file and line, and prints the effective configuration.
// toml++ is included only here; its parse exception becomes a ConfigErrc.
#include <toml++/toml.h>

#include "surveyor/core/error_category.hpp"
#include "surveyor/config/options.hpp"
#include "surveyor/core/duration.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <sys/stat.h>
#include <unistd.h>

namespace surveyor::config {
namespace {

const char* type_name(Type t) {
  switch (t) {
    case Type::string: return "string";
    case Type::integer: return "integer";
    case Type::boolean: return "boolean";
    case Type::duration: return "duration";
    case Type::string_list: return "list of strings";
    case Type::number: return "number";
  }
  return "?";
}

std::string where(const std::string& source, const toml::node& n) {
  return source + ":" + std::to_string(n.source().begin.line);
}

// Converts a TOML node to the option's type, or says why it cannot.
core::Result<Value> from_node(const Option& o, const toml::node& n, const std::string& at) {
  auto wrong = [&] {
    return core::make_error(ConfigErrc::wrong_type,
                            at + ": '" + o.key + "' must be a " + type_name(o.type));
  };
  switch (o.type) {
    case Type::string:
      if (auto s = n.as_string()) return Value{s->get()};
      return wrong();
    case Type::integer:
      if (auto i = n.as_integer()) return Value{i->get()};
      return wrong();
    case Type::boolean:
      if (auto b = n.as_boolean()) return Value{b->get()};
      return wrong();
    case Type::duration:
      if (auto i = n.as_integer()) {
        if (i->get() < 0 || i->get() > 1'000'000'000)
          return core::make_error(ConfigErrc::invalid_value, at + ": '" + o.key + "' out of range");
        return Value{std::chrono::milliseconds{i->get() * 1000}};
      }
      if (auto s = n.as_string()) {
        auto d = core::parse_duration(s->get());
        if (!d) return core::make_error(ConfigErrc::invalid_value,
                                        at + ": '" + o.key + "': " + d.error().describe());
        return Value{*d};
      }
      return wrong();
    case Type::number:
      if (auto f = n.as_floating_point()) return Value{f->get()};
      if (auto i = n.as_integer()) return Value{static_cast<double>(i->get())};
      return wrong();
    case Type::string_list: {
      auto arr = n.as_array();
      if (!arr) return wrong();
      std::vector<std::string> out;
      for (const toml::node& e : *arr) {
        auto s = e.as_string();
        if (!s) return wrong();
        out.push_back(s->get());
      }
      return Value{std::move(out)};
    }
  }
  return wrong();
}

core::Status validate(const Option& o, const Value& v, const std::string& at) {
  if (o.validate) {
    if (auto why = o.validate(v))
      return core::make_error(ConfigErrc::invalid_value, at + ": '" + o.key + "': " + *why);
  }
  return {};
}

core::Status read_table(const Schema& schema, const toml::table& table, const std::string& source,
                        Settings& out) {
  for (const auto& [k, node] : table) {
    const std::string key(k.str());
    const std::string at = where(source, node);
    if (const Option* o = schema.find(key)) {
      auto v = from_node(*o, node, at);
      if (!v) return std::move(v).error();
      if (auto st = validate(*o, *v, at); !st) return st;
      out.set(key, std::move(*v), at);
      continue;
    }
    const TableArray* ta = nullptr;
    for (const TableArray& t : schema.table_arrays())
      if (t.key == key) ta = &t;
    if (ta == nullptr)
      return core::make_error(ConfigErrc::unknown_key, at + ": unknown key '" + key + "'");
    const toml::array* arr = node.as_array();
    if (arr == nullptr || !arr->is_array_of_tables())
      return core::make_error(ConfigErrc::wrong_type,
                              at + ": '" + key + "' must be an array of tables ([[" + key + "]])");
    for (const toml::node& e : *arr) {
      Settings sub = defaults(*ta->schema);
      if (auto st = read_table(*ta->schema, *e.as_table(), source, sub); !st) return st;
      if (auto st = check_required(*ta->schema, sub); !st)
        return core::make_error(ConfigErrc::missing,
                                where(source, e) + ": in [[" + key + "]]: " + st.error().message);
      out.add_table(key, std::move(sub));
    }
  }
  return {};
}


}  // namespace

const std::error_category& config_category() {
  static const core::TableCategory c("config", {
      {ConfigErrc::io, "cannot read configuration"},
      {ConfigErrc::syntax, "TOML syntax error"},
      {ConfigErrc::unknown_key, "unknown key"},
      {ConfigErrc::wrong_type, "wrong type"},
      {ConfigErrc::invalid_value, "invalid value"},
      {ConfigErrc::missing, "required option missing"}});
  return c;
}

Schema& Schema::add(Option o) {
  if (find(o.key) != nullptr) throw std::logic_error("option declared twice: " + o.key);
  options_.push_back(std::move(o));
  return *this;
}

Schema& Schema::add_table_array(TableArray t) {
  tables_.push_back(std::move(t));
  return *this;
}

const Option* Schema::find(std::string_view key) const {
  for (const Option& o : options_)
    if (o.key == key) return &o;
  return nullptr;
}

std::string Schema::markdown() const {
  std::string out = "| key | type | default | description |\n| --- | --- | --- | --- |\n";
  for (const Option& o : options_) {
    std::string def = o.default_value ? "`" + value_text(*o.default_value) + "`"
                                      : (o.required ? "required" : "unset");
    out += "| `" + o.key + "` | " + type_name(o.type) + " | " + def + " | " + o.description + " |\n";
  }
  for (const TableArray& t : tables_)
    out += "| `[[" + t.key + "]]` | table array | none | " + t.description + " |\n";
  return out;
}

bool Settings::has(std::string_view key) const { return values_.find(key) != values_.end(); }

const Value& Settings::value(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw std::logic_error("option not set: " + std::string(key));
  return it->second.value;
}

const std::string& Settings::str(std::string_view key) const { return std::get<std::string>(value(key)); }
std::int64_t Settings::integer(std::string_view key) const { return std::get<std::int64_t>(value(key)); }
double Settings::number(std::string_view key) const { return std::get<double>(value(key)); }
bool Settings::flag(std::string_view key) const { return std::get<bool>(value(key)); }
std::chrono::milliseconds Settings::duration(std::string_view key) const {
  return std::get<std::chrono::milliseconds>(value(key));
}
const std::vector<std::string>& Settings::list(std::string_view key) const {
  return std::get<std::vector<std::string>>(value(key));
}

std::string Settings::origin(std::string_view key) const {
  auto it = values_.find(key);
  return it == values_.end() ? "unset" : it->second.origin;
}

const std::vector<Settings>& Settings::tables(std::string_view key) const {
  static const std::vector<Settings> kNone;
  auto it = tables_.find(key);
  return it == tables_.end() ? kNone : it->second;
}

void Settings::set(const std::string& key, Value v, std::string origin) {
  values_[key] = Entry{std::move(v), std::move(origin)};
}

Settings defaults(const Schema& schema) {
  Settings s;
  for (const Option& o : schema.options())
    if (o.default_value) s.set(o.key, *o.default_value, "default");
  return s;
}

namespace {

core::Result<toml::table> parse_text(std::string_view text, const std::string& source_name) {
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& err) {
    return core::make_error(ConfigErrc::syntax, source_name + ":" +
                                                    std::to_string(err.source().begin.line) + ": " +
                                                    std::string(err.description()));
  }
}

core::Result<toml::table> parse_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error(ConfigErrc::io, path + ": cannot open for reading");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return core::make_error(ConfigErrc::io, path + ": read failed");
  return parse_text(buf.str(), path);
}

}  // namespace

core::Result<Settings> load_string(const Schema& schema, std::string_view text,
                                   const std::string& source_name) {
  auto parsed = parse_text(text, source_name);
  if (!parsed) return std::move(parsed).error();
  Settings s = defaults(schema);
  if (auto st = read_table(schema, *parsed, source_name, s); !st) return std::move(st).error();
  return s;
}

std::string toml_string(const std::string& s) {
  std::ostringstream os;
  os << toml::value<std::string>(s);
  return os.str();
}

std::string drop_in_dir(const std::string& path) {
  std::string base = path;
  if (base.size() > 5 && base.ends_with(".toml")) base.resize(base.size() - 5);
  return base + ".d";
}

core::Result<Settings> load_file(const Schema& schema, const std::string& path) {
  std::vector<std::string> files{path};
  std::error_code ec;
  const std::filesystem::path dir = drop_in_dir(path);
  if (std::filesystem::is_directory(dir, ec)) {
    std::vector<std::string> drop_ins;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.path().extension() == ".toml" && e.is_regular_file(ec)) drop_ins.push_back(e.path().string());
    if (ec) return core::make_error(ConfigErrc::io, dir.string() + ": " + ec.message());
    std::sort(drop_ins.begin(), drop_ins.end());
    files.insert(files.end(), drop_ins.begin(), drop_ins.end());
  }
  Settings s = defaults(schema);
  for (const std::string& f : files) {
    auto parsed = parse_file(f);
    if (!parsed) return std::move(parsed).error();
    if (auto st = read_table(schema, *parsed, f, s); !st) return std::move(st).error();
  }
  s.set_config_path(path);
  return s;
}

core::Status set_from_text(const Schema& schema, Settings& settings, const std::string& key,
                           std::string_view text, const std::string& origin) {
  const Option* o = schema.find(key);
  if (o == nullptr) return core::make_error(ConfigErrc::unknown_key, origin + ": unknown option '" + key + "'");
  Value v;
  switch (o->type) {
    case Type::string: v = std::string(text); break;
    case Type::integer: {
      std::int64_t n = 0;
      std::istringstream is{std::string(text)};
      if (!(is >> n) || !is.eof())
        return core::make_error(ConfigErrc::wrong_type, origin + ": '" + key + "' must be an integer");
      v = n;
      break;
    }
    case Type::boolean:
      if (text == "true" || text == "1" || text == "yes") v = true;
      else if (text == "false" || text == "0" || text == "no") v = false;
      else return core::make_error(ConfigErrc::wrong_type, origin + ": '" + key + "' must be true or false");
      break;
    case Type::duration: {
      auto d = core::parse_duration(text);
      if (!d) return core::make_error(ConfigErrc::invalid_value, origin + ": '" + key + "': " + d.error().describe());
      v = *d;
      break;
    }
    case Type::number: {
      double d = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(d))
        return core::make_error(ConfigErrc::wrong_type, origin + ": '" + key + "' must be a number");
      v = d;
      break;
    }
    case Type::string_list: {
      std::vector<std::string> items;
      std::string cur;
      for (char c : text) {
        if (c == ',') {
          items.push_back(cur);
          cur.clear();
        } else {
          cur += c;
        }
      }
      if (!text.empty()) items.push_back(cur);
      v = std::move(items);
      break;
    }
  }
  if (auto st = validate(*o, v, origin); !st) return st;
  settings.set(key, std::move(v), origin);
  return {};
}

core::Status check_required(const Schema& schema, const Settings& settings) {
  for (const Option& o : schema.options())
    if (o.required && !settings.has(o.key))
      return core::make_error(ConfigErrc::missing, "'" + o.key + "' is required: " + o.description);
  return {};
}

void add_secret(Schema& schema, const std::string& key, const std::string& description) {
  schema.add({.key = key, .type = Type::string, .description = description + " (or use " + key + "_file)",
              .secret = true});
  schema.add({.key = key + "_file", .type = Type::string,
              .description = "file whose first line is the " + key + ", kept off the command line"});
}

core::Result<std::string> read_secret_file(const std::string& path, std::string_view what) {
  // A secret others can read, or that someone else could replace, is no
  // longer one: refused, as the agent's identity file is.
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0) {
    if ((st.st_mode & 0077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return core::make_error(ConfigErrc::io, path + " holds the " + std::string(what) + " but its mode is " + mode +
                                                  ": others may read it (chmod 600 " + path + ")");
    }
    if (st.st_uid != ::geteuid() && st.st_uid != 0)
      return core::make_error(ConfigErrc::io, path + " holds the " + std::string(what) +
                                                  " but belongs to another user (uid " + std::to_string(st.st_uid) +
                                                  "): it must be this user's or root's");
  }
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.empty())
    return core::make_error(ConfigErrc::io, path + ": cannot read the " + std::string(what) + " (first line)");
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

core::Result<std::string> read_secret(const Settings& settings, const std::string& key) {
  const std::string file_key = key + "_file";
  if (settings.has(file_key)) return read_secret_file(settings.str(file_key), key);
  return settings.has(key) ? settings.str(key) : std::string();
}

bool secret_given_inline(const Settings& settings, const std::string& key) {
  return settings.has(key) && !settings.has(key + "_file") && !settings.str(key).empty();
}

std::string value_text(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) return x;
        else if constexpr (std::is_same_v<T, std::int64_t>) return std::to_string(x);
        else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) return core::format_duration(x);
        else if constexpr (std::is_same_v<T, double>) {
          char buf[32];
          auto r = std::to_chars(buf, buf + sizeof buf, x);
          std::string t(buf, r.ptr);
          // TOML tells floats from integers by the point.
          if (t.find_first_of(".en") == std::string::npos) t += ".0";
          return t;
        }
        else {
          std::string out = "[";
          for (std::size_t i = 0; i < x.size(); ++i) out += (i ? ", " : "") + toml_string(x[i]);
          return out + "]";
        }
      },
      v);
}

std::string print_toml(const Schema& schema, const Settings& settings) {
  std::string out;
  for (const Option& o : schema.options()) {
    out += "# " + o.description + "\n";
    if (!settings.has(o.key)) {
      out += "# " + o.key + " = (unset)\n\n";
      continue;
    }
    Value v = o.secret ? Value{std::string("********")} : settings.value(o.key);
    const bool quoted = std::holds_alternative<std::string>(v) ||
                        std::holds_alternative<std::chrono::milliseconds>(v);
    const std::string text = value_text(v);
    out += o.key + " = " + (quoted ? toml_string(text) : text) + "  # from " + settings.origin(o.key) + "\n\n";
  }
  return out;
}

}  // namespace surveyor::config
