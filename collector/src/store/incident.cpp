// SPDX-License-Identifier: Apache-2.0
// Incident names, the JSON document an incident is kept as, and the write
// protocol every backend follows.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "surveyor/collector/store/incidents.hpp"
#include "surveyor/core/names.hpp"

namespace surveyor::collector::store {

namespace json = boost::json;

constexpr core::Names<IncidentKind, 6> kKindNames{{{{IncidentKind::availability, "availability"},
                                                   {IncidentKind::capacity, "capacity"},
                                                   {IncidentKind::capacity_forecast, "capacity-forecast"},
                                                   {IncidentKind::sla_risk, "SLA-risk"},
                                                   {IncidentKind::sla_breach, "SLA-breach"},
                                                   {IncidentKind::unauthorised_change, "unauthorised-change"}}},
                                                 "availability"};
constexpr core::Names<IncidentState, 4> kStateNames{{{{IncidentState::open, "open"},
                                                     {IncidentState::acknowledged, "acknowledged"},
                                                     {IncidentState::resolved, "resolved"},
                                                     {IncidentState::closed, "closed"}}},
                                                   "open"};

std::string_view to_string(IncidentKind k) { return kKindNames.name(k); }
std::optional<IncidentKind> incident_kind_from(std::string_view s) { return kKindNames.parse(s); }
std::string_view to_string(IncidentState s) { return kStateNames.name(s); }
std::optional<IncidentState> incident_state_from(std::string_view s) { return kStateNames.parse(s); }

std::string incident_to_json(const Incident& i) {
  json::array timeline;
  for (const IncidentEvent& e : i.timeline)
    timeline.push_back(json::object{{"time_ms", e.time_ms}, {"by", e.by}, {"action", e.action}, {"text", e.text}});
  json::object o{{"id", i.id},
                 {"kind", to_string(i.kind)},
                 {"key", i.key},
                 {"subject", i.subject},
                 {"rule", i.rule},
                 {"summary", i.summary},
                 {"impact", i.impact},
                 {"urgency", i.urgency},
                 {"priority", i.priority},
                 {"state", to_string(i.state)},
                 {"opened_ms", i.opened_ms},
                 {"updated_ms", i.updated_ms},
                 {"acknowledged_ms", i.acknowledged_ms},
                 {"resolved_ms", i.resolved_ms},
                 {"closed_ms", i.closed_ms},
                 {"recovered_ms", i.recovered_ms},
                 {"parent", i.parent},
                 {"reopened", i.reopened},
                 {"timeline", std::move(timeline)}};
  return json::serialize(o);
}

core::Result<Incident> incident_from_json(std::string_view text) {
  auto bad = [](const std::string& why) { return core::make_error(StoreErrc::corrupt, "stored incident: " + why); };
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return bad("not a JSON object");
  const json::object& o = v.get_object();
  Incident i;
  try {
    auto str = [&](const char* k) { return std::string(o.at(k).as_string()); };
    auto num = [&](const char* k) { return o.at(k).to_number<std::int64_t>(); };
    i.id = str("id");
    auto kind = incident_kind_from(str("kind"));
    auto state = incident_state_from(str("state"));
    if (!kind || !state) return bad("unknown kind or state");
    i.kind = *kind;
    i.state = *state;
    i.key = str("key");
    i.subject = str("subject");
    i.rule = str("rule");
    i.summary = str("summary");
    i.impact = static_cast<int>(num("impact"));
    i.urgency = static_cast<int>(num("urgency"));
    i.priority = static_cast<int>(num("priority"));
    i.opened_ms = num("opened_ms");
    i.updated_ms = num("updated_ms");
    i.acknowledged_ms = num("acknowledged_ms");
    i.resolved_ms = num("resolved_ms");
    i.closed_ms = num("closed_ms");
    i.recovered_ms = num("recovered_ms");
    i.parent = str("parent");
    i.reopened = static_cast<int>(num("reopened"));
    for (const json::value& e : o.at("timeline").as_array()) {
      const json::object& eo = e.as_object();
      i.timeline.push_back({eo.at("time_ms").to_number<std::int64_t>(), std::string(eo.at("by").as_string()),
                            std::string(eo.at("action").as_string()), std::string(eo.at("text").as_string())});
    }
  } catch (const std::exception& e) {
    return bad(e.what());
  }
  return i;
}

core::Result<std::optional<Incident>> incident_update(const std::optional<Incident>& old, std::string_view id_asked,
                                                      const IncidentStore::Change& change,
                                                      const std::function<core::Result<std::int64_t>()>& next_number) {
  if (!old && !id_asked.empty()) return core::make_error(StoreErrc::not_found, "no incident " + std::string(id_asked));
  std::optional<Incident> next = change(old);
  if (!next) return next;
  if (next->id.empty()) {
    auto n = next_number();
    if (!n) return std::move(n).error();
    next->id = "INC-" + std::to_string(*n);
  } else if (!old || old->id != next->id) {
    return core::make_error(StoreErrc::invalid, "an incident keeps its id");
  }
  return next;
}

}  // namespace surveyor::collector::store
