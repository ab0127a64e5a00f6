// SPDX-License-Identifier: Apache-2.0
// The core helpers: enumeration names, durations, clocks and time formats,
// hashes.
#include <gtest/gtest.h>

#include "surveyor/core/clock.hpp"
#include "surveyor/core/crypto.hpp"
#include "surveyor/core/duration.hpp"
#include "surveyor/core/names.hpp"

namespace surveyor::core {
namespace {

using namespace std::chrono_literals;

enum class Colour { red, green, blue };

TEST(Names, BothWaysFromOneTableWithAFallback) {
  constexpr Names<Colour, 2> kNames{{{{Colour::red, "red"}, {Colour::green, "green"}}}, "none"};
  static_assert(kNames.name(Colour::green) == "green", "usable at compile time");
  EXPECT_EQ(kNames.name(Colour::red), "red");
  EXPECT_EQ(kNames.name(Colour::blue), "none") << "not in the table";
  EXPECT_EQ(kNames.parse("green"), Colour::green);
  EXPECT_EQ(kNames.parse("Green"), std::nullopt) << "names are exact";
  EXPECT_EQ(kNames.parse(""), std::nullopt);
  for (const auto& [value, name] : kNames.table) EXPECT_EQ(kNames.parse(kNames.name(value)), value);
}

TEST(Duration, ParsesUnitsAndCombinations) {
  EXPECT_EQ(*parse_duration("500ms"), 500ms);
  EXPECT_EQ(*parse_duration("10s"), 10s);
  EXPECT_EQ(*parse_duration("1m"), 60s);
  EXPECT_EQ(*parse_duration("1h30m"), 90min);
  EXPECT_EQ(*parse_duration("2d"), 48h);
  EXPECT_EQ(*parse_duration("90"), 90s);
}

TEST(Duration, RefusesNonsense) {
  EXPECT_EQ(parse_duration("").error().code, DurationErrc::empty);
  EXPECT_EQ(parse_duration("ten").error().code, DurationErrc::bad_number);
  EXPECT_EQ(parse_duration("10y").error().code, DurationErrc::bad_unit);
  EXPECT_EQ(parse_duration("1m30").error().code, DurationErrc::bad_unit);
  EXPECT_EQ(parse_duration("-5s").error().code, DurationErrc::bad_number);
  EXPECT_EQ(parse_duration("99999999999999999999d").error().code, DurationErrc::overflow);
  EXPECT_EQ(parse_duration("9999999999999999d").error().code, DurationErrc::overflow);
}

TEST(Duration, FormatReadsBack) {
  for (std::chrono::milliseconds d : {0ms, 500ms, 10000ms, 90000ms, 3600000ms, 86400001ms}) {
    auto back = parse_duration(format_duration(d));
    ASSERT_TRUE(back) << format_duration(d);
    EXPECT_EQ(*back, d);
  }
  EXPECT_EQ(format_duration(90s), "1m30s");
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock c(from_unix_ms(1000));
  EXPECT_EQ(to_unix_ms(c.now()), 1000);
  c.advance(250ms);
  EXPECT_EQ(to_unix_ms(c.now()), 1250);
  c.set(from_unix_ms(5));
  EXPECT_EQ(to_unix_ms(c.now()), 5);
}

TEST(Clock, Rfc3339) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(1795000060123), "2026-11-18T11:07:40.123Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Clock, ParseTime) {
  EXPECT_EQ(parse_time("1795000060123"), 1795000060123);
  EXPECT_EQ(parse_time("2026-11-18T11:07:40.123Z"), 1795000060123);
  EXPECT_EQ(parse_time("2026-11-18T11:07:40Z"), 1795000060000);
  EXPECT_EQ(parse_time("2026-11-18T12:07:40+01:00"), 1795000060000);
  EXPECT_EQ(parse_time("2026-11-18T10:07:40.5-01:00"), 1795000060500);
  EXPECT_EQ(parse_time("1970-01-01T00:00:00Z"), 0);
  for (const char* bad : {"", "yesterday", "2026-11-18", "2026-13-01T00:00:00Z", "2026-11-18T11:07:40",
                          "2026-11-18T11:07:40.Z", "2026-11-18T11:07:40Zjunk", "99999999999999999999"})
    EXPECT_FALSE(parse_time(bad)) << bad;
  for (std::int64_t ms : {0LL, 1795000060123LL, 946684799999LL}) EXPECT_EQ(parse_time(format_rfc3339(ms)), ms);
}

TEST(Crypto, Sha256MatchesKnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// RFC 4231, test cases 1, 2 and 6 (a key longer than the block size).
TEST(Crypto, HmacSha256MatchesRfc4231) {
  EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256_hex(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Crypto, RandomHexIsRandomAndSized) {
  const std::string a = random_hex(16), b = random_hex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
}

}  // namespace
}  // namespace surveyor::core
