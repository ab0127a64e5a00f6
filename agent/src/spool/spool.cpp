// SPDX-License-Identifier: Apache-2.0
// The agent's report spool. Entry file layout, little-endian:
//   "SVSP" | u32 payload length | u32 CRC-32 of the payload | payload
// Files are named <20-digit sequence>.rpt so that name order is send order.
#include "surveyor/agent/spool/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "surveyor/agent/inventory/host_facts.hpp"
#include "surveyor/agent/state/state_dir.hpp"
#include "surveyor/core/error_category.hpp"

namespace surveyor::agent::spool {
namespace {

constexpr char kMagic[4] = {'S', 'V', 'S', 'P'};
constexpr std::size_t kHeader = 12;
constexpr std::uint32_t kMaxEntry = 64u << 20;

core::Error io_error(const std::string& what) {
  return core::make_error(SpoolErrc::io, what + ": " + std::strerror(errno));
}

void put32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint32_t get32(const std::string& s, std::size_t off) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[off + i])) << (8 * i);
  return v;
}

std::uint32_t crc_of(const std::string& data, std::size_t off) {
  return static_cast<std::uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(data.data() + off), static_cast<uInt>(data.size() - off)));
}

}  // namespace

const std::error_category& spool_category() {
  static const core::TableCategory c("spool", {{SpoolErrc::io, "spool I/O error"}});
  return c;
}

std::string Spool::path_of(std::uint64_t sequence) const {
  char name[40];
  std::snprintf(name, sizeof name, "/%020llu.rpt", static_cast<unsigned long long>(sequence));
  return dir_ + name;
}

core::Result<Spool> Spool::open(const std::string& dir, SpoolOptions options) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return io_error("create " + dir);
  Spool s(dir, options);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return io_error("open " + dir);
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() == 24 && name.compare(20, 4, ".rpt") == 0 &&
        std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; })) {
      struct stat st{};
      if (::stat((dir + "/" + name).c_str(), &st) != 0) continue;
      s.index_.push_back({std::strtoull(name.c_str(), nullptr, 10), static_cast<std::uint64_t>(st.st_size)});
      s.bytes_ += static_cast<std::uint64_t>(st.st_size);
    } else if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      ::unlink((dir + "/" + name).c_str());  // a write interrupted before its rename
    }
  }
  ::closedir(d);
  std::sort(s.index_.begin(), s.index_.end(), [](const Entry& a, const Entry& b) { return a.sequence < b.sequence; });
  return s;
}

core::Result<std::uint64_t> Spool::write_entry(std::uint64_t sequence, const std::string& payload) {
  if (payload.size() > kMaxEntry) return core::make_error(SpoolErrc::io, "report larger than a spool entry may be");
  std::string entry(kMagic, 4);
  put32(entry, static_cast<std::uint32_t>(payload.size()));
  put32(entry, static_cast<std::uint32_t>(::crc32(0L, reinterpret_cast<const Bytef*>(payload.data()),
                                                  static_cast<uInt>(payload.size()))));
  entry += payload;
  if (auto st = state::write_file_atomic(path_of(sequence), entry, 0600); !st)
    return core::make_error(SpoolErrc::io, st.error().message);
  return entry.size();
}

core::Status Spool::replace_front(std::uint64_t sequence, const std::string& payload) {
  if (index_.empty() || index_.front().sequence != sequence)
    return core::make_error(SpoolErrc::io, "report " + std::to_string(sequence) + " is no longer the oldest");
  auto size = write_entry(sequence, payload);
  if (!size) return std::move(size).error();
  bytes_ = bytes_ - std::min(bytes_, index_.front().bytes) + *size;
  index_.front().bytes = *size;
  return {};
}

core::Status Spool::push(std::uint64_t sequence, const std::string& payload) {
  auto size = write_entry(sequence, payload);
  if (!size) return std::move(size).error();
  const std::uint64_t written = *size;
  index_.push_back({sequence, written});
  bytes_ += written;
  // Over the bound: the oldest go, never the one just written.
  while (index_.size() > 1 && (bytes_ > options_.max_bytes || index_.size() > options_.max_entries)) {
    drop_front();
    ++dropped_;
  }
  return {};
}

void Spool::drop_front() {
  ::unlink(path_of(index_.front().sequence).c_str());
  bytes_ -= std::min(bytes_, index_.front().bytes);
  index_.pop_front();
}

core::Result<std::optional<std::pair<std::uint64_t, std::string>>> Spool::front() {
  while (!index_.empty()) {
    const std::uint64_t seq = index_.front().sequence;
    auto data = inventory::read_text(path_of(seq), kMaxEntry + kHeader + 1);
    bool intact = false;
    if (data && data->size() >= kHeader && data->compare(0, 4, kMagic, 4) == 0) {
      const std::uint32_t len = get32(*data, 4);
      intact = len == data->size() - kHeader && get32(*data, 8) == crc_of(*data, kHeader);
    }
    if (intact) return std::optional<std::pair<std::uint64_t, std::string>>{{seq, data->substr(kHeader)}};
    if (!data && data.error().code != inventory::InventoryErrc::not_found) {
      // Unreadable (EACCES, EIO, not a file): waiting for it would hold back
      // every report behind it until the bound pushed it out, up to a week.
      // Skip it, count it apart from damage, and remove it if the disk lets us.
      last_unreadable_ = data.error().message;
      drop_front();
      ++unreadable_;
      continue;
    }
    // Torn or damaged: skip it, and say so in the counts.
    drop_front();
    ++corrupt_;
  }
  return std::optional<std::pair<std::uint64_t, std::string>>{};
}

core::Status Spool::pop_front(std::uint64_t sequence) {
  if (index_.empty() || index_.front().sequence != sequence) return {};
  if (::unlink(path_of(index_.front().sequence).c_str()) != 0 && errno != ENOENT)
    return io_error("remove spool entry");
  bytes_ -= std::min(bytes_, index_.front().bytes);
  index_.pop_front();
  return {};
}

SpoolStats Spool::stats() const { return {index_.size(), bytes_, dropped_, corrupt_, unreadable_, last_unreadable_}; }

}  // namespace surveyor::agent::spool
