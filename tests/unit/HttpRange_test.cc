#include "HttpRange.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hs {
namespace {

constexpr int kMaxRanges = 8;
constexpr uint64_t kMax = UINT64_MAX;

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

struct RangeCase {
  const char* value;
  uint64_t size;
  RangeResult result;
  Ranges ranges;  // expected when kSatisfiable
};

const char* name(RangeResult r) {
  switch (r) {
    case RangeResult::kIgnore:
      return "kIgnore";
    case RangeResult::kSatisfiable:
      return "kSatisfiable";
    case RangeResult::kUnsatisfiable:
      return "kUnsatisfiable";
  }
  return "?";
}

// Runs one case with an output array of exactly maxRanges entries (so ASan sees any overrun).
void check(const RangeCase& c, int maxRanges = kMaxRanges) {
  SCOPED_TRACE(std::string("\"") + c.value + "\" size " + std::to_string(c.size));
  std::vector<ByteRange> out(static_cast<size_t>(maxRanges));
  int count = -1;
  const RangeResult r = parseRange(c.value, c.size, out.data(), maxRanges, &count);
  ASSERT_EQ(name(r), name(c.result));
  if (r != RangeResult::kSatisfiable) {
    EXPECT_EQ(count, 0);
    return;
  }
  Ranges got;
  for (int i = 0; i < count; ++i)
    got.emplace_back(out[static_cast<size_t>(i)].first, out[static_cast<size_t>(i)].last);
  EXPECT_EQ(got, c.ranges);
}

constexpr RangeResult kIgnore = RangeResult::kIgnore;
constexpr RangeResult kOk = RangeResult::kSatisfiable;
constexpr RangeResult kUnsat = RangeResult::kUnsatisfiable;

TEST(HttpRangeTest, SingleRangeForms) {
  const RangeCase kCases[] = {
      {"bytes=0-499", 10000, kOk, {{0, 499}}},
      {"bytes=500-999", 10000, kOk, {{500, 999}}},
      {"bytes=9999-9999", 10000, kOk, {{9999, 9999}}},
      {"bytes=9500-", 10000, kOk, {{9500, 9999}}},
      {"bytes=0-", 10000, kOk, {{0, 9999}}},
      {"bytes=-500", 10000, kOk, {{9500, 9999}}},
      {"bytes=-1", 10000, kOk, {{9999, 9999}}},
      {"bytes=-10000", 10000, kOk, {{0, 9999}}},
      {"bytes=-20000", 10000, kOk, {{0, 9999}}},   // longer suffix: the whole representation
      {"bytes=0-99999", 10000, kOk, {{0, 9999}}},  // last-pos clipped
      {"bytes=9000-10000", 10000, kOk, {{9000, 9999}}},
      {"bytes=007-0010", 10000, kOk, {{7, 10}}},  // leading zeros are still 1*DIGIT
      {"bytes=0-18446744073709551615", 10000, kOk, {{0, 9999}}},
      {"bytes=-18446744073709551615", 10000, kOk, {{0, 9999}}},
      {"bytes=10000-", 10000, kUnsat, {}},
      {"bytes=10000-10005", 10000, kUnsat, {}},
      {"bytes=18446744073709551615-", 10000, kUnsat, {}},
      {"bytes=-0", 10000, kUnsat, {}},
      {"bytes=-000", 10000, kUnsat, {}},
  };
  for (const RangeCase& c : kCases) check(c);
}

TEST(HttpRangeTest, UnitIsCaseInsensitive) {
  const RangeCase kCases[] = {
      {"Bytes=0-1", 10000, kOk, {{0, 1}}},
      {"BYTES=0-1", 10000, kOk, {{0, 1}}},
      {"bYtEs=0-1", 10000, kOk, {{0, 1}}},
  };
  for (const RangeCase& c : kCases) check(c);
}

TEST(HttpRangeTest, ListWhitespaceAndEmptyElements) {
  const RangeCase kCases[] = {
      {"bytes=0-1 , 3-4", 10000, kOk, {{0, 1}, {3, 4}}},
      {"bytes=0-1,\t3-4", 10000, kOk, {{0, 1}, {3, 4}}},
      {"bytes=0-1,3-4", 10000, kOk, {{0, 1}, {3, 4}}},
      {"bytes= 0-1 ", 10000, kOk, {{0, 1}}},
      {"bytes=, ,0-1, ,", 10000, kOk, {{0, 1}}},
      {"bytes=,0-1", 10000, kOk, {{0, 1}}},
      {"bytes=0-1,,,,3-4", 10000, kOk, {{0, 1}, {3, 4}}},
  };
  for (const RangeCase& c : kCases) check(c);
}

TEST(HttpRangeTest, MultipleRangesKeepRequestOrderUnlessMerged) {
  const RangeCase kCases[] = {
      {"bytes=0-0,-1", 10000, kOk, {{0, 0}, {9999, 9999}}},
      {"bytes=9000-9999, 0-99", 10000, kOk, {{9000, 9999}, {0, 99}}},
      {"bytes=500-600,601-999", 10000, kOk, {{500, 999}}},  // adjacent
      {"bytes=601-999,500-600", 10000, kOk, {{500, 999}}},
      {"bytes=500-700,601-999", 10000, kOk, {{500, 999}}},  // overlapping
      {"bytes=0-9999,100-200", 10000, kOk, {{0, 9999}}},    // contained
      {"bytes=5-5,5-5", 10000, kOk, {{5, 5}}},
      {"bytes=-100,9000-", 10000, kOk, {{9000, 9999}}},
      {"bytes=0-1,5-6,2-3", 10000, kOk, {{0, 3}, {5, 6}}},  // once merged, file order
      {"bytes=9000-9999, 0-99, 50-150", 10000, kOk, {{0, 150}, {9000, 9999}}},
      {"bytes=0-0,2-2,4-4,6-6,1-1,3-3,5-5", 10000, kOk, {{0, 6}}},
      {"bytes=10000-, 5-5", 10000, kOk, {{5, 5}}},  // the unsatisfiable one is dropped
      {"bytes=-0, 10000-, 20000-30000", 10000, kUnsat, {}},
  };
  for (const RangeCase& c : kCases) check(c);
}

TEST(HttpRangeTest, InvalidSyntaxIsIgnored) {
  constexpr const char* kBad[] = {
      "",
      "bytes",
      "bytes=",
      "bytes=,",
      "bytes= , ",
      "bytes=a-b",
      "bytes=0-b",
      "bytes=a-1",
      "items=0-1",
      "bytesx=0-1",
      "byte=0-1",
      "bytes=5-1",
      "bytes=0-1, 5-1",  // one invalid spec spoils the header
      "bytes=--1",
      "bytes=-",
      "bytes=1",
      "bytes=0-1-2",
      "bytes=+1-2",
      "bytes=1-+2",
      "bytes=0x10-20",
      "bytes=-1-2",
      "bytes 0-1",
      "bytes =0-1",
      "bytes==0-1",
      "bytes=0 -1",
      "bytes=0- 1",
      "bytes=0-1;",
      "bytes=0-1,a",
      "bytes=0-1 2-3",
      "bytes=0-1\r\n",
      "bytes=18446744073709551616-",
      "bytes=0-18446744073709551616",
      "bytes=-18446744073709551616",
      "bytes=99999999999999999999999999-",
  };
  for (const char* value : kBad) {
    for (uint64_t size : {uint64_t{10000}, uint64_t{0}, uint64_t{1}})
      check({value, size, kIgnore, {}});
  }
}

// Zero bytes: no range-spec can name a byte, so even "-N" is unsatisfiable.
TEST(HttpRangeTest, EmptyRepresentation) {
  const RangeCase kCases[] = {
      {"bytes=0-", 0, kUnsat, {}},        // first-pos 0 is not below the size
      {"bytes=0-0", 0, kUnsat, {}},       // same
      {"bytes=-1", 0, kUnsat, {}},        // RFC 9110 calls this satisfiable; see HttpRange.cc
      {"bytes=-0", 0, kUnsat, {}},        // empty suffix
      {"bytes=0-10, -5", 0, kUnsat, {}},  // a list of them
      {"bytes=5-1", 0, kIgnore, {}},      // syntax is checked first
  };
  for (const RangeCase& c : kCases) check(c);
}

TEST(HttpRangeTest, OneByteRepresentation) {
  const RangeCase kCases[] = {
      {"bytes=0-", 1, kOk, {{0, 0}}},          // open-ended
      {"bytes=0-0", 1, kOk, {{0, 0}}},         // exact
      {"bytes=0-5", 1, kOk, {{0, 0}}},         // clipped
      {"bytes=-1", 1, kOk, {{0, 0}}},          // suffix of the whole
      {"bytes=-5", 1, kOk, {{0, 0}}},          // longer suffix
      {"bytes=0-0,0-0,-1", 1, kOk, {{0, 0}}},  // all merged
      {"bytes=1-", 1, kUnsat, {}},             // past the end
      {"bytes=-0", 1, kUnsat, {}},             // empty suffix
  };
  for (const RangeCase& c : kCases) check(c);
}

TEST(HttpRangeTest, HugeRepresentation) {
  const RangeCase kCases[] = {
      {"bytes=0-", kMax, kOk, {{0, kMax - 1}}},
      {"bytes=-1", kMax, kOk, {{kMax - 1, kMax - 1}}},
      {"bytes=18446744073709551614-", kMax, kOk, {{kMax - 1, kMax - 1}}},
      {"bytes=18446744073709551615-", kMax, kUnsat, {}},
      {"bytes=0-18446744073709551615", kMax, kOk, {{0, kMax - 1}}},
      {"bytes=0-9,-18446744073709551615", kMax, kOk, {{0, kMax - 1}}},
      {"bytes=0-9,18446744073709551613-", kMax, kOk, {{0, 9}, {kMax - 2, kMax - 1}}},
  };
  for (const RangeCase& c : kCases) check(c);
}

// Every range-spec counts, satisfiable or not, so a header cannot make the server do more work
// than maxRanges allows; empty list elements do not count.
TEST(HttpRangeTest, TooManyRangesAreIgnored) {
  check({"bytes=0-0,2-2,4-4,6-6", 10000, kOk, {{0, 0}, {2, 2}, {4, 4}, {6, 6}}}, 4);
  check({"bytes=0-0,,2-2, ,4-4,6-6,", 10000, kOk, {{0, 0}, {2, 2}, {4, 4}, {6, 6}}}, 4);
  check({"bytes=0-0,2-2,4-4,6-6,8-8", 10000, kIgnore, {}}, 4);
  check({"bytes=0-0,0-0,0-0,0-0,0-0", 10000, kIgnore, {}}, 4);  // counted before merging
  check({"bytes=10000-,10001-,10002-,10003-,10004-", 10000, kIgnore, {}}, 4);
  check({"bytes=0-0", 10000, kOk, {{0, 0}}}, 1);
  check({"bytes=0-0,5-5", 10000, kIgnore, {}}, 1);
  check({"bytes=0-0", 10000, kIgnore, {}}, 0);
}

TEST(HttpRangeTest, ManyRangesUpToALargeLimit) {
  constexpr int kLimit = 200;
  std::string value = "bytes=";
  Ranges expected;
  for (int i = 0; i < kLimit; ++i) {
    const uint64_t first = static_cast<uint64_t>(kLimit - 1 - i) * 10;  // descending, disjoint
    value += std::to_string(first) + "-" + std::to_string(first + 4) + (i + 1 < kLimit ? ", " : "");
    expected.emplace_back(first, first + 4);
  }
  check({value.c_str(), 10000, kOk, expected}, kLimit);
  check({value.c_str(), 10000, kIgnore, {}}, kLimit - 1);
  const std::string merged = value + ", 0-";
  check({merged.c_str(), 10000, kOk, {{0, 9999}}}, kLimit + 1);
}

}  // namespace
}  // namespace hs
