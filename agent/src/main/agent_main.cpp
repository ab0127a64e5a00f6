// SPDX-License-Identifier: Apache-2.0
// surveyor-agent: parses options and hands over to app::run.
#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>

#include "surveyor/agent/app/app.hpp"
#include "surveyor/config/cli.hpp"

int main(int argc, char** argv) {
  using namespace surveyor;
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App cli("surveyor-agent: reports this host's inventory and capacity to a Surveyor collector");
  std::string config_path;
  bool print_config = false;
  bool print_options = false;
  std::map<std::string, std::string> flags;
  cli.add_option("--config", config_path, "TOML configuration file (e.g. /etc/surveyor/agent.toml); flags win");
  cli.add_flag("--print-config", print_config, "print the effective configuration as TOML and exit");
  cli.add_flag("--print-options", print_options, "print the option reference as a Markdown table and exit");
  config::add_flags(cli, agent::app::schema(), flags);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a usage error exits 2, as is customary.
    return cli.exit(e) == 0 ? 0 : 2;
  }

  if (print_options) {
    std::cout << agent::app::schema().markdown();
    return 0;
  }
  auto settings = config::resolve(agent::app::schema(), config_path, flags);
  if (!settings) {
    std::cerr << "surveyor-agent: " << settings.error().message << "\n";
    return 2;
  }
  if (print_config) {
    std::cout << config::print_toml(agent::app::schema(), *settings);
    return 0;
  }
  return agent::app::run(*settings);
}
