// SPDX-License-Identifier: Apache-2.0
// Child processes for package queries and Nagios checks. Design: posix_spawn
// (no shell, no fork of a large process), a pipe for stdout+stderr read with
// poll against a deadline, the child in its own process group so a timeout
// kills everything it started, and output capped in memory.
#include "surveyor/agent/exec/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "surveyor/core/error_category.hpp"

namespace surveyor::agent::exec {

const std::error_category& exec_category() {
  static const core::TableCategory c("exec", {{ExecErrc::spawn_failed, "cannot start the command"},
                                              {ExecErrc::io, "cannot read the command's output"}});
  return c;
}

core::Result<CommandResult> run(const std::vector<std::string>& argv, const CommandOptions& options) {
  if (argv.empty()) return core::make_error(ExecErrc::spawn_failed, "empty command");
  const auto start = std::chrono::steady_clock::now();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return core::make_error(ExecErrc::io, std::string("pipe: ") + std::strerror(errno));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : options.env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  // posix_spawnp searches the PATH of the *parent*; resolve against the child's own.
  std::string program = argv[0];
  if (program.find('/') == std::string::npos) {
    for (const auto& e : options.env) {
      if (e.rfind("PATH=", 0) != 0) continue;
      std::string dirs = e.substr(5);
      std::size_t pos = 0;
      while (pos <= dirs.size()) {
        const auto colon = dirs.find(':', pos);
        const std::string candidate = dirs.substr(pos, colon - pos) + "/" + argv[0];
        if (::access(candidate.c_str(), X_OK) == 0) {
          program = candidate;
          break;
        }
        if (colon == std::string::npos) break;
        pos = colon + 1;
      }
    }
  }
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return core::make_error(ExecErrc::spawn_failed, argv[0] + ": " + std::strerror(rc));
  }

  CommandResult result;
  const auto deadline = start + options.timeout;
  char buf[8192];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int pr = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    if (pr < 0 && errno != EINTR) break;
    if (pr <= 0) continue;
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: every writer closed
    const std::size_t room = options.max_output - std::min(options.max_output, result.output.size());
    result.output.append(buf, std::min(room, static_cast<std::size_t>(n)));
    if (static_cast<std::size_t>(n) > room) result.truncated = true;
  }
  ::close(fds[0]);
  if (result.timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Children it left behind in its group die with it.
  ::kill(-pid, SIGKILL);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return result;
}

}  // namespace surveyor::agent::exec
