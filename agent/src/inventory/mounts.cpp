// SPDX-License-Identifier: Apache-2.0
#include "surveyor/agent/inventory/mounts.hpp"

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

std::vector<Mount> parse_mounts(std::string_view text) {
  std::vector<Mount> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string dev, mp, type, opts;
    if (!(f >> dev >> mp >> type >> opts)) continue;
    Mount m{unescape(dev), unescape(mp), type, false};
    std::istringstream o(opts);
    std::string opt;
    while (std::getline(o, opt, ','))
      if (opt == "ro") m.read_only = true;
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
