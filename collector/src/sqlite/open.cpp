// SPDX-License-Identifier: Apache-2.0
// Opens the embedded store: WAL mode, the schema migrated, one writer and
// a few readers, and every domain's store on them.
#include "surveyor/collector/sqlite/sqlite_stores.hpp"

#include "backend.hpp"

namespace surveyor::collector::sqlite {

using store::StoreErrc;
using store::Stores;

core::Result<Stores> open_sqlite(const SqliteOptions& options) {
  auto writer = Connection::open(options.path, false);
  if (!writer) return std::move(writer).error();
  Connection& w = **writer;
  {
    // journal_mode answers with the mode it ended up in; WAL is required.
    SURVEYOR_TRY_STMT(jm, w, "PRAGMA journal_mode = WAL");
    if (int rc = jm.step(); rc != SQLITE_ROW) return w.error(rc, "set WAL mode");
    if (jm.text(0) != "wal")
      return core::make_error(StoreErrc::io, options.path + ": cannot use WAL mode (got " + jm.text(0) + ")");
  }
  if (auto st = w.exec(options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"); !st)
    return std::move(st).error();
  const int frames = std::max(8, options.checkpoint_frames);
  // After a burst (a fleet's inventories at once) the WAL file is cut back
  // to this when the log starts again, rather than keep its largest size:
  // twice a checkpoint's worth of 4 KiB pages, so that the log of a steady
  // load is reused in place, never cut and grown again.
  const std::int64_t wal_keep = std::max<std::int64_t>(16 << 20, std::int64_t{frames} * 2 * 4096);
  const std::string keep_wal = "PRAGMA journal_size_limit = " + std::to_string(wal_keep);
  if (auto st = w.exec(keep_wal.c_str()); !st) return std::move(st).error();
  if (auto st = migrate(w); !st) return std::move(st).error();

  std::vector<std::unique_ptr<Connection>> readers;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options.readers); ++i) {
    auto r = Connection::open(options.path, true);
    if (!r) return std::move(r).error();
    readers.push_back(std::move(*r));
  }
  WalKeeper::Options wal{frames, frames / 4, frames * 8};
  if (options.sync_file != nullptr) wal.sync_file = options.sync_file;
  auto keeper = WalKeeper::start(options.path, w, wal);
  if (!keeper) return std::move(keeper).error();
  auto backend = std::make_shared<Backend>(std::move(*writer), std::move(readers), options.path);
  backend->wal = std::move(*keeper);
  backend->synchronous_full = options.synchronous_full;
  backend->group_commit_max = options.group_commit_max;
  backend->group_commit_delay = options.group_commit_delay;
  return store::assemble_stores(backend);
}

}  // namespace surveyor::collector::sqlite
