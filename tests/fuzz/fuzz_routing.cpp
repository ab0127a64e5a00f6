// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a request target as a client sends it, through the router
// (path patterns, the "{name*}" rest capture) to the web console's files.
// Every input gets an answer (never a crash, an exception or a 5xx), and a
// body the console serves is one of its own files or a JSON error: nothing
// else is ever read.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <unistd.h>

#include "surveyor/collector/server/router.hpp"
#include "surveyor/collector/ui/ui_files.hpp"

namespace {

using namespace surveyor;
using namespace surveyor::collector;

struct World {
  World() {
    dir = std::filesystem::temp_directory_path() / ("surveyor-fuzz-routing-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "ui" / "assets");
    std::ofstream(dir / "ui" / "index.html") << "<!doctype html>index";
    std::ofstream(dir / "ui" / "assets" / "app-1.js") << "app";
    std::ofstream(dir / "secret") << "SECRET";
    auto loaded = ui::UiFiles::load((dir / "ui").string());
    if (!loaded) {
      std::fprintf(stderr, "fuzz_routing: %s\n", loaded.error().describe().c_str());
      std::abort();
    }
    files = *loaded;
    router.add("GET", "/ui/{path*}", "console", [this](const http::Request& q, const server::Params& p) {
      return files->answer(p.path.at("path"), q.header("If-None-Match"));
    });
    router.add("GET", "/api/v1/cis/{id}", "cis.get", [](const http::Request&, const server::Params& p) {
      return server::json_response(200, "{\"id\":" + std::to_string(p.path.at("id").size()) + "}");
    });
    router.add("GET", "/", "console.root", [](const http::Request&, const server::Params&) { return http::Response{}; });
  }
  ~World() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::filesystem::path dir;
  std::shared_ptr<const ui::UiFiles> files;
  server::Router router;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  http::Request req;
  req.target.assign(reinterpret_cast<const char*>(data), size);
  std::string route;
  const http::Response r = w.router.dispatch(req, route);
  if (r.status >= 500 || r.body.find("SECRET") != std::string::npos) {
    std::fprintf(stderr, "fuzz_routing: %u for target [%s]: %s\n", r.status, req.target.c_str(), r.body.c_str());
    std::abort();
  }
  if (route == "console" && r.status == 200 && r.body != "<!doctype html>index" && r.body != "app") {
    std::fprintf(stderr, "fuzz_routing: served something else for [%s]: %s\n", req.target.c_str(), r.body.c_str());
    std::abort();
  }
  return 0;
}
