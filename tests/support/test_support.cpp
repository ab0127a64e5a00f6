// SPDX-License-Identifier: Apache-2.0
// What every test binary may use: temporary directories, child processes,
// free ports, waits that poll, throwaway Redis servers.
#include "test_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace surveyor::test {
namespace {

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream os;
  os << std::hex << rng();
  return os.str();
}

// Connects to HOST:PORT and sends PING; true on +PONG.
bool redis_answers(const std::string& host, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const char ping[] = "PING\r\n";
    if (::write(fd, ping, sizeof ping - 1) == static_cast<ssize_t>(sizeof ping - 1)) {
      char buf[16] = {};
      // A server that wants a password answers too.
      ok = ::read(fd, buf, sizeof buf - 1) > 0 &&
           (std::string(buf).rfind("+PONG", 0) == 0 || std::string(buf).rfind("-NOAUTH", 0) == 0);
    }
  }
  ::close(fd);
  return ok;
}

// $SURVEYOR_REDIS_SERVER, or Debian's redis-server.
std::string redis_server_binary() {
  const char* bin = std::getenv("SURVEYOR_REDIS_SERVER");
  return bin ? bin : "/usr/bin/redis-server";
}

// A redis-server owned by this process, killed by the static destructor.
}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::filesystem::path root = base ? base : "/tmp";
  for (int i = 0; i < 100; ++i) {
    auto p = root / ("surveyor-test-" + random_suffix());
    if (std::filesystem::create_directory(p)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

bool can_bind(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

// Below the kernel's ephemeral range, so that no server binding port 0 (as
// the collectors in the other tests do) can take it while a test has it
// stopped and means to start again on it.
std::uint16_t free_port() {
  unsigned low = 32768;
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  range >> low;
  static thread_local std::mt19937 rng{std::random_device{}()};
  if (low > 10'100)
    for (int i = 0; i < 200; ++i) {
      const auto p = static_cast<std::uint16_t>(std::uniform_int_distribution<unsigned>(10'000, low - 1)(rng));
      if (can_bind(p)) return p;
    }
  throw std::runtime_error("no free port below the ephemeral range " + std::to_string(low));
}

Process::Process(std::vector<std::string> argv, const std::filesystem::path& log_dir,
                 std::map<std::string, std::string> extra_env) {
  out_ = log_dir / (std::filesystem::path(argv.at(0)).filename().string() + "-" + random_suffix() + ".log");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string s = *e;
    const std::string key = s.substr(0, s.find('='));
    if (!extra_env.contains(key)) env_strings.push_back(s);
  }
  for (const auto& [k, v] : extra_env) env_strings.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : env_strings) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
}

Process::~Process() {
  if (running()) stop(SIGKILL, std::chrono::seconds(5));
}

bool Process::running() {
  if (status_) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return r == 0;
}

std::optional<int> Process::stop(int sig, std::chrono::milliseconds timeout) {
  if (!running()) return status_;
  ::kill(pid_, sig);
  eventually([this] { return !running(); }, timeout);
  if (running()) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    status_ = st;
    return std::nullopt;
  }
  return status_;
}

std::string Process::output() const { return read_file(out_); }

RedisAddress test_redis() {
  if (const char* env = std::getenv("SURVEYOR_TEST_REDIS")) {
    std::string s = env;
    const auto colon = s.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("SURVEYOR_TEST_REDIS must be HOST:PORT");
    return {s.substr(0, colon), static_cast<std::uint16_t>(std::stoi(s.substr(colon + 1)))};
  }
  static RedisServer owned;
  return owned.address();
}

RedisServer::RedisServer(const std::vector<std::string>& settings)
    : dir_(std::make_unique<TempDir>()), addr_{"127.0.0.1", free_port()} {
  std::vector<std::string> argv{redis_server_binary(), "--port", std::to_string(addr_.port),
                                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                                dir_->path().string(), "--daemonize", "no"};
  argv.insert(argv.end(), settings.begin(), settings.end());
  proc_ = std::make_unique<Process>(argv, dir_->path());
  if (!eventually([&] { return redis_answers(addr_.host, addr_.port); }, std::chrono::seconds(10)))
    throw std::runtime_error("redis-server did not start: " + proc_->output());
}

void RedisServer::kill() { proc_->stop(SIGKILL, std::chrono::seconds(10)); }

RedisSentinel::RedisSentinel(const RedisAddress& master, const std::string& name, int quorum,
                             std::chrono::milliseconds down_after)
    : dir_(std::make_unique<TempDir>()), addr_{"127.0.0.1", free_port()} {
  // Sentinel rewrites its configuration file, so it gets one of its own.
  const std::string conf = dir_->file("sentinel.conf");
  std::ofstream(conf) << "port " << addr_.port << "\nbind 127.0.0.1\ndir " << dir_->path().string() << "\n"
                      << "sentinel monitor " << name << " " << master.host << " " << master.port << " " << quorum
                      << "\nsentinel down-after-milliseconds " << name << " " << down_after.count()
                      << "\nsentinel failover-timeout " << name << " 10000\n";
  proc_ = std::make_unique<Process>(
      std::vector<std::string>{redis_server_binary(), conf, "--sentinel", "--daemonize", "no"},
      dir_->path());
  if (!eventually([&] { return redis_answers(addr_.host, addr_.port); }, std::chrono::seconds(10)))
    throw std::runtime_error("redis-server --sentinel did not start: " + proc_->output());
}

std::string RedisSentinel::ask(const std::string& command) const {
  return run_command("redis-cli -h " + addr_.host + " -p " + std::to_string(addr_.port) + " " + command);
}

RedisCluster::RedisCluster(int masters, int replicas, const std::vector<std::string>& settings) {
  std::vector<std::string> args{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                "--cluster-node-timeout", "1000"};
  args.insert(args.end(), settings.begin(), settings.end());
  std::string create = "redis-cli --cluster create";
  for (int i = 0; i < masters * (1 + replicas); ++i) {
    // The cluster bus port would be the port + 10,000, past 65,535 for
    // some free ports: it gets a free port of its own.
    std::vector<std::string> own = args;
    own.insert(own.end(), {"--cluster-port", std::to_string(free_port())});
    nodes_.push_back(std::make_unique<RedisServer>(own));
    addresses_.push_back(nodes_.back()->address());
    create += " 127.0.0.1:" + std::to_string(nodes_.back()->address().port);
  }
  // redis-cli gives the first `masters` nodes the slots, the others follow them.
  const std::string created =
      run_command(create + " --cluster-replicas " + std::to_string(replicas) + " --cluster-yes 2>&1");
  if (created.find("All 16384 slots covered") == std::string::npos)
    throw std::runtime_error("redis-cli could not create the Redis Cluster: " + created);
  const auto settled = [&] {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (ask(i, "cluster info").find("cluster_state:ok") == std::string::npos) return false;
      if (i >= static_cast<std::size_t>(masters) &&
          ask(i, "info replication").find("master_link_status:up") == std::string::npos)
        return false;
    }
    return true;
  };
  if (!eventually(settled, std::chrono::seconds(30)))
    throw std::runtime_error("the Redis Cluster did not settle: " + created + ask(0, "cluster info"));
}

std::string RedisCluster::url(const std::string& prefix) const {
  std::string out = "redis-cluster://";
  for (std::size_t i = 0; i < addresses_.size(); ++i)
    out += (i ? "," : "") + addresses_[i].host + ":" + std::to_string(addresses_[i].port);
  return out + "/" + prefix;
}

std::string RedisCluster::ask(std::size_t i, const std::string& command) const {
  return run_command("redis-cli -h " + addresses_.at(i).host + " -p " + std::to_string(addresses_.at(i).port) + " " +
                     command + " 2>&1");
}

std::size_t RedisCluster::master_of(const std::string& key) const {
  for (std::size_t i = 0; i < addresses_.size(); ++i) {
    const std::string answer = ask(i, "exists '" + key + "'");
    if (answer == "0" || answer == "1") return i;
  }
  return addresses_.size();
}

RedisCluster& test_redis_cluster() {
  static RedisCluster cluster = [] {
    const char* env = std::getenv("SURVEYOR_TEST_REDIS_CLUSTER");
    if (env == nullptr) return RedisCluster(3);
    std::vector<RedisAddress> masters;
    std::string list = env;
    for (std::size_t at = 0; at <= list.size();) {
      const std::size_t end = std::min(list.find(',', at), list.size());
      const std::string one = list.substr(at, end - at);
      const auto colon = one.rfind(':');
      if (colon == std::string::npos) throw std::runtime_error("SURVEYOR_TEST_REDIS_CLUSTER must be HOST:PORT,...");
      masters.push_back({one.substr(0, colon), static_cast<std::uint16_t>(std::stoi(one.substr(colon + 1)))});
      at = end + 1;
    }
    return RedisCluster(std::move(masters));
  }();
  return cluster;
}

std::string unique_prefix() { return "test-" + random_suffix(); }

std::string binary(const std::string& name) {
  const char* dir = std::getenv("SURVEYOR_BIN_DIR");
  if (dir == nullptr) throw std::runtime_error("SURVEYOR_BIN_DIR is not set (run the tests through ctest)");
  return std::string(dir) + "/" + name;
}

std::string run_command(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p.get())) out += buf;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace surveyor::test
