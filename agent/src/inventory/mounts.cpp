// SPDX-License-Identifier: Apache-2.0
// The mount table (/proc/self/mounts) with its octal escapes decoded, and the filesystem
// types that count as disk-backed.
#include "surveyor/agent/inventory/mounts.hpp"

#include "surveyor/agent/inventory/text.hpp"

#include <algorithm>
#include <iterator>
#include <sstream>

namespace surveyor::agent::inventory {
namespace {

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && s.size() - i >= 4 &&
        std::all_of(s.begin() + static_cast<std::ptrdiff_t>(i) + 1, s.begin() + static_cast<std::ptrdiff_t>(i) + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<Mount> parse_mounts(std::string_view rest) {
  std::vector<Mount> out;
  std::string_view line;
  while (text::next_line(rest, line)) {
    const std::string_view dev = text::next_field(line), mp = text::next_field(line), type = text::next_field(line);
    std::string_view opts = text::next_field(line);
    if (opts.empty()) continue;
    Mount m{unescape(dev), unescape(mp), std::string(type), false};
    while (!opts.empty()) {
      const auto comma = opts.find(',');
      if (opts.substr(0, comma) == "ro") m.read_only = true;
      opts = comma == std::string_view::npos ? std::string_view() : opts.substr(comma + 1);
    }
    out.push_back(std::move(m));
  }
  return out;
}

bool is_real_filesystem(std::string_view type) {
  static constexpr std::string_view kReal[] = {"ext2", "ext3",  "ext4",  "xfs", "btrfs",  "zfs",      "vfat",
                                               "exfat", "ntfs", "ntfs3", "f2fs", "jfs", "reiserfs", "bcachefs"};
  return std::find(std::begin(kReal), std::end(kReal), type) != std::end(kReal);
}

}  // namespace surveyor::agent::inventory
