// SPDX-License-Identifier: Apache-2.0
// Command-line flags generated from an option table, so every config key is
// also a flag and the two never drift apart.
#include "surveyor/config/cli.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <memory>

namespace surveyor::config {
namespace {

// An option's flag: collector_url → --collector-url.
std::string flag_of(const std::string& key) {
  std::string flag = "--" + key;
  for (char& c : flag)
    if (c == '_') c = '-';
  return flag;
}

}  // namespace

void add_flags(CLI::App& app, const Schema& schema, std::map<std::string, std::string>& out) {
  for (const Option& o : schema.options()) {
    const std::string flag = flag_of(o.key);
    std::string help = o.description;
    if (o.default_value) help += " (default: " + value_text(*o.default_value) + ")";
    app.add_option_function<std::string>(flag, [&out, key = o.key](const std::string& v) { out[key] = v; }, help);
  }
}

core::Result<Settings> resolve(const Schema& schema, const std::string& config_path,
                               const std::map<std::string, std::string>& flags, bool check) {
  Settings s = defaults(schema);
  if (!config_path.empty()) {
    auto loaded = load_file(schema, config_path);
    if (!loaded) return std::move(loaded).error();
    s = std::move(*loaded);
  }
  for (const auto& [key, text] : flags) {
    if (auto st = set_from_text(schema, s, key, text, flag_of(key)); !st) return std::move(st).error();
  }
  if (check)
    if (auto st = check_required(schema, s); !st) return std::move(st).error();
  return s;
}

int daemon_main(int argc, char** argv, const std::string& program, const std::string& description,
                const Schema& schema, const std::function<int(const Settings&, const Reload&)>& run,
                const std::vector<Mode>& modes) {
  CLI::App cli(program + ": " + description);
  std::string config_path;
  bool print_config = false;
  bool print_options = false;
  std::map<std::string, std::string> flags;
  cli.add_option("--config", config_path, "TOML configuration file; flags win over it");
  cli.add_flag("--print-config", print_config, "print the effective configuration as TOML and exit");
  cli.add_flag("--print-options", print_options, "print the option reference as a Markdown table and exit");
  add_flags(cli, schema, flags);
  std::unique_ptr<bool[]> chosen(new bool[modes.size() + 1]());
  std::vector<CLI::App*> commands(modes.size(), nullptr);
  for (std::size_t i = 0; i < modes.size(); ++i) {
    cli.add_flag(modes[i].flag, chosen[i], modes[i].help);
    if (modes[i].command.empty()) continue;
    CLI::App* sub = cli.add_subcommand(modes[i].command, "the same as " + modes[i].flag + ": " + modes[i].help);
    sub->fallthrough();  // the daemon's own flags work after the command too
    sub->footer("Every flag of " + program + " works here too (" + program + " --help: --ca-file, --pin-sha256, ...)" +
                (modes[i].default_config.empty()
                     ? std::string(".")
                     : "; without --config, " + modes[i].default_config + " is read when it exists."));
    for (const auto& [flag, key] : modes[i].shorthands)
      sub->add_option_function<std::string>(
          flag, [&flags, key = key](const std::string& v) { flags[key] = v; },
          "the same as " + flag_of(key));
    commands[i] = sub;
  }
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; a usage error exits 2, as is customary.
    return cli.exit(e) == 0 ? 0 : 2;
  }
  if (print_options) {
    std::cout << schema.markdown();
    return 0;
  }
  for (std::size_t i = 0; i < modes.size(); ++i) {
    const bool as_command = commands[i] != nullptr && commands[i]->parsed();
    if (!chosen[i] && !as_command) continue;
    std::error_code ec;
    if (as_command && config_path.empty() && !modes[i].default_config.empty() &&
        std::filesystem::exists(modes[i].default_config, ec))
      config_path = modes[i].default_config;
    auto s = resolve(schema, config_path, flags, false);
    if (!s) {
      std::cerr << program << ": " << s.error().message << "\n";
      return 2;
    }
    return modes[i].run(*s);
  }
  auto settings = resolve(schema, config_path, flags);
  if (!settings) {
    std::cerr << program << ": " << settings.error().message << "\n";
    return 2;
  }
  if (print_config) {
    std::cout << print_toml(schema, *settings);
    return 0;
  }
  return run(*settings, [&schema, config_path, flags] { return resolve(schema, config_path, flags); });
}

}  // namespace surveyor::config
