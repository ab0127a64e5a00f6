// SPDX-License-Identifier: Apache-2.0
// Service definitions stored through the API, and their store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// Store methods: see the contract in stores.hpp (thread-safe, blocking, StoreErrc).

// A service definition stored through the API (the same TOML as a file).
struct StoredService {
  std::string name;
  std::string definition;  // TOML text
  std::string origin;      // user or api
  std::int64_t updated_ms = 0;
  friend bool operator==(const StoredService&, const StoredService&) = default;
};

class ServiceStore {
 public:
  virtual ~ServiceStore() = default;
  // Creates or replaces the definition named s.name.
  virtual core::Status put_service(const StoredService& s) = 0;
  // False if there was none.
  virtual core::Result<bool> delete_service(std::string_view name) = 0;
  // By name.
  virtual core::Result<std::vector<StoredService>> list_services() = 0;
  // Changes whenever a definition is put or deleted.
  virtual core::Result<std::int64_t> services_version() = 0;
};

}  // namespace surveyor::collector::store
