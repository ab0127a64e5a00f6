// SPDX-License-Identifier: Apache-2.0
// Core vocabulary shared by every module: errors, time, durations, hashing.
#include "surveyor/core/result.hpp"

namespace surveyor::core {

std::string Error::describe() const {
  if (message.empty()) return code.message();
  if (!code) return message;
  return message + " (" + code.category().name() + ": " + code.message() + ")";
}

}  // namespace surveyor::core
