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

// An answer given once, from any thread. Nothing: the route's plain
// Handler is to answer instead, on a thread that may block.
using Respond = std::function<void(std::optional<http::Response>)>;
// A handler that does not block: it answers through `respond`, before it
// returns or later from another thread, and never throws once it has
// handed `respond` on.
using AsyncHandler = std::function<void(const http::Request&, const Params&, Respond)>;

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
  // A route with a handler that does not block as well (dispatch_async).
  void add(std::string method, std::string pattern, std::string name, Handler h, AsyncHandler a);
  void set_guard(Guard g) { guard_ = std::move(g); }

  // The handler's response; 404 for an unknown path, 405 (with Allow) for a
  // known path and another method, 400 for an unparsable target.
  [[nodiscard]] http::Response dispatch(const http::Request& req, std::string& route_name) const;
  // Where the request's route has an AsyncHandler, or none matches: true,
  // `respond` called by it (or here with the guard's refusal, a 404...).
  // Otherwise false, nothing done: dispatch() answers it.
  bool dispatch_async(const http::Request& req, std::string& route_name, const Respond& respond) const;
  // Whether any route has an AsyncHandler (none: dispatch_async is never true).
  [[nodiscard]] bool has_async_routes() const { return has_async_; }
  // Every route, in the order added.
  [[nodiscard]] std::vector<RouteInfo> routes() const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{x}" captures
    std::string pattern;
    std::string name;
    Handler handler;
    AsyncHandler async;  // may be empty
  };
  // The route the request names, its captures in `params`; or null, with
  // the answer (400, 404, 405) in `refusal`.
  const Route* match(const http::Request& req, std::string& route_name, Params& params,
                     http::Response& refusal) const;
  std::vector<Route> routes_;
  Guard guard_;
  bool has_async_ = false;
};

// JSON bodies and the error shape every endpoint uses:
// {"error": "not_found", "message": "no CI with id ..."}.
[[nodiscard]] http::Response json_response(unsigned status, std::string body);
[[nodiscard]] http::Response error_response(unsigned status, std::string_view code, std::string_view message);

}  // namespace surveyor::collector::server
