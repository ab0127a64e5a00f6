// SPDX-License-Identifier: Apache-2.0
// Service definitions kept by the collector on Redis.
#include "backend.hpp"

namespace surveyor::collector::redis {

// Service definitions: hash "services" (name -> JSON of definition, origin,
// updated_ms) and the counter "services:version".
class RedisServiceStore final : public Bound<ServiceStore> {
 public:
  using Bound::Bound;

  core::Status put_service(const StoredService& sv) override {
    boost::json::object o{{"definition", sv.definition}, {"origin", sv.origin}, {"updated_ms", sv.updated_ms}};
    return run({{"MULTI"},
                {"HSET", b_->key("services"), sv.name, boost::json::serialize(o)},
                {"INCR", b_->key("services:version")},
                {"EXEC"}});
  }

  core::Result<bool> delete_service(std::string_view name) override {
    return b_->pool.with([&](Connection& c) -> core::Result<bool> {
      auto r = c.pipeline({{"MULTI"}, {"HDEL", b_->key("services"), std::string(name)},
                           {"INCR", b_->key("services:version")}, {"EXEC"}});
      if (!r) return std::move(r).error();
      const redisReply* exec = r->back().get();
      if (is_error(exec) || exec->type != REDIS_REPLY_ARRAY || exec->elements < 1)
        return reply_error(exec, "delete service");
      return reply_int(exec->element[0]).value_or(0) == 1;
    });
  }

  core::Result<std::vector<StoredService>> list_services() override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<StoredService>> {
      auto r = c.command({"HGETALL", b_->key("services")});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read services");
      std::vector<StoredService> out;
      for (const auto& [name, text] : hash_of(r->get())) {
        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(text, ec);
        if (ec || !v.is_object()) return core::make_error(StoreErrc::corrupt, "service " + name + " is unreadable");
        const auto& o = v.get_object();
        StoredService sv;
        sv.name = name;
        if (auto d = o.find("definition"); d != o.end() && d->value().is_string()) sv.definition = std::string(d->value().get_string());
        if (auto d = o.find("origin"); d != o.end() && d->value().is_string()) sv.origin = std::string(d->value().get_string());
        if (auto d = o.find("updated_ms"); d != o.end() && d->value().is_int64()) sv.updated_ms = d->value().get_int64();
        out.push_back(std::move(sv));
      }
      return out;  // hash_of is a std::map: by name
    });
  }

  core::Result<std::int64_t> services_version() override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::int64_t> {
      auto r = c.command({"GET", b_->key("services:version")});
      if (!r) return std::move(r).error();
      if (is_error(r->get())) return reply_error(r->get(), "read version");
      return reply_int(r->get()).value_or(0);
    });
  }

 private:
  core::Status run(const std::vector<Argv>& tx) {
    return b_->pool.with([&](Connection& c) -> core::Status {
      auto r = c.pipeline(tx);
      if (!r) return std::move(r).error();
      if (is_error(r->back().get())) return reply_error(r->back().get(), "write service");
      return {};
    });
  }
};

std::shared_ptr<store::ServiceStore> make_service_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisServiceStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
