// SPDX-License-Identifier: Apache-2.0
// surveyor: the operator command line. It talks only to the collector's
// REST API; --json prints the API's answer exactly as received.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "surveyor/cli/commands/verb.hpp"
#include "surveyor/config/options.hpp"
#include "surveyor/http/client.hpp"

int main(int argc, char** argv) {
  namespace commands = surveyor::cli::commands;
  CLI::App app(
      "surveyor: ask a Surveyor collector about configuration items, capacity and availability");
  const char* env = std::getenv("SURVEYOR_URL");
  std::string url = env ? env : "http://127.0.0.1:8080";
  bool as_json = false;
  std::string token_file;
  const char* ca_env = std::getenv("SURVEYOR_CA_FILE");
  std::string ca_file = ca_env ? ca_env : "";
  app.add_option("--collector", url,
                 "collector URL, http:// or https:// (default: $SURVEYOR_URL or http://127.0.0.1:8080)");
  app.add_option("--ca-file", ca_file,
                 "PEM file of the CA that signed an https collector's certificate (default: $SURVEYOR_CA_FILE, "
                 "else the system's CAs)");
  app.add_option("--token-file", token_file,
                 "file holding the API token (mode 0600); default: $SURVEYOR_TOKEN_FILE, else $SURVEYOR_TOKEN");
  app.add_flag("--json", as_json, "print the API's JSON answer exactly as received");
  app.fallthrough();  // --collector and --json also after the subcommand
  app.require_subcommand(1);

  const std::vector<commands::Verb> verbs = commands::verbs();
  commands::Options options;
  commands::add_verbs(app, verbs, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a usage error exits 2, as is customary.
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto collector = surveyor::http::parse_url(url);
  if (!collector) {
    std::cerr << "surveyor: " << collector.error().message << "\n";
    return 2;
  }
  if (token_file.empty())
    if (const char* f = std::getenv("SURVEYOR_TOKEN_FILE")) token_file = f;
  if (!token_file.empty()) {
    auto token = surveyor::config::read_secret_file(token_file, "API token");
    if (!token) {
      std::cerr << "surveyor: " << token.error().message << "\n";
      return 2;
    }
    commands::use_token(*token);
  } else if (const char* t = std::getenv("SURVEYOR_TOKEN")) {
    commands::use_token(t);
  }
  commands::use_ca_file(ca_file);
  const commands::Verb* verb = commands::parsed_verb(app, verbs);
  return verb && verb->run ? verb->run({*collector, as_json}, options) : 0;
}
