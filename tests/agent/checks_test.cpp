// SPDX-License-Identifier: Apache-2.0
// Checks: the Nagios output format, the built-in checks on loopback, and
// exec checks with the real monitoring-plugins (check_tcp, check_procs,
// check_disk, check_load).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "surveyor/agent/checks/check.hpp"
#include "surveyor/agent/checks/scheduler.hpp"
#include "surveyor/collector/server/server.hpp"
#include "test_support.hpp"

namespace surveyor::agent::checks {
namespace {

using namespace std::chrono_literals;
const std::string kPlugins = "/usr/lib/nagios/plugins/";

// A TCP listener on 127.0.0.1 for as long as it lives.
struct Listener {
  int fd = -1;
  std::uint16_t port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd); }
};

CheckSpec spec(CheckKind kind, std::string name) {
  CheckSpec c;
  c.name = std::move(name);
  c.kind = kind;
  c.timeout = 5s;
  return c;
}

TEST(Perfdata, PluginGuidelineFormat) {
  auto p = parse_perfdata("load1=0.570;100.000;200.000;0; 'disk /var'=10MB;;;0;100 time=0.001234s rtt=12ms "
                          "pct=55.5% cnt=123c bad=U noequals 'it''s'=1 weird=5furlongs");
  ASSERT_EQ(p.size(), 7u);
  EXPECT_EQ(p[0], (PerfDatum{"load1", 0.57, "1"}));
  EXPECT_EQ(p[1], (PerfDatum{"disk /var", 10.0 * 1024 * 1024, "By"}));
  EXPECT_EQ(p[2], (PerfDatum{"time", 0.001234, "s"}));
  EXPECT_DOUBLE_EQ(p[3].value, 0.012);
  EXPECT_EQ(p[4], (PerfDatum{"pct", 55.5, "%"}));
  EXPECT_EQ(p[5], (PerfDatum{"cnt", 123, "{count}"}));
  EXPECT_EQ(p[6], (PerfDatum{"it's", 1, "1"}));
}

TEST(Perfdata, LongOutputAndPerfdataOnLaterLines) {
  auto o = parse_nagios_output("DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n"
                               "/ 15272 MB (77%);\n/boot 68 MB (69%); | /boot=68MB;88;93;0;98\n"
                               "/home=69357MB;253404;253409;0;253414\n");
  EXPECT_EQ(o.text, "DISK OK - free space: / 3326 MB (56%);");
  ASSERT_EQ(o.perf.size(), 3u);
  EXPECT_EQ(o.perf[1].label, "/boot");
  EXPECT_EQ(o.perf[2].label, "/home");
  EXPECT_EQ(parse_nagios_output("").text, "");
  EXPECT_EQ(parse_nagios_output("no perfdata\r\n").text, "no perfdata");
}

TEST(BuiltinChecks, TcpOpenAndClosed) {
  Listener l;
  auto c = spec(CheckKind::tcp, "open");
  c.target = "127.0.0.1:" + std::to_string(l.port);
  auto r = run_check(c, "/proc", 42);
  EXPECT_EQ(r.result.state, wire::CheckState::ok) << r.result.output;
  EXPECT_EQ(r.result.time_ms, 42);
  EXPECT_EQ(r.result.kind, "tcp");
  c.target = "127.0.0.1:" + std::to_string(test::free_port());
  r = run_check(c, "/proc", 42);
  EXPECT_EQ(r.result.state, wire::CheckState::critical);
  EXPECT_NE(r.result.output.find("refused"), std::string::npos) << r.result.output;
}

TEST(BuiltinChecks, HttpExpectedStatus) {
  auto router = std::make_shared<collector::server::Router>();
  router->add("GET", "/health", "h", [](const http::Request& q, const collector::server::Params& p) {
    http::Response r;
    r.status = p.query_or("fail").empty() ? 200 : 503;
    r.body = q.target;
    return r;
  });
  collector::server::ServerOptions o;
  o.port = 0;
  collector::server::Server srv(o, router);
  ASSERT_TRUE(srv.start());
  auto c = spec(CheckKind::http, "web");
  c.target = "http://127.0.0.1:" + std::to_string(srv.port()) + "/health";
  auto r = run_check(c, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::ok) << r.result.output;
  c.target += "?fail=1";
  r = run_check(c, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::critical) << r.result.output;
  EXPECT_NE(r.result.output.find("503"), std::string::npos);
  c.expect_status = 503;
  EXPECT_EQ(run_check(c, "/proc", 1).result.state, wire::CheckState::ok);
  c.target = "http://127.0.0.1:" + std::to_string(test::free_port()) + "/";
  EXPECT_EQ(run_check(c, "/proc", 1).result.state, wire::CheckState::critical);
}

TEST(BuiltinChecks, ProcessByNameAndPattern) {
  test::TempDir dir;
  test::Process sleeper({"/bin/sleep", "30"}, dir.path());
  // Until the child has exec'd, /proc shows the parent's command line.
  ASSERT_TRUE(test::eventually(
      [&] { return test::read_file("/proc/" + std::to_string(sleeper.pid()) + "/cmdline").rfind("/bin/sleep", 0) == 0; },
      5s));
  auto c = spec(CheckKind::process, "sleepers");
  c.target = "sleep";
  auto r = run_check(c, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::ok) << r.result.output;
  c.max_count = 0;
  EXPECT_EQ(run_check(c, "/proc", 1).result.state, wire::CheckState::critical);
  auto p = spec(CheckKind::process, "by-pattern");
  p.pattern = "^/bin/sleep 30$";
  EXPECT_EQ(run_check(p, "/proc", 1).result.state, wire::CheckState::ok);
  p.pattern = "^no-such-program";
  r = run_check(p, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::critical);
  EXPECT_NE(r.result.output.find("0 processes"), std::string::npos) << r.result.output;
}

// Command lines are written by any local user and read up to 64 KiB. A
// pattern a backtracking engine explores once per character ("(a|b)*" on
// 64 KiB of 'a') overflowed libstdc++'s std::regex stack and took the agent
// down; it must just be a match or not.
TEST(BuiltinChecks, ProcessPatternOnA64KiBCommandLine) {
  test::TempDir proc;
  std::filesystem::create_directories(proc.path() / "4242");
  std::ofstream(proc.file("4242/cmdline"), std::ios::binary) << std::string(64 * 1024, 'a') << '\0';
  auto c = spec(CheckKind::process, "long");
  c.pattern = "(a|b)*c";
  auto r = run_check(c, proc.path().string(), 1);
  EXPECT_EQ(r.result.state, wire::CheckState::critical) << r.result.output;
  EXPECT_NE(r.result.output.find("0 processes"), std::string::npos) << r.result.output;
  c.pattern = "^(a|b)*$";
  r = run_check(c, proc.path().string(), 1);
  EXPECT_EQ(r.result.state, wire::CheckState::ok) << r.result.output;
  EXPECT_NE(r.result.output.find("1 process "), std::string::npos) << r.result.output;
}

TEST(NagiosChecks, RealMonitoringPlugins) {
  Listener l;
  auto tcp = spec(CheckKind::nagios, "check_tcp");
  tcp.command = {kPlugins + "check_tcp", "-H", "127.0.0.1", "-p", std::to_string(l.port)};
  auto r = run_check(tcp, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::ok) << r.result.output;
  EXPECT_EQ(r.result.output.rfind("TCP OK", 0), 0u) << r.result.output;
  ASSERT_FALSE(r.perf.empty());
  EXPECT_EQ(r.perf[0].label, "time");
  EXPECT_EQ(r.perf[0].unit, "s");

  tcp.command = {kPlugins + "check_tcp", "-H", "127.0.0.1", "-p", std::to_string(test::free_port())};
  EXPECT_EQ(run_check(tcp, "/proc", 1).result.state, wire::CheckState::critical);

  auto procs = spec(CheckKind::nagios, "check_procs");
  procs.command = {"check_procs", "-C", "no-such-process-name", "-c", "1:"};  // found through PATH
  procs.command[0] = kPlugins + procs.command[0];
  r = run_check(procs, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::critical) << r.result.output;
  ASSERT_FALSE(r.perf.empty());
  EXPECT_EQ(r.perf[0], (PerfDatum{"procs", 0, "1"}));

  auto disk = spec(CheckKind::nagios, "check_disk");
  disk.command = {kPlugins + "check_disk", "-w", "1%", "-c", "0%", "-p", "/"};
  r = run_check(disk, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::ok) << r.result.output;
  ASSERT_FALSE(r.perf.empty());
  EXPECT_EQ(r.perf[0].label, "/");
  EXPECT_EQ(r.perf[0].unit, "By");
  EXPECT_GT(r.perf[0].value, 1e6);

  auto load = spec(CheckKind::nagios, "check_load");
  load.command = {kPlugins + "check_load", "-w", "1000,1000,1000", "-c", "2000,2000,2000"};
  r = run_check(load, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::ok) << r.result.output;
  ASSERT_EQ(r.perf.size(), 3u);
  EXPECT_EQ(r.perf[2].label, "load15");
}

TEST(NagiosChecks, TimeoutsCapsExitCodesAndNoShell) {
  auto slow = spec(CheckKind::nagios, "slow");
  slow.command = {"/bin/sleep", "30"};
  slow.timeout = 300ms;
  auto r = run_check(slow, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::critical);
  EXPECT_NE(r.result.output.find("timed out"), std::string::npos);
  EXPECT_LT(r.result.duration_ms, 5000);

  auto chatty = spec(CheckKind::nagios, "chatty");
  chatty.shell = true;
  chatty.command = {"head -c 100000 /dev/zero | tr '\\0' x; exit 1"};
  chatty.max_output = 1000;
  r = run_check(chatty, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::warning);
  EXPECT_LE(r.result.output.size(), 1000u);

  auto odd = spec(CheckKind::nagios, "odd");
  odd.command = {"/bin/sh", "-c", "echo 'weird | x=1'; exit 7"};
  r = run_check(odd, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::unknown);
  EXPECT_EQ(r.result.output, "weird");

  // Without shell = true, shell syntax is just an argument.
  auto literal = spec(CheckKind::nagios, "literal");
  literal.command = {"/bin/echo", "$(id)", ";", "rm", "-rf", "/"};
  r = run_check(literal, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::ok);
  EXPECT_EQ(r.result.output, "$(id) ; rm -rf /");

  auto missing = spec(CheckKind::nagios, "missing");
  missing.command = {"/nonexistent/check_x"};
  r = run_check(missing, "/proc", 1);
  EXPECT_EQ(r.result.state, wire::CheckState::unknown);
}

TEST(CheckConfig, ValidatesEachKind) {
  auto schema = check_schema();
  auto parse = [&](const std::string& toml) -> core::Result<CheckSpec> {
    config::Schema top;
    top.add_table_array({.key = "check", .description = "", .schema = schema});
    auto s = config::load_string(top, toml, "agent.toml");
    if (!s) return std::move(s).error();
    return check_from_settings(s->tables("check").at(0));
  };
  auto ok = parse("[[check]]\nname = \"ssh\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:22\"\ninterval = \"30s\"\n");
  ASSERT_TRUE(ok) << ok.error().describe();
  EXPECT_EQ(ok->interval, 30s);
  EXPECT_FALSE(parse("[[check]]\nname = \"x\"\ntype = \"ping\"\n"));
  EXPECT_FALSE(parse("[[check]]\nname = \"x\"\ntype = \"tcp\"\ntarget = \"nohostport\"\n"));
  EXPECT_FALSE(parse("[[check]]\nname = \"x\"\ntype = \"http\"\ntarget = \"ftp://x\"\n"));
  EXPECT_FALSE(parse("[[check]]\nname = \"x\"\ntype = \"process\"\n"));
  EXPECT_FALSE(parse("[[check]]\nname = \"x\"\ntype = \"process\"\npattern = \"(\"\n"));
  // RE2 has no backreferences or lookaround: refused when the file is read, saying why.
  auto backref = parse("[[check]]\nname = \"x\"\ntype = \"process\"\npattern = '(a)\\1'\n");
  ASSERT_FALSE(backref);
  EXPECT_NE(backref.error().message.find("'x': pattern: invalid escape sequence"), std::string::npos)
      << backref.error().message;
  EXPECT_FALSE(parse("[[check]]\nname = \"x\"\ntype = \"nagios\"\n"));
  EXPECT_FALSE(parse("[[check]]\nname = \"x\"\ntype = \"nagios\"\nshell = true\ncommand = [\"a\", \"b\"]\n"));
  EXPECT_FALSE(parse("[[check]]\ntype = \"tcp\"\ntarget = \"a:1\"\n"));
  EXPECT_FALSE(parse("[[check]]\nname = \"disk space\"\ntype = \"tcp\"\ntarget = \"a:1\"\n"));
}

TEST(CheckScheduler, RunsChecksOffTheLoopAndCollectsResults) {
  boost::asio::io_context io;
  core::SystemClock clock;
  Listener l;
  std::vector<CheckSpec> specs;
  for (int i = 0; i < 3; ++i) {
    auto c = spec(CheckKind::tcp, "tcp" + std::to_string(i));
    c.target = "127.0.0.1:" + std::to_string(l.port);
    c.interval = 1s;
    specs.push_back(c);
  }
  // Far longer than the test may take: it holds one of the two workers
  // throughout, and stop() kills it.
  auto slow = spec(CheckKind::nagios, "slow");
  slow.command = {"/bin/sleep", "120"};
  slow.interval = 1s;
  slow.timeout = 110s;
  specs.push_back(slow);
  CheckScheduler s(io, specs, 2, "/proc", clock);
  s.start();
  // However slow the machine, the TCP checks come in on the other worker.
  std::set<std::string> names;
  const bool all_in = test::eventually(
      [&] {
        io.run_for(50ms);
        for (const auto& r : s.take_results()) names.insert(r.result.name);
        return names.contains("tcp0") && names.contains("tcp1") && names.contains("tcp2");
      },
      60s);
  EXPECT_TRUE(all_in);
  EXPECT_FALSE(names.contains("slow")) << "still running";
  EXPECT_TRUE(s.disable("tcp0"));
  EXPECT_FALSE(s.disable("nope"));
  s.stop();
}

// A check whose child closes its output and stays: stopping the scheduler
// (what SIGTERM and SIGHUP do) must neither wait for that child nor leave it
// running.
TEST(CheckScheduler, StopEndsACheckThatClosedItsOutputAndStays) {
  boost::asio::io_context io;
  core::SystemClock clock;
  test::TempDir dir;
  const std::string pidfile = dir.file("sleeper.pid");
  auto stuck = spec(CheckKind::nagios, "stuck");
  stuck.shell = true;
  stuck.command = {"exec >&- 2>&-; echo $$ > " + pidfile + "; sleep 60"};
  stuck.timeout = 120s;
  stuck.interval = 60s;
  CheckScheduler s(io, {stuck}, 1, "/proc", clock);
  s.start();
  pid_t pid = 0;
  ASSERT_TRUE(test::eventually([&] { return (std::ifstream(pidfile) >> pid) && pid > 0; }, 10s));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    s.stop();
    stopped = true;
  });
  EXPECT_TRUE(test::eventually([&] { return stopped.load(); }, 20s)) << "stop() waits for the check";
  stopper.join();
  EXPECT_TRUE(test::eventually([&] { return ::kill(pid, 0) != 0; }, 5s)) << "the check's process was reaped";
  ::kill(pid, SIGKILL);  // left by a failed run
}

}  // namespace
}  // namespace surveyor::agent::checks
