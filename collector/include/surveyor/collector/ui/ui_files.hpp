// SPDX-License-Identifier: Apache-2.0
// The web console's built files (web/, `npm run build`), read into memory
// once at start and answered from there: no path a client sends ever
// reaches the file system.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "surveyor/core/result.hpp"
#include "surveyor/http/message.hpp"

namespace surveyor::collector::ui {

struct UiFile {
  std::string body;
  std::string content_type;
  std::string etag;  // "\"<sha-256 of the body>\""
};

class UiFiles {
 public:
  // Every regular file under `dir` (symbolic links are not followed), keyed
  // by its path relative to `dir`; refused when there is no index.html, a
  // file's name has characters other than letters, digits and "._-", or the
  // files pass `max_total_bytes` together.
  [[nodiscard]] static core::Result<std::shared_ptr<const UiFiles>> load(const std::string& dir,
                                                                         std::size_t max_total_bytes = 64u << 20);

  // The answer to GET /ui/<path>: the file of that path; 404 for another
  // path under assets/ or a top-level name with a dot (favicon.ico);
  // index.html for any other path (the console's own pages: /ui/ci/host-1
  // and /ui/ci/db01.example.com are pages index.html draws). 304 when
  // `if_none_match` names the file's ETag. Hashed assets (under assets/)
  // may be cached for good; index.html must be asked again.
  [[nodiscard]] http::Response answer(std::string_view path, std::string_view if_none_match) const;

  [[nodiscard]] std::size_t size() const { return files_.size(); }
  [[nodiscard]] std::size_t bytes() const { return bytes_; }

 private:
  std::map<std::string, UiFile, std::less<>> files_;
  std::size_t bytes_ = 0;
};

// The Content-Type of a file name by its extension (octet-stream when unknown).
[[nodiscard]] std::string_view content_type_of(std::string_view name);

}  // namespace surveyor::collector::ui
