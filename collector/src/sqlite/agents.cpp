// SPDX-License-Identifier: Apache-2.0
// Enrolled agents on SQLite.
#include "backend.hpp"

namespace surveyor::collector::sqlite {

class SqliteAgentStore final : public Bound<AgentStore> {
 public:
  using Bound::Bound;

  core::Status create_agent(const AgentRecord& a) override {
    return b_->write([&](Connection& c) -> core::Status {
      SURVEYOR_TRY_STMT(s, c,
                        "INSERT INTO agents(id, key_hash, host_id, hostname, ci_id, agent_version, "
                        "enrolled_at_ms, last_seen_ms, last_sequence, heartbeat_interval_s, "
                        "inventory_digest) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
      s.bind(1, a.id).bind(2, a.key_hash).bind(3, a.host_id).bind(4, a.hostname).bind(5, a.ci_id);
      s.bind(6, a.agent_version).bind(7, a.enrolled_at_ms).bind(8, a.last_seen_ms);
      s.bind(9, static_cast<std::int64_t>(a.last_sequence));
      s.bind(10, static_cast<std::int64_t>(a.heartbeat_interval_s)).bind(11, a.inventory_digest);
      const int rc = s.step();
      if (rc != SQLITE_DONE) return c.error(rc, "create agent " + a.id);
      return {};
    });
  }

  core::Result<bool> revoke_agent(std::string_view id) override {
    return b_->write([&](Connection& c) -> core::Result<bool> {
      SURVEYOR_TRY_STMT(s, c, "UPDATE agents SET key_hash = '' WHERE id = ?1 AND key_hash != ''");
      s.bind(1, id);
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "revoke agent");
      return c.changes() == 1;
    });
  }

  core::Result<bool> rotate_key(std::string_view id, std::string_view old_hash, std::string_view new_hash) override {
    return b_->write([&](Connection& c) -> core::Result<bool> {
      SURVEYOR_TRY_STMT(s, c, "UPDATE agents SET key_hash = ?3 WHERE id = ?1 AND key_hash = ?2 AND key_hash != ''");
      s.bind(1, id).bind(2, old_hash).bind(3, new_hash);
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "rotate agent key");
      return c.changes() == 1;
    });
  }

  // The agent's last sighting of the CI it leaves goes into that CI's row
  // first: its row keeps only sightings of the CI it reports for.
  core::Result<bool> reassign_agent(std::string_view id, std::string_view ci_id) override {
    return b_->write([&](Connection& c) -> core::Result<bool> {
      auto tx = WriteTransaction::begin(c);
      if (!tx) return std::move(tx).error();
      {
        SURVEYOR_TRY_STMT(keep, c,
                          "UPDATE cis SET last_seen_ms = (SELECT a.ci_seen_ms FROM agents a WHERE a.id = ?1) "
                          "WHERE id = (SELECT a.ci_id FROM agents a WHERE a.id = ?1) "
                          "AND last_seen_ms < (SELECT a.ci_seen_ms FROM agents a WHERE a.id = ?1)");
        keep.bind(1, id);
        if (int rc = keep.step(); rc != SQLITE_DONE) return c.error(rc, "keep the CI's last sighting");
      }
      SURVEYOR_TRY_STMT(s, c, "UPDATE agents SET ci_id = ?2, ci_seen_ms = 0 WHERE id = ?1");
      s.bind(1, id).bind(2, ci_id);
      if (int rc = s.step(); rc != SQLITE_DONE) return c.error(rc, "reassign agent");
      const bool moved = c.changes() == 1;
      if (auto st = tx->commit(); !st) return std::move(st).error();
      return moved;
    });
  }

  core::Result<std::optional<AgentRecord>> find_agent(std::string_view id) override {
    return b_->pool.with_reader([&](Connection& c) -> core::Result<std::optional<AgentRecord>> {
      SURVEYOR_TRY_STMT(s, c,
                        "SELECT id, key_hash, host_id, hostname, ci_id, agent_version, enrolled_at_ms, "
                        "last_seen_ms, last_sequence, heartbeat_interval_s, inventory_digest "
                        "FROM agents WHERE id = ?1");
      s.bind(1, id);
      const int rc = s.step();
      if (rc == SQLITE_DONE) return std::optional<AgentRecord>{};
      if (rc != SQLITE_ROW) return c.error(rc, "read agent");
      AgentRecord a;
      a.id = s.text(0);
      a.key_hash = s.text(1);
      a.host_id = s.text(2);
      a.hostname = s.text(3);
      a.ci_id = s.text(4);
      a.agent_version = s.text(5);
      a.enrolled_at_ms = s.int64(6);
      a.last_seen_ms = s.int64(7);
      a.last_sequence = static_cast<std::uint64_t>(s.int64(8));
      a.heartbeat_interval_s = static_cast<std::uint32_t>(s.int64(9));
      a.inventory_digest = s.text(10);
      return std::optional<AgentRecord>{std::move(a)};
    });
  }
};

std::shared_ptr<store::AgentStore> make_agent_store(std::shared_ptr<Backend> b) { return std::make_shared<SqliteAgentStore>(std::move(b)); }

}  // namespace surveyor::collector::sqlite
