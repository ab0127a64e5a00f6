// SPDX-License-Identifier: Apache-2.0
// Configuration items as JSON: the list and one CI with its latest samples.
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <tuple>
#include <cmath>

#include <boost/json/parse.hpp>

#include "query_params.hpp"
#include "surveyor/collector/api/api.hpp"
#include "surveyor/wire/inventory.hpp"

namespace surveyor::collector::api {
namespace {

namespace json = boost::json;

json::object ci_summary(const store::Ci& c) {
  return json::object{{"id", c.id},
                      {"type", c.type},
                      {"name", c.name},
                      {"state", std::string(store::to_string(c.state))},
                      {"source", c.source},
                      {"first_seen", core::format_rfc3339(c.first_seen_ms)},
                      {"last_seen", core::format_rfc3339(c.last_seen_ms)},
                      {"updated", core::format_rfc3339(c.updated_ms)}};
}

json::value number_or_null(double v) {
  if (std::isfinite(v)) return v;
  return nullptr;
}

bool parse_size(const std::string& text, std::size_t& out) {
  if (text.empty()) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size();
}

}  // namespace

http::Response Api::list_cis(const server::Params& p) {
  store::CiFilter f;
  f.type = p.query_or("type");
  f.name = p.query_or("name");
  f.name_prefix = p.query_or("prefix");
  if (f.name.find('\x1f') != std::string::npos || f.name_prefix.find('\x1f') != std::string::npos)
    return fail(400, "bad_query", "name and prefix may not hold control character 0x1f");
  if (const std::string st = p.query_or("state"); !st.empty()) {
    f.state = store::ci_state_from(st);
    if (!f.state) return fail(400, "bad_query", "state must be active, missing or retired");
  }
  if (const std::string l = p.query_or("limit"); !l.empty() && (!parse_size(l, f.limit) || f.limit == 0 || f.limit > 10'000))
    return fail(400, "bad_query", "limit must be an integer from 1 to 10000");
  if (const std::string o = p.query_or("offset"); !o.empty() && (!parse_size(o, f.offset) || f.offset > 1'000'000'000))
    return fail(400, "bad_query", "offset must be an integer from 0 to 1000000000");
  const std::string include = p.query_or("include");
  if (!include.empty() && include != "utilization") return fail(400, "bad_query", "include must be utilization");
  std::vector<store::Ci> page;
  std::size_t total = 0;
  if (const std::string service = p.query_or("service"); !service.empty()) {
    // A service's CIs (through its service: members too): few enough to
    // filter and page here.
    if (!options_.services || !options_.services->find(service))
      return fail(404, "not_found", "no service named '" + service + "'");
    auto members = services::member_cis(*options_.services, *stores_.cmdb, service);
    if (!members) return store_failure(members.error());
    std::vector<store::Ci> kept;
    for (store::Ci& c : members->cis)
      if ((f.type.empty() || c.type == f.type) && (f.name.empty() || c.name == f.name) &&
          c.name.starts_with(f.name_prefix) && (!f.state || c.state == *f.state))
        kept.push_back(std::move(c));
    std::sort(kept.begin(), kept.end(),
              [](const store::Ci& a, const store::Ci& b) { return std::tie(a.name, a.id) < std::tie(b.name, b.id); });
    total = kept.size();
    for (std::size_t i = f.offset; i < kept.size() && page.size() < f.limit; ++i) page.push_back(std::move(kept[i]));
  } else {
    auto cis = stores_.cmdb->list_cis(f);
    if (!cis) return store_failure(cis.error());
    auto counted = stores_.cmdb->count_cis(f);
    if (!counted) return store_failure(counted.error());
    page = std::move(*cis);
    total = *counted;
  }
  json::array items;
  for (const store::Ci& c : page) items.push_back(ci_summary(c));
  if (include == "utilization") {
    auto st = add_utilization(page, items);
    if (!st) return store_failure(st.error());
  }
  json::object o{{"count", items.size()}, {"total", total}, {"limit", f.limit}, {"offset", f.offset},
                 {"items", std::move(items)}};
  return server::json_response(200, json::serialize(o));
}

// Each CI's latest CPU (busy share), memory (used share) and fullest
// filesystem utilisation, for the fleet page: three reads for the page.
core::Status Api::add_utilization(const std::vector<store::Ci>& cis, json::array& items) {
  std::vector<std::string> ids;
  for (const store::Ci& c : cis) ids.push_back(c.id);
  struct Wanted {
    const char* metric;
    const char* key;
  };
  for (const Wanted w : {Wanted{"system.cpu.utilization", "cpu"}, Wanted{"system.memory.utilization", "memory"},
                         Wanted{"system.filesystem.utilization", "filesystem"}}) {
    auto latest = stores_.series->latest_samples_of(ids, w.metric);
    if (!latest) return std::move(latest).error();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      json::object& item = items[i].as_object();
      if (!item.contains("utilization")) item["utilization"] = json::object{};
      json::object& u = item["utilization"].as_object();
      for (const store::LatestSample& s : (*latest)[i]) {
        const auto& attrs = s.series.key.attributes;
        const auto state = std::find_if(attrs.begin(), attrs.end(), [](const auto& kv) { return kv.first == "state"; });
        if (w.key == std::string_view("cpu") && !attrs.empty()) continue;  // the total only
        if (w.key == std::string_view("memory") && (state == attrs.end() || state->second != "used")) continue;
        if (!std::isfinite(s.sample.value)) continue;
        if (u.contains(w.key) && u.at(w.key).as_object().at("value").as_double() >= s.sample.value) continue;
        json::object v{{"value", s.sample.value}, {"time", core::format_rfc3339(s.sample.time_ms)}};
        const auto mount = std::find_if(attrs.begin(), attrs.end(), [](const auto& kv) { return kv.first == "mountpoint"; });
        if (mount != attrs.end()) v["mountpoint"] = mount->second;
        u[w.key] = std::move(v);
      }
    }
  }
  return {};
}

http::Response Api::get_ci(const server::Params& p) {
  const std::string& id = p.path.at("id");
  auto ci = existing_ci(id);
  if (!ci) return ci_failure(ci.error());
  json::object o = ci_summary(*ci);
  o["attributes"] = query::attributes_json(ci->attributes);
  auto latest = stores_.series->latest_samples(id);
  if (!latest) return store_failure(latest.error());
  json::array samples;
  for (const store::LatestSample& s : *latest) {
    json::object labels;
    for (const auto& [k, v] : s.series.key.attributes) labels[k] = v;
    samples.push_back(json::object{{"metric", s.series.key.metric},
                                   {"attributes", std::move(labels)},
                                   {"unit", s.series.unit},
                                   {"time", core::format_rfc3339(s.sample.time_ms)},
                                   {"value", number_or_null(s.sample.value)}});
  }
  o["latest_samples"] = std::move(samples);
  return server::json_response(200, json::serialize(o));
}

http::Response Api::get_inventory(const server::Params& p) {
  const std::string& id = p.path.at("id");
  auto ci = existing_ci(id);
  if (!ci) return ci_failure(ci.error());
  auto held = stores_.inventory->get_inventory(id);
  if (!held) return store_failure(held.error());
  json::array sections;
  // In the order the agent defines them, not alphabetically.
  for (std::string_view name : wire::kSectionNames) {
    for (const store::InventorySection& s : *held) {
      if (s.name != name) continue;
      json::value data = nullptr;
      if (!s.data_json.empty()) {
        boost::system::error_code ec;
        data = json::parse(s.data_json, ec);
        if (ec) data = nullptr;
      }
      json::object o{{"name", s.name}, {"state", s.state}, {"digest", s.digest},
                     {"updated", core::format_rfc3339(s.updated_ms)}, {"data", std::move(data)}};
      if (!s.reason.empty()) o["reason"] = s.reason;
      sections.push_back(std::move(o));
    }
  }
  json::object o{{"ci_id", id}, {"sections", std::move(sections)}};
  return server::json_response(200, json::serialize(o));
}

// The routes of this file's handlers (docs/api.md).
void Api::routes_cis(server::Router& r) {
  r.add("GET", "/api/v1/cis", "cis.list", [this](const http::Request&, const server::Params& p) { return list_cis(p); });
  r.add("GET", "/api/v1/cis/{id}", "cis.get", [this](const http::Request&, const server::Params& p) { return get_ci(p); });
  r.add("GET", "/api/v1/cis/{id}/inventory", "cis.inventory",
        [this](const http::Request&, const server::Params& p) { return get_inventory(p); });
}

}  // namespace surveyor::collector::api
