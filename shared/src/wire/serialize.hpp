// SPDX-License-Identifier: Apache-2.0
// The cereal layout of every wire type. Each type is versioned: a field added
// later is read only when `version` says it is there, so old agents keep
// working; a version newer than this build knows is refused, not guessed at.
#pragma once

#include <cereal/cereal.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "bounded_archive.hpp"
#include "fields.hpp"
#include "surveyor/wire/enroll.hpp"
#include "surveyor/wire/inventory.hpp"
#include "surveyor/wire/report.hpp"
#include "surveyor/wire/types.hpp"

namespace surveyor::wire {

inline void check_version(std::uint32_t version, std::uint32_t known, const char* type) {
  if (version > known)
    throw detail::DecodeFailure{Errc::unsupported_version,
                                std::string(type) + " layout version " + std::to_string(version) +
                                    " is newer than this build reads (" + std::to_string(known) + ")"};
}

template <class Ar>
void serialize(Ar& ar, Point& p, std::uint32_t v) {
  check_version(v, 1, "Point");
  ar(p.time_ms, p.value);
}

template <class Ar>
void serialize(Ar& ar, Series& s, std::uint32_t v) {
  check_version(v, 1, "Series");
  ar(s.metric, s.unit, s.attributes, s.points);
}

template <class Ar>
void serialize(Ar& ar, CheckResult& c, std::uint32_t v) {
  check_version(v, 1, "CheckResult");
  ar(c.name, c.kind, c.state, c.time_ms, c.duration_ms, c.output);
}

template <class Ar, class T>
void serialize(Ar& ar, Section<T>& s, std::uint32_t v) {
  check_version(v, 1, "Section");
  ar(s.state, s.reason, s.digest, s.data);
}

// Every struct with a field list (fields.hpp).
template <class Ar, class T>
  requires detail::HasFields<T>
void serialize(Ar& ar, T& t, std::uint32_t v) {
  check_version(v, detail::Fields<T>::version, "inventory record");
  detail::Fields<T>::apply(t, [&ar](const char*, auto& field) { ar(field); }, v);
}

inline constexpr std::uint32_t kInventoryVersion = 2;

template <class Ar>
void serialize(Ar& ar, Inventory& i, std::uint32_t v) {
  check_version(v, kInventoryVersion, "Inventory");
  ar(i.collected_at_ms, i.host, i.cpu);
  if (v >= 2) ar(i.hardware, i.memory, i.pci, i.disks, i.filesystems, i.nics, i.packages, i.instances);
}

template <class Ar>
void serialize(Ar& ar, Report& r, std::uint32_t v) {
  check_version(v, kProtocolVersion, "Report");
  ar(r.agent_id, r.sequence, r.sent_at_ms, r.heartbeat_interval_s, r.agent_version,
     r.inventory_digest, r.inventory, r.series, r.checks);
}

template <class Ar>
void serialize(Ar& ar, ReportAck& a, std::uint32_t v) {
  check_version(v, 1, "ReportAck");
  ar(a.sequence, a.duplicate, a.inventory_wanted);
}

template <class Ar>
void serialize(Ar& ar, EnrollRequest& e, std::uint32_t v) {
  check_version(v, 2, "EnrollRequest");
  ar(e.token, e.host_id, e.hostname, e.agent_version);
  if (v >= 2) ar(e.system_uuid, e.system_serial);
}

template <class Ar>
void serialize(Ar& ar, EnrollResponse& e, std::uint32_t v) {
  check_version(v, 1, "EnrollResponse");
  ar(e.agent_id, e.agent_key, e.ci_id);
}

}  // namespace surveyor::wire

CEREAL_CLASS_VERSION(surveyor::wire::Point, 1)
CEREAL_CLASS_VERSION(surveyor::wire::Series, 1)
CEREAL_CLASS_VERSION(surveyor::wire::CheckResult, 1)
// Inventory records carry the version their field list declares.
#define SURVEYOR_RECORD_VERSION(T) CEREAL_CLASS_VERSION(T, surveyor::wire::detail::Fields<T>::version)
SURVEYOR_RECORD_VERSION(surveyor::wire::HostInfo)
SURVEYOR_RECORD_VERSION(surveyor::wire::CpuCache)
SURVEYOR_RECORD_VERSION(surveyor::wire::CpuTopology)
SURVEYOR_RECORD_VERSION(surveyor::wire::Hardware)
SURVEYOR_RECORD_VERSION(surveyor::wire::MemoryModule)
SURVEYOR_RECORD_VERSION(surveyor::wire::PciDevice)
SURVEYOR_RECORD_VERSION(surveyor::wire::Disk)
SURVEYOR_RECORD_VERSION(surveyor::wire::Filesystem)
SURVEYOR_RECORD_VERSION(surveyor::wire::Nic)
SURVEYOR_RECORD_VERSION(surveyor::wire::Package)
SURVEYOR_RECORD_VERSION(surveyor::wire::Attribute)
SURVEYOR_RECORD_VERSION(surveyor::wire::Instance)
CEREAL_CLASS_VERSION(surveyor::wire::Inventory, surveyor::wire::kInventoryVersion)
CEREAL_CLASS_VERSION(surveyor::wire::Report, surveyor::wire::kProtocolVersion)
CEREAL_CLASS_VERSION(surveyor::wire::ReportAck, 1)
CEREAL_CLASS_VERSION(surveyor::wire::EnrollRequest, 2)
CEREAL_CLASS_VERSION(surveyor::wire::EnrollResponse, 1)
