// SPDX-License-Identifier: Apache-2.0
// The agent's side of the plugin ABI: dlopen, the version check, and the
// callbacks that turn what a plugin reports into samples, instances and log
// lines. The callbacks copy every string they get and check what they can
// (names, counts), so a careless plugin cannot corrupt the agent's state
// through them. Calls into the plugin come from one thread at a time (the
// PluginWorker's, see plugin_worker.cpp); the callbacks deliver to what that
// call set up.
#include "surveyor/agent/plugins/plugin_host.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>

#include "surveyor/core/error_category.hpp"
#include "surveyor/log/log.hpp"
#include "surveyor/plugin.h"

namespace surveyor::agent::plugins {
namespace {

using config::Type;
using config::Value;

constexpr std::size_t kMaxAttributes = 32;
constexpr std::size_t kMaxSamplesPerCall = 10'000;
constexpr std::size_t kMaxInstances = 1'000;

std::string safe(const char* s, std::size_t max = 255) {
  if (s == nullptr) return {};
  std::string out(s, strnlen(s, max));
  return out;
}

}  // namespace

const std::error_category& plugin_category() {
  static const core::TableCategory c("plugin", {{PluginErrc::load_failed, "cannot load the plugin"},
                                                {PluginErrc::bad_abi, "plugin built for another ABI version"},
                                                {PluginErrc::open_failed, "the plugin could not start"},
                                                {PluginErrc::failed, "the plugin reported a failure"},
                                                {PluginErrc::timed_out, "the plugin did not return in time"}});
  return c;
}

struct Plugin::Loaded {
  void* handle = nullptr;
  const surveyor_plugin* api = nullptr;
  void* state = nullptr;
  surveyor_host host{};
  log::Logger log{"agent.plugin"};
  std::string name;
  // Where callbacks deliver during one call.
  samplers::SampleSink* sink = nullptr;
  std::vector<wire::Instance>* found = nullptr;
  std::size_t calls_samples = 0;

  ~Loaded() {
    if (api != nullptr && state != nullptr && api->close != nullptr) api->close(state);
    if (handle != nullptr) ::dlclose(handle);
  }

  static std::vector<std::pair<std::string, std::string>> attrs(const surveyor_kv* kv, std::size_t n) {
    std::vector<std::pair<std::string, std::string>> out;
    for (std::size_t i = 0; kv != nullptr && i < std::min(n, kMaxAttributes); ++i)
      if (kv[i].key != nullptr && kv[i].key[0] != '\0') out.emplace_back(safe(kv[i].key), safe(kv[i].value));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
              out.end());
    return out;
  }

  static void on_sample(void* ctx, const char* metric, const char* unit, const surveyor_kv* kv, std::size_t n,
                        std::int64_t time_ms, double value) {
    auto* self = static_cast<Loaded*>(ctx);
    if (self->sink == nullptr || metric == nullptr || metric[0] == '\0') return;  // outside sample()
    if (++self->calls_samples > kMaxSamplesPerCall) return;
    std::string m = safe(metric);
    if (std::any_of(m.begin(), m.end(), [](char c) { return c <= ' ' || c >= 0x7f; })) return;
    self->sink->add(m, safe(unit, 32), attrs(kv, n), time_ms, value);
  }

  static void on_instance(void* ctx, const char* kind, const char* name, const char* version, const surveyor_kv* kv,
                          std::size_t n) {
    auto* self = static_cast<Loaded*>(ctx);
    if (self->found == nullptr || self->found->size() >= kMaxInstances) return;  // outside inventory()
    wire::Instance i{safe(kind), safe(name), safe(version), self->name, {}};
    for (auto& [k, v] : attrs(kv, n)) i.attributes.push_back({k, v});
    self->found->push_back(std::move(i));
  }

  static void on_log(void* ctx, int level, const char* message) {
    auto* self = static_cast<Loaded*>(ctx);
    const std::string text = safe(message, 1024);
    if (level >= SURVEYOR_LOG_ERROR) self->log.error("{}: {}", self->name, text);
    else if (level == SURVEYOR_LOG_WARN) self->log.warn("{}: {}", self->name, text);
    else if (level == SURVEYOR_LOG_INFO) self->log.info("{}: {}", self->name, text);
    else self->log.debug("{}: {}", self->name, text);
  }
};

Plugin::Plugin(std::unique_ptr<Loaded> l, std::chrono::milliseconds timeout)
    : l_(std::move(l)), name_("plugin:" + l_->name), timeout_(timeout) {}
Plugin::~Plugin() = default;

core::Result<std::unique_ptr<Plugin>> Plugin::load(const PluginSpec& spec) {
  auto l = std::make_unique<Loaded>();
  l->handle = ::dlopen(spec.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (l->handle == nullptr) return core::make_error(PluginErrc::load_failed, spec.path + ": " + ::dlerror());
  auto* entry = reinterpret_cast<const surveyor_plugin* (*)()>(::dlsym(l->handle, "surveyor_plugin_entry"));
  if (entry == nullptr)
    return core::make_error(PluginErrc::load_failed, spec.path + ": no surveyor_plugin_entry symbol");
  l->api = entry();
  if (l->api == nullptr || l->api->abi_version != SURVEYOR_PLUGIN_ABI_VERSION || l->api->open == nullptr ||
      l->api->sample == nullptr)
    return core::make_error(PluginErrc::bad_abi, spec.path + ": expected ABI version " +
                                                     std::to_string(SURVEYOR_PLUGIN_ABI_VERSION));
  l->name = safe(l->api->name, 64);
  l->host = surveyor_host{SURVEYOR_PLUGIN_ABI_VERSION, l.get(), &Loaded::on_sample, &Loaded::on_instance,
                          &Loaded::on_log};
  std::vector<surveyor_kv> kv;
  for (const auto& [k, v] : spec.options) kv.push_back({k.c_str(), v.c_str()});
  l->state = l->api->open(&l->host, kv.data(), kv.size());
  if (l->state == nullptr) return core::make_error(PluginErrc::open_failed, spec.path + " (" + l->name + ")");
  return std::unique_ptr<Plugin>(new Plugin(std::move(l), spec.timeout));
}

core::Status Plugin::sample(std::int64_t now_ms, samplers::SampleSink& sink) {
  l_->sink = &sink;
  l_->calls_samples = 0;
  const int rc = l_->api->sample(l_->state, &l_->host, now_ms);
  l_->sink = nullptr;
  if (rc != 0) return core::make_error(PluginErrc::failed, l_->name + " sample() returned " + std::to_string(rc));
  return {};
}

core::Result<std::vector<wire::Instance>> Plugin::instances() {
  std::vector<wire::Instance> found;
  if (l_->api->inventory == nullptr) return found;
  l_->found = &found;
  const int rc = l_->api->inventory(l_->state, &l_->host);
  l_->found = nullptr;
  if (rc != 0) return core::make_error(PluginErrc::failed, l_->name + " inventory() returned " + std::to_string(rc));
  std::sort(found.begin(), found.end(), [](const wire::Instance& a, const wire::Instance& b) {
    return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
  });
  return found;
}

std::shared_ptr<const config::Schema> plugin_schema() {
  static const auto schema = [] {
    auto s = std::make_shared<config::Schema>();
    s->add({.key = "path", .type = Type::string, .description = "the plugin's shared object", .required = true});
    s->add({.key = "options", .type = Type::string_list, .default_value = Value{std::vector<std::string>{}},
            .description = "KEY=VALUE strings passed to the plugin's open()"});
    s->add({.key = "timeout", .type = Type::duration, .default_value = Value{std::chrono::milliseconds{5'000}},
            .description = "time one sample or inventory call may take; past it the call counts as timed out and "
                           "the plugin is not called again until it returns",
            .validate = [](const Value& v) -> std::optional<std::string> {
              if (std::get<std::chrono::milliseconds>(v) < std::chrono::milliseconds(100)) return "must be at least 100ms";
              return std::nullopt;
            }});
    return std::shared_ptr<const config::Schema>(s);
  }();
  return schema;
}

core::Result<PluginSpec> plugin_from_settings(const config::Settings& s) {
  PluginSpec p;
  p.path = s.str("path");
  p.timeout = s.duration("timeout");
  for (const std::string& o : s.list("options")) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      return core::make_error(config::ConfigErrc::invalid_value, "[[plugin]] " + p.path + ": option '" + o +
                                                                     "' is not KEY=VALUE");
    p.options.emplace_back(o.substr(0, eq), o.substr(eq + 1));
  }
  return p;
}

}  // namespace surveyor::agent::plugins
