// SPDX-License-Identifier: Apache-2.0
// Helpers for tests: temporary directories, free loopback ports, child
// processes, and a real redis-server (the one `make test` started, or a
// throwaway one this process starts and stops itself).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace surveyor::test {

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago, below the ephemeral
// range, so no server binding port 0 takes it while a test has it stopped.
[[nodiscard]] std::uint16_t free_port();

// A child process with its stdout and stderr captured to files.
class Process {
 public:
  Process(std::vector<std::string> argv, const std::filesystem::path& log_dir,
          std::map<std::string, std::string> extra_env = {});
  ~Process();  // SIGKILL if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool running();
  // Sends `sig` and waits up to `timeout` for the exit; returns the wait status.
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout);
  [[nodiscard]] std::string output() const;  // stdout + stderr so far

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path out_;
};

// Polls `pred` every 20 ms until true or the timeout passes.
template <class F>
bool eventually(F&& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

struct RedisAddress {
  std::string host;
  std::uint16_t port = 0;
};

// A throwaway redis-server of a test's own, on a free loopback port, with
// `settings` added to its command line ({"--maxmemory-policy", "allkeys-lru"});
// stopped when it goes. Throws if it does not answer within 10 s.
class RedisServer {
 public:
  explicit RedisServer(const std::vector<std::string>& settings = {});
  [[nodiscard]] const RedisAddress& address() const { return addr_; }
  [[nodiscard]] std::string url(const std::string& prefix) const {
    return "redis://" + addr_.host + ":" + std::to_string(addr_.port) + "/" + prefix;
  }
  // SIGKILL, as in a crash: nothing is flushed, no client is told.
  void kill();

 private:
  std::unique_ptr<TempDir> dir_;
  RedisAddress addr_;
  std::unique_ptr<Process> proc_;
};

// A Redis Sentinel of a test's own on a free loopback port, monitoring
// `master` as `name` with `quorum`, judging it down after `down_after`.
class RedisSentinel {
 public:
  RedisSentinel(const RedisAddress& master, const std::string& name, int quorum,
                std::chrono::milliseconds down_after);
  [[nodiscard]] const RedisAddress& address() const { return addr_; }
  // redis-cli's raw answer to a command sent to this Sentinel.
  [[nodiscard]] std::string ask(const std::string& command) const;

 private:
  std::unique_ptr<TempDir> dir_;
  RedisAddress addr_;
  std::unique_ptr<Process> proc_;
};

// A throwaway Redis Cluster of a test's own: `masters` nodes sharing the
// 16,384 hash slots, each with `replicas` replicas, all on free loopback
// ports, `settings` added to every node's command line. Nodes judge one
// another down after 1 s, so a killed master's replica is promoted within
// seconds. Throws unless every node says cluster_state:ok within 30 s.
class RedisCluster {
 public:
  explicit RedisCluster(int masters, int replicas = 0, const std::vector<std::string>& settings = {});
  // A cluster running already (its nodes are not this object's: node()
  // throws); only its masters, no replica.
  explicit RedisCluster(std::vector<RedisAddress> masters) : addresses_(std::move(masters)) {}
  // redis-cluster://HOST:PORT,... (every node)/PREFIX
  [[nodiscard]] std::string url(const std::string& prefix) const;
  [[nodiscard]] std::size_t size() const { return addresses_.size(); }
  [[nodiscard]] RedisServer& node(std::size_t i) { return *nodes_.at(i); }
  [[nodiscard]] const RedisAddress& address(std::size_t i) const { return addresses_.at(i); }
  // redis-cli's raw answer from node i.
  [[nodiscard]] std::string ask(std::size_t i, const std::string& command) const;
  // The node that serves `key` as master now (the others answer MOVED);
  // size() if none does.
  [[nodiscard]] std::size_t master_of(const std::string& key) const;

 private:
  std::vector<std::unique_ptr<RedisServer>> nodes_;  // empty for a cluster running already
  std::vector<RedisAddress> addresses_;
};

// A cluster of three masters for the tests: $SURVEYOR_TEST_REDIS_CLUSTER
// (HOST:PORT,HOST:PORT,... of its masters, no replicas) if set, else one
// of this test process, started once and stopped at exit.
[[nodiscard]] RedisCluster& test_redis_cluster();

// The Redis server for this test process: $SURVEYOR_TEST_REDIS (HOST:PORT) if
// set, else a RedisServer started once and stopped at exit.
[[nodiscard]] RedisAddress test_redis();

// A key prefix no other test uses, so tests can share one server.
[[nodiscard]] std::string unique_prefix();

// A path to a built binary, from the environment variable the build passes
// (SURVEYOR_BIN_DIR).
[[nodiscard]] std::string binary(const std::string& name);

// The standard output of a shell command line (for independent sources such
// as lsblk, hwloc-calc, df), with trailing newlines removed.
[[nodiscard]] std::string run_command(const std::string& command_line);

// Reads a whole file; empty if it cannot be read.
[[nodiscard]] std::string read_file(const std::filesystem::path& p);

}  // namespace surveyor::test
