// SPDX-License-Identifier: Apache-2.0
// The wire protocol: every message through both encodings and back, and
// bad input refused with a reason.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <new>
#include <random>

#include "surveyor/wire/codec.hpp"
#include "test_support.hpp"
#include "wire_fixtures.hpp"

// Counts the bytes this thread asks for while counting is on, to check that
// decoding allocates no more than a bound derived from the body size.
namespace {
thread_local bool g_counting = false;
thread_local std::size_t g_allocated = 0;
}  // namespace

// GCC 12 mistakes these replacements for mismatched pairs.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (g_counting) g_allocated += n;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  if (g_counting) g_allocated += n;
  const auto align = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new[](std::size_t n, std::align_val_t a) { return ::operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace surveyor::wire {
namespace {

struct AllocationMeter {
  AllocationMeter() {
    g_allocated = 0;
    g_counting = true;
  }
  ~AllocationMeter() { g_counting = false; }
  std::size_t bytes() const { return g_allocated; }
};

// The bound every decode must respect, for any input.
std::size_t allowed(std::size_t body) { return 32 * body + 1024 * 1024; }

void expect_same(const Report& a, const Report& b) {
  // NaN != NaN, so compare specials by bits; everything else by ==.
  ASSERT_EQ(a.series.size(), b.series.size());
  Report x = a, y = b;
  for (std::size_t i = 0; i < a.series.size(); ++i) {
    ASSERT_EQ(a.series[i].points.size(), b.series[i].points.size());
    for (std::size_t j = 0; j < a.series[i].points.size(); ++j) {
      const double u = a.series[i].points[j].value, v = b.series[i].points[j].value;
      EXPECT_EQ(std::signbit(u), std::signbit(v));
      if (std::isnan(u)) {
        EXPECT_TRUE(std::isnan(v));
      }
      x.series[i].points[j].value = y.series[i].points[j].value = 0;
    }
  }
  EXPECT_EQ(x, y);
}

TEST(WireRoundTrip, BinaryReport) {
  const Report r = test::sample_report();
  const std::string bytes = encode(r, Format::binary);
  EXPECT_EQ(bytes.substr(0, 3), "SVR");
  auto back = decode<Report>(bytes, Format::binary);
  ASSERT_TRUE(back) << back.error().describe();
  expect_same(r, *back);
}

TEST(WireRoundTrip, JsonReport) {
  Report r = test::sample_report();
  r.series[2].points.push_back({6, std::numeric_limits<double>::quiet_NaN()});
  const std::string text = encode(r, Format::json);
  EXPECT_NE(text.find("\"agent_id\":\"agt-0123456789abcdef\""), std::string::npos);
  EXPECT_NE(text.find("\"attributes\":{\"device\":\"/dev/vda1\""), std::string::npos);
  auto back = decode<Report>(text, Format::json);
  ASSERT_TRUE(back) << back.error().describe();
  expect_same(r, *back);
}

TEST(WireRoundTrip, JsonNumbersAreTheNearestDoubles) {
  // Values Boost.JSON 1.81 alone reads one unit in the last place off.
  std::string points;
  std::vector<double> expected;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 2000; ++i) {
    const double v = std::uniform_real_distribution<double>(0, 1)(rng);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    points += (i ? "," : "") + std::string("[") + std::to_string(i + 1) + "," + buf + "]";
    expected.push_back(std::strtod(buf, nullptr));
  }
  const std::string text = R"({"agent_id":"a","sequence":1,"sent_at_ms":5,"heartbeat_interval_s":60,"series":[{"metric":"m","points":[)" +
                           points + "]}]}";
  auto r = decode<Report>(text, Format::json);
  ASSERT_TRUE(r) << r.error().describe();
  for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(r->series[0].points[i].value, expected[i]) << i;
}

TEST(WireRoundTrip, JsonAttributesInAnyOrderAreSorted) {
  const std::string text = R"({"agent_id":"a","sequence":1,"sent_at_ms":5,"heartbeat_interval_s":60,
    "series":[{"metric":"m","attributes":{"z":"1","a":"2"},"points":[[1,2]]}]})";
  auto r = decode<Report>(text, Format::json);
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_EQ(r->series[0].attributes.size(), 2u);
  EXPECT_EQ(r->series[0].attributes[0].key, "a");
  EXPECT_EQ(r->series[0].points[0].value, 2.0);
}

TEST(WireRoundTrip, OtherMessages) {
  const EnrollRequest e{"secret-token", "4c4c4544003610518053b7c04f4e4d32", "web01", "0.1.0"};
  const EnrollResponse k{"agt-1", std::string(64, 'b'), "host-1"};
  const ReportAck a{42, true, true};
  for (Format f : {Format::binary, Format::json}) {
    auto e2 = decode<EnrollRequest>(encode(e, f), f);
    ASSERT_TRUE(e2) << e2.error().describe();
    EXPECT_EQ(*e2, e);
    auto k2 = decode<EnrollResponse>(encode(k, f), f);
    ASSERT_TRUE(k2) << k2.error().describe();
    EXPECT_EQ(*k2, k);
    auto a2 = decode<ReportAck>(encode(a, f), f);
    ASSERT_TRUE(a2) << a2.error().describe();
    EXPECT_EQ(*a2, a);
  }
}

TEST(WireFormat, PeekAgentId) {
  Report r = test::sample_report();
  EXPECT_EQ(peek_agent_id(encode(r, Format::binary)), "agt-0123456789abcdef");
  r.agent_id = "";
  EXPECT_EQ(peek_agent_id(encode(r, Format::binary)), "");
  EXPECT_EQ(peek_agent_id(encode(ReportAck{}, Format::binary)), std::nullopt);
  EXPECT_EQ(peek_agent_id("SVR"), std::nullopt);
  const std::string good = encode(test::sample_report(), Format::binary);
  EXPECT_EQ(peek_agent_id(good.substr(0, 20)), std::nullopt) << "id cut short";
}

TEST(WireFormat, ContentTypes) {
  EXPECT_EQ(format_for_content_type("application/x-surveyor-report"), Format::binary);
  EXPECT_EQ(format_for_content_type("Application/JSON; charset=utf-8"), Format::json);
  EXPECT_EQ(format_for_content_type("text/plain"), std::nullopt);
  EXPECT_EQ(format_for_content_type(""), std::nullopt);
}

TEST(WireDigest, ChangesWithContentOnly) {
  const Report r = test::sample_report();
  HostInfo h = *r.inventory->host.data;
  EXPECT_EQ(digest_of(h), r.inventory->host.digest);
  EXPECT_EQ(digest_of(h).size(), 64u);
  h.memory_total_bytes += 4096;
  EXPECT_NE(digest_of(h), r.inventory->host.digest);
}

// ---- bad input ---------------------------------------------------------------

struct Bad {
  std::string name;
  std::string bytes;
  Errc expected;
};

// Puts a little-endian u64 at `offset`, overwriting.
std::string with_u64(std::string s, std::size_t offset, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s[offset + i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

std::vector<Bad> binary_corpus() {
  const std::string good = encode(test::sample_report(), Format::binary);
  // Layout: magic(4) endianness(1) Report version(4) agent_id length(8) agent_id ...
  const std::size_t id_len_at = 4 + 1 + 4;
  std::vector<Bad> out{
      {"empty", "", Errc::bad_magic},
      {"magic only", good.substr(0, 4), Errc::truncated},
      {"other magic", "SVA\x01" + good.substr(4), Errc::bad_magic},
      {"garbage", "this is not a report at all", Errc::bad_magic},
      {"bad endianness flag", good.substr(0, 4) + "\x07" + good.substr(5), Errc::malformed},
      {"huge string length", with_u64(good, id_len_at, 1ull << 60), Errc::too_large},
      {"string longer than body", with_u64(good, id_len_at, good.size()), Errc::too_large},
      {"max length", with_u64(good, id_len_at, ~0ull), Errc::too_large},
      {"version from the future", good.substr(0, 5) + std::string("\x09\x00\x00\x00", 4) + good.substr(9),
       Errc::unsupported_version},
      {"trailing bytes", good + "xyz", Errc::trailing_data},
  };
  return out;
}

TEST(WireBadInput, BinaryCorpusGivesTypedErrors) {
  for (const Bad& b : binary_corpus()) {
    AllocationMeter m;
    auto r = decode<Report>(b.bytes, Format::binary);
    const std::size_t used = m.bytes();
    ASSERT_FALSE(r) << b.name;
    EXPECT_EQ(r.error().code, b.expected) << b.name << ": " << r.error().describe();
    EXPECT_FALSE(r.error().message.empty()) << b.name;
    EXPECT_LE(used, allowed(b.bytes.size())) << b.name;
  }
}

TEST(WireBadInput, EveryTruncationFailsCleanly) {
  const std::string good = encode(test::sample_report(), Format::binary);
  for (std::size_t n = 0; n < good.size(); ++n) {
    AllocationMeter m;
    auto r = decode<Report>(std::string_view(good).substr(0, n), Format::binary);
    const std::size_t used = m.bytes();
    ASSERT_FALSE(r) << "accepted a report cut at " << n << " of " << good.size();
    EXPECT_TRUE(r.error().code == Errc::truncated || r.error().code == Errc::bad_magic ||
                r.error().code == Errc::too_large)
        << n << ": " << r.error().describe();
    EXPECT_LE(used, allowed(n)) << n;
  }
}

TEST(WireBadInput, BitFlipsNeverCrashOrOverAllocate) {
  const std::string good = encode(test::sample_report(), Format::binary);
  std::size_t rejected = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit : {0, 3, 7}) {
      std::string s = good;
      s[i] = static_cast<char>(s[i] ^ (1 << bit));
      AllocationMeter m;
      auto r = decode<Report>(s, Format::binary);
      const std::size_t used = m.bytes();
      EXPECT_LE(used, allowed(s.size())) << i;
      if (!r) {
        ++rejected;
        EXPECT_FALSE(r.error().message.empty());
      }
    }
  }
  // Most flips land in values (accepted) but a good share hit structure.
  EXPECT_GT(rejected, good.size() / 10);
}

TEST(WireBadInput, BadBooleanByteIsMalformed) {
  const std::string good = encode(ReportAck{7, true, false}, Format::binary);
  std::string bad = good;
  // magic(4) endianness(1) version(4) sequence(8) duplicate(1)
  bad[4 + 1 + 4 + 8] = 2;
  auto r = decode<ReportAck>(bad, Format::binary);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::malformed);
}

TEST(WireBadInput, JsonCorpusGivesTypedErrors) {
  const std::filesystem::path dir = std::filesystem::path(SURVEYOR_TEST_CORPUS) / "json_bad";
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
    const std::string text = test::read_file(entry.path());
    // File names start with the expected error: "missing_field-....json".
    const std::string name = entry.path().filename().string();
    AllocationMeter m;
    auto r = decode<Report>(text, Format::json);
    const std::size_t used = m.bytes();
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(name.substr(0, name.find('-')), std::string(r.error().code == Errc::missing_field ? "missing_field"
                                                  : r.error().code == Errc::wrong_type ? "wrong_type"
                                                  : r.error().code == Errc::malformed ? "malformed"
                                                  : r.error().code == Errc::invalid_value ? "invalid_value"
                                                  : r.error().code == Errc::too_large ? "too_large"
                                                  : r.error().code == Errc::unsupported_version ? "unsupported_version"
                                                  : "other"))
        << name << ": " << r.error().describe();
    EXPECT_LE(used, allowed(text.size())) << name;
  }
  EXPECT_GE(files, 15u);
}

TEST(WireBadInput, JsonArraysOfLargeRecordsStayWithinTheBound) {
  // Each 2-byte "0," would become a MemoryModule (hundreds of bytes) if the
  // array were sized before its elements are looked at.
  std::string zeros;
  for (int i = 0; i < 200'000; ++i) zeros += i ? ",0" : "0";
  for (const std::string& body :
       {R"({"agent_id":"a","sequence":1,"sent_at_ms":5,"heartbeat_interval_s":60,"inventory":{"collected_at_ms":1,)"
        R"("memory":{"state":"collected","data":[)" + zeros + "]}}}",
        R"({"agent_id":"a","sequence":1,"sent_at_ms":5,"heartbeat_interval_s":60,"checks":[)" + zeros + "]}",
        R"({"agent_id":"a","sequence":1,"sent_at_ms":5,"heartbeat_interval_s":60,"series":[)" + zeros + "]}"}) {
    AllocationMeter m;
    auto r = decode<Report>(body, Format::json);
    const std::size_t used = m.bytes();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::too_large) << r.error().describe();
    EXPECT_LE(used, allowed(body.size()));
  }
}

TEST(WireBadInput, JsonErrorsNameThePath) {
  const std::string text = R"({"agent_id":"a","sequence":1,"sent_at_ms":5,"heartbeat_interval_s":60,
    "series":[{"metric":"m","points":[[1,2]]},{"metric":"n","points":[[1,"x"]]}]})";
  auto r = decode<Report>(text, Format::json);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::wrong_type);
  EXPECT_NE(r.error().message.find("series[1].points[0][1]"), std::string::npos) << r.error().message;
}

TEST(WireBadInput, DeepNestingIsRefused) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  auto r = decode<Report>(deep, Format::json);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::malformed);
}

TEST(WireBadInput, JsonEveryTruncationFailsCleanly) {
  const std::string good = encode(test::sample_report(), Format::json);
  for (std::size_t n = 0; n < good.size(); n += 7) {
    auto r = decode<Report>(std::string_view(good).substr(0, n), Format::json);
    ASSERT_FALSE(r) << n;
  }
}

TEST(WireValidation, RejectsWhatStructureCannot) {
  auto bad = [](auto mutate) {
    Report r = test::sample_report();
    mutate(r);
    auto d = decode<Report>(encode(r, Format::binary), Format::binary);
    return d ? std::string("accepted") : d.error().message;
  };
  EXPECT_NE(bad([](Report& r) { r.agent_id = ""; }).find("agent_id"), std::string::npos);
  EXPECT_NE(bad([](Report& r) { r.agent_id = "a b"; }).find("agent_id"), std::string::npos);
  EXPECT_NE(bad([](Report& r) { r.sequence = 0; }).find("sequence"), std::string::npos);
  EXPECT_NE(bad([](Report& r) { r.heartbeat_interval_s = 0; }).find("heartbeat"), std::string::npos);
  EXPECT_NE(bad([](Report& r) { std::swap(r.series[1].attributes[0], r.series[1].attributes[1]); }).find("sorted"),
            std::string::npos);
  EXPECT_NE(bad([](Report& r) { r.series[0].points[1].time_ms = r.series[0].points[0].time_ms; }).find("increase"),
            std::string::npos);
  EXPECT_NE(bad([](Report& r) { r.series[0].metric = "has space"; }).find("metric"), std::string::npos);
  EXPECT_NE(bad([](Report& r) { r.checks[0].state = static_cast<CheckState>(9); }).find("state"), std::string::npos);
  EXPECT_NE(bad([](Report& r) {
              r.inventory->cpu.state = SectionState::failed;
              r.inventory->cpu.data.reset();
            }).find("reason"),
            std::string::npos);
  EXPECT_NE(bad([](Report& r) { r.inventory->host.data.reset(); }).find("no data"), std::string::npos);
  EXPECT_NE(bad([](Report& r) { r.inventory_digest = "zz"; }).find("digest"), std::string::npos);
  EXPECT_EQ(bad([](Report& r) {
              r.inventory->cpu = {SectionState::failed, "permission denied", "", std::nullopt};
            }),
            "accepted");
}

}  // namespace
}  // namespace surveyor::wire
