// SPDX-License-Identifier: Apache-2.0
// Opens the shared store: one connection pool on Redis, and every domain's
// store on it. Nothing is read until a store is used.
#include "surveyor/collector/redis/redis_stores.hpp"

#include "backend.hpp"

namespace surveyor::collector::redis {

using store::Stores;

core::Result<Stores> open_redis(const RedisOptions& options) {
  auto backend = std::make_shared<Backend>(options);
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

}  // namespace surveyor::collector::redis
