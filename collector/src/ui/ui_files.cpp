// SPDX-License-Identifier: Apache-2.0
// The web console's files, held in memory and answered with their type,
// ETag, caching and the headers that keep a browser strict about them.
#include "surveyor/collector/ui/ui_files.hpp"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "surveyor/collector/server/router.hpp"
#include "surveyor/core/crypto.hpp"

namespace surveyor::collector::ui {
namespace {

namespace fs = std::filesystem;

core::Error refused(std::errc e, std::string message) {
  return core::Error{std::make_error_code(e), std::move(message)};
}

bool safe_name(std::string_view n) {
  if (n.empty() || n == "." || n == "..") return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

// What every answer of the console carries: the page may load only its own
// files and talk only to this collector; it may not be framed, nor sniffed.
void add_common_headers(http::Response& r) {
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                         "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'");
}

}  // namespace

std::string_view content_type_of(std::string_view name) {
  const auto dot = name.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "woff2") return "font/woff2";
  return "application/octet-stream";
}

core::Result<std::shared_ptr<const UiFiles>> UiFiles::load(const std::string& dir, std::size_t max_total_bytes) {
  auto out = std::make_shared<UiFiles>();
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  if (ec) return refused(std::errc::no_such_file_or_directory, "cannot read the web console in " + dir + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return refused(std::errc::io_error, "cannot read the web console in " + dir + ": " + ec.message());
    const fs::directory_entry& e = *it;
    if (!e.is_regular_file(ec) || e.is_symlink(ec)) continue;
    const fs::path rel = e.path().lexically_relative(dir);
    std::string key;
    for (const fs::path& part : rel) {
      if (!safe_name(part.string()))
        return refused(std::errc::invalid_argument,
                       "web console file " + e.path().string() + ": names may hold letters, digits and ._- only");
      key += (key.empty() ? "" : "/") + part.string();
    }
    const auto size = e.file_size(ec);
    if (ec || out->bytes_ + size > max_total_bytes)
      return refused(std::errc::file_too_large, "the web console in " + dir + " is larger than " +
                                                    std::to_string(max_total_bytes) + " bytes");
    std::ifstream in(e.path(), std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return refused(std::errc::io_error, "cannot read " + e.path().string());
    out->bytes_ += body.size();
    UiFile f{std::move(body), std::string(content_type_of(key)), {}};
    f.etag = "\"" + core::sha256_hex(f.body) + "\"";
    out->files_.emplace(std::move(key), std::move(f));
  }
  if (!out->files_.contains("index.html"))
    return refused(std::errc::no_such_file_or_directory, "no index.html in " + dir + " (build it: make ui)");
  return std::shared_ptr<const UiFiles>(std::move(out));
}

http::Response UiFiles::answer(std::string_view path, std::string_view if_none_match) const {
  auto it = files_.find(path);
  if (it == files_.end()) {
    // Files live under assets/ or at the top (favicon.ico); deeper paths
    // are the console's pages, whose last segment may hold a dot
    // (/ui/ci/db01.example.com).
    const bool top_level_file = path.find('/') == std::string_view::npos && path.find('.') != std::string_view::npos;
    if (path.starts_with("assets/") || top_level_file) {
      http::Response r = server::error_response(404, "not_found", "no such file in the web console");
      add_common_headers(r);
      return r;
    }
    it = files_.find("index.html");
  }
  const UiFile& f = it->second;
  http::Response r;
  add_common_headers(r);
  r.headers.emplace_back("ETag", f.etag);
  // Vite names assets by their content: they never change under one name.
  r.headers.emplace_back("Cache-Control", it->first.starts_with("assets/") ? "public, max-age=31536000, immutable"
                                                                          : "no-cache");
  if (!if_none_match.empty() && if_none_match == f.etag) {
    r.status = 304;
    return r;
  }
  r.headers.emplace_back("Content-Type", f.content_type);
  r.body = f.body;
  return r;
}

}  // namespace surveyor::collector::ui
