// SPDX-License-Identifier: Apache-2.0
// What the agent keeps across restarts: who it is (Identity) and where its report numbering
// stands (StateDir).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "surveyor/core/result.hpp"

namespace surveyor::agent::state {

enum class StateErrc { io = 1, corrupt, permissions };
const std::error_category& state_category();
inline std::error_code make_error_code(StateErrc e) { return {static_cast<int>(e), state_category()}; }

// What enrollment gave the agent. The key is a secret: the file holding it is
// mode 0600 in a 0700 directory.
struct Identity {
  std::string agent_id;
  std::string agent_key;
  std::string ci_id;
  std::string collector_url;  // the collector that issued it
  friend bool operator==(const Identity&, const Identity&) = default;
};

// The agent's state directory: identity and report sequence numbers.
// Files are replaced atomically (write, fsync, rename, fsync the directory),
// so a crash leaves either the old or the new content, never a torn file.
class StateDir {
 public:
  // Creates the directory (0700) if missing.
  [[nodiscard]] static core::Result<StateDir> open(const std::string& path);

  [[nodiscard]] core::Result<std::optional<Identity>> load_identity() const;
  [[nodiscard]] core::Status save_identity(const Identity& id) const;
  [[nodiscard]] core::Status forget_identity() const;

  // The next report sequence number. Numbers are reserved on disk in blocks
  // before use, so none is ever handed out twice, even across crashes (a
  // crash only skips the rest of the block).
  [[nodiscard]] core::Result<std::uint64_t> next_sequence();

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  explicit StateDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  std::uint64_t next_ = 0;      // next number to hand out
  std::uint64_t reserved_ = 0;  // numbers below this are reserved on disk
  bool loaded_ = false;
};

// Writes `content` to `path` atomically with the given mode.
[[nodiscard]] core::Status write_file_atomic(const std::string& path, const std::string& content, unsigned mode);

}  // namespace surveyor::agent::state

template <>
struct std::is_error_code_enum<surveyor::agent::state::StateErrc> : std::true_type {};
