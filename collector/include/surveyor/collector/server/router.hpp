// SPDX-License-Identifier: Apache-2.0
// Request routing for the collector's HTTP server: method and path pattern to a plain
// handler, and the JSON responses every endpoint shares.
#pragma once

#include <functional>
#include <optional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/http/message.hpp"

namespace surveyor::collector::server {

// What a route captured: "{id}" path segments and the query string, both
// percent-decoded; and who asks, as the guard established it.
struct Params {
  std::map<std::string, std::string, std::less<>> path;
  std::map<std::string, std::string, std::less<>> query;
  // The operator behind the request, as records name him ("alice (10.0.0.7)");
  // empty on routes open to all and on agents' routes.
  std::string actor;
  // That operator's token name and role ("viewer", "admin", ...).
  std::string token_name;
  std::string role;

  // The query value, or `fallback` when absent.
  [[nodiscard]] std::string query_or(std::string_view key, std::string fallback = {}) const;
};

// Handlers are plain functions of a request; they may block (they run on the
// worker pool) and never throw (an exception becomes a logged 500).
using Handler = std::function<http::Response(const http::Request&, const Params&)>;

// Runs before the handler of every matched route: an answer it gives is the
// answer instead (refusals that hold for many routes alike); it may say who
// asks in params.actor.
using Guard =
    std::function<std::optional<http::Response>(const http::Request&, std::string_view route_name, Params& params)>;

// A route as added: for tables that must cover every route.
struct RouteInfo {
  std::string method;
  std::string pattern;
  std::string name;
};

// Maps method + path pattern ("/api/v1/cis/{id}") to handlers; a last
// segment "{name*}" ("/ui/{path*}") captures the rest of the path.
class Router {
 public:
  // `name` labels the route in metrics ("cis.get"), so label cardinality stays bounded.
  void add(std::string method, std::string pattern, std::string name, Handler h);
  void set_guard(Guard g) { guard_ = std::move(g); }

  // The handler's response; 404 for an unknown path, 405 (with Allow) for a
  // known path and another method, 400 for an unparsable target.
  [[nodiscard]] http::Response dispatch(const http::Request& req, std::string& route_name) const;
  // Every route, in the order added.
  [[nodiscard]] std::vector<RouteInfo> routes() const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{x}" captures
    std::string pattern;
    std::string name;
    Handler handler;
  };
  std::vector<Route> routes_;
  Guard guard_;
};

// JSON bodies and the error shape every endpoint uses:
// {"error": "not_found", "message": "no CI with id ..."}.
[[nodiscard]] http::Response json_response(unsigned status, std::string body);
[[nodiscard]] http::Response error_response(unsigned status, std::string_view code, std::string_view message);

}  // namespace surveyor::collector::server
