// SPDX-License-Identifier: Apache-2.0
// Opens the shared store: one connection pool on Redis, and every domain's
// store on it. Nothing is read until a store is used.
#include "surveyor/collector/redis/redis_stores.hpp"

#include "backend.hpp"

namespace surveyor::collector::redis {

using store::Stores;

core::Result<Stores> open_redis(const RedisOptions& options) {
  auto backend = std::make_shared<Backend>(options);
  return store::assemble_stores(backend);
}

}  // namespace surveyor::collector::redis
