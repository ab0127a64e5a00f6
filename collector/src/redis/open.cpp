// SPDX-License-Identifier: Apache-2.0
// Opens the shared store: one connection pool on Redis, and every domain's
// store on it. Nothing is read until a store is used.
#include "surveyor/collector/redis/redis_stores.hpp"

#include "backend.hpp"

namespace surveyor::collector::redis {

using store::Stores;

core::Result<Stores> open_redis(const RedisOptions& options) {
  std::shared_ptr<TlsTunnel> tunnel;
  if (options.tls) {
    auto t = TlsTunnel::make(TlsFiles{options.tls_ca_file, options.tls_cert_file, options.tls_key_file});
    if (!t) return std::move(t).error();
    tunnel = std::move(*t);
  }
  auto backend = std::make_shared<Backend>(options, std::move(tunnel));
  return store::assemble_stores(backend);
}

}  // namespace surveyor::collector::redis
