// SPDX-License-Identifier: Apache-2.0
// Incidents through the API (docs/api.md): list and filter, one with its
// timeline, people's actions, KPIs per period, the webhook delivery log.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <sstream>

#include "query_params.hpp"
#include "surveyor/collector/api/api.hpp"
#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/incidents/incidents.hpp"
#include "surveyor/core/clock.hpp"

namespace surveyor::collector::api {
namespace {

namespace json = boost::json;

json::value incident_value(const store::Incident& i) { return json::parse(store::incident_to_json(i)); }

// A period by name: "2026-11", "2026-W48" or "2026-Q4".
std::optional<sla::Period> any_period(std::string_view name) {
  for (const char* kind : {"month", "week", "quarter"})
    if (auto p = sla::period_named(kind, name)) return p;
  return std::nullopt;
}

}  // namespace

http::Response Api::list_incidents(const server::Params& p) {
  store::IncidentFilter f;
  const std::string states = p.query_or("state");
  std::istringstream in(states);
  for (std::string s; std::getline(in, s, ',');) {
    if (s == "active") {
      f.states.push_back(store::IncidentState::open);
      f.states.push_back(store::IncidentState::acknowledged);
      continue;
    }
    auto st = store::incident_state_from(s);
    if (!st) return fail(400, "bad_query", "state must be open, acknowledged, resolved, closed or active (comma-separated)");
    f.states.push_back(*st);
  }
  if (const std::string kind = p.query_or("kind"); !kind.empty()) {
    f.kind = store::incident_kind_from(kind);
    if (!f.kind)
      return fail(400, "bad_query",
                  "kind must be availability, capacity, capacity-forecast, SLA-risk, SLA-breach or unauthorised-change");
  }
  f.subject = p.query_or("subject");
  auto priority = query::count_param(p, "priority", 5, 1, 5);
  if (!priority) return query_failure(priority.error());
  f.max_priority = static_cast<int>(*priority);
  auto from = query::time_param(p, "from", INT64_MIN);
  if (!from) return query_failure(from.error());
  auto to = query::time_param(p, "to", INT64_MAX);
  if (!to) return query_failure(to.error());
  f.opened_from_ms = *from;
  f.opened_to_ms = *to;
  auto limit = query::count_param(p, "limit", 100, 1, 10'000);
  if (!limit) return query_failure(limit.error());
  f.limit = *limit;
  auto list = stores_.incidents->list_incidents(f);
  if (!list) return store_failure(list.error());
  json::array items;
  for (store::Incident& i : *list) {
    i.timeline.clear();  // the list is a summary; GET one for its timeline
    json::value v = incident_value(i);
    v.as_object().erase("timeline");
    items.push_back(std::move(v));
  }
  return server::json_response(200, json::serialize(json::object{{"items", std::move(items)}}));
}

http::Response Api::get_incident(const server::Params& p) {
  auto i = stores_.incidents->find_incident(p.path.at("id"));
  if (!i) return store_failure(i.error());
  if (!*i) return fail(404, "not_found", "no incident '" + p.path.at("id") + "'");
  json::value v = incident_value(**i);
  // The incidents linked to it.
  if ((*i)->parent.empty()) {
    store::IncidentFilter f;
    f.opened_from_ms = (*i)->opened_ms - 86'400'000;
    f.limit = 10'000;
    auto near = stores_.incidents->list_incidents(f);
    if (!near) return store_failure(near.error());
    json::array linked;
    for (const store::Incident& c : *near)
      if (c.parent == (*i)->id) linked.push_back(json::string(c.id));
    v.as_object()["linked"] = std::move(linked);
  }
  return server::json_response(200, json::serialize(v));
}

http::Response Api::act_on_incident(const http::Request& req, const server::Params& p) {
  auto body = query::object_body(req);
  if (auto* e = std::get_if<std::string>(&body)) return fail(400, "bad_request", *e);
  // Who acts is the token's holder, never what the body says.
  std::string text;
  if (auto e = query::string_member(std::get<json::object>(body), "text", text)) return fail(400, "bad_request", *e);
  if (text.size() > 16 * 1024) return fail(400, "bad_request", "text is at most 16 KiB");
  auto r = incidents::act(*stores_.incidents, p.path.at("id"), p.path.at("action"), p.actor, text,
                          core::to_unix_ms(clock_.now()));
  if (!r) {
    if (r.error().code == store::StoreErrc::not_found) return fail(404, "not_found", r.error().message);
    if (r.error().code == store::StoreErrc::conflict) return fail(409, "conflict", r.error().message);
    if (r.error().code == store::StoreErrc::invalid) return fail(400, "bad_request", r.error().message);
    return store_failure(r.error());
  }
  return server::json_response(200, json::serialize(incident_value(*r)));
}

http::Response Api::incident_kpis(const server::Params& p) {
  const std::int64_t now = core::to_unix_ms(clock_.now());
  std::optional<sla::Period> period;
  if (const std::string name = p.query_or("period"); !name.empty()) {
    period = any_period(name);
    if (!period) return fail(400, "bad_query", "period must be a month (2026-11), an ISO week (2026-W48) or a quarter (2026-Q4)");
  } else {
    period = sla::period_at("month", now);
  }
  auto kpis = evidence::period_kpis(stores_, period->start_ms, period->end_ms, now);
  if (!kpis) return store_failure(kpis.error());
  const incidents::Kpis& k = *kpis;
  json::object by_kind, by_priority;
  for (const auto& [kind, n] : k.by_kind) by_kind[kind] = n;
  for (const auto& [prio, n] : k.by_priority) by_priority["P" + std::to_string(prio)] = n;
  auto opt = [](const std::optional<std::int64_t>& v) { return v ? json::value(*v / 1000) : json::value(nullptr); };
  return server::json_response(
      200, json::serialize(json::object{{"period", period->name},
                                        {"start", core::format_rfc3339(period->start_ms)},
                                        {"end", core::format_rfc3339(period->end_ms)},
                                        {"opened", k.opened},
                                        {"resolved", k.resolved},
                                        {"by_kind", std::move(by_kind)},
                                        {"by_priority", std::move(by_priority)},
                                        {"availability_failures", k.failures},
                                        {"mttr_seconds", opt(k.mttr_ms)},
                                        {"mtbf_seconds", opt(k.mtbf_ms)}}));
}

http::Response Api::list_deliveries(const server::Params& p) {
  auto limit = query::count_param(p, "limit", 100, 1, 10'000);
  if (!limit) return query_failure(limit.error());
  auto list = stores_.incidents->list_deliveries(*limit);
  if (!list) return store_failure(list.error());
  json::array items;
  for (const store::Delivery& d : *list) {
    json::array ids;
    for (const std::string& i : d.incidents) ids.push_back(json::string(i));
    items.push_back(json::object{{"time", core::format_rfc3339(d.time_ms)},
                                 {"webhook", d.webhook},
                                 {"message_id", d.message_id},
                                 {"incidents", std::move(ids)},
                                 {"attempt", d.attempt},
                                 {"status", d.status},
                                 {"delivered", d.delivered},
                                 {"error", d.error}});
  }
  return server::json_response(200, json::serialize(json::object{{"items", std::move(items)}}));
}

// The routes of this file's handlers (docs/api.md).
void Api::routes_incidents(server::Router& r) {
  r.add("GET", "/api/v1/incidents", "incidents.list",
        [this](const http::Request&, const server::Params& p) { return list_incidents(p); });
  r.add("GET", "/api/v1/incidents/kpis", "incidents.kpis",
        [this](const http::Request&, const server::Params& p) { return incident_kpis(p); });
  r.add("GET", "/api/v1/incidents/{id}", "incidents.get",
        [this](const http::Request&, const server::Params& p) { return get_incident(p); });
  r.add("POST", "/api/v1/incidents/{id}/{action}", "incidents.act",
        [this](const http::Request& q, const server::Params& p) { return act_on_incident(q, p); });
  r.add("GET", "/api/v1/webhooks/deliveries", "webhooks.deliveries",
        [this](const http::Request&, const server::Params& p) { return list_deliveries(p); });
}

}  // namespace surveyor::collector::api
