// SPDX-License-Identifier: Apache-2.0
// The verbs of the surveyor command line as a table: each one's name, help,
// the options it adds to its CLI11 subcommand and its handler.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "surveyor/cli/commands/options.hpp"
#include "surveyor/http/client.hpp"

namespace CLI {
class App;
}

namespace surveyor::cli::commands {

// What every handler gets besides its options: the global options.
// The operator's API token every request carries (docs/security.md); set
// once, before any verb runs. Empty: requests carry none.
void use_token(std::string token);
// The CA (PEM file) an https collector's certificate is checked against;
// empty: the system's CAs.
void use_ca_file(std::string path);

struct Context {
  http::Url collector;   // --collector
  bool as_json = false;  // --json: print the API's answer exactly as received
};

// One verb. A verb with verbs of its own and no handler ("ci", "sla") only
// groups them, and one of them must be given; one with a handler too
// ("incidents") runs its own unless one of its verbs is given.
struct Verb {
  std::string_view name;
  std::string_view help;
  // Adds the verb's options and arguments to its subcommand, bound to
  // `options`; null when it has none.
  void (*add_options)(CLI::App& command, Options& options) = nullptr;
  // Does what the verb asks and returns the exit code: 0 done, 1 the
  // collector could not answer or its answer was wrong, 2 a usage error.
  int (*run)(const Context& context, const Options& options) = nullptr;
  std::vector<Verb> verbs;
};

// Every verb, in the order --help lists them.
[[nodiscard]] std::vector<Verb> verbs();

// Adds one CLI11 subcommand per verb to `parent`, in the table's order, with
// its options bound to `options`. A verb that only groups verbs requires one.
void add_verbs(CLI::App& parent, const std::vector<Verb>& verbs, Options& options);

// The verb the parsed command line gives: the deepest one parsed, or null.
[[nodiscard]] const Verb* parsed_verb(const CLI::App& parent, const std::vector<Verb>& verbs);

}  // namespace surveyor::cli::commands
