// SPDX-License-Identifier: Apache-2.0
// Logging: the log_level option, named component loggers, and a rate limit for messages
// that could flood.
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "surveyor/config/options.hpp"

namespace surveyor::log {

enum class Level { trace, debug, info, warn, error, off };

// Parses "trace".."off"; returns false on an unknown name.
[[nodiscard]] bool parse_level(std::string_view name, Level& out);

// The `log_level` option every daemon declares (trace … off, default info).
[[nodiscard]] config::Option level_option();
// configure() with the level that option holds in `settings`.
void configure(const config::Settings& settings);

// Sets the level and format of every component logger, present and future.
// Messages go to stderr (journald picks them up under systemd).
void configure(Level level);

// A named component logger ("agent.spool", "collector.ingest").
class Logger {
 public:
  explicit Logger(const std::string& component);

  template <class... A>
  void trace(spdlog::format_string_t<A...> f, A&&... a) { l_->trace(f, std::forward<A>(a)...); }
  template <class... A>
  void debug(spdlog::format_string_t<A...> f, A&&... a) { l_->debug(f, std::forward<A>(a)...); }
  template <class... A>
  void info(spdlog::format_string_t<A...> f, A&&... a) { l_->info(f, std::forward<A>(a)...); }
  template <class... A>
  void warn(spdlog::format_string_t<A...> f, A&&... a) { l_->warn(f, std::forward<A>(a)...); }
  template <class... A>
  void error(spdlog::format_string_t<A...> f, A&&... a) { l_->error(f, std::forward<A>(a)...); }

 private:
  std::shared_ptr<spdlog::logger> l_;
};

// Lets through at most `burst` events per `window`; counts the rest so the next
// message that passes can say how many were suppressed. Thread-safe.
class RateLimit {
 public:
  RateLimit(std::uint32_t burst, std::chrono::milliseconds window) : burst_(burst), window_(window) {}

  // True if this event may be logged. `suppressed` receives how many events
  // were dropped since the last one that passed.
  bool allow(std::uint64_t& suppressed);

 private:
  std::mutex mu_;
  std::uint32_t burst_;
  std::chrono::milliseconds window_;
  std::chrono::steady_clock::time_point window_start_{};
  std::uint32_t used_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace surveyor::log
