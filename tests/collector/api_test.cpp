// SPDX-License-Identifier: Apache-2.0
// The REST API through the real HTTP server on loopback with a real SQLite
// store: every status the API promises, for good and bad requests.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fstream>
#include <map>
#include <set>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/wire_fixtures.hpp"
#include "surveyor/collector/api/api.hpp"
#include "surveyor/collector/backends/open.hpp"
#include "surveyor/collector/capacity/rules.hpp"
#include "surveyor/collector/incidents/incidents.hpp"
#include "surveyor/collector/sla/sla.hpp"
#include "surveyor/collector/ingest/ingest.hpp"
#include "surveyor/collector/server/server.hpp"
#include "surveyor/http/client.hpp"
#include "surveyor/wire/codec.hpp"
#include "test_support.hpp"

namespace surveyor::collector {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

struct Harness {
  explicit Harness(std::string store_url = "", std::size_t max_body = 1 << 20,
                   std::shared_ptr<services::Catalog> catalog = nullptr) {
    auto s = backends::open_stores(store_url.empty() ? "sqlite:" + dir.file("s.db") : store_url);
    EXPECT_TRUE(s) << s.error().describe();
    stores = *s;
    api::ApiOptions ao{"secret-token"};
    ao.services = std::move(catalog);
    api = std::make_unique<api::Api>(stores, clock, registry, ao);
    auto router = std::make_shared<server::Router>();
    api->register_routes(*router);
    server::ServerOptions o;
    o.port = 0;
    o.max_body_bytes = max_body;
    srv = std::make_unique<server::Server>(o, router);
    EXPECT_TRUE(srv->start());
  }

  http::Response call(const std::string& method, const std::string& target, std::string body = {},
                      http::Headers headers = {}) {
    http::Request r;
    r.method = method;
    r.target = target;
    r.body = std::move(body);
    r.headers = std::move(headers);
    auto res = http::fetch(http::Url{"http", "127.0.0.1", srv->port(), ""}, r);
    EXPECT_TRUE(res) << res.error().describe();
    return res ? *res : http::Response{};
  }

  // Enrolls the sample report's host; returns "agent-id:key".
  std::string enroll(wire::Format f = wire::Format::binary) {
    const auto host = *test::sample_report().inventory->host.data;
    auto res = call("POST", "/api/v1/enroll",
                    wire::encode(wire::EnrollRequest{"secret-token", host.host_id, host.hostname, "0.1.0"}, f),
                    {{"Content-Type", std::string(wire::content_type_for(f))}});
    EXPECT_EQ(res.status, 201u) << res.body;
    auto er = wire::decode<wire::EnrollResponse>(res.body, f);
    EXPECT_TRUE(er) << er.error().describe();
    agent_id = er->agent_id;
    ci_id = er->ci_id;
    return er->agent_id + ":" + er->agent_key;
  }

  http::Response post_report(const wire::Report& r, const std::string& auth, wire::Format f = wire::Format::binary) {
    return call("POST", "/api/v1/reports", wire::encode(r, f),
                {{"Content-Type", std::string(wire::content_type_for(f))}, {"Authorization", "Bearer " + auth}});
  }

  wire::Report report(std::uint64_t seq) {
    wire::Report r = test::sample_report();
    r.agent_id = agent_id;
    r.sequence = seq;
    return r;
  }

  test::TempDir dir;
  core::ManualClock clock{core::from_unix_ms(1'795'000'100'000)};
  metrics::Registry registry;
  store::Stores stores;
  std::unique_ptr<api::Api> api;
  std::unique_ptr<server::Server> srv;
  std::string agent_id, ci_id;
};

std::string error_code(const http::Response& r) {
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.get_object().contains("error")) return "<no error body: " + r.body + ">";
  EXPECT_TRUE(v.get_object().at("message").is_string());
  return std::string(v.get_object().at("error").get_string());
}

TEST(Api, EnrollmentCreatesTheHostCi) {
  Harness h;
  h.enroll();
  EXPECT_EQ(h.ci_id, ingest::host_ci_id(test::sample_report().inventory->host.data->host_id));
  auto res = h.call("GET", "/api/v1/cis/" + h.ci_id);
  ASSERT_EQ(res.status, 200u) << res.body;
  auto v = json::parse(res.body).as_object();
  EXPECT_EQ(v.at("name").as_string(), "web01");
  EXPECT_EQ(v.at("type").as_string(), "host");
  EXPECT_EQ(v.at("attributes").as_object().at("host.id").as_string(), "4c4c4544003610518053b7c04f4e4d32");
}

TEST(Api, EnrollmentRefusals) {
  Harness h;
  const std::string ct = std::string(wire::kJsonContentType);
  auto bad_token = h.call("POST", "/api/v1/enroll", R"({"token":"nope","host_id":"abc","hostname":"h"})",
                          {{"Content-Type", ct}});
  EXPECT_EQ(bad_token.status, 401u);
  EXPECT_EQ(error_code(bad_token), "bad_enrollment_token");
  auto garbage = h.call("POST", "/api/v1/enroll", "{not json", {{"Content-Type", ct}});
  EXPECT_EQ(garbage.status, 400u);
  EXPECT_EQ(error_code(garbage), "bad_enrollment");
  auto media = h.call("POST", "/api/v1/enroll", "x", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(media.status, 415u);
  EXPECT_EQ(error_code(media), "unsupported_media_type");
  auto json_ok = h.call("POST", "/api/v1/enroll", R"({"token":"secret-token","host_id":"abc","hostname":"h"})",
                        {{"Content-Type", ct}});
  EXPECT_EQ(json_ok.status, 201u) << json_ok.body;
  EXPECT_NE(json_ok.body.find("\"agent_key\""), std::string::npos);
}

TEST(Api, ReportIsStoredAndItsReplayIsAcknowledgedOnce) {
  Harness h;
  const std::string auth = h.enroll();
  auto first = h.post_report(h.report(1), auth);
  ASSERT_EQ(first.status, 202u) << first.body;
  auto ack = wire::decode<wire::ReportAck>(first.body, wire::Format::binary);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->sequence, 1u);
  EXPECT_FALSE(ack->duplicate);
  EXPECT_FALSE(ack->inventory_wanted);

  auto again = h.post_report(h.report(1), auth);
  ASSERT_EQ(again.status, 202u);
  auto ack2 = wire::decode<wire::ReportAck>(again.body, wire::Format::binary);
  ASSERT_TRUE(ack2);
  EXPECT_TRUE(ack2->duplicate);

  const store::SeriesKey key{h.ci_id, "system.cpu.utilization", {}};
  auto samples = h.stores.series->read_samples(key, 0, INT64_MAX, 100);
  ASSERT_TRUE(samples);
  EXPECT_EQ(samples->size(), 2u) << "the replay stored nothing more";
  auto metrics = h.call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("surveyor_reports_total{outcome=\"stored\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("surveyor_reports_total{outcome=\"duplicate\"} 1"), std::string::npos);

  auto ci = json::parse(h.call("GET", "/api/v1/cis/" + h.ci_id).body).as_object();
  const auto& attrs = ci.at("attributes").as_object();
  EXPECT_EQ(attrs.at("cpu.cores").as_int64(), 2);
  EXPECT_EQ(attrs.at("memory.total_bytes").as_int64(), 25'275'224'064);
  EXPECT_EQ(attrs.at("cpu.cache.l1i.size_bytes").as_int64(), 32768);
  bool found = false;
  for (const auto& s : ci.at("latest_samples").as_array())
    if (s.as_object().at("metric").as_string() == "system.cpu.utilization") {
      EXPECT_EQ(s.as_object().at("value").as_double(), 0.5);
      found = true;
    }
  EXPECT_TRUE(found);
}

TEST(Api, JsonReportsAreAcceptedToo) {
  Harness h;
  const std::string auth = h.enroll();
  auto res = h.post_report(h.report(5), auth, wire::Format::json);
  ASSERT_EQ(res.status, 202u) << res.body;
  EXPECT_EQ(res.body, R"({"sequence":5,"duplicate":false,"inventory_wanted":false})");
}

TEST(Api, CollectorAsksForTheInventoryWhenItsDigestIsUnknown) {
  Harness h;
  const std::string auth = h.enroll();
  wire::Report r = h.report(1);
  r.inventory.reset();  // only the digest
  auto res = h.post_report(r, auth);
  ASSERT_EQ(res.status, 202u);
  EXPECT_TRUE(wire::decode<wire::ReportAck>(res.body, wire::Format::binary)->inventory_wanted);
  ASSERT_EQ(h.post_report(h.report(2), auth).status, 202u);  // with the inventory
  wire::Report later = h.report(3);
  later.inventory.reset();
  auto res3 = h.post_report(later, auth);
  EXPECT_FALSE(wire::decode<wire::ReportAck>(res3.body, wire::Format::binary)->inventory_wanted);
}

TEST(Api, ReportRefusals) {
  Harness h;
  const std::string auth = h.enroll();
  const std::string ct = std::string(wire::kBinaryContentType);
  const std::string body = wire::encode(h.report(1), wire::Format::binary);

  auto none = h.call("POST", "/api/v1/reports", body, {{"Content-Type", ct}});
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(error_code(none), "unauthenticated");
  auto wrong_key = h.post_report(h.report(1), h.agent_id + ":" + std::string(64, '0'));
  EXPECT_EQ(wrong_key.status, 401u);
  EXPECT_EQ(error_code(wrong_key), "unknown_agent");
  auto unknown = h.post_report(h.report(1), "agt-nobody:abc");
  EXPECT_EQ(unknown.status, 401u);

  auto truncated = h.call("POST", "/api/v1/reports", body.substr(0, body.size() / 2),
                          {{"Content-Type", ct}, {"Authorization", "Bearer " + auth}});
  EXPECT_EQ(truncated.status, 400u);
  EXPECT_EQ(error_code(truncated), "bad_report");
  EXPECT_NE(truncated.body.find("truncated"), std::string::npos) << truncated.body;

  wire::Report other = h.report(1);
  other.agent_id = "agt-someone-else";
  auto mismatch = h.post_report(other, auth);
  EXPECT_EQ(mismatch.status, 403u);
  EXPECT_EQ(error_code(mismatch), "agent_mismatch");

  auto media = h.call("POST", "/api/v1/reports", body, {{"Content-Type", "text/csv"}, {"Authorization", "Bearer " + auth}});
  EXPECT_EQ(media.status, 415u);

  auto metrics = h.call("GET", "/metrics").body;
  EXPECT_NE(metrics.find("surveyor_errors_total{reason=\"unknown_agent\"} 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("surveyor_errors_total{reason=\"bad_report\"} 1"), std::string::npos);
  // Nothing was stored by any refused report.
  auto samples = h.stores.series->list_series(h.ci_id);
  ASSERT_TRUE(samples);
  EXPECT_TRUE(samples->empty());
}

TEST(Api, OversizeBodyIs413) {
  Harness h("", 64 * 1024);
  const std::string auth = h.enroll();
  auto res = h.call("POST", "/api/v1/reports", std::string(100 * 1024, 'x'),
                    {{"Content-Type", std::string(wire::kBinaryContentType)}, {"Authorization", "Bearer " + auth}});
  EXPECT_EQ(res.status, 413u);
  EXPECT_EQ(error_code(res), "too_large");
  // The server is still fine afterwards.
  EXPECT_EQ(h.call("GET", "/healthz").status, 200u);
}

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

TEST(Api, RoutingErrors) {
  Harness h;
  auto nf = h.call("GET", "/api/v1/nothing");
  EXPECT_EQ(nf.status, 404u);
  auto wrong = h.call("DELETE", "/api/v1/cis");
  EXPECT_EQ(wrong.status, 405u);
  EXPECT_EQ(wrong.header("Allow"), "GET, POST");
  EXPECT_EQ(h.call("GET", "/healthz").body, R"({"status":"ok"})");
  auto ready = h.call("GET", "/readyz");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_NE(ready.body.find("\"status\":\"ready\""), std::string::npos);
  auto metrics = h.call("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_EQ(metrics.header("Content-Type").substr(0, 10), "text/plain");
}

TEST(Api, ReadyzFailsWhenTheStoreIsUnreachable) {
  Harness h("redis://127.0.0.1:" + std::to_string(test::free_port()) + "/x");
  auto r = h.call("GET", "/readyz");
  EXPECT_EQ(r.status, 503u);
  EXPECT_NE(r.body.find("\"status\":\"unavailable\""), std::string::npos) << r.body;
  EXPECT_EQ(r.header("Retry-After"), "5");
  // And a report gets 503 with Retry-After, never a 202.
  auto e = h.call("POST", "/api/v1/reports", "x",
                  {{"Content-Type", std::string(wire::kBinaryContentType)}, {"Authorization", "Bearer agt-1:k"}});
  EXPECT_EQ(e.status, 503u);
  EXPECT_EQ(error_code(e), "store_unavailable");
}

// Raw bytes over a socket, for what a well-behaved client cannot send.
std::string raw_exchange(std::uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    (void)::write(fd, bytes.data(), bytes.size());
    ::shutdown(fd, SHUT_WR);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST(Api, MalformedHttpGets400AndTheServerCarriesOn) {
  Harness h;
  EXPECT_EQ(raw_exchange(h.srv->port(), "THIS IS NOT HTTP\r\n\r\n").substr(0, 12), "HTTP/1.1 400");
  EXPECT_EQ(raw_exchange(h.srv->port(), "GET / HTTP/1.1\r\nContent-Length: banana\r\n\r\n").substr(0, 12),
            "HTTP/1.1 400");
  const std::string big_header = "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  EXPECT_EQ(raw_exchange(h.srv->port(), big_header).substr(0, 12), "HTTP/1.1 431");
  // Two requests on one kept-alive connection.
  const std::string two = raw_exchange(h.srv->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(std::count(two.begin(), two.end(), '{'), 2) << two;
  EXPECT_EQ(h.call("GET", "/healthz").status, 200u);
}


// --- trends, forecasts, capacity ------------------------------------------------

namespace capacity_api {

constexpr std::int64_t kNow = 1'795'000'100'000;  // the harness clock
constexpr std::int64_t kHour = 3'600'000;
constexpr std::int64_t kDay = 24 * kHour;

// A week of CPU every 5 minutes rising 1 % a day to 0.57 now, the last 20
// minutes at 0.95; and a filesystem with two samples.
void seed(Harness& h) {
  h.enroll();
  std::vector<store::Sample> cpu;
  for (std::int64_t t = kNow - 7 * kDay; t <= kNow; t += 5 * 60'000)
    cpu.push_back({t, t > kNow - 20 * 60'000 ? 0.95 : 0.57 + 0.01 * static_cast<double>(t - kNow) / kDay});
  store::ReportBatch b;
  b.agent_id = h.agent_id;
  b.sequence = 1;
  b.series.push_back({store::SeriesInfo{{h.ci_id, "system.cpu.utilization", {}}, "1"}, cpu});
  b.series.push_back({store::SeriesInfo{{h.ci_id, "system.cpu.utilization", {{"state", "user"}}}, "1"}, cpu});
  b.series.push_back({store::SeriesInfo{{h.ci_id, "system.filesystem.utilization", {{"mountpoint", "/"}}}, "1"},
                      {{kNow - 60'000, 0.5}, {kNow, 0.5}}});
  auto r = h.stores.reports->apply_report(b);
  ASSERT_TRUE(r) << r.error().describe();
}

json::object get_json(Harness& h, const std::string& target, unsigned want = 200) {
  auto res = h.call("GET", target);
  EXPECT_EQ(res.status, want) << target << ": " << res.body;
  boost::system::error_code ec;
  auto v = json::parse(res.body, ec);
  return !ec && v.is_object() ? v.get_object() : json::object{};
}

TEST(CapacityApi, SeriesTrendsChooseTheirSource) {
  Harness h;
  seed(h);
  const std::string base = "/api/v1/series?ci=" + h.ci_id + "&metric=system.cpu.utilization&exact=true&from=" +
                           std::to_string(kNow - 2 * kDay) + "&to=" + std::to_string(kNow);
  auto hourly = get_json(h, base + "&step=1h&agg=max");
  EXPECT_EQ(hourly.at("source").as_string(), "rollup");
  EXPECT_EQ(hourly.at("step").as_string(), "1h");
  ASSERT_EQ(hourly.at("series").as_array().size(), 1u) << "exact: only the total";
  // from is mid-hour: its hour counts too.
  EXPECT_EQ(hourly.at("series").as_array()[0].at("points").as_array().size(), 49u);
  auto p95 = get_json(h, base + "&step=1h&agg=p95");
  EXPECT_EQ(p95.at("source").as_string(), "raw");
  auto both = get_json(h, "/api/v1/series?ci=" + h.ci_id + "&metric=system.cpu.utilization&step=6h&across=sum");
  EXPECT_EQ(both.at("series").as_array().size(), 2u) << "not exact: the state series too";
  EXPECT_EQ(both.at("combined").at("across").as_string(), "sum");
  auto raw = get_json(h, base + "&limit=10");
  EXPECT_EQ(raw.at("source").as_string(), "raw");
  EXPECT_EQ(raw.at("series").as_array()[0].at("points").as_array().size(), 10u);
  EXPECT_TRUE(raw.at("series").as_array()[0].at("truncated").as_bool());
  auto by_type = get_json(h, "/api/v1/series?type=host&metric=system.cpu.utilization&exact=true&step=1d");
  EXPECT_EQ(by_type.at("series").as_array().size(), 1u);

  EXPECT_EQ(error_code(h.call("GET", base + "&step=soon")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", base + "&step=1h&agg=median")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", base + "&step=1h&agg=p95&source=rollup")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", base + "&step=1ms")), "query_too_large");
  EXPECT_EQ(h.call("GET", base + "&step=1ms").status, 422u);
  // Raw points over all series are bounded too: 11 series of up to
  // 100,000 points each is refused, of up to 90,000 answered.
  store::ReportBatch more;
  more.agent_id = h.agent_id;
  more.sequence = 2;
  for (int i = 0; i < 9; ++i)
    more.series.push_back(
        {store::SeriesInfo{{h.ci_id, "system.cpu.utilization", {{"cpu", std::to_string(i)}}}, "1"}, {{kNow, 0.5}}});
  ASSERT_TRUE(h.stores.reports->apply_report(more));
  const std::string all = "/api/v1/series?ci=" + h.ci_id + "&metric=system.cpu.utilization&limit=";
  EXPECT_EQ(error_code(h.call("GET", all + "100000")), "query_too_large");
  EXPECT_EQ(get_json(h, all + "90000").at("series").as_array().size(), 11u);
  EXPECT_EQ(h.call("GET", "/api/v1/series?ci=nope&metric=m").status, 404u);
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/series?metric=m")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/series?ci=" + h.ci_id)), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", base + "&exact=maybe")), "bad_query");
}

TEST(CapacityApi, ForecastAnswersWithATimeAndAnInterval) {
  Harness h;
  seed(h);
  auto f = get_json(h, "/api/v1/forecast?ci=" + h.ci_id +
                           "&metric=system.filesystem.utilization&threshold=0.9&window=1h&predict=1d");
  ASSERT_EQ(f.at("items").as_array().size(), 1u);
  const auto& fs = f.at("items").as_array()[0].as_object();
  EXPECT_EQ(fs.at("threshold").at("outcome").as_string(), "not_enough_data");
  EXPECT_EQ(fs.at("source").as_string(), "raw");
  EXPECT_FALSE(fs.at("fit").is_null()) << "two points still fit a line";

  // The CPU before its last 20 minutes: a clean 1 % a day rise.
  auto cpu = get_json(h, "/api/v1/forecast?ci=" + h.ci_id +
                            "&metric=system.cpu.utilization&exact=true&threshold=0.99&window=6h&source=raw");
  const auto& item = cpu.at("items").as_array()[0].as_object();
  EXPECT_EQ(item.at("threshold").at("outcome").as_string(), "at");
  EXPECT_TRUE(item.at("threshold").at("at").is_string());
  EXPECT_TRUE(item.at("fit").at("r2").is_double());
  auto already = get_json(h, "/api/v1/forecast?ci=" + h.ci_id +
                                "&metric=system.cpu.utilization&exact=true&threshold=0.9&window=6h");
  EXPECT_EQ(already.at("items").as_array()[0].at("threshold").at("outcome").as_string(), "already");

  EXPECT_EQ(error_code(h.call("GET", "/api/v1/forecast?ci=" + h.ci_id + "&metric=m&threshold=lots")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/forecast?ci=" + h.ci_id + "&metric=m&window=-1d")), "bad_query");
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/forecast?ci=" + h.ci_id + "&metric=m&direction=up")), "bad_query");
}

TEST(CapacityApi, ReportInThreeFormats) {
  Harness h;
  seed(h);
  auto j = get_json(h, "/api/v1/capacity/report?type=host&window=7d");
  const auto& items = j.at("items").as_array();
  ASSERT_EQ(items.size(), 2u) << "CPU total and the one filesystem (memory has no data)";
  EXPECT_EQ(items[0].at("rule").as_string(), "cpu-sustained");
  EXPECT_EQ(items[0].at("current").as_double(), 0.95);
  EXPECT_EQ(items[0].at("peak").as_double(), 0.95);
  EXPECT_EQ(items[0].at("outcome").as_string(), "already");
  EXPECT_EQ(items[1].at("rule").as_string(), "filesystem-forecast");

  auto csv = h.call("GET", "/api/v1/capacity/report?ci=" + h.ci_id + "&format=csv");
  ASSERT_EQ(csv.status, 200u);
  EXPECT_EQ(csv.body.rfind("ci_id,ci_name,rule,metric,", 0), 0u) << csv.body;
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 3);
  auto text = h.call("GET", "/api/v1/capacity/report?ci=" + h.ci_id + "&format=text");
  ASSERT_EQ(text.status, 200u);
  EXPECT_NE(text.body.find("web01"), std::string::npos) << text.body;
  EXPECT_NE(text.body.find("95.0 %"), std::string::npos) << text.body;
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/capacity/report?type=host&format=xml")), "bad_query");
}

TEST(CapacityApi, RulesRaiseAndResolveEvents) {
  Harness h;
  seed(h);
  const auto rules = capacity::default_rules();
  auto first = capacity::evaluate_rules(h.stores, rules, kNow);
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_EQ(first->opened, 1u) << "CPU above 90 % for the last 15 minutes";
  auto events = get_json(h, "/api/v1/capacity/events?state=open");
  ASSERT_EQ(events.at("items").as_array().size(), 1u);
  const auto& e = events.at("items").as_array()[0].as_object();
  EXPECT_EQ(e.at("kind").as_string(), "capacity");
  EXPECT_EQ(e.at("rule").as_string(), "cpu-sustained");
  EXPECT_EQ(e.at("ci_id").as_string(), h.ci_id);
  EXPECT_EQ(e.at("value").as_double(), 0.95);

  // Evaluated again: still one open event.
  auto again = capacity::evaluate_rules(h.stores, rules, kNow + 60'000);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->opened, 0u);
  EXPECT_EQ(get_json(h, "/api/v1/capacity/events?state=open").at("items").as_array().size(), 1u);

  // Six calm minutes later the condition has cleared.
  store::ReportBatch calm;
  calm.agent_id = h.agent_id;
  calm.sequence = 2;
  std::vector<store::Sample> low;
  for (std::int64_t t = kNow + 60'000; t <= kNow + 6 * 60'000; t += 60'000) low.push_back({t, 0.3});
  calm.series.push_back({store::SeriesInfo{{h.ci_id, "system.cpu.utilization", {}}, "1"}, low});
  ASSERT_TRUE(h.stores.reports->apply_report(calm));
  auto later = capacity::evaluate_rules(h.stores, rules, kNow + 6 * 60'000);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->resolved, 1u);
  EXPECT_TRUE(get_json(h, "/api/v1/capacity/events?state=open").at("items").as_array().empty());
  auto resolved = get_json(h, "/api/v1/capacity/events?state=resolved&ci=" + h.ci_id);
  ASSERT_EQ(resolved.at("items").as_array().size(), 1u);
  EXPECT_TRUE(resolved.at("items").as_array()[0].at("resolved").is_string());
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/capacity/events?state=maybe")), "bad_query");
}

TEST(ServicesApi, DefinitionsMembersAndServiceScopedCapacity) {
  test::TempDir defs;
  auto catalog = std::make_shared<services::Catalog>(defs.path());
  Harness h("", 1 << 20, catalog);
  seed(h);
  std::ofstream(defs.file("webshop.toml")) << "name = \"webshop\"\nowner = \"web-team\"\nsla_target = 99.5\n"
                                              "[[group]]\nname = \"hosts\"\nmembers = [\"" + h.ci_id +
                                                  "\", \"gone\"]\nredundancy = \"any\"\n"
                                                  "[[capacity_rule]]\nname = \"root\"\nkind = \"forecast\"\n"
                                                  "metric = \"system.filesystem.utilization\"\nthreshold = 0.7\n";
  std::ofstream(defs.file("broken.toml")) << "name = \"broken\"\nowner = 3\n";

  auto list = get_json(h, "/api/v1/services");
  ASSERT_EQ(list.at("items").as_array().size(), 1u);
  const auto& svc = list.at("items").as_array()[0].as_object();
  EXPECT_EQ(svc.at("name").as_string(), "webshop");
  EXPECT_EQ(svc.at("sla").at("target_percent").as_double(), 99.5);
  EXPECT_EQ(svc.at("groups").as_array()[0].at("redundancy").at("rule").as_string(), "any");
  ASSERT_EQ(list.at("errors").as_array().size(), 1u);
  EXPECT_NE(std::string(list.at("errors").as_array()[0].at("message").as_string()).find("broken.toml:2"),
            std::string::npos);

  auto one = get_json(h, "/api/v1/services/webshop");
  ASSERT_EQ(one.at("member_cis").as_array().size(), 1u);
  EXPECT_EQ(one.at("member_cis").as_array()[0].at("id").as_string(), h.ci_id);
  EXPECT_EQ(one.at("unresolved").as_array()[0].as_string(), "gone");
  EXPECT_EQ(h.call("GET", "/api/v1/services/nope").status, 404u);

  // The service's member hosts, and its own thresholds in its report.
  auto trend = get_json(h, "/api/v1/series?service=webshop&metric=system.cpu.utilization&exact=true&step=1h&from=" +
                               std::to_string(kNow - kDay) + "&to=" + std::to_string(kNow));
  ASSERT_EQ(trend.at("series").as_array().size(), 1u);
  auto report = get_json(h, "/api/v1/capacity/report?service=webshop");
  ASSERT_EQ(report.at("items").as_array().size(), 1u);
  EXPECT_EQ(report.at("items").as_array()[0].at("rule").as_string(), "webshop/root");
  EXPECT_EQ(report.at("items").as_array()[0].at("threshold").as_double(), 0.7);
  EXPECT_EQ(h.call("GET", "/api/v1/capacity/report?service=nope").status, 404u);
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/series?service=webshop&ci=" + h.ci_id + "&metric=m")), "bad_query");
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
  EXPECT_EQ(get_json(h, "/api/v1/changes/" + change_id).at("reference").as_string(), "CHG1");
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
      {"/api/v1/changes", R"({"cis":["x"],"start":"1","end":"2"})"}, {"/api/v1/changes", "{\"reference\":"}};
  for (const auto& [path, body] : bad) {
    auto r = post(path, body);
    EXPECT_EQ(r.status, 400u) << path << " " << body << ": " << r.body;
    EXPECT_EQ(error_code(r), "bad_request") << body;
  }
  EXPECT_EQ(get_json(h, "/api/v1/cis?type=t").at("count").as_int64(), 0);
  // A number JSON cannot hold is refused and harms nothing (found by fuzz_cmdb_api).
  EXPECT_EQ(h.call("PATCH", "/api/v1/cis/" + app_id, R"({"attributes":{"a":-1e999}})").status, 400u);
  EXPECT_EQ(h.call("GET", "/api/v1/cis/" + app_id).status, 200u);
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/audit?unauthorized=maybe")), "bad_query");
  EXPECT_EQ(h.call("DELETE", "/api/v1/relationships?from=" + app_id + "&type=runs_on&to=" + h.ci_id).status, 200u);
  EXPECT_EQ(h.call("DELETE", "/api/v1/relationships?from=" + app_id + "&type=runs_on&to=" + h.ci_id).status, 404u);
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
  // Returns the CI id the enrolment was given.
  auto enroll = [&](const std::string& machine, const std::string& uuid, const std::string& serial) {
    wire::EnrollRequest r{"secret-token", machine, "host-" + machine.substr(0, 4), "0.1.0", uuid, serial};
    auto res = h.call("POST", "/api/v1/enroll", wire::encode(r, wire::Format::json), {{"Content-Type", "application/json"}});
    EXPECT_EQ(res.status, 201u) << res.body;
    auto er = wire::decode<wire::EnrollResponse>(res.body, wire::Format::json);
    return er ? er->ci_id : std::string();
  };
  auto rule = [&](const std::string& ci) {
    return std::string(get_json(h, "/api/v1/cis/" + ci).at("attributes").at("identity.rule").as_string());
  };
  const std::string m1(32, '1'), m2(32, '2'), m3(32, '3'), m4(32, '4'), m5(32, '5'), m6(32, '6');
  const std::string first = enroll(m1, "4C4C4544-0036-1051-8053-B7C04F4E4D32", "");
  EXPECT_EQ(rule(first), "new");
  // Re-enrolled from the same machine: the same CI, by host.id.
  EXPECT_EQ(enroll(m1, "4C4C4544-0036-1051-8053-B7C04F4E4D32", ""), first);
  EXPECT_EQ(rule(first), "host.id");
  // Reinstalled: a new machine-id on the same hardware is the same CI.
  EXPECT_EQ(enroll(m2, "4c4c4544-0036-1051-8053-b7c04f4e4d32", ""), first);
  EXPECT_EQ(rule(first), "smbios_uuid");
  // A cloned VM: the machine-id of the first, other hardware. Its own CI,
  // flagged as a clone of the first.
  const std::string clone = enroll(m1, "11111111-2222-3333-4444-555555555555", "");
  EXPECT_NE(clone, first);
  EXPECT_EQ(rule(clone), "clone");
  EXPECT_EQ(get_json(h, "/api/v1/cis/" + clone).at("attributes").at("identity.clone_of").as_string(), first);
  // Placeholder identities match nothing; a real serial does.
  const std::string a = enroll(m3, "00000000-0000-0000-0000-000000000000", "To Be Filled By O.E.M.");
  const std::string b = enroll(m4, "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "To Be Filled By O.E.M.");
  EXPECT_NE(a, b);
  EXPECT_FALSE(get_json(h, "/api/v1/cis/" + a).at("attributes").as_object().contains("hardware.serial"));
  const std::string c = enroll(m5, "", "CZJ1234567");
  EXPECT_EQ(enroll(m6, "", "CZJ1234567"), c);
  EXPECT_EQ(rule(c), "serial");
  for (const char* p : {"To Be Filled By O.E.M.", "Default string", "0", "", "  ", "Not Specified", "ffffffff"})
    EXPECT_TRUE(ingest::placeholder(p)) << p;
  for (const char* p : {"CZJ1234567", "4c4c4544-0036-1051-8053-b7c04f4e4d32"}) EXPECT_FALSE(ingest::placeholder(p)) << p;
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

TEST(ServicesApi, DefinedThroughTheApiToo) {
  test::TempDir defs;
  std::ofstream(defs.file("payroll.toml")) << "name = \"payroll\"\nowner = \"hr\"\n";
  test::TempDir db;
  const std::string url = "sqlite:" + db.file("s.db");
  auto side = backends::open_stores(url);  // the catalog's own connection to the same file
  ASSERT_TRUE(side);
  auto catalog = std::make_shared<services::Catalog>(defs.path(), side->services);
  Harness api_h(url, 1 << 20, catalog);
  const std::string def = "name = \"shop\"\nowner = \"web\"\nsla_target = 99.5\n[[group]]\nmembers = [\"web01\"]\n";
  auto put = api_h.call("PUT", "/api/v1/services/shop", def, {{"Content-Type", "application/toml"}});
  EXPECT_EQ(put.status, 201u) << put.body;
  EXPECT_EQ(api_h.call("PUT", "/api/v1/services/shop", def).status, 200u);
  auto list = get_json(api_h, "/api/v1/services");
  ASSERT_EQ(list.at("items").as_array().size(), 2u) << json::serialize(list);
  EXPECT_EQ(get_json(api_h, "/api/v1/services/shop").at("file").as_string(), "api:shop");
  // Errors: the TOML's own, a name that is not the path's, a file's service.
  auto bad = api_h.call("PUT", "/api/v1/services/shop", "name = \"shop\"\nowner = \"web\"\ncolour = 1\n");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_NE(bad.body.find("api:shop:3"), std::string::npos) << bad.body;
  EXPECT_EQ(api_h.call("PUT", "/api/v1/services/other", def).status, 400u);
  EXPECT_EQ(api_h.call("PUT", "/api/v1/services/payroll", "name = \"payroll\"\nowner = \"x\"\n").status, 409u);
  EXPECT_EQ(api_h.call("DELETE", "/api/v1/services/payroll").status, 409u);
  EXPECT_EQ(api_h.call("DELETE", "/api/v1/services/shop").status, 200u);
  EXPECT_EQ(api_h.call("DELETE", "/api/v1/services/shop").status, 404u);
  EXPECT_EQ(api_h.call("GET", "/api/v1/services/shop").status, 404u);
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

TEST(SlaApi, ReportsOfTheCurrentAndANamedPeriod) {
  test::TempDir defs;
  auto catalog = std::make_shared<services::Catalog>(defs.path());
  std::ofstream(defs.file("shop.toml")) << "name = \"shop\"\nowner = \"o\"\nsla_target = 99.5\n";
  std::ofstream(defs.file("lab.toml")) << "name = \"lab\"\nowner = \"o\"\n";
  Harness h("", 1 << 20, catalog);
  // The harness clock is 2026-11-18T07:48:20Z: November so far, with 30
  // minutes down and the rest up.
  const std::int64_t nov1 = *core::parse_time("2026-11-01T00:00:00Z"), now = core::to_unix_ms(h.clock.now());
  ASSERT_TRUE(h.stores.timelines->record_state("service:shop", store::Availability::up, nov1, nov1 + 86'400'000));
  ASSERT_TRUE(h.stores.timelines->record_state("service:shop", store::Availability::down, nov1 + 86'400'000,
                                               nov1 + 86'400'000 + 1'800'000));
  ASSERT_TRUE(h.stores.timelines->record_state("service:shop", store::Availability::up, nov1 + 86'400'000 + 1'800'000, now));
  auto r = get_json(h, "/api/v1/slas/shop/report");
  EXPECT_EQ(r.at("period").as_string(), "2026-11");
  EXPECT_FALSE(r.at("closed").as_bool());
  EXPECT_DOUBLE_EQ(r.at("downtime_seconds").to_number<double>(), 1800);
  const double agreed = static_cast<double>(now - nov1) / 1000;
  EXPECT_DOUBLE_EQ(r.at("agreed_seconds").to_number<double>(), agreed);
  EXPECT_NEAR(r.at("achieved_percent").to_number<double>(), 100 * (agreed - 1800) / agreed, 1e-9);
  EXPECT_NEAR(r.at("allowed_downtime_seconds").to_number<double>(), 0.005 * agreed, 0.001);
  EXPECT_FALSE(r.at("breached").as_bool());
  auto october = get_json(h, "/api/v1/slas/shop/report?period=2026-10");
  EXPECT_TRUE(october.at("closed").as_bool());
  EXPECT_DOUBLE_EQ(october.at("unknown_seconds").to_number<double>(), 31 * 86'400.0) << "no timeline: unknown";
  auto csv = h.call("GET", "/api/v1/slas/shop/report?format=csv");
  EXPECT_EQ(csv.status, 200u);
  EXPECT_EQ(csv.body.rfind("service,period,closed,target_percent,", 0), 0u) << csv.body;
  auto html = h.call("GET", "/api/v1/slas/shop/report?format=html");
  EXPECT_EQ(html.status, 200u);
  EXPECT_EQ(html.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(html.body.find("<h1>SLA: shop</h1>"), std::string::npos) << html.body;
  EXPECT_NE(html.body.find("<tr><th>Downtime</th><td>30.0 min</td></tr>"), std::string::npos) << html.body;
  EXPECT_EQ(get_json(h, "/api/v1/slas").at("items").as_array().size(), 1u) << "lab has no SLA";
  EXPECT_EQ(error_code(h.call("GET", "/api/v1/slas/shop/report?period=2026-W40")), "bad_query");
  EXPECT_EQ(h.call("GET", "/api/v1/slas/lab/report").status, 404u);
  EXPECT_EQ(h.call("GET", "/api/v1/slas/nope/report").status, 404u);
}

TEST(SlaApi, ReportsInTheServiceTimeZoneAndHours) {
  test::TempDir defs;
  auto catalog = std::make_shared<services::Catalog>(defs.path());
  std::ofstream(defs.file("office.toml")) << "name = \"office\"\nowner = \"o\"\nsla_target = 99\n"
                                             "sla_time_zone = \"Europe/Berlin\"\n"
                                             "sla_service_hours = [\"Mon-Fri 08:00-18:00\"]\n";
  Harness h("", 1 << 20, catalog);
  // October 2026 in Berlin: 22 weekdays of 10 hours; one outage, 17:00-18:30
  // CET on Tuesday 27 October, of which one hour is inside the hours.
  const std::int64_t start = *core::parse_time("2026-09-30T22:00:00Z");
  const std::int64_t end = *core::parse_time("2026-10-31T23:00:00Z");
  const std::int64_t down = *core::parse_time("2026-10-27T16:00:00Z");
  const std::int64_t up = *core::parse_time("2026-10-27T17:30:00Z");
  ASSERT_TRUE(h.stores.timelines->record_state("service:office", store::Availability::up, start, down));
  ASSERT_TRUE(h.stores.timelines->record_state("service:office", store::Availability::down, down, up));
  ASSERT_TRUE(h.stores.timelines->record_state("service:office", store::Availability::up, up, end));
  auto r = get_json(h, "/api/v1/slas/office/report?period=2026-10");
  EXPECT_EQ(r.at("start").as_string(), "2026-09-30T22:00:00.000Z");
  EXPECT_EQ(r.at("end").as_string(), "2026-10-31T23:00:00.000Z");
  EXPECT_EQ(r.at("time_zone").as_string(), "Europe/Berlin");
  EXPECT_EQ(r.at("start_local").as_string(), "2026-10-01T00:00:00+02:00");
  EXPECT_EQ(r.at("end_local").as_string(), "2026-11-01T00:00:00+01:00");
  EXPECT_EQ(json::serialize(r.at("service_hours")), R"(["Mon-Fri 08:00-18:00"])");
  EXPECT_DOUBLE_EQ(r.at("service_time_seconds").to_number<double>(), 792'000);
  EXPECT_DOUBLE_EQ(r.at("agreed_seconds").to_number<double>(), 792'000);
  EXPECT_DOUBLE_EQ(r.at("downtime_seconds").to_number<double>(), 3600);
  EXPECT_DOUBLE_EQ(r.at("unknown_seconds").to_number<double>(), 0);
  EXPECT_DOUBLE_EQ(r.at("allowed_downtime_seconds").to_number<double>(), 7920);
  EXPECT_DOUBLE_EQ(r.at("error_budget_left_seconds").to_number<double>(), 4320);
  auto csv = h.call("GET", "/api/v1/slas/office/report?period=2026-10&format=csv");
  EXPECT_EQ(csv.status, 200u);
  EXPECT_NE(csv.body.find(",breached,start,end,time_zone,service_hours,agreed_seconds,version\r\n"), std::string::npos)
      << csv.body;
  EXPECT_NE(csv.body.find(",2026-09-30T22:00:00.000Z,2026-10-31T23:00:00.000Z,Europe/Berlin,Mon-Fri 08:00-18:00,"
                          "792000.000,\r\n"),
            std::string::npos)
      << csv.body;
  auto html = h.call("GET", "/api/v1/slas/office/report?period=2026-10&format=html");
  EXPECT_NE(html.body.find("<tr><th>Time zone</th><td>Europe/Berlin (2026-10-01T00:00:00+02:00 to "
                           "2026-11-01T00:00:00+01:00)</td></tr>"),
            std::string::npos)
      << html.body;
  EXPECT_NE(html.body.find("<tr><th>Service hours</th><td>Mon-Fri 08:00-18:00</td></tr>"), std::string::npos)
      << html.body;
  // The current period (the harness clock is in November) is Berlin's November.
  auto all = get_json(h, "/api/v1/slas").at("items").as_array();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].at("period").as_string(), "2026-11");
  EXPECT_EQ(all[0].at("start").as_string(), "2026-10-31T23:00:00.000Z");
  EXPECT_EQ(all[0].at("time_zone").as_string(), "Europe/Berlin");
  auto svc = get_json(h, "/api/v1/services/office");
  EXPECT_EQ(svc.at("sla").at("time_zone").as_string(), "Europe/Berlin");
  EXPECT_EQ(json::serialize(svc.at("sla").at("service_hours")), R"(["Mon-Fri 08:00-18:00"])");
}

TEST(SlaApi, ClosedPeriodsAnswerWithTheirFrozenReportAndAmendments) {
  test::TempDir defs;
  auto catalog = std::make_shared<services::Catalog>(defs.path());
  std::ofstream(defs.file("shop.toml")) << "name = \"shop\"\nowner = \"o\"\nsla_target = 99.5\n";
  Harness h("", 1 << 20, catalog);
  const std::int64_t oct1 = *core::parse_time("2026-10-01T00:00:00Z"), nov1 = *core::parse_time("2026-11-01T00:00:00Z");
  ASSERT_TRUE(h.stores.timelines->record_state("service:shop", store::Availability::up, oct1, oct1 + 86'400'000));
  ASSERT_TRUE(h.stores.timelines->record_state("service:shop", store::Availability::down, oct1 + 86'400'000,
                                               oct1 + 86'400'000 + 3'600'000));
  ASSERT_TRUE(h.stores.timelines->record_state("service:shop", store::Availability::up, oct1 + 86'400'000 + 3'600'000,
                                               nov1));
  // Not frozen yet: computed now, and said so.
  auto live = get_json(h, "/api/v1/slas/shop/report?period=2026-10");
  EXPECT_FALSE(live.at("record").at("frozen").as_bool());
  std::set<std::string> done;
  ASSERT_EQ(*sla::freeze_closed(h.stores, *catalog, core::to_unix_ms(h.clock.now()), done), 1u);
  auto frozen = get_json(h, "/api/v1/slas/shop/report?period=2026-10");
  EXPECT_TRUE(frozen.at("record").at("frozen").as_bool());
  EXPECT_EQ(frozen.at("record").at("version").as_int64(), 1);
  EXPECT_DOUBLE_EQ(frozen.at("downtime_seconds").to_number<double>(), 3600);

  const std::string body = R"({"by":"alice","reason":"target renegotiated"})";
  auto same = h.call("POST", "/api/v1/slas/shop/report/recompute?period=2026-10", body);
  ASSERT_EQ(same.status, 200u) << same.body;
  EXPECT_FALSE(json::parse(same.body).at("amended").as_bool());
  std::ofstream(defs.file("shop.toml")) << "name = \"shop\"\nowner = \"o\"\nsla_target = 99.9\n";
  auto amended = h.call("POST", "/api/v1/slas/shop/report/recompute?period=2026-10", body);
  ASSERT_EQ(amended.status, 201u) << amended.body;
  EXPECT_EQ(json::parse(amended.body).at("version").as_int64(), 2);
  auto latest = get_json(h, "/api/v1/slas/shop/report?period=2026-10");
  EXPECT_EQ(latest.at("record").at("version").as_int64(), 2);
  EXPECT_EQ(latest.at("record").at("versions").as_array().size(), 2u);
  EXPECT_EQ(latest.at("record").at("versions").as_array()[1].at("reason").as_string(), "target renegotiated");
  EXPECT_DOUBLE_EQ(latest.at("target_percent").to_number<double>(), 99.9);
  auto first = get_json(h, "/api/v1/slas/shop/report?period=2026-10&version=1");
  EXPECT_DOUBLE_EQ(first.at("target_percent").to_number<double>(), 99.5);
  EXPECT_EQ(h.call("GET", "/api/v1/slas/shop/report?period=2026-10&version=3").status, 404u);
  EXPECT_EQ(h.call("GET", "/api/v1/slas/shop/report?period=2026-10&version=zero").status, 400u);
  EXPECT_EQ(h.call("GET", "/api/v1/slas/shop/report?period=2026-10&version=0").status, 400u);
  EXPECT_EQ(h.call("GET", "/api/v1/slas/shop/report?version=1").status, 400u) << "no period: the running one";
  EXPECT_NE(h.call("GET", "/api/v1/slas/shop/report?period=2026-10&format=html").body.find("version 2 of 2"),
            std::string::npos);
  EXPECT_EQ(h.call("POST", "/api/v1/slas/shop/report/recompute?period=2026-11", body).status, 409u);
  EXPECT_EQ(h.call("POST", "/api/v1/slas/shop/report/recompute?period=2026-10", R"({"by":"alice"})").status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/slas/shop/report/recompute?period=2026-10", "nope").status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/slas/shop/report/recompute?period=October", body).status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/slas/nope/report/recompute?period=2026-10", body).status, 404u);
}

}  // namespace capacity_api

TEST(IncidentsApi, ListShowActKpisAndDeliveries) {
  Harness h;
  const std::int64_t now = core::to_unix_ms(h.clock.now());
  incidents::Signal a;
  a.subject = "host-1";
  a.rule = "heartbeat";
  a.summary = "host h1 is down";
  a.impact = 1;
  a.urgency = 2;
  incidents::Signal b = a;
  b.kind = store::IncidentKind::capacity;
  b.subject = "host-2";
  b.rule = "fs-full";
  b.impact = 3;
  b.urgency = 3;
  ASSERT_TRUE(incidents::apply(*h.stores.incidents, {a, b}, now - 3'600'000, {}));
  ASSERT_TRUE(h.stores.incidents->record_delivery({now, "ops", "m1", {"INC-1"}, 1, 200, "", true}));

  auto list = h.call("GET", "/api/v1/incidents");
  ASSERT_EQ(list.status, 200u) << list.body;
  auto items = json::parse(list.body).at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_FALSE(items[0].as_object().contains("timeline"));
  auto filtered = h.call("GET", "/api/v1/incidents?state=active&kind=availability&priority=2");
  ASSERT_EQ(filtered.status, 200u);
  auto f_items = json::parse(filtered.body).at("items").as_array();
  ASSERT_EQ(f_items.size(), 1u);
  EXPECT_EQ(f_items[0].at("id").as_string(), "INC-1");
  EXPECT_EQ(f_items[0].at("priority").as_int64(), 2);
  EXPECT_EQ(json::parse(h.call("GET", "/api/v1/incidents?subject=host-2").body).at("items").as_array().size(), 1u);
  for (const char* bad : {"state=gone", "kind=outage", "priority=0", "priority=9", "limit=0", "from=yesterday"})
    EXPECT_EQ(h.call("GET", std::string("/api/v1/incidents?") + bad).status, 400u) << bad;

  auto one = h.call("GET", "/api/v1/incidents/INC-1");
  ASSERT_EQ(one.status, 200u);
  EXPECT_EQ(json::parse(one.body).at("timeline").as_array().size(), 1u);
  EXPECT_EQ(h.call("GET", "/api/v1/incidents/INC-404").status, 404u);

  auto ack = h.call("POST", "/api/v1/incidents/INC-1/acknowledge", R"({"by":"alice","text":"on it"})");
  ASSERT_EQ(ack.status, 200u) << ack.body;
  EXPECT_EQ(json::parse(ack.body).at("state").as_string(), "acknowledged");
  EXPECT_EQ(json::parse(ack.body).at("timeline").as_array().back().at("by").as_string(), "alice");
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-1/close", R"({"by":"alice"})").status, 409u);
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-1/explode", R"({"by":"alice"})").status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-1/comment", R"({"by":"alice"})").status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-1/resolve", R"({"text":"no one"})").status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-1/resolve", R"([1,2])").status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-1/resolve", R"({"by":7})").status, 400u);
  EXPECT_EQ(h.call("POST", "/api/v1/incidents/INC-9/resolve", R"({"by":"alice"})").status, 404u);
  ASSERT_EQ(h.call("POST", "/api/v1/incidents/INC-1/resolve", R"({"by":"bob","text":"rebooted"})").status, 200u);
  ASSERT_EQ(h.call("POST", "/api/v1/incidents/INC-1/close", R"({"by":"carol"})").status, 200u);

  auto kpis = h.call("GET", "/api/v1/incidents/kpis");
  ASSERT_EQ(kpis.status, 200u) << kpis.body;
  const json::value k = json::parse(kpis.body);
  EXPECT_EQ(k.at("opened").as_int64(), 2);
  EXPECT_EQ(k.at("resolved").as_int64(), 1);
  EXPECT_EQ(k.at("mttr_seconds").as_int64(), 3600) << "opened an hour ago, resolved by a person now";
  EXPECT_EQ(k.at("by_kind").at("capacity").as_int64(), 1);
  EXPECT_EQ(k.at("by_priority").at("P2").as_int64(), 1);
  EXPECT_EQ(h.call("GET", "/api/v1/incidents/kpis?period=2026-13").status, 400u);
  auto old = h.call("GET", "/api/v1/incidents/kpis?period=2020-W01");
  ASSERT_EQ(old.status, 200u);
  EXPECT_EQ(json::parse(old.body).at("opened").as_int64(), 0);
  EXPECT_TRUE(json::parse(old.body).at("mttr_seconds").is_null());

  auto d = h.call("GET", "/api/v1/webhooks/deliveries");
  ASSERT_EQ(d.status, 200u);
  EXPECT_EQ(json::parse(d.body).at("items").as_array()[0].at("message_id").as_string(), "m1");
}

}  // namespace
}  // namespace surveyor::collector
