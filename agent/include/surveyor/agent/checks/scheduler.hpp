// SPDX-License-Identifier: Apache-2.0
// When the configured checks run: each on its interval, a few at a time, off the agent's loop.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "surveyor/agent/checks/check.hpp"
#include "surveyor/core/clock.hpp"

namespace boost::asio {
class io_context;
}

namespace surveyor::agent::checks {

// Runs checks on their intervals, at most `concurrency` at a time, on a small
// pool of worker threads (checks block: connects, child processes), so the
// agent's own loop never waits for one. A check still running when it is
// due again is not started twice. Results wait for the next report. stop()
// kills the exec checks still running (with what they started), so it
// returns within moments, not after the longest check's timeout.
class CheckScheduler {
 public:
  CheckScheduler(boost::asio::io_context& io, std::vector<CheckSpec> checks, std::size_t concurrency,
                 std::string proc_root, const core::Clock& clock);
  ~CheckScheduler();  // stops and joins the workers
  CheckScheduler(const CheckScheduler&) = delete;
  CheckScheduler& operator=(const CheckScheduler&) = delete;

  void start();
  void stop();
  // Results finished since the last call, oldest first (at most 1000 kept).
  [[nodiscard]] std::vector<CheckOutcome> take_results();
  // Disables one check (the watchdog's last resort); true if it was known.
  bool disable(const std::string& name);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace surveyor::agent::checks
