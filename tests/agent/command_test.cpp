// SPDX-License-Identifier: Apache-2.0
// Child processes with real misbehaving children: one that closes its
// output and stays, one whose child leaves the session, and being stopped
// from outside.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "surveyor/agent/exec/command.hpp"
#include "test_support.hpp"

namespace surveyor::agent::exec {
namespace {

using namespace std::chrono_literals;

// Whether the process still runs: not when /proc has no such process, nor
// when it is a zombie (dead, waiting for a parent that may never reap it).
bool running(pid_t pid) {
  const std::string stat = test::read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  return stat[paren + 2] != 'Z' && stat[paren + 2] != 'X';
}

// The pid a child script wrote to `path`, once it is there.
pid_t pid_in(const std::string& path) {
  pid_t pid = 0;
  EXPECT_TRUE(test::eventually([&] { return (std::ifstream(path) >> pid) && pid > 0; }, 10s)) << path;
  return pid;
}

// Kills a process a failed test left behind.
struct Reaper {
  pid_t pid = 0;
  ~Reaper() {
    if (pid > 0) ::kill(pid, SIGKILL);
  }
};

TEST(Command, RunsAndCapturesOutput) {
  auto r = run({"/bin/sh", "-c", "echo out; echo err >&2; echo \"$SURVEYOR_EXEC_ID\"; exit 3"});
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->output.substr(0, 8), "out\nerr\n");
  EXPECT_EQ(r->output.substr(8, std::to_string(::getpid()).size() + 1), std::to_string(::getpid()) + "-")
      << "every run is tagged: " << r->output;
}

// The child closes stdout and stderr, then goes on: EOF comes long before it
// exits. The run must still end at its deadline, the child killed.
TEST(Command, AChildThatClosesItsOutputAndStaysIsKilledAtTheDeadline) {
  test::TempDir dir;
  const std::string pidfile = dir.file("sleeper.pid");
  CommandOptions o;
  o.timeout = 1s;
  auto r = run({"/bin/sh", "-c", "exec >&- 2>&-; sleep 60 & echo $! > " + pidfile + "; wait"}, o);
  Reaper sleeper{pid_in(pidfile)};
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_LT(r->duration, 30s) << "not when the sleeper ends";
  EXPECT_TRUE(test::eventually([&] { return !running(sleeper.pid); }, 5s)) << "sleeper " << sleeper.pid;
}

// A grandchild that calls setsid() leaves the process group and session the
// timeout kill reaches; its parent exits, so init adopts it. It must not
// outlive the run, nor hold the run open through the output pipe it
// inherited.
TEST(Command, AProcessThatLeftTheSessionDiesWithTheRun) {
  test::TempDir dir;
  const std::string pidfile = dir.file("escaped.pid");
  CommandOptions o;
  o.timeout = 20s;
  auto r = run({"/bin/sh", "-c",
                "setsid sh -c 'echo $$ > " + pidfile + ".tmp; mv " + pidfile + ".tmp " + pidfile +
                    "; exec sleep 60' & while [ ! -s " + pidfile + " ]; do sleep 0.01; done; echo started"},
               o);
  Reaper escaped{pid_in(pidfile)};
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_FALSE(r->timed_out) << "the run ended when its child exited";
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->output, "started\n");
  EXPECT_TRUE(test::eventually([&] { return !running(escaped.pid); }, 5s)) << "escaped " << escaped.pid;
}

// The same escape, at a timeout: the child is still running when the
// deadline comes, so the escaped process is found through its parent too.
TEST(Command, AProcessThatLeftTheSessionDiesAtTheTimeout) {
  test::TempDir dir;
  const std::string pidfile = dir.file("escaped.pid");
  CommandOptions o;
  o.timeout = 1s;
  auto r = run({"/bin/sh", "-c", "setsid sh -c 'echo $$ > " + pidfile + "; exec sleep 60' >/dev/null 2>&1 & sleep 60"},
               o);
  Reaper escaped{pid_in(pidfile)};
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(r->timed_out);
  EXPECT_TRUE(test::eventually([&] { return !running(escaped.pid); }, 5s)) << "escaped " << escaped.pid;
}

TEST(Command, CancelStopsARunAtOnce) {
  test::TempDir dir;
  const std::string pidfile = dir.file("sleeper.pid");
  const int cancel = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ASSERT_GE(cancel, 0);
  CommandOptions o;
  o.timeout = 120s;
  o.cancel_fd = cancel;
  std::optional<core::Result<CommandResult>> r;
  std::thread t([&] { r = run({"/bin/sh", "-c", "echo $$ > " + pidfile + "; exec sleep 60"}, o); });
  Reaper sleeper{pid_in(pidfile)};
  const std::uint64_t one = 1;
  ASSERT_EQ(::write(cancel, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  t.join();
  ::close(cancel);
  ASSERT_TRUE(r && *r);
  EXPECT_TRUE((*r)->cancelled);
  EXPECT_FALSE((*r)->timed_out);
  EXPECT_TRUE(test::eventually([&] { return !running(sleeper.pid); }, 5s));
}

}  // namespace
}  // namespace surveyor::agent::exec
