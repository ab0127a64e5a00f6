// SPDX-License-Identifier: Apache-2.0
// The evidence verbs: a clause's report in a format (PDF through headless
// Chromium), and a downloaded report checked against the collector's.
#include <CLI/CLI.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "surveyor/cli/format/render.hpp"
#include "surveyor/core/crypto.hpp"

#include "handlers.hpp"
#include "requests.hpp"

namespace surveyor::cli::commands {
namespace {

// Chromium's path: $SURVEYOR_CHROMIUM, else the first of Debian's and
// others' names found on PATH; empty when there is none.
std::string find_chromium() {
  if (const char* env = std::getenv("SURVEYOR_CHROMIUM"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');)
    for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
      const std::filesystem::path p = std::filesystem::path(dir) / name;
      if (::access(p.c_str(), X_OK) == 0) return p.string();
    }
  return {};
}

// Prints `html` to a PDF with headless Chromium; the error to show, if any.
std::optional<std::string> print_pdf(const std::string& html, const std::string& pdf) {
  const std::string chromium = find_chromium();
  if (chromium.empty())
    return "no Chromium to print the PDF with (apt-get install chromium, or set SURVEYOR_CHROMIUM); "
           "--format html gives the same report, printable from any browser";
  char dir_template[] = "/tmp/surveyor-evidence-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (dir == nullptr) return "cannot make a temporary directory";
  const std::filesystem::path page = std::filesystem::path(dir) / "report.html";
  std::ofstream(page, std::ios::binary) << html;
  const std::string out = std::filesystem::absolute(pdf).string();
  std::vector<std::string> args{chromium,
                                "--headless",
                                "--disable-gpu",
                                "--no-sandbox",
                                "--no-first-run",
                                "--user-data-dir=" + (std::filesystem::path(dir) / "profile").string(),
                                "--no-pdf-header-footer",
                                "--print-to-pdf=" + out,
                                "file://" + page.string()};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Chromium's own chatter is not the report's.
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  const bool ran = pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!ran || !std::filesystem::exists(out)) return "Chromium (" + chromium + ") did not print the PDF";
  return std::nullopt;
}

}  // namespace

void add_evidence_options(CLI::App& command, Options& options) {
  EvidenceOptions& o = options.evidence;
  command.add_option("CLAUSE", o.clause, "the clause: 8.2.6, 8.3.3, 8.4.3, 8.5.1, 8.6.1, 8.7.1 or 9.1");
  command.add_option("--period", o.period,
                     "2026-11, 2026-W48, 2026-Q4, 2026 or 2026-10-01..2026-12-31 (default: the last month)");
  command.add_option("--format", o.format, "html (default), json, csv (with --table) or pdf")
      ->check(CLI::IsMember({"html", "json", "csv", "pdf"}));
  command.add_option("--table", o.table, "csv: which table (the names are in the JSON's tables)");
  command.add_option("--output,-o", o.output, "write to this file (pdf: default surveyor-evidence-CLAUSE-PERIOD.pdf)");
}

int run_evidence(const Context& context, const Options& options) {
  const EvidenceOptions& o = options.evidence;
  if (o.clause.empty()) {
    auto list = get(context.collector, "/api/v1/evidence");
    if (!list) return 1;
    std::cout << *list << "\n";
    return 0;
  }
  const std::string wire_format = o.format == "pdf" ? "html" : o.format;
  std::string q = "/api/v1/evidence/" + encode(o.clause) + "?format=" + wire_format;
  add_param(q, "period", o.period);
  add_param(q, "table", o.table);
  auto body = get(context.collector, q);
  if (!body) return 1;
  if (o.format == "pdf") {
    const std::string out = o.output.empty()
                                ? "surveyor-evidence-" + o.clause + "-" + (o.period.empty() ? "last-month" : o.period) + ".pdf"
                                : o.output;
    if (auto e = print_pdf(*body, out)) {
      std::cerr << "surveyor: " << *e << "\n";
      return 1;
    }
    std::cout << "wrote " << out << "\n";
    return 0;
  }
  if (o.output.empty()) {
    std::cout << *body;
    if (!body->empty() && body->back() != '\n') std::cout << "\n";
    return 0;
  }
  std::ofstream f(o.output, std::ios::binary | std::ios::trunc);
  f << *body;
  if (!f.flush()) {
    std::cerr << "surveyor: cannot write " << o.output << "\n";
    return 1;
  }
  std::cout << "wrote " << o.output << "\n";
  return 0;
}

void add_evidence_verify_options(CLI::App& command, Options& options) {
  command.add_option("FILE", options.evidence.file, "a report downloaded as JSON")->required();
}

// Exit code 0: the file is the collector's frozen report, unaltered; 1 not.
int run_evidence_verify(const Context& context, const Options& options) {
  std::ifstream in(options.evidence.file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    std::cerr << "surveyor: cannot read " << options.evidence.file << "\n";
    return 2;
  }
  auto file = format::read_evidence(text.str());
  if (!file) {
    std::cerr << "surveyor: " << options.evidence.file << ": " << file.error().message << "\n";
    return 1;
  }
  std::cout << "report: clause " << file->clause << ", period " << file->period << "\n";
  if (file->computed != file->digest) {
    std::cout << "ALTERED: the content does not match the digest the report carries (" << file->digest << ")\n";
    return 1;
  }
  std::cout << "digest " << file->digest << " matches the content\n";
  if (!file->frozen) {
    std::cout << "NOT VERIFIABLE: the period had not ended when the report was generated; only reports of closed "
                 "periods are frozen\n";
    return 1;
  }
  auto stored = get(context.collector, "/api/v1/evidence/" + encode(file->clause) + "?format=json&period=" +
                                           encode(file->period));
  if (!stored) return 1;
  auto held = format::read_evidence(*stored);
  if (!held) {
    std::cerr << "surveyor: " << held.error().message << "\n";
    return 1;
  }
  if (held->digest != file->digest || held->computed != held->digest) {
    std::cout << "DIFFERENT: the collector's frozen report has digest " << held->digest << "\n";
    return 1;
  }
  std::cout << "verified: the collector holds this very report\n";
  return 0;
}

}  // namespace surveyor::cli::commands
