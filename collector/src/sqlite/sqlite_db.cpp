// SPDX-License-Identifier: Apache-2.0
// The SQLite C API wrapped: statements cached per connection, NaN kept as NULL, result codes
// mapped to store errors, and the reader pool.
#include "sqlite_db.hpp"

#include <cmath>
#include <limits>

namespace surveyor::collector::sqlite {

using store::StoreErrc;

Stmt& Stmt::bind(int i, double v) {
  // SQLite stores NaN as NULL; column_real maps NULL back to NaN.
  if (std::isnan(v)) sqlite3_bind_null(s_, i);
  else sqlite3_bind_double(s_, i, v);
  return *this;
}

double Stmt::real(int col) const {
  if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::numeric_limits<double>::quiet_NaN();
  return sqlite3_column_double(s_, col);
}

Connection::~Connection() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

core::Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  auto conn = std::make_unique<Connection>(db);
  if (rc != SQLITE_OK) return conn->error(rc, "open " + path);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  return conn;
}

core::Status Connection::exec(const char* sql) {
  char* msg = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    std::string text = msg ? msg : "";
    sqlite3_free(msg);
    return error(rc, std::string(sql).substr(0, 40) + ": " + text);
  }
  return {};
}

core::Result<std::unique_ptr<Stmt>> Connection::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) return error(rc, "prepare");
    it = cache_.emplace(sql, s).first;
  }
  return std::make_unique<Stmt>(it->second);
}

core::Error Connection::error(int rc, std::string_view what) const {
  const std::string text = std::string(what) + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN: return core::make_error(StoreErrc::unavailable, text);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return core::make_error(StoreErrc::corrupt, text);
    case SQLITE_CONSTRAINT: return core::make_error(StoreErrc::conflict, text);
    default: return core::make_error(StoreErrc::io, text);
  }
}

Pool::Pool(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers)
    : writer_(std::move(writer)), readers_(std::move(readers)) {
  for (auto& r : readers_) free_.push_back(r.get());
}

Connection* Pool::acquire() {
  std::unique_lock lock(readers_mu_);
  readers_cv_.wait(lock, [this] { return !free_.empty(); });
  Connection* c = free_.back();
  free_.pop_back();
  return c;
}

void Pool::release(Connection* c) {
  {
    std::lock_guard lock(readers_mu_);
    free_.push_back(c);
  }
  readers_cv_.notify_one();
}

}  // namespace surveyor::collector::sqlite
