// SPDX-License-Identifier: Apache-2.0
// Text for people: the command line's tables and the collector's text
// capacity report both print through these, so their shape is pinned here.
#include <gtest/gtest.h>

#include <cmath>

#include "surveyor/text/csv.hpp"
#include "surveyor/text/human_value.hpp"
#include "surveyor/text/table.hpp"

namespace surveyor::text {
namespace {

TEST(Csv, FieldsAreQuotedOnlyWhenRfc4180SaysSo) {
  EXPECT_EQ(csv_field("plain text"), "plain text");
  EXPECT_EQ(csv_field(""), "");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field("cr\r"), "\"cr\r\"");
}

TEST(HumanValue, UnitsMadeReadable) {
  EXPECT_EQ(human_value(0.218, "1"), "21.8 %");
  EXPECT_EQ(human_value(512, "By"), "512 B");
  EXPECT_EQ(human_value(3.5 * 1024 * 1024 * 1024, "By"), "3.50 GiB");
  EXPECT_EQ(human_value(42, "s"), "42 s");
}

TEST(HumanValue, EdgesOfTheScale) {
  EXPECT_EQ(human_value(1023, "By"), "1023 B");
  EXPECT_EQ(human_value(-2048, "By"), "-2.00 KiB");
  // Past PiB the number grows rather than the prefix running off the end.
  EXPECT_EQ(human_value(4096.0 * 1024 * 1024 * 1024 * 1024 * 1024, "By"), "4096.00 PiB");
  EXPECT_EQ(human_value(std::nan(""), "By"), "NaN");
  EXPECT_EQ(human_value(7, ""), "7");
}

TEST(Table, ColumnsAlignWithoutTrailingBlanks) {
  EXPECT_EQ(table({"ID", "NAME"}, {{"host-1", "web01"}, {"h", ""}}),
            "ID      NAME\n"
            "host-1  web01\n"
            "h\n");
}

TEST(Table, ShortRowsLeaveCellsEmptyAndExtraCellsAreDropped) {
  EXPECT_EQ(table({"A", "B", "C"}, {{"x"}, {"1", "2", "3", "4"}}),
            "A  B  C\n"
            "x\n"
            "1  2  3\n");
  EXPECT_EQ(table({"ONLY"}, {}), "ONLY\n");
}

}  // namespace
}  // namespace surveyor::text
