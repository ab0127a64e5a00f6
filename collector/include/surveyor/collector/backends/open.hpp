// SPDX-License-Identifier: Apache-2.0
// Store backends by URL: the one function that opens SQLite or Redis.
#pragma once

#include <string_view>

#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::backends {

// Opens the backend a store URL names:
//   sqlite:PATH[?synchronous=full|normal]   embedded, one collector (default full)
//   redis://[USER@]HOST:PORT[/PREFIX]       shared by several collectors; keys
//                                           under PREFIX (default "surveyor")
// `password`: Redis's (requirepass, or USER's with ACLs); never in the URL,
// where it would show in ps and in logs.
[[nodiscard]] core::Result<store::Stores> open_stores(std::string_view url, const std::string& password = {});

}  // namespace surveyor::collector::backends
