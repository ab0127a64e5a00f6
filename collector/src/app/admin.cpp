// SPDX-License-Identifier: Apache-2.0
// surveyor-collector's administration commands, run on the store directly
// (no running collector needed): operators' tokens, enrollment grants and
// agents' revocation.
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <iostream>

#include "surveyor/collector/api/api.hpp"
#include "surveyor/collector/app/app.hpp"
#include "store_settings.hpp"
#include "surveyor/collector/backends/open.hpp"
#include "surveyor/collector/ingest/ingest.hpp"
#include "surveyor/config/cli.hpp"
#include "surveyor/core/clock.hpp"
#include "surveyor/text/table.hpp"
#include "surveyor/tls/tls.hpp"

namespace surveyor::collector::app {
namespace {

struct Target {
  std::string store;
  std::string password_file;
  std::string config;
};

void add_target(CLI::App& cmd, Target& t) {
  cmd.add_option("--store", t.store, "the collector's store (sqlite:PATH or redis://...)");
  cmd.add_option("--store-password-file", t.password_file, "file holding Redis's password (mode 0600)");
  cmd.add_option("--config", t.config,
                 "read the store and its store_* settings (password file, rediss:// files) from this collector.toml");
}

core::Result<store::Stores> open_target(const Target& t) {
  // The collector's own settings (its file when given), the flags winning.
  std::map<std::string, std::string> flags;
  if (!t.store.empty()) flags["store"] = t.store;
  if (!t.password_file.empty()) flags["store_password_file"] = t.password_file;
  if (t.store.empty() && t.config.empty())
    return core::make_error(config::ConfigErrc::invalid_value, "--store or --config is required");
  auto s = config::resolve(schema(), t.config, flags, false);
  if (!s) return std::move(s).error();
  auto access = store_settings(*s);
  if (!access) return std::move(access).error();
  return backends::open_stores(s->str("store"), *access);
}

std::string when(std::int64_t ms) { return ms == 0 ? "-" : core::format_rfc3339(ms); }

std::string state(std::int64_t revoked_ms, std::int64_t expires_ms, std::int64_t now_ms) {
  if (revoked_ms != 0) return "revoked";
  if (expires_ms != 0 && now_ms >= expires_ms) return "expired";
  return "active";
}

// Writes the secret to `path` (created with mode 0600, never over an
// existing file) or prints it.
bool deliver_secret(const std::string& secret, const std::string& path) {
  if (path.empty()) {
    std::printf("%s\n", secret.c_str());
    return true;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "cannot create %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  const std::string line = secret + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  return ::close(fd) == 0 && ok;
}

int fail(const std::string& message, int code = 1) {
  std::fprintf(stderr, "surveyor-collector: %s\n", message.c_str());
  return code;
}

using Revoke = std::function<core::Result<bool>(store::Stores&, const std::string&)>;

// A "revoke KEY" command of `parent`: `revoke` on the store, then "revoked
// WHAT KEY" and `after`, or why not (exit 1).
void add_revoke(CLI::App& parent, const std::string& help, const std::string& key_help, const std::string& what,
                Target& target, std::string& key, int& rc, Revoke revoke, std::string after = {}) {
  auto* cmd = parent.add_subcommand("revoke", help);
  add_target(*cmd, target);
  cmd->add_option("key", key, key_help)->required();
  cmd->callback([&target, &key, &rc, what, after, revoke = std::move(revoke)] {
    auto stores = open_target(target);
    if (!stores) return void(rc = fail(stores.error().describe()));
    auto done = revoke(*stores, key);
    if (!done) return void(rc = fail(done.error().describe()));
    if (!*done) return void(rc = fail("no " + what + " '" + key + "' in force"));
    std::printf("revoked %s %s%s\n", what.c_str(), key.c_str(), after.c_str());
  });
}

}  // namespace

int admin_main(int argc, char** argv) {
  CLI::App app{"surveyor-collector administration: tokens, enrollment grants, agents", "surveyor-collector"};
  app.require_subcommand(1);
  // The collector's clock, shifted as its own is (SURVEYOR_CLOCK_OFFSET, for tests).
  auto offset = core::clock_offset_from_env();
  if (!offset) return fail(offset.error().message, 2);
  const core::SystemClock clock(*offset);
  const std::int64_t now = core::to_unix_ms(clock.now());
  Target target;
  int rc = 0;

  // token create | list | revoke
  auto* token = app.add_subcommand("token", "operators' API tokens (docs/security.md)");
  token->require_subcommand(1);
  std::string name, role, expires, out;
  auto* create = token->add_subcommand("create", "make a token and print its secret (shown once)");
  add_target(*create, target);
  create->add_option("--name", name, "who holds it: records name him by it (letters, digits, . _ -)")->required();
  create->add_option("--role", role, "viewer, operator, change-manager or admin")->required();
  create->add_option("--expires", expires, "valid for this long (90d, 12h); default: until revoked");
  create->add_option("--out", out, "write the secret to this new file (mode 0600) instead of printing it");
  create->callback([&] {
    auto r = store::role_from(role);
    if (!r) return void(rc = fail("unknown role '" + role + "': viewer, operator, change-manager or admin", 2));
    if (!api::valid_token_name(name)) return void(rc = fail("a token name is 1-64 letters, digits, '.', '_' or '-'", 2));
    auto until = api::expiry_after(expires, now);
    if (!until) return void(rc = fail("--expires: expected a positive duration such as 90d", 2));
    auto stores = open_target(target);
    if (!stores) return void(rc = fail(stores.error().describe()));
    const auto t = api::issue_token(name, *r, now, *until);
    auto added = stores->credentials->add_token(t.record);
    if (!added) return void(rc = fail(added.error().describe()));
    if (!*added) return void(rc = fail("a token named '" + name + "' exists or existed; names are not reused"));
    if (!deliver_secret(t.secret, out)) rc = 1;
  });
  auto* list = token->add_subcommand("list", "every token: name, role, dates, state");
  add_target(*list, target);
  list->callback([&] {
    auto stores = open_target(target);
    if (!stores) return void(rc = fail(stores.error().describe()));
    auto tokens = stores->credentials->list_tokens();
    if (!tokens) return void(rc = fail(tokens.error().describe()));
    std::vector<std::vector<std::string>> rows;
    for (const store::OperatorToken& t : *tokens)
      rows.push_back({t.name, std::string(store::to_string(t.role)), when(t.created_ms), when(t.expires_ms),
                      state(t.revoked_ms, t.expires_ms, now)});
    std::cout << text::table({"NAME", "ROLE", "CREATED", "EXPIRES", "STATE"}, rows);
  });
  add_revoke(*token, "refuse a token from now on", "the token's name", "token", target, name, rc,
             [now](store::Stores& st, const std::string& key) { return st.credentials->revoke_token(key, now); });

  // enrollment create | list | revoke
  auto* enrollment = app.add_subcommand("enrollment", "enrollment tokens agents enroll with");
  enrollment->require_subcommand(1);
  std::int64_t uses = 1;
  std::string id, grant_expires = "24h";
  auto* ecreate = enrollment->add_subcommand("create", "make an enrollment token and print it (shown once)");
  add_target(*ecreate, target);
  ecreate->add_option("--uses", uses, "how many agents may enroll with it (default 1)")->check(CLI::Range(1, 1'000'000));
  ecreate->add_option("--expires", grant_expires, "valid for this long (default 24h)");
  ecreate->add_option("--out", out, "write it to this new file (mode 0600) instead of printing it");
  ecreate->callback([&] {
    auto until = api::expiry_after(grant_expires, now);
    if (!until) return void(rc = fail("--expires: expected a positive duration such as 24h", 2));
    auto stores = open_target(target);
    if (!stores) return void(rc = fail(stores.error().describe()));
    const auto g = api::issue_grant(uses, now, *until);
    if (auto st = stores->credentials->add_grant(g.record); !st) return void(rc = fail(st.error().describe()));
    std::fprintf(stderr, "enrollment token %s: %lld use(s), until %s\n", g.record.id.c_str(),
                 static_cast<long long>(uses), when(g.record.expires_ms).c_str());
    if (!deliver_secret(g.secret, out)) rc = 1;
  });
  auto* elist = enrollment->add_subcommand("list", "every enrollment token: id, uses, dates, state");
  add_target(*elist, target);
  elist->callback([&] {
    auto stores = open_target(target);
    if (!stores) return void(rc = fail(stores.error().describe()));
    auto grants = stores->credentials->list_grants();
    if (!grants) return void(rc = fail(grants.error().describe()));
    std::vector<std::vector<std::string>> rows;
    for (const store::EnrollmentGrant& g : *grants) {
      std::string st = state(g.revoked_ms, g.expires_ms, now);
      if (st == "active" && g.used >= g.uses) st = "used up";
      rows.push_back({g.id, std::to_string(g.used) + "/" + std::to_string(g.uses), when(g.created_ms),
                      when(g.expires_ms), st});
    }
    std::cout << text::table({"ID", "USED", "CREATED", "EXPIRES", "STATE"}, rows);
  });
  add_revoke(*enrollment, "refuse an enrollment token from now on", "its id (enr-...)", "enrollment token", target, id,
             rc, [now](store::Stores& st, const std::string& key) { return st.credentials->revoke_grant(key, now); });

  // agent revoke
  auto* agent = app.add_subcommand("agent", "enrolled agents");
  agent->require_subcommand(1);
  add_revoke(*agent, "refuse an agent's key from now on (it must enroll again)", "the agent's id", "agent", target, id,
             rc, [](store::Stores& st, const std::string& key) { return st.agents->revoke_agent(key); },
             ": its reports are refused (401) until it enrolls again");
  auto* approve = agent->add_subcommand(
      "approve", "let an agent whose enrollment conflicted take over the host's CI (the agent holding it is revoked)");
  add_target(*approve, target);
  approve->add_option("id", id, "the agent's id")->required();
  approve->callback([&] {
    auto stores = open_target(target);
    if (!stores) return void(rc = fail(stores.error().describe()));
    auto host = ingest::approve_conflict(*stores, id, now);
    if (!host) return void(rc = fail(host.error().message));
    std::printf("agent %s now reports for %s\n", id.c_str(), host->c_str());
  });

  // certs init
  auto* certs = app.add_subcommand("certs", "TLS certificates");
  certs->require_subcommand(1);
  std::string dir;
  std::vector<std::string> hosts;
  auto* init = certs->add_subcommand(
      "init", "make a small CA and a server certificate for a quick start (for production, use your own CA)");
  init->add_option("--dir", dir, "where to write ca.pem, ca-key.pem, server.pem, server-key.pem")->required();
  init->add_option("--host", hosts, "a name or address agents reach the collector by (repeat for more)")->required();
  init->callback([&] {
    auto pin = tls::make_quick_start(dir, hosts);
    if (!pin) return void(rc = fail(pin.error().message));
    std::printf("wrote %s/ca.pem (agents' ca_file), %s/server.pem and %s/server-key.pem (--tls-cert, --tls-key);\n"
                "keep %s/ca-key.pem offline or delete it once you have made what you need\n"
                "server key pin (agents' pin_sha256): %s\n",
                dir.c_str(), dir.c_str(), dir.c_str(), dir.c_str(), pin->c_str());
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return rc;
}

bool is_admin_command(std::string_view word) {
  return word == "token" || word == "enrollment" || word == "agent" || word == "certs";
}

}  // namespace surveyor::collector::app
