// SPDX-License-Identifier: Apache-2.0
// The write-ahead log kept off the writer's path: checkpoints in a thread of
// their own, and report groups made durable after the writer is released.
//
// Checkpoints. SQLite's automatic checkpoint runs inside the COMMIT that
// takes the WAL past 1,000 frames, on the writer, while every report waiting
// for the next group waits for it too. Here the writer's WAL hook counts:
// past `background_frames` it wakes a checkpointer thread that runs a
// PASSIVE checkpoint on a connection of its own (it copies what no reader
// still needs, beside the writer, which goes on appending). The log starts
// again from its beginning only at a write transaction that begins with
// every frame copied, which never happens while a busy writer commits
// beside the checkpointer: once the checkpointer is done and at most
// `finishing_frames` are left, the writer copies those itself, and its next
// transaction starts the log again. Should the WAL reach `inline_frames`
// all the same (readers pinning old frames, a slow disk), the writer
// checkpoints it whole, as SQLite would have.
//
// Durable groups. With synchronous = FULL, COMMIT fsyncs the WAL before it
// returns, holding the writer all the while: the next group cannot be
// applied before the disk has answered. A report group is instead committed
// with synchronous = NORMAL (the WAL written, not yet synced), the writer is
// released for the next group, and the group's reports are acknowledged only
// once `sync_through` has fdatasync()ed the WAL file past that commit. One
// fdatasync covers every commit made before it began, so commits that pile
// up while one sync runs share the next. What a crash can then lose is what
// SYNCHRONOUS = FULL can lose: commits not yet acknowledged. Checkpoints
// still sync the WAL before they copy it and the database after, as SQLite
// does in both modes. A failed fdatasync is not retried (the kernel may have
// dropped the pages it could not write): every later sync fails too, and
// reports get 503 until the collector is restarted.
//
// The log as the store found it when it opened counts as commit 1, not yet
// synced: it may hold commits of a collector killed before their sync. A
// report answered without a commit of its own (a duplicate of one of them)
// waits for a sync through the last commit, so for that one too.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <unistd.h>

#include "sqlite_db.hpp"

namespace surveyor::collector::sqlite {

class WalKeeper {
 public:
  struct Options {
    int background_frames = 1000;  // SQLite's own wal_autocheckpoint
    int finishing_frames = 256;    // left for the writer to copy, to start the log again
    int inline_frames = 16'000;    // about 64 MiB of 4 KiB pages
    int (*sync_file)(int fd) = ::fdatasync;  // how the WAL is synced (tests make it fail)
  };
  // Starts the checkpointer on a connection of its own to `path` and takes
  // over the writer's WAL hook (automatic checkpoints end there).
  static core::Result<std::unique_ptr<WalKeeper>> start(const std::string& path, Connection& writer, Options options);
  ~WalKeeper();
  WalKeeper(const WalKeeper&) = delete;
  WalKeeper& operator=(const WalKeeper&) = delete;

  // Under the writer lock, after a COMMIT that returned: its number.
  std::uint64_t committed() { return commits_.fetch_add(1, std::memory_order_acq_rel) + 1; }
  // The number of the last commit counted (1: the log as found at open):
  // what a report group that wrote nothing (duplicates, which may repeat a
  // report of that commit) syncs through. Other writes that change
  // nothing sync through 1 only (Backend::write).
  [[nodiscard]] std::uint64_t last_commit() const { return commits_.load(std::memory_order_acquire); }
  // Returns once the WAL has been synced after commit `n` (or fails).
  core::Status sync_through(std::uint64_t n);

  struct Stats {
    std::uint64_t syncs = 0;              // fdatasync calls on the WAL
    std::uint64_t checkpoints = 0;        // by the checkpointer
    std::uint64_t inline_checkpoints = 0; // by the writer, the WAL too long
    std::uint64_t log_frames = 0;         // in the WAL at the last commit
    std::uint64_t frames_logged = 0;      // written to the WAL by the writer's commits, in all
  };
  [[nodiscard]] Stats stats() const;

 private:
  WalKeeper(std::string wal_path, std::unique_ptr<Connection> checkpointer, Options options)
      : wal_path_(std::move(wal_path)), checkpointer_(std::move(checkpointer)), options_(options) {}
  static int hook(void* self, sqlite3* db, const char* name, int frames);
  void run();
  core::Status open_wal();

  const std::string wal_path_;  // the -wal file
  std::unique_ptr<Connection> checkpointer_;
  const Options options_;
  std::thread thread_;

  mutable std::mutex mu_;  // everything below
  std::condition_variable checkpoint_cv_;  // the checkpointer waits on it
  std::condition_variable sync_cv_;        // threads waiting for a sync
  bool stopping_ = false;
  bool wanted_ = false;         // a checkpoint is due
  bool checkpointing_ = false;  // and under way
  int log_frames_ = 0;          // frames in the WAL at the last commit
  std::uint64_t frames_logged_ = 0;
  int backfilled_ = 0;          // of them, copied by the last checkpoint
  bool syncing_ = false;      // a thread is in fdatasync
  bool sync_failed_ = false;  // for good
  std::uint64_t synced_ = 0;  // every commit up to this one is on the disk
  int fd_ = -1;               // the WAL file, for fdatasync
  Stats stats_;

  std::atomic<std::uint64_t> commits_{1};  // 1: the log as found at open, never synced by this process
};

}  // namespace surveyor::collector::sqlite
