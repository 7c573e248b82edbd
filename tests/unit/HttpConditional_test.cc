#include "HttpConditional.h"

#include <gtest/gtest.h>

#include <string>

namespace hs {
namespace {

constexpr std::string_view kEtag = "\"v1\"";
constexpr time_t kLastModified = 784111777;
constexpr const char* kAt = "Sun, 06 Nov 1994 08:49:37 GMT";  // == kLastModified
constexpr const char* kBefore = "Sun, 06 Nov 1994 08:49:36 GMT";
constexpr const char* kAfter = "Sun, 06 Nov 1994 08:49:38 GMT";
constexpr const char* kBadDate = "Sun, 06 Nov 1994 08:49:37";

struct ListCase {
  const char* header;
  const char* etag;
  bool weakMatch;
  bool strongMatch;
};

TEST(HttpConditionalTest, EtagListMatching) {
  const ListCase kCases[] = {
      {"*", "\"abc\"", true, true},
      {"\"abc\"", "\"abc\"", true, true},
      {"W/\"abc\"", "\"abc\"", true, false},
      {"\"xyz\"", "\"abc\"", false, false},
      {"\"ABC\"", "\"abc\"", false, false},
      {"\"xyz\", \"abc\"", "\"abc\"", true, true},
      {"\"xyz\" ,\t\"abc\"", "\"abc\"", true, true},
      {"\"xyz\",W/\"abc\"", "\"abc\"", true, false},
      {"W/\"abc\", \"abc\"", "\"abc\"", true, true},
      {", ,\"abc\", ,", "\"abc\"", true, true},
      {"\"abc\",,,\"xyz\"", "\"abc\"", true, true},
      {"\"a,b\"", "\"a,b\"", true, true},  // ',' is an etagc
      {"\"a,b\"", "\"a\"", false, false},
      {"\"\"", "\"\"", true, true},
      {"\"\xE9t\xE9\"", "\"\xE9t\xE9\"", true, true},  // obs-text
      {"\"!#~\"", "\"!#~\"", true, true},
      // The server's own tag may be weak: then only the weak comparison can match.
      {"W/\"abc\"", "W/\"abc\"", true, false},
      {"\"abc\"", "W/\"abc\"", true, false},
      {"*", "W/\"abc\"", true, true},
  };
  for (const ListCase& c : kCases) {
    SCOPED_TRACE(std::string(c.header) + " vs " + c.etag);
    EXPECT_EQ(etagListMatches(c.header, c.etag, true), c.weakMatch);
    EXPECT_EQ(etagListMatches(c.header, c.etag, false), c.strongMatch);
  }
}

TEST(HttpConditionalTest, MalformedListsMatchNothing) {
  constexpr const char* kBad[] = {
      "",
      ",",
      " , ",
      "abc",
      "\"abc",
      "abc\"",
      "\"abc\"x",
      "\"abc\" \"xyz\"",
      "\"abc\", xyz",
      "xyz, \"abc\"",
      "\"abc\";",
      "w/\"abc\"",
      "W/ \"abc\"",
      "W/abc",
      "W/",
      "*, \"abc\"",
      "\"abc\", *",
      "**",
      "\"a b\"",
      "\"a\x7F\"",
      "\"a\tb\"",
      "\"abc\"\r\n",
  };
  for (const char* header : kBad) {
    SCOPED_TRACE(header);
    // The malformed element is built around the very tag being compared.
    for (const char* etag : {"\"abc\"", "\"a b\"", "\"a\x7F\"", "\"a\tb\""}) {
      EXPECT_FALSE(etagListMatches(header, etag, true));
      EXPECT_FALSE(etagListMatches(header, etag, false));
    }
  }
}

struct PreconditionCase {
  const char* comment;
  Preconditions p;
  bool isGetOrHead;
  int expected;
};

TEST(HttpConditionalTest, PreconditionPrecedence) {
  const PreconditionCase kCases[] = {
      {"no headers", {}, true, 0},
      {"no headers, POST", {}, false, 0},
      // Step 1: If-Match, strong comparison.
      {"If-Match equal", {"\"v1\"", "", "", ""}, true, 0},
      {"If-Match other", {"\"v2\"", "", "", ""}, true, 412},
      {"If-Match list", {"\"v2\", \"v1\"", "", "", ""}, true, 0},
      {"If-Match star", {"*", "", "", ""}, false, 0},
      {"If-Match weak tag", {"W/\"v1\"", "", "", ""}, true, 412},
      {"If-Match malformed", {"v1", "", "", ""}, true, 412},
      {"If-Match other, POST", {"\"v2\"", "", "", ""}, false, 412},
      // Step 2: If-Unmodified-Since, only without If-Match.
      {"IUS at", {"", "", "", kAt}, true, 0},
      {"IUS after", {"", "", "", kAfter}, true, 0},
      {"IUS before", {"", "", "", kBefore}, true, 412},
      {"IUS before, POST", {"", "", "", kBefore}, false, 412},
      {"IUS invalid date ignored", {"", "", "", kBadDate}, true, 0},
      {"If-Match beats IUS", {"\"v1\"", "", "", kBefore}, true, 0},
      {"If-Match fails despite IUS", {"\"v2\"", "", "", kAfter}, true, 412},
      // Step 3: If-None-Match, weak comparison.
      {"INM equal", {"", "\"v1\"", "", ""}, true, 304},
      {"INM equal, POST", {"", "\"v1\"", "", ""}, false, 412},
      {"INM weak tag", {"", "W/\"v1\"", "", ""}, true, 304},
      {"INM list", {"", "\"a\", W/\"v1\"", "", ""}, true, 304},
      {"INM star", {"", "*", "", ""}, true, 304},
      {"INM star, POST", {"", "*", "", ""}, false, 412},
      {"INM other", {"", "\"v2\"", "", ""}, true, 0},
      {"INM malformed", {"", "v1", "", ""}, true, 0},
      // Step 4: If-Modified-Since, only without If-None-Match and only for GET/HEAD.
      {"IMS at", {"", "", kAt, ""}, true, 304},
      {"IMS after", {"", "", kAfter, ""}, true, 304},
      {"IMS before", {"", "", kBefore, ""}, true, 0},
      {"IMS rfc850", {"", "", "Sunday, 06-Nov-94 08:49:37 GMT", ""}, true, 304},
      {"IMS asctime", {"", "", "Sun Nov  6 08:49:37 1994", ""}, true, 304},
      {"IMS invalid date ignored", {"", "", kBadDate, ""}, true, 0},
      {"IMS ignored for POST", {"", "", kAt, ""}, false, 0},
      {"INM mismatch beats IMS", {"", "\"v2\"", kAt, ""}, true, 0},
      {"malformed INM still beats IMS", {"", "v1", kAt, ""}, true, 0},
      {"INM match despite old IMS", {"", "\"v1\"", kBefore, ""}, true, 304},
      // Steps in order: a failed 412 check comes before any 304.
      {"If-Match fails before INM", {"\"v2\"", "\"v1\"", "", ""}, true, 412},
      {"If-Match passes, INM matches", {"\"v1\"", "\"v1\"", "", ""}, true, 304},
      {"If-Match passes, INM matches, POST", {"\"v1\"", "\"v1\"", "", ""}, false, 412},
      {"IUS fails before INM", {"", "\"v1\"", "", kBefore}, true, 412},
      {"IUS fails before IMS", {"", "", kAt, kBefore}, true, 412},
      {"IUS passes, IMS matches", {"", "", kAt, kAt}, true, 304},
      {"all pass, INM mismatch", {"\"v1\"", "\"v2\"", kAt, kBefore}, true, 0},
      {"all four, INM match", {"*", "*", kBefore, kAfter}, true, 304},
  };
  for (const PreconditionCase& c : kCases) {
    SCOPED_TRACE(c.comment);
    EXPECT_EQ(evaluatePreconditions(c.p, kEtag, kLastModified, c.isGetOrHead), c.expected);
  }
}

struct IfRangeCase {
  const char* ifRange;
  const char* etag;
  bool allows;
};

TEST(HttpConditionalTest, IfRange) {
  const IfRangeCase kCases[] = {
      {"\"v1\"", "\"v1\"", true},
      {"\"v2\"", "\"v1\"", false},
      {"\"V1\"", "\"v1\"", false},
      {"W/\"v1\"", "\"v1\"", false},  // weak tags never validate a range
      {"\"v1\"", "W/\"v1\"", false},
      {"W/\"v1\"", "W/\"v1\"", false},
      {"\"v1\"x", "\"v1\"", false},
      {"\"v1\", \"v2\"", "\"v1\"", false},  // a single tag, not a list
      {"\"v1", "\"v1\"", false},
      {kAt, "\"v1\"", true},
      {"Sunday, 06-Nov-94 08:49:37 GMT", "\"v1\"", true},
      {"Sun Nov  6 08:49:37 1994", "\"v1\"", true},
      {kBefore, "\"v1\"", false},  // only an exact match allows the range
      {kAfter, "\"v1\"", false},
      {kBadDate, "\"v1\"", false},
      {"v1", "v1", false},
      {"", "\"v1\"", false},
  };
  for (const IfRangeCase& c : kCases) {
    SCOPED_TRACE(std::string(c.ifRange) + " vs " + c.etag);
    EXPECT_EQ(ifRangeAllows(c.ifRange, c.etag, kLastModified), c.allows);
  }
}

}  // namespace
}  // namespace hs
