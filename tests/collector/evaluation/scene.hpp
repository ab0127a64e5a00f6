// SPDX-License-Identifier: Apache-2.0
// What the evaluation tests stand on: a SQLite store in a temporary
// directory with one service file, agents' heartbeats, and an IncidentStore
// that stops taking writes, as a store that goes away mid-step would.
#pragma once

#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "store/fixture.hpp"
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

// The incidents of another store, refusing every write after the first
// `writes` ones; reads go through.
class WritesRefusedAfter : public store::IncidentStore {
 public:
  WritesRefusedAfter(std::shared_ptr<store::IncidentStore> inner, int writes)
      : inner_(std::move(inner)), writes_(writes) {}

  core::Result<std::optional<store::Incident>> update_incident_by_key(std::string_view key,
                                                                      const Change& change) override {
    if (writes_-- <= 0) return refused();
    return inner_->update_incident_by_key(key, change);
  }
  core::Result<std::optional<store::Incident>> update_incident(std::string_view id, const Change& change) override {
    if (writes_-- <= 0) return refused();
    return inner_->update_incident(id, change);
  }
  core::Result<std::optional<store::Incident>> find_incident(std::string_view id) override {
    return inner_->find_incident(id);
  }
  core::Result<std::vector<store::Incident>> list_incidents(const store::IncidentFilter& f) override {
    return inner_->list_incidents(f);
  }
  core::Status record_delivery(const store::Delivery& d) override { return inner_->record_delivery(d); }
  core::Result<std::vector<store::Delivery>> list_deliveries(std::size_t limit) override {
    return inner_->list_deliveries(limit);
  }

 private:
  static core::Error refused() { return core::make_error(store::StoreErrc::unavailable, "the store went away"); }

  std::shared_ptr<store::IncidentStore> inner_;
  int writes_;
};

}  // namespace surveyor::collector::fixtures
