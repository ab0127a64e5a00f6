// SPDX-License-Identifier: Apache-2.0
// A minimal RAII layer over the SQLite C API: connections with a statement
// cache, and a pool of one writer plus several readers (WAL mode).
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "surveyor/collector/store/errors.hpp"
#include "surveyor/core/result.hpp"

namespace surveyor::collector::sqlite {

// A prepared statement borrowed from a connection's cache; reset on return.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); return *this; }
  Stmt& bind(int i, double v);
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_blob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  [[nodiscard]] bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(s_); }
  // Makes the statement ready to run again with new bindings.
  void reset() { sqlite3_reset(s_); }

  [[nodiscard]] std::int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
  [[nodiscard]] double real(int col) const;
  [[nodiscard]] std::string blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  [[nodiscard]] std::string text(int col) const {
    const auto* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }

 private:
  sqlite3_stmt* s_;
};

class Connection {
 public:
  Connection(sqlite3* db) : db_(db) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  static core::Result<std::unique_ptr<Connection>> open(const std::string& path, bool read_only);

  core::Status exec(const char* sql);
  // A cached prepared statement; fails only on an SQL error (a bug) or I/O.
  core::Result<std::unique_ptr<Stmt>> prepare(const std::string& sql);
  // Maps the connection's last error to a StoreErrc with context.
  [[nodiscard]] core::Error error(int rc, std::string_view what) const;
  [[nodiscard]] std::int64_t changes() const { return sqlite3_changes64(db_); }
  [[nodiscard]] sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// One writer (serialised) and a fixed set of readers handed out in turn.
class Pool {
 public:
  Pool(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers);

  template <class F>
  auto with_writer(F&& f) {
    std::lock_guard lock(writer_mu_);
    return f(*writer_);
  }

  template <class F>
  auto with_reader(F&& f) {
    Connection* c = acquire();
    struct Release {
      Pool* p;
      Connection* c;
      ~Release() { p->release(c); }
    } release{this, c};
    return f(*c);
  }

 private:
  Connection* acquire();
  void release(Connection* c);

  std::mutex writer_mu_;
  std::unique_ptr<Connection> writer_;
  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Connection>> readers_;
  std::vector<Connection*> free_;
};

// A read transaction: every statement run while it lives sees one snapshot.
// It is begun by `begin`, which fails rather than hand out a reader that
// would see each statement at a different moment.
class ReadSnapshot {
 public:
  [[nodiscard]] static core::Result<ReadSnapshot> begin(Connection& c) {
    if (auto st = c.exec("BEGIN"); !st) return std::move(st).error();
    return ReadSnapshot(c);
  }
  ReadSnapshot(ReadSnapshot&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  ReadSnapshot& operator=(ReadSnapshot&&) = delete;
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;
  // A reader left inside a transaction would pin its snapshot for good (and
  // the WAL with it), so a failed COMMIT is followed by a ROLLBACK.
  ~ReadSnapshot() {
    if (c_ != nullptr && !c_->exec("COMMIT")) (void)c_->exec("ROLLBACK");
  }

 private:
  explicit ReadSnapshot(Connection& c) : c_(&c) {}
  Connection* c_;
};

// A write transaction (BEGIN IMMEDIATE) that rolls back unless committed:
// whatever leaves its scope early, an error returned or an exception thrown
// (a value that fails to parse, bad_alloc), leaves the connection outside
// any transaction, so the next write on the one writer connection works.
class WriteTransaction {
 public:
  [[nodiscard]] static core::Result<WriteTransaction> begin(Connection& c) {
    if (auto st = c.exec("BEGIN IMMEDIATE"); !st) return std::move(st).error();
    return WriteTransaction(c);
  }
  WriteTransaction(WriteTransaction&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  WriteTransaction& operator=(WriteTransaction&&) = delete;
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  ~WriteTransaction() {
    if (c_ != nullptr) (void)c_->exec("ROLLBACK");
  }

  // COMMIT; on failure the transaction is rolled back.
  core::Status commit() {
    Connection* c = std::exchange(c_, nullptr);
    if (auto st = c->exec("COMMIT"); !st) {
      (void)c->exec("ROLLBACK");
      return st;
    }
    return {};
  }

 private:
  explicit WriteTransaction(Connection& c) : c_(&c) {}
  Connection* c_;
};

// Runs `body` in a WriteTransaction: committed when it returns a value,
// rolled back when it returns an error or throws.
template <class T, class F>
core::Result<T> in_transaction(Connection& c, F&& body) {
  auto tx = WriteTransaction::begin(c);
  if (!tx) return std::move(tx).error();
  core::Result<T> r = body();
  if (!r) return r;
  if (auto st = tx->commit(); !st) return std::move(st).error();
  return r;
}

}  // namespace surveyor::collector::sqlite
