// SPDX-License-Identifier: Apache-2.0
// An enumeration's names, both ways, from one table.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace surveyor::core {

// The names of an enumeration's values in one table, so that name() and
// parse() never disagree. A value missing from the table is named `fallback`.
template <class E, std::size_t N>
struct Names {
  std::array<std::pair<E, std::string_view>, N> table;
  std::string_view fallback = "?";

  [[nodiscard]] constexpr std::string_view name(E e) const {
    for (const auto& [value, name] : table)
      if (value == e) return name;
    return fallback;
  }

  [[nodiscard]] constexpr std::optional<E> parse(std::string_view s) const {
    for (const auto& [value, name] : table)
      if (name == s) return value;
    return std::nullopt;
  }
};

}  // namespace surveyor::core
