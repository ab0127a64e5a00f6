// SPDX-License-Identifier: Apache-2.0
// The agent's on-disk spool: encoded reports kept until the collector acknowledges them.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "surveyor/core/result.hpp"

namespace surveyor::agent::spool {

enum class SpoolErrc { io = 1 };
const std::error_category& spool_category();
inline std::error_code make_error_code(SpoolErrc e) { return {static_cast<int>(e), spool_category()}; }

struct SpoolOptions {
  std::uint64_t max_bytes = 16 * 1024 * 1024;  // beyond this the oldest entries are dropped
  std::size_t max_entries = 10'000;
};

struct SpoolStats {
  std::size_t entries = 0;
  std::uint64_t bytes = 0;
  std::uint64_t dropped = 0;  // pushed out by the bound since open()
  std::uint64_t corrupt = 0;  // torn or damaged entries found and removed since open()
  std::uint64_t unreadable = 0;  // entries that could not be read (EACCES, EIO), skipped since open()
  std::string last_unreadable;   // why the latest of those could not be read
};

// A bounded, crash-safe FIFO of encoded reports on disk, one file per entry
// named by its sequence number. Design: an entry is written to a temporary
// file, fsynced and renamed into place, so it is either whole or absent; it
// carries a magic, its length and a CRC-32 (zlib's), so damage from a crash or a bad
// disk is detected on read and the entry is skipped (and counted), never
// replayed as garbage. An entry that cannot be read at all is skipped (and
// counted) too, so it never holds back the ones after it. Not thread-safe.
class Spool {
 public:
  // Opens (creating) the directory and indexes the entries already there.
  [[nodiscard]] static core::Result<Spool> open(const std::string& dir, SpoolOptions options = {});

  // Appends an entry; then drops the oldest entries while over the bound.
  [[nodiscard]] core::Status push(std::uint64_t sequence, const std::string& payload);
  // The oldest intact entry, removing damaged and unreadable ones on the
  // way; nullopt when empty.
  [[nodiscard]] core::Result<std::optional<std::pair<std::uint64_t, std::string>>> front();
  // Removes the oldest entry if it is `sequence` (it was delivered; the bound
  // may have dropped it meanwhile, and then nothing else must go).
  [[nodiscard]] core::Status pop_front(std::uint64_t sequence);
  // Rewrites the oldest entry, if it is `sequence`, with `payload` (written
  // whole or not at all, as push writes); an io error when it is not the
  // oldest (the bound dropped it) or cannot be written.
  [[nodiscard]] core::Status replace_front(std::uint64_t sequence, const std::string& payload);

  [[nodiscard]] bool empty() const { return index_.empty(); }
  [[nodiscard]] SpoolStats stats() const;

 private:
  Spool(std::string dir, SpoolOptions o) : dir_(std::move(dir)), options_(o) {}
  [[nodiscard]] std::string path_of(std::uint64_t sequence) const;
  // Writes an entry's file; its size on disk.
  [[nodiscard]] core::Result<std::uint64_t> write_entry(std::uint64_t sequence, const std::string& payload);
  void drop_front();

  struct Entry {
    std::uint64_t sequence;
    std::uint64_t bytes;
  };
  std::string dir_;
  SpoolOptions options_;
  std::deque<Entry> index_;
  std::uint64_t bytes_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t corrupt_ = 0;
  std::uint64_t unreadable_ = 0;
  std::string last_unreadable_;
};

}  // namespace surveyor::agent::spool

template <>
struct std::is_error_code_enum<surveyor::agent::spool::SpoolErrc> : std::true_type {};
