// SPDX-License-Identifier: Apache-2.0
// CIs, relationships, components, audit, history and exports through the API.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace surveyor::collector {
namespace {

TEST(Api, CiQueries) {
  Harness h;
  h.enroll();
  auto list = h.call("GET", "/api/v1/cis?type=host");
  ASSERT_EQ(list.status, 200u);
  auto v = json::parse(list.body).as_object();
  EXPECT_EQ(v.at("count").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(v.at("items").as_array()[0].as_object().at("id").as_string(), h.ci_id);
  auto by_name = json::parse(h.call("GET", "/api/v1/cis?name=web01").body).as_object();
  EXPECT_EQ(by_name.at("count").to_number<std::uint64_t>(), 1u);
  auto none = json::parse(h.call("GET", "/api/v1/cis?type=disk").body).as_object();
  EXPECT_EQ(none.at("count").to_number<std::uint64_t>(), 0u);
  auto missing = h.call("GET", "/api/v1/cis/host-nope");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(error_code(missing), "not_found");
  EXPECT_EQ(h.call("GET", "/api/v1/cis?limit=0").status, 400u);
  EXPECT_EQ(h.call("GET", "/api/v1/cis?limit=abc").status, 400u);
  EXPECT_EQ(h.call("GET", "/api/v1/cis?offset=-1").status, 400u);
  EXPECT_EQ(h.call("GET", "/api/v1/cis?offset=18446744073709551615").status, 400u);
}

// The fleet page's query: the CIs of a service, paged with their total,
// and each CI's latest CPU, memory and fullest filesystem utilisation.
TEST(Api, FleetQueriesByServiceWithUtilization) {
  test::TempDir defs;
  auto catalog = std::make_shared<services::Catalog>(defs.path());
  Harness h("", 1 << 20, catalog);
  const std::string auth = h.enroll();
  wire::Report r = h.report(1);
  const std::int64_t t = core::to_unix_ms(h.clock.now()) - 1000;
  r.series = {{"system.cpu.utilization", "1", {}, {{t - 1000, 0.5}, {t, 0.25}}},
              {"system.cpu.utilization", "1", {{"state", "idle"}}, {{t, 0.75}}},
              {"system.memory.utilization", "1", {{"state", "free"}}, {{t, 0.6}}},
              {"system.memory.utilization", "1", {{"state", "used"}}, {{t, 0.4}}},
              {"system.filesystem.utilization", "1", {{"mountpoint", "/"}}, {{t, 0.3}}},
              {"system.filesystem.utilization", "1", {{"mountpoint", "/var"}}, {{t, 0.8}}}};
  ASSERT_EQ(h.post_report(r, auth).status, 202u);
  for (const char* name : {"db01", "db02", "app01"})
    ASSERT_EQ(h.call("POST", "/api/v1/cis", std::string(R"({"type":"application","name":")") + name + R"(","origin":"user"})").status,
              201u);
  std::ofstream(defs.file("shop.toml")) << "name = \"shop\"\nowner = \"web\"\n[[group]]\nmembers = [\"web01\", \"db01\", \"db02\"]\n";
  catalog->refresh();  // as the collector does every capacity_interval

  const auto answer = h.call("GET", "/api/v1/cis?service=shop&limit=2&include=utilization");
  ASSERT_EQ(answer.status, 200u) << answer.body;
  auto shop = json::parse(answer.body).as_object();
  EXPECT_EQ(shop.at("total").to_number<std::uint64_t>(), 3u);
  const auto& items = shop.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].at("name").as_string(), "db01");
  EXPECT_EQ(items[1].at("name").as_string(), "db02");
  EXPECT_TRUE(items[0].at("utilization").as_object().empty()) << "no samples, no figures";
  auto rest = json::parse(h.call("GET", "/api/v1/cis?service=shop&offset=2&include=utilization").body).as_object();
  const auto& web = rest.at("items").as_array()[0].as_object();
  EXPECT_EQ(web.at("name").as_string(), "web01");
  const auto& u = web.at("utilization").as_object();
  EXPECT_EQ(u.at("cpu").at("value").as_double(), 0.25) << "the latest total, not a state";
  EXPECT_EQ(u.at("memory").at("value").as_double(), 0.4) << "the used share";
  EXPECT_EQ(u.at("filesystem").at("value").as_double(), 0.8) << "the fullest";
  EXPECT_EQ(u.at("filesystem").at("mountpoint").as_string(), "/var");
  auto db = json::parse(h.call("GET", "/api/v1/cis?service=shop&prefix=db&type=application").body).as_object();
  EXPECT_EQ(db.at("total").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(h.call("GET", "/api/v1/cis?service=nope").status, 404u);
  EXPECT_EQ(h.call("GET", "/api/v1/cis?include=everything").status, 400u);
  EXPECT_EQ(h.call("GET", "/api/v1/cis?state=gone").status, 400u);
  EXPECT_EQ(h.call("GET", "/api/v1/cis?prefix=web%1F").status, 400u) << "the Redis index's separator";
}

TEST(CmdbApi, ManualCisRelationshipsImpactAuditAndHistory) {
  test::TempDir defs;
  auto catalog = std::make_shared<services::Catalog>(defs.path());
  Harness h("", 1 << 20, catalog);
  h.enroll();
  auto post = [&](const std::string& path, const std::string& body) { return h.call("POST", path, body); };

  auto app = post("/api/v1/cis", R"({"type":"application","name":"shop","attributes":{"version":"2.3"},"origin":"user"})");
  ASSERT_EQ(app.status, 201u) << app.body;
  const std::string app_id(json::parse(app.body).at("id").as_string());
  EXPECT_EQ(post("/api/v1/cis", R"({"id":")" + app_id + R"(","type":"application","name":"x"})").status, 409u);
  auto rel = post("/api/v1/relationships",
                  R"({"from":")" + app_id + R"(","type":"runs_on","to":")" + h.ci_id + R"(","origin":"user"})");
  EXPECT_EQ(rel.status, 201u) << rel.body;
  EXPECT_EQ(post("/api/v1/relationships",
                 R"({"from":")" + app_id + R"(","type":"runs_on","to":")" + h.ci_id + R"("})").status,
            200u) << "already there";
  EXPECT_EQ(post("/api/v1/relationships", R"({"from":")" + app_id + R"(","type":"runs_on","to":"nowhere"})").status,
            404u);

  // The service stands on the application: losing the host takes it down.
  std::ofstream(defs.file("shop.toml")) << "name = \"shop\"\nowner = \"o\"\nsla_target = 99.5\n"
                                           "sla_time_zone = \"Europe/Paris\"\nsla_service_hours = [\"Mon-Sat 07:00-21:00\"]\n"
                                           "[[group]]\nmembers = [\"shop\"]\n";
  auto impact = get_json(h, "/api/v1/impact/" + h.ci_id);
  ASSERT_EQ(impact.at("services").as_array().size(), 1u) << json::serialize(impact);
  const auto& svc = impact.at("services").as_array()[0].as_object();
  EXPECT_EQ(svc.at("verdict").as_string(), "down");
  EXPECT_EQ(svc.at("sla").at("time_zone").as_string(), "Europe/Paris");
  EXPECT_EQ(json::serialize(svc.at("sla").at("service_hours")), R"(["Mon-Sat 07:00-21:00"])");
  EXPECT_TRUE(svc.at("sla").at("error_budget_left_seconds").is_number());
  EXPECT_EQ(svc.at("path").as_array().size(), 3u);
  EXPECT_EQ(impact.at("cis").as_array()[0].at("id").as_string(), app_id);
  auto deps = get_json(h, "/api/v1/services/shop/dependencies");
  EXPECT_EQ(deps.at("dependencies").as_array().size(), 2u) << json::serialize(deps);
  EXPECT_EQ(h.call("GET", "/api/v1/impact/nope").status, 404u);

  // A person's value, then the CI as it was before it.
  const std::int64_t before = core::to_unix_ms(h.clock.now());
  h.clock.advance(1000ms);
  auto patched = h.call("PATCH", "/api/v1/cis/" + app_id, R"({"attributes":{"version":"2.4","owner":"ops"}})");
  ASSERT_EQ(patched.status, 200u) << patched.body;
  auto then = get_json(h, "/api/v1/cis/" + app_id + "/history?at=" + std::to_string(before));
  EXPECT_EQ(then.at("attributes").at("version").as_string(), "2.3");
  EXPECT_FALSE(then.at("attributes").as_object().contains("owner"));
  auto diff = get_json(h, "/api/v1/cis/" + app_id + "/history?since=" + std::to_string(before));
  EXPECT_EQ(diff.at("changes").as_array().size(), 2u) << json::serialize(diff);
  auto trail = get_json(h, "/api/v1/audit?ci=" + app_id);
  EXPECT_EQ(trail.at("items").as_array().size(), 4u) << json::serialize(trail);  // created, relationship, 2 attributes

  // Change records and their errors.
  auto change = post("/api/v1/changes", R"({"reference":"CHG1","cis":[")" + h.ci_id +
                                            R"("],"start":"2026-11-25T00:00:00Z","end":"2026-11-26T00:00:00Z"})");
  ASSERT_EQ(change.status, 201u) << change.body;
  const std::string change_id(json::parse(change.body).at("id").as_string());
  // The impact analysis made when it was recorded stays with it: the host
  // takes the application and the service down.
  const json::object recorded = get_json(h, "/api/v1/changes/" + change_id);
  EXPECT_EQ(recorded.at("reference").as_string(), "CHG1");
  const auto& at_creation = recorded.at("impact").as_object();
  ASSERT_EQ(at_creation.at("services").as_array().size(), 1u) << json::serialize(at_creation);
  EXPECT_EQ(at_creation.at("services").as_array()[0].at("service").as_string(), "shop");
  EXPECT_EQ(at_creation.at("services").as_array()[0].at("verdict").as_string(), "down");
  EXPECT_EQ(at_creation.at("services").as_array()[0].at("through").as_string(), h.ci_id);
  EXPECT_EQ(at_creation.at("cis_affected").to_number<int>(), 1);
  EXPECT_EQ(at_creation.at("analysed").as_string(), core::format_rfc3339(core::to_unix_ms(h.clock.now())));
  EXPECT_EQ(get_json(h, "/api/v1/changes?ci=" + h.ci_id).at("items").as_array().size(), 1u);

  // Bad bodies: a clear 400 each, nothing stored.
  const std::pair<const char*, const char*> bad[] = {
      {"/api/v1/cis", ""}, {"/api/v1/cis", "[1]"}, {"/api/v1/cis", R"({"type":"t"})"},
      {"/api/v1/cis", R"({"type":"t","name":"n","attributes":{"a":[1]}})"},
      {"/api/v1/cis", R"({"type":"t","name":"n","origin":"agent"})"},
      {"/api/v1/cis", R"({"type":"t","name":"n","attributes":{"a":1e400}})"},
      {"/api/v1/cis", R"({"type":"t","name":"n","id":"service:shop"})"},
      {"/api/v1/cis", R"({"type":"t","name":"n","id":"a/b"})"}, {"/api/v1/cis", R"({"type":7,"name":"n"})"},
      {"/api/v1/relationships", R"({"from":"a","type":"likes","to":"b"})"},
      {"/api/v1/relationships", R"({"from":"a","type":"runs_on","to":"a"})"},
      {"/api/v1/changes", R"({"reference":"C","cis":[],"start":"1","end":"2"})"},
      {"/api/v1/changes", R"({"reference":"C","cis":["x"],"start":"2","end":"1"})"},
      {"/api/v1/changes", R"({"reference":"C","cis":[1],"start":"1","end":"2"})"},
      {"/api/v1/changes", R"({"cis":["x"],"start":"1","end":"2"})"}, {"/api/v1/changes", "{\"reference\":"},
      {"/api/v1/audit/verify", "[]"}, {"/api/v1/audit/verify", R"({"ci":7})"},
      {"/api/v1/audit/verify", R"({"ci":"a/b"})"}, {"/api/v1/audit/verify", R"({"checkpoint":7})"},
      {"/api/v1/audit/verify", R"({"checkpoint":{"heads":[]}})"},
      {"/api/v1/audit/verify", R"({"checkpoint":{"heads":{"a":{"seq":0,"hash":""}}}})"},
      {"/api/v1/audit/verify", R"({"checkpoint":{"heads":{"a":{"seq":1,"hash":"ABC"}}}})"},
      {"/api/v1/audit/verify", R"({"checkpoint":{"heads":{"a/b":{"seq":1,"hash":"0000000000000000000000000000000000000000000000000000000000000000"}}}})"},
      {"/api/v1/audit/verify", R"({"checkpoint":{"heads":{},"digest":"00"}})"}};
  for (const auto& [path, body] : bad) {
    auto r = post(path, body);
    EXPECT_EQ(r.status, 400u) << path << " " << body << ": " << r.body;
    EXPECT_EQ(error_code(r), "bad_request") << body;
  }
  EXPECT_EQ(get_json(h, "/api/v1/cis?type=t").at("count").as_int64(), 0);
  // A number JSON cannot hold is refused and harms nothing (found by fuzz_cmdb_api).
  EXPECT_EQ(h.call("PATCH", "/api/v1/cis/" + app_id, R"({"attributes":{"a":-1e999}})").status, 400u);
  // What drives a host's availability is its agent's to report, no one else's.
  auto heartbeat = h.call("PATCH", "/api/v1/cis/" + h.ci_id, R"({"attributes":{"agent.heartbeat_interval_s":172800}})");
  EXPECT_EQ(heartbeat.status, 400u) << heartbeat.body;
  EXPECT_NE(heartbeat.body.find("reported by the host's agent"), std::string::npos) << heartbeat.body;
  EXPECT_EQ(h.call("GET", "/api/v1/cis/" + app_id).status, 200u);
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/audit?unauthorized=maybe")), "bad_query");
  EXPECT_EQ(h.call("DELETE", "/api/v1/relationships?from=" + app_id + "&type=runs_on&to=" + h.ci_id).status, 200u);
  EXPECT_EQ(h.call("DELETE", "/api/v1/relationships?from=" + app_id + "&type=runs_on&to=" + h.ci_id).status, 404u);
}

// The audit trail's chains through the API: entries carry their place in
// the chain; verify answers with a checkpoint that the next verify accepts.
TEST(CmdbApi, TheAuditTrailVerifiesAgainstItsOwnCheckpoint) {
  Harness h;
  h.enroll();
  auto created = h.call("POST", "/api/v1/cis", R"({"type":"application","name":"billing","origin":"user"})");
  ASSERT_EQ(created.status, 201u) << created.body;
  const std::string app(json::parse(created.body).at("id").as_string());
  ASSERT_EQ(h.call("PATCH", "/api/v1/cis/" + app, R"({"attributes":{"tier":1},"origin":"user"})").status, 200u);
  const auto trail = get_json(h, "/api/v1/audit?ci=" + app);
  const auto& items = trail.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].at("seq").as_int64(), 2);  // newest first
  EXPECT_EQ(items[0].at("prev_hash"), items[1].at("hash"));
  EXPECT_EQ(items[1].at("prev_hash").as_string(), "");
  EXPECT_EQ(items[1].at("hash").as_string().size(), 64u);

  auto first = h.call("POST", "/api/v1/audit/verify", "");
  ASSERT_EQ(first.status, 200u) << first.body;
  const auto v = json::parse(first.body).as_object();
  EXPECT_TRUE(v.at("verified").as_bool());
  EXPECT_TRUE(v.at("first_break").is_null());
  const auto& heads = v.at("checkpoint").at("heads").as_object();
  EXPECT_EQ(heads.at(app).at("seq").as_int64(), 2);
  EXPECT_EQ(heads.at(app).at("hash"), items[0].at("hash"));
  const std::string cp = json::serialize(v.at("checkpoint"));
  auto again = h.call("POST", "/api/v1/audit/verify", R"({"ci":")" + app + R"(","checkpoint":)" + cp + "}");
  ASSERT_EQ(again.status, 200u) << again.body;
  const auto w = json::parse(again.body).as_object();
  EXPECT_TRUE(w.at("verified").as_bool()) << again.body;
  EXPECT_EQ(w.at("cis").as_int64(), 1);
  EXPECT_EQ(w.at("entries").as_int64(), 2);
  // A checkpoint naming an entry the chain never reached: removed entries.
  json::object ahead = v.at("checkpoint").as_object();
  ahead["heads"].as_object()[app].as_object()["seq"] = 3;
  ahead.erase("digest");
  auto cut = h.call("POST", "/api/v1/audit/verify", R"({"checkpoint":)" + json::serialize(ahead) + "}");
  ASSERT_EQ(cut.status, 200u) << cut.body;
  const auto x = json::parse(cut.body).as_object();
  EXPECT_FALSE(x.at("verified").as_bool());
  EXPECT_EQ(x.at("first_break").at("ci_id").as_string(), app);
  EXPECT_EQ(x.at("first_break").at("seq").as_int64(), 3);
}

TEST(CmdbApi, ComponentsFollowTheInventoryAndASwappedNicIsSeen) {
  Harness h;
  const std::string auth = h.enroll();
  auto with_hardware = [&](std::uint64_t seq, const std::string& mac) {
    wire::Report r = h.report(seq);
    std::vector<wire::Nic> nics{{"eth0", mac, 1500, 1000, "up", false, "ixgbe", {"192.0.2.7/24"}},
                                {"docker0", "02:42:00:00:00:01", 1500, -1, "down", true, "", {}}};
    r.inventory->nics = {wire::SectionState::collected, "", wire::digest_of(nics), nics};
    std::vector<wire::Disk> disks{{"sda", "SSD 1", "S1", "0x5000c500a1b2c3d4", 480'000'000'000, false, false, "sata"}};
    r.inventory->disks = {wire::SectionState::collected, "", wire::digest_of(disks), disks};
    r.inventory_digest = wire::inventory_digest(*r.inventory);
    return r;
  };
  ASSERT_EQ(h.post_report(with_hardware(1, "00:1b:21:aa:bb:01"), auth).status, 202u);
  auto contained = [&] {
    std::map<std::string, std::string> out;  // type -> id
    const auto rels = get_json(h, "/api/v1/cis/" + h.ci_id + "/relationships");
    for (const auto& r : rels.at("items").as_array())
      if (r.at("type").as_string() == "contains") {
        const std::string id(r.at("to").as_string());
        out[std::string(json::parse(h.call("GET", "/api/v1/cis/" + id).body).at("type").as_string())] += id;
      }
    return out;
  };
  auto first = contained();
  EXPECT_EQ(first.size(), 4u) << "cpu, os, disk and one physical nic";
  ASSERT_TRUE(first.contains("nic") && first.contains("disk"));
  auto nic = get_json(h, "/api/v1/cis/" + first["nic"]);
  EXPECT_EQ(nic.at("attributes").at("identity.rule").as_string(), "mac");
  EXPECT_EQ(nic.at("attributes").at("nic.mac").as_string(), "00:1b:21:aa:bb:01");
  EXPECT_EQ(get_json(h, "/api/v1/cis/" + first["disk"]).at("attributes").at("identity.rule").as_string(), "wwn");

  // The NIC is swapped outside any change window: a new NIC CI, the old one
  // retired, and the removal is an unauthorised change on the host.
  h.clock.advance(60s);
  ASSERT_EQ(h.post_report(with_hardware(2, "00:1b:21:aa:bb:02"), auth).status, 202u);
  auto second = contained();
  ASSERT_TRUE(second.contains("nic"));
  EXPECT_NE(second["nic"], first["nic"]);
  EXPECT_EQ(second["disk"], first["disk"]) << "the same disk is the same CI";
  EXPECT_EQ(get_json(h, "/api/v1/cis/" + first["nic"]).at("state").as_string(), "retired");
  const auto audit = get_json(h, "/api/v1/audit?unauthorized=true&ci=" + h.ci_id);
  const auto& alerts = audit.at("items").as_array();
  ASSERT_EQ(alerts.size(), 1u) << json::serialize(alerts);
  EXPECT_EQ(alerts[0].at("key").as_string(), "contains " + first["nic"]);
  EXPECT_EQ(alerts[0].at("origin").as_string(), "agent");
}

TEST(CmdbApi, EnrollmentReconcilesReinstallsClonesAndPlaceholders) {
  Harness h;
  wire::EnrollResponse last;
  // Returns the CI id the enrolment was given; `proof` is a previous
  // agent's "ID:KEY".
  auto enroll = [&](const std::string& machine, const std::string& uuid, const std::string& serial,
                    const std::string& proof = "") {
    wire::EnrollRequest r{"secret-token", machine, "host-" + machine.substr(0, 4), "0.1.0", uuid, serial};
    http::Headers headers{{"Content-Type", "application/json"}};
    if (!proof.empty()) headers.emplace_back("Authorization", "Bearer " + proof);
    auto res = h.call("POST", "/api/v1/enroll", wire::encode(r, wire::Format::json), headers);
    EXPECT_EQ(res.status, 201u) << res.body;
    auto er = wire::decode<wire::EnrollResponse>(res.body, wire::Format::json);
    if (er) last = *er;
    return er ? er->ci_id : std::string();
  };
  auto attr = [&](const std::string& ci, const char* key) {
    auto a = get_json(h, "/api/v1/cis/" + ci).at("attributes").as_object();
    return a.contains(key) ? std::string(a.at(key).as_string()) : std::string();
  };
  auto rule = [&](const std::string& ci) { return attr(ci, "identity.rule"); };
  const std::string m1(32, '1'), m2(32, '2'), m3(32, '3'), m4(32, '4'), m5(32, '5'), m6(32, '6');
  const std::string first = enroll(m1, "4C4C4544-0036-1051-8053-B7C04F4E4D32", "");
  const wire::EnrollResponse first_agent = last;
  EXPECT_EQ(rule(first), "new");
  // Re-enrolled from the same machine with its agent's key: the same CI, by
  // host.id, and the old agent is revoked.
  EXPECT_EQ(enroll(m1, "4C4C4544-0036-1051-8053-B7C04F4E4D32", "", first_agent.agent_id + ":" + first_agent.agent_key),
            first);
  EXPECT_EQ(rule(first), "host.id");
  EXPECT_EQ((*h.stores.agents->find_agent(first_agent.agent_id))->key_hash, "") << "replaced";
  const wire::EnrollResponse second_agent = last;
  // Reinstalled (a new machine-id on the same hardware) while its agent is
  // in force: not given the CI silently, but one of its own, flagged.
  const std::string held = enroll(m2, "4c4c4544-0036-1051-8053-b7c04f4e4d32", "");
  EXPECT_NE(held, first);
  EXPECT_EQ(rule(held), "conflict");
  EXPECT_EQ(attr(held, "identity.conflict_with"), first);
  EXPECT_EQ(attr(first, "agent.id"), second_agent.agent_id) << "the host keeps its agent";
  // Once its agent is revoked, the reinstalled machine is the same CI.
  ASSERT_TRUE(*h.stores.agents->revoke_agent(second_agent.agent_id));
  EXPECT_EQ(enroll(m2, "4c4c4544-0036-1051-8053-b7c04f4e4d32", ""), first);
  EXPECT_EQ(rule(first), "smbios_uuid");
  // A cloned VM: the machine-id of the first, other hardware. Its own CI,
  // flagged as a clone of the first.
  const std::string clone = enroll(m1, "11111111-2222-3333-4444-555555555555", "");
  EXPECT_NE(clone, first);
  EXPECT_EQ(rule(clone), "clone");
  EXPECT_EQ(attr(clone, "identity.clone_of"), first);
  // Placeholder identities match nothing; a real serial does.
  const std::string a = enroll(m3, "00000000-0000-0000-0000-000000000000", "To Be Filled By O.E.M.");
  const std::string b = enroll(m4, "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "To Be Filled By O.E.M.");
  EXPECT_NE(a, b);
  EXPECT_EQ(attr(a, "hardware.serial"), "");
  const std::string c = enroll(m5, "", "CZJ1234567");
  const std::string c_agent = last.agent_id;
  EXPECT_EQ(rule(enroll(m6, "", "CZJ1234567")), "conflict") << "c's agent is in force";
  ASSERT_TRUE(*h.stores.agents->revoke_agent(c_agent));
  EXPECT_EQ(enroll(m6, "", "CZJ1234567"), c);
  EXPECT_EQ(rule(c), "serial");
  for (const char* p : {"To Be Filled By O.E.M.", "Default string", "0", "", "  ", "Not Specified", "ffffffff"})
    EXPECT_TRUE(ingest::placeholder(p)) << p;
  for (const char* p : {"CZJ1234567", "4c4c4544-0036-1051-8053-b7c04f4e4d32"}) EXPECT_FALSE(ingest::placeholder(p)) << p;
}

// An admin approves a conflicting enrollment: the newcomer reports for the
// host's CI, the agent that held it is revoked, the conflict CI retired.
TEST(CmdbApi, AnApprovedConflictTakesOverTheHostsCi) {
  Harness h;
  const std::string old_auth = h.enroll();
  const std::string host = h.ci_id, old_agent = h.agent_id;
  EXPECT_EQ(h.post_report(h.report(1), old_auth).status, 202u);
  // The same machine-id from a machine without the agent's key.
  const std::string new_auth = h.enroll();
  ASSERT_NE(h.ci_id, host);
  EXPECT_EQ(get_json(h, "/api/v1/cis/" + h.ci_id).at("attributes").at("identity.conflict_with").as_string(), host);
  auto not_conflict = ingest::approve_conflict(h.stores, old_agent, core::to_unix_ms(h.clock.now()));
  ASSERT_FALSE(not_conflict);
  EXPECT_EQ(not_conflict.error().code, store::StoreErrc::invalid);
  auto approved = ingest::approve_conflict(h.stores, h.agent_id, core::to_unix_ms(h.clock.now()));
  ASSERT_TRUE(approved) << approved.error().describe();
  EXPECT_EQ(*approved, host);
  EXPECT_EQ(get_json(h, "/api/v1/cis/" + h.ci_id).at("state").as_string(), "retired");
  EXPECT_EQ(h.post_report(h.report(2), old_auth).status, 401u) << "the old agent is revoked";
  ASSERT_EQ(h.post_report(h.report(1), new_auth).status, 202u);
  EXPECT_EQ(get_json(h, "/api/v1/cis/" + host).at("attributes").at("agent.id").as_string(), h.agent_id)
      << "the host's CI now hears from the approved agent";
}

TEST(CmdbApi, InventoryExportsInGlpiFormat) {
  Harness h;
  const std::string auth = h.enroll();
  wire::Report r = h.report(1);
  std::vector<wire::Nic> nics{{"eth0", "00:1b:21:aa:bb:01", 9000, 10000, "up", false, "ixgbe",
                               {"192.0.2.7/24", "2001:db8::7/64"}}};
  r.inventory->nics = {wire::SectionState::collected, "", wire::digest_of(nics), nics};
  std::vector<wire::Disk> disks{{"sda", "SSD 1", "S1", "", 480'000'000'000, false, false, "sata"}};
  r.inventory->disks = {wire::SectionState::collected, "", wire::digest_of(disks), disks};
  std::vector<wire::MemoryModule> dimms{{"DIMM_A1", "BANK 0", 17'179'869'184, "DDR4", "DIMM", 3200, 2933, "Samsung",
                                         "M1", "M393A2K43DB3"}};
  r.inventory->memory = {wire::SectionState::collected, "", wire::digest_of(dimms), dimms};
  wire::Hardware hw;
  hw.system_vendor = "Dell Inc.";
  hw.system_product = "PowerEdge R640";
  hw.system_serial = "CZJ1234567";
  hw.system_uuid = "4c4c4544-0036-1051-8053-b7c04f4e4d32";
  r.inventory->hardware = {wire::SectionState::collected, "", wire::digest_of(hw), hw};
  std::vector<wire::Package> pkgs{{"openssl", "3.0.13-1", "amd64", "dpkg"}};
  r.inventory->packages = {wire::SectionState::collected, "", wire::digest_of(pkgs), pkgs};
  r.inventory_digest = wire::inventory_digest(*r.inventory);
  ASSERT_EQ(h.post_report(r, auth).status, 202u);

  auto g = get_json(h, "/api/v1/cis/" + h.ci_id + "/export/glpi");
  EXPECT_EQ(g.at("itemtype").as_string(), "Computer");
  const auto& c = g.at("content").as_object();
  EXPECT_EQ(c.at("hardware").at("memory").as_int64(), 25'275'224'064 / 1'048'576);  // MB, as GLPI has it
  EXPECT_EQ(c.at("hardware").at("uuid").as_string(), hw.system_uuid);
  EXPECT_EQ(c.at("bios").at("ssn").as_string(), "CZJ1234567");
  EXPECT_EQ(c.at("bios").at("smodel").as_string(), "PowerEdge R640");
  EXPECT_EQ(c.at("operatingsystem").at("kernel_version").as_string(), "6.1.0-26-amd64");
  ASSERT_EQ(c.at("cpus").as_array().size(), 1u);
  EXPECT_EQ(c.at("cpus").as_array()[0].at("core").as_int64(), 2);
  EXPECT_EQ(c.at("memories").as_array()[0].at("capacity").as_int64(), 16'384);
  EXPECT_EQ(c.at("memories").as_array()[0].at("speed").as_string(), "3200");
  EXPECT_EQ(c.at("storages").as_array()[0].at("disksize").as_int64(), 457'763);
  const auto& net = c.at("networks").as_array();
  ASSERT_EQ(net.size(), 2u) << "one entry per address";
  EXPECT_EQ(net[0].at("ipaddress").as_string(), "192.0.2.7");
  EXPECT_EQ(net[0].at("ipmask").as_string(), "255.255.255.0");
  EXPECT_EQ(net[1].at("ipaddress6").as_string(), "2001:db8::7");
  EXPECT_EQ(net[1].at("ipmask6").as_string(), "ffff:ffff:ffff:ffff:0:0:0:0");
  EXPECT_EQ(net[0].at("speed").as_string(), "10000");
  EXPECT_EQ(c.at("softwares").as_array()[0].at("version").as_string(), "3.0.13-1");
  EXPECT_EQ(h.call("GET", "/api/v1/cis/nope/export/glpi").status, 404u);
}

TEST(Components, SerialsIdentifyWithinAHostAndPlaceholdersNotAtAll) {
  auto inventory = [](std::vector<wire::Disk> disks, std::vector<wire::Nic> nics) {
    wire::Inventory inv;
    inv.disks = {wire::SectionState::collected, "", "d", disks};
    inv.nics = {wire::SectionState::collected, "", "n", nics};
    return inv;
  };
  // Emulated disks report the same serial on every VM: one CI per host.
  const wire::Disk qemu{"sda", "QEMU HARDDISK", "QM00001", "", 1 << 30, true, false, "sata"};
  auto a = ingest::components(inventory({qemu}, {}), "host-a", 1);
  auto b = ingest::components(inventory({qemu}, {}), "host-b", 1);
  ASSERT_EQ(a.cis.size(), 1u);
  ASSERT_EQ(b.cis.size(), 1u);
  EXPECT_NE(a.cis[0].id, b.cis[0].id);
  EXPECT_EQ(std::get<std::string>(a.cis[0].attributes.at("identity.rule")), "host+serial");
  // A WWN is the same disk wherever it is.
  wire::Disk san = qemu;
  san.wwn = "0x5000c500a1b2c3d4";
  EXPECT_EQ(ingest::components(inventory({san}, {}), "host-a", 1).cis[0].id,
            ingest::components(inventory({san}, {}), "host-b", 1).cis[0].id);
  // Placeholders count as absent; virtual and all-zero MACs are no NICs.
  wire::Disk blank = qemu;
  blank.serial = "To Be Filled By O.E.M.";
  EXPECT_EQ(std::get<std::string>(ingest::components(inventory({blank}, {}), "host-a", 1).cis[0].attributes.at("identity.rule")),
            "host+name");
  auto nics = ingest::components(inventory({}, {{"lo0", "00:00:00:00:00:00", 1500, -1, "up", false, "", {}},
                                                {"br0", "02:42:ac:11:00:02", 1500, -1, "up", true, "", {}},
                                                {"eth0", "00:1b:21:aa:bb:01", 1500, 1000, "up", false, "ixgbe", {}}}),
                                   "host-a", 1);
  ASSERT_EQ(nics.cis.size(), 1u);
  EXPECT_EQ(nics.cis[0].name, "eth0");
}

}  // namespace
}  // namespace surveyor::collector
