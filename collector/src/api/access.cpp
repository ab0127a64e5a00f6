// SPDX-License-Identifier: Apache-2.0
// Who may call what: every route's access, operators' bearer tokens and
// their roles (docs/security.md), and the refusals that hold for every
// route (Host, media type).
#include <algorithm>
#include <array>
#include <cctype>

#include "rate_limit.hpp"
#include "surveyor/collector/api/api.hpp"
#include "surveyor/core/crypto.hpp"
#include "surveyor/core/duration.hpp"
#include "surveyor/core/names.hpp"

namespace surveyor::collector::api {
namespace {

using store::Role;

// Open to all, agents' own (they authenticate themselves), or the role-gated
// ones: a role may call a route of its own access or of any it includes.
enum class Access { open, agent, viewer, operator_, change_manager, admin };

struct RouteAccess {
  std::string_view route;
  Access access;
};

// Every route the API adds. A route missing here is refused with 500 (so a
// new route is closed until it is given its access), and the route table
// test fails.
constexpr std::array kAccess{
    RouteAccess{"healthz", Access::open},
    RouteAccess{"readyz", Access::open},
    RouteAccess{"metrics", Access::viewer},  // open with metrics_public
    RouteAccess{"console.root", Access::open},
    RouteAccess{"console", Access::open},  // the page's code; its data needs a token
    RouteAccess{"whoami", Access::viewer},
    RouteAccess{"enroll", Access::agent},
    RouteAccess{"reports", Access::agent},
    RouteAccess{"agents.rotate_key", Access::agent},
    RouteAccess{"cis.list", Access::viewer},
    RouteAccess{"cis.get", Access::viewer},
    RouteAccess{"cis.inventory", Access::viewer},
    RouteAccess{"cis.relationships", Access::viewer},
    RouteAccess{"cis.history", Access::viewer},
    RouteAccess{"cis.series", Access::viewer},
    RouteAccess{"cis.export", Access::viewer},
    RouteAccess{"series", Access::viewer},
    RouteAccess{"forecast", Access::viewer},
    RouteAccess{"capacity.report", Access::viewer},
    RouteAccess{"capacity.events", Access::viewer},
    RouteAccess{"capacity.hotspots", Access::viewer},
    RouteAccess{"audit", Access::viewer},
    RouteAccess{"audit.verify", Access::viewer},
    RouteAccess{"evidence.list", Access::viewer},
    RouteAccess{"evidence.get", Access::viewer},
    RouteAccess{"changes.list", Access::viewer},
    RouteAccess{"changes.get", Access::viewer},
    RouteAccess{"availability", Access::viewer},
    RouteAccess{"availability.check", Access::viewer},
    RouteAccess{"impact", Access::viewer},
    RouteAccess{"services.list", Access::viewer},
    RouteAccess{"services.get", Access::viewer},
    RouteAccess{"services.dependencies", Access::viewer},
    RouteAccess{"slas.list", Access::viewer},
    RouteAccess{"slas.report", Access::viewer},
    RouteAccess{"incidents.list", Access::viewer},
    RouteAccess{"incidents.kpis", Access::viewer},
    RouteAccess{"incidents.get", Access::viewer},
    RouteAccess{"webhooks.deliveries", Access::viewer},
    RouteAccess{"incidents.act", Access::operator_},
    RouteAccess{"cis.create", Access::change_manager},
    RouteAccess{"cis.update", Access::change_manager},
    RouteAccess{"relationships.add", Access::change_manager},
    RouteAccess{"relationships.remove", Access::change_manager},
    RouteAccess{"changes.create", Access::change_manager},
    RouteAccess{"services.put", Access::change_manager},
    RouteAccess{"services.delete", Access::change_manager},
    RouteAccess{"slas.recompute", Access::admin},
    RouteAccess{"tokens.list", Access::admin},
    RouteAccess{"tokens.create", Access::admin},
    RouteAccess{"tokens.revoke", Access::admin},
    RouteAccess{"enrollment_tokens.list", Access::admin},
    RouteAccess{"enrollment_tokens.create", Access::admin},
    RouteAccess{"enrollment_tokens.revoke", Access::admin},
};

constexpr core::Names<Access, 6> kAccessNames{{{{Access::open, "open"},
                                                {Access::agent, "agent"},
                                                {Access::viewer, "viewer"},
                                                {Access::operator_, "operator"},
                                                {Access::change_manager, "change-manager"},
                                                {Access::admin, "admin"}}}};

std::optional<Access> access_of(std::string_view route) {
  for (const RouteAccess& a : kAccess)
    if (a.route == route) return a.access;
  return std::nullopt;
}

bool allows(Role role, Access access) {
  switch (access) {
    case Access::open:
    case Access::agent:
    case Access::viewer: return true;
    case Access::operator_: return role == Role::operator_ || role == Role::admin;
    case Access::change_manager: return role == Role::change_manager || role == Role::admin;
    case Access::admin: return role == Role::admin;
  }
  return false;
}

bool same_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// "name:port", "[v6]:port" or a bare name -> the name.
std::string_view host_name(std::string_view host) {
  if (host.starts_with('[')) return host.substr(1, host.find(']') - 1);  // npos - 1: to the end
  return host.substr(0, host.find(':'));
}

}  // namespace

std::optional<std::string_view> required_access(std::string_view route) {
  auto a = access_of(route);
  if (!a) return std::nullopt;
  return kAccessNames.name(*a);
}

bool valid_token_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
         });
}

std::string new_secret(std::string_view prefix) { return std::string(prefix) + core::random_hex(32); }

Issued<store::OperatorToken> issue_token(std::string name, store::Role role, std::int64_t now_ms,
                                         std::int64_t expires_ms) {
  std::string secret = new_secret("svt_");
  return {{std::move(name), role, core::sha256_hex(secret), now_ms, expires_ms, 0}, std::move(secret)};
}

Issued<store::EnrollmentGrant> issue_grant(std::int64_t uses, std::int64_t now_ms, std::int64_t expires_ms) {
  std::string secret = new_secret("sve_");
  return {{"enr-" + core::random_hex(4), core::sha256_hex(secret), uses, 0, now_ms, expires_ms, 0}, std::move(secret)};
}

std::optional<std::int64_t> expiry_after(std::string_view text, std::int64_t now_ms) {
  if (text.empty()) return std::int64_t{0};
  auto d = core::parse_duration(text);
  if (!d || d->count() <= 0) return std::nullopt;
  return now_ms + d->count();
}

std::optional<http::Response> Api::refusal(const http::Request& q, std::string_view route, server::Params& p) {
  if (!options_.allowed_hosts.empty()) {
    const std::string_view name = host_name(q.header("Host"));
    if (std::none_of(options_.allowed_hosts.begin(), options_.allowed_hosts.end(),
                     [name](const std::string& h) { return same_ignoring_case(h, name); }))
      return fail(421, "host_not_allowed",
                  "this collector answers to " + options_.allowed_hosts.front() + ", not '" + std::string(name) + "'");
  }
  if (auto refused = authorize(q, route, p)) return refused;
  return media_type_refusal(q, route);
}

// An operator's route needs "Authorization: Bearer TOKEN" of a token in
// force whose role includes the route's access; the token's name (and the
// client's address) becomes the actor the handler records.
std::optional<http::Response> Api::authorize(const http::Request& q, std::string_view route, server::Params& p) {
  const std::optional<Access> access = access_of(route);
  if (!access) return fail(500, "route_without_access", "route '" + std::string(route) + "' has no access rule");
  if (*access == Access::open || route == "reports") return std::nullopt;
  // Per client address first (floods and token guessing alike), then per
  // token below; enrollments per address (enrollment token guessing).
  if (auto refused = rate_limited("address " + q.peer)) return refused;
  if (*access == Access::agent) return std::nullopt;
  if (route == "metrics" && options_.metrics_public) return std::nullopt;
  auto unauthenticated = [this](const std::string& message) {
    http::Response r = fail(401, "unauthenticated", message);
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"surveyor\"");
    return r;
  };
  const std::string_view secret = http::bearer_credentials(q.header("Authorization"));
  if (secret.empty()) return unauthenticated("send Authorization: Bearer TOKEN (see docs/security.md)");
  auto token = stores_.credentials->token_by_hash(core::sha256_hex(secret));
  if (!token) return store_failure(token.error());
  if (!*token) return unauthenticated("unknown token");
  const store::OperatorToken& t = **token;
  if (t.revoked_ms != 0) return unauthenticated("token '" + t.name + "' was revoked");
  if (t.expires_ms != 0 && core::to_unix_ms(clock_.now()) >= t.expires_ms)
    return unauthenticated("token '" + t.name + "' has expired");
  if (!allows(t.role, *access))
    return fail(403, "forbidden",
                "token '" + t.name + "' (" + std::string(store::to_string(t.role)) + ") may not do this; it needs " +
                    std::string(kAccessNames.name(*access)));
  if (auto refused = rate_limited("token " + t.name)) return refused;
  p.actor = q.peer.empty() ? t.name : t.name + " (" + q.peer + ")";
  p.token_name = t.name;
  p.role = std::string(store::to_string(t.role));
  return std::nullopt;
}

std::optional<http::Response> Api::rate_limited(const std::string& key) {
  const auto wait = limiter_->take(key, core::to_unix_ms(clock_.now()));
  if (!wait) return std::nullopt;
  http::Response r = fail(429, "rate_limited", "too many requests from " + key + "; retry in " + std::to_string(*wait) + " s");
  r.headers.emplace_back("Retry-After", std::to_string(*wait));
  return r;
}

// A state-changing request carries the media type its route documents:
// JSON, TOML for a service definition. A web page on another origin can only
// send forms (text/plain, multipart/form-data, x-www-form-urlencoded)
// without the browser asking first, so it cannot forge one. Enrollment and
// reports check their own (JSON or the binary format).
std::optional<http::Response> Api::media_type_refusal(const http::Request& q, std::string_view route) {
  if (q.method != "POST" && q.method != "PUT" && q.method != "PATCH") return std::nullopt;
  if (route == "enroll" || route == "reports") return std::nullopt;
  const std::string_view want = route == "services.put" ? "application/toml" : "application/json";
  std::string_view type = q.header("Content-Type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (same_ignoring_case(type, want)) return std::nullopt;
  return fail(415, "unsupported_media_type",
              "send Content-Type: " + std::string(want) +
                  " (a state-changing request must carry its documented media type)");
}

}  // namespace surveyor::collector::api
