// SPDX-License-Identifier: Apache-2.0
// The Redis backend's entry point: where Redis is, the key prefix, and every store on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::redis {

struct RedisAddress {
  std::string host;
  std::uint16_t port = 0;
};

struct RedisOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  // redis-sentinel://: instead of host and port, the master these Sentinels
  // name `sentinel_master`, asked again for every new connection, so the
  // collector follows a failover. Each connection checks with ROLE that it
  // reached a master.
  std::vector<RedisAddress> sentinels;
  std::string sentinel_master;
  // redis-cluster://: instead of host and port, nodes of a Redis Cluster.
  // The store's own keys carry the hash tag "{<prefix>}", so they are one
  // hash slot; the series of each CI carry "{<prefix>:<CI>}", a slot of
  // their own, so they spread over the masters (a store that held series
  // before they spread keeps them in its own slot). Each new connection
  // asks these nodes (the last that answered first) which master serves
  // its slot, and a connection answered MOVED, ASK, TRYAGAIN or CLUSTERDOWN
  // is dropped, so the collector follows a failover or a move of a slot.
  std::vector<RedisAddress> cluster_nodes;
  // A report is acknowledged only once this many replicas have it (WAIT,
  // at most wait_timeout); 0 acknowledges once the master has it.
  int wait_replicas = 0;
  std::chrono::milliseconds wait_timeout{1000};
  std::string prefix = "surveyor";  // every key starts with "<prefix>:" ("{<prefix>}:" on a cluster)
  std::chrono::milliseconds timeout{2000};
  std::size_t max_connections = 8;
  // AUTH on every new connection: USER and password (ACLs), or the password
  // alone (requirepass); nothing when both are empty.
  std::string user;
  std::string password;
  // rediss://: TLS to Redis, its certificate checked against tls_ca_file
  // (PEM; "" the system's CAs) and the host; a client certificate and key
  // when Redis asks for one (its tls-auth-clients, on by default).
  bool tls = false;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
};

// Connects lazily; the first call fails with `unavailable` if Redis is down,
// and later calls reconnect by themselves.
[[nodiscard]] core::Result<store::Stores> open_redis(const RedisOptions& options);

}  // namespace surveyor::collector::redis
