// SPDX-License-Identifier: Apache-2.0
// Running a child process for a check or a package query: no shell, a deadline, bounded
// output, and nothing it started left running.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/core/result.hpp"

namespace surveyor::agent::exec {

enum class ExecErrc { spawn_failed = 1, io };
const std::error_category& exec_category();
inline std::error_code make_error_code(ExecErrc e) { return {static_cast<int>(e), exec_category()}; }

// The environment variable every child gets, with a value unique to its run:
// how what it started is found after it left the child's session.
inline constexpr std::string_view kExecIdVariable = "SURVEYOR_EXEC_ID";

struct CommandOptions {
  std::chrono::milliseconds timeout{10'000};  // for the whole run, the child's exit included
  std::size_t max_output = 64 * 1024;  // bytes kept; the rest is read and dropped
  // The child's whole environment. Default: a minimal PATH and the C locale,
  // so output does not depend on the agent's own environment.
  // SURVEYOR_EXEC_ID is added to it.
  std::vector<std::string> env{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
  // When readable (an eventfd, a pipe), the command is stopped as at the
  // timeout: how a stopping agent ends a long check at once. -1: none.
  int cancel_fd = -1;
};

struct CommandResult {
  int exit_code = -1;  // when it exited
  int signal = 0;  // when a signal ended it
  bool timed_out = false;  // killed (with everything it started) at the timeout
  bool cancelled = false;  // killed (likewise) because cancel_fd became readable
  bool truncated = false;  // output longer than max_output
  std::string output;  // stdout and stderr, interleaved as written
  std::chrono::milliseconds duration{0};
};

// Runs argv directly (no shell; argv[0] is looked up in the PATH of
// `options.env`), in a session of its own, with stdin from /dev/null.
// Blocks until it exits, or the timeout or cancel_fd kills it; either way
// every process it started that still runs is killed before this returns,
// including those that left its session (see command.cpp).
[[nodiscard]] core::Result<CommandResult> run(const std::vector<std::string>& argv, const CommandOptions& options = {});

}  // namespace surveyor::agent::exec

template <>
struct std::is_error_code_enum<surveyor::agent::exec::ExecErrc> : std::true_type {};
