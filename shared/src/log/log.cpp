// SPDX-License-Identifier: Apache-2.0
// Thin facade over spdlog: named component loggers writing to stderr, and a
// rate limiter for messages that can repeat once per request or per sample.
#include "surveyor/log/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace surveyor::log {
namespace {

spdlog::level::level_enum to_spd(Level l) {
  switch (l) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

constexpr const char* kPattern = "%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ [%n] %v";

}  // namespace

bool parse_level(std::string_view name, Level& out) {
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"trace", Level::trace}, {"debug", Level::debug}, {"info", Level::info},
      {"warn", Level::warn},   {"error", Level::error}, {"off", Level::off}};
  for (const auto& [n, l] : kNames) {
    if (n == name) {
      out = l;
      return true;
    }
  }
  return false;
}

void configure(Level level) {
  spdlog::set_level(to_spd(level));
  spdlog::set_pattern(kPattern, spdlog::pattern_time_type::utc);
}

config::Option level_option() {
  return {.key = "log_level", .type = config::Type::string, .default_value = config::Value{std::string("info")},
          .description = "trace, debug, info, warn, error or off",
          .validate = [](const config::Value& v) -> std::optional<std::string> {
            Level l;
            if (!parse_level(std::get<std::string>(v), l)) return "unknown level";
            return std::nullopt;
          }};
}

void configure(const config::Settings& settings) {
  Level level = Level::info;
  (void)parse_level(settings.str("log_level"), level);
  configure(level);
}

Logger::Logger(const std::string& component) {
  l_ = spdlog::get(component);
  if (!l_) {
    // Two threads may race to create the same logger; the loser takes the winner's.
    try {
      l_ = spdlog::stderr_logger_mt(component);
    } catch (const spdlog::spdlog_ex&) {
      l_ = spdlog::get(component);
    }
  }
}

bool RateLimit::allow(std::uint64_t& suppressed) {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now - window_start_ >= window_) {
    window_start_ = now;
    used_ = 0;
  }
  if (used_ >= burst_) {
    ++dropped_;
    return false;
  }
  ++used_;
  suppressed = dropped_;
  dropped_ = 0;
  return true;
}

}  // namespace surveyor::log
