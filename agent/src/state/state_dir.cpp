// SPDX-License-Identifier: Apache-2.0
// The agent's persistent state. Design: small text files replaced
// atomically; sequence numbers reserved in blocks of kBlock so a report
// sequence costs one fsync per kBlock reports, and a crash can only skip
// numbers, never reuse one (a reused number would be dropped by the
// collector as a duplicate).
#include "surveyor/core/error_category.hpp"
#include "surveyor/agent/state/state_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace surveyor::agent::state {
namespace {

constexpr std::uint64_t kBlock = 64;

core::Error sys_error(const std::string& what) {
  return core::make_error(StateErrc::io, what + ": " + std::strerror(errno));
}

core::Result<std::optional<std::string>> read_optional(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::optional<std::string>{};
    return sys_error(path);
  }
  std::ostringstream os;
  os << in.rdbuf();
  return std::optional<std::string>{os.str()};
}

}  // namespace

const std::error_category& state_category() {
  static const core::TableCategory c("state", {
      {StateErrc::io, "state I/O error"},
      {StateErrc::corrupt, "state file unreadable"},
      {StateErrc::permissions, "unsafe permissions"}});
  return c;
}

core::Status write_file_atomic(const std::string& path, const std::string& content, unsigned mode) {
  const std::string tmp = path + ".tmp";
  // A fresh file, never one a link points at: whatever stands at the
  // temporary name (a leftover, or a planted symbolic link) goes first.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return sys_error("remove " + tmp);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return sys_error("create " + tmp);
  ::fchmod(fd, mode);  // the umask must not widen or narrow it
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const auto e = sys_error("write " + tmp);
      ::close(fd);
      return e;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const auto e = sys_error("fsync " + tmp);
    ::close(fd);
    return e;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return sys_error("rename " + tmp);
  const std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

core::Result<StateDir> StateDir::open(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("create " + path);
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return sys_error(path);
  if (!S_ISDIR(st.st_mode)) return core::make_error(StateErrc::io, path + " is not a directory");
  if ((st.st_mode & 0077) != 0 && st.st_uid == ::geteuid()) ::chmod(path.c_str(), 0700);
  // Another user's directory that others may write to: they could replace
  // the identity or the spool, and it is not ours to fix.
  else if ((st.st_mode & 0022) != 0)
    return core::make_error(StateErrc::permissions,
                            path + " is writable by others and owned by another user; it must be the agent's alone");
  return StateDir(path);
}

core::Result<std::optional<Identity>> StateDir::load_identity() const {
  const std::string file = path_ + "/identity";
  auto text = read_optional(file);
  if (!text) return std::move(text).error();
  if (!*text) return std::optional<Identity>{};
  struct stat st{};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 0077) != 0)
    return core::make_error(StateErrc::permissions, file + " is readable by others; it holds the agent key");
  std::map<std::string, std::string> kv;
  std::istringstream in(**text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  Identity id{kv["agent_id"], kv["agent_key"], kv["ci_id"], kv["collector_url"]};
  if (id.agent_id.empty() || id.agent_key.empty())
    return core::make_error(StateErrc::corrupt, file + ": agent_id or agent_key missing");
  return std::optional<Identity>{std::move(id)};
}

core::Status StateDir::save_identity(const Identity& id) const {
  const std::string text = "agent_id=" + id.agent_id + "\nagent_key=" + id.agent_key + "\nci_id=" + id.ci_id +
                           "\ncollector_url=" + id.collector_url + "\n";
  return write_file_atomic(path_ + "/identity", text, 0600);
}

core::Status StateDir::forget_identity() const {
  if (::unlink((path_ + "/identity").c_str()) != 0 && errno != ENOENT) return sys_error("remove identity");
  return {};
}

core::Result<std::uint64_t> StateDir::next_sequence() {
  const std::string file = path_ + "/sequence";
  if (!loaded_) {
    auto text = read_optional(file);
    if (!text) return std::move(text).error();
    std::uint64_t hw = 1;
    if (*text) {
      std::istringstream in(**text);
      if (!(in >> hw) || hw == 0) return core::make_error(StateErrc::corrupt, file + ": not a sequence number");
    }
    next_ = reserved_ = hw;
    loaded_ = true;
  }
  if (next_ >= reserved_) {
    const std::uint64_t upto = next_ + kBlock;
    if (auto st = write_file_atomic(file, std::to_string(upto) + "\n", 0600); !st) return std::move(st).error();
    reserved_ = upto;
  }
  return next_++;
}

}  // namespace surveyor::agent::state
