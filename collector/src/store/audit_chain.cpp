// SPDX-License-Identifier: Apache-2.0
// The audit trail's hash chains: what an entry's hash covers, chaining new
// entries onto each CI's head, and checking chains against their entries and
// an earlier checkpoint.
#include <map>
#include <string>

#include "surveyor/collector/store/audit.hpp"
#include "surveyor/core/crypto.hpp"

namespace surveyor::collector::store {
namespace {

void netstring(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += ',';
}

}  // namespace

std::string audit_entry_bytes(const AuditRecord& r) {
  std::string out = "surveyor-audit-1\n";
  out.reserve(out.size() + 160 + r.old_value.size() + r.new_value.size() + r.key.size());
  netstring(out, std::to_string(r.seq));
  netstring(out, r.prev_hash);
  netstring(out, std::to_string(r.time_ms));
  netstring(out, r.ci_id);
  netstring(out, r.kind);
  netstring(out, r.key);
  netstring(out, r.old_value);
  netstring(out, r.new_value);
  netstring(out, r.origin);
  netstring(out, r.actor);
  netstring(out, r.change_id);
  netstring(out, r.unauthorized ? "1" : "0");
  netstring(out, r.alert ? "1" : "0");
  return out;
}

std::string audit_entry_hash(const AuditRecord& r) { return core::sha256_hex(audit_entry_bytes(r)); }

core::Status chain_audit(std::vector<AuditRecord>& records,
                         const std::function<core::Result<AuditLink>(std::string_view ci_id)>& head) {
  std::map<std::string, AuditLink, std::less<>> heads;
  for (AuditRecord& r : records) {
    auto it = heads.find(r.ci_id);
    if (it == heads.end()) {
      auto h = head(r.ci_id);
      if (!h) return std::move(h).error();
      it = heads.emplace(r.ci_id, std::move(*h)).first;
    }
    r.seq = it->second.seq + 1;
    r.prev_hash = it->second.hash;
    r.hash = audit_entry_hash(r);
    it->second = {r.seq, r.hash};
  }
  return {};
}

std::string audit_heads_digest(const AuditHeads& heads) {
  std::string lines;
  for (const auto& [ci, link] : heads) lines += ci + " " + std::to_string(link.seq) + " " + link.hash + "\n";
  return core::sha256_hex(lines);
}

void AuditChainCheck::broken(const AuditRecord* r, std::string ci, std::int64_t seq, std::string reason) {
  if (first_break) return;
  first_break = AuditBreak{std::move(ci), seq, r ? r->id : std::string(), std::move(reason)};
}

void AuditChainCheck::end_chain() {
  if (!in_chain_) return;
  in_chain_ = false;
  if (last_.seq > 0) heads[ci_] = last_;
  auto cp = checkpoint_.find(ci_);
  if (cp != checkpoint_.end() && !passed_checkpoint_ && cp->second.seq > last_.seq)
    broken(nullptr, ci_, last_.seq + 1,
           "the chain ends at entry " + std::to_string(last_.seq) + " but the checkpoint holds entry " +
               std::to_string(cp->second.seq) + ": entries were removed");
}

void AuditChainCheck::add(const AuditRecord& r) {
  if (!in_chain_ || r.ci_id != ci_) {
    end_chain();
    ci_ = r.ci_id;
    in_chain_ = true;
    last_ = {};
    passed_checkpoint_ = false;
    ++cis;
  }
  if (r.seq == 0) {
    ++unchained;
    return;
  }
  ++entries;
  const std::int64_t expected = last_.seq + 1;
  if (r.seq < expected) {
    broken(&r, r.ci_id, r.seq, "entry " + std::to_string(r.seq) + " is there twice");
  } else if (r.seq > expected) {
    broken(&r, r.ci_id, expected,
           r.seq == expected + 1 ? "entry " + std::to_string(expected) + " is missing"
                                 : "entries " + std::to_string(expected) + " to " + std::to_string(r.seq - 1) +
                                       " are missing");
  } else if (r.prev_hash != last_.hash) {
    broken(&r, r.ci_id, r.seq, "does not carry the hash of the entry before it");
  } else if (audit_entry_hash(r) != r.hash) {
    broken(&r, r.ci_id, r.seq, "its content does not match its hash: it was changed after it was written");
  }
  auto cp = checkpoint_.find(r.ci_id);
  if (cp != checkpoint_.end() && r.seq == cp->second.seq) {
    passed_checkpoint_ = true;
    if (r.hash != cp->second.hash)
      broken(&r, r.ci_id, r.seq, "differs from the checkpoint's entry " + std::to_string(r.seq) + ": the chain was rewritten");
  }
  // Carry on from this entry, so one fault is reported once.
  last_ = {std::max(r.seq, last_.seq), r.hash};
}

void AuditChainCheck::finish() {
  end_chain();
  for (const auto& [ci, link] : checkpoint_)
    if (heads.find(ci) == heads.end())
      broken(nullptr, ci, 1,
             "no entries left, but the checkpoint holds entry " + std::to_string(link.seq) + ": the chain was removed");
}

}  // namespace surveyor::collector::store
