// SPDX-License-Identifier: Apache-2.0
// Store backends by URL: the one function that opens SQLite or Redis.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::backends {

// What a store needs beyond its URL.
struct StoreSettings {
  // SQLite: reports per group commit, and how long a group gathers (0:
  // the reports already waiting when the previous commit ends).
  std::size_t group_commit_max = 64;
  std::chrono::milliseconds group_commit_delay{0};
  // Redis: replicas a report must reach before it is acknowledged (WAIT),
  // and how long it may wait for them.
  int wait_replicas = 0;
  std::chrono::milliseconds wait_timeout{1000};
  // Redis's password (requirepass, or USER's with ACLs); never in the URL,
  // where it would show in ps and in logs.
  std::string password;
  // rediss://: the CAs that sign Redis's certificate (PEM; "" the system's),
  // and a client certificate and its key when Redis asks for one.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

// Opens the backend a store URL names:
//   sqlite:PATH[?synchronous=full|normal]   embedded, one collector (default full)
//   redis://[USER@]HOST:PORT[/PREFIX]       shared by several collectors; keys
//                                           under PREFIX (default "surveyor")
//   rediss://[USER@]HOST:PORT[/PREFIX]      the same over TLS
//   redis-sentinel://[USER@]HOST:PORT[,HOST:PORT...]/MASTER[/PREFIX]
//                                           the master these Sentinels name
//   redis-cluster://[USER@]HOST:PORT[,HOST:PORT...][/PREFIX]
//                                           nodes of a Redis Cluster; every key
//                                           in the hash slot of "{PREFIX}"
[[nodiscard]] core::Result<store::Stores> open_stores(std::string_view url, const StoreSettings& settings = {});

}  // namespace surveyor::collector::backends
