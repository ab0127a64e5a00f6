// SPDX-License-Identifier: Apache-2.0
// The SQLite backend's entry point: the database file, how durable a commit is, and every
// store on it.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "surveyor/collector/store/stores.hpp"

namespace surveyor::collector::sqlite {

struct SqliteOptions {
  std::string path;
  // FULL: a commit is fsynced before it returns (an acknowledged report
  // survives power loss). NORMAL: survives a crash of the collector, not of the
  // machine, and is faster.
  bool synchronous_full = true;
  std::size_t readers = 4;  // read connections (WAL lets them run beside the writer)
  // Group commit: reports applied together in one transaction, at most this
  // many, gathered for up to this long (0: those waiting already).
  std::size_t group_commit_max = 64;
  std::chrono::milliseconds group_commit_delay{0};
  // Frames in the write-ahead log past which a checkpoint is run beside the
  // writer (SQLite's wal_autocheckpoint is 1,000); a quarter of it is left
  // for the writer to finish, 8 times it (64 MiB of 4 KiB pages) makes the
  // writer checkpoint whole. Each time the log starts again the writer
  // waits for two fsyncs; 2,000 frames make that half as often as SQLite's
  // 1,000. Longer logs make the checkpoints of a large fleet (a page per
  // host and table) longer, and its p99 with them (docs/benchmarks.md).
  int checkpoint_frames = 2000;
  // How the write-ahead log is made durable: fdatasync(2); tests put a
  // failing one here.
  int (*sync_file)(int fd) = nullptr;
};

// Opens (creating if needed) the database in WAL mode and migrates its schema.
[[nodiscard]] core::Result<store::Stores> open_sqlite(const SqliteOptions& options);

}  // namespace surveyor::collector::sqlite
