// SPDX-License-Identifier: Apache-2.0
// The audit trail on Redis: entries that are only ever added.
#include "backend.hpp"

namespace surveyor::collector::redis {

class RedisAuditStore final : public Bound<AuditStore> {
 public:
  using Bound::Bound;

  core::Result<std::vector<AuditRecord>> list_audit(const AuditFilter& f) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<AuditRecord>> {
      // Alerts have their own set, so asking for them reads only them.
      const std::string key = f.unauthorized ? b_->key("audit:alerts")
                              : f.ci_id.empty() ? b_->key("audit")
                                                : b_->key("audit:ci", f.ci_id);
      const std::string max = f.to_ms == INT64_MAX ? "+inf" : "(" + i64(f.to_ms);
      const std::string min = f.from_ms == INT64_MIN ? "-inf" : i64(f.from_ms);
      std::vector<AuditRecord> out;
      // Pages newest first; filters apply as they come.
      constexpr std::size_t kPage = 1000;
      for (std::size_t offset = 0; out.size() < f.limit; offset += kPage) {
        auto r = c.command({"ZREVRANGEBYSCORE", key, max, min, "LIMIT", std::to_string(offset), std::to_string(kPage)});
        if (!r) return std::move(r).error();
        if (is_error(r->get())) return reply_error(r->get(), "read audit");
        const auto members = member_list(r->get());
        for (const std::string& m : members) {
          auto rec = audit_from_member(m);
          if (!rec) return std::move(rec).error();
          if (!f.kind.empty() && rec->kind != f.kind) continue;
          if (f.unauthorized && !rec->alert) continue;
          if (!f.ci_id.empty() && rec->ci_id != f.ci_id) continue;
          out.push_back(std::move(*rec));
          if (out.size() == f.limit) break;
        }
        if (members.size() < kPage) break;
      }
      return out;
    });
  }

  core::Status walk_audit(std::string_view ci_id,
                          const std::function<core::Status(const AuditRecord&)>& visit) override {
    std::vector<std::string> cis;
    if (!ci_id.empty()) {
      cis.emplace_back(ci_id);
    } else {
      auto listed = b_->pool.with([&](Connection& c) -> core::Result<std::vector<std::string>> {
        auto r = c.command({"SMEMBERS", b_->key("audit:chains")});
        if (!r) return std::move(r).error();
        if (is_error(r->get())) return reply_error(r->get(), "read the audit chains");
        return member_list(r->get());
      });
      if (!listed) return std::move(listed).error();
      cis = std::move(*listed);
      std::sort(cis.begin(), cis.end());
    }
    for (const std::string& ci : cis) {
      // A CI's entries are held whole to be put in seq order (they are
      // scored by time): one CI at a time.
      auto entries = b_->pool.with([&](Connection& c) -> core::Result<std::vector<AuditRecord>> {
        std::vector<AuditRecord> out;
        constexpr std::size_t kPage = 1000;
        for (std::size_t offset = 0;; offset += kPage) {
          auto r = c.command({"ZRANGE", b_->key("audit:ci", ci), std::to_string(offset), std::to_string(offset + kPage - 1)});
          if (!r) return std::move(r).error();
          if (is_error(r->get())) return reply_error(r->get(), "read audit");
          const auto members = member_list(r->get());
          for (const std::string& m : members) {
            auto rec = audit_from_member(m);
            if (!rec) return std::move(rec).error();
            out.push_back(std::move(*rec));
          }
          if (members.size() < kPage) break;
        }
        return out;
      });
      if (!entries) return std::move(entries).error();
      std::sort(entries->begin(), entries->end(),
                [](const AuditRecord& a, const AuditRecord& b) { return std::tie(a.seq, a.id) < std::tie(b.seq, b.id); });
      for (const AuditRecord& r : *entries)
        if (auto st = visit(r); !st) return st;
    }
    return {};
  }
};

std::shared_ptr<store::AuditStore> make_audit_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisAuditStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
