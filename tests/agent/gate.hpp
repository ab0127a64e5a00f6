// SPDX-License-Identifier: Apache-2.0
// The read end of a pipe for the blocking test plugin (test_plugin_blocks.so):
// each of its calls waits for one byte, or for the write end to close.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace surveyor::test {

struct Gate {
  int fds[2] = {-1, -1};
  Gate() { EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0); }
  ~Gate() {
    release_all();
    ::close(fds[0]);
  }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  void release_one() { EXPECT_EQ(::write(fds[1], "x", 1), 1); }
  void release_all() {
    if (fds[1] >= 0) ::close(fds[1]);
    fds[1] = -1;
  }
  // The plugin's option: the read end's number.
  [[nodiscard]] std::string option() const { return std::to_string(fds[0]); }
};

}  // namespace surveyor::test
