// SPDX-License-Identifier: Apache-2.0
// One backend's stores, one per domain (each domain's model and interface
// is in its own header), and the contract every store method keeps.
#pragma once

#include <memory>

#include "surveyor/collector/store/agents.hpp"
#include "surveyor/collector/store/audit.hpp"
#include "surveyor/collector/store/changes.hpp"
#include "surveyor/collector/store/cmdb.hpp"
#include "surveyor/collector/store/credentials.hpp"
#include "surveyor/collector/store/errors.hpp"
#include "surveyor/collector/store/events.hpp"
#include "surveyor/collector/store/evidence.hpp"
#include "surveyor/collector/store/health.hpp"
#include "surveyor/collector/store/incidents.hpp"
#include "surveyor/collector/store/inventory.hpp"
#include "surveyor/collector/store/relations.hpp"
#include "surveyor/collector/store/reports.hpp"
#include "surveyor/collector/store/series.hpp"
#include "surveyor/collector/store/services.hpp"
#include "surveyor/collector/store/sla_reports.hpp"
#include "surveyor/collector/store/timelines.hpp"

namespace surveyor::collector::store {

// Every method of every store is safe to call from several threads at once,
// and blocks: call it from a worker thread, never from an I/O thread.
// Failures are StoreErrc: `unavailable` when the backend cannot be reached
// (the caller answers 503), `corrupt` when stored data cannot be read back.

// One backend's stores. The members share the backend's connections.
struct Stores {
  std::shared_ptr<AgentStore> agents;
  std::shared_ptr<CmdbStore> cmdb;
  std::shared_ptr<SeriesStore> series;
  std::shared_ptr<ReportStore> reports;
  std::shared_ptr<InventoryStore> inventory;
  std::shared_ptr<EventStore> events;
  std::shared_ptr<RelationStore> relations;
  std::shared_ptr<AuditStore> audit;
  std::shared_ptr<ChangeStore> changes;
  std::shared_ptr<ServiceStore> services;
  std::shared_ptr<TimelineStore> timelines;
  std::shared_ptr<LeaseStore> leases;
  std::shared_ptr<IncidentStore> incidents;
  std::shared_ptr<SlaReportStore> sla_reports;
  std::shared_ptr<EvidenceStore> evidence;
  std::shared_ptr<CredentialStore> credentials;
  std::shared_ptr<StoreHealth> health;
};

// Declares a backend's factories, one per domain, in the backend's namespace;
// each is defined in that backend's file of the domain.
#define SURVEYOR_STORE_FACTORIES(Backend)                                              \
  std::shared_ptr<::surveyor::collector::store::AgentStore> make_agent_store(          \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::CmdbStore> make_cmdb_store(            \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::SeriesStore> make_series_store(        \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::ReportStore> make_report_store(        \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::InventoryStore> make_inventory_store(  \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::EventStore> make_event_store(          \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::RelationStore> make_relation_store(    \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::AuditStore> make_audit_store(          \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::ChangeStore> make_change_store(        \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::ServiceStore> make_service_store(      \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::TimelineStore> make_timeline_store(    \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::LeaseStore> make_lease_store(          \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::IncidentStore> make_incident_store(    \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::SlaReportStore> make_sla_report_store( \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::EvidenceStore> make_evidence_store(    \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::CredentialStore> make_credential_store( \
      std::shared_ptr<Backend> b);                                                     \
  std::shared_ptr<::surveyor::collector::store::StoreHealth> make_health(std::shared_ptr<Backend> b)

// Every store of a backend, from its factories (found by argument-dependent
// lookup in the backend's namespace: make_agent_store(b), ...).
template <class Backend>
Stores assemble_stores(const std::shared_ptr<Backend>& b) {
  Stores s;
  s.agents = make_agent_store(b);
  s.cmdb = make_cmdb_store(b);
  s.series = make_series_store(b);
  s.reports = make_report_store(b);
  s.inventory = make_inventory_store(b);
  s.events = make_event_store(b);
  s.relations = make_relation_store(b);
  s.audit = make_audit_store(b);
  s.changes = make_change_store(b);
  s.services = make_service_store(b);
  s.timelines = make_timeline_store(b);
  s.leases = make_lease_store(b);
  s.incidents = make_incident_store(b);
  s.sla_reports = make_sla_report_store(b);
  s.evidence = make_evidence_store(b);
  s.credentials = make_credential_store(b);
  s.health = make_health(b);
  return s;
}

}  // namespace surveyor::collector::store
