// SPDX-License-Identifier: Apache-2.0
// Report intake: authenticate, decode, apply. The store applies the report,
// the host's components and their contains links with it, as one transaction.
#include "surveyor/collector/ingest/intake.hpp"

#include <new>
#include <optional>
#include <string>

#include "surveyor/collector/ingest/ingest.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/crypto.hpp"
#include "surveyor/core/error_category.hpp"
#include "surveyor/http/message.hpp"

namespace surveyor::collector::ingest {
namespace {

const core::TableCategory kIntakeCategory("intake", {{IntakeErrc::unauthenticated, "not authenticated"},
                                                     {IntakeErrc::unknown_agent, "unknown agent or wrong key"},
                                                     {IntakeErrc::unsupported_media_type, "unsupported media type"},
                                                     {IntakeErrc::bad_report, "malformed report"},
                                                     {IntakeErrc::agent_mismatch, "report of another agent"},
                                                     {IntakeErrc::time_in_future, "times in the future"},
                                                     {IntakeErrc::too_large, "report beyond a limit"}});

// "Bearer <agent-id>:<key>" -> id and key.
bool parse_agent_auth(std::string_view header, std::string& id, std::string& key) {
  const std::string_view credentials = http::bearer_credentials(header);
  const auto colon = credentials.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == credentials.size()) return false;
  id = std::string(credentials.substr(0, colon));
  key = std::string(credentials.substr(colon + 1));
  return true;
}

// The first sample or check time later than `latest`, described; nothing
// when there is none.
std::optional<std::string> time_in_future(const wire::Report& r, std::int64_t latest) {
  for (const wire::Series& s : r.series)
    for (const wire::Point& p : s.points)
      if (p.time_ms > latest) return "series " + s.metric + " has a sample at " + core::format_rfc3339(p.time_ms);
  for (const wire::CheckResult& c : r.checks)
    if (c.time_ms > latest) return "check " + c.name + " has a result at " + core::format_rfc3339(c.time_ms);
  return std::nullopt;
}

}  // namespace

const std::error_category& intake_category() { return kIntakeCategory; }

std::optional<store::AgentRecord> Intake::remembered(const std::string& id, const std::string& hash) const {
  std::shared_lock lock(agents_mu_);
  if (auto it = agents_.find(id); it != agents_.end() && core::constant_time_equal(hash, it->second.key_hash))
    return it->second;
  return std::nullopt;
}

core::Result<store::AgentRecord> Intake::authenticate(const std::string& id, std::string_view key, bool fresh) {
  const std::string hash = core::sha256_hex(key);
  if (!fresh)
    if (auto kept = remembered(id, hash)) return std::move(*kept);
  // Not remembered, remembered with another key, or out of date: the store.
  auto agent = stores_.agents->find_agent(id);
  if (!agent) return std::move(agent).error();
  store::AgentRecord kept;
  if (*agent && !(*agent)->key_hash.empty()) {
    kept.id = id;
    kept.key_hash = (*agent)->key_hash;
    kept.ci_id = (*agent)->ci_id;
    kept.hostname = (*agent)->hostname;
  }
  {
    // What the store holds, whether or not this key matches it.
    std::lock_guard lock(agents_mu_);
    if (kept.id.empty()) {
      agents_.erase(id);
    } else {
      if (agents_.size() >= kAgentCacheSize && !agents_.contains(id)) agents_.clear();
      agents_.insert_or_assign(id, kept);
    }
  }
  if (*agent && (*agent)->key_hash.empty())
    return core::make_error(IntakeErrc::unknown_agent, "agent " + id + " was revoked: it must enroll again");
  if (!*agent || !core::constant_time_equal(hash, (*agent)->key_hash))
    return core::make_error(IntakeErrc::unknown_agent, "unknown agent or wrong key");
  return kept;
}

// The report decoded and within the policy's bounds.
core::Result<wire::Report> Intake::checked_report(const std::string& agent_id, std::string_view body,
                                                  wire::Format format, std::int64_t now_ms) const {
  auto report = wire::decode<wire::Report>(body, format);
  if (!report) return core::make_error(IntakeErrc::bad_report, report.error().describe());
  if (report->agent_id != agent_id)
    return core::make_error(IntakeErrc::agent_mismatch,
                            "the report names agent " + report->agent_id + ", the key is " + agent_id + "'s");

  if (report->series.size() > policy_.max_series_per_report)
    return core::make_error(IntakeErrc::too_large, "the report has " + std::to_string(report->series.size()) +
                                                       " series; the collector's max_series_per_report is " +
                                                       std::to_string(policy_.max_series_per_report));
  std::size_t points = 0;
  for (const wire::Series& s : report->series) points += s.points.size();
  if (points > policy_.max_samples_per_report)
    return core::make_error(IntakeErrc::too_large, "the report has " + std::to_string(points) +
                                                       " samples; the collector's max_samples_per_report is " +
                                                       std::to_string(policy_.max_samples_per_report));

  const std::int64_t latest = now_ms + policy_.max_clock_skew_ms;
  if (auto late = time_in_future(*report, latest))
    return core::make_error(IntakeErrc::time_in_future,
                            *late + ", later than the collector's clock allows (" + core::format_rfc3339(latest) +
                                "): check the agent's clock");
  return report;
}

core::Result<Accepted> Intake::accept(std::string_view authorization, std::string_view content_type,
                                      std::string_view body, std::int64_t now_ms) {
  std::string agent_id, key;
  if (!parse_agent_auth(authorization, agent_id, key))
    return core::make_error(IntakeErrc::unauthenticated, "send Authorization: Bearer <agent-id>:<key>");
  auto agent = authenticate(agent_id, key, false);
  if (!agent) return std::move(agent).error();

  auto format = wire::format_for_content_type(content_type);
  auto report = format ? checked_report(agent_id, body, *format, now_ms)
                       : core::Result<wire::Report>(core::make_error(
                             IntakeErrc::unsupported_media_type, "send application/x-surveyor-report or application/json"));
  if (!report) {
    // Refused before the store: first whether the key holds still (the
    // remembered record may be out of date), so a revoked agent hears that.
    if (auto fresh = authenticate(agent_id, key, true); !fresh) return std::move(fresh).error();
    return std::move(report).error();
  }
  const bool capped = cap_heartbeat(*report);
  store::ReportBatch batch = batch_for(*report, *agent, now_ms);
  auto applied = stores_.reports->apply_report(batch);
  if (!applied && applied.error().code == store::StoreErrc::changed) {
    // The remembered record is out of date: read it again, and apply the
    // report with it if the key still holds.
    agent = authenticate(agent_id, key, true);
    if (!agent) return std::move(agent).error();
    batch = batch_for(*report, *agent, now_ms);
    applied = stores_.reports->apply_report(batch);
    if (!applied && applied.error().code == store::StoreErrc::changed)
      return core::make_error(IntakeErrc::unknown_agent, "agent " + agent_id + " changed while its report was applied");
  }
  if (!applied) return std::move(applied).error();
  return accepted(*report, batch, *format, capped, *applied);
}

void Intake::accept_async(std::string_view authorization, std::string_view content_type, std::string_view body,
                          std::int64_t now_ms, AcceptDone done) {
  // Only the common case goes this way: a remembered agent and a report
  // that passes every check. The rest (each of which may read the store)
  // is left to accept(), on a thread that may wait.
  std::string agent_id, key;
  if (!stores_.reports->applies_async() || body.size() > kMaxAsyncBodyBytes ||
      !parse_agent_auth(authorization, agent_id, key))
    return done(std::nullopt);
  const std::optional<store::AgentRecord> agent = remembered(agent_id, core::sha256_hex(key));
  const auto format = wire::format_for_content_type(content_type);
  if (!agent || !format) return done(std::nullopt);
  auto report = checked_report(agent_id, body, *format, now_ms);
  if (!report) return done(std::nullopt);

  // The report and its batch, kept until the store answers.
  struct Pending {
    wire::Report report;
    store::ReportBatch batch;
    bool capped = false;
  };
  auto p = std::make_shared<Pending>();
  p->capped = cap_heartbeat(*report);
  p->batch = batch_for(*report, *agent, now_ms);
  p->report = std::move(*report);
  store::ReportStore& reports = *stores_.reports;
  const store::ReportBatch& batch = p->batch;
  reports.apply_report_async(batch, [this, p = std::move(p), format = *format,
                                     done = std::move(done)](core::Result<store::ApplyResult> applied) {
    // Nothing (the agent changed, nothing written; or out of memory here):
    // accept() reads the agent again and applies the report, or finds it
    // stored and answers it as a duplicate.
    std::optional<core::Result<Accepted>> answer;
    try {
      if (applied)
        answer = accepted(p->report, p->batch, format, p->capped, *applied);
      else if (applied.error().code != store::StoreErrc::changed)
        answer = core::Result<Accepted>(std::move(applied).error());
    } catch (const std::bad_alloc&) {
      answer.reset();
    }
    done(std::move(answer));
  });
}

bool Intake::cap_heartbeat(wire::Report& report) const {
  if (report.heartbeat_interval_s <= policy_.max_heartbeat_interval_s) return false;
  report.heartbeat_interval_s = policy_.max_heartbeat_interval_s;
  return true;
}

// The report as the store applies it, for the agent as remembered or read.
store::ReportBatch Intake::batch_for(const wire::Report& report, const store::AgentRecord& as,
                                     std::int64_t now_ms) const {
  store::ReportBatch b = to_batch(report, as, now_ms);
  b.max_series = policy_.max_series_per_agent;
  b.agent_key_hash = as.key_hash;
  return b;
}

Accepted Intake::accepted(const wire::Report& report, const store::ReportBatch& batch, wire::Format format,
                          bool capped, const store::ApplyResult& applied) {
  Accepted a;
  a.format = format;
  a.heartbeat_capped = capped;
  a.ack = wire::ReportAck{report.sequence, applied.outcome == store::ApplyOutcome::duplicate,
                          inventory_wanted(report, applied.inventory)};
  if (a.ack.duplicate) return a;
  for (const auto& [info, samples] : batch.series) a.samples += samples.size();
  return a;
}

}  // namespace surveyor::collector::ingest
