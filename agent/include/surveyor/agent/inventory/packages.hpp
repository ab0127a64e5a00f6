// SPDX-License-Identifier: Apache-2.0
// Installed software for the inventory: dpkg's status file and rpm's database.
#pragma once

#include <istream>
#include <optional>
#include <vector>

#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/wire/inventory.hpp"

namespace surveyor::agent::inventory {

// Installed packages from a dpkg status file (Status "... installed" only).
[[nodiscard]] std::vector<wire::Package> parse_dpkg_status(std::istream& in);
// Lines "NAME\tVERSION\tARCH" as the rpm query format below prints them.
[[nodiscard]] std::vector<wire::Package> parse_rpm_query(std::string_view text);

// Installed software: /var/lib/dpkg/status parsed directly, and `rpm -qa`
// where an rpm database exists. nullopt: no package manager here.
[[nodiscard]] core::Result<std::optional<std::vector<wire::Package>>> read_packages(const Roots& roots);

}  // namespace surveyor::agent::inventory
