// SPDX-License-Identifier: Apache-2.0
// The agent's side of the in-process plugin ABI (surveyor/plugin.h): loading a plugin, and
// its [[plugin]] configuration.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "surveyor/agent/samplers/sampler.hpp"
#include "surveyor/config/options.hpp"
#include "surveyor/core/result.hpp"
#include "surveyor/wire/inventory.hpp"

namespace surveyor::agent::plugins {

enum class PluginErrc { load_failed = 1, bad_abi, open_failed, failed, timed_out };
const std::error_category& plugin_category();
inline std::error_code make_error_code(PluginErrc e) { return {static_cast<int>(e), plugin_category()}; }

struct PluginSpec {
  std::string path;  // the shared object
  std::vector<std::pair<std::string, std::string>> options;  // passed to open()
  std::chrono::milliseconds timeout{5'000};  // for one sample() or inventory() call (see PluginWorker)
};

// One loaded in-process plugin (plugins/include/surveyor/plugin.h). It is a
// Sampler, so the agent samples it with the built-in samplers, and it adds
// the application instances it finds to the inventory. Use from one thread;
// the agent calls it through a PluginWorker, on a thread of its own.
class Plugin final : public samplers::Sampler {
 public:
  // dlopen()s the object, checks its ABI version and calls its open().
  [[nodiscard]] static core::Result<std::unique_ptr<Plugin>> load(const PluginSpec& spec);
  ~Plugin() override;

  [[nodiscard]] std::string_view name() const override { return name_; }
  [[nodiscard]] std::chrono::milliseconds timeout() const { return timeout_; }
  core::Status sample(std::int64_t now_ms, samplers::SampleSink& sink) override;
  // The instances the plugin reports now, sorted.
  [[nodiscard]] core::Result<std::vector<wire::Instance>> instances();

 private:
  struct Loaded;
  Plugin(std::unique_ptr<Loaded> l, std::chrono::milliseconds timeout);
  std::unique_ptr<Loaded> l_;
  std::string name_;
  std::chrono::milliseconds timeout_;
};

// The [[plugin]] table's options, and a PluginSpec from one table.
[[nodiscard]] std::shared_ptr<const config::Schema> plugin_schema();
[[nodiscard]] core::Result<PluginSpec> plugin_from_settings(const config::Settings& s);

}  // namespace surveyor::agent::plugins

template <>
struct std::is_error_code_enum<surveyor::agent::plugins::PluginErrc> : std::true_type {};
