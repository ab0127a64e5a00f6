// SPDX-License-Identifier: Apache-2.0
// Options from the command line: a flag per option, defaults overlaid by file and flags, and
// a daemon's whole main().
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "surveyor/config/options.hpp"

namespace CLI {
class App;
}

namespace surveyor::config {

// Adds --key-with-dashes VALUE for every option of `schema`; the text given
// lands in `out` under the option's key.
void add_flags(CLI::App& app, const Schema& schema, std::map<std::string, std::string>& out);

// Defaults, overlaid by the TOML file (when `config_path` is not empty),
// overlaid by flags; then (with `check`) the required options are checked.
[[nodiscard]] core::Result<Settings> resolve(const Schema& schema, const std::string& config_path,
                                             const std::map<std::string, std::string>& flags, bool check = true);

// Reads the configuration again, as it was given (file and flags): SIGHUP.
using Reload = std::function<core::Result<Settings>()>;

// A one-shot mode of a daemon (--inventory): runs instead of the daemon,
// without the required options.
struct Mode {
  std::string flag;
  std::string help;
  std::function<int(const Settings&)> run;
  // Also a subcommand of this name (`surveyor-agent enroll ...`), taking
  // the daemon's flags plus `shorthands` (flag → option key), and reading
  // `default_config` when --config is not given and that file exists.
  std::string command = {};
  std::vector<std::pair<std::string, std::string>> shorthands = {};
  std::string default_config = {};
};

// The whole main() of a daemon: --config FILE, --print-config,
// --print-options, the modes and a flag per option; a usage or
// configuration error exits 2 with one line on stderr; otherwise `run`
// gets the settings and a way to read them again.
int daemon_main(int argc, char** argv, const std::string& program, const std::string& description,
                const Schema& schema, const std::function<int(const Settings&, const Reload&)>& run,
                const std::vector<Mode>& modes = {});

}  // namespace surveyor::config
