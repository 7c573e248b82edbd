#include "UrlPath.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace hs {
namespace {

constexpr size_t kCap = 256;

struct NormalizeCase {
  std::string_view target;
  int status;
  std::string_view out;
  bool trailingSlash;
};

void expectNormalizes(const NormalizeCase& c, size_t cap = kCap) {
  std::string traced(c.target);
  SCOPED_TRACE(testing::Message() << "target \"" << traced << "\" cap " << cap);
  char out[kCap + 1];
  UrlPathResult r = normalizeTarget(c.target, out, cap);
  ASSERT_EQ(r.status, c.status);
  if (c.status != 0) return;
  ASSERT_LE(r.len, cap);
  EXPECT_EQ(std::string_view(out, r.len), c.out);
  EXPECT_EQ(r.trailingSlash, c.trailingSlash);
}

constexpr NormalizeCase kPlainCases[] = {
    {"/", 0, "", true},
    {"/index.html", 0, "index.html", false},
    {"/dir", 0, "dir", false},
    {"/dir/", 0, "dir", true},
    {"/a/b/c.txt", 0, "a/b/c.txt", false},
    {"/a?x=1", 0, "a", false},
    {"/a/?x=1", 0, "a", true},
    {"/?", 0, "", true},
    {"/a#frag", 0, "a", false},
    {"/a?b/../../.git", 0, "a", false},
    {"/a?%00", 0, "a", false},
    {"/a//b", 0, "a/b", false},
    {"//a///b//", 0, "a/b", true},
    {"/a/./b", 0, "a/b", false},
    {"/a/.", 0, "a", true},
    {"/.", 0, "", true},
    {"/./", 0, "", true},
    {"/a/b/../c", 0, "a/c", false},
    {"/a/b/..", 0, "a", true},
    {"/a/..", 0, "", true},
    {"/a/../", 0, "", true},
    {"/a/b/../../c/", 0, "c", true},
    {"/a;b=c/d", 0, "a;b=c/d", false},
    {"/file.tar.gz", 0, "file.tar.gz", false},
};

constexpr NormalizeCase kTraversalCases[] = {
    {"/..", 0, "", true},
    {"/../", 0, "", true},
    {"/../../etc/passwd", 0, "etc/passwd", false},
    {"/%2e%2e/%2e%2e/etc/passwd", 0, "etc/passwd", false},
    {"/%2E%2E/%2e%2E/etc/passwd", 0, "etc/passwd", false},
    {"/.%2e/etc/passwd", 0, "etc/passwd", false},
    {"/%2e./etc/passwd", 0, "etc/passwd", false},
    {"/a/b/../../../x", 0, "x", false},
    {"/a/%2e/b", 0, "a/b", false},
    {"/a/.%2e/b", 0, "b", false},
    {"/a/b/%2e%2e", 0, "a", true},
    {"/.git/../index.html", 0, "index.html", false},
    {"/a/../../../../../../../../etc/shadow", 0, "etc/shadow", false},
    {"/..%2fetc", 400, "", false},
    {"/..%2Fetc/passwd", 400, "", false},
    {"/%2e%2e%2f%2e%2e%2fetc", 400, "", false},
    {"/a/%2F", 400, "", false},
    {"/a%5c..%5cb", 400, "", false},
    {"/a%5C..%5Cb", 400, "", false},
    {"/a\\b", 400, "", false},
    {"/..\\..\\etc\\passwd", 400, "", false},
    {"/%00", 400, "", false},
    {"/a%00.html", 400, "", false},
    {"/a/..%00/b", 400, "", false},
    {"/%252e%252e/x", 0, "%2e%2e/x", false},  // decoded once only
    {"/%252f", 0, "%2f", false},
};

constexpr NormalizeCase kEscapeCases[] = {
    {"/%41", 0, "A", false},
    {"/%7e%7E", 0, "~~", false},
    {"/%20file", 0, " file", false},
    {"/caf%C3%A9.html", 0, "caf\xC3\xA9.html", false},
    {"/caf%c3%a9", 0, "caf\xC3\xA9", false},
    {"/caf\xC3\xA9", 0, "caf\xC3\xA9", false},
    {"/%FF", 0, "\xFF", false},
    {"/%25", 0, "%", false},
    {"/%3F", 0, "?", false},
    {"/%", 400, "", false},
    {"/a%", 400, "", false},
    {"/%4", 400, "", false},
    {"/%4/", 400, "", false},
    {"/%G1", 400, "", false},
    {"/%4g", 400, "", false},
    {"/%%41", 400, "", false},
    {"/% 41", 400, "", false},
    {"/%0a", 400, "", false},
    {"/%0D", 400, "", false},
    {"/%1F", 400, "", false},
    {"/%7F", 400, "", false},
    {"/a\x7F", 400, "", false},
    {"/a\tb", 400, "", false},
    {"/a\r\nb", 400, "", false},
};

constexpr NormalizeCase kHiddenCases[] = {
    {"/.git/config", 404, "", false},
    {"/.git/", 404, "", false},
    {"/.htpasswd", 404, "", false},
    {"/a/.hidden/b", 404, "", false},
    {"/a/.hidden", 404, "", false},
    {"/%2egit/config", 404, "", false},
    {"/...", 404, "", false},
    {"/a/.../b", 404, "", false},
    {"/a/..%2e/b", 404, "", false},
    {"/a/.. /b", 404, "", false},
    {"/.well-known/acme-challenge/t", 0, ".well-known/acme-challenge/t", false},
    {"/.well-known/", 0, ".well-known", true},
    {"/%2ewell-known/x", 0, ".well-known/x", false},
    {"/.well-known/.x", 404, "", false},
    {"/.Well-Known/x", 404, "", false},
    {"/.well-known2/x", 404, "", false},
    {"/a/.well-known", 0, "a/.well-known", false},
};

constexpr NormalizeCase kFormCases[] = {
    {"http://example.com/a/b?q=1", 0, "a/b", false},
    {"HTTP://example.com/a", 0, "a", false},
    {"HtTpS://example.com:8443/x/", 0, "x", true},
    {"https://user@example.com/x", 400, "", false},  // userinfo: an error (RFC 9110 4.2.4)
    {"http://[::1]:8080/x", 0, "x", false},
    {"http://example.com:80/x", 0, "x", false},
    {"http://[::1/x", 400, "", false},
    {"http://:80/x", 400, "", false},
    {"http://host:8o/x", 400, "", false},
    {"http://example.com", 0, "", true},
    {"http://example.com:80", 0, "", true},
    {"http://example.com?x=1", 0, "", true},
    {"http://example.com#f", 0, "", true},
    {"http://example.com/../../etc/passwd", 0, "etc/passwd", false},
    {"http://example.com/.git/config", 404, "", false},
    {"http://example.com/a%2fb", 400, "", false},
    {"http://", 400, "", false},
    {"http:///a", 400, "", false},
    {"http://?x", 400, "", false},
    {"http:/a", 400, "", false},
    {"http:a", 400, "", false},
    {"ftp://example.com/a", 400, "", false},
    {"httpx://example.com/a", 400, "", false},
    {"*", 400, "", false},
    {"example.com:443", 400, "", false},
    {"", 400, "", false},
    {"a/b", 400, "", false},
    {"?x", 400, "", false},
    {".", 400, "", false},
};

TEST(UrlPathTest, NormalizesPlainPaths) {
  for (const NormalizeCase& c : kPlainCases) expectNormalizes(c);
}

TEST(UrlPathTest, DefeatsTraversal) {
  for (const NormalizeCase& c : kTraversalCases) expectNormalizes(c);
}

TEST(UrlPathTest, DecodesEscapesOnce) {
  for (const NormalizeCase& c : kEscapeCases) expectNormalizes(c);
}

TEST(UrlPathTest, RefusesHiddenSegmentsExceptWellKnown) {
  for (const NormalizeCase& c : kHiddenCases) expectNormalizes(c);
}

TEST(UrlPathTest, HandlesTargetForms) {
  for (const NormalizeCase& c : kFormCases) expectNormalizes(c);
}

TEST(UrlPathTest, RejectsRawNul) {
  char out[kCap];
  EXPECT_EQ(normalizeTarget(std::string_view("/a\0b", 4), out, kCap).status, 400);
  EXPECT_EQ(normalizeTarget(std::string_view("/\0", 2), out, kCap).status, 400);
  // A NUL after the query is not part of the path.
  EXPECT_EQ(normalizeTarget(std::string_view("/a?\0", 4), out, kCap).status, 0);
}

TEST(UrlPathTest, HonorsCapacity) {
  expectNormalizes({"/abc", 0, "abc", false}, 3);
  expectNormalizes({"/abc", 400, "", false}, 2);
  expectNormalizes({"/a/b", 0, "a/b", false}, 3);
  expectNormalizes({"/a/b", 400, "", false}, 2);
  expectNormalizes({"/", 0, "", true}, 0);
  expectNormalizes({"/a", 400, "", false}, 0);
  expectNormalizes({"/%41%42%43", 0, "ABC", false}, 3);
  expectNormalizes({"/%41%42%43%44", 400, "", false}, 3);
  // Dot segments are never written, so they cannot overflow a full buffer.
  expectNormalizes({"/abc/.", 0, "abc", true}, 3);
  expectNormalizes({"/abc/..", 0, "", true}, 3);
  expectNormalizes({"/abc/", 0, "abc", true}, 3);
  expectNormalizes({"/ab/../xyz", 0, "xyz", false}, 3);
  // A segment that does not fit is refused even if a later ".." would remove it.
  expectNormalizes({"/abcd/..", 400, "", false}, 3);
}

TEST(UrlPathTest, LimitsSegmentCount) {
  std::string deep;
  for (int i = 0; i < 256; ++i) deep += "/a";
  std::vector<char> out(1024);
  UrlPathResult r = normalizeTarget(deep, out.data(), out.size());
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.len, 511u);
  deep += "/a";
  EXPECT_EQ(normalizeTarget(deep, out.data(), out.size()).status, 400);

  // Many segments that cancel out stay within the limit.
  std::string churn;
  for (int i = 0; i < 1000; ++i) churn += "/a/..";
  r = normalizeTarget(churn + "/z", out.data(), out.size());
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(std::string_view(out.data(), r.len), "z");
}

bool isHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// A straightforward reference for origin-form targets, built on std::string and std::vector.
// Returns status -1 when the target is not origin-form.
UrlPathResult referenceNormalize(std::string_view target, std::string* result) {
  if (target.empty() || target[0] != '/') return {-1, 0, false};
  std::string_view path = target.substr(0, target.find_first_of("?#"));
  std::vector<std::string> kept;
  bool slash = true;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = std::min(path.find('/', pos + 1), path.size());
    std::string_view raw = path.substr(pos + 1, end - pos - 1);
    pos = end;
    std::string seg;
    for (size_t i = 0; i < raw.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(raw[i]);
      if (c == '%') {
        if (i + 2 >= raw.size() || !isHex(raw[i + 1]) || !isHex(raw[i + 2])) {
          return {400, 0, false};
        }
        c = static_cast<unsigned char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16));
        if (c == '/' || c == 0) return {400, 0, false};
        i += 2;
      }
      if (c < 0x20 || c == 0x7F || c == '\\') return {400, 0, false};
      seg += static_cast<char>(c);
    }
    slash = seg.empty() || seg == "." || seg == "..";
    if (seg == ".." && !kept.empty()) kept.pop_back();
    if (!slash) kept.push_back(seg);
  }
  result->clear();
  for (const std::string& s : kept) {
    if (s[0] == '.' && s != ".well-known") return {404, 0, false};
    if (!result->empty()) *result += '/';
    *result += s;
  }
  return {0, result->size(), slash};
}

// Random targets drawn mostly from the characters that matter to the normalizer.
std::string randomTarget(std::mt19937& rng) {
  static constexpr std::string_view kPieces[] = {
      "/",   ".",  "..",          "%",   "%2e", "%2E", "%2f", "%2F", "%5c", "%00",
      "%41", "%",  "2",           "e",   "f",   "a",   "\\",  "?",   "#",   "//",
      "/..", "/.", ".well-known", "%c3", "%A9", "%0",  "%g",  "%7f", "x",   ".git"};
  std::string t = rng() % 8 == 0 ? "" : "/";
  size_t n = rng() % 24;
  for (size_t i = 0; i < n; ++i) {
    if (rng() % 6 == 0) {
      t += static_cast<char>(rng() % 256);
    } else {
      t += kPieces[rng() % std::size(kPieces)];
    }
  }
  return t;
}

// The properties any accepted result must have, whatever the input.
void expectSafe(std::string_view target, UrlPathResult r, const char* out, size_t cap) {
  if (r.status != 0) {
    EXPECT_TRUE(r.status == 400 || r.status == 404) << r.status;
    return;
  }
  ASSERT_LE(r.len, cap);
  std::string_view p(out, r.len);
  std::string traced(target);
  SCOPED_TRACE(testing::Message() << "target \"" << traced << "\" -> \"" << std::string(p) << "\"");
  EXPECT_TRUE(p.empty() || (p.front() != '/' && p.back() != '/'));
  EXPECT_EQ(p.find("//"), std::string_view::npos);
  EXPECT_EQ(p.find('\0'), std::string_view::npos);
  EXPECT_EQ(p.find('\\'), std::string_view::npos);
  EXPECT_TRUE(!p.empty() || r.trailingSlash);
  for (size_t pos = 0; pos < p.size();) {
    size_t end = std::min(p.find('/', pos), p.size());
    std::string_view seg = p.substr(pos, end - pos);
    pos = end + 1;
    ASSERT_FALSE(seg.empty());
    EXPECT_NE(seg, "..");
    EXPECT_TRUE(seg[0] != '.' || seg == ".well-known");
  }
}

TEST(UrlPathTest, RandomTargetsProduceSafePaths) {
  std::mt19937 rng(12345);
  char out[kCap];
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string target = randomTarget(rng);
    size_t cap = rng() % 4 == 0 ? rng() % 16 : kCap;
    UrlPathResult r = normalizeTarget(target, out, cap);
    expectSafe(target, r, out, cap);
    if (r.status == 0) ++accepted;
    if (HasFailure()) return;
  }
  // The generator must reach the accepting paths too, or the test proves little.
  EXPECT_GT(accepted, 20000);
}

TEST(UrlPathTest, MatchesReferenceOnRandomTargets) {
  std::mt19937 rng(777);
  char out[kCap];
  for (int i = 0; i < 200000; ++i) {
    std::string target = randomTarget(rng);
    std::string expected;
    UrlPathResult want = referenceNormalize(target, &expected);
    if (want.status < 0) continue;
    UrlPathResult got = normalizeTarget(target, out, kCap);
    SCOPED_TRACE(target);
    ASSERT_EQ(got.status, want.status);
    if (want.status != 0) continue;
    ASSERT_EQ(std::string_view(out, got.len), expected);
    ASSERT_EQ(got.trailingSlash, want.trailingSlash);
  }
}

// Encoding each segment of a result and normalizing again must give the same result.
TEST(UrlPathTest, NormalizedPathsRoundTripThroughEncoding) {
  std::mt19937 rng(99);
  char out[kCap];
  char again[kCap];
  char enc[kCap * 3];
  for (int i = 0; i < 50000; ++i) {
    std::string target = randomTarget(rng);
    UrlPathResult r = normalizeTarget(target, out, kCap);
    if (r.status != 0) continue;
    std::string rebuilt = "/";
    std::string_view p(out, r.len);
    for (size_t pos = 0; pos < p.size();) {
      size_t end = std::min(p.find('/', pos), p.size());
      size_t n = urlEncodeSegment(p.substr(pos, end - pos), enc, sizeof(enc));
      ASSERT_LE(n, sizeof(enc));
      if (pos != 0) rebuilt += '/';
      rebuilt.append(enc, n);
      pos = end + 1;
    }
    UrlPathResult r2 = normalizeTarget(rebuilt, again, kCap);
    SCOPED_TRACE(rebuilt);
    ASSERT_EQ(r2.status, 0);
    ASSERT_EQ(std::string_view(again, r2.len), p);
  }
}

struct EscapeCase {
  std::string_view in;
  std::string_view out;
};

TEST(UrlPathTest, HtmlEscapesUnsafeCharacters) {
  constexpr EscapeCase kCases[] = {
      {"", ""},
      {"plain.txt", "plain.txt"},
      {"a&b", "a&amp;b"},
      {"<script>", "&lt;script&gt;"},
      {"say \"hi\"", "say &quot;hi&quot;"},
      {"it's", "it&#39;s"},
      {"caf\xC3\xA9", "caf\xC3\xA9"},
      {"&&", "&amp;&amp;"},
  };
  char out[64];
  for (const EscapeCase& c : kCases) {
    SCOPED_TRACE(std::string(c.in));
    size_t n = htmlEscape(c.in, out, sizeof(out));
    ASSERT_LE(n, sizeof(out));
    EXPECT_EQ(std::string_view(out, n), c.out);
  }
}

TEST(UrlPathTest, HtmlEscapeReportsOverflow) {
  char out[16];
  EXPECT_EQ(htmlEscape("a&b", out, 7), 7u);  // exactly fits "a&amp;b"
  EXPECT_EQ(std::string_view(out, 7), "a&amp;b");
  EXPECT_EQ(htmlEscape("a&b", out, 6), 7u);
  EXPECT_EQ(htmlEscape("a&b", out, 2), 3u);
  EXPECT_EQ(htmlEscape("abc", out, 2), 3u);
  EXPECT_EQ(htmlEscape("abc", out, 3), 3u);
  EXPECT_EQ(htmlEscape("", out, 0), 0u);
  EXPECT_EQ(htmlEscape("x", out, 0), 1u);
}

TEST(UrlPathTest, UrlEncodesSegments) {
  constexpr EscapeCase kCases[] = {
      {"", ""},
      {"index.html", "index.html"},
      {"AZaz09-._~", "AZaz09-._~"},
      {"!$&'()*+,;=:@", "!$&'()*+,;=:@"},
      {"a b", "a%20b"},
      {"a/b", "a%2Fb"},
      {"100%", "100%25"},
      {"q?#", "q%3F%23"},
      {"a\\b", "a%5Cb"},
      {"caf\xC3\xA9", "caf%C3%A9"},
      {"\"<>", "%22%3C%3E"},
      {std::string_view("\0\x7F", 2), "%00%7F"},
  };
  char out[64];
  for (const EscapeCase& c : kCases) {
    SCOPED_TRACE(std::string(c.in));
    size_t n = urlEncodeSegment(c.in, out, sizeof(out));
    ASSERT_LE(n, sizeof(out));
    EXPECT_EQ(std::string_view(out, n), c.out);
  }
}

TEST(UrlPathTest, UrlEncodeReportsOverflow) {
  char out[16];
  EXPECT_EQ(urlEncodeSegment("a b", out, 5), 5u);  // exactly fits "a%20b"
  EXPECT_EQ(std::string_view(out, 5), "a%20b");
  EXPECT_EQ(urlEncodeSegment("a b", out, 4), 5u);
  EXPECT_EQ(urlEncodeSegment("a b", out, 2), 3u);
  EXPECT_EQ(urlEncodeSegment("abc", out, 2), 3u);
  EXPECT_EQ(urlEncodeSegment("abc", out, 3), 3u);
  EXPECT_EQ(urlEncodeSegment("", out, 0), 0u);
  EXPECT_EQ(urlEncodeSegment(" ", out, 0), 1u);
}

struct ReasonCase {
  const char* target;
  int status;
  const char* reason;
};

constexpr ReasonCase kReasonCases[] = {
    {"*", 400, "not an origin- or absolute-form target"},
    {"/a%2Fb", 400, "encoded '/' (%2F)"},
    {"/a%2", 400, "malformed %-escape"},
    {"/a%zz", 400, "malformed %-escape"},
    {"/a%00", 400, "NUL, control byte or backslash in the path"},
    {"/a\\b", 400, "NUL, control byte or backslash in the path"},
    {"/.git/config", 404, "hidden path segment"},
    {"/a/.env", 404, "hidden path segment"},
};

TEST(UrlPathTest, RefusalsSayWhy) {
  for (const ReasonCase& c : kReasonCases) {
    SCOPED_TRACE(c.target);
    char out[kCap];
    UrlPathResult r = normalizeTarget(c.target, out, sizeof out);
    EXPECT_EQ(r.status, c.status);
    ASSERT_NE(r.reason, nullptr);
    EXPECT_STREQ(r.reason, c.reason);
  }
  char out[8];
  UrlPathResult longPath = normalizeTarget("/abcdefghijkl", out, sizeof out);
  EXPECT_EQ(longPath.status, 400);
  EXPECT_STREQ(longPath.reason, "path too long or too deep");
  EXPECT_EQ(normalizeTarget("/ok", out, sizeof out).reason, nullptr);
}

}  // namespace
}  // namespace hs
