// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "surveyor/core/result.hpp"

namespace surveyor::agent::exec {

enum class ExecErrc { spawn_failed = 1, io };
const std::error_category& exec_category();
inline std::error_code make_error_code(ExecErrc e) { return {static_cast<int>(e), exec_category()}; }

struct CommandOptions {
  std::chrono::milliseconds timeout{10'000};
  std::size_t max_output = 64 * 1024;  // bytes kept; the rest is read and dropped
  // The child's whole environment. Default: a minimal PATH and the C locale,
  // so output does not depend on the agent's own environment.
  std::vector<std::string> env{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
};

struct CommandResult {
  int exit_code = -1;  // when it exited
  int signal = 0;  // when a signal ended it
  bool timed_out = false;  // killed (with its process group) at the timeout
  bool truncated = false;  // output longer than max_output
  std::string output;  // stdout and stderr, interleaved as written
  std::chrono::milliseconds duration{0};
};

// Runs argv directly (no shell; argv[0] is looked up in the PATH of
// `options.env`), in its own process group, with stdin from /dev/null.
// Blocks until it exits or the timeout kills it.
[[nodiscard]] core::Result<CommandResult> run(const std::vector<std::string>& argv, const CommandOptions& options = {});

}  // namespace surveyor::agent::exec

template <>
struct std::is_error_code_enum<surveyor::agent::exec::ExecErrc> : std::true_type {};
