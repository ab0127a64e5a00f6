// SPDX-License-Identifier: Apache-2.0
// What the evaluation tests stand on: a SQLite store in a temporary
// directory with one service file, and agents' heartbeats.
#pragma once

#include <fstream>
#include <memory>
#include <string>

#include "backend_fixture.hpp"
#include "surveyor/collector/services/services.hpp"

namespace surveyor::collector::fixtures {

// What an agent's report says of its host "host-NAME": seen at `at`.
inline store::CiUpdate heartbeat(const std::string& name, std::int64_t at, std::int64_t interval_s = 10) {
  store::CiUpdate u;
  u.id = "host-" + name;
  u.type = "host";
  u.name = name;
  u.source = "agent";
  u.attributes = {{"agent.heartbeat_interval_s", interval_s}};
  u.seen_at_ms = at;
  return u;
}

// A SQLite store and the services of one service file.
struct Scene {
  explicit Scene(const std::string& service_toml) {
    auto opened = backends::open_stores("sqlite:" + dir.file("s.db"));
    EXPECT_TRUE(opened);
    if (opened) stores = *opened;
    std::ofstream(defs.file("shop.toml")) << service_toml;
    catalog = std::make_shared<services::Catalog>(defs.path());
    EXPECT_TRUE(catalog->refresh().errors.empty());
  }

  test::TempDir dir, defs;
  store::Stores stores;
  std::shared_ptr<services::Catalog> catalog;
};

}  // namespace surveyor::collector::fixtures
