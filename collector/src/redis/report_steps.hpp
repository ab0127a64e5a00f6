// SPDX-License-Identifier: Apache-2.0
// The steps of a report on Redis that its two ways of being applied share
// (reports.cpp: in a group, the store's own keys in one slot;
// host_reports.cpp: alone, on the slot of its host on a spread store):
// its agent's record and window of sequences, and EXEC with WAIT.
#pragma once

#include <atomic>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "report_series.hpp"

namespace surveyor::collector::redis {

// A report's keys, what it WATCHes and reads first, and its series.
struct Prepared {
  const ReportBatch* batch = nullptr;
  // window_key: the agent's window of sequences applied (store::
  // mark_in_window); seen_key: the sorted set of them that stores written
  // before the window kept, moved into the window at the agent's next report.
  std::string window_key, seen_key, agent_key, inventory_key, digests_key;
  bool digests_only = false;
  std::vector<Argv> pre;  // WATCH, then the reads
  std::size_t inventory_at = 0;  // on a host's slot: where pre reads the host's inventory (0: it does not)
  std::size_t legacy_at = 0;
  ReportSeries series;  // read after the rest
};

// The agent's record as a report read it (HMGET last_seen_ms
// last_sequence key_hash ci_id), checked against the report: an unknown
// agent is `invalid`; one whose key or CI changed since the report was
// authenticated is `changed` (with `host` set, also when the CI it names
// is not `host`: the agent is moving to another).
struct AgentState {
  std::int64_t last_seen = 0, last_seq = 0;
  std::uint64_t highest = 0;  // the highest sequence applied
};
core::Result<AgentState> check_agent(const ReportBatch& batch, const redisReply* agent,
                                     const std::string* host = nullptr);
// The write of the agent's record that stores the report.
Argv agent_update(const ReportBatch& batch, const std::string& agent_key, const AgentState& a);

// Whether the report's sequence was applied, from its agent's window (its
// bit, read with the report's reads at 1) or, the agent's sequences not
// yet moved into it (the set read at p.legacy_at), from the window made
// of them here (`ring`).
struct Window {
  bool seen = false;
  std::optional<std::string> ring;
};
core::Result<Window> read_window(Connection& c, const Prepared& p, std::span<const Reply> got, std::uint64_t highest);
// The writes that mark the report's sequence in its agent's window.
void mark_window(const Prepared& p, Window& w, std::uint64_t highest, std::vector<Argv>& tx);

// What send_exec() got back: EXEC's reply, and WAIT's last when the
// store waits for replicas.
struct Sent {
  std::vector<Reply> replies;
  bool waited = false;
  [[nodiscard]] const redisReply* exec() const { return replies[replies.size() - (waited ? 2 : 1)].get(); }
};
// Sends `tx` (MULTI and the writes) with EXEC, then WAIT when reports
// wait for replicas, in one round trip.
core::Result<Sent> send_exec(const Backend& b, Connection& c, std::vector<Argv>& tx);
// send_exec() with its answer checked, for a transaction whose every
// write must succeed: true when it committed (and reached the replicas
// waited for), false when a watched key changed (the caller tries again);
// an error reply is an error naming `what`. `commits`, when given, counts
// the transaction once committed, whether or not the replicas have it.
core::Result<bool> exec_all(const Backend& b, Connection& c, std::vector<Argv>& tx, std::string_view what,
                            std::atomic<std::uint64_t>* commits = nullptr);
// The report is on the master but not yet on enough replicas: it is not
// acknowledged, and the agent's resend is recognised as a duplicate.
core::Status check_wait(const Backend& b, const redisReply* r);
// A duplicate's acknowledgement: the first copy may have been refused for
// want of replicas, so this one waits for them too. A write of this
// connection's own (to `fence`, a key of its master) is the fence: WAIT
// counts replicas that have it, and with it every earlier write.
core::Status fence_duplicate(const Backend& b, Connection& c, const std::string& fence);

// The writes of the report's CI updates (`held`: each one's hash, in
// order) into `tx`, their audit records into `audit`. A sighting writes
// the time last seen alone; when `host` is given, a plain sighting of
// that CI writes nothing but its time into `host_seen`.
core::Status plan_cis(const Backend& b, const ReportBatch& batch, std::span<const Reply> held,
                      const std::string* host, std::optional<std::int64_t>& host_seen, std::vector<Argv>& tx,
                      std::vector<AuditRecord>& audit);

// When `u` is a plain sighting (store::is_plain_sighting) of the CI held
// in `held` (its hash), the time the CI was last seen there: the CI is
// not read whole, nor written but for the time. Nullopt: the caller
// merges the update in full.
std::optional<std::int64_t> plain_sighting(const CiUpdate& u, const redisReply* held);

// On a spread store (host_reports.cpp): the report applied on its own,
// on the slot of `host`, the CI of its agent; `round_trips` and
// `commits` (its EXECs that committed) counted.
core::Result<ApplyResult> apply_on_host(Backend& b, const ReportBatch& batch, const std::string& host,
                                        std::atomic<std::uint64_t>& round_trips, std::atomic<std::uint64_t>& commits);
// On a spread store: the report's series of each CI but `except`, each
// CI's in a transaction on the master of its slot (the series index
// first, on `store`: see plan_series); those of `ci` only checked, not
// written, when `dry`.
core::Status write_series(Backend& b, Connection& store, const ReportBatch& batch,
                          std::optional<std::string_view> except,
                          std::atomic<std::uint64_t>& round_trips);
core::Status write_series_of(Backend& b, Connection& store, const ReportBatch& batch, const std::string& ci, bool dry,
                             std::atomic<std::uint64_t>& round_trips);

}  // namespace surveyor::collector::redis
