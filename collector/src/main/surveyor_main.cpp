// SPDX-License-Identifier: Apache-2.0
// surveyor: the operator command line. It talks only to the collector's
// REST API; --json prints the API's answer exactly as received.
#include <CLI/CLI.hpp>

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <cstdlib>
#include <iostream>
#include <optional>

#include "surveyor/collector/cli/format.hpp"
#include "surveyor/http/client.hpp"

namespace {

using namespace surveyor;

std::string encode(const std::string& s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }

// GET `target`; prints an error and returns nullopt unless 200.
std::optional<std::string> get(const http::Url& base, const std::string& target, unsigned* status_out = nullptr) {
  http::Request req;
  req.target = target;
  req.headers = {{"Accept", "application/json"}};
  auto res = http::fetch(base, req);
  if (!res) {
    std::cerr << "surveyor: cannot reach the collector at " << base.to_string() << ": " << res.error().describe()
              << "\n";
    return std::nullopt;
  }
  if (status_out) *status_out = res->status;
  if (res->status != 200) {
    if (status_out && res->status == 404) return std::nullopt;
    std::cerr << "surveyor: HTTP " << res->status << ": " << res->body << "\n";
    return std::nullopt;
  }
  return res->body;
}

int print(const std::string& body, bool as_json, core::Result<std::string> (*render)(std::string_view)) {
  if (as_json) {
    std::cout << body << "\n";
    return 0;
  }
  auto text = render(body);
  if (!text) {
    std::cerr << "surveyor: " << text.error().message << "\n";
    return 1;
  }
  std::cout << *text;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("surveyor: ask a Surveyor collector about configuration items, capacity and availability");
  const char* env = std::getenv("SURVEYOR_URL");
  std::string url = env ? env : "http://127.0.0.1:8080";
  bool as_json = false;
  app.add_option("--collector", url, "collector URL (default: $SURVEYOR_URL or http://127.0.0.1:8080)");
  app.add_flag("--json", as_json, "print the API's JSON answer exactly as received");
  app.require_subcommand(1);

  std::string type, name;
  auto* cis = app.add_subcommand("cis", "list configuration items");
  cis->add_option("--type", type, "only CIs of this type (host, ...)");
  cis->add_option("--name", name, "only CIs with exactly this name");

  auto* ci = app.add_subcommand("ci", "one configuration item");
  ci->require_subcommand(1);
  std::string ref;
  auto* show = ci->add_subcommand("show", "show a CI, its attributes and latest samples");
  show->add_option("CI", ref, "CI id or name")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a usage error exits 2, as is customary.
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto base = http::parse_url(url);
  if (!base) {
    std::cerr << "surveyor: " << base.error().message << "\n";
    return 2;
  }

  if (*cis) {
    std::string target = "/api/v1/cis?limit=10000";
    if (!type.empty()) target += "&type=" + encode(type);
    if (!name.empty()) target += "&name=" + encode(name);
    auto body = get(*base, target);
    if (!body) return 1;
    return print(*body, as_json, surveyor::collector::cli::render_ci_list);
  }
  if (*show) {
    // An id first; failing that, a unique name.
    unsigned status = 0;
    auto body = get(*base, "/api/v1/cis/" + encode(ref), &status);
    if (!body && status != 404) return 1;
    if (!body) {
      auto list = get(*base, "/api/v1/cis?name=" + encode(ref));
      if (!list) return 1;
      auto ids = surveyor::collector::cli::ci_ids(*list);
      if (!ids) {
        std::cerr << "surveyor: " << ids.error().message << "\n";
        return 1;
      }
      if (ids->empty()) {
        std::cerr << "surveyor: no CI with id or name '" << ref << "'\n";
        return 1;
      }
      if (ids->size() > 1) {
        std::cerr << "surveyor: " << ids->size() << " CIs are named '" << ref << "'; use an id:\n";
        if (auto text = surveyor::collector::cli::render_ci_list(*list)) std::cerr << *text;
        return 1;
      }
      body = get(*base, "/api/v1/cis/" + encode(ids->front()));
      if (!body) return 1;
    }
    return print(*body, as_json, surveyor::collector::cli::render_ci);
  }
  return 0;
}
