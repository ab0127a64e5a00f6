// SPDX-License-Identifier: Apache-2.0
// The command line's side of the REST API: every verb asks through these, so
// errors read the same whichever verb meets them.
#include "requests.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "surveyor/cli/format/render.hpp"

namespace surveyor::cli::commands {
namespace {

std::string& token() {
  static std::string t;
  return t;
}

http::ClientOptions& client_options() {
  static http::ClientOptions o;
  return o;
}

std::optional<std::string> call(const http::Url& base, http::Request req, unsigned* status_out) {
  req.headers.emplace_back("Accept", "application/json");
  if (!token().empty()) req.headers.emplace_back("Authorization", "Bearer " + token());
  auto res = http::fetch(base, req, client_options());
  if (!res) {
    std::cerr << "surveyor: cannot reach the collector at " << base.to_string() << ": "
              << res.error().describe() << "\n";
    return std::nullopt;
  }
  if (status_out) *status_out = res->status;
  if (res->status != 200 && !(req.method == "POST" && res->status == 201)) {
    if (status_out && res->status == 404) return std::nullopt;
    std::cerr << "surveyor: HTTP " << res->status << ": " << res->body << "\n";
    if (res->status == 401 && token().empty())
      std::cerr << "surveyor: the collector needs a token: set SURVEYOR_TOKEN or use --token-file FILE\n";
    return std::nullopt;
  }
  return res->body;
}

}  // namespace

void use_token(std::string t) { token() = std::move(t); }

void use_ca_file(std::string path) { client_options().ca_file = std::move(path); }

std::string encode(const std::string& s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

void add_param(std::string& q, const char* key, const std::string& v) {
  if (!v.empty()) q += std::string("&") + key + "=" + encode(v);
}

std::optional<std::string> get(const http::Url& base, const std::string& target,
                               unsigned* status_out) {
  http::Request req;
  req.target = target;
  return call(base, std::move(req), status_out);
}

std::optional<std::string> post(const http::Url& base, const std::string& target,
                                const std::string& body) {
  http::Request req;
  req.method = "POST";
  req.target = target;
  req.body = body;
  req.headers = {{"Content-Type", "application/json"}};
  return call(base, std::move(req), nullptr);
}

int print(const std::string& body, bool as_json, Render render) {
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

int get_and_print(const Context& context, const std::string& target, Render render) {
  auto body = get(context.collector, target);
  if (!body) return 1;
  return print(*body, context.as_json, render);
}

std::optional<std::string> resolve_ci(const http::Url& base, const std::string& ref) {
  unsigned status = 0;
  if (get(base, "/api/v1/cis/" + encode(ref), &status)) return ref;
  if (status != 404) return std::nullopt;
  auto list = get(base, "/api/v1/cis?name=" + encode(ref));
  if (!list) return std::nullopt;
  auto ids = format::ci_ids(*list);
  if (!ids) {
    std::cerr << "surveyor: " << ids.error().message << "\n";
    return std::nullopt;
  }
  if (ids->empty()) {
    std::cerr << "surveyor: no CI with id or name '" << ref << "'\n";
    return std::nullopt;
  }
  if (ids->size() > 1) {
    std::cerr << "surveyor: " << ids->size() << " CIs are named '" << ref << "'; use an id:\n";
    if (auto text = format::render_ci_list(*list)) std::cerr << *text;
    return std::nullopt;
  }
  return ids->front();
}

std::optional<std::string> ci_query(const http::Url& base, const std::string& refs,
                                    const std::string& type, const std::string& service) {
  if (!service.empty()) return "service=" + encode(service);
  if (!type.empty()) return "type=" + encode(type);
  std::string ids;
  std::size_t start = 0;
  while (start <= refs.size()) {
    const std::size_t comma = std::min(refs.find(',', start), refs.size());
    const std::string ref = refs.substr(start, comma - start);
    start = comma + 1;
    if (ref.empty()) continue;
    auto id = resolve_ci(base, ref);
    if (!id) return std::nullopt;
    ids += (ids.empty() ? "" : ",") + *id;
  }
  return "ci=" + encode(ids);
}

std::string selector_query(const std::string& metric, const std::vector<std::string>& attrs,
                           bool exact) {
  std::string q = "&metric=" + encode(metric);
  for (const std::string& kv : attrs) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    q += "&attr." + encode(kv.substr(0, eq)) + "=" + encode(kv.substr(eq + 1));
  }
  if (exact) q += "&exact=true";
  return q;
}

}  // namespace surveyor::cli::commands
