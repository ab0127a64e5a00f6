// SPDX-License-Identifier: Apache-2.0
// From an agent's report to the store: host and component CIs and their identity rules, host
// reconciliation at enrollment, and when to ask for the full inventory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "surveyor/collector/store/stores.hpp"
#include "surveyor/wire/report.hpp"

namespace surveyor::collector::ingest {

// The id of the host CI for a host.id (/etc/machine-id). Derived, so every
// collector computes the same one, and hashed, because machine-id is meant to
// stay private to the host.
[[nodiscard]] std::string host_ci_id(std::string_view host_id);

// The host CI attributes an inventory gives, with the prefixes each collected
// section owns. Failed and unchanged sections contribute nothing, so what was
// known before stays.
[[nodiscard]] store::CiUpdate host_update(const std::string& ci_id, const wire::Inventory* inventory,
                                          std::int64_t seen_at_ms);

// Everything a decoded, authenticated report changes in the store: the host
// CI (seen now, and its inventory if present), its samples, and check results
// as samples (surveyor.check.status 0..3 and surveyor.check.duration).
[[nodiscard]] store::ReportBatch to_batch(const wire::Report& report, const store::AgentRecord& agent,
                                          std::int64_t received_at_ms);

// Component CIs of a host from its inventory: CPU packages, memory modules,
// disks, physical NICs, filesystems and the OS, each contained in the host.
// Identity rules, most specific first, recorded in `identity.rule`:
//   disk: WWN, then host + serial, then host + device name
//   nic: MAC address (virtual interfaces are not CIs)
//   memory module: host + serial, then host + slot
// (serials are not unique across vendors' emulated devices; placeholder
// values count as absent)
//   filesystem: host + mount point; cpu: host + package number; os: host
// So a disk with a WWN moved to another host stays one CI, and a swapped NIC
// is a new one.
struct Components {
  std::vector<store::CiUpdate> cis;
  // Per kind whose section was collected (or found empty): the id prefix
  // ("disk-") and the ids the host contains now. Kinds whose section failed
  // or was not sent are absent: what was known stays.
  store::ComponentKinds contains;
};
[[nodiscard]] Components components(const wire::Inventory& inventory, const std::string& host_ci,
                                    std::int64_t seen_at_ms);

// Whether a DMI value is a placeholder firmware vendors leave in ("To Be
// Filled By O.E.M.", "Default string", an all-zero UUID, ...): absent.
[[nodiscard]] bool placeholder(std::string_view value);

// Which host CI an enrolling agent belongs to, by ordered identity rules:
//   host.id: the CI of its machine-id, unless that CI's SMBIOS UUID differs
//     from the enrolling hardware's: then it is a clone (same machine-id,
//     other hardware), given a CI of its own and flagged, never merged;
//   smbios_uuid: else the host CI with the same SMBIOS UUID (a reinstall);
//   serial: else the host CI with the same system serial;
//   new: else a new CI for the machine-id.
// Placeholder values count as absent.
struct HostMatch {
  std::string ci_id;
  std::string rule;      // host.id, smbios_uuid, serial, new, clone
  std::string clone_of;  // for a clone: the CI whose machine-id it shares
};
[[nodiscard]] core::Result<HostMatch> reconcile_host(store::CmdbStore& cmdb, std::string_view host_id,
                                                     std::string_view system_uuid, std::string_view system_serial);

// The agent in force that reports for a host CI (its `agent.id`, an agent
// whose key is not revoked): enrolling another agent for that CI would take
// it from it. `proven`: the new agent presented that agent's own key
// (`proof`, "ID:KEY"), so it is the same machine enrolling again.
struct Holder {
  std::string agent_id;
  bool proven = false;
};
[[nodiscard]] core::Result<std::optional<Holder>> holder_of(store::Stores& stores, const std::string& ci_id,
                                                            std::string_view proof);

// The CI a conflicting enrollment gets instead of the host's: its own,
// named after the agent, flagged identity.rule = "conflict" and
// identity.conflict_with = the host's CI.
[[nodiscard]] std::string conflict_ci_id(std::string_view host_id, std::string_view agent_id);

// An admin approves agent `agent_id`'s conflicting enrollment: it reports
// for the host CI its own CI conflicts with from now on, the agent that held
// that CI is revoked, and the conflict CI is retired. Returns the host CI;
// StoreErrc::not_found for an unknown agent, `invalid` for one without a
// conflict.
[[nodiscard]] core::Result<std::string> approve_conflict(store::Stores& stores, std::string_view agent_id,
                                                         std::int64_t now_ms);

// Whether the collector should ask for the full inventory in the ack: the
// agent's inventory digest differs from the one the held sections give
// (a failed section counts as "no data", as the agent counts it).
[[nodiscard]] bool inventory_wanted(const wire::Report& report, const std::vector<store::InventorySection>& held);

}  // namespace surveyor::collector::ingest
