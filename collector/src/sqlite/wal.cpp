// SPDX-License-Identifier: Apache-2.0
// The WAL's checkpointer thread and the syncs that make report groups
// durable (wal.hpp).
#include "backend.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "surveyor/log/log.hpp"

namespace surveyor::collector::sqlite {

using store::StoreErrc;

core::Result<std::unique_ptr<WalKeeper>> WalKeeper::start(const std::string& path, Connection& writer,
                                                          Options options) {
  auto conn = Connection::open(path, false);
  if (!conn) return std::move(conn).error();
  {
    // A connection learns that the database is in WAL mode when it first
    // reads it; until then a checkpoint on it does nothing.
    SURVEYOR_TRY_STMT(mode, **conn, "PRAGMA journal_mode");
    if (int rc = mode.step(); rc != SQLITE_ROW) return (*conn)->error(rc, "read the journal mode");
    if (mode.text(0) != "wal")
      return core::make_error(StoreErrc::io, path + ": not in WAL mode (" + mode.text(0) + ")");
  }
  // The WAL's name as SQLite has it: beside the real file when the path is
  // a symbolic link.
  const char* db_file = sqlite3_db_filename(writer.handle(), "main");
  const char* wal_file = db_file != nullptr ? sqlite3_filename_wal(db_file) : nullptr;
  std::unique_ptr<WalKeeper> k(
      new WalKeeper(wal_file != nullptr && *wal_file != '\0' ? std::string(wal_file) : path + "-wal", std::move(*conn),
                    options));
  sqlite3_wal_hook(writer.handle(), &WalKeeper::hook, k.get());
  k->thread_ = std::thread([p = k.get()] { p->run(); });
  return k;
}

WalKeeper::~WalKeeper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  checkpoint_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

int WalKeeper::hook(void* self, sqlite3* db, const char* name, int frames) {
  auto* k = static_cast<WalKeeper*>(self);
  bool inline_checkpoint = false, wake = false;
  {
    std::lock_guard lock(k->mu_);
    if (frames < k->log_frames_) k->backfilled_ = 0;  // the log started again
    k->frames_logged_ += static_cast<std::uint64_t>(frames < k->log_frames_ ? frames : frames - k->log_frames_);
    k->log_frames_ = frames;
    if (frames >= k->options_.inline_frames) {
      // The checkpointer has not kept the log short: the writer does it.
      inline_checkpoint = true;
    } else if (frames >= k->options_.background_frames && !k->checkpointing_) {
      // The log starts again from its beginning only at a transaction that
      // begins with every frame copied, which a checkpoint beside a busy
      // writer never sees. So the checkpointer copies the bulk, and the
      // writer the few frames committed since, at once: the next
      // transaction then starts the log again.
      if (frames - k->backfilled_ <= k->options_.finishing_frames) inline_checkpoint = true;
      else wake = !std::exchange(k->wanted_, true);
    }
  }
  if (inline_checkpoint) {
    // SQLITE_BUSY while the checkpointer runs: it is copying the log already.
    int copied = 0;
    if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, &copied) == SQLITE_OK) {
      std::lock_guard lock(k->mu_);
      ++k->stats_.inline_checkpoints;
      k->backfilled_ = copied;
    }
  }
  if (wake) k->checkpoint_cv_.notify_one();
  return SQLITE_OK;
}

void WalKeeper::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    checkpoint_cv_.wait(lock, [&] { return stopping_ || wanted_; });
    if (stopping_) return;
    wanted_ = false;
    checkpointing_ = true;
    lock.unlock();
    // A failure (a reader busy, I/O) is left for the next one: the writer's
    // commits go on, and the inline checkpoint bounds the WAL.
    int log = 0, copied = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(checkpointer_->handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    lock.lock();
    checkpointing_ = false;
    if (rc == SQLITE_OK) ++stats_.checkpoints;
    if (rc == SQLITE_OK && log_frames_ >= log) backfilled_ = copied;  // the same log still
  }
}

// Opens the WAL file for fdatasync, once its directory entry is on the disk
// too. Called by the thread syncing (syncing_ set), the only one that
// touches fd_, without mu_: the writer's hook takes mu_ at every commit.
core::Status WalKeeper::open_wal() {
  if (fd_ >= 0) {
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && st.st_nlink > 0) return {};
    ::close(fd_);  // the WAL was removed and made again: sync the new one
    fd_ = -1;
  }
  const int fd = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return core::make_error(StoreErrc::io, "open " + wal_path_ + ": " + std::strerror(errno));
  std::filesystem::path dir = std::filesystem::path(wal_path_).parent_path();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool dir_synced = dfd >= 0 && ::fsync(dfd) == 0;
  const int err = errno;
  if (dfd >= 0) ::close(dfd);
  if (!dir_synced) {
    ::close(fd);
    return core::make_error(StoreErrc::io, "sync directory " + dir.string() + ": " + std::strerror(err));
  }
  fd_ = fd;
  return {};
}

core::Status WalKeeper::sync_through(std::uint64_t n) {
  std::unique_lock lock(mu_);
  for (;;) {
    if (sync_failed_)
      return core::make_error(StoreErrc::unavailable,
                              "the database's write-ahead log could not be synced to the disk; restart the collector");
    if (synced_ >= n) return {};
    if (syncing_) {
      sync_cv_.wait(lock);
      continue;
    }
    // This thread syncs, for every commit made until now.
    syncing_ = true;
    const std::uint64_t target = commits_.load(std::memory_order_acquire);
    lock.unlock();
    core::Status opened;
    int rc = 0, err = 0;
    try {
      opened = open_wal();
      if (opened) {
        rc = options_.sync_file(fd_);
        err = errno;
      }
    } catch (...) {  // bad_alloc: the next one to sync tries again
      lock.lock();
      syncing_ = false;
      sync_cv_.notify_all();
      throw;
    }
    lock.lock();
    syncing_ = false;
    if (!opened) {  // nothing was synced; the next one to sync tries again
      sync_cv_.notify_all();
      return opened;
    }
    ++stats_.syncs;
    if (rc != 0) {
      sync_failed_ = true;
      sync_cv_.notify_all();
      lock.unlock();
      const std::string why = std::strerror(err);
      static log::Logger logger("collector.store");
      logger.error("fdatasync {}: {}: every write is refused (503) until the collector is restarted", wal_path_, why);
      return core::make_error(StoreErrc::unavailable, "sync the database's write-ahead log: " + why);
    }
    synced_ = std::max(synced_, target);
    sync_cv_.notify_all();
  }
}

WalKeeper::Stats WalKeeper::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.log_frames = static_cast<std::uint64_t>(std::max(0, log_frames_));
  s.frames_logged = frames_logged_;
  return s;
}

}  // namespace surveyor::collector::sqlite
