// SPDX-License-Identifier: Apache-2.0
// Whether Redis answers, and what its settings put at risk.
#include "backend.hpp"

namespace surveyor::collector::redis {

class RedisHealth final : public Bound<StoreHealth> {
 public:
  using Bound::Bound;
  core::Status ping() override {
    return b_->pool.with([](Connection& c) -> core::Status {
      auto r = c.command({"PING"});
      if (!r) return std::move(r).error();
      if (reply_text(r->get()) != "PONG") return reply_error(r->get(), "ping");
      return {};
    });
  }
  std::string describe() const override {
    return b_->pool.describe() + "/" + b_->options.prefix;
  }

  // On a cluster, every master's (each holds series of a spread store),
  // each warning naming its master.
  core::Result<Durability> durability() override {
    const int wait = b_->options.wait_replicas;
    if (b_->shards == nullptr) return b_->pool.with([wait](Connection& c) { return durability_on(c, wait); });
    auto masters = b_->shards->masters();
    if (!masters) return std::move(masters).error();
    Durability all;
    for (const auto& [address, pool] : *masters) {
      auto d = b_->shards->on(*pool, [wait](Connection& c) { return durability_on(c, wait); });
      if (!d) return std::move(d).error();
      all.evicting |= d->evicting;
      for (const std::string& w : d->warnings) all.warnings.push_back("redis " + address + ": " + w);
    }
    return all;
  }

 private:
  // CONFIG GET where the server allows it; where it is disabled or renamed
  // (managed Redis), INFO, which tells persistence and eviction but not
  // the fsync policy.
  static core::Result<Durability> durability_on(Connection& c, int wait) {
    std::vector<Argv> reads{{"CONFIG", "GET", "appendonly"},
                            {"CONFIG", "GET", "appendfsync"},
                            {"CONFIG", "GET", "maxmemory-policy"}};
    if (wait > 0) reads.push_back({"INFO", "replication"});
    auto got = c.pipeline(reads);
    if (!got) return std::move(got).error();
    std::map<std::string, std::string> conf;
    for (const Reply& r : *got)
      if (!is_error(r.get()) && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
        conf[reply_text(r->element[0])] = reply_text(r->element[1]);
    // Reports wait for replicas that are not there: each is refused.
    std::optional<int> replicas;
    if (wait > 0)
      if (const std::string n = info_field(reply_text(got->back().get()), "connected_slaves"); !n.empty())
        replicas = std::atoi(n.c_str());
    if (!conf.contains("appendonly") || !conf.contains("maxmemory-policy")) {
      auto info = c.command({"INFO", "all"});
      if (!info) return std::move(info).error();
      if (is_error(info->get())) return reply_error(info->get(), "read Redis settings");
      const std::string text = reply_text(info->get());
      if (const std::string aof = info_field(text, "aof_enabled"); !aof.empty())
        conf["appendonly"] = aof == "1" ? "yes" : "no";
      conf["maxmemory-policy"] = info_field(text, "maxmemory_policy");
    }
    Durability d = durability_of(conf);
    if (wait > 0 && replicas && *replicas < wait)
      d.warnings.push_back("store_wait_replicas " + std::to_string(wait) + " but Redis has " +
                           std::to_string(*replicas) + " replica(s): every report is refused (503) until enough "
                           "replicas attach");
    return d;
  }

  // A field of an INFO answer ("name:value" lines); "" when absent.
  static std::string info_field(const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + ":");
    if (at == std::string::npos) return {};
    const auto from = at + name.size() + 2;
    return text.substr(from, text.find_first_of("\r\n", from) - from);
  }

  static Durability durability_of(const std::map<std::string, std::string>& conf) {
    Durability d;
    const auto value = [&conf](const char* k) {
      auto it = conf.find(k);
      return it == conf.end() ? std::string() : it->second;
    };
    if (value("appendonly") == "no")
      d.warnings.push_back("appendonly no: reports acknowledged since Redis's last snapshot are lost when Redis "
                           "restarts; set appendonly yes and appendfsync always");
    else if (value("appendfsync") == "everysec")
      d.warnings.push_back("appendfsync everysec: up to a second of acknowledged reports can be lost when the Redis "
                           "host loses power; set appendfsync always");
    else if (value("appendfsync") == "no")
      d.warnings.push_back("appendfsync no: acknowledged reports reach the disk when the kernel decides, and can be "
                           "lost when the Redis host loses power; set appendfsync always");
    const std::string policy = value("maxmemory-policy");
    if (!policy.empty() && policy != "noeviction") {
      d.evicting = true;
      d.warnings.push_back("maxmemory-policy " + policy +
                           ": Redis deletes keys when memory runs short, and a deleted key is lost data; set "
                           "maxmemory-policy noeviction");
    }
    return d;
  }
};

std::shared_ptr<store::StoreHealth> make_health(std::shared_ptr<Backend> b) { return std::make_shared<RedisHealth>(std::move(b)); }

}  // namespace surveyor::collector::redis
