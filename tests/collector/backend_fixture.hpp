// SPDX-License-Identifier: Apache-2.0
// The backends every store suite runs against: SQLite on a real file and
// Redis on a real redis-server (each test gets its own key prefix).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "surveyor/collector/backends/open.hpp"
#include "test_support.hpp"

namespace surveyor::collector::store {

struct SqliteBackend {
  static constexpr const char* kName = "sqlite";
  test::TempDir dir;
  std::string url() const { return "sqlite:" + dir.file("surveyor.db"); }
};

struct RedisBackend {
  static constexpr const char* kName = "redis";
  std::string prefix = test::unique_prefix();
  std::string url() const {
    auto a = test::test_redis();
    return "redis://" + a.host + ":" + std::to_string(a.port) + "/" + prefix;
  }
};

using Backends = ::testing::Types<SqliteBackend, RedisBackend>;
struct BackendNames {
  template <class T>
  static std::string GetName(int) { return T::kName; }
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

  B backend;
  Stores stores;
};

}  // namespace surveyor::collector::store
