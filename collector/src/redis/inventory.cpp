// SPDX-License-Identifier: Apache-2.0
// Inventory sections per host CI on Redis.
#include "backend.hpp"

namespace surveyor::collector::redis {

using namespace store;

namespace {

class RedisInventoryStore final : public InventoryStore {
 public:
  explicit RedisInventoryStore(std::shared_ptr<Backend> b) : b_(std::move(b)) {}
  core::Result<std::vector<InventorySection>> get_inventory(std::string_view ci_id) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<InventorySection>> {
      auto r = c.command({"HGETALL", b_->key("inventory", ci_id)});
      if (!r) return std::move(r).error();
      return inventory_from_hash(r->get());
    });
  }

 private:
  std::shared_ptr<Backend> b_;
};

}  // namespace

std::shared_ptr<store::InventoryStore> make_inventory_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisInventoryStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
