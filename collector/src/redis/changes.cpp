// SPDX-License-Identifier: Apache-2.0
// Approved change records on Redis.
#include "backend.hpp"

namespace surveyor::collector::redis {

class RedisChangeStore final : public Bound<ChangeStore> {
 public:
  using Bound::Bound;

  core::Result<ChangeRecord> create_change(const ChangeRecord& in) override {
    const ChangeRecord ch = new_change(in);
    return b_->pool.with([&](Connection& c) -> core::Result<ChangeRecord> {
      std::vector<Argv> tx{{"MULTI"},
                           {"HSET", b_->key("change", ch.id), "reference", ch.reference, "start_ms", i64(ch.start_ms),
                            "end_ms", i64(ch.end_ms), "description", ch.description, "origin", ch.origin, "actor", ch.actor,
                            "created_ms", i64(ch.created_ms), "cis", keys_to_json(ch.ci_ids), "impact", ch.impact},
                           {"ZADD", b_->key("changes"), i64(ch.start_ms), ch.id}};
      for (const std::string& id : ch.ci_ids) tx.push_back({"ZADD", b_->key("changes:ci", id), i64(ch.start_ms), ch.id});
      tx.push_back({"EXEC"});
      auto r = c.pipeline(tx);
      if (!r) return std::move(r).error();
      if (is_error(r->back().get())) return reply_error(r->back().get(), "write change");
      return ch;
    });
  }

  core::Result<std::optional<ChangeRecord>> find_change(std::string_view id) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::optional<ChangeRecord>> {
      auto list = load_changes(c, *b_, {std::string(id)});
      if (!list) return std::move(list).error();
      if (list->empty()) return std::optional<ChangeRecord>{};
      return std::optional<ChangeRecord>{std::move(list->front())};
    });
  }

  core::Result<std::vector<ChangeRecord>> list_changes(const ChangeFilter& f) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<ChangeRecord>> {
      const std::string key = f.ci_id.empty() ? b_->key("changes") : b_->key("changes:ci", f.ci_id);
      std::vector<ChangeRecord> out;
      constexpr std::size_t kPage = 500;
      for (std::size_t offset = 0; out.size() < f.limit; offset += kPage) {
        auto ids = c.command({"ZREVRANGE", key, std::to_string(offset), std::to_string(offset + kPage - 1)});
        if (!ids) return std::move(ids).error();
        if (is_error(ids->get())) return reply_error(ids->get(), "list changes");
        const auto page = member_list(ids->get());
        auto list = load_changes(c, *b_, page);
        if (!list) return std::move(list).error();
        for (ChangeRecord& ch : *list) {
          if (ch.end_ms <= f.ends_after_ms) continue;
          out.push_back(std::move(ch));
          if (out.size() == f.limit) break;
        }
        if (page.size() < kPage) break;
      }
      // Same start: by id, as the SQLite store orders them.
      std::stable_sort(out.begin(), out.end(), [](const ChangeRecord& a, const ChangeRecord& b) {
        return a.start_ms != b.start_ms ? a.start_ms > b.start_ms : a.id < b.id;
      });
      return out;
    });
  }
};

std::shared_ptr<store::ChangeStore> make_change_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisChangeStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
