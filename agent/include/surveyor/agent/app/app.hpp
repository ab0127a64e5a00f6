// SPDX-License-Identifier: Apache-2.0
// surveyor-agent's entry points: its options, the daemon (SIGHUP reloads the configuration)
// and the one-shot --inventory.
#pragma once

#include "surveyor/config/cli.hpp"
#include "surveyor/config/options.hpp"

namespace surveyor::agent::app {

// Every option of surveyor-agent (TOML keys and flags alike).
[[nodiscard]] const config::Schema& schema();

// Runs the agent until SIGINT or SIGTERM; on SIGHUP it reads its
// configuration again with `reload` (keeping the running one if the new one
// is invalid). Returns the exit code.
int run(const config::Settings& settings, const config::Reload& reload);

// Replaces the agent's key with a new one from the collector and saves it
// (--rotate-key); the old key stops working at once.
int rotate_key(const config::Settings& settings);
// --enroll: enrolls once with collector_url and the enrollment token, saves
// the identity (given to the state directory's owner when run as root),
// records collector_url (and ca_file, pin_sha256) in the configuration's
// drop-in directory, and exits: 0
// enrolled, or already enrolled with that collector (nothing changes); 1
// the collector could not be reached or failed; 2 the configuration is
// wrong; 3 the collector refused the token. Each failure is one line.
int enroll_once(const config::Settings& settings);

// Collects the inventory once and prints it as JSON (--inventory).
int print_inventory(const config::Settings& settings);

}  // namespace surveyor::agent::app
