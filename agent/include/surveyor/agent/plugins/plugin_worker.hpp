// SPDX-License-Identifier: Apache-2.0
// Plugin calls off the agent's loop, each with a deadline, and what they sampled.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "surveyor/agent/plugins/plugin_host.hpp"

namespace boost::asio {
class io_context;
}

namespace surveyor::agent::plugins {

// One point a plugin sampled, as it reached SampleSink::add.
struct SamplePoint {
  std::string metric;
  std::string unit;
  samplers::Attrs attrs;
  std::int64_t time_ms = 0;
  double value = 0;
};

struct WorkerStats {
  std::uint64_t calls = 0;     // started
  std::uint64_t timeouts = 0;  // not returned by their deadline (what they return later is dropped)
  std::uint64_t skipped = 0;   // not made: the plugin was stuck, or a call was already waiting
  std::uint64_t failures = 0;  // returned an error
};

// Calls one plugin on a thread of its own, so that a plugin that blocks can
// hold up neither the agent's loop (samples, reports, heartbeats) nor its
// other plugins. Calls run one at a time; one asked for while another runs
// waits for it. Each call has a deadline (the plugin's timeout, from the
// moment it starts): a call past it is reported as a timeout and the plugin
// is not called again until it returns; a C call cannot be cancelled, so
// its thread is left to it until then. Use from the io_context's thread;
// completions run there.
class PluginWorker {
 public:
  PluginWorker(boost::asio::io_context& io, std::unique_ptr<Plugin> plugin);
  // Waits for a call in progress until its deadline, and for the plugin's
  // close(); a plugin stuck past that is abandoned to its thread, which
  // closes it if the call ever returns.
  ~PluginWorker();
  PluginWorker(const PluginWorker&) = delete;
  PluginWorker& operator=(const PluginWorker&) = delete;

  [[nodiscard]] const std::string& name() const;

  // What sample() sampled (points added before a failure included), and its status.
  using SampleDone = std::function<void(std::vector<SamplePoint>, core::Status)>;
  using InstancesDone = std::function<void(core::Result<std::vector<wire::Instance>>)>;
  // Starts the call on the plugin's thread (or queues it behind the one in
  // progress) and returns true; `done` then runs once, on the io_context:
  // with what the call returned, or with PluginErrc::timed_out at its
  // deadline (or when the call it waited for passes its own). False, and
  // `done` never runs, while the plugin is stuck past a deadline or a call
  // is already waiting (counted as skipped), and once disabled.
  bool sample(std::int64_t now_ms, SampleDone done);
  bool instances(InstancesDone done);

  // No more calls; the plugin is closed on its thread once its call (if
  // any) returns. For the watchdog: never blocks.
  void disable();
  [[nodiscard]] bool disabled() const;
  // A call has not returned yet (within its deadline or past it).
  [[nodiscard]] bool busy() const;
  [[nodiscard]] WorkerStats stats() const;
  // CPU time the plugin's thread has used, stuck calls included.
  [[nodiscard]] std::int64_t cpu_ns() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace surveyor::agent::plugins
