// SPDX-License-Identifier: Apache-2.0
// Configuration files: schemas, durations, and errors that name the file,
// line and key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include <sys/stat.h>

#include "surveyor/config/options.hpp"
#include "test_support.hpp"

namespace surveyor::config {
namespace {

using namespace std::chrono_literals;

Schema agent_like() {
  Schema s;
  s.add({.key = "collector_url", .type = Type::string, .description = "where to report", .required = true});
  s.add({.key = "sample_interval", .type = Type::duration, .default_value = Value{10'000ms},
         .description = "how often to sample",
         .validate = [](const Value& v) -> std::optional<std::string> {
           if (std::get<std::chrono::milliseconds>(v) < 1s) return "must be at least 1s";
           return std::nullopt;
         }});
  s.add({.key = "verbose", .type = Type::boolean, .default_value = Value{false}, .description = "chatty"});
  s.add({.key = "retries", .type = Type::integer, .default_value = Value{std::int64_t{3}}, .description = "n"});
  s.add({.key = "token", .type = Type::string, .description = "secret", .secret = true});
  s.add({.key = "mounts", .type = Type::string_list, .default_value = Value{std::vector<std::string>{}},
         .description = "mount points"});
  auto check = std::make_shared<Schema>();
  check->add({.key = "name", .type = Type::string, .description = "check name", .required = true});
  check->add({.key = "timeout", .type = Type::duration, .default_value = Value{5000ms}, .description = "t"});
  s.add_table_array({.key = "check", .description = "checks", .schema = check});
  return s;
}

TEST(Config, DefaultsThenFileThenFlags) {
  const Schema s = agent_like();
  auto r = load_string(s, R"(
collector_url = "http://127.0.0.1:8080"
sample_interval = "30s"
mounts = ["/", "/var"]
)", "agent.toml");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->str("collector_url"), "http://127.0.0.1:8080");
  EXPECT_EQ(r->duration("sample_interval"), 30s);
  EXPECT_EQ(r->origin("sample_interval"), "agent.toml:3");
  EXPECT_EQ(r->flag("verbose"), false);
  EXPECT_EQ(r->origin("verbose"), "default");
  EXPECT_EQ(r->list("mounts"), (std::vector<std::string>{"/", "/var"}));
  ASSERT_TRUE(set_from_text(s, *r, "retries", "7", "command line"));
  EXPECT_EQ(r->integer("retries"), 7);
  EXPECT_TRUE(check_required(s, *r));
}

TEST(Config, IntegerDurationMeansSeconds) {
  auto r = load_string(agent_like(), "collector_url = \"x\"\nsample_interval = 15\n", "a.toml");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->duration("sample_interval"), 15s);
}

TEST(Config, ErrorsNameFileLineAndKey) {
  const Schema s = agent_like();
  struct Refused {
    const char* toml;
    ConfigErrc code;
    std::vector<const char*> says;
  };
  const Refused cases[] = {
      {"collector_url = \"x\"\n\nsample_intervall = \"5s\"\n", ConfigErrc::unknown_key,
       {"agent.toml:3", "sample_intervall"}},
      {"verbose = \"yes\"\n", ConfigErrc::wrong_type, {"agent.toml:1: 'verbose'"}},
      {"sample_interval = \"500ms\"\n", ConfigErrc::invalid_value, {"at least 1s"}},
      {"collector_url = \n", ConfigErrc::syntax, {"agent.toml:1"}},
  };
  for (const Refused& c : cases) {
    auto r = load_string(s, c.toml, "agent.toml");
    ASSERT_FALSE(r) << c.toml;
    EXPECT_EQ(r.error().code, c.code) << c.toml;
    for (const char* part : c.says) EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
  }

  auto missing = load_string(s, "", "agent.toml");
  ASSERT_TRUE(missing);
  auto req = check_required(s, *missing);
  ASSERT_FALSE(req);
  EXPECT_NE(req.error().message.find("collector_url"), std::string::npos);

  auto io = load_file(s, "/nonexistent/agent.toml");
  ASSERT_FALSE(io);
  EXPECT_EQ(io.error().code, ConfigErrc::io);
}

TEST(Config, TableArraysUseTheirOwnSchema) {
  const Schema s = agent_like();
  auto r = load_string(s, R"(
collector_url = "x"
[[check]]
name = "ssh"
[[check]]
name = "web"
timeout = "2s"
)", "a.toml");
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(r->tables("check").size(), 2u);
  EXPECT_EQ(r->tables("check")[0].duration("timeout"), 5s);
  EXPECT_EQ(r->tables("check")[1].duration("timeout"), 2s);

  auto bad = load_string(s, "[[check]]\ntimeout = \"1s\"\n", "a.toml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("name"), std::string::npos);
  auto unknown = load_string(s, "[[check]]\nname = \"x\"\ncolour = 1\n", "a.toml");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("a.toml:3"), std::string::npos) << unknown.error().message;
}

// agent.toml, then agent.d/*.toml in name order: later values win, checks
// are appended, other files are ignored, and an error names the drop-in.
TEST(Config, DropInsAreReadInNameOrderAfterTheFile) {
  const Schema s = agent_like();
  test::TempDir dir;
  const std::string main = dir.file("agent.toml");
  std::ofstream(main) << "collector_url = \"https://a:1\"\nretries = 5\n[[check]]\nname = \"ssh\"\n";
  auto alone = load_file(s, main);
  ASSERT_TRUE(alone) << alone.error().describe();
  EXPECT_EQ(alone->integer("retries"), 5);
  EXPECT_EQ(alone->config_path(), main);
  EXPECT_EQ(drop_in_dir(main), dir.file("agent.d"));

  std::filesystem::create_directory(dir.file("agent.d"));
  std::ofstream(dir.file("agent.d/20-url.toml")) << "collector_url = \"https://b:2\"\n[[check]]\nname = \"web\"\n";
  std::ofstream(dir.file("agent.d/10-retries.toml")) << "retries = 7\ncollector_url = \"https://c:3\"\n";
  std::ofstream(dir.file("agent.d/README")) << "not toml = [";
  auto merged = load_file(s, main);
  ASSERT_TRUE(merged) << merged.error().describe();
  EXPECT_EQ(merged->integer("retries"), 7);
  EXPECT_EQ(merged->str("collector_url"), "https://b:2") << "20-url.toml comes after 10-retries.toml";
  EXPECT_NE(merged->origin("collector_url").find("20-url.toml:1"), std::string::npos) << merged->origin("collector_url");
  ASSERT_EQ(merged->tables("check").size(), 2u);
  EXPECT_EQ(merged->tables("check")[1].str("name"), "web");

  std::ofstream(dir.file("agent.d/30-bad.toml")) << "retries = \"many\"\n";
  auto bad = load_file(s, main);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("30-bad.toml:1"), std::string::npos) << bad.error().message;
}

TEST(Config, FlagsAreTypedToo) {
  const Schema s = agent_like();
  Settings st = defaults(s);
  EXPECT_FALSE(set_from_text(s, st, "retries", "many", "--retries"));
  EXPECT_FALSE(set_from_text(s, st, "verbose", "maybe", "--verbose"));
  EXPECT_FALSE(set_from_text(s, st, "sample_interval", "0s", "--sample-interval"));
  EXPECT_FALSE(set_from_text(s, st, "nope", "1", "--nope"));
  ASSERT_TRUE(set_from_text(s, st, "mounts", "/,/home", "--mounts"));
  EXPECT_EQ(st.list("mounts").size(), 2u);
}

TEST(Config, PrintMasksSecretsAndReadsBack) {
  const Schema s = agent_like();
  Settings st = defaults(s);
  ASSERT_TRUE(set_from_text(s, st, "collector_url", "http://c:1", "flag"));
  ASSERT_TRUE(set_from_text(s, st, "token", "hunter2", "flag"));
  const std::string text = print_toml(s, st);
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_NE(text.find("token = '********'"), std::string::npos) << text;
  auto back = load_string(s, text, "printed");
  ASSERT_TRUE(back) << back.error().describe() << "\n" << text;
  EXPECT_EQ(back->str("collector_url"), "http://c:1");
  EXPECT_EQ(back->duration("sample_interval"), 10s);
  EXPECT_NE(s.markdown().find("| `sample_interval` | duration | `10s` |"), std::string::npos) << s.markdown();
}

}  // namespace
}  // namespace surveyor::config

namespace surveyor::config {
namespace {

TEST(Config, SecretsFromAFileOrTheValue) {
  test::TempDir dir;
  Schema s;
  add_secret(s, "token", "the token");
  ASSERT_NE(s.find("token_file"), nullptr);
  EXPECT_TRUE(s.find("token")->secret);

  Settings none = defaults(s);
  EXPECT_EQ(*read_secret(none, "token"), "");
  Settings direct = defaults(s);
  ASSERT_TRUE(set_from_text(s, direct, "token", "abc", "flag"));
  EXPECT_EQ(*read_secret(direct, "token"), "abc");

  std::ofstream(dir.file("t")) << "from-file\nsecond line\n";
  ASSERT_EQ(::chmod(dir.file("t").c_str(), 0600), 0);
  Settings file = defaults(s);
  ASSERT_TRUE(set_from_text(s, file, "token", "ignored", "flag"));
  ASSERT_TRUE(set_from_text(s, file, "token_file", dir.file("t"), "flag"));
  EXPECT_EQ(*read_secret(file, "token"), "from-file") << "the file wins";

  EXPECT_FALSE(secret_given_inline(file, "token")) << "a file was given";
  EXPECT_TRUE(secret_given_inline(direct, "token"));
  EXPECT_FALSE(secret_given_inline(none, "token"));

  // A file others may read is refused, and says how to fix it.
  ASSERT_EQ(::chmod(dir.file("t").c_str(), 0640), 0);
  auto shared = read_secret(file, "token");
  ASSERT_FALSE(shared);
  EXPECT_NE(shared.error().message.find("mode is 0640"), std::string::npos) << shared.error().message;
  EXPECT_NE(shared.error().message.find("chmod 600"), std::string::npos);

  Settings missing = defaults(s);
  ASSERT_TRUE(set_from_text(s, missing, "token_file", dir.file("nope"), "flag"));
  auto r = read_secret(missing, "token");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ConfigErrc::io);
}

}  // namespace
}  // namespace surveyor::config
