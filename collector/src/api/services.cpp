// SPDX-License-Identifier: Apache-2.0
// Service definitions as loaded from the services directory, and the CIs
// each stands on.
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "query_params.hpp"
#include "surveyor/collector/api/api.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/duration.hpp"

namespace surveyor::collector::api {
namespace {

namespace json = boost::json;

json::object service_json(const services::Service& s) {
  json::array groups;
  for (const services::Group& g : s.groups) {
    json::array members;
    for (const std::string& m : g.members) members.emplace_back(m);
    json::object redundancy;
    switch (g.redundancy.kind) {
      case services::Redundancy::Kind::all: redundancy = {{"rule", "all"}}; break;
      case services::Redundancy::Kind::any: redundancy = {{"rule", "any"}}; break;
      case services::Redundancy::Kind::at_least: redundancy = {{"rule", "at_least"}, {"min", g.redundancy.min}}; break;
      case services::Redundancy::Kind::percent:
        redundancy = {{"rule", "percent"}, {"percent", g.redundancy.percent}};
        break;
    }
    groups.push_back(json::object{{"name", g.name}, {"members", std::move(members)}, {"redundancy", std::move(redundancy)}});
  }
  json::array rules;
  for (const capacity::CapacityRule& r : s.capacity_rules)
    rules.push_back(json::object{{"name", s.name + "/" + r.name},
                                 {"kind", r.kind == capacity::CapacityRule::Kind::sustained ? "sustained" : "forecast"},
                                 {"metric", r.metric},
                                 {"attributes", query::labels_json(r.match)},
                                 {"threshold", query::number_json(r.threshold)},
                                 {"direction", r.rising ? "above" : "below"}});
  return {{"name", s.name},
          {"owner", s.owner},
          {"criticality", s.criticality},
          {"description", s.description},
          {"sla", s.sla ? json::value(json::object{{"target_percent", s.sla->target_percent}, {"period", s.sla->period}})
                        : json::value(nullptr)},
          {"groups", std::move(groups)},
          {"capacity_rules", std::move(rules)},
          {"file", s.file}};
}

}  // namespace

http::Response Api::list_services() {
  json::array items, errors;
  if (options_.services) {
    options_.services->refresh();
    for (const services::Service& s : options_.services->list()) items.push_back(service_json(s));
    for (const auto& e : options_.services->errors())
      errors.push_back(json::object{{"file", e.file}, {"message", e.message}});
  }
  return server::json_response(200, json::serialize(json::object{{"items", std::move(items)}, {"errors", std::move(errors)}}));
}

http::Response Api::get_service(const server::Params& p) {
  const std::string& name = p.path.at("name");
  if (options_.services) options_.services->refresh();
  auto svc = options_.services ? options_.services->find(name) : std::nullopt;
  if (!svc) return fail(404, "not_found", "no service named '" + name + "'");
  auto members = services::member_cis(*options_.services, *stores_.cmdb, name);
  if (!members) return store_failure(members.error());
  json::object out = service_json(*svc);
  json::array cis, unresolved;
  for (const store::Ci& ci : members->cis)
    cis.push_back(json::object{{"id", ci.id}, {"type", ci.type}, {"name", ci.name}, {"state", std::string(store::to_string(ci.state))}});
  for (const std::string& u : members->unresolved) unresolved.emplace_back(u);
  out["member_cis"] = std::move(cis);
  out["unresolved"] = std::move(unresolved);
  return server::json_response(200, json::serialize(out));
}

http::Response Api::put_service(const http::Request& req, const server::Params& p) {
  const std::string& name = p.path.at("name");
  if (!options_.services) return fail(503, "unavailable", "services are not enabled");
  auto svc = services::parse_service(req.body, "api:" + name);
  if (!svc) return fail(400, "bad_request", svc.error().message);
  if (svc->name != name) return fail(400, "bad_request", "the definition names '" + svc->name + "', the path '" + name + "'");
  options_.services->refresh();
  if (auto held = options_.services->find(name); held && !held->file.starts_with("api:"))
    return fail(409, "conflict", "service '" + name + "' is defined in " + held->file + "; change it there");
  std::string origin(req.header("X-Surveyor-Origin"));
  if (origin.empty()) origin = "api";
  if (origin != "user" && origin != "api") return fail(400, "bad_request", "X-Surveyor-Origin must be user or api");
  const bool existed = options_.services->find(name).has_value();
  if (auto st = stores_.services->put_service({name, req.body, origin, core::to_unix_ms(clock_.now())}); !st)
    return store_failure(st.error());
  options_.services->refresh();
  auto stored = options_.services->find(name);
  if (!stored) return fail(500, "internal", "the service was stored but is not loaded");
  return server::json_response(existed ? 200 : 201, json::serialize(service_json(*stored)));
}

http::Response Api::delete_service(const server::Params& p) {
  const std::string& name = p.path.at("name");
  if (options_.services)
    if (auto held = options_.services->find(name); held && !held->file.starts_with("api:"))
      return fail(409, "conflict", "service '" + name + "' is defined in " + held->file + "; remove the file");
  auto removed = stores_.services->delete_service(name);
  if (!removed) return store_failure(removed.error());
  if (!*removed) return fail(404, "not_found", "no service named '" + name + "' defined through the API");
  if (options_.services) options_.services->refresh();
  return server::json_response(200, R"({"removed":true})");
}

}  // namespace surveyor::collector::api
