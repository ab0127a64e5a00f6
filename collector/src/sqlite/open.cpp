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
  if (auto st = migrate(w); !st) return std::move(st).error();

  std::vector<std::unique_ptr<Connection>> readers;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options.readers); ++i) {
    auto r = Connection::open(options.path, true);
    if (!r) return std::move(r).error();
    readers.push_back(std::move(*r));
  }
  auto backend = std::make_shared<Backend>(std::move(*writer), std::move(readers), options.path);
  backend->synchronous_full = options.synchronous_full;
  Stores s;
  s.agents = make_agent_store(backend);
  s.cmdb = make_cmdb_store(backend);
  s.series = make_series_store(backend);
  s.reports = make_report_store(backend);
  s.inventory = make_inventory_store(backend);
  s.events = make_event_store(backend);
  s.relations = make_relation_store(backend);
  s.audit = make_audit_store(backend);
  s.changes = make_change_store(backend);
  s.services = make_service_store(backend);
  s.timelines = make_timeline_store(backend);
  s.leases = make_lease_store(backend);
  s.incidents = make_incident_store(backend);
  s.sla_reports = make_sla_report_store(backend);
  s.health = make_health(backend);
  return s;
}

}  // namespace surveyor::collector::sqlite
