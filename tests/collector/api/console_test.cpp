// SPDX-License-Identifier: Apache-2.0
// The web console's files through the real server: each file with its type,
// ETag and caching; the console's own page paths answered with index.html;
// paths that try to leave the directory, unknown assets and a console not
// installed answered 404; and /api/v1/whoami, which tells the page its role.
#include <filesystem>

#include "harness.hpp"

namespace surveyor::collector {
namespace {

struct Console {
  test::TempDir dir;
  Console() {
    std::filesystem::create_directories(dir.file("ui/assets"));
    std::ofstream(dir.file("ui/index.html")) << "<!doctype html><title>Surveyor</title>";
    std::ofstream(dir.file("ui/assets/index-abc123.js")) << "console.log('surveyor')";
    std::ofstream(dir.file("ui/assets/index-abc123.css")) << "body{}";
    std::ofstream(dir.file("secret.txt")) << "outside the console";
  }
  [[nodiscard]] std::string ui() const { return dir.file("ui"); }
};

Harness with_console(const std::string& ui_dir) {
  return Harness("", 1 << 20, nullptr, {}, false, 0, 200, {}, [&](api::ApiOptions& o) {
    auto files = ui::UiFiles::load(ui_dir);
    EXPECT_TRUE(files) << files.error().describe();
    if (files) o.ui = *files;
    o.ui_dir = ui_dir;
  });
}

TEST(Console, FilesAreServedWithTheirTypeAndCaching) {
  Console c;
  Harness h = with_console(c.ui());
  auto js = h.call_as("", "GET", "/ui/assets/index-abc123.js");
  EXPECT_EQ(js.status, 200u);
  EXPECT_EQ(js.body, "console.log('surveyor')");
  EXPECT_EQ(js.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.header("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(js.header("ETag"), "\"" + core::sha256_hex("console.log('surveyor')") + "\"");
  EXPECT_EQ(js.header("X-Content-Type-Options"), "nosniff");
  EXPECT_NE(js.header("Content-Security-Policy").find("default-src 'self'"), std::string_view::npos);
  EXPECT_EQ(h.call_as("", "GET", "/ui/assets/index-abc123.css").header("Content-Type"), "text/css; charset=utf-8");

  // The same ETag again: 304 without a body.
  auto again = h.call_as("", "GET", "/ui/assets/index-abc123.js", {},
                         {{"If-None-Match", std::string(js.header("ETag"))}});
  EXPECT_EQ(again.status, 304u);
  EXPECT_TRUE(again.body.empty());
}

TEST(Console, ItsPagesAreIndexHtmlAndTheRootLeadsThere) {
  Console c;
  Harness h = with_console(c.ui());
  for (const std::string path : {"/ui", "/ui/", "/ui/fleet", "/ui/ci/host-1", "/ui/incidents/inc-7?x=1",
                                 "/ui/ci/db01.example.com", "/ui/services/payments.eu"}) {
    auto r = h.call_as("", "GET", path);
    EXPECT_EQ(r.status, 200u) << path;
    EXPECT_EQ(r.body, "<!doctype html><title>Surveyor</title>") << path;
    EXPECT_EQ(r.header("Content-Type"), "text/html; charset=utf-8") << path;
    EXPECT_EQ(r.header("Cache-Control"), "no-cache") << path;
    EXPECT_EQ(r.header("X-Frame-Options"), "DENY") << path;
  }
  auto root = h.call_as("", "GET", "/");
  EXPECT_EQ(root.status, 302u);
  EXPECT_EQ(root.header("Location"), "/ui/");
}

// A bad-input corpus: none of these reaches a file outside the console.
// Under assets/ and at the top a name that is no file is 404; deeper, any
// path is one of the console's pages, answered with index.html.
TEST(Console, PathsThatLeaveTheConsoleOrNameNoFileAre404) {
  Console c;
  Harness h = with_console(c.ui());
  const std::string index = "<!doctype html><title>Surveyor</title>";
  for (const std::string path :
       {"/ui/assets/../../secret.txt", "/ui/assets/%2e%2e%2f%2e%2e%2fsecret.txt", "/ui/assets/missing.js",
        "/ui/assets/", "/ui/favicon.ico", "/ui/secret.txt", "/ui/assets/index-abc123.js%00.html"}) {
    auto r = h.call_as("", "GET", path);
    EXPECT_TRUE(r.status == 404u || r.status == 400u) << path << " " << r.status;
    EXPECT_EQ(r.body.find("outside the console"), std::string::npos) << path;
  }
  for (const std::string path : {"/ui/../secret.txt", "/ui/%2e%2e/secret.txt", "/ui//etc/passwd.txt", "/ui/..%2fsecret.txt",
                                 "/ui/ci/../../secret.txt", "/ui/ci/%2e%2e%2f%2e%2e%2fsecret.txt"}) {
    auto r = h.call_as("", "GET", path);
    EXPECT_TRUE(r.status == 404u || r.status == 400u || r.body == index) << path << " " << r.status;
    EXPECT_EQ(r.body.find("outside the console"), std::string::npos) << path;
  }
  // Only GET.
  EXPECT_EQ(h.call_as("", "POST", "/ui/fleet", "{}").status, 405u);
}

TEST(Console, NotInstalledIsSaidPlainly) {
  Harness h;  // no ui
  auto r = h.call_as("", "GET", "/ui/fleet");
  EXPECT_EQ(r.status, 404u);
  EXPECT_NE(r.body.find("web console is not installed"), std::string::npos) << r.body;
}

TEST(Console, ADirectoryWithoutIndexOrWithStrangeNamesIsRefused) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("empty"));
  auto none = ui::UiFiles::load(dir.file("empty"));
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("no index.html"), std::string::npos) << none.error().message;
  std::filesystem::create_directories(dir.file("odd"));
  std::ofstream(dir.file("odd/index.html")) << "x";
  std::ofstream(dir.file("odd/a b.js")) << "x";
  auto odd = ui::UiFiles::load(dir.file("odd"));
  ASSERT_FALSE(odd);
  EXPECT_NE(odd.error().message.find("names may hold"), std::string::npos) << odd.error().message;
  std::filesystem::create_directories(dir.file("big"));
  std::ofstream(dir.file("big/index.html")) << std::string(2048, 'x');
  auto big = ui::UiFiles::load(dir.file("big"), 1024);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("larger than 1024 bytes"), std::string::npos) << big.error().message;
  EXPECT_FALSE(ui::UiFiles::load(dir.file("nowhere")));
}

TEST(Console, WhoamiNamesTheTokenAndItsRole) {
  Harness h;
  const std::string t = h.token("olga", store::Role::operator_);
  auto r = h.call_as(t, "GET", "/api/v1/whoami");
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto o = json::parse(r.body).as_object();
  EXPECT_EQ(o.at("name").as_string(), "olga");
  EXPECT_EQ(o.at("role").as_string(), "operator");
  EXPECT_EQ(h.call_as("", "GET", "/api/v1/whoami").status, 401u);
}

}  // namespace
}  // namespace surveyor::collector
