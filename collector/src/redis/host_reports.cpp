// SPDX-License-Identifier: Apache-2.0
// A report on a store spread over a Redis Cluster (backend.hpp, host_key):
// applied on its own, in one transaction on the master of its host's
// slot, which holds the agent's record and window of sequences, the time
// the agent last saw its host's CI, the host's inventory and its digests,
// and the host's series. The CIs the report names are in the store's own
// slot, read there first, unwatched. Most reports only sight their host,
// which is then a time written on the host's slot. One that changes
// anything there (a CI's attributes, the host's components, the audit
// records of a change of its inventory) writes that first, in a
// transaction of its own on the store's master, then its host's: a
// collector that stops in between has not acknowledged the report, and
// when it comes again what was written is found as it is, written no
// more (merges and plans are idempotent; the inventory's audit records
// are known written by a mark of the report's sequence beside them), and
// the report is marked. The series of CIs other than the host (none,
// from agents) are written first too, each CI's on the master of its
// slot.
#include "report_steps.hpp"

#include <algorithm>
#include <climits>

namespace surveyor::collector::redis {

namespace {

// The host's inventory, in its slot, as the report's reads there found
// it; or, when none is there, as a collector of before 2026-12-06 left it
// in the store's slot (`moving`: written whole to the host's slot by the
// report, then deleted from the store's).
struct HostInventory {
  std::vector<InventorySection> held;
  bool moving = false;
};

// What the report writes in the store's own slot, from what it read there.
struct Own {
  std::vector<Argv> writes;              // MULTI's body
  std::optional<std::int64_t> sighted;   // a plain sighting of the host's CI: its time
  std::vector<InventorySection> inventory;  // as it stands after the report, when it carries sections
  std::vector<InventorySection> inventory_writes;  // the sections to write in the host's slot
  std::string audited_key;  // the mark of the inventory's audit records written, to delete once applied
  bool stale = false;  // the agent changed since the report read it: the report is applied again
  bool wrote = false;  // `writes` committed
};

// Whether the report changes nothing in the store's slot unless a CI it
// names differs from the update: no inventory sections, no components.
bool plain(const ReportBatch& batch) { return batch.sections.empty() && !batch.components; }

// The store's reads that come before the host's: the CIs a plain report
// names (unwatched), then the agent's epoch (agents.cpp: revocations, new
// keys and moves count it up). What changes the agent after them is seen
// by the host's WATCH, or by the epoch when the store's part is written.
// Last, whether the store's slot still holds inventory digests of the
// host, as stores kept them before the agents spread (then moved by the
// report that finds none in the host's slot).
std::vector<Argv> early_reads(const Backend& b, const ReportBatch& batch) {
  std::vector<Argv> pre;
  if (plain(batch))
    for (const CiUpdate& u : batch.cis) pre.push_back({"HGETALL", b.key("ci", u.id)});
  pre.push_back({"GET", b.key("agent-epoch", batch.agent_id)});
  pre.push_back(batch.inventory_ci_id.empty() ? Argv{"PING"}
                                              : Argv{"EXISTS", b.key("inventory-digests", batch.inventory_ci_id)});
  return pre;
}

// Plans the report's writes in the store's slot from the CIs it names
// and, when it carries sections, the inventory: those read now, WATCHed
// with the agent's epoch (which must still be `epoch`), or, when `read`
// is given, a plain report's early reads. Audit records only when
// WATCHed (unwatched, a write planned means: again, WATCHed). With
// `on_host` the inventory is the host's, in its slot: planned from that,
// its sections left for the host's transaction, and its audit records
// written with a mark of the report's sequence, or not at all when the
// mark is there (the report came again after that transaction).
core::Result<Own> plan_own(Backend& b, Connection& c, const ReportBatch& batch, const std::string& host,
                           const std::string& epoch, std::vector<Reply>* read, const HostInventory* on_host) {
  const bool whole = !batch.inventory_ci_id.empty() && !plain(batch);
  const bool here = whole && on_host == nullptr;  // the inventory in the store's slot
  const std::string inventory_key = here ? b.key("inventory", batch.inventory_ci_id) : std::string();
  const std::string audited_key = whole && !here ? b.key("inventory-audited", batch.agent_id) : std::string();
  const std::string sequence = std::to_string(batch.sequence);
  const std::string epoch_key = b.key("agent-epoch", batch.agent_id);
  Own own;
  std::vector<Reply> got;
  if (read != nullptr) {
    got = std::move(*read);
  } else {
    std::vector<Argv> pre{{"WATCH", epoch_key}};
    for (const CiUpdate& u : batch.cis) pre.front().push_back(b.key("ci", u.id));
    if (here) pre.front().push_back(inventory_key);
    if (!audited_key.empty()) pre.front().push_back(audited_key);
    for (const CiUpdate& u : batch.cis) pre.push_back({"HGETALL", b.key("ci", u.id)});
    if (here) pre.push_back({"HGETALL", inventory_key});
    if (!audited_key.empty()) pre.push_back({"GET", audited_key});
    pre.push_back({"GET", epoch_key});
    auto r = c.pipeline(pre);
    if (!r) return std::move(r).error();
    got = std::move(*r);
    if (reply_text(got.back().get()) != epoch) {
      own.stale = true;
      return own;
    }
    got.erase(got.begin());  // WATCH's
  }
  for (const Reply& rep : got)
    if (is_error(rep.get())) return reply_error(rep.get(), "apply report");
  std::vector<AuditRecord> audit;
  if (auto st = plan_cis(b, batch, std::span<const Reply>(got).first(batch.cis.size()), &host, own.sighted,
                         own.writes, audit);
      !st)
    return std::move(st).error();
  if (batch.components) {
    auto comp = read_components(c, b, batch.inventory_ci_id, *batch.components, batch.received_at_ms);
    if (!comp) return std::move(comp).error();
    write_components(b, *comp, batch.received_at_ms, own.writes, audit);
  }
  if (here) {
    auto held = inventory_from_hash(got[batch.cis.size()].get());
    if (!held) return std::move(held).error();
    InventoryPlan plan = plan_inventory(batch.inventory_ci_id, std::move(*held), batch.sections, batch.received_at_ms);
    for (const InventorySection& s : plan.writes) own.writes.push_back({"HSET", inventory_key, s.name, section_record(s)});
    for (AuditRecord& r : plan.audit) audit.push_back(std::move(r));
    own.inventory = std::move(plan.after);
  } else if (whole) {
    InventoryPlan plan = plan_inventory(batch.inventory_ci_id, on_host->held, batch.sections, batch.received_at_ms);
    own.inventory_writes = on_host->moving ? plan.after : std::move(plan.writes);
    if (reply_text(got[batch.cis.size()].get()) == sequence) {
      own.audited_key = audited_key;  // written by this report before
    } else if (!plan.audit.empty()) {
      own.writes.push_back({"SET", audited_key, sequence});
      own.audited_key = audited_key;
      for (AuditRecord& r : plan.audit) audit.push_back(std::move(r));
    }
    own.inventory = std::move(plan.after);
  }
  if (read == nullptr)
    if (auto st = add_audit(c, b, std::move(audit), own.writes); !st) return std::move(st).error();
  return own;
}

// The report's writes in the store's own slot, committed (see the top of
// this file). A plain report that writes nothing there (a sighting) is
// planned from its early reads (`read`). When reports wait for replicas,
// one that writes nothing there waits for them all the same: its first
// copy may have written there and not reached them.
core::Result<Own> apply_own(Backend& b, Connection& c, const ReportBatch& batch, const std::string& host,
                            const std::string& epoch, std::vector<Reply>* read, const HostInventory* on_host) {
  auto own = [&]() -> core::Result<Own> {
    if (read != nullptr) {
      auto planned = plan_own(b, c, batch, host, epoch, read, on_host);
      if (!planned || planned->writes.empty()) return planned;
    }
    return optimistic<Own>(c, "report", [&]() -> core::Result<std::optional<Own>> {
      auto planned = plan_own(b, c, batch, host, epoch, nullptr, on_host);
      if (!planned) return std::move(planned).error();
      if (planned->stale || planned->writes.empty()) return std::optional<Own>{std::move(*planned)};
      std::vector<Argv> tx{{"MULTI"}};
      for (const Argv& a : planned->writes) tx.push_back(a);
      auto done = exec_all(b, c, tx, "apply report");
      if (!done) return std::move(done).error();
      if (!*done) return std::optional<Own>{};  // raced with another writer
      planned->wrote = true;
      return std::optional<Own>{std::move(*planned)};
    });
  }();
  if (own && !own->stale && !own->wrote)
    if (auto st = fence_duplicate(b, c, b.key("replication-fence")); !st) return std::move(st).error();
  return own;
}

// Whether the report's inventory is its host's, kept in the host's slot
// (only the stores' own callers report for another CI than the agent's).
bool inventory_on_host(const ReportBatch& batch, const std::string& host) {
  return !plain(batch) && batch.inventory_ci_id == host;
}

// The report's reads on its host's slot (WATCHed): its agent's window,
// record and older set of sequences, the host's inventory digests and
// sighting, the host's inventory when the report carries sections, and
// the host's series.
Prepared prepare_on_host(const Backend& b, const ReportBatch& batch, const std::string& host) {
  Prepared p;
  p.batch = &batch;
  p.window_key = b.host_key("window", host, batch.agent_id);
  p.seen_key = b.host_key("seen", host, batch.agent_id);
  p.agent_key = b.host_key("agent", host, batch.agent_id);
  // The digests of the inventory the host's agent reports (its CI's, but
  // for stores' own callers), in the host's slot.
  p.digests_key =
      batch.inventory_ci_id.empty() ? std::string() : b.host_key("inventory-digests", host, batch.inventory_ci_id);
  p.digests_only = plain(batch);
  const std::string sighted = b.host_key("sighted", host);
  Argv watch{"WATCH", p.window_key, p.seen_key, p.agent_key, sighted};
  if (!p.digests_key.empty()) watch.push_back(p.digests_key);
  p.pre.push_back(std::move(watch));
  p.pre.push_back({"GETBIT", p.window_key, std::to_string(batch.sequence % kSeenWindow)});
  p.pre.push_back({"HMGET", p.agent_key, "last_seen_ms", "last_sequence", "key_hash", "ci_id"});
  p.pre.push_back(p.digests_key.empty() ? Argv{"PING"} : Argv{"HGETALL", p.digests_key});
  p.pre.push_back({"GET", sighted});
  if (inventory_on_host(batch, host)) {
    p.inventory_key = b.host_key("inventory", host, batch.inventory_ci_id);
    p.pre.front().push_back(p.inventory_key);
    p.inventory_at = p.pre.size();
    p.pre.push_back({"HGETALL", p.inventory_key});
  }
  p.legacy_at = p.pre.size();
  p.pre.push_back({"ZRANGE", p.seen_key, "0", "-1"});
  p.series.batch = &batch;
  add_series_reads(b, p.series, p.pre, host);
  return p;
}

// The host's inventory for a report that carries sections, from its
// reads on the host's slot (`got`), or from the store's slot when none is
// there (left there by an older collector, or another CI's).
core::Result<HostInventory> host_inventory(Backend& b, Connection& store, const Prepared& p,
                                           std::span<const Reply> got) {
  HostInventory inv;
  if (p.inventory_at != 0) {
    auto held = inventory_from_hash(got[p.inventory_at].get());
    if (!held) return std::move(held).error();
    inv.held = std::move(*held);
    if (!inv.held.empty()) return inv;
  }
  auto r = store.command({"HGETALL", b.key("inventory", p.batch->inventory_ci_id)});
  if (!r) return std::move(r).error();
  auto held = inventory_from_hash(r->get());
  if (!held) return std::move(held).error();
  inv.held = std::move(*held);
  inv.moving = p.inventory_at != 0 && !inv.held.empty();
  return inv;
}

core::Result<std::optional<ApplyResult>> attempt(Backend& b, Connection& store, Connection& c,
                                                 const ReportBatch& batch, const std::string& host,
                                                 std::atomic<std::uint64_t>& commits) {
  using Out = std::optional<ApplyResult>;
  Prepared p = prepare_on_host(b, batch, host);
  auto early = store.pipeline(early_reads(b, batch));
  if (!early) return std::move(early).error();
  for (const Reply& rep : *early)
    if (is_error(rep.get())) return reply_error(rep.get(), "apply report");
  const bool old_digests_held = reply_int(early->back().get()).value_or(0) == 1;
  early->pop_back();
  const std::string epoch = reply_text(early->back().get());
  early->pop_back();
  auto got = c.pipeline(p.pre);
  if (!got) return std::move(got).error();
  for (const Reply& rep : *got)
    if (is_error(rep.get())) return reply_error(rep.get(), "apply report");
  // A store whose digests were in its own slot (before the agents spread):
  // they are read there once, and moved to the host's slot by this report.
  const std::string old_digests = b.key("inventory-digests", batch.inventory_ci_id);
  Reply moved_digests;
  if (old_digests_held && !p.digests_key.empty() && (*got)[3]->type == REDIS_REPLY_ARRAY &&
      (*got)[3]->elements == 0) {
    auto r = store.command({"HGETALL", old_digests});
    if (!r) return std::move(r).error();
    if (is_error(r->get())) return reply_error(r->get(), "apply report");
    if (r->get()->type == REDIS_REPLY_ARRAY && r->get()->elements > 0) {
      moved_digests = std::move(*r);
      (*got)[3].swap(moved_digests);  // read as the host's from here on; the empty reply is kept
    }
  }
  auto agent = check_agent(batch, (*got)[2].get(), &host);
  if (!agent) return std::move(agent).error();
  auto window = read_window(c, p, *got, agent->highest);
  if (!window) return std::move(window).error();
  ApplyResult result;
  const bool with_inventory = !p.digests_key.empty();
  std::optional<HostInventory> whole;  // a report that carries sections: its host's inventory
  if (with_inventory && !p.digests_only) {
    auto inv = host_inventory(b, store, p, *got);
    if (!inv) return std::move(inv).error();
    whole = std::move(*inv);
  }
  if (window->seen) {
    if (auto st = fence_duplicate(b, c, b.host_key("replication-fence", host)); !st) return std::move(st).error();
    result.outcome = ApplyOutcome::duplicate;
    if (whole) {
      result.inventory = std::move(whole->held);
    } else if (with_inventory) {
      auto inv = inventory_from_hash((*got)[3].get());
      if (!inv) return std::move(inv).error();
      result.inventory = std::move(*inv);
    }
    return Out{std::move(result)};
  }
  // The host's series are planned (a limit may refuse the report) before
  // anything is written.
  std::vector<Argv> tx{{"MULTI"}}, indexes;
  if (auto st = plan_series(c, b, p.series, *got, tx, indexes); !st) return std::move(st).error();
  auto own = apply_own(b, store, batch, host, epoch, plain(batch) ? &*early : nullptr,
                       p.inventory_at != 0 ? &*whole : nullptr);
  if (!own) return std::move(own).error();
  if (own->stale) return Out{};  // the agent changed: read it again
  if (!indexes.empty()) {  // may name a series not yet written, never miss one
    auto added = store.pipeline(indexes);
    if (!added) return std::move(added).error();
    for (const Reply& rep : *added)
      if (is_error(rep.get())) return reply_error(rep.get(), "index the series of " + host);
  }
  tx.push_back(agent_update(batch, p.agent_key, *agent));
  if (own->sighted && *own->sighted > reply_int((*got)[4].get()).value_or(INT64_MIN))
    tx.push_back({"SET", b.host_key("sighted", host), i64(*own->sighted)});
  for (const InventorySection& s : own->inventory_writes)
    tx.push_back({"HSET", p.inventory_key, s.name, section_record(s)});
  if (with_inventory && !p.digests_only) {
    // Rewritten whole from the inventory as it stands after the report.
    tx.push_back({"DEL", p.digests_key});
    Argv digests{"HSET", p.digests_key};
    for (InventorySection s : own->inventory) {
      s.data_json.clear();
      digests.push_back(s.name);
      digests.push_back(section_record(s));
    }
    if (digests.size() > 2) tx.push_back(std::move(digests));
    result.inventory = std::move(own->inventory);
  } else if (with_inventory) {
    auto inv = inventory_from_hash((*got)[3].get());
    if (!inv) return std::move(inv).error();
    if (moved_digests) {
      Argv digests{"HSET", p.digests_key};
      for (const std::string& x : member_list((*got)[3].get())) digests.push_back(x);
      tx.push_back(std::move(digests));
    }
    result.inventory = std::move(*inv);
  }
  mark_window(p, *window, agent->highest, tx);
  auto done = exec_all(b, c, tx, "apply report", &commits);
  if (!done) return std::move(done).error();
  if (!*done) return Out{};  // raced with another writer: again
  // In the host's slot now; and a report that rewrote the host's digests
  // leaves none of the store's to move back later. The mark of the
  // inventory's audit records is done with: this report is known now.
  Argv done_with{"DEL"};
  if (moved_digests || (old_digests_held && !p.digests_only)) done_with.push_back(old_digests);
  if (whole && whole->moving) done_with.push_back(b.key("inventory", batch.inventory_ci_id));
  if (!own->audited_key.empty()) done_with.push_back(own->audited_key);
  if (done_with.size() > 1) {
    auto r = store.command(done_with);
    if (!r) return std::move(r).error();
    if (is_error(r->get())) return reply_error(r->get(), "apply report");
  }
  return Out{std::move(result)};
}

}  // namespace

core::Result<ApplyResult> apply_on_host(Backend& b, const ReportBatch& batch, const std::string& host,
                                        std::atomic<std::uint64_t>& round_trips,
                                        std::atomic<std::uint64_t>& commits) {
  // The store's connection first, then the host's: the order every
  // report takes both in (write_series too), so none waits on another.
  return b.pool.with([&](Connection& store) -> core::Result<ApplyResult> {
    // Series of other CIs (never an agent's: the stores' own callers') go
    // first, each on its CI's slot, once the agent is known to report
    // for this host. A connection of each pool at a time.
    if (std::any_of(batch.series.begin(), batch.series.end(), [&](const auto& s) { return s.first.key.ci_id != host; })) {
      auto known = b.with_host(host, [&](Connection& c) -> core::Status {
        auto r = c.command({"HMGET", b.host_key("agent", host, batch.agent_id), "last_seen_ms", "last_sequence",
                            "key_hash", "ci_id"});
        if (!r) return std::move(r).error();
        if (is_error(r->get())) return reply_error(r->get(), "apply report");
        auto agent = check_agent(batch, r->get(), &host);
        if (!agent) return std::move(agent).error();
        return {};
      });
      if (!known) return std::move(known).error();
      if (auto st = write_series(b, store, batch, host, round_trips); !st) return std::move(st).error();
    }
    return b.with_host(host, [&](Connection& c) -> core::Result<ApplyResult> {
      const std::uint64_t before = c.round_trips() + store.round_trips();
      auto r = optimistic<ApplyResult>(
          c, "report", [&] { return attempt(b, store, c, batch, host, commits); });
      round_trips.fetch_add(c.round_trips() + store.round_trips() - before, std::memory_order_relaxed);
      return r;
    });
  });
}

core::Status write_series(Backend& b, Connection& store, const ReportBatch& batch,
                          std::optional<std::string_view> except,
                          std::atomic<std::uint64_t>& round_trips) {
  std::set<std::string> cis;
  for (const auto& entry : batch.series)
    if (entry.first.key.ci_id != except) cis.insert(entry.first.key.ci_id);
  // A report refused for a CI's series limit writes nothing: with several
  // CIs, every limit is checked before the first is written.
  for (int pass = (cis.size() > 1 && batch.max_series > 0) ? 0 : 1; pass < 2; ++pass)
    for (const std::string& ci : cis)
      if (auto st = write_series_of(b, store, batch, ci, pass == 0, round_trips); !st) return st;
  return {};
}

core::Status write_series_of(Backend& b, Connection& store, const ReportBatch& batch, const std::string& ci, bool dry,
                             std::atomic<std::uint64_t>& round_trips) {
  return b.with_ci(ci, [&](Connection& c) -> core::Status {
    const std::uint64_t before = c.round_trips();
    auto r = optimistic<bool>(c, "series of " + ci, [&]() -> core::Result<std::optional<bool>> {
      ReportSeries q;
      q.batch = &batch;
      std::vector<Argv> pre;
      add_series_reads(b, q, pre, ci);
      auto got = c.pipeline(pre);
      if (!got) return std::move(got).error();
      for (const Reply& rep : *got)
        if (is_error(rep.get())) return reply_error(rep.get(), "read the series of " + ci);
      std::vector<Argv> tx{{"MULTI"}}, indexes;
      if (auto st = plan_series(c, b, q, *got, tx, indexes); !st) return std::move(st).error();
      if (dry) return std::optional<bool>(true);
      if (tx.size() == 1) {  // all held: perhaps by a first copy that did not reach the replicas
        if (auto st = fence_duplicate(b, c, b.ci_key("replication-fence", ci)); !st) return std::move(st).error();
        return std::optional<bool>(true);
      }
      if (!indexes.empty()) {
        auto added = store.pipeline(indexes);
        if (!added) return std::move(added).error();
        for (const Reply& rep : *added)
          if (is_error(rep.get())) return reply_error(rep.get(), "index the series of " + ci);
      }
      auto done = exec_all(b, c, tx, "write the series of " + ci);
      if (!done) return std::move(done).error();
      if (!*done) return std::optional<bool>{};  // raced with another writer
      return std::optional<bool>(true);
    });
    round_trips.fetch_add(c.round_trips() - before, std::memory_order_relaxed);
    if (!r) return std::move(r).error();
    return {};
  });
}

}  // namespace surveyor::collector::redis
