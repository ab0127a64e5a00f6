// SPDX-License-Identifier: Apache-2.0
// The base of every backend's domain store: the interface it implements and
// the backend it shares with the other stores of the same database.
#pragma once

#include <memory>
#include <utility>

namespace surveyor::collector::store {

template <class Interface, class Backend>
class Bound : public Interface {
 public:
  explicit Bound(std::shared_ptr<Backend> b) : b_(std::move(b)) {}

 protected:
  std::shared_ptr<Backend> b_;
};

}  // namespace surveyor::collector::store
