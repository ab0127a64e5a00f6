// SPDX-License-Identifier: Apache-2.0
// The backends every store suite runs against: SQLite on a real file, Redis
// on a real redis-server and on a real Redis Cluster (each test gets its
// own key prefix).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "surveyor/collector/backends/open.hpp"
#include "test_support.hpp"

namespace surveyor::collector::store {

struct SqliteBackend {
  static constexpr const char* kName = "sqlite";
  static constexpr const char* kScheme = "sqlite:";  // how the store describes itself
  test::TempDir dir;
  std::string url() const { return "sqlite:" + dir.file("surveyor.db"); }
};

struct RedisBackend {
  static constexpr const char* kName = "redis";
  static constexpr const char* kScheme = "redis://";
  std::string prefix = test::unique_prefix();
  std::string url() const {
    auto a = test::test_redis();
    return "redis://" + a.host + ":" + std::to_string(a.port) + "/" + prefix;
  }
};

// Redis Cluster: three masters of a cluster the test process starts, the
// store's keys in the slot of its prefix.
struct RedisClusterBackend {
  static constexpr const char* kName = "redis_cluster";
  static constexpr const char* kScheme = "redis-cluster://";
  std::string prefix = test::unique_prefix();
  std::string url() const { return test::test_redis_cluster().url(prefix); }
};

using Backends = ::testing::Types<SqliteBackend, RedisBackend, RedisClusterBackend>;
struct BackendNames {
  template <class T>
  static std::string GetName(int) { return T::kName; }
};

// The records most suites start from.
inline AgentRecord agent_record(const std::string& id) {
  AgentRecord a;
  a.id = id;
  a.key_hash = std::string(64, 'a');
  a.host_id = "host-" + id;
  a.hostname = "web01";
  a.ci_id = "ci-" + id;
  a.agent_version = "0.1.0";
  a.enrolled_at_ms = 1'000;
  return a;
}

inline CiUpdate host_update(const std::string& id, const std::string& name, std::int64_t at) {
  CiUpdate u;
  u.id = id;
  u.type = "host";
  u.name = name;
  u.source = "agent";
  u.seen_at_ms = at;
  return u;
}

inline SeriesInfo series_info(const std::string& ci, const std::string& metric, Labels attrs = {}) {
  return SeriesInfo{SeriesKey{ci, metric, std::move(attrs)}, "1"};
}

// A report of `agent` with a 60 s heartbeat and nothing in it yet.
inline ReportBatch report_batch(const std::string& agent, std::uint64_t sequence, std::int64_t received_at_ms) {
  ReportBatch b;
  b.agent_id = agent;
  b.sequence = sequence;
  b.received_at_ms = received_at_ms;
  b.heartbeat_interval_s = 60;
  return b;
}

// Reports handed over with apply_report_async to `reports`, each kept
// until the store is done with it, and their answers by key; whether any
// came on the thread that handed its report over.
class HandedReports {
 public:
  explicit HandedReports(ReportStore& reports) : reports_(reports) {}
  void send(ReportBatch b, const std::string& key) {
    batches_.push_back(std::move(b));
    const auto caller = std::this_thread::get_id();
    reports_.apply_report_async(batches_.back(), [this, key, caller](core::Result<ApplyResult> r) {
      std::lock_guard lock(mu_);
      if (std::this_thread::get_id() == caller) on_callers_thread_ = true;
      answers_.emplace(key, std::move(r));
      cv_.notify_all();
    });
  }
  // Whether `n` answers came within a minute.
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return answers_.size() >= n; });
  }
  // Read once wait_for() has seen them.
  [[nodiscard]] const std::map<std::string, core::Result<ApplyResult>>& answers() const { return answers_; }
  [[nodiscard]] bool on_callers_thread() const { return on_callers_thread_; }

 private:
  ReportStore& reports_;
  std::deque<ReportBatch> batches_;  // where they were put until answered
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, core::Result<ApplyResult>> answers_;  // under mu_
  bool on_callers_thread_ = false;                           // under mu_
};

// Opens the backend's stores; a fixture base for typed suites.
template <class B>
class OnBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = backends::open_stores(backend.url());
    ASSERT_TRUE(s) << s.error().describe();
    stores = std::move(*s);
  }

  // Enrolls agent `id`, whose host is the CI `ci_id`.
  void add_agent(const std::string& id, const std::string& ci_id) {
    AgentRecord a = agent_record(id);
    a.ci_id = ci_id;
    ASSERT_TRUE(stores.agents->create_agent(a));
  }

  B backend;
  Stores stores;
};

// Declares a conformance suite of the store domain tested in this file: its
// typed tests run on every backend.
#define SURVEYOR_STORE_SUITE(Suite)                               \
  template <class B>                                              \
  using Suite = ::surveyor::collector::store::OnBackend<B>;       \
  TYPED_TEST_SUITE(Suite, ::surveyor::collector::store::Backends, \
                   ::surveyor::collector::store::BackendNames)

}  // namespace surveyor::collector::store
