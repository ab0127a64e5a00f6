// SPDX-License-Identifier: Apache-2.0
// The steps both ways of applying a report share (report_steps.hpp).
#include "report_steps.hpp"

#include <algorithm>
#include <charconv>
#include <climits>

namespace surveyor::collector::redis {

core::Result<AgentState> check_agent(const ReportBatch& batch, const redisReply* agent, const std::string* host) {
  const bool known =
      agent->type == REDIS_REPLY_ARRAY && agent->elements == 4 && agent->element[0]->type != REDIS_REPLY_NIL;
  // On its host's slot a missing record is an agent that moved away, when
  // the report was authenticated: the caller finds where it went.
  if (!known && host != nullptr && !batch.agent_key_hash.empty())
    return core::make_error(StoreErrc::changed, "agent " + batch.agent_id + " changed since its key was checked");
  if (!known) return core::make_error(StoreErrc::invalid, "unknown agent " + batch.agent_id);
  if ((!batch.agent_key_hash.empty() && (reply_text(agent->element[2]) != batch.agent_key_hash ||
                                         reply_text(agent->element[3]) != batch.inventory_ci_id)) ||
      (host != nullptr && reply_text(agent->element[3]) != *host))
    return core::make_error(StoreErrc::changed, "agent " + batch.agent_id + " changed since its key was checked");
  AgentState a;
  a.last_seen = reply_int(agent->element[0]).value_or(0);
  a.last_seq = reply_int(agent->element[1]).value_or(0);
  a.highest = static_cast<std::uint64_t>(std::max<std::int64_t>(0, a.last_seq));
  return a;
}

Argv agent_update(const ReportBatch& batch, const std::string& agent_key, const AgentState& a) {
  Argv out{"HSET", agent_key, "last_seen_ms", i64(std::max(a.last_seen, batch.received_at_ms)),
           "last_sequence", i64(std::max<std::int64_t>(a.last_seq, static_cast<std::int64_t>(batch.sequence))),
           "heartbeat_interval_s", std::to_string(batch.heartbeat_interval_s)};
  if (batch.inventory_digest) {
    out.push_back("inventory_digest");
    out.push_back(*batch.inventory_digest);
  }
  return out;
}

core::Result<Window> read_window(Connection& c, const Prepared& p, std::span<const Reply> got, std::uint64_t highest) {
  const std::uint64_t sequence = p.batch->sequence;
  const redisReply* legacy = got[p.legacy_at].get();
  if (legacy->type != REDIS_REPLY_ARRAY)
    return core::make_error(StoreErrc::corrupt, p.seen_key + " is not a sorted set of sequences");
  Window w;
  if (legacy->elements == 0) {
    w.seen = reply_int(got[1].get()).value_or(0) == 1 && within_window(highest, sequence);
    return w;
  }
  // A store from before the window: the sorted set's sequences join the
  // window (read whole, in the report's WATCH), which replaces it.
  auto held = c.command({"GET", p.window_key});
  if (!held) return std::move(held).error();
  std::string ring = reply_text(held->get());
  ring.resize(kSeenWindow / 8, '\0');
  for (std::size_t i = 0; i < legacy->elements; ++i) {
    const std::string text = reply_text(legacy->element[i]);
    std::uint64_t s = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), s);
    if (ec != std::errc() || end != text.data() + text.size())
      return core::make_error(StoreErrc::corrupt, p.seen_key + " holds " + text + ", not a sequence");
    if (s <= highest) mark_in_window(ring, highest, s);
  }
  w.seen = seen_in_window(ring, highest, sequence);
  w.ring = std::move(ring);
  return w;
}

void mark_window(const Prepared& p, Window& w, std::uint64_t highest, std::vector<Argv>& tx) {
  const std::uint64_t sequence = p.batch->sequence;
  if (w.ring) {
    mark_in_window(*w.ring, highest, sequence);
    tx.push_back({"SET", p.window_key, std::move(*w.ring)});
    tx.push_back({"DEL", p.seen_key});
    return;
  }
  if (below_window(highest, sequence)) return;
  for (auto [from, to] : window_clears(highest, sequence)) {
    if (from == 0 && to == kSeenWindow) {
      tx.push_back({"DEL", p.window_key});
      break;
    }
    for (; from < to && from % 8 != 0; ++from) tx.push_back({"SETBIT", p.window_key, std::to_string(from), "0"});
    for (; to > from && to % 8 != 0; --to) tx.push_back({"SETBIT", p.window_key, std::to_string(to - 1), "0"});
    if (from < to)
      tx.push_back({"SETRANGE", p.window_key, std::to_string(from / 8), std::string((to - from) / 8, '\0')});
  }
  tx.push_back({"SETBIT", p.window_key, std::to_string(sequence % kSeenWindow), "1"});
}

namespace {
Argv wait_command(const Backend& b) {
  return {"WAIT", std::to_string(b.options.wait_replicas), std::to_string(b.options.wait_timeout.count())};
}
}  // namespace

core::Result<Sent> send_exec(const Backend& b, Connection& c, std::vector<Argv>& tx) {
  tx.push_back({"EXEC"});
  const bool wait = b.options.wait_replicas > 0;
  if (wait) tx.push_back(wait_command(b));
  auto done = c.pipeline(tx);
  if (!done) return std::move(done).error();
  return Sent{std::move(*done), wait};
}

core::Status check_wait(const Backend& b, const redisReply* r) {
  if (is_error(r)) return reply_error(r, "wait for replicas");
  const std::int64_t got = reply_int(r).value_or(0);
  if (got >= b.options.wait_replicas) return {};
  return core::make_error(StoreErrc::unavailable,
                          "the report reached " + std::to_string(got) + " of " +
                              std::to_string(b.options.wait_replicas) + " replicas within " +
                              std::to_string(b.options.wait_timeout.count()) + " ms (store_wait_replicas)");
}

core::Result<bool> exec_all(const Backend& b, Connection& c, std::vector<Argv>& tx, std::string_view what,
                            std::atomic<std::uint64_t>* commits) {
  auto sent = send_exec(b, c, tx);
  if (!sent) return std::move(sent).error();
  const redisReply* exec = sent->exec();
  if (is_error(exec)) return reply_error(exec, what);
  if (exec->type != REDIS_REPLY_ARRAY) return false;  // raced with another writer
  for (std::size_t i = 0; i < exec->elements; ++i)
    if (is_error(exec->element[i])) return reply_error(exec->element[i], what);
  if (commits != nullptr) commits->fetch_add(1, std::memory_order_relaxed);
  if (sent->waited)
    if (auto st = check_wait(b, sent->replies.back().get()); !st) return std::move(st).error();
  return true;
}

core::Status plan_cis(const Backend& b, const ReportBatch& batch, std::span<const Reply> held,
                      const std::string* host, std::optional<std::int64_t>& host_seen, std::vector<Argv>& tx,
                      std::vector<AuditRecord>& audit) {
  for (std::size_t i = 0; i < batch.cis.size(); ++i) {
    const CiUpdate& u = batch.cis[i];
    if (const auto seen = plain_sighting(u, held[i].get())) {
      if (host != nullptr && u.id == *host)
        host_seen = std::max(host_seen.value_or(INT64_MIN), u.seen_at_ms);
      else if (u.seen_at_ms > *seen)
        tx.push_back({"HSET", b.key("ci", u.id), "last_seen_ms", i64(u.seen_at_ms)});
      continue;
    }
    auto old = ci_from_hash(u.id, held[i].get());
    if (!old) return std::move(old).error();
    const Ci merged = merge_ci(*old, u);
    if (old->has_value()) {
      // A sighting: only the time it was last seen moves, so that is all
      // that is written, not the CI and its indexes.
      Ci seen = **old;
      seen.last_seen_ms = merged.last_seen_ms;
      if (seen == merged) {
        if (merged.last_seen_ms != (*old)->last_seen_ms)
          tx.push_back({"HSET", b.key("ci", merged.id), "last_seen_ms", i64(merged.last_seen_ms)});
        continue;
      }
    }
    write_ci(b, *old, merged, tx);
    for (AuditRecord& r : audit_ci(*old, merged, u.source, u.actor, u.seen_at_ms)) audit.push_back(std::move(r));
  }
  return {};
}

core::Status fence_duplicate(const Backend& b, Connection& c, const std::string& fence) {
  if (b.options.wait_replicas <= 0) return {};
  auto fenced = c.pipeline({{"UNWATCH"}, {"INCR", fence}, wait_command(b)});
  if (!fenced) return std::move(fenced).error();
  return check_wait(b, fenced->back().get());
}

std::optional<std::int64_t> plain_sighting(const CiUpdate& u, const redisReply* held) {
  if (u.source != "agent") return std::nullopt;  // before reading the hash: nothing else can be one
  const std::map<std::string, std::string> h = hash_of(held);
  if (h.empty()) return std::nullopt;  // a new CI
  const std::optional<CiState> state = ci_state_from(field(h, "state"));
  if (!state || !is_plain_sighting(u, *state, field(h, "attributes"), field(h, "protected"))) return std::nullopt;
  return field_int(h, "last_seen_ms");
}

}  // namespace surveyor::collector::redis
