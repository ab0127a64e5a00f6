// SPDX-License-Identifier: Apache-2.0
// The CMDB beyond what agents report: CIs and relationships made by people
// and integrations, the audit trail and a CI as it was at a time, change
// records, impact analysis and what a service depends on.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "query_params.hpp"
#include "surveyor/collector/availability/availability.hpp"
#include "surveyor/collector/api/api.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/core/crypto.hpp"

namespace surveyor::collector::api {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxIdLength = 256;

bool valid_id(std::string_view id) {
  // "service:" names services in the dependency graph.
  return !id.empty() && id.size() <= kMaxIdLength && !id.starts_with("service:") &&
         std::all_of(id.begin(), id.end(), [](char c) { return c > ' ' && c != 0x7f && c != '/' && c != '\x1f'; });
}

using query::object_body;
using query::string_member;

std::optional<std::string> origin_member(const json::object& o, std::string& out) {
  out = "api";
  if (auto e = string_member(o, "origin", out)) return e;
  if (out != "user" && out != "api") return std::string("origin must be user or api");
  return std::nullopt;
}

// Scalar attributes; an error text for anything else.
std::optional<std::string> attributes_member(const json::object& o, store::AttrMap& out) {
  auto it = o.find("attributes");
  if (it == o.end()) return std::nullopt;
  if (!it->value().is_object()) return std::string("attributes must be an object");
  for (const auto& kv : it->value().get_object()) {
    const std::string key(kv.key());
    if (key.empty() || key.size() > 256) return "attribute names are 1-256 characters";
    // What the agent reports of itself (its heartbeat interval drives the
    // host's availability) is the agent's alone.
    if (key.starts_with("agent."))
      return "attribute '" + key + "' is reported by the host's agent and cannot be set through the API";
    const json::value& v = kv.value();
    if (v.is_string()) out[key] = std::string(v.get_string());
    else if (v.is_int64()) out[key] = v.get_int64();
    else if (v.is_uint64()) out[key] = static_cast<double>(v.get_uint64());
    else if (v.is_double() && std::isfinite(v.get_double())) out[key] = v.get_double();
    else if (v.is_bool()) out[key] = v.get_bool();
    else return "attribute '" + key + "' must be a string, a finite number or a boolean";
  }
  return std::nullopt;
}

json::value json_text(const std::string& text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return ec ? json::value(text) : v;
}

json::object audit_json(const store::AuditRecord& r) {
  return {{"id", r.id},
          {"time", core::format_rfc3339(r.time_ms)},
          {"ci_id", r.ci_id},
          {"kind", r.kind},
          {"key", r.key},
          {"old", json_text(r.old_value)},
          {"new", json_text(r.new_value)},
          {"origin", r.origin},
          {"actor", r.actor.empty() ? json::value(nullptr) : json::value(r.actor)},
          {"change_id", r.change_id.empty() ? json::value(nullptr) : json::value(r.change_id)},
          {"unauthorized", r.unauthorized},
          {"alert", r.alert},
          {"seq", r.seq},
          {"prev_hash", r.prev_hash},
          {"hash", r.hash}};
}

// A checkpoint's heads, {"CI": {"seq": N, "hash": "HEX"}, ...}.
std::variant<store::AuditHeads, std::string> heads_from_json(const json::value& v) {
  if (!v.is_object()) return std::string("checkpoint.heads must be an object of CI ids");
  store::AuditHeads out;
  for (const auto& [ci, link] : v.get_object()) {
    const std::string where = "checkpoint.heads[\"" + std::string(ci.substr(0, 64)) + "\"]";
    if (!valid_id(ci)) return where + ": not a CI id";
    const json::object* o = link.if_object();
    const json::value* seq = o ? o->if_contains("seq") : nullptr;
    const json::value* hash = o ? o->if_contains("hash") : nullptr;
    if (!seq || !seq->is_int64() || seq->get_int64() < 1 || !hash || !hash->is_string() ||
        hash->get_string().size() != 64 ||
        !std::all_of(hash->get_string().begin(), hash->get_string().end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
      return where + " must be {\"seq\": a whole number from 1, \"hash\": 64 lower-case hex digits}";
    out.emplace(std::string(ci), store::AuditLink{seq->get_int64(), std::string(hash->get_string())});
  }
  return out;
}

json::object heads_json(const store::AuditHeads& heads) {
  json::object out;
  for (const auto& [ci, link] : heads) out[ci] = json::object{{"seq", link.seq}, {"hash", link.hash}};
  return out;
}

json::object relationship_json(const store::Relationship& r) {
  return {{"from", r.from}, {"type", r.type}, {"to", r.to}, {"origin", r.origin},
          {"created", core::format_rfc3339(r.created_ms)}};
}

// A JSON document the collector stored, or null (none, or unreadable).
json::value stored_json(const std::string& text) {
  boost::system::error_code ec;
  json::value v = text.empty() ? json::value(nullptr) : json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
}

json::object change_json(const store::ChangeRecord& c) {
  json::array cis;
  for (const std::string& id : c.ci_ids) cis.emplace_back(id);
  return {{"id", c.id},
          {"reference", c.reference},
          {"cis", std::move(cis)},
          {"start", core::format_rfc3339(c.start_ms)},
          {"end", core::format_rfc3339(c.end_ms)},
          {"description", c.description},
          {"origin", c.origin},
          {"actor", c.actor.empty() ? json::value(nullptr) : json::value(c.actor)},
          {"created", core::format_rfc3339(c.created_ms)},
          {"impact", stored_json(c.impact)}};
}

// What a change to these CIs puts at risk, kept with the change record: each
// CI analysed as if it failed alone (docs/cmdb.md); per service reached the
// worst verdict and the CI it comes from, and the CIs that would fail with
// any of them.
std::string change_impact_json(const impact::Graph& g, const std::vector<std::string>& ci_ids, std::int64_t now_ms) {
  // Each CI once, and at most 1,000 of them analysed (truncated says so).
  constexpr std::size_t kMaxAnalysed = 1'000;
  const std::set<std::string> cis(ci_ids.begin(), ci_ids.end());
  std::map<std::string, std::pair<impact::Verdict, json::object>> services;
  std::set<std::string> affected;
  bool truncated = cis.size() > kMaxAnalysed;
  std::size_t analysed = 0;
  for (const std::string& ci : cis) {
    if (analysed++ == kMaxAnalysed) break;
    const impact::ImpactResult r = impact::analyse(g, ci, [&g](std::string_view c) { return g.active(c); });
    truncated = truncated || r.truncated;
    for (const impact::AffectedCi& a : r.cis) affected.insert(a.id);
    for (const impact::ServiceImpact& s : r.services) {
      auto it = services.find(s.service);
      if (it != services.end() && it->second.first >= s.verdict) continue;
      services[s.service] = {s.verdict, json::object{{"service", s.service},
                                                     {"verdict", std::string(impact::to_string(s.verdict))},
                                                     {"criticality", s.criticality},
                                                     {"through", ci}}};
    }
  }
  json::array list;
  for (auto& entry : services) list.push_back(std::move(entry.second.second));
  std::stable_sort(list.begin(), list.end(), [](const json::value& a, const json::value& b) {
    auto rank = [](const json::value& v) {
      const auto& verdict = v.at("verdict").as_string();
      return verdict == "down" ? 0 : verdict == "degraded" ? 1 : 2;
    };
    return rank(a) < rank(b);
  });
  return json::serialize(json::object{{"analysed", core::format_rfc3339(now_ms)},
                                      {"services", std::move(list)},
                                      {"cis_affected", affected.size()},
                                      {"truncated", truncated}});
}

// The attributes a CI had at `t`, from the attributes now and the audit
// entries after t undone, newest first.
store::AttrMap attributes_at(store::AttrMap now, const std::vector<store::AuditRecord>& newest_first) {
  for (const store::AuditRecord& r : newest_first) {
    if (r.kind != "attribute") continue;
    if (r.old_value.empty()) {
      now.erase(r.key);
      continue;
    }
    auto back = store::attrs_from_json("{\"v\":" + r.old_value + "}");
    if (back && back->contains("v")) now[r.key] = back->at("v");
  }
  return now;
}

}  // namespace

http::Response Api::create_ci(const http::Request& req, const server::Params& p) {
  auto body = object_body(req);
  if (auto* e = std::get_if<std::string>(&body)) return fail(400, "bad_request", *e);
  const json::object& o = std::get<json::object>(body);
  store::CiUpdate u;
  std::string err_holder;
  for (auto [key, out] : {std::pair{"id", &u.id}, {"type", &u.type}, {"name", &u.name}})
    if (auto e = string_member(o, key, *out)) return fail(400, "bad_request", *e);
  if (auto e = origin_member(o, u.source)) return fail(400, "bad_request", *e);
  if (auto e = attributes_member(o, u.attributes)) return fail(400, "bad_request", *e);
  if (u.type.empty() || u.name.empty()) return fail(400, "bad_request", "type and name are required");
  if (u.type.size() > 64 || u.name.size() > 256) return fail(400, "bad_request", "type or name too long");
  if (u.id.empty()) u.id = u.type + "-" + core::random_hex(12);
  u.actor = p.actor;
  if (!valid_id(u.id)) return fail(400, "bad_request", "id must be 1-256 printable characters without '/'");
  auto existing = stores_.cmdb->find_ci(u.id);
  if (!existing) return store_failure(existing.error());
  if (*existing) return fail(409, "conflict", "a CI with id '" + u.id + "' exists");
  u.seen_at_ms = core::to_unix_ms(clock_.now());
  auto ci = stores_.cmdb->upsert_ci(u);
  if (!ci) return store_failure(ci.error());
  json::object out{{"id", ci->id}, {"type", ci->type}, {"name", ci->name}, {"source", ci->source},
                   {"attributes", query::attributes_json(ci->attributes)}};
  return server::json_response(201, json::serialize(out));
}

http::Response Api::update_ci(const http::Request& req, const server::Params& p) {
  const std::string& id = p.path.at("id");
  auto body = object_body(req);
  if (auto* e = std::get_if<std::string>(&body)) return fail(400, "bad_request", *e);
  const json::object& o = std::get<json::object>(body);
  auto existing = existing_ci(id);
  if (!existing) return ci_failure(existing.error());
  store::CiUpdate u;
  u.id = id;
  u.type = existing->type;
  if (auto e = string_member(o, "name", u.name)) return fail(400, "bad_request", *e);
  if (auto e = origin_member(o, u.source)) return fail(400, "bad_request", *e);
  if (auto e = attributes_member(o, u.attributes)) return fail(400, "bad_request", *e);
  u.seen_at_ms = std::max(core::to_unix_ms(clock_.now()), existing->last_seen_ms);
  u.actor = p.actor;
  auto ci = stores_.cmdb->upsert_ci(u);
  if (!ci) return store_failure(ci.error());
  json::array protected_keys;
  for (const std::string& k : ci->protected_keys) protected_keys.emplace_back(k);
  json::object out{{"id", ci->id}, {"type", ci->type}, {"name", ci->name},
                   {"attributes", query::attributes_json(ci->attributes)}, {"protected", std::move(protected_keys)}};
  return server::json_response(200, json::serialize(out));
}

http::Response Api::ci_relationships(const server::Params& p) {
  const std::string& id = p.path.at("id");
  auto ci = existing_ci(id);
  if (!ci) return ci_failure(ci.error());
  auto rels = stores_.relations->relationships_of(id);
  if (!rels) return store_failure(rels.error());
  json::array items;
  for (const store::Relationship& r : *rels) items.push_back(relationship_json(r));
  return server::json_response(200, json::serialize(json::object{{"ci_id", id}, {"items", std::move(items)}}));
}

http::Response Api::add_relationship(const http::Request& req, const server::Params& p) {
  auto body = object_body(req);
  if (auto* e = std::get_if<std::string>(&body)) return fail(400, "bad_request", *e);
  const json::object& o = std::get<json::object>(body);
  store::Relationship r;
  for (auto [key, out] : {std::pair{"from", &r.from}, {"type", &r.type}, {"to", &r.to}})
    if (auto e = string_member(o, key, *out)) return fail(400, "bad_request", *e);
  if (auto e = origin_member(o, r.origin)) return fail(400, "bad_request", *e);
  if (!store::valid_relationship_type(r.type))
    return fail(400, "bad_request", "type must be runs_on, depends_on, connected_to, contains, uses or member_of");
  if (r.from.empty() || r.to.empty()) return fail(400, "bad_request", "from and to are required");
  if (r.from == r.to) return fail(400, "bad_request", "a CI cannot relate to itself");
  r.created_ms = core::to_unix_ms(clock_.now());
  auto added = stores_.relations->add_relationship(r, p.actor);
  if (!added) {
    if (added.error().code == store::StoreErrc::not_found) return fail(404, "not_found", added.error().message);
    return store_failure(added.error());
  }
  return server::json_response(*added ? 201 : 200, json::serialize(relationship_json(r)));
}

http::Response Api::remove_relationship(const server::Params& p) {
  store::Relationship r{p.query_or("from"), p.query_or("type"), p.query_or("to"), "", 0};
  if (r.from.empty() || r.type.empty() || r.to.empty()) return fail(400, "bad_query", "from, type and to are required");
  std::string origin = p.query_or("origin", "api");
  if (origin != "user" && origin != "api") return fail(400, "bad_query", "origin must be user or api");
  auto removed = stores_.relations->remove_relationship(r, origin, p.actor, core::to_unix_ms(clock_.now()));
  if (!removed) return store_failure(removed.error());
  if (!*removed) return fail(404, "not_found", "no such relationship");
  return server::json_response(200, R"({"removed":true})");
}

http::Response Api::list_audit(const server::Params& p) {
  store::AuditFilter f;
  f.ci_id = p.query_or("ci");
  f.kind = p.query_or("kind");
  auto from = query::time_param(p, "from", INT64_MIN);
  if (!from) return query_failure(from.error());
  auto to = query::time_param(p, "to", INT64_MAX);
  if (!to) return query_failure(to.error());
  f.from_ms = *from;
  f.to_ms = *to;
  const std::string unauthorized = p.query_or("unauthorized", "false");
  if (unauthorized != "true" && unauthorized != "false") return fail(400, "bad_query", "unauthorized must be true or false");
  f.unauthorized = unauthorized == "true";
  auto limit = query::count_param(p, "limit", 100, 1, 10'000);
  if (!limit) return query_failure(limit.error());
  f.limit = *limit;
  auto list = stores_.audit->list_audit(f);
  if (!list) return store_failure(list.error());
  json::array items;
  for (const store::AuditRecord& r : *list) items.push_back(audit_json(r));
  return server::json_response(200, json::serialize(json::object{{"items", std::move(items)}}));
}

// Walks the chains and checks every entry; with a checkpoint (the
// "checkpoint" of an earlier answer), also that no chain was cut short,
// removed or rewritten since.
http::Response Api::verify_audit(const http::Request& req) {
  store::AuditHeads checkpoint;
  std::string ci;
  if (!req.body.empty()) {
    auto body = object_body(req);
    if (auto* e = std::get_if<std::string>(&body)) return fail(400, "bad_request", *e);
    const json::object& o = std::get<json::object>(body);
    if (auto e = string_member(o, "ci", ci)) return fail(400, "bad_request", *e);
    if (!ci.empty() && !valid_id(ci)) return fail(400, "bad_request", "ci is not a CI id");
    if (const json::value* cp = o.if_contains("checkpoint"); cp && !cp->is_null()) {
      const json::value* heads = cp->is_object() ? cp->get_object().if_contains("heads") : nullptr;
      if (!heads) return fail(400, "bad_request", "checkpoint must be an object with heads");
      auto parsed = heads_from_json(*heads);
      if (auto* e = std::get_if<std::string>(&parsed)) return fail(400, "bad_request", *e);
      checkpoint = std::move(std::get<store::AuditHeads>(parsed));
      const json::value* digest = cp->get_object().if_contains("digest");
      if (digest && (!digest->is_string() || digest->get_string() != store::audit_heads_digest(checkpoint)))
        return fail(400, "bad_request", "the checkpoint's digest does not match its heads: the checkpoint was altered");
    }
  }
  // Verifying one CI holds it to its own head of the checkpoint only.
  if (!ci.empty())
    std::erase_if(checkpoint, [&](const auto& entry) { return entry.first != ci; });
  const std::int64_t now = core::to_unix_ms(clock_.now());
  store::AuditChainCheck check(std::move(checkpoint));
  auto walked = stores_.audit->walk_audit(ci, [&](const store::AuditRecord& r) -> core::Status {
    check.add(r);
    return {};
  });
  if (!walked) return store_failure(walked.error());
  check.finish();
  json::value first_break = nullptr;
  if (check.first_break)
    first_break = json::object{{"ci_id", check.first_break->ci_id},
                               {"seq", check.first_break->seq},
                               {"entry_id", check.first_break->entry_id.empty() ? json::value(nullptr)
                                                                              : json::value(check.first_break->entry_id)},
                               {"reason", check.first_break->reason}};
  json::object out{{"verified", !check.first_break},
                   {"ci", ci.empty() ? json::value(nullptr) : json::value(ci)},
                   {"cis", check.cis},
                   {"entries", check.entries},
                   {"unchained", check.unchained},
                   {"first_break", std::move(first_break)},
                   {"checkpoint", json::object{{"taken", core::format_rfc3339(now)},
                                               {"ci", ci.empty() ? json::value(nullptr) : json::value(ci)},
                                               {"digest", store::audit_heads_digest(check.heads)},
                                               {"heads", heads_json(check.heads)}}}};
  return server::json_response(200, json::serialize(out));
}

http::Response Api::ci_history(const server::Params& p) {
  const std::string& id = p.path.at("id");
  auto ci = existing_ci(id);
  if (!ci) return ci_failure(ci.error());
  const std::int64_t now = core::to_unix_ms(clock_.now());
  auto at = query::time_param(p, "at", now);
  if (!at) return query_failure(at.error());
  auto since = query::time_param(p, "since", INT64_MIN);
  if (!since) return query_failure(since.error());
  // Everything after the earlier of the two times, newest first.
  const std::int64_t from = std::min(*at, *since == INT64_MIN ? *at : *since);
  store::AuditFilter f;
  f.ci_id = id;
  f.from_ms = from + 1;
  f.limit = 100'000;
  auto after = stores_.audit->list_audit(f);
  if (!after) return store_failure(after.error());
  if (after->size() == f.limit) return fail(422, "query_too_large", "more than 100000 changes since then");
  auto at_time = [&](std::int64_t t) {
    std::vector<store::AuditRecord> undo;
    for (const store::AuditRecord& r : *after)
      if (r.time_ms > t) undo.push_back(r);
    return attributes_at(ci->attributes, undo);
  };
  const bool existed = ci->first_seen_ms <= *at;
  json::object out{{"ci_id", id}, {"at", core::format_rfc3339(*at)}, {"existed", existed},
                   {"attributes", existed ? json::value(query::attributes_json(at_time(*at))) : json::value(nullptr)}};
  if (*since != INT64_MIN) {
    // What changed between the two times, oldest first.
    json::array changes;
    for (auto it = after->rbegin(); it != after->rend(); ++it)
      if (it->time_ms > *since && it->time_ms <= *at) changes.push_back(audit_json(*it));
    out["since"] = core::format_rfc3339(*since);
    out["attributes_since"] =
        ci->first_seen_ms <= *since ? json::value(query::attributes_json(at_time(*since))) : json::value(nullptr);
    out["changes"] = std::move(changes);
  }
  return server::json_response(200, json::serialize(out));
}

http::Response Api::create_change(const http::Request& req, const server::Params& p) {
  auto body = object_body(req);
  if (auto* e = std::get_if<std::string>(&body)) return fail(400, "bad_request", *e);
  const json::object& o = std::get<json::object>(body);
  store::ChangeRecord c;
  std::string start, end;
  for (auto [key, out] : {std::pair{"reference", &c.reference}, {"description", &c.description}, {"start", &start},
                          {"end", &end}})
    if (auto e = string_member(o, key, *out)) return fail(400, "bad_request", *e);
  if (auto e = origin_member(o, c.origin)) return fail(400, "bad_request", *e);
  c.actor = p.actor;
  if (c.reference.empty() || c.reference.size() > 128) return fail(400, "bad_request", "reference is required (1-128 characters)");
  auto s = core::parse_time(start);
  auto e = core::parse_time(end);
  if (!s || !e) return fail(400, "bad_request", "start and end are required: RFC 3339 or Unix milliseconds");
  if (*e <= *s) return fail(400, "bad_request", "end must be after start");
  c.start_ms = *s;
  c.end_ms = *e;
  auto cis = o.find("cis");
  if (cis == o.end() || !cis->value().is_array() || cis->value().get_array().empty())
    return fail(400, "bad_request", "cis must be a non-empty array of CI ids");
  if (cis->value().get_array().size() > 10'000) return fail(400, "bad_request", "more than 10000 CIs");
  for (const json::value& v : cis->value().get_array()) {
    if (!v.is_string()) return fail(400, "bad_request", "cis must be CI ids");
    const std::string id(v.get_string());
    auto ci = existing_ci(id);
    if (!ci) return ci_failure(ci.error());
    c.ci_ids.push_back(id);
  }
  c.created_ms = core::to_unix_ms(clock_.now());
  auto graph = graphs_->graph(c.created_ms);
  if (!graph) return store_failure(graph.error());
  c.impact = change_impact_json(**graph, c.ci_ids, c.created_ms);
  auto created = stores_.changes->create_change(c);
  if (!created) return store_failure(created.error());
  return server::json_response(201, json::serialize(change_json(*created)));
}

http::Response Api::list_changes(const server::Params& p) {
  store::ChangeFilter f;
  f.ci_id = p.query_or("ci");
  const std::string active = p.query_or("current", "false");
  if (active != "true" && active != "false") return fail(400, "bad_query", "current must be true or false");
  if (active == "true") f.ends_after_ms = core::to_unix_ms(clock_.now());
  auto limit = query::count_param(p, "limit", 100, 1, 10'000);
  if (!limit) return query_failure(limit.error());
  f.limit = *limit;
  auto list = stores_.changes->list_changes(f);
  if (!list) return store_failure(list.error());
  json::array items;
  for (const store::ChangeRecord& c : *list) items.push_back(change_json(c));
  return server::json_response(200, json::serialize(json::object{{"items", std::move(items)}}));
}

http::Response Api::get_change(const server::Params& p) {
  auto c = stores_.changes->find_change(p.path.at("id"));
  if (!c) return store_failure(c.error());
  if (!*c) return fail(404, "not_found", "no change '" + p.path.at("id") + "'");
  store::AuditFilter f;
  json::object out = change_json(**c);
  // The observed changes linked to it.
  json::array linked;
  for (const std::string& ci : (*c)->ci_ids) {
    f.ci_id = ci;
    f.from_ms = (*c)->start_ms;
    f.to_ms = (*c)->end_ms;
    f.limit = 1000;
    auto list = stores_.audit->list_audit(f);
    if (!list) return store_failure(list.error());
    for (const store::AuditRecord& r : *list)
      if (r.change_id == (*c)->id) linked.push_back(audit_json(r));
  }
  out["observed"] = std::move(linked);
  return server::json_response(200, json::serialize(out));
}

http::Response Api::get_impact(const server::Params& p) {
  const std::string& id = p.path.at("ci");
  auto ci = existing_ci(id);
  if (!ci) return ci_failure(ci.error());
  auto depth = query::count_param(p, "depth", 10, 1, 50);
  if (!depth) return query_failure(depth.error());
  const std::int64_t now = core::to_unix_ms(clock_.now());
  auto graph = graphs_->graph(now);
  if (!graph) return store_failure(graph.error());
  const impact::Graph& g = **graph;
  const impact::ImpactResult r = impact::analyse(g, id, [&g](std::string_view c) { return g.active(c); }, *depth);

  // Open capacity events and current or coming changes of the CIs on the way.
  auto on_the_way = [&](const std::vector<std::string>& path) -> core::Result<std::pair<json::array, json::array>> {
    json::array events, changes;
    for (const std::string& node : path) {
      if (node.starts_with("service:")) continue;
      store::EventFilter ef;
      ef.state = "open";
      ef.ci_id = node;
      ef.limit = 100;
      auto ev = stores_.events->list_events(ef);
      if (!ev) return std::move(ev).error();
      for (const store::CapacityEvent& e : *ev)
        events.push_back(json::object{{"id", e.id}, {"kind", e.kind}, {"ci_id", e.ci_id}, {"summary", e.summary}});
      store::ChangeFilter cf;
      cf.ci_id = node;
      cf.ends_after_ms = now;
      auto ch = stores_.changes->list_changes(cf);
      if (!ch) return std::move(ch).error();
      for (const store::ChangeRecord& c : *ch) changes.push_back(change_json(c));
    }
    return std::pair{std::move(events), std::move(changes)};
  };
  json::array services;
  for (const impact::ServiceImpact& s : r.services) {
    json::array path, groups;
    for (const std::string& n : s.path) path.emplace_back(n);
    for (const impact::GroupState& gs : s.groups) {
      json::array down;
      for (const std::string& d : gs.down) down.emplace_back(d);
      groups.push_back(json::object{{"name", gs.name}, {"redundancy", gs.redundancy}, {"members", gs.members},
                                    {"up", gs.up}, {"required", gs.required}, {"down", std::move(down)}});
    }
    auto way = on_the_way(s.path);
    if (!way) return store_failure(way.error());
    json::value sla = nullptr;
    if (s.sla) {
      json::value budget = nullptr;
      if (options_.services)
        if (auto svc = options_.services->find(s.service)) {
          auto rep = sla_report(*svc, std::nullopt);
          if (!rep) return store_failure(rep.error());
          if (*rep) budget = (*rep)->budget_left_ms / 1000.0;
        }
      json::array hours;
      for (const services::ServiceHours& h : s.sla->service_hours) hours.emplace_back(services::describe(h));
      sla = json::object{{"target_percent", s.sla->target_percent}, {"period", s.sla->period},
                         {"time_zone", s.sla->time_zone}, {"service_hours", std::move(hours)},
                         {"error_budget_left_seconds", std::move(budget)}};
    }
    services.push_back(json::object{{"service", s.service},
                                    {"verdict", std::string(impact::to_string(s.verdict))},
                                    {"criticality", s.criticality},
                                    {"sla", std::move(sla)},
                                    {"path", std::move(path)},
                                    {"groups", std::move(groups)},
                                    {"open_events", std::move(way->first)},
                                    {"changes", std::move(way->second)}});
  }
  constexpr std::size_t kMaxCis = 10'000;
  json::array cis;
  for (std::size_t i = 0; i < r.cis.size() && i < kMaxCis; ++i)
    cis.push_back(json::object{{"id", r.cis[i].id}, {"depth", r.cis[i].depth}, {"via", r.cis[i].via}});
  json::object out{{"ci_id", id},
                   {"depth", *depth},
                   {"services", std::move(services)},
                   {"cis_affected", r.cis.size()},
                   {"cis", std::move(cis)},
                   {"truncated", r.truncated}};
  return server::json_response(200, json::serialize(out));
}

http::Response Api::service_dependencies(const server::Params& p) {
  const std::string& name = p.path.at("name");
  if (!options_.services || !options_.services->find(name)) return fail(404, "not_found", "no service named '" + name + "'");
  auto depth = query::count_param(p, "depth", 10, 1, 50);
  if (!depth) return query_failure(depth.error());
  auto graph = graphs_->graph(core::to_unix_ms(clock_.now()));
  if (!graph) return store_failure(graph.error());
  bool truncated = false;
  json::array items;
  for (const impact::DependencyNode& d : impact::dependencies(**graph, impact::service_node(name), *depth, &truncated))
    items.push_back(json::object{{"depth", d.depth}, {"node", d.node}, {"via", d.via}});
  return server::json_response(
      200, json::serialize(json::object{{"service", name}, {"dependencies", std::move(items)}, {"truncated", truncated}}));
}

http::Response Api::get_availability(const server::Params& p) {
  const std::string& id = p.path.at("ci");
  if (id.starts_with("service:")) {
    if (!options_.services || !options_.services->find(id.substr(8)))
      return fail(404, "not_found", "no service named '" + id.substr(8) + "'");
  } else if (id.starts_with("check:")) {
    const auto slash = id.find('/');
    auto ci = stores_.cmdb->find_ci(id.substr(6, slash == std::string::npos ? std::string::npos : slash - 6));
    if (!ci) return store_failure(ci.error());
    if (!*ci || slash == std::string::npos) return fail(404, "not_found", "no check '" + id + "'");
  } else {
    auto ci = existing_ci(id);
    if (!ci) return ci_failure(ci.error());
  }
  const std::int64_t now = core::to_unix_ms(clock_.now());
  auto to = query::time_param(p, "to", now);
  if (!to) return query_failure(to.error());
  auto from = query::time_param(p, "from", *to - 86'400'000);
  if (!from) return query_failure(from.error());
  if (*to <= *from) return fail(400, "bad_query", "to must be after from");
  auto timeline = stores_.timelines->read_timeline(id, *from, *to);
  if (!timeline) return store_failure(timeline.error());
  const availability::Totals t = availability::totals(*timeline, *from, *to);
  json::array intervals;
  for (const store::StateInterval& s : *timeline)
    intervals.push_back(json::object{{"start", core::format_rfc3339(std::max(s.start_ms, *from))},
                                     {"end", core::format_rfc3339(std::min(s.end_ms, *to))},
                                     {"state", std::string(store::to_string(s.state))}});
  const auto pct = t.availability();
  json::object out{{"ci_id", id},
                   {"from", core::format_rfc3339(*from)},
                   {"to", core::format_rfc3339(*to)},
                   {"availability_percent", pct ? json::value(*pct) : json::value(nullptr)},
                   {"seconds", json::object{{"up", t.up_ms / 1000.0},
                                            {"degraded", t.degraded_ms / 1000.0},
                                            {"down", t.down_ms / 1000.0},
                                            {"maintenance", t.maintenance_ms / 1000.0},
                                            {"unknown", t.unknown_ms / 1000.0}}},
                   {"intervals", std::move(intervals)}};
  return server::json_response(200, json::serialize(out));
}

// The routes of this file's handlers (docs/api.md).
void Api::routes_cmdb(server::Router& r) {
  r.add("POST", "/api/v1/cis", "cis.create", [this](const http::Request& q, const server::Params& p) { return create_ci(q, p); });
  r.add("PATCH", "/api/v1/cis/{id}", "cis.update",
        [this](const http::Request& q, const server::Params& p) { return update_ci(q, p); });
  r.add("GET", "/api/v1/cis/{id}/relationships", "cis.relationships",
        [this](const http::Request&, const server::Params& p) { return ci_relationships(p); });
  r.add("GET", "/api/v1/cis/{id}/history", "cis.history",
        [this](const http::Request&, const server::Params& p) { return ci_history(p); });
  r.add("POST", "/api/v1/relationships", "relationships.add",
        [this](const http::Request& q, const server::Params& p) { return add_relationship(q, p); });
  r.add("DELETE", "/api/v1/relationships", "relationships.remove",
        [this](const http::Request&, const server::Params& p) { return remove_relationship(p); });
  r.add("GET", "/api/v1/audit", "audit", [this](const http::Request&, const server::Params& p) { return list_audit(p); });
  r.add("POST", "/api/v1/audit/verify", "audit.verify",
        [this](const http::Request& q, const server::Params&) { return verify_audit(q); });
  r.add("POST", "/api/v1/changes", "changes.create",
        [this](const http::Request& q, const server::Params& p) { return create_change(q, p); });
  r.add("GET", "/api/v1/changes", "changes.list",
        [this](const http::Request&, const server::Params& p) { return list_changes(p); });
  r.add("GET", "/api/v1/changes/{id}", "changes.get",
        [this](const http::Request&, const server::Params& p) { return get_change(p); });
  r.add("GET", "/api/v1/availability/{ci}", "availability",
        [this](const http::Request&, const server::Params& p) { return get_availability(p); });
  // A check's timeline: /api/v1/availability/check:CI/NAME.
  r.add("GET", "/api/v1/availability/{ci}/{check}", "availability.check",
        [this](const http::Request&, const server::Params& p) {
          if (!p.path.at("ci").starts_with("check:"))
            return fail(404, "not_found", "no such route (a check is check:CI/NAME)");
          server::Params q = p;
          q.path["ci"] = p.path.at("ci") + "/" + p.path.at("check");
          return get_availability(q);
        });
  r.add("GET", "/api/v1/impact/{ci}", "impact",
        [this](const http::Request&, const server::Params& p) { return get_impact(p); });
  r.add("GET", "/api/v1/services/{name}/dependencies", "services.dependencies",
        [this](const http::Request&, const server::Params& p) { return service_dependencies(p); });
}

}  // namespace surveyor::collector::api
