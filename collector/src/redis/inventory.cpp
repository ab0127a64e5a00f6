// SPDX-License-Identifier: Apache-2.0
// Inventory sections per host CI on Redis.
#include "backend.hpp"

namespace surveyor::collector::redis {

class RedisInventoryStore final : public Bound<InventoryStore> {
 public:
  using Bound::Bound;
  core::Result<std::vector<InventorySection>> get_inventory(std::string_view ci_id) override {
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<InventorySection>> {
      auto r = c.command({"HGETALL", b_->key("inventory", ci_id)});
      if (!r) return std::move(r).error();
      return inventory_from_hash(r->get());
    });
  }
};

std::shared_ptr<store::InventoryStore> make_inventory_store(std::shared_ptr<Backend> b) { return std::make_shared<RedisInventoryStore>(std::move(b)); }

}  // namespace surveyor::collector::redis
