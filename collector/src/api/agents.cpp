// SPDX-License-Identifier: Apache-2.0
// The endpoints agents call: enrollment, report intake (whose work is
// ingest::Intake's) and key rotation.
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <new>

#include "surveyor/collector/api/api.hpp"
#include "surveyor/collector/ingest/ingest.hpp"
#include "surveyor/collector/ingest/intake.hpp"
#include "surveyor/core/crypto.hpp"
#include "surveyor/wire/codec.hpp"

namespace surveyor::collector::api {
namespace {

namespace json = boost::json;

http::Response encoded(unsigned status, const std::string& body, wire::Format f) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", std::string(wire::content_type_for(f)));
  r.body = body;
  return r;
}

}  // namespace

http::Response Api::enroll(const http::Request& req) {
  auto format = wire::format_for_content_type(req.header("Content-Type"));
  if (!format) return fail(415, "unsupported_media_type", "send application/json or application/x-surveyor-report");
  auto er = wire::decode<wire::EnrollRequest>(req.body, *format);
  if (!er) return fail(400, "bad_enrollment", er.error().describe());
  const std::int64_t now = core::to_unix_ms(clock_.now());
  // The fleet-wide token (when configured), else an enrollment grant, one of
  // whose uses this spends.
  if (options_.enrollment_token.empty() || !core::constant_time_equal(er->token, options_.enrollment_token)) {
    auto use = stores_.credentials->use_grant(core::sha256_hex(er->token), now);
    if (!use) return store_failure(use.error());
    switch (*use) {
      case store::GrantUse::accepted: break;
      case store::GrantUse::unknown: return fail(401, "bad_enrollment_token", "the enrollment token is not valid");
      case store::GrantUse::expired: return fail(401, "bad_enrollment_token", "the enrollment token has expired");
      case store::GrantUse::revoked: return fail(401, "bad_enrollment_token", "the enrollment token was revoked");
      case store::GrantUse::used_up:
        return fail(401, "bad_enrollment_token", "the enrollment token has been used as many times as it allows");
    }
  }

  store::AgentRecord a;
  a.id = "agt-" + core::random_hex(8);
  const std::string key = core::random_hex(32);
  a.key_hash = core::sha256_hex(key);
  a.host_id = er->host_id;
  a.hostname = er->hostname;
  auto match = ingest::reconcile_host(*stores_.cmdb, er->host_id, er->system_uuid, er->system_serial);
  if (!match) return store_failure(match.error());
  // A host whose agent is in force is not handed to a newcomer: unless it
  // presents that agent's key (the same machine enrolling again), it gets a
  // CI of its own, flagged, until an admin approves (docs/security.md).
  std::string conflict_with, replaces;
  if (match->rule != "new" && match->rule != "clone") {
    auto holder = ingest::holder_of(stores_, match->ci_id, http::bearer_credentials(req.header("Authorization")));
    if (!holder) return store_failure(holder.error());
    if (*holder && (*holder)->proven) {
      replaces = (*holder)->agent_id;
    } else if (*holder) {
      conflict_with = match->ci_id;
      match->ci_id = ingest::conflict_ci_id(er->host_id, a.id);
      match->rule = "conflict";
      counters_.errors.with({"enrollment_conflict"}).inc();
    }
  }
  a.ci_id = match->ci_id;
  a.agent_version = er->agent_version;
  a.enrolled_at_ms = now;
  if (auto st = stores_.agents->create_agent(a); !st) return store_failure(st.error());
  if (!replaces.empty())
    if (auto r = stores_.agents->revoke_agent(replaces); !r) return store_failure(r.error());

  // The host appears in the CMDB at once, before its first report, with how
  // it was recognised.
  store::CiUpdate host = ingest::host_update(a.ci_id, nullptr, now);
  host.name = er->hostname;
  host.attributes = {{"host.id", er->host_id},
                     {"host.name", er->hostname},
                     {"identity.rule", match->rule},
                     {"agent.id", a.id}};
  if (!match->clone_of.empty()) host.attributes["identity.clone_of"] = match->clone_of;
  if (!conflict_with.empty()) host.attributes["identity.conflict_with"] = conflict_with;
  if (!ingest::placeholder(er->system_uuid)) host.attributes["hardware.uuid"] = er->system_uuid;
  if (!ingest::placeholder(er->system_serial)) host.attributes["hardware.serial"] = er->system_serial;
  if (auto ci = stores_.cmdb->upsert_ci(host); !ci) return store_failure(ci.error());
  counters_.enrollments.with({}).inc();
  return encoded(201, wire::encode(wire::EnrollResponse{a.id, key, a.ci_id}, *format), *format);
}

// An agent replaces its key: authenticated with the key it has, it gets a
// new one, and the old one stops working at once.
http::Response Api::rotate_agent_key(const http::Request& req) {
  const std::string_view credentials = http::bearer_credentials(req.header("Authorization"));
  const auto colon = credentials.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return fail(401, "unauthenticated", "send Authorization: Bearer <agent-id>:<key>");
  const std::string id(credentials.substr(0, colon));
  const std::string old_hash = core::sha256_hex(credentials.substr(colon + 1));
  auto agent = stores_.agents->find_agent(id);
  if (!agent) return store_failure(agent.error());
  if (!*agent || (*agent)->key_hash.empty() || !core::constant_time_equal(old_hash, (*agent)->key_hash))
    return fail(401, "unknown_agent", "unknown agent, wrong key, or a revoked agent");
  const std::string key = core::random_hex(32);
  auto rotated = stores_.agents->rotate_key(id, old_hash, core::sha256_hex(key));
  if (!rotated) return store_failure(rotated.error());
  if (!*rotated) return fail(409, "conflict", "the key changed meanwhile (revoked or rotated by another request)");
  return server::json_response(200, json::serialize(json::object{{"agent_id", id}, {"agent_key", key}}));
}

// The report's way from the wire to the store is ingest's (Intake); here it
// only becomes an HTTP answer and counts.
http::Response Api::post_report(const http::Request& req) {
  return report_answer(
      intake_.accept(req.header("Authorization"), req.header("Content-Type"), req.body, core::to_unix_ms(clock_.now())));
}

// Without waiting for the store where the intake can (SQLite): the answer
// is made on the store's thread that makes the report durable.
void Api::post_report_async(const http::Request& req, const server::Respond& respond) {
  intake_.accept_async(req.header("Authorization"), req.header("Content-Type"), req.body,
                       core::to_unix_ms(clock_.now()),
                       [this, respond](std::optional<core::Result<ingest::Accepted>> accepted) {
                         std::optional<http::Response> answer;  // nothing: post_report answers
                         try {
                           if (accepted) answer = report_answer(*accepted);
                         } catch (const std::bad_alloc&) {  // a duplicate by then, answered so
                           answer.reset();
                         }
                         respond(std::move(answer));
                       });
}

http::Response Api::report_answer(const core::Result<ingest::Accepted>& accepted) {
  if (!accepted) {
    const core::Error& e = accepted.error();
    if (e.code == store::StoreErrc::limit) {
      counters_.reports.with({"rejected"}).inc();
      return fail(422, "series_limit", e.message);
    }
    if (e.code.category() != ingest::intake_category()) return store_failure(e);
    switch (static_cast<ingest::IntakeErrc>(e.code.value())) {
      case ingest::IntakeErrc::unauthenticated: return fail(401, "unauthenticated", e.message);
      case ingest::IntakeErrc::unknown_agent: return fail(401, "unknown_agent", e.message);
      case ingest::IntakeErrc::unsupported_media_type: return fail(415, "unsupported_media_type", e.message);
      case ingest::IntakeErrc::agent_mismatch: return fail(403, "agent_mismatch", e.message);
      case ingest::IntakeErrc::bad_report:
        counters_.reports.with({"rejected"}).inc();
        return fail(400, "bad_report", e.message);
      case ingest::IntakeErrc::time_in_future:
        counters_.reports.with({"rejected"}).inc();
        return fail(400, "time_in_future", e.message);
      case ingest::IntakeErrc::too_large:
        counters_.reports.with({"rejected"}).inc();
        return fail(413, "report_too_large", e.message);
    }
    return store_failure(e);
  }
  counters_.reports.with({accepted->ack.duplicate ? "duplicate" : "stored"}).inc();
  counters_.samples.with({}).inc(accepted->samples);
  if (accepted->heartbeat_capped) counters_.errors.with({"heartbeat_capped"}).inc();
  return encoded(202, wire::encode(accepted->ack, accepted->format), accepted->format);
}

// The routes of this file's handlers (docs/api.md).
void Api::routes_agents(server::Router& r) {
  r.add("POST", "/api/v1/enroll", "enroll", [this](const http::Request& q, const server::Params&) { return enroll(q); });
  r.add("POST", "/api/v1/agents/rotate-key", "agents.rotate_key",
        [this](const http::Request& q, const server::Params&) { return rotate_agent_key(q); });
  server::AsyncHandler async;  // where the store applies reports on threads of its own
  if (stores_.reports->applies_async())
    async = [this](const http::Request& q, const server::Params&, const server::Respond& respond) {
      post_report_async(q, respond);
    };
  r.add("POST", "/api/v1/reports", "reports",
        [this](const http::Request& q, const server::Params&) { return post_report(q); }, std::move(async));
}

}  // namespace surveyor::collector::api
