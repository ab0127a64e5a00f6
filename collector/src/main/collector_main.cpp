// SPDX-License-Identifier: Apache-2.0
// surveyor-collector: parses options and hands over to app::run.
#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>

#include "surveyor/collector/app/app.hpp"
#include "surveyor/config/cli.hpp"

int main(int argc, char** argv) {
  using namespace surveyor;
  // Block the stop signals before any thread starts, so all inherit the mask
  // and app::run can take them with sigwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App cli("surveyor-collector: the Surveyor collector (CMDB, capacity, availability)");
  std::string config_path;
  bool print_config = false;
  bool print_options = false;
  std::map<std::string, std::string> flags;
  cli.add_option("--config", config_path, "TOML configuration file; flags win over it");
  cli.add_flag("--print-config", print_config, "print the effective configuration as TOML and exit");
  cli.add_flag("--print-options", print_options, "print the option reference as a Markdown table and exit");
  config::add_flags(cli, collector::app::schema(), flags);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a usage error exits 2, as is customary.
    return cli.exit(e) == 0 ? 0 : 2;
  }

  if (print_options) {
    std::cout << collector::app::schema().markdown();
    return 0;
  }
  auto settings = config::resolve(collector::app::schema(), config_path, flags);
  if (!settings) {
    std::cerr << "surveyor-collector: " << settings.error().message << "\n";
    return 2;
  }
  if (print_config) {
    std::cout << config::print_toml(collector::app::schema(), *settings);
    return 0;
  }
  return collector::app::run(*settings);
}
