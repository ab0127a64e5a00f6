// SPDX-License-Identifier: Apache-2.0
// From the verb table to CLI11 and back: the subcommands main parses with,
// and which verb a parsed command line asks for.
#include "surveyor/cli/commands/verb.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace surveyor::cli::commands {

void add_verbs(CLI::App& parent, const std::vector<Verb>& verbs, Options& options) {
  for (const Verb& verb : verbs) {
    CLI::App* command = parent.add_subcommand(std::string(verb.name), std::string(verb.help));
    if (verb.add_options) verb.add_options(*command, options);
    add_verbs(*command, verb.verbs, options);
    if (!verb.run && !verb.verbs.empty()) command->require_subcommand(1);
  }
}

const Verb* parsed_verb(const CLI::App& parent, const std::vector<Verb>& verbs) {
  for (const Verb& verb : verbs) {
    const CLI::App* command = parent.get_subcommand(std::string(verb.name));
    if (!command->parsed()) continue;
    const Verb* deeper = parsed_verb(*command, verb.verbs);
    return deeper ? deeper : &verb;
  }
  return nullptr;
}

}  // namespace surveyor::cli::commands
