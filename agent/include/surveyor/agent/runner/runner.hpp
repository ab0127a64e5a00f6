// SPDX-License-Identifier: Apache-2.0
// The agent's main loop and what it is configured with: intervals, checks, plugins, the
// collector to report to and the watchdog's limits.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "surveyor/agent/checks/check.hpp"
#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/agent/plugins/plugin_host.hpp"
#include "surveyor/agent/samplers/sampler.hpp"
#include "surveyor/agent/state/state_dir.hpp"
#include "surveyor/agent/transport/sender.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/http/client.hpp"

namespace boost::asio {
class io_context;
}

namespace surveyor::agent::runner {

struct RunnerOptions {
  std::chrono::milliseconds sample_interval{10'000};
  std::chrono::milliseconds report_interval{60'000};
  std::chrono::milliseconds inventory_interval{600'000};  // collect again this often
  std::uint32_t inventory_full_every = 15;  // reports between full inventories (deltas in between)
  std::chrono::milliseconds stop_timeout{3'000};  // for the last report on stop
  inventory::Roots roots;
  std::string collector_url;
  std::string enrollment_token;
  // When the collector answers 401 to the agent's key: enroll again with the
  // enrollment token (true), or keep the reports and wait for a person
  // (false), so a collector that was replaced, or one that is not ours,
  // never receives the token unasked.
  bool reenroll_on_unauthorized = false;
  std::string version;
  transport::SenderOptions sender;
  std::vector<checks::CheckSpec> checks;
  std::size_t check_concurrency = 4;
  // The self-watchdog: past these, the agent reports it and disables the
  // plugin or check at fault.
  std::uint64_t max_rss_bytes = 64ull << 20;
  std::chrono::milliseconds max_cpu_per_minute{3'000};
  // Configuration reloads (SIGHUP) refused since the agent started, reported
  // as surveyor.agent.config.reload_failures: a host running an older
  // configuration than its file shows at the collector.
  std::uint64_t config_reload_failures = 0;
};

// The agent's schedule on one io_context thread: enroll if needed, sample
// on wall-clock multiples of the sample interval, report on multiples of
// the report interval (with the inventory when it is new, changed, or asked
// for), and on stop send what is buffered.
class Runner {
 public:
  Runner(boost::asio::io_context& io, RunnerOptions options, state::StateDir& state, spool::Spool spool,
         std::vector<http::Client*> clients, const core::Clock& clock,
         std::vector<std::unique_ptr<samplers::Sampler>> samplers,
         std::vector<std::unique_ptr<plugins::Plugin>> plugins = {});
  ~Runner();

  // Begins; `fatal` is called with an exit code if the agent cannot go on
  // (enrollment token refused, state directory unusable).
  void start(std::function<void(int)> fatal);
  // Stops sampling, sends what is buffered (up to stop_timeout), then done().
  void stop(std::function<void()> done);
  // Collects the inventory again now (in the background); the next report
  // carries what changed.
  void refresh_inventory();

  [[nodiscard]] transport::SenderStats sender_stats() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace surveyor::agent::runner
