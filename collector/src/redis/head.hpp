// SPDX-License-Identifier: Apache-2.0
// The head of a CI's samples on Redis (see backend.hpp): reading its
// entries, and compacting them into the series' chunks and rollups; and the
// pending rollup figures of stores written before the per-CI head.
#pragma once
#include "backend.hpp"

namespace surveyor::collector::redis {

core::Error damaged_entry(std::string_view ci, const std::string& why);
// A field of a CI's head metadata (hmeta:CI) as the whole number it holds;
// a `corrupt` error when it holds anything else.
template <class T = std::uint64_t>
core::Result<T> head_field(std::string_view text, std::string_view ci) {
  T v = 0;
  const char* end = text.data() + text.size();
  if (auto [p, ec] = std::from_chars(text.data(), end, v); ec != std::errc() || p != end)
    return core::make_error(StoreErrc::corrupt, "head metadata of " + std::string(ci) + " unreadable");
  return v;
}
// The entries of a CI's head in `r` (members of its headlog), in the order
// they were written, views into `r`. A damaged entry is an error, or, given
// a maintenance report, counted there and passed over.
core::Result<std::vector<HeadEntry>> head_entries(const redisReply* r, std::string_view ci, MaintenanceReport* damage);
// The samples of series `number` in one entry.
core::Result<std::vector<Sample>> entry_samples(const HeadEntry& e, std::uint64_t number, std::string_view ci);
// The head's samples of series `number` with from <= time < to: sorted,
// unique (of two entries holding one time, the older entry's sample).
core::Result<std::vector<Sample>> head_samples(const std::vector<HeadEntry>& entries, std::uint64_t number,
                                               std::string_view ci, std::int64_t from, std::int64_t to);
// The series' number in its CI's head from HGET's reply: nullopt when it
// has none (it has nothing in the head).
core::Result<std::optional<std::uint64_t>> number_from(const redisReply* r, std::string_view ci);
// A series' own head (of stores written before the per-CI head) from ZRANGEBYSCORE's reply.
core::Result<std::vector<Sample>> own_head(const redisReply* r);

// Compacts a CI's head (see head.cpp), adding to `rep`.
core::Status compact_head(Connection& c, const Backend& b, const std::string& ci, const SeriesMaintenance& m,
                          MaintenanceReport& rep);
// The reports' figures pending for series `sid` (stores written before the
// per-CI head) folded into its rollups, in the order they were pushed.
core::Status fold_rollups(Connection& c, const std::string& sid, const SeriesKeys& k);

}  // namespace surveyor::collector::redis
