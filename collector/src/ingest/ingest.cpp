// SPDX-License-Identifier: Apache-2.0
// Turns a wire report into store changes. The edge where wire types become
// the collector's domain: nothing past here sees a wire struct.
#include "surveyor/collector/ingest/ingest.hpp"

#include "surveyor/core/crypto.hpp"

namespace surveyor::collector::ingest {
namespace {

using store::AttrMap;

std::string cache_name(const wire::CpuCache& c) {
  std::string kind = c.kind == "data" ? "d" : c.kind == "instruction" ? "i" : "";
  return "l" + std::to_string(c.level) + kind;
}

void add_host(const wire::HostInfo& h, AttrMap& a) {
  a["host.id"] = h.host_id;
  a["host.name"] = h.hostname;
  a["host.arch"] = h.architecture;
  a["host.boot_time_ms"] = h.boot_time_ms;
  a["os.type"] = h.os_type;
  a["os.name"] = h.os_name;
  a["os.version"] = h.os_version;
  a["os.description"] = h.os_description;
  a["os.kernel"] = h.kernel_release;
  a["memory.total_bytes"] = static_cast<std::int64_t>(h.memory_total_bytes);
}

void add_cpu(const wire::CpuTopology& c, AttrMap& a) {
  a["cpu.packages"] = std::int64_t{c.packages};
  a["cpu.cores"] = std::int64_t{c.cores};
  a["cpu.pus"] = std::int64_t{c.pus};
  a["cpu.numa_nodes"] = std::int64_t{c.numa_nodes};
  a["cpu.model"] = c.model;
  a["cpu.vendor"] = c.vendor;
  for (const wire::CpuCache& k : c.caches) {
    const std::string p = "cpu.cache." + cache_name(k) + ".";
    a[p + "size_bytes"] = static_cast<std::int64_t>(k.size_bytes);
    a[p + "line_bytes"] = std::int64_t{k.line_bytes};
    a[p + "ways"] = std::int64_t{k.ways};
    a[p + "count"] = std::int64_t{k.count};
  }
}

// Applies one section: collected replaces the prefixes' attributes, empty
// clears them, failed and unchanged leave them alone.
template <class T, class F>
void apply_section(const wire::Section<T>& s, std::vector<std::string> prefixes, F&& add, store::CiUpdate& u) {
  if (s.state == wire::SectionState::collected && s.data) {
    add(*s.data, u.attributes);
    u.replace_prefixes.insert(u.replace_prefixes.end(), prefixes.begin(), prefixes.end());
  } else if (s.state == wire::SectionState::empty) {
    u.replace_prefixes.insert(u.replace_prefixes.end(), prefixes.begin(), prefixes.end());
  }
}

}  // namespace

std::string host_ci_id(std::string_view host_id) {
  return "host-" + core::sha256_hex("surveyor host.id:" + std::string(host_id)).substr(0, 24);
}

store::CiUpdate host_update(const std::string& ci_id, const wire::Inventory* inv, std::int64_t seen_at_ms) {
  store::CiUpdate u;
  u.id = ci_id;
  u.type = "host";
  u.source = "agent";
  u.seen_at_ms = seen_at_ms;
  if (inv != nullptr) {
    apply_section(inv->host, {"host.", "os.", "memory."}, add_host, u);
    if (inv->host.data && !inv->host.data->hostname.empty()) u.name = inv->host.data->hostname;
    apply_section(inv->cpu, {"cpu."}, add_cpu, u);
  }
  return u;
}

store::ReportBatch to_batch(const wire::Report& r, const store::AgentRecord& agent, std::int64_t received_at_ms) {
  store::ReportBatch b;
  b.agent_id = agent.id;
  b.sequence = r.sequence;
  b.received_at_ms = received_at_ms;
  b.heartbeat_interval_s = r.heartbeat_interval_s;
  if (r.inventory && !r.inventory_digest.empty()) b.inventory_digest = r.inventory_digest;
  store::CiUpdate host = host_update(agent.ci_id, r.inventory ? &*r.inventory : nullptr, received_at_ms);
  if (host.name.empty() && agent.hostname.size() > 0) host.name = agent.hostname;
  b.cis.push_back(std::move(host));

  for (const wire::Series& s : r.series) {
    store::SeriesInfo info{{agent.ci_id, s.metric, {}}, s.unit};
    info.key.attributes.reserve(s.attributes.size());
    for (const wire::Attribute& a : s.attributes) info.key.attributes.emplace_back(a.key, a.value);
    std::vector<store::Sample> samples;
    samples.reserve(s.points.size());
    for (const wire::Point& p : s.points) samples.push_back({p.time_ms, p.value});
    b.series.emplace_back(std::move(info), std::move(samples));
  }
  for (const wire::CheckResult& c : r.checks) {
    store::Labels labels{{"check", c.name}, {"kind", c.kind}};
    b.series.push_back({store::SeriesInfo{{agent.ci_id, "surveyor.check.status", labels}, "1"},
                        {{c.time_ms, static_cast<double>(static_cast<unsigned>(c.state))}}});
    b.series.push_back({store::SeriesInfo{{agent.ci_id, "surveyor.check.duration", labels}, "s"},
                        {{c.time_ms, static_cast<double>(c.duration_ms) / 1000.0}}});
  }
  return b;
}

bool inventory_wanted(const wire::Report& r, const store::AgentRecord& agent) {
  if (r.inventory) {
    // A delta is only meaningful on top of a full inventory the collector has.
    const bool delta = r.inventory->host.state == wire::SectionState::unchanged ||
                       r.inventory->cpu.state == wire::SectionState::unchanged;
    return delta && agent.inventory_digest.empty();
  }
  return r.inventory_digest != agent.inventory_digest;
}

}  // namespace surveyor::collector::ingest
