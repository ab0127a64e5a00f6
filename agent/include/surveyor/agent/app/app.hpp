// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "surveyor/config/options.hpp"

namespace surveyor::agent::app {

// Every option of surveyor-agent (TOML keys and flags alike).
[[nodiscard]] const config::Schema& schema();

// Runs the agent until SIGINT or SIGTERM; returns the exit code.
int run(const config::Settings& settings);

}  // namespace surveyor::agent::app
