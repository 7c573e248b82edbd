#include "HttpDate.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>

namespace hs {
namespace {

std::string format(time_t t) {
  char buf[kHttpDateLen];
  formatHttpDate(t, buf);
  return std::string(buf, kHttpDateLen);
}

struct KnownDate {
  int64_t t;
  const char* text;
};

constexpr KnownDate kKnownDates[] = {
    {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
    {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
    {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
    {946684799, "Fri, 31 Dec 1999 23:59:59 GMT"},
    {951827696, "Tue, 29 Feb 2000 12:34:56 GMT"},
    {951868800, "Wed, 01 Mar 2000 00:00:00 GMT"},
    {1709251199, "Thu, 29 Feb 2024 23:59:59 GMT"},
    {2147483647, "Tue, 19 Jan 2038 03:14:07 GMT"},
    {2147483648, "Tue, 19 Jan 2038 03:14:08 GMT"},
    {3155673600, "Tue, 31 Dec 2069 00:00:00 GMT"},
    {4107456000, "Sun, 28 Feb 2100 00:00:00 GMT"},
    {4107542400, "Mon, 01 Mar 2100 00:00:00 GMT"},
    {13574585228, "Tue, 29 Feb 2400 06:07:08 GMT"},
    {-2208988800, "Mon, 01 Jan 1900 00:00:00 GMT"},
    {-62135596800, "Mon, 01 Jan 0001 00:00:00 GMT"},
    {-62167219200, "Sat, 01 Jan 0000 00:00:00 GMT"},
    {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
};

TEST(HttpDateTest, FormatsKnownTimes) {
  for (const KnownDate& d : kKnownDates) {
    SCOPED_TRACE(d.text);
    EXPECT_EQ(format(static_cast<time_t>(d.t)), d.text);
  }
}

TEST(HttpDateTest, FormatWritesExactlyTheDateLength) {
  char buf[kHttpDateLen + 4];
  std::memset(buf, '#', sizeof buf);
  formatHttpDate(784111777, buf);
  EXPECT_EQ(std::string(buf, kHttpDateLen), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(std::string(buf + kHttpDateLen, 4), "####");
}

TEST(HttpDateTest, FormatClampsToFourDigitYears) {
  EXPECT_EQ(format(static_cast<time_t>(253402300800)), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(format(INT64_MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(format(static_cast<time_t>(-62167219201)), "Sat, 01 Jan 0000 00:00:00 GMT");
  EXPECT_EQ(format(INT64_MIN), "Sat, 01 Jan 0000 00:00:00 GMT");
}

TEST(HttpDateTest, ParsesKnownImfFixdates) {
  for (const KnownDate& d : kKnownDates) {
    SCOPED_TRACE(d.text);
    time_t t = 42;
    ASSERT_TRUE(parseHttpDate(d.text, &t));
    EXPECT_EQ(t, static_cast<time_t>(d.t));
  }
}

// Agrees with the C library (gmtime_r + strftime in the "C" locale) over a wide span of times.
TEST(HttpDateTest, FormatMatchesGmtimeAndRoundTrips) {
  uint64_t x = 88172645463325252ULL;  // xorshift64 state
  int checked = 0;
  for (int64_t t = -2208988800; t < 7258118400; t += 86400 * 3 + 3599) {  // 1900 .. 2200
    for (int k = 0; k < 2; ++k) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      const time_t when = static_cast<time_t>(k == 0 ? t : t + static_cast<int64_t>(x % 86400));
      struct tm tm;
      ASSERT_NE(gmtime_r(&when, &tm), nullptr);
      char expected[64];
      ASSERT_EQ(strftime(expected, sizeof expected, "%a, %d %b %Y %H:%M:%S GMT", &tm),
                kHttpDateLen);
      const std::string text = format(when);
      ASSERT_EQ(text, expected) << "t=" << when;
      time_t back = 0;
      ASSERT_TRUE(parseHttpDate(text, &back)) << text;
      ASSERT_EQ(back, when) << text;
      ++checked;
    }
  }
  EXPECT_GT(checked, 70000);
}

TEST(HttpDateTest, RoundTripsEverySecondAroundLeapDays) {
  // Midnight of 2000-02-28, 2024-02-28 and 2100-02-28.
  for (int64_t start : {951782400LL, 1709164800LL, 4107456000LL}) {
    for (int64_t t = start; t < start + 3 * 86400; t += 7) {
      time_t back = 0;
      ASSERT_TRUE(parseHttpDate(format(static_cast<time_t>(t)), &back)) << t;
      ASSERT_EQ(back, static_cast<time_t>(t));
    }
  }
}

struct ParseCase {
  const char* text;
  int64_t t;
};

TEST(HttpDateTest, ParsesObsoleteFormats) {
  constexpr ParseCase kCases[] = {
      {"Sunday, 06-Nov-94 08:49:37 GMT", 784111777},
      {"Thursday, 01-Jan-70 00:00:00 GMT", 0},
      {"Friday, 31-Dec-99 23:59:59 GMT", 946684799},
      {"Tuesday, 29-Feb-00 12:34:56 GMT", 951827696},
      {"Thursday, 29-Feb-24 23:59:59 GMT", 1709251199},
      {"Tuesday, 31-Dec-69 00:00:00 GMT", 3155673600},  // yy < 70 is 20yy
      {"Sun Nov  6 08:49:37 1994", 784111777},
      {"Sun Nov 06 08:49:37 1994", 784111777},  // date3 also allows 2DIGIT
      {"Thu Jan  1 00:00:00 1970", 0},
      {"Tue Feb 29 12:34:56 2000", 951827696},
      {"Mon Mar  1 00:00:00 2100", 4107542400},
      {"Sat, 31 Dec 2016 23:59:60 GMT", 1483228800},  // a leap second counts as the next second
  };
  for (const ParseCase& c : kCases) {
    SCOPED_TRACE(c.text);
    time_t t = 42;
    ASSERT_TRUE(parseHttpDate(c.text, &t));
    EXPECT_EQ(t, static_cast<time_t>(c.t));
  }
}

TEST(HttpDateTest, RejectsMalformedDates) {
  constexpr const char* kBad[] = {
      "",
      "Sun",
      "Sun,",
      "Sun, 06 Nov 1994 08:49:37 UTC",
      "Sun, 06 Nov 1994 08:49:37 gmt",
      "Sun, 06 Nov 1994 08:49:37",
      "Sun, 06 Nov 1994 08:49:37 GMTX",
      "Sun, 06 Nov 1994 08:49:37 GMT ",
      " Sun, 06 Nov 1994 08:49:37 GMT",
      "Sun,  06 Nov 1994 08:49:37 GMT",
      "sun, 06 Nov 1994 08:49:37 GMT",
      "SUN, 06 Nov 1994 08:49:37 GMT",
      "Sun, 06 nov 1994 08:49:37 GMT",
      "Sun, 06 Nvm 1994 08:49:37 GMT",
      "Sxn, 06 Nov 1994 08:49:37 GMT",
      "Mon, 06 Nov 1994 08:49:37 GMT",  // wrong weekday for the date
      "Sun, 6 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 94 08:49:37 GMT",
      "Sun, 06 Nov 01994 08:49:37 GMT",
      "Sun, 06 Nov 1994 8:49:37 GMT",
      "Sun, 06 Nov 1994 08:49 GMT",
      "Sun, 06 Nov 1994 08-49-37 GMT",
      "Sun, 06 Nov 1994 24:00:00 GMT",
      "Sun, 06 Nov 1994 08:60:00 GMT",
      "Sun, 06 Nov 1994 08:49:61 GMT",
      "Sun, 06 Nov 1994 08:49:99 GMT",
      "Sun, 00 Nov 1994 08:49:37 GMT",
      "Thu, 31 Nov 1994 08:49:37 GMT",
      "Mon, 29 Feb 2100 00:00:00 GMT",  // 2100 is not a leap year
      "Sun, 32 Jan 1995 00:00:00 GMT",
      "Sun, +6 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 08:49:3a GMT",
      "Sunday, 06 Nov 1994 08:49:37 GMT",  // long day name in IMF-fixdate
      "Sun, 06-Nov-94 08:49:37 GMT",       // short day name in RFC 850
      "Sunday, 06-Nov-1994 08:49:37 GMT",
      "Sunday, 06-Nov-94 08:49:37",
      "Sunday, 06 Nov 94 08:49:37 GMT",
      "Sunday 06-Nov-94 08:49:37 GMT",
      "Wednesday, 31-Dec-69 23:59:59 GMT",  // 1969's weekday, but "69" means 2069
      "Sun Nov 6 08:49:37 1994",
      "Sun Nov  6 08:49:37 94",
      "Sun Nov  6 08:49:37 1994 GMT",
      "Sun Nov   6 08:49:37 1994",
      "Sun Nov  6 08:49:37  1994",
      "Mon Nov  6 08:49:37 1994",
      "Sun Nov  6 25:49:37 1994",
      "Fri, 31 Dec 9999 23:59:60 GMT",  // would be year 10000
      "1994-11-06T08:49:37Z",
      "784111777",
  };
  for (const char* text : kBad) {
    SCOPED_TRACE(text);
    time_t t = 42;
    EXPECT_FALSE(parseHttpDate(text, &t));
    EXPECT_EQ(t, 42);
  }
}

TEST(HttpDateTest, RejectsEmbeddedNul) {
  const std::string text("Sun, 06 Nov 1994 08:49:37 GMT\0", 30);
  time_t t = 0;
  EXPECT_FALSE(parseHttpDate(text, &t));
  EXPECT_FALSE(parseHttpDate(std::string_view("Sun, 06 Nov 1994 08:49:37 GM", 29), &t));
}

}  // namespace
}  // namespace hs
