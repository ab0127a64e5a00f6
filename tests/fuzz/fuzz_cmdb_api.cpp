// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the CMDB endpoints that read a JSON body from anyone who can
// reach the API (create a CI, set attributes, add a relationship, record a
// change, define a service, act on an incident, recompute an SLA report,
// verify the audit trail against a checkpoint),
// called directly on a real SQLite store. Every
// input must get an answer (2xx or a 4xx with a JSON error), never a crash,
// an exception or a 5xx.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include "surveyor/collector/api/api.hpp"
#include "surveyor/collector/backends/open.hpp"
#include "surveyor/collector/incidents/incidents.hpp"

namespace {

using namespace surveyor;
using namespace surveyor::collector;

struct World {
  World() {
    dir = std::filesystem::temp_directory_path() / ("surveyor-fuzz-cmdb-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto s = backends::open_stores("sqlite:" + (dir / "s.db").string() + "?synchronous=normal");
    if (!s) {
      std::fprintf(stderr, "fuzz_cmdb_api: %s\n", s.error().describe().c_str());
      std::abort();
    }
    stores = *s;
    api::ApiOptions o{"token"};
    o.services = std::make_shared<services::Catalog>(std::filesystem::path{}, stores.services);
    api = std::make_unique<api::Api>(stores, clock, registry, o);
    store::CiUpdate u;
    u.id = "host-1";
    u.type = "host";
    u.source = "agent";
    u.seen_at_ms = 1;
    if (auto ci = stores.cmdb->upsert_ci(u); !ci) {
      std::fprintf(stderr, "fuzz_cmdb_api: %s\n", ci.error().describe().c_str());
      std::abort();
    }
    // An incident to act on and a service with an SLA to recompute.
    incidents::Signal sig;
    sig.subject = "host-1";
    sig.rule = "heartbeat";
    if (auto n = incidents::apply(*stores.incidents, {sig}, 1'794'000'000'000, {}); !n || n->empty()) std::abort();
    if (!stores.services->put_service({"sla-shop", "name = \"sla-shop\"\nowner = \"o\"\nsla_target = 99.9\n", "api", 1}))
      std::abort();
  }
  ~World() {
    api.reset();
    stores = {};
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::filesystem::path dir;
  core::ManualClock clock{core::from_unix_ms(1'795'000'000'000)};
  metrics::Registry registry;
  store::Stores stores;
  std::unique_ptr<api::Api> api;
};

void check(const http::Response& r, const char* what, const std::string& body) {
  if (r.status >= 500) {
    std::fprintf(stderr, "fuzz_cmdb_api: %s: %u %s\nbody: %s\n", what, r.status, r.body.c_str(), body.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  http::Request req;
  req.body.assign(reinterpret_cast<const char*>(data), size);
  server::Params p;
  p.path["id"] = "host-1";
  p.path["name"] = "shop";
  p.actor = "fuzz (127.0.0.1)";
  check(w.api->create_ci(req, p), "create_ci", req.body);
  check(w.api->update_ci(req, p), "update_ci", req.body);
  check(w.api->add_relationship(req, p), "add_relationship", req.body);
  check(w.api->create_change(req, p), "create_change", req.body);
  check(w.api->put_service(req, p), "put_service", req.body);
  check(w.api->verify_audit(req), "verify_audit", req.body);
  static const char* kActions[] = {"comment", "acknowledge", "resolve", "close", "reopen", "x"};
  p.path["id"] = "INC-1";
  p.path["action"] = kActions[size == 0 ? 0 : data[0] % 6];
  check(w.api->act_on_incident(req, p), "act_on_incident", req.body);
  p.path["name"] = "sla-shop";
  p.query["period"] = "2026-10";
  check(w.api->recompute_sla_report(req, p), "recompute_sla_report", req.body);
  return 0;
}
