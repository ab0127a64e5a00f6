// SPDX-License-Identifier: Apache-2.0
// What the handlers share: requests to the collector, CI names resolved to
// ids, query strings, and printing an answer rendered or as received.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "surveyor/cli/commands/verb.hpp"
#include "surveyor/core/result.hpp"
#include "surveyor/http/client.hpp"

namespace surveyor::cli::commands {

// A rendering of an API answer (surveyor::cli::format).
using Render = core::Result<std::string> (*)(std::string_view);

// `s` percent-encoded for a path segment or a query value.
[[nodiscard]] std::string encode(const std::string& s);

// A JSON string literal of `s`.
[[nodiscard]] std::string json_string(const std::string& s);

// Appends "&key=v" to a query unless `v` is empty.
void add_param(std::string& q, const char* key, const std::string& v);

// GET and POST with JSON accepted: the answer's body, or nullopt after
// printing why unless the status is 200 (or 201 for a POST). With
// status_out, a 404 is returned there without a message.
[[nodiscard]] std::optional<std::string> get(const http::Url& base, const std::string& target,
                                             unsigned* status_out = nullptr);
[[nodiscard]] std::optional<std::string> post(const http::Url& base, const std::string& target,
                                              const std::string& body);

// Prints an answer: as received with `as_json`, else rendered. The exit code:
// 1 when the answer cannot be rendered.
[[nodiscard]] int print(const std::string& body, bool as_json, Render render);

// GETs `target` and prints the answer (see print); the exit code.
[[nodiscard]] int get_and_print(const Context& context, const std::string& target, Render render);

// A CI id from an id or a unique name; prints why not and returns nullopt.
[[nodiscard]] std::optional<std::string> resolve_ci(const http::Url& base, const std::string& ref);

// "ci=ID,ID" from comma-separated ids or names, "type=TYPE" or "service=NAME".
[[nodiscard]] std::optional<std::string> ci_query(const http::Url& base, const std::string& refs,
                                                  const std::string& type,
                                                  const std::string& service);

// The selector part of a series query: metric, attr.K=V, exact.
[[nodiscard]] std::string selector_query(const std::string& metric,
                                         const std::vector<std::string>& attrs, bool exact);

}  // namespace surveyor::cli::commands
