// SPDX-License-Identifier: Apache-2.0
// Route matching: path patterns with {name} captures, 404 and 405 (with Allow), and the
// JSON error body.
#include "surveyor/collector/server/router.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>

namespace surveyor::collector::server {

std::string Params::query_or(std::string_view key, std::string fallback) const {
  auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

void Router::add(std::string method, std::string pattern, std::string name, Handler h) {
  add(std::move(method), std::move(pattern), std::move(name), std::move(h), nullptr);
}

void Router::add(std::string method, std::string pattern, std::string name, Handler h, AsyncHandler a) {
  has_async_ = has_async_ || a != nullptr;
  Route r{std::move(method), {}, pattern, std::move(name), std::move(h), std::move(a)};
  std::string_view p = pattern == "/" ? std::string_view() : std::string_view(pattern);  // "/": no segment
  while (!p.empty()) {
    if (p.front() == '/') p.remove_prefix(1);
    const auto slash = p.find('/');
    r.segments.emplace_back(p.substr(0, slash));
    p = slash == std::string_view::npos ? std::string_view() : p.substr(slash);
  }
  routes_.push_back(std::move(r));
}

http::Response Router::dispatch(const http::Request& req, std::string& route_name) const {
  Params params;
  http::Response refusal;
  const Route* r = match(req, route_name, params, refusal);
  if (r == nullptr) return refusal;
  if (guard_)
    if (auto refused = guard_(req, r->name, params)) return std::move(*refused);
  return r->handler(req, params);
}

bool Router::dispatch_async(const http::Request& req, std::string& route_name, const Respond& respond) const {
  Params params;
  http::Response refusal;
  const Route* r = match(req, route_name, params, refusal);
  if (r == nullptr) {
    respond(std::move(refusal));
    return true;
  }
  if (!r->async) return false;
  if (guard_)
    if (auto refused = guard_(req, r->name, params)) {
      respond(std::move(*refused));
      return true;
    }
  r->async(req, params, respond);
  return true;
}

const Router::Route* Router::match(const http::Request& req, std::string& route_name, Params& params,
                                   http::Response& refusal) const {
  route_name = "-";
  auto target = boost::urls::parse_origin_form(req.target);
  if (!target) {
    refusal = error_response(400, "bad_request", "unparsable request target");
    return nullptr;
  }
  std::vector<std::string> segments;
  for (auto seg : target->segments()) segments.push_back(seg);
  if (segments.size() == 1 && segments[0].empty()) segments.clear();  // "/"
  for (auto qp : target->params()) params.query[qp.key] = qp.has_value ? qp.value : "";

  std::string allowed;
  for (const Route& r : routes_) {
    // A last segment "{name*}" takes the rest of the path, none or more
    // segments, joined with '/'.
    const bool rest = !r.segments.empty() && r.segments.back().size() > 3 && r.segments.back().ends_with("*}");
    const std::size_t fixed = rest ? r.segments.size() - 1 : r.segments.size();
    if (rest ? segments.size() < fixed : segments.size() != fixed) continue;
    std::map<std::string, std::string, std::less<>> captured;
    bool match = true;
    if (rest) {
      std::string tail;
      for (std::size_t i = fixed; i < segments.size(); ++i) tail += (i > fixed ? "/" : "") + segments[i];
      captured[r.segments.back().substr(1, r.segments.back().size() - 3)] = std::move(tail);
    }
    for (std::size_t i = 0; i < fixed && match; ++i) {
      const std::string& s = r.segments[i];
      if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
        if (segments[i].empty()) match = false;
        else captured[s.substr(1, s.size() - 2)] = segments[i];
      } else {
        match = s == segments[i];
      }
    }
    if (!match) continue;
    if (r.method != req.method) {
      allowed += (allowed.empty() ? "" : ", ") + r.method;
      continue;
    }
    route_name = r.name;
    params.path = std::move(captured);
    return &r;
  }
  if (!allowed.empty()) {
    refusal = error_response(405, "method_not_allowed", "use " + allowed);
    refusal.headers.emplace_back("Allow", allowed);
    return nullptr;
  }
  refusal = error_response(404, "not_found", "no such endpoint: " + std::string(target->path()));
  return nullptr;
}

std::vector<RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  for (const Route& r : routes_) out.push_back({r.method, r.pattern, r.name});
  return out;
}

http::Response json_response(unsigned status, std::string body) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

http::Response error_response(unsigned status, std::string_view code, std::string_view message) {
  boost::json::object o{{"error", code}, {"message", message}};
  return json_response(status, boost::json::serialize(o));
}

}  // namespace surveyor::collector::server
