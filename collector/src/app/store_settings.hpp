// SPDX-License-Identifier: Apache-2.0
// The store's access settings, shared by the daemon and the admin commands.
#pragma once

#include "surveyor/collector/backends/open.hpp"
#include "surveyor/config/options.hpp"

namespace surveyor::collector::app {

// What the store needs beyond its URL, from the store_* settings: the
// password read from store_password_file, rediss://'s CA file and client
// certificate (its key file checked for mode 0600 like every secret).
[[nodiscard]] core::Result<backends::StoreAccess> store_access(const config::Settings& settings);

}  // namespace surveyor::collector::app
