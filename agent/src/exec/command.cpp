// SPDX-License-Identifier: Apache-2.0
// Child processes for package queries and Nagios checks. Design: posix_spawn
// (no shell, no fork of a large process) into a session of its own, a pipe
// for stdout+stderr, output capped in memory, and one deadline for the run.
//
// The deadline bounds the child, not only its output: one that closes its
// output and goes on running is waited for through a pidfd (Linux 5.3+;
// without one, a waitid(WNOHANG) every 50 ms) and killed at the deadline, or
// as soon as the caller's cancel_fd says so. The run is over when the child
// exits: what is in the pipe then is read, and whatever it left running dies
// with it (a background process holding the pipe open does not keep the run
// going until the deadline).
//
// "Whatever it started" is found three ways, because each alone can be
// escaped: the child's session (it leads a new one, so its descendants are
// in it unless they call setsid()); parent links in /proc (one that left the
// session is still the child of one that did not, while that one lives);
// and a tag in the environment, SURVEYOR_EXEC_ID=<agent pid>-<run>, which
// descendants inherit through fork and exec, so a daemon that left the
// session and whose parent has exited (`setsid cmd &`) is found too. Only
// processes started after the child are read for the tag, which keeps the
// scan cheap. The leftovers are SIGKILLed before the child is reaped, so its
// pid (the session's id) cannot be reused meanwhile; the scan repeats until
// it finds nothing new, catching what forked while it ran.
//
// Not used: making the agent a child subreaper (PR_SET_CHILD_SUBREAPER). It
// would make every orphan of every run (and of the package managers) the
// agent's child, to be reaped without knowing whose it was, by waitpid()
// calls racing those of the threads waiting for their own children; the tag
// names the run exactly and init keeps reaping. A cgroup per run would also
// catch a descendant that leaves the session, empties its environment and
// loses its parent (`setsid env -i cmd &`); the agent's unit neither
// delegates one nor may write to /sys/fs/cgroup. Such a process is the one
// thing that can outlive its run.
#include "surveyor/agent/exec/command.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <thread>
#include <unordered_set>

#include "surveyor/core/error_category.hpp"

namespace surveyor::agent::exec {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// How long a SIGKILLed child may take to be reaped before a thread is left
// to wait for it (a task in uninterruptible sleep dies only when it wakes).
constexpr milliseconds kReapGrace{2000};
// Without a pidfd, how often the child is looked at while its output is quiet.
constexpr milliseconds kExitPoll{50};
// Read from the pipe after the child exited, at most (the largest pipe buffer).
constexpr std::size_t kDrain = 1 << 20;

std::atomic<std::uint64_t> runs{0};

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

// Up to `max` bytes of a small /proc file; empty if it cannot be read.
std::string read_small(const std::string& path, std::size_t max) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  while (out.size() < max) {
    const ssize_t n = ::read(fd, buf, std::min(sizeof buf, max - out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

struct ProcInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t sid = 0;
  char state = '?';
  unsigned long long start = 0;  // clock ticks after boot
};

// /proc/PID/stat: the fields after the command name, which may hold spaces
// and parentheses, so they are read from the last ')'.
bool read_stat(pid_t pid, ProcInfo& p) {
  const std::string text = read_small("/proc/" + std::to_string(pid) + "/stat", 1024);
  const auto paren = text.rfind(')');
  if (paren == std::string::npos || paren + 2 >= text.size()) return false;
  p.pid = pid;
  return std::sscanf(text.c_str() + paren + 2,
                     "%c %d %*d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &p.state,
                     &p.ppid, &p.sid, &p.start) == 4;
}

std::vector<ProcInfo> list_processes() {
  std::vector<ProcInfo> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    ProcInfo p;
    if (read_stat(static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10)), p)) out.push_back(p);
  }
  ::closedir(d);
  return out;
}

// Whether the process's environment holds `entry` ("NAME=value") exactly.
bool has_env_entry(pid_t pid, const std::string& entry) {
  const std::string env = read_small("/proc/" + std::to_string(pid) + "/environ", 256 * 1024);
  std::size_t pos = 0;
  while (pos < env.size()) {
    const auto end = env.find('\0', pos);
    const std::size_t len = (end == std::string::npos ? env.size() : end) - pos;
    if (len == entry.size() && env.compare(pos, len, entry) == 0) return true;
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return false;
}

// SIGKILLs what the run of `child` started that is still running (see the
// design note). The child must not have been reaped yet.
void kill_leftovers(pid_t child, unsigned long long child_start, const std::string& tag) {
  const pid_t self = ::getpid();
  std::set<pid_t> killed;
  for (int round = 0; round < 5; ++round) {
    const std::vector<ProcInfo> procs = list_processes();
    std::unordered_set<pid_t> ours;
    for (const ProcInfo& p : procs) {
      if (p.pid == self || p.state == 'Z' || p.state == 'X') continue;
      if (p.pid == child || p.sid == child || (p.start >= child_start && has_env_entry(p.pid, tag)))
        ours.insert(p.pid);
    }
    for (bool grew = !ours.empty(); grew;) {  // and their descendants, whatever session they are in
      grew = false;
      for (const ProcInfo& p : procs)
        if (p.pid != self && p.state != 'Z' && !ours.contains(p.pid) && ours.contains(p.ppid)) {
          ours.insert(p.pid);
          grew = true;
        }
    }
    bool fresh = false;
    for (const pid_t pid : ours) {
      ::kill(pid, SIGKILL);
      fresh = killed.insert(pid).second || fresh;
    }
    if (!fresh) break;  // what is left was killed already and is on its way out
  }
}

// Reaps the (exited or killed) child: its wait status, or nullopt when it
// is not gone within kReapGrace; then a thread is left to reap it, so it
// never stays a zombie.
std::optional<int> reap(pid_t pid, int pidfd) {
  int status = 0;
  const auto until = steady_clock::now() + kReapGrace;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return std::nullopt;
    const auto left = std::chrono::duration_cast<milliseconds>(until - steady_clock::now());
    if (left.count() <= 0) break;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    } else {
      std::this_thread::sleep_for(std::min(left, kExitPoll));
    }
  }
  std::thread([pid] {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }).detach();
  return std::nullopt;
}

// The program argv[0] names: as given when it has a '/', else found in the
// PATH of the child's environment (posix_spawnp would search the agent's).
std::string resolve(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) != 0) continue;
    const std::string dirs = e.substr(5);
    std::size_t pos = 0;
    while (pos <= dirs.size()) {
      const auto colon = dirs.find(':', pos);
      const std::string candidate = dirs.substr(pos, colon - pos) + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (colon == std::string::npos) break;
      pos = colon + 1;
    }
  }
  return name;
}

}  // namespace

const std::error_category& exec_category() {
  static const core::TableCategory c("exec", {{ExecErrc::spawn_failed, "cannot start the command"},
                                              {ExecErrc::io, "cannot read the command's output"}});
  return c;
}

core::Result<CommandResult> run(const std::vector<std::string>& argv, const CommandOptions& options) {
  if (argv.empty()) return core::make_error(ExecErrc::spawn_failed, "empty command");
  const auto start = steady_clock::now();
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
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);

  const std::string tag = std::string(kExecIdVariable) + "=" + std::to_string(::getpid()) + "-" +
                          std::to_string(runs.fetch_add(1) + 1);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : options.env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(const_cast<char*>(tag.c_str()));
  cenv.push_back(nullptr);
  const std::string program = resolve(argv[0], options.env);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return core::make_error(ExecErrc::spawn_failed, argv[0] + ": " + std::strerror(rc));
  }
  ProcInfo child;
  if (!read_stat(pid, child)) child.start = 0;  // then every process is read for the tag
  const int pidfd = open_pidfd(pid);
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);

  CommandResult result;
  char buf[8192];
  // One read; false at EOF (every writer closed) or when nothing is there now.
  auto read_some = [&](bool& eof) -> bool {
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) < 0 && errno == EINTR) {
    }
    if (n <= 0) {
      eof = n == 0 || errno != EAGAIN;
      return false;
    }
    const std::size_t room = options.max_output - std::min(options.max_output, result.output.size());
    result.output.append(buf, std::min(room, static_cast<std::size_t>(n)));
    if (static_cast<std::size_t>(n) > room) result.truncated = true;
    return true;
  };
  auto exited = [&] {
    siginfo_t si{};
    return ::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
  };
  const auto deadline = start + options.timeout;
  bool pipe_open = true;  // until EOF
  bool done = false;  // the child exited
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd p[3]{};
    nfds_t n = 0;
    auto watch = [&](bool on, int fd) -> pollfd* {
      if (!on) return nullptr;
      p[n] = {fd, POLLIN, 0};
      return &p[n++];
    };
    const pollfd* out = watch(pipe_open, fds[0]);
    const pollfd* exit_event = watch(pidfd >= 0, pidfd);
    const pollfd* cancel = watch(options.cancel_fd >= 0, options.cancel_fd);
    const milliseconds wait = exit_event != nullptr ? left : std::min(left, kExitPoll);
    if (::poll(p, n, static_cast<int>(std::min<std::int64_t>(wait.count(), 60'000))) < 0 && errno != EINTR) {
      result.timed_out = true;  // cannot wait any more: treat it as out of time
      break;
    }
    if (cancel != nullptr && cancel->revents != 0) {
      result.cancelled = true;
      break;
    }
    if (out != nullptr && out->revents != 0) {
      bool eof = false;
      read_some(eof);
      pipe_open = !eof;
    }
    done = exit_event != nullptr ? exit_event->revents != 0 : exited();
    if (done) {
      // What it wrote before exiting; a leftover still writing gets no more
      // than a full pipe's worth read.
      bool eof = false;
      for (std::size_t drained = 0; pipe_open && drained < kDrain && read_some(eof);) drained += sizeof buf;
      break;
    }
  }
  ::close(fds[0]);
  if (!done) ::kill(pid, SIGKILL);
  ::kill(-pid, SIGKILL);  // its process group at once, even without /proc
  kill_leftovers(pid, child.start, tag);
  const std::optional<int> status = reap(pid, pidfd);
  if (pidfd >= 0) ::close(pidfd);
  if (status && WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
  if (status && WIFSIGNALED(*status)) result.signal = WTERMSIG(*status);
  if (!status && !done) result.signal = SIGKILL;  // it was sent one; the kernel has yet to act on it
  result.duration = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start);
  return result;
}

}  // namespace surveyor::agent::exec
