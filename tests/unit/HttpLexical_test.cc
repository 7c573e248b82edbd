#include "HttpLexical.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hs {
namespace {

// The helpers are constexpr: a few hold at compile time too.
static_assert(isTchar('!') && !isTchar(' ') && !isTchar('"'));
static_assert(hexValue('f') == 15 && hexValue('G') == -1);
static_assert(equalsIgnoreCase("Keep-Alive", "keep-ALIVE"));
static_assert(trimOws(" \t x y\t ") == "x y");

TEST(HttpLexicalTest, TokenCharsAreExactlyRfc9110) {
  const std::string_view kDelimiters = "\"(),/:;<=>?@[\\]{}";
  for (unsigned c = 0; c < 256; ++c) {
    SCOPED_TRACE(c);
    const auto u = static_cast<unsigned char>(c);
    const bool visible = c > 0x20 && c < 0x7F;
    const bool delimiter = kDelimiters.find(static_cast<char>(c)) != std::string_view::npos;
    EXPECT_EQ(isTchar(u), visible && !delimiter);
  }
}

TEST(HttpLexicalTest, FieldValueAndQuotedStringBytes) {
  for (unsigned c = 0; c < 256; ++c) {
    SCOPED_TRACE(c);
    const auto u = static_cast<unsigned char>(c);
    const bool value = c == '\t' || (c >= 0x20 && c != 0x7F);
    EXPECT_EQ(isFieldValueByte(u), value);
    EXPECT_EQ(isQdtext(u), value && c != '"' && c != '\\');
    EXPECT_EQ(isOws(u), c == ' ' || c == '\t');
  }
}

TEST(HttpLexicalTest, IsToken) {
  struct Case {
    const char* comment;
    std::string_view s;
    bool token;
  };
  const Case kCases[] = {
      {"empty", "", false},
      {"word", "chunked", true},
      {"symbols", "!#$%&'*+-.^_`|~", true},
      {"space", "a b", false},
      {"separator", "a;b", false},
      {"quote", "\"a\"", false},
      {"high byte", "a\x80", false},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.comment);
    EXPECT_EQ(isToken(c.s), c.token);
  }
}

TEST(HttpLexicalTest, HexValue) {
  for (unsigned c = 0; c < 256; ++c) {
    SCOPED_TRACE(c);
    int want = -1;
    if (c >= '0' && c <= '9') want = static_cast<int>(c - '0');
    if (c >= 'a' && c <= 'f') want = static_cast<int>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') want = static_cast<int>(c - 'A' + 10);
    EXPECT_EQ(hexValue(static_cast<unsigned char>(c)), want);
    if (want >= 0) {
      EXPECT_EQ(hexValue(static_cast<unsigned char>(kHexDigitsUpper[want])), want);
    }
  }
}

TEST(HttpLexicalTest, CaseInsensitiveComparison) {
  struct Case {
    const char* comment;
    std::string_view a, b;
    bool equal, prefix;  // a == b, a starts with b
  };
  const Case kCases[] = {
      {"same", "close", "close", true, true},
      {"mixed case", "CloSE", "cLOse", true, true},
      {"lower-case constant", "Content-LENGTH", "content-length", true, true},
      {"shorter", "clos", "close", false, false},
      {"prefix", "bytes=0-1", "BYTES=", false, true},
      {"empty both", "", "", true, true},
      {"empty prefix", "x", "", false, true},
      // Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ by the case bit and stay apart.
      {"not letters", "@", "`", false, false},
      {"high bytes exact", "\xC4", "\xE4", false, false},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.comment);
    EXPECT_EQ(equalsIgnoreCase(c.a, c.b), c.equal);
    EXPECT_EQ(equalsIgnoreCase(c.b, c.a), c.equal);
    EXPECT_EQ(startsWithIgnoreCase(c.a, c.b), c.prefix);
    if (std::all_of(c.b.begin(), c.b.end(), [](char ch) { return ch < 'A' || ch > 'Z'; })) {
      EXPECT_EQ(equalsLowerCase(c.a, c.b), c.equal);
    }
  }
}

TEST(HttpLexicalTest, HttpSchemeLength) {
  struct Case {
    const char* comment;
    std::string_view target;
    size_t length;
  };
  const Case kCases[] = {
      {"origin form", "/a/b", 0},       {"http", "http://b.test/x", 7},
      {"https", "https://b.test", 8},   {"upper case", "HTTP://B.TEST/", 7},
      {"scheme only", "http://", 7},    {"other scheme", "ftp://b.test/", 0},
      {"no slashes", "http:b.test", 0}, {"empty", "", 0},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.comment);
    EXPECT_EQ(httpSchemeLength(c.target), c.length);
  }
}

TEST(HttpLexicalTest, TrimOws) {
  struct Case {
    const char* comment;
    std::string_view in, trimmed, leading;
  };
  const Case kCases[] = {
      {"none", "a b", "a b", "a b"},
      {"both sides", " \ta b\t ", "a b", "a b\t "},
      {"only ows", " \t ", "", ""},
      {"empty", "", "", ""},
      {"other whitespace kept", "\r a \n", "\r a \n", "\r a \n"},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.comment);
    EXPECT_EQ(trimOws(c.in), c.trimmed);
    EXPECT_EQ(trimLeadingOws(c.in), c.leading);
  }
}

TEST(HttpLexicalTest, ForEachListElement) {
  struct Case {
    const char* comment;
    std::string_view list;
    std::vector<std::string> elements;
  };
  const Case kCases[] = {
      {"one", "gzip", {"gzip"}},
      {"trimmed", " a ,\tb\t", {"a", "b"}},
      {"empty elements kept", ", ,a", {"", "", "a"}},
      {"empty list", "", {""}},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.comment);
    std::vector<std::string> got;
    EXPECT_TRUE(forEachListElement(c.list, [&got](std::string_view e) {
      got.emplace_back(e);
      return true;
    }));
    EXPECT_EQ(got, c.elements);
  }
  int calls = 0;
  EXPECT_FALSE(forEachListElement("a,b,c", [&calls](std::string_view e) {
    ++calls;
    return e != "b";
  }));
  EXPECT_EQ(calls, 2) << "stops at the first false";
}

struct NumberCase {
  const char* comment;
  std::string_view s;
  uint64_t max;
  bool ok;
  uint64_t value;
};

TEST(HttpLexicalTest, ParseDecimal) {
  const NumberCase kCases[] = {
      {"zero", "0", UINT64_MAX, true, 0},
      {"leading zeros", "007", UINT64_MAX, true, 7},
      {"largest", "18446744073709551615", UINT64_MAX, true, UINT64_MAX},
      {"one past largest", "18446744073709551616", UINT64_MAX, false, 0},
      {"far past largest", "99999999999999999999999", UINT64_MAX, false, 0},
      {"int64 max", "9223372036854775807", INT64_MAX, true, INT64_MAX},
      {"int64 max + 1", "9223372036854775808", INT64_MAX, false, 0},
      {"at small max", "5", 5, true, 5},
      {"digit above small max", "7", 5, false, 0},
      {"above small max", "10", 9, false, 0},
      {"empty", "", UINT64_MAX, false, 0},
      {"sign", "+1", UINT64_MAX, false, 0},
      {"minus", "-1", UINT64_MAX, false, 0},
      {"space", " 1", UINT64_MAX, false, 0},
      {"hex digit", "1a", UINT64_MAX, false, 0},
  };
  for (const NumberCase& c : kCases) {
    SCOPED_TRACE(c.comment);
    uint64_t v = 12345;
    EXPECT_EQ(parseDecimal(c.s, &v, c.max), c.ok);
    EXPECT_EQ(v, c.ok ? c.value : 12345) << "untouched on failure";
  }
  EXPECT_TRUE(isDigits("18446744073709551616"));
  EXPECT_FALSE(isDigits(""));
  EXPECT_FALSE(isDigits("1 "));
}

TEST(HttpLexicalTest, ParseHex) {
  const NumberCase kCases[] = {
      {"zero", "0", UINT64_MAX, true, 0},
      {"both cases", "aB", UINT64_MAX, true, 0xAB},
      {"largest", "ffffffffffffffff", UINT64_MAX, true, UINT64_MAX},
      {"leading zeros", "0000000000000000001", UINT64_MAX, true, 1},
      {"overflow", "10000000000000000", UINT64_MAX, false, 0},
      {"above max", "100", 0xFF, false, 0},
      {"at max", "ff", 0xFF, true, 0xFF},
      {"empty", "", UINT64_MAX, false, 0},
      {"not hex", "g", UINT64_MAX, false, 0},
      {"prefix", "0x1", UINT64_MAX, false, 0},
  };
  for (const NumberCase& c : kCases) {
    SCOPED_TRACE(c.comment);
    uint64_t v = 12345;
    EXPECT_EQ(parseHex(c.s, &v, c.max), c.ok);
    EXPECT_EQ(v, c.ok ? c.value : 12345);
  }
}

}  // namespace
}  // namespace hs
