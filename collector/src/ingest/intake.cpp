// SPDX-License-Identifier: Apache-2.0
// Report intake: authenticate, decode, apply, then follow the host's
// components with its contains relationships (after the report's
// transaction: relationships are their own store's writes).
#include "surveyor/collector/ingest/intake.hpp"

#include <algorithm>
#include <string>

#include "surveyor/collector/ingest/ingest.hpp"
#include "surveyor/core/crypto.hpp"
#include "surveyor/core/error_category.hpp"

namespace surveyor::collector::ingest {
namespace {

const core::TableCategory kIntakeCategory("intake", {{IntakeErrc::unauthenticated, "not authenticated"},
                                                     {IntakeErrc::unknown_agent, "unknown agent or wrong key"},
                                                     {IntakeErrc::unsupported_media_type, "unsupported media type"},
                                                     {IntakeErrc::bad_report, "malformed report"},
                                                     {IntakeErrc::agent_mismatch, "report of another agent"}});

// "Bearer <agent-id>:<key>" -> id and key.
bool parse_agent_auth(std::string_view header, std::string& id, std::string& key) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.substr(0, kBearer.size()) != kBearer) return false;
  header.remove_prefix(kBearer.size());
  const auto colon = header.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == header.size()) return false;
  id = std::string(header.substr(0, colon));
  key = std::string(header.substr(colon + 1));
  return true;
}

}  // namespace

const std::error_category& intake_category() { return kIntakeCategory; }

core::Result<Accepted> Intake::accept(std::string_view authorization, std::string_view content_type,
                                      std::string_view body, std::int64_t now_ms) {
  std::string agent_id, key;
  if (!parse_agent_auth(authorization, agent_id, key))
    return core::make_error(IntakeErrc::unauthenticated, "send Authorization: Bearer <agent-id>:<key>");
  auto agent = stores_.agents->find_agent(agent_id);
  if (!agent) return std::move(agent).error();
  if (!*agent || !core::constant_time_equal(core::sha256_hex(key), (*agent)->key_hash))
    return core::make_error(IntakeErrc::unknown_agent, "unknown agent or wrong key");

  auto format = wire::format_for_content_type(content_type);
  if (!format)
    return core::make_error(IntakeErrc::unsupported_media_type,
                            "send application/x-surveyor-report or application/json");
  auto report = wire::decode<wire::Report>(body, *format);
  if (!report) return core::make_error(IntakeErrc::bad_report, report.error().describe());
  if (report->agent_id != agent_id)
    return core::make_error(IntakeErrc::agent_mismatch,
                            "the report names agent " + report->agent_id + ", the key is " + agent_id + "'s");

  const store::ReportBatch batch = to_batch(*report, **agent, now_ms);
  auto applied = stores_.reports->apply_report(batch);
  if (!applied) return std::move(applied).error();

  Accepted a;
  a.format = *format;
  a.ack = wire::ReportAck{report->sequence, applied->outcome == store::ApplyOutcome::duplicate,
                          inventory_wanted(*report, applied->inventory)};
  if (a.ack.duplicate) return a;
  for (const auto& [info, samples] : batch.series) a.samples += samples.size();
  if (report->inventory) a.components_failed = !sync_components(**agent, *report->inventory, now_ms);
  return a;
}

core::Status Intake::sync_components(const store::AgentRecord& agent, const wire::Inventory& inventory,
                                     std::int64_t now) {
  const Components found = components(inventory, agent.ci_id, now);
  auto held = stores_.relations->relationships_of(agent.ci_id);
  if (!held) return std::move(held).error();
  for (const auto& [prefix, ids] : found.contains) {
    for (const std::string& id : ids) {
      const store::Relationship r{agent.ci_id, "contains", id, "agent", now};
      if (std::none_of(held->begin(), held->end(), [&r](const store::Relationship& h) {
            return h.from == r.from && h.type == r.type && h.to == r.to;
          }))
        if (auto added = stores_.relations->add_relationship(r); !added) return std::move(added).error();
    }
    for (const store::Relationship& h : *held) {
      // Only what agents made: a link a person made stays theirs.
      if (h.from != agent.ci_id || h.type != "contains" || h.origin != "agent" || !h.to.starts_with(prefix)) continue;
      if (std::binary_search(ids.begin(), ids.end(), h.to)) continue;
      // Gone from the host (a swapped NIC, a pulled disk): the link goes, the
      // component is retired, both on the audit trail.
      if (auto removed = stores_.relations->remove_relationship(h, "agent", now); !removed)
        return std::move(removed).error();
      auto ci = stores_.cmdb->find_ci(h.to);
      if (!ci) return std::move(ci).error();
      if (!*ci || (*ci)->state == store::CiState::retired) continue;
      store::CiUpdate retire;
      retire.id = h.to;
      retire.type = (*ci)->type;
      retire.source = "agent";
      retire.state = store::CiState::retired;
      retire.seen_at_ms = now;
      if (auto st = stores_.cmdb->upsert_ci(retire); !st) return std::move(st).error();
    }
  }
  return {};
}

}  // namespace surveyor::collector::ingest
