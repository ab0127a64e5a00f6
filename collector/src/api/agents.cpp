// SPDX-License-Identifier: Apache-2.0
// Enrollment and report intake: the two endpoints agents call.
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "surveyor/collector/api/api.hpp"
#include "surveyor/collector/ingest/ingest.hpp"
#include "surveyor/core/crypto.hpp"
#include "surveyor/wire/codec.hpp"

namespace surveyor::collector::api {
namespace {

http::Response encoded(unsigned status, const std::string& body, wire::Format f) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::string(wire::content_type_for(f)));
  r.body = body;
  return r;
}

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

http::Response Api::enroll(const http::Request& req) {
  auto format = wire::format_for_content_type(req.header("Content-Type"));
  if (!format) return fail(415, "unsupported_media_type", "send application/json or application/x-surveyor-report");
  auto er = wire::decode<wire::EnrollRequest>(req.body, *format);
  if (!er) return fail(400, "bad_enrollment", er.error().describe());
  if (options_.enrollment_token.empty() || !core::constant_time_equal(er->token, options_.enrollment_token))
    return fail(401, "bad_enrollment_token", "the enrollment token is not valid");

  const std::int64_t now = core::to_unix_ms(clock_.now());
  store::AgentRecord a;
  a.id = "agt-" + core::random_hex(8);
  const std::string key = core::random_hex(32);
  a.key_hash = core::sha256_hex(key);
  a.host_id = er->host_id;
  a.hostname = er->hostname;
  auto match = ingest::reconcile_host(*stores_.cmdb, er->host_id, er->system_uuid, er->system_serial);
  if (!match) return store_failure(match.error());
  a.ci_id = match->ci_id;
  a.agent_version = er->agent_version;
  a.enrolled_at_ms = now;
  if (auto st = stores_.agents->create_agent(a); !st) return store_failure(st.error());

  // The host appears in the CMDB at once, before its first report, with how
  // it was recognised.
  store::CiUpdate host = ingest::host_update(a.ci_id, nullptr, now);
  host.name = er->hostname;
  host.attributes = {{"host.id", er->host_id}, {"host.name", er->hostname}, {"identity.rule", match->rule}};
  if (!match->clone_of.empty()) host.attributes["identity.clone_of"] = match->clone_of;
  if (!ingest::placeholder(er->system_uuid)) host.attributes["hardware.uuid"] = er->system_uuid;
  if (!ingest::placeholder(er->system_serial)) host.attributes["hardware.serial"] = er->system_serial;
  if (auto ci = stores_.cmdb->upsert_ci(host); !ci) return store_failure(ci.error());
  counters_.enrollments.with({}).inc();
  return encoded(201, wire::encode(wire::EnrollResponse{a.id, key, a.ci_id}, *format), *format);
}

http::Response Api::post_report(const http::Request& req) {
  std::string agent_id, key;
  if (!parse_agent_auth(req.header("Authorization"), agent_id, key))
    return fail(401, "unauthenticated", "send Authorization: Bearer <agent-id>:<key>");
  auto agent = stores_.agents->find_agent(agent_id);
  if (!agent) return store_failure(agent.error());
  if (!*agent || !core::constant_time_equal(core::sha256_hex(key), (*agent)->key_hash))
    return fail(401, "unknown_agent", "unknown agent or wrong key");

  auto format = wire::format_for_content_type(req.header("Content-Type"));
  if (!format) return fail(415, "unsupported_media_type", "send application/x-surveyor-report or application/json");
  auto report = wire::decode<wire::Report>(req.body, *format);
  if (!report) {
    counters_.reports.with({"rejected"}).inc();
    return fail(400, "bad_report", report.error().describe());
  }
  if (report->agent_id != agent_id)
    return fail(403, "agent_mismatch", "the report names agent " + report->agent_id + ", the key is " + agent_id + "'s");

  const std::int64_t now = core::to_unix_ms(clock_.now());
  store::ReportBatch batch = ingest::to_batch(*report, **agent, now);
  auto applied = stores_.reports->apply_report(batch);
  if (!applied) return store_failure(applied.error());

  wire::ReportAck ack{report->sequence, applied->outcome == store::ApplyOutcome::duplicate,
                      ingest::inventory_wanted(*report, applied->inventory)};
  if (ack.duplicate) {
    counters_.reports.with({"duplicate"}).inc();
  } else {
    counters_.reports.with({"stored"}).inc();
    // The host's contains relationships follow its components. A failure here
    // leaves the report stored; the next inventory puts it right.
    if (report->inventory)
      if (auto st = sync_components(**agent, ingest::components(*report->inventory, (*agent)->ci_id, now), now); !st)
        counters_.errors.with({"component_sync"}).inc();
    std::uint64_t n = 0;
    for (const auto& [info, samples] : batch.series) n += samples.size();
    counters_.samples.with({}).inc(n);
  }
  return encoded(202, wire::encode(ack, *format), *format);
}

core::Status Api::sync_components(const store::AgentRecord& agent, const ingest::Components& found, std::int64_t now) {
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
      store::CiUpdate retire;
      retire.id = h.to;
      retire.source = "agent";
      retire.state = store::CiState::retired;
      retire.seen_at_ms = now;
      auto ci = stores_.cmdb->find_ci(h.to);
      if (!ci) return std::move(ci).error();
      if (*ci && (*ci)->state != store::CiState::retired) {
        retire.type = (*ci)->type;
        if (auto st = stores_.cmdb->upsert_ci(retire); !st) return std::move(st).error();
      }
    }
  }
  return {};
}

}  // namespace surveyor::collector::api
