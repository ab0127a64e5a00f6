// SPDX-License-Identifier: Apache-2.0
// Incidents and the webhook delivery log on Redis.
#include "backend.hpp"

namespace surveyor::collector::redis {

// Incidents: "incident:ID" holds the JSON document, "incident:key:KEY" the id
// of the newest incident of a dedup key, "incidents:opened" orders them by
// opening time and "incidents:active" holds the open and acknowledged ones.
// An update WATCHes the key's pointer and the incident, and retries if
// another collector wrote either in between.
class RedisIncidentStore final : public Bound<IncidentStore> {
 public:
  using Bound::Bound;

  core::Result<std::optional<Incident>> update_incident_by_key(std::string_view key, const Change& change) override {
    return update(key, {}, change);
  }

  core::Result<std::optional<Incident>> update_incident(std::string_view id, const Change& change) override {
    return update({}, id, change);
  }

  core::Result<std::optional<Incident>> find_incident(std::string_view id) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::optional<Incident>> {
      auto r = c.command({"GET", b_->key("incident", id)});
      if (!r) return std::move(r).error();
      return parse(r->get());
    });
  }

  core::Result<std::vector<Incident>> list_incidents(const IncidentFilter& f) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Incident>> {
      std::vector<Incident> out;
      auto keep = [&](const Incident& i) {
        if (!f.states.empty() && std::find(f.states.begin(), f.states.end(), i.state) == f.states.end()) return false;
        if (f.kind && i.kind != *f.kind) return false;
        if (!f.subject.empty() && i.subject != f.subject) return false;
        return i.priority <= f.max_priority && i.opened_ms >= f.opened_from_ms && i.opened_ms < f.opened_to_ms;
      };
      auto load = [&](const redisReply* ids) -> core::Status {
        if (is_error(ids)) return reply_error(ids, "list incidents");
        Argv mget{"MGET"};
        for (std::size_t i = 0; ids->type == REDIS_REPLY_ARRAY && i < ids->elements; ++i)
          mget.push_back(b_->key("incident", reply_text(ids->element[i])));
        if (mget.size() == 1) return {};
        auto docs = c.command(mget);
        if (!docs) return std::move(docs).error();
        for (std::size_t i = 0; (*docs)->type == REDIS_REPLY_ARRAY && i < (*docs)->elements; ++i) {
          auto inc = parse((*docs)->element[i]);
          if (!inc) return std::move(inc).error();
          if (*inc && keep(**inc)) out.push_back(std::move(**inc));
        }
        return {};
      };
      const bool active_only = !f.states.empty() && std::all_of(f.states.begin(), f.states.end(), is_active);
      if (active_only) {
        auto ids = c.command({"SMEMBERS", b_->key("incidents:active")});
        if (!ids) return std::move(ids).error();
        if (auto st = load(ids->get()); !st) return std::move(st).error();
        std::sort(out.begin(), out.end(), [](const Incident& a, const Incident& b) {
          return std::tie(a.opened_ms, a.id) > std::tie(b.opened_ms, b.id);
        });
        if (out.size() > f.limit) out.resize(f.limit);
        return out;
      }
      // Newest first, a page at a time, until the limit is filled.
      const std::string max = f.opened_to_ms == INT64_MAX ? "+inf" : "(" + i64(f.opened_to_ms);
      const std::string min = f.opened_from_ms == INT64_MIN ? "-inf" : i64(f.opened_from_ms);
      constexpr std::size_t kPage = 500;
      for (std::size_t offset = 0; out.size() < f.limit; offset += kPage) {
        auto ids = c.command({"ZREVRANGEBYSCORE", b_->key("incidents:opened"), max, min, "LIMIT",
                              std::to_string(offset), std::to_string(kPage)});
        if (!ids) return std::move(ids).error();
        const std::size_t got = (*ids)->type == REDIS_REPLY_ARRAY ? (*ids)->elements : 0;
        if (auto st = load(ids->get()); !st) return std::move(st).error();
        if (got < kPage) break;
      }
      if (out.size() > f.limit) out.resize(f.limit);
      return out;
    });
  }

  core::Status record_delivery(const Delivery& d) override {
    return b_->pool.with([&](Connection& c) -> core::Status {
      json::array ids;
      for (const std::string& i : d.incidents) ids.push_back(json::string(i));
      const std::string doc = json::serialize(json::object{{"time_ms", d.time_ms},
                                                           {"webhook", d.webhook},
                                                           {"message_id", d.message_id},
                                                           {"incidents", std::move(ids)},
                                                           {"attempt", d.attempt},
                                                           {"status", d.status},
                                                           {"error", d.error},
                                                           {"delivered", d.delivered}});
      auto r = c.pipeline({{"LPUSH", b_->key("deliveries"), doc}, {"LTRIM", b_->key("deliveries"), "0", std::to_string(kDeliveryLogSize - 1)}});
      if (!r) return std::move(r).error();
      if (is_error((*r)[0].get())) return reply_error((*r)[0].get(), "write delivery");
      return {};
    });
  }

  core::Result<std::vector<Delivery>> list_deliveries(std::size_t limit) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<Delivery>> {
      if (limit == 0) return std::vector<Delivery>{};
      auto r = c.command({"LRANGE", b_->key("deliveries"), "0", std::to_string(std::min(limit, kDeliveryLogSize) - 1)});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read deliveries");
      std::vector<Delivery> out;
      for (std::size_t i = 0; (*r)->type == REDIS_REPLY_ARRAY && i < (*r)->elements; ++i) {
        boost::system::error_code ec;
        json::value v = json::parse(reply_text((*r)->element[i]), ec);
        if (ec || !v.is_object()) return core::make_error(StoreErrc::corrupt, "stored delivery is not JSON");
        try {
          const json::object& o = v.get_object();
          Delivery d;
          d.time_ms = o.at("time_ms").to_number<std::int64_t>();
          d.webhook = std::string(o.at("webhook").as_string());
          d.message_id = std::string(o.at("message_id").as_string());
          for (const json::value& id : o.at("incidents").as_array()) d.incidents.emplace_back(id.as_string());
          d.attempt = o.at("attempt").to_number<int>();
          d.status = o.at("status").to_number<int>();
          d.error = std::string(o.at("error").as_string());
          d.delivered = o.at("delivered").as_bool();
          out.push_back(std::move(d));
        } catch (const std::exception& e) {
          return core::make_error(StoreErrc::corrupt, std::string("stored delivery: ") + e.what());
        }
      }
      return out;
    });
  }

 private:
  static core::Result<std::optional<Incident>> parse(const redisReply* r) {
    if (is_error(r)) return reply_error(r, "read incident");
    if (r->type == REDIS_REPLY_NIL) return std::optional<Incident>{};
    auto i = incident_from_json(reply_text(r));
    if (!i) return std::move(i).error();
    return std::optional<Incident>{std::move(*i)};
  }

  // By dedup key (`id` empty) or by id.
  core::Result<std::optional<Incident>> update(std::string_view key, std::string_view id_in, const Change& change) {
    // The outcome is itself optional (nullopt: `change` wanted no write), so
    // an attempt returns it wrapped once more; nullopt there means "retry".
    using Outcome = std::optional<Incident>;
    return b_->pool.with([&](Connection& c) {
      return optimistic<Outcome>(c, "incident", [&]() -> core::Result<std::optional<Outcome>> {
        std::string id(id_in);
        if (id.empty()) {
          auto pre = c.pipeline({{"WATCH", b_->key("incident:key", key)}, {"GET", b_->key("incident:key", key)}});
          if (!pre) return std::move(pre).error();
          if (is_error((*pre)[1].get())) return reply_error((*pre)[1].get(), "read incident key");
          id = reply_text((*pre)[1].get());
        }
        std::optional<Incident> old;
        if (!id.empty()) {
          auto pre = c.pipeline({{"WATCH", b_->key("incident", id)}, {"GET", b_->key("incident", id)}});
          if (!pre) return std::move(pre).error();
          auto got = parse((*pre)[1].get());
          if (!got) return std::move(got).error();
          old = std::move(*got);
        }
        bool fresh = false;
        auto updated = incident_update(old, id_in, change, [&]() -> core::Result<std::int64_t> {
          fresh = true;
          auto n = c.command({"INCR", b_->key("incidents:seq")});
          if (!n) return std::move(n).error();
          if (!reply_int(n->get())) return reply_error(n->get(), "number incident");
          return *reply_int(n->get());
        });
        if (!updated) return std::move(updated).error();
        if (!*updated) return std::optional<Outcome>(Outcome{});
        std::optional<Incident>& next = *updated;
        std::vector<Argv> tx{{"MULTI"},
                             {"SET", b_->key("incident", next->id), incident_to_json(*next)},
                             {"ZADD", b_->key("incidents:opened"), i64(next->opened_ms), next->id},
                             {is_active(next->state) ? "SADD" : "SREM", b_->key("incidents:active"), next->id}};
        // A new incident becomes its key's newest (the key was WATCHed); a
        // change to an older one, by id, leaves the pointer alone.
        if (fresh) tx.push_back({"SET", b_->key("incident:key", next->key), next->id});
        tx.push_back({"EXEC"});
        auto r = c.pipeline(tx);
        if (!r) return std::move(r).error();
        const redisReply* exec = r->back().get();
        if (is_error(exec)) return reply_error(exec, "write incident");
        if (exec->type == REDIS_REPLY_ARRAY) return std::optional<Outcome>(std::move(next));
        return std::optional<Outcome>{};
      });
    });
  }
};

std::shared_ptr<store::IncidentStore> make_incident_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisIncidentStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
