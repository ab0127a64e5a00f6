// SPDX-License-Identifier: Apache-2.0
// The store's settings (credentials, TLS files, group commit), shared by the daemon and the admin commands.
#pragma once

#include "surveyor/collector/backends/open.hpp"
#include "surveyor/config/options.hpp"

namespace surveyor::collector::app {

// What the store needs beyond its URL, from the settings: the password read
// from store_password_file, rediss://'s CA file and client certificate (its
// key file checked for mode 0600 like every secret), and group commit.
[[nodiscard]] core::Result<backends::StoreSettings> store_settings(const config::Settings& settings);

}  // namespace surveyor::collector::app
