// SPDX-License-Identifier: Apache-2.0
// Operators' tokens and enrollment tokens through the API (admins only): the
// same as `surveyor-collector token|enrollment`, for a console or a script.
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "query_params.hpp"
#include "surveyor/collector/api/api.hpp"

namespace surveyor::collector::api {
namespace {

namespace json = boost::json;

json::value when(std::int64_t ms) { return ms == 0 ? json::value(nullptr) : json::value(core::format_rfc3339(ms)); }

json::object token_json(const store::OperatorToken& t) {
  return {{"name", t.name},
          {"role", store::to_string(t.role)},
          {"created", core::format_rfc3339(t.created_ms)},
          {"expires", when(t.expires_ms)},
          {"revoked", when(t.revoked_ms)}};
}

json::object grant_json(const store::EnrollmentGrant& g) {
  return {{"id", g.id},     {"uses", g.uses},          {"used", g.used}, {"created", core::format_rfc3339(g.created_ms)},
          {"expires", when(g.expires_ms)}, {"revoked", when(g.revoked_ms)}};
}

}  // namespace

// "expires" as a duration from now ("90d"); 0 (none) when absent; nullopt
// when malformed.
std::optional<std::int64_t> Api::expiry_member(const json::object& o, std::int64_t now_ms, std::string_view fallback) {
  std::string text;
  if (query::string_member(o, "expires", text)) return std::nullopt;
  return expiry_after(text.empty() ? fallback : std::string_view(text), now_ms);
}

http::Response Api::list_tokens() {
  auto tokens = stores_.credentials->list_tokens();
  if (!tokens) return store_failure(tokens.error());
  json::array items;
  for (const store::OperatorToken& t : *tokens) items.push_back(token_json(t));
  return server::json_response(200, json::serialize(json::object{{"items", std::move(items)}}));
}

http::Response Api::create_token(const http::Request& req) {
  auto body = query::object_body(req);
  if (auto* e = std::get_if<std::string>(&body)) return fail(400, "bad_request", *e);
  const json::object& o = std::get<json::object>(body);
  std::string name, role;
  for (auto [key, out] : {std::pair{"name", &name}, {"role", &role}})
    if (auto e = query::string_member(o, key, *out)) return fail(400, "bad_request", *e);
  if (!valid_token_name(name)) return fail(400, "bad_request", "name: 1-64 letters, digits, '.', '_' or '-'");
  auto r = store::role_from(role);
  if (!r) return fail(400, "bad_request", "role must be viewer, operator, change-manager or admin");
  const std::int64_t now = core::to_unix_ms(clock_.now());
  auto until = expiry_member(o, now, "");
  if (!until) return fail(400, "bad_request", "expires must be a positive duration such as 90d");
  const auto t = issue_token(name, *r, now, *until);
  auto added = stores_.credentials->add_token(t.record);
  if (!added) return store_failure(added.error());
  if (!*added) return fail(409, "conflict", "a token named '" + name + "' exists or existed; names are not reused");
  json::object out = token_json(t.record);
  out["token"] = t.secret;  // shown this once
  return server::json_response(201, json::serialize(out));
}

http::Response Api::revoke_token(const server::Params& p) {
  const std::string& name = p.path.at("name");
  auto done = stores_.credentials->revoke_token(name, core::to_unix_ms(clock_.now()));
  if (!done) return store_failure(done.error());
  if (!*done) return fail(404, "not_found", "no token '" + name + "' in force");
  return server::json_response(200, R"({"revoked":true})");
}

http::Response Api::list_enrollment_tokens() {
  auto grants = stores_.credentials->list_grants();
  if (!grants) return store_failure(grants.error());
  json::array items;
  for (const store::EnrollmentGrant& g : *grants) items.push_back(grant_json(g));
  return server::json_response(200, json::serialize(json::object{{"items", std::move(items)}}));
}

http::Response Api::create_enrollment_token(const http::Request& req) {
  auto body = query::object_body(req);
  if (auto* e = std::get_if<std::string>(&body)) return fail(400, "bad_request", *e);
  const json::object& o = std::get<json::object>(body);
  std::int64_t uses = 1;
  if (auto it = o.find("uses"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_int64() || it->value().get_int64() < 1 || it->value().get_int64() > 1'000'000)
      return fail(400, "bad_request", "uses must be an integer from 1 to 1000000");
    uses = it->value().get_int64();
  }
  const std::int64_t now = core::to_unix_ms(clock_.now());
  auto until = expiry_member(o, now, "24h");
  if (!until) return fail(400, "bad_request", "expires must be a positive duration such as 24h");
  const auto g = issue_grant(uses, now, *until);
  if (auto st = stores_.credentials->add_grant(g.record); !st) return store_failure(st.error());
  json::object out = grant_json(g.record);
  out["token"] = g.secret;  // shown this once
  return server::json_response(201, json::serialize(out));
}

http::Response Api::revoke_enrollment_token(const server::Params& p) {
  const std::string& id = p.path.at("id");
  auto done = stores_.credentials->revoke_grant(id, core::to_unix_ms(clock_.now()));
  if (!done) return store_failure(done.error());
  if (!*done) return fail(404, "not_found", "no enrollment token '" + id + "' in force");
  return server::json_response(200, R"({"revoked":true})");
}

// The routes of this file's handlers (docs/api.md).
void Api::routes_credentials(server::Router& r) {
  r.add("GET", "/api/v1/tokens", "tokens.list", [this](const http::Request&, const server::Params&) { return list_tokens(); });
  r.add("POST", "/api/v1/tokens", "tokens.create",
        [this](const http::Request& q, const server::Params&) { return create_token(q); });
  r.add("DELETE", "/api/v1/tokens/{name}", "tokens.revoke",
        [this](const http::Request&, const server::Params& p) { return revoke_token(p); });
  r.add("GET", "/api/v1/enrollment-tokens", "enrollment_tokens.list",
        [this](const http::Request&, const server::Params&) { return list_enrollment_tokens(); });
  r.add("POST", "/api/v1/enrollment-tokens", "enrollment_tokens.create",
        [this](const http::Request& q, const server::Params&) { return create_enrollment_token(q); });
  r.add("DELETE", "/api/v1/enrollment-tokens/{id}", "enrollment_tokens.revoke",
        [this](const http::Request&, const server::Params& p) { return revoke_enrollment_token(p); });
}

}  // namespace surveyor::collector::api
