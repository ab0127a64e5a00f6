// SPDX-License-Identifier: Apache-2.0
// What the Redis Cluster tests share (cluster_test.cpp,
// cluster_agents_test.cpp): the keys on a node, their slots, the store's
// own master, reports of agt-1, audit records counted.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "redis/redis_conn.hpp"
#include "store/fixture.hpp"

namespace surveyor::collector::store {

// The keys of `node` that match `pattern` (redis-cli --scan).
inline std::vector<std::string> keys_matching(test::RedisCluster& cluster, std::size_t node,
                                              const std::string& pattern) {
  const std::string listed = cluster.ask(node, "--scan --pattern '" + pattern + "'");
  std::vector<std::string> out;
  for (std::size_t at = 0; at < listed.size();) {
    const std::size_t end = std::min(listed.find('\n', at), listed.size());
    out.push_back(listed.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

inline std::size_t count_keys(test::RedisCluster& cluster, std::size_t node,
                              const std::string& pattern) {
  return keys_matching(cluster, node, pattern).size();
}

// Whether every key of `node` matching `pattern` is in the hash slot of
// `tag`. (Other tests may share the cluster and, rarely, the slot: the
// keys are checked, not the slot's count.)
inline ::testing::AssertionResult all_in_slot_of(test::RedisCluster& cluster, std::size_t node,
                                                 const std::string& pattern,
                                                 const std::string& tag) {
  const std::uint16_t slot = redis::key_slot(tag);
  for (const std::string& k : keys_matching(cluster, node, pattern))
    if (redis::key_slot(k) != slot ||
        cluster.ask(node, "cluster keyslot '" + k + "'") != std::to_string(slot))
      return ::testing::AssertionFailure() << k << " is not in slot " << slot;
  return ::testing::AssertionSuccess();
}

// A report of agt-1 (sequence `sequence`) with one sample of cpu.load.
inline ReportBatch load_report(std::uint64_t sequence, std::int64_t at, double value) {
  ReportBatch b = report_batch("agt-1", sequence, at);
  b.series.push_back({series_info("ci-agt-1", "cpu.load"), {{at, value}}});
  return b;
}

// How many audit records `s` holds of CI `ci`.
inline std::size_t audit_records(const Stores& s, const std::string& ci) {
  AuditFilter f;
  f.ci_id = ci;
  auto got = s.audit->list_audit(f);
  EXPECT_TRUE(got) << got.error().describe();
  return got ? got->size() : 0u;
}

// The master of the store's own slot, "{PREFIX}".
inline std::size_t home_of(test::RedisCluster& cluster, const std::string& prefix) {
  return cluster.master_of("{" + prefix + "}");
}

// A report of agt-1 authenticated for `ci` (the key hash of agent_record).
inline ReportBatch signed_report(std::uint64_t sequence, const std::string& ci) {
  ReportBatch b = report_batch("agt-1", sequence, static_cast<std::int64_t>(sequence) * 60'000);
  b.agent_key_hash = agent_record("agt-1").key_hash;
  b.inventory_ci_id = ci;
  b.series.push_back({series_info(ci, "cpu.load"), {{b.received_at_ms, 0.5}}});
  return b;
}

}  // namespace surveyor::collector::store
