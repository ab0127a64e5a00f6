// SPDX-License-Identifier: Apache-2.0
// What the codec learned of a series' values when it encoded its last head
// entry (codec/chunk.hpp): the large common denominator it searched for and
// found, or that the search failed. The series' next entry is encoded with
// it as the hint: the search is not run again for a D that still fits, nor,
// for the next kSkips entries, after it failed. Only a cache: a missing or
// stale hint changes nothing but the time spent (and a skipped search only
// what a head entry weighs: compaction searches in full). Bounded (forgotten
// whole when full) and safe from several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>

#include "surveyor/codec/chunk.hpp"

namespace surveyor::collector::store {

class DenominatorHints {
 public:
  explicit DenominatorHints(std::size_t capacity = 1 << 20) : capacity_(capacity) {}

  static constexpr std::int64_t kSkips = 64;

  // The hint for the series: a D, -1 (skip the search), or 0 (none).
  [[nodiscard]] std::int64_t hint(std::uint64_t series) const {
    std::lock_guard lock(mu_);
    const auto it = hints_.find(series);
    return it == hints_.end() ? 0 : it->second > 0 ? it->second : -1;
  }

  // Remembers how the series' newest chunk came out.
  void note(std::uint64_t series, const codec::ChunkInfo& info) {
    std::lock_guard lock(mu_);
    std::int64_t keep = 0;  // a D, or minus the searches still to skip
    switch (info.search) {
      case codec::Search::hinted:
      case codec::Search::found: keep = info.denominator; break;
      case codec::Search::failed: keep = -kSkips; break;
      case codec::Search::skipped: {
        const auto it = hints_.find(series);
        keep = it != hints_.end() && it->second < -1 ? it->second + 1 : 0;
        break;
      }
      case codec::Search::not_needed: return;  // says nothing of the D (a constant stretch)
    }
    if (keep == 0) {
      hints_.erase(series);
      return;
    }
    if (hints_.size() >= capacity_ && !hints_.contains(series)) hints_.clear();
    hints_[series] = keep;
  }

  // The series' samples encoded with its hint (encode_chunk), and what the
  // codec learned of them kept for its next chunk.
  [[nodiscard]] std::string encode(std::uint64_t series, std::span<const codec::Sample> samples) {
    codec::ChunkInfo how;
    std::string chunk = codec::encode_chunk(samples, &how, hint(series));
    note(series, how);
    return chunk;
  }

  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mu_);
    return hints_.size();
  }

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::uint64_t, std::int64_t> hints_;
};

}  // namespace surveyor::collector::store
