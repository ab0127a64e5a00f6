// SPDX-License-Identifier: Apache-2.0
// How every store reports a failure.
#pragma once

#include <system_error>

#include "surveyor/core/result.hpp"

namespace surveyor::collector::store {

// limit: the write would take a CI past a configured bound (the series an
// agent's host may hold); refused whole. changed: what the write was
// checked against (an agent's key, its CI) is no longer what is stored;
// nothing was written, read it again.
enum class StoreErrc { unavailable = 1, conflict, corrupt, io, invalid, not_found, limit, changed };
const std::error_category& store_category();
inline std::error_code make_error_code(StoreErrc e) { return {static_cast<int>(e), store_category()}; }

}  // namespace surveyor::collector::store

template <>
struct std::is_error_code_enum<surveyor::collector::store::StoreErrc> : std::true_type {};
