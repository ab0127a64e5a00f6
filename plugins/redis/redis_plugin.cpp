// SPDX-License-Identifier: Apache-2.0
// surveyor-plugin-redis: watches one Redis server through INFO.
// Samples (attribute instance = HOST:PORT): redis.memory.used, .rss, .max
// (By), redis.clients.connected, .blocked, redis.commands.rate ({command}/s,
// from total_commands_processed), redis.keyspace.keys and .expires per db,
// redis.replication.replicas, redis.uptime (s).
// Inventory: one instance of kind "redis" with its version, role, mode and
// maxmemory policy.
// Options: host (127.0.0.1), port (6379), timeout_ms (1000).
#include <hiredis/hiredis.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "surveyor/plugin.h"

namespace {

struct State {
  std::string host = "127.0.0.1";
  int port = 6379;
  int timeout_ms = 1000;
  std::string instance;
  redisContext* c = nullptr;
  bool was_up = true;  // log only when this changes
  double prev_commands = -1;
  std::int64_t prev_time_ms = 0;
};

void log(const surveyor_host* h, int level, const std::string& m) { h->log(h->ctx, level, m.c_str()); }

void disconnect(State& s) {
  if (s.c != nullptr) redisFree(s.c);
  s.c = nullptr;
}

// INFO as key -> value; nullopt-like empty map on failure.
bool info(State& s, const surveyor_host* h, std::map<std::string, std::string>& out) {
  if (s.c == nullptr) {
    timeval tv{s.timeout_ms / 1000, (s.timeout_ms % 1000) * 1000};
    s.c = redisConnectWithTimeout(s.host.c_str(), s.port, tv);
    if (s.c == nullptr || s.c->err) {
      if (s.was_up) log(h, SURVEYOR_LOG_WARN, "cannot connect to " + s.instance + ": " + (s.c ? s.c->errstr : "out of memory"));
      s.was_up = false;
      disconnect(s);
      return false;
    }
    redisSetTimeout(s.c, tv);
  }
  auto* r = static_cast<redisReply*>(redisCommand(s.c, "INFO"));
  if (r == nullptr || r->type != REDIS_REPLY_STRING) {
    if (s.was_up) log(h, SURVEYOR_LOG_WARN, "INFO failed on " + s.instance + (r && r->type == REDIS_REPLY_ERROR ? std::string(": ") + r->str : ""));
    s.was_up = false;
    if (r) freeReplyObject(r);
    disconnect(s);
    return false;
  }
  if (!s.was_up) log(h, SURVEYOR_LOG_INFO, s.instance + " answers again");
  s.was_up = true;
  const std::string text(r->str, r->len);
  freeReplyObject(r);
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find("\r\n", pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty() || line[0] == '#') continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) out[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return true;
}

double number(const std::map<std::string, std::string>& m, const char* k, double fallback = -1) {
  auto it = m.find(k);
  if (it == m.end()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  return end == it->second.c_str() ? fallback : v;
}

void* plugin_open(const surveyor_host* h, const surveyor_kv* options, size_t n) {
  auto* s = new State();
  for (size_t i = 0; i < n; ++i) {
    const std::string k = options[i].key ? options[i].key : "", v = options[i].value ? options[i].value : "";
    if (k == "host") s->host = v;
    else if (k == "port") s->port = std::atoi(v.c_str());
    else if (k == "timeout_ms") s->timeout_ms = std::atoi(v.c_str());
    else {
      log(h, SURVEYOR_LOG_ERROR, "unknown option '" + k + "' (host, port, timeout_ms)");
      delete s;
      return nullptr;
    }
  }
  if (s->port <= 0 || s->port > 65535 || s->timeout_ms <= 0) {
    log(h, SURVEYOR_LOG_ERROR, "port must be 1-65535 and timeout_ms positive");
    delete s;
    return nullptr;
  }
  s->instance = s->host + ":" + std::to_string(s->port);
  return s;
}

int plugin_sample(void* state, const surveyor_host* h, int64_t now_ms) {
  auto& s = *static_cast<State*>(state);
  std::map<std::string, std::string> m;
  if (!info(s, h, m)) return 1;
  const surveyor_kv inst[] = {{"instance", s.instance.c_str()}};
  auto emit = [&](const char* metric, const char* unit, double v) {
    if (v >= 0) h->sample(h->ctx, metric, unit, inst, 1, now_ms, v);
  };
  emit("redis.memory.used", "By", number(m, "used_memory"));
  emit("redis.memory.rss", "By", number(m, "used_memory_rss"));
  if (number(m, "maxmemory", 0) > 0) emit("redis.memory.max", "By", number(m, "maxmemory"));
  emit("redis.clients.connected", "{client}", number(m, "connected_clients"));
  emit("redis.clients.blocked", "{client}", number(m, "blocked_clients"));
  emit("redis.replication.replicas", "{replica}", number(m, "connected_slaves"));
  emit("redis.uptime", "s", number(m, "uptime_in_seconds"));
  const double commands = number(m, "total_commands_processed");
  // A restart resets the counter: skip that round rather than report nonsense.
  if (s.prev_commands >= 0 && commands >= s.prev_commands && now_ms > s.prev_time_ms)
    emit("redis.commands.rate", "{command}/s", (commands - s.prev_commands) * 1000.0 / double(now_ms - s.prev_time_ms));
  s.prev_commands = commands;
  s.prev_time_ms = now_ms;
  // "db0" -> "keys=12,expires=0,avg_ttl=0"
  for (const auto& [k, v] : m) {
    if (k.rfind("db", 0) != 0 || k.size() < 3) continue;
    const surveyor_kv attrs[] = {{"instance", s.instance.c_str()}, {"db", k.c_str()}};
    for (const char* field : {"keys", "expires"}) {
      const auto at = v.find(std::string(field) + "=");
      if (at == std::string::npos) continue;
      const double n = std::strtod(v.c_str() + at + std::strlen(field) + 1, nullptr);
      h->sample(h->ctx, std::strcmp(field, "keys") == 0 ? "redis.keyspace.keys" : "redis.keyspace.expires", "{key}",
                attrs, 2, now_ms, n);
    }
  }
  return 0;
}

int plugin_inventory(void* state, const surveyor_host* h) {
  auto& s = *static_cast<State*>(state);
  std::map<std::string, std::string> m;
  if (!info(s, h, m)) return 1;
  std::vector<surveyor_kv> attrs;
  for (const char* k : {"redis_mode", "role", "maxmemory_policy", "tcp_port", "os", "arch_bits"}) {
    auto it = m.find(k);
    if (it != m.end()) attrs.push_back({k, it->second.c_str()});
  }
  const auto version = m.find("redis_version");
  h->instance(h->ctx, "redis", s.instance.c_str(), version == m.end() ? "" : version->second.c_str(), attrs.data(),
              attrs.size());
  return 0;
}

void plugin_close(void* state) {
  auto* s = static_cast<State*>(state);
  disconnect(*s);
  delete s;
}

const surveyor_plugin kPlugin{SURVEYOR_PLUGIN_ABI_VERSION, "redis", "1.0.0", plugin_open, plugin_sample,
                              plugin_inventory, plugin_close};

}  // namespace

extern "C" __attribute__((visibility("default"))) const surveyor_plugin* surveyor_plugin_entry(void) { return &kPlugin; }
