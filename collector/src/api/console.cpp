// SPDX-License-Identifier: Apache-2.0
// The web console: its files under /ui/ (the page's code, open to all like
// any login page; every piece of data it shows comes from /api/v1/ with the
// operator's token), / sent there, and who the token is, so the page offers
// only what its role may do.
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "surveyor/collector/api/api.hpp"

namespace surveyor::collector::api {

void Api::routes_console(server::Router& r) {
  r.add("GET", "/", "console.root", [](const http::Request&, const server::Params&) {
    http::Response res;
    res.status = 302;
    res.headers.emplace_back("Location", "/ui/");
    return res;
  });
  r.add("GET", "/ui/{path*}", "console", [this](const http::Request& q, const server::Params& p) {
    if (!options_.ui)
      return fail(404, "not_found",
                  "the web console is not installed here: no built console in '" + options_.ui_dir +
                      "' (ui_dir; make ui builds it)");
    return options_.ui->answer(p.path.at("path"), q.header("If-None-Match"));
  });
  r.add("GET", "/api/v1/whoami", "whoami", [](const http::Request&, const server::Params& p) {
    boost::json::object o{{"name", p.token_name}, {"role", p.role}, {"actor", p.actor}};
    return server::json_response(200, boost::json::serialize(o));
  });
}

}  // namespace surveyor::collector::api
