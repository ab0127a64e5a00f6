// SPDX-License-Identifier: Apache-2.0
// The verb table and how a command line is mapped onto it: which verb runs,
// with which options, and what CLI11 refuses before any request is made.
#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "commands/requests.hpp"
#include "surveyor/cli/commands/verb.hpp"

namespace surveyor::cli::commands {
namespace {

// A command line parsed as main parses it; the verb it gives, or null.
struct Parsed {
  std::vector<Verb> table = verbs();
  Options options;
  CLI::App app;
  const Verb* verb = nullptr;

  explicit Parsed(std::vector<std::string> args) {
    app.require_subcommand(1);
    add_verbs(app, table, options);
    std::reverse(args.begin(), args.end());  // CLI11 takes a vector last argument first
    app.parse(args);
    verb = parsed_verb(app, table);
  }
};

void expect_well_formed(const std::vector<Verb>& verbs, const std::string& where) {
  std::set<std::string_view> names;
  for (const Verb& verb : verbs) {
    EXPECT_TRUE(names.insert(verb.name).second) << where << verb.name << " twice";
    EXPECT_FALSE(verb.help.empty()) << where << verb.name;
    // A verb does something, or offers verbs that do.
    EXPECT_TRUE(verb.run || !verb.verbs.empty()) << where << verb.name;
    expect_well_formed(verb.verbs, where + std::string(verb.name) + " ");
  }
}

TEST(VerbTable, EveryVerbRunsOrGroupsAndNamesAreUnique) { expect_well_formed(verbs(), ""); }

TEST(VerbTable, HelpListsTheVerbsInThisOrder) {
  std::vector<std::string_view> names;
  for (const Verb& verb : verbs()) names.push_back(verb.name);
  EXPECT_EQ(names, (std::vector<std::string_view>{"cis", "ci", "services", "service", "impact",
                                                  "audit", "evidence", "change", "sla", "trend", "forecast", "capacity",
                                                  "incidents", "incident"}));
}

TEST(VerbDispatch, TheDeepestVerbGivenRuns) {
  Parsed kpis({"incidents", "kpis", "--period", "2026-11"});
  ASSERT_NE(kpis.verb, nullptr);
  EXPECT_EQ(kpis.verb->name, "kpis");
  EXPECT_EQ(kpis.options.incidents.period, "2026-11");

  // "incidents" has a handler of its own as well as "kpis".
  Parsed incidents({"incidents", "--state", "open", "--ci", "service:shop"});
  ASSERT_NE(incidents.verb, nullptr);
  EXPECT_EQ(incidents.verb->name, "incidents");
  EXPECT_EQ(incidents.options.incidents.state, "open");
  EXPECT_EQ(incidents.options.incidents.subject, "service:shop");

  Parsed comment({"incident", "comment", "INC-7", "--text", "on it"});
  ASSERT_NE(comment.verb, nullptr);
  EXPECT_EQ(comment.verb->name, "comment");
  EXPECT_EQ(comment.options.incidents.id, "INC-7");
  EXPECT_EQ(comment.options.incidents.text, "on it");
}

TEST(VerbDispatch, OptionsLandWhereTheHandlerReadsThem) {
  Parsed trend({"trend", "host-1,web01", "system.cpu.utilization", "--attr", "cpu=0", "--attr",
                "state=user", "--exact", "--step", "5m"});
  ASSERT_NE(trend.verb, nullptr);
  EXPECT_EQ(trend.verb->name, "trend");
  const SeriesOptions& s = trend.options.series;
  EXPECT_EQ(s.cis, "host-1,web01");
  EXPECT_EQ(s.metric, "system.cpu.utilization");
  EXPECT_EQ(s.attrs, (std::vector<std::string>{"cpu=0", "state=user"}));
  EXPECT_TRUE(s.exact);
  EXPECT_EQ(s.step, "5m");

  Parsed report({"sla", "report", "shop", "--format", "csv"});
  ASSERT_NE(report.verb, nullptr);
  EXPECT_EQ(report.verb->name, "report");
  EXPECT_EQ(report.options.sla.service, "shop");
  EXPECT_EQ(report.options.sla.format, "csv");
  // Defaults the handlers rely on.
  EXPECT_EQ(report.options.audit.limit, "100");
  EXPECT_EQ(report.options.incidents.limit, "100");
  EXPECT_EQ(report.options.series.format, "table");
}

TEST(VerbDispatch, UsageErrorsAreRefusedWhileParsing) {
  EXPECT_THROW(Parsed({"ci"}), CLI::RequiredError);          // a group needs a verb
  EXPECT_THROW(Parsed({"ci", "show"}), CLI::RequiredError);  // CI is required
  EXPECT_THROW(Parsed({"incident", "comment", "INC-1"}), CLI::RequiredError);  // --text
  EXPECT_THROW(Parsed({"sla", "report", "shop", "--format", "xml"}), CLI::ValidationError);
  EXPECT_THROW(Parsed({"capacity", "report", "--format", "html"}), CLI::ValidationError);
  EXPECT_THROW(Parsed({"bogus"}), CLI::ParseError);
  // An action without --text parses: only a comment must say something.
  EXPECT_NO_THROW(Parsed({"incident", "ack", "INC-1"}));
}

TEST(Requests, JsonStringsAreEscaped) {
  EXPECT_EQ(json_string("alice"), R"("alice")");
  EXPECT_EQ(json_string(R"(say "hi" \ bye)"), R"("say \"hi\" \\ bye")");
  EXPECT_EQ(json_string("a\nb\x01"), R"("a\u000ab\u0001")");
}

TEST(Requests, QueryParts) {
  std::string q = "/api/v1/audit?limit=5";
  add_param(q, "kind", "");
  add_param(q, "from", "2026-01-01T00:00:00Z");
  EXPECT_EQ(q, "/api/v1/audit?limit=5&from=2026-01-01T00%3A00%3A00Z");
  // An --attr without "=" names nothing and is left out.
  EXPECT_EQ(selector_query("m", {"mountpoint=/", "bad", "a b=c&d"}, true),
            "&metric=m&attr.mountpoint=%2F&attr.a%20b=c%26d&exact=true");
  EXPECT_EQ(selector_query("m", {}, false), "&metric=m");
}

TEST(Requests, TypeOrServiceNeedNoLookup) {
  // Nothing listens on port 1: naming CIs by --type or --service asks nothing.
  const http::Url nowhere{"http", "127.0.0.1", 1, ""};
  EXPECT_EQ(ci_query(nowhere, "", "host", ""), "type=host");
  EXPECT_EQ(ci_query(nowhere, "", "host", "web shop"), "service=web%20shop");
  EXPECT_EQ(ci_query(nowhere, ",,", "", ""), "ci=");
}

}  // namespace
}  // namespace surveyor::cli::commands
