// SPDX-License-Identifier: Apache-2.0
// Inventory sections per host CI on Redis. On a store spread over a
// cluster a host's inventory is in its host's slot (host_reports.cpp);
// one written there by a collector of before 2026-12-06 is in the store's
// slot until its host's next report that carries inventory moves it.
#include "backend.hpp"

namespace surveyor::collector::redis {

class RedisInventoryStore final : public Bound<InventoryStore> {
 public:
  using Bound::Bound;
  core::Result<std::vector<InventorySection>> get_inventory(std::string_view ci_id) override {
    if (auto st = b_->resolve_layout(); !st) return std::move(st).error();
    if (b_->spread()) {
      auto r = b_->with_host(ci_id, [&](Connection& c) {
        return c.command({"HGETALL", b_->host_key("inventory", ci_id, ci_id)});
      });
      if (!r) return std::move(r).error();
      auto held = inventory_from_hash(r->get());
      if (!held || !held->empty()) return held;
    }
    return b_->pool.with([&](Connection& c) -> core::Result<std::vector<InventorySection>> {
      auto r = c.command({"HGETALL", b_->key("inventory", ci_id)});
      if (!r) return std::move(r).error();
      return inventory_from_hash(r->get());
    });
  }
};

std::shared_ptr<store::InventoryStore> make_inventory_store(std::shared_ptr<Backend> b) {
  return std::make_shared<RedisInventoryStore>(std::move(b));
}

}  // namespace surveyor::collector::redis
