// SPDX-License-Identifier: Apache-2.0
// surveyor-collector's entry points: its options, the listen address, and serving until
// stopped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "surveyor/config/cli.hpp"
#include "surveyor/config/options.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::app {

// Every option of surveyor-collector (flags and TOML keys alike).
[[nodiscard]] const config::Schema& schema();

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};
// "HOST:PORT" or "[V6]:PORT".
[[nodiscard]] core::Result<Endpoint> parse_listen(const std::string& text);

// Opens the store, serves until SIGINT or SIGTERM, then stops gracefully;
// on SIGHUP it loads the TLS certificate and key again from the files the
// configuration (read again with `reload`) names. Returns the process exit
// code. The caller must have blocked SIGINT, SIGTERM and SIGHUP in every
// thread (so sigwait can take them).
int run(const config::Settings& settings, const config::Reload& reload);

// The administration commands (token, enrollment, agent): whether argv[1]
// names one, and running it on the store. Returns the exit code.
[[nodiscard]] bool is_admin_command(std::string_view word);
int admin_main(int argc, char** argv);

}  // namespace surveyor::collector::app
