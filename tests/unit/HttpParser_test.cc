// HttpParser: every case is parsed whole, split in two at every offset and one byte at a time, and
// the results (status, consumed, spans, derived fields, error) must be identical. Each call sees
// its input copied to the end of a guard page, so reading one byte past `len` crashes the test;
// the copy also moves on every call, which proves the parser keeps offsets, not pointers.
#include "HttpParser.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "GuardedBuffer.h"

namespace hs {
namespace {

using namespace std::string_literals;

constexpr int kKnownCount = static_cast<int>(KnownHeader::kCount);

struct SpanText {
  uint32_t off = 0;
  uint32_t len = 0;
  std::string text;
  bool operator==(const SpanText&) const = default;
};

// Everything observable after a sequence of parse() calls.
struct Outcome {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t consumed = 0;
  int error = 0;
  Method method = Method::kUnknown;
  SpanText methodText;
  SpanText target;
  int versionMajor = 0;
  int versionMinor = 0;
  int headerCount = 0;
  SpanText known[kKnownCount];
  bool keepAlive = false;
  bool expectContinue = false;
  bool chunked = false;
  int64_t contentLength = 0;
  bool operator==(const Outcome&) const = default;
};

void PrintTo(const Outcome& o, std::ostream* os) {
  *os << "{status=" << static_cast<int>(o.status) << " consumed=" << o.consumed
      << " error=" << o.error << " method=" << static_cast<int>(o.method) << " methodText='"
      << o.methodText.text << "' target='" << o.target.text << "'@" << o.target.off
      << " version=" << o.versionMajor << "." << o.versionMinor << " headers=" << o.headerCount
      << " keepAlive=" << o.keepAlive << " expect=" << o.expectContinue << " chunked=" << o.chunked
      << " contentLength=" << o.contentLength << " known=[";
  for (const SpanText& s : o.known) *os << "'" << s.text << "'@" << s.off << " ";
  *os << "]}";
}

SpanText spanText(Span s, const char* base, size_t len) {
  if (static_cast<size_t>(s.off) + s.len > len) {
    ADD_FAILURE() << "span [" << s.off << ", +" << s.len << ") outside input of " << len;
    return {s.off, s.len, "<outside>"};
  }
  return {s.off, s.len, std::string(s.in(base))};
}

Outcome snapshot(ParseStatus st, const HttpParser& p, const HttpRequest& r, const char* base,
                 size_t len) {
  Outcome o;
  o.status = st;
  o.consumed = p.consumed();
  o.error = p.errorStatus();
  o.method = r.method;
  o.methodText = spanText(r.methodText, base, len);
  o.target = spanText(r.target, base, len);
  o.versionMajor = r.versionMajor;
  o.versionMinor = r.versionMinor;
  o.headerCount = r.headerCount;
  for (int i = 0; i < kKnownCount; ++i) o.known[i] = spanText(r.known[i], base, len);
  o.keepAlive = r.keepAlive;
  o.expectContinue = r.expectContinue;
  o.chunked = r.chunked;
  o.contentLength = r.contentLength;
  if (st == ParseStatus::kDone) {
    EXPECT_LE(o.consumed, len);
    EXPECT_LE(static_cast<size_t>(r.target.off) + r.target.len, o.consumed);
  }
  return o;
}

// Calls parse() with the input's prefixes of the given lengths (growing), stopping at the first
// result other than kNeedMore.
Outcome runParser(std::string_view input, const std::vector<size_t>& lens,
                  ParserLimits limits = {}) {
  GuardedBuffer guard(input.size());
  HttpParser parser(limits);
  HttpRequest req;
  // Leftovers from an earlier request must not leak into this one.
  req.keepAlive = false;
  req.headerCount = 77;
  req.contentLength = 5;
  req.known[0] = Span{3, 4};
  ParseStatus st = ParseStatus::kNeedMore;
  const char* base = guard.place({});
  size_t len = 0;
  for (size_t l : lens) {
    base = guard.place(input.substr(0, l));
    len = l;
    st = parser.parse(base, len, &req);
    if (st != ParseStatus::kNeedMore) break;
  }
  return snapshot(st, parser, req, base, len);
}

Outcome parseWhole(std::string_view input, ParserLimits limits = {}) {
  return runParser(input, {input.size()}, limits);
}

std::vector<size_t> byteByByte(size_t n) {
  std::vector<size_t> lens;
  for (size_t i = 0; i <= n; ++i) lens.push_back(i);
  return lens;
}

// Checks that every split and byte-by-byte feeding agree with parsing the input whole.
void expectSplitInvariant(std::string_view input, const Outcome& whole, ParserLimits limits = {}) {
  for (size_t k = 0; k <= input.size(); ++k) {
    SCOPED_TRACE("split at " + std::to_string(k));
    EXPECT_EQ(runParser(input, {k, input.size()}, limits), whole);
  }
  SCOPED_TRACE("byte by byte");
  EXPECT_EQ(runParser(input, byteByByte(input.size()), limits), whole);
}

struct ValidCase {
  const char* name;
  std::string input;
  Method method = Method::kGet;
  std::string methodText = "GET";
  std::string target = "/";
  int minor = 1;
  bool keepAlive = true;
  int64_t contentLength = -1;
  bool chunked = false;
  bool expectContinue = false;
  int headerCount = 1;
  size_t consumed = 0;  // 0: the whole input
  std::vector<std::pair<KnownHeader, std::string>> known = {{KnownHeader::kHost, "a"}};
};

std::vector<ValidCase> validCases() {
  using K = KnownHeader;
  return {
      {.name = "simple GET",
       .input = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n",
       .target = "/index.html",
       .known = {{K::kHost, "example.com"}}},
      {.name = "query string",
       .input = "GET /a/b?x=1&y=%20z HTTP/1.1\r\nHost: a\r\n\r\n",
       .target = "/a/b?x=1&y=%20z"},
      {.name = "absolute-form target",
       .input = "GET http://example.com:8080/a?b=c HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
       .target = "http://example.com:8080/a?b=c",
       .known = {{K::kHost, "example.com:8080"}}},
      {.name = "asterisk-form",
       .input = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
       .method = Method::kOptions,
       .methodText = "OPTIONS",
       .target = "*"},
      {.name = "authority-form with IPv6 host",
       .input = "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
       .method = Method::kConnect,
       .methodText = "CONNECT",
       .target = "[::1]:443",
       .known = {{K::kHost, "[::1]:443"}}},
      {.name = "HEAD",
       .input = "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n",
       .method = Method::kHead,
       .methodText = "HEAD",
       .target = "/x"},
      {.name = "HTTP/1.0 without Host closes",
       .input = "GET / HTTP/1.0\r\n\r\n",
       .minor = 0,
       .keepAlive = false,
       .headerCount = 0,
       .known = {}},
      {.name = "HTTP/1.0 keep-alive",
       .input = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
       .minor = 0,
       .keepAlive = true,
       .known = {{K::kConnection, "Keep-Alive"}}},
      {.name = "HTTP/1.1 Connection: close",
       .input = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
       .keepAlive = false,
       .headerCount = 2,
       .known = {{K::kHost, "a"}, {K::kConnection, "close"}}},
      {.name = "Connection list, close wins, second header counts",
       .input = "GET / HTTP/1.0\r\nConnection: keep-alive, Upgrade\r\nconnection: CLOSE\r\n\r\n",
       .minor = 0,
       .keepAlive = false,
       .headerCount = 2,
       .known = {{K::kConnection, "keep-alive, Upgrade"}}},
      {.name = "Connection token inside another word is not close",
       .input = "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed, xclose\r\n\r\n",
       .headerCount = 2,
       .known = {{K::kHost, "a"}, {K::kConnection, "closed, xclose"}}},
      {.name = "many headers",
       .input = "GET /m HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nAccept-Language: en\r\n"
                "X-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\nX-E: 5\r\nX-F: 6\r\nX-G: 7\r\n"
                "Cache-Control: no-cache\r\nPragma: no-cache\r\nDNT: 1\r\n\r\n",
       .target = "/m",
       .headerCount = 13,
       .known = {{K::kHost, "h"}}},
      {.name = "obs-text and inner whitespace in values",
       .input =
           "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: caf\xC3\xA9 \xFF\x80 (X11;\tLinux)\r\n\r\n",
       .headerCount = 2,
       .known = {{K::kHost, "a"}, {K::kUserAgent, "caf\xC3\xA9 \xFF\x80 (X11;\tLinux)"}}},
      {.name = "OWS trimmed on both sides",
       .input = "GET / HTTP/1.1\r\nHost: \t a \t \r\nReferer:x\r\n\r\n",
       .headerCount = 2,
       .known = {{K::kHost, "a"}, {K::kReferer, "x"}}},
      {.name = "empty values",
       .input = "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nUser-Agent: \t \r\n\r\n",
       .headerCount = 3},
      {.name = "leading empty lines are skipped",
       .input = "\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"},
      {.name = "pipelined pair stops after the first",
       .input = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n",
       .target = "/1",
       .consumed = 28},
      {.name = "pipelined body bytes are not consumed",
       .input = "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
       .method = Method::kPost,
       .methodText = "POST",
       .target = "/p",
       .contentLength = 5,
       .headerCount = 2,
       .consumed = 48,
       .known = {{K::kHost, "a"}, {K::kContentLength, "5"}}},
      {.name = "every known header, any case",
       .input = "GET / HTTP/1.1\r\nHOST: h\r\ncOnNeCtIoN: keep-alive\r\ncontent-LENGTH: 3\r\n"
                "Expect: 100-Continue\r\nIF-NONE-MATCH: \"e\"\r\nif-modified-since: d1\r\n"
                "If-Match: *\r\nIf-Unmodified-Since: d2\r\nRANGE: bytes=0-1\r\n"
                "if-range: d3\r\naccept-encoding: gzip\r\nUSER-agent: ua\r\nreferer: r\r\n\r\n",
       .contentLength = 3,
       .expectContinue = true,
       .headerCount = 13,
       .known = {{K::kHost, "h"},
                 {K::kConnection, "keep-alive"},
                 {K::kContentLength, "3"},
                 {K::kExpect, "100-Continue"},
                 {K::kIfNoneMatch, "\"e\""},
                 {K::kIfModifiedSince, "d1"},
                 {K::kIfMatch, "*"},
                 {K::kIfUnmodifiedSince, "d2"},
                 {K::kRange, "bytes=0-1"},
                 {K::kIfRange, "d3"},
                 {K::kAcceptEncoding, "gzip"},
                 {K::kUserAgent, "ua"},
                 {K::kReferer, "r"}}},
      {.name = "Transfer-Encoding is recognised too",
       .input = "POST / HTTP/1.1\r\nhost: a\r\ntransfer-ENCODING: Chunked\r\n\r\n",
       .method = Method::kPost,
       .methodText = "POST",
       .chunked = true,
       .headerCount = 2,
       .known = {{K::kHost, "a"}, {K::kTransferEncoding, "Chunked"}}},
      {.name = "names that only start like known ones",
       .input =
           "GET / HTTP/1.1\r\nHost: a\r\nHostx: b\r\nRanges: c\r\nExpect-X: 100-continue\r\n\r\n",
       .headerCount = 4},
      {.name = "first occurrence of a repeated known header is kept",
       .input = "GET / HTTP/1.1\r\nHost: a\r\nReferer: one\r\nReferer: two\r\n\r\n",
       .headerCount = 3,
       .known = {{K::kHost, "a"}, {K::kReferer, "one"}}},
      {.name = "Content-Length list of identical values",
       .input = "PUT /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5 , 5,5\r\n\r\n",
       .method = Method::kPut,
       .methodText = "PUT",
       .target = "/u",
       .contentLength = 5,
       .headerCount = 2,
       .known = {{K::kHost, "a"}, {K::kContentLength, "5 , 5,5"}}},
      {.name = "repeated identical Content-Length headers",
       .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nContent-Length: 007\r\n\r\n",
       .method = Method::kPost,
       .methodText = "POST",
       .contentLength = 7,
       .headerCount = 3,
       .known = {{K::kHost, "a"}, {K::kContentLength, "7"}}},
      {.name = "Content-Length maximum",
       .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n",
       .method = Method::kPost,
       .methodText = "POST",
       .contentLength = 9223372036854775807,
       .headerCount = 2,
       .known = {{K::kHost, "a"}, {K::kContentLength, "9223372036854775807"}}},
      {.name = "Content-Length 0",
       .input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
       .method = Method::kPost,
       .methodText = "POST",
       .contentLength = 0,
       .headerCount = 2,
       .known = {{K::kHost, "a"}, {K::kContentLength, "0"}}},
      {.name = "gzip, chunked over two headers",
       .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
                "Transfer-Encoding: , chunked\r\n\r\n",
       .method = Method::kPost,
       .methodText = "POST",
       .chunked = true,
       .headerCount = 3,
       .known = {{K::kHost, "a"}, {K::kTransferEncoding, "gzip"}}},
      {.name = "coding with parameters before chunked",
       .input = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x-foo ; a=b, chunked\r\n\r\n",
       .method = Method::kPost,
       .methodText = "POST",
       .chunked = true,
       .headerCount = 2,
       .known = {{K::kHost, "a"}, {K::kTransferEncoding, "x-foo ; a=b, chunked"}}},
      {.name = "Expect 100-continue inside a list with empty elements",
       .input = "PUT / HTTP/1.1\r\nHost: a\r\nExpect: , 100-CONTINUE ,\r\n\r\n",
       .method = Method::kPut,
       .methodText = "PUT",
       .expectContinue = true,
       .headerCount = 2,
       .known = {{K::kHost, "a"}, {K::kExpect, ", 100-CONTINUE ,"}}},
      {.name = "empty Expect expects nothing",
       .input = "PUT / HTTP/1.1\r\nHost: a\r\nExpect:\r\n\r\n",
       .method = Method::kPut,
       .methodText = "PUT",
       .headerCount = 2},
      {.name = "HTTP/1.0 100-continue is ignored (RFC 9110 10.1.1)",
       .input = "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
       .method = Method::kPut,
       .methodText = "PUT",
       .minor = 0,
       .keepAlive = false,
       .known = {{K::kExpect, "100-continue"}}},
      {.name = "unknown method token",
       .input = "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n",
       .method = Method::kUnknown,
       .methodText = "BREW",
       .target = "/pot"},
      {.name = "methods are case-sensitive",
       .input = "get / HTTP/1.1\r\nHost: a\r\n\r\n",
       .method = Method::kUnknown,
       .methodText = "get"},
      {.name = "method of 32 bytes, the longest accepted",
       .input = std::string(32, 'M') + " / HTTP/1.1\r\nHost: a\r\n\r\n",
       .method = Method::kUnknown,
       .methodText = std::string(32, 'M')},
      {.name = "method of tchar symbols",
       .input = "X-!#$%&'*+.^_`|~1 / HTTP/1.1\r\nHost: a\r\n\r\n",
       .method = Method::kUnknown,
       .methodText = "X-!#$%&'*+.^_`|~1"},
      {.name = "DELETE",
       .input = "DELETE /d HTTP/1.1\r\nHost: a\r\n\r\n",
       .method = Method::kDelete,
       .methodText = "DELETE",
       .target = "/d"},
      {.name = "PATCH",
       .input = "PATCH / HTTP/1.1\r\nHost: a\r\n\r\n",
       .method = Method::kPatch,
       .methodText = "PATCH"},
      {.name = "TRACE",
       .input = "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n",
       .method = Method::kTrace,
       .methodText = "TRACE"},
      {.name = "target with every visible ASCII byte but '#'",
       .input = "GET /!\"$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~ HTTP/1.1\r\nHost: a\r\n\r\n",
       .target = "/!\"$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"},
      {.name = "Host with every authority character",
       .input = "GET / HTTP/1.1\r\nHost: aZ09-._~%!$&'()*+,;=:[]\r\n\r\n",
       .known = {{K::kHost, "aZ09-._~%!$&'()*+,;=:[]"}}},
  };
}

void expectMatches(const ValidCase& c, const Outcome& o) {
  EXPECT_EQ(o.status, ParseStatus::kDone);
  EXPECT_EQ(o.error, 0);
  EXPECT_EQ(o.consumed, c.consumed != 0 ? c.consumed : c.input.size());
  EXPECT_EQ(o.method, c.method);
  EXPECT_EQ(o.methodText.text, c.methodText);
  EXPECT_EQ(o.target.text, c.target);
  EXPECT_EQ(o.versionMajor, 1);
  EXPECT_EQ(o.versionMinor, c.minor);
  EXPECT_EQ(o.headerCount, c.headerCount);
  EXPECT_EQ(o.keepAlive, c.keepAlive);
  EXPECT_EQ(o.contentLength, c.contentLength);
  EXPECT_EQ(o.chunked, c.chunked);
  EXPECT_EQ(o.expectContinue, c.expectContinue);
  for (int i = 0; i < kKnownCount; ++i) {
    std::string expected;
    for (const auto& [h, v] : c.known) {
      if (static_cast<int>(h) == i) expected = v;
    }
    EXPECT_EQ(o.known[i].text, expected) << "known header " << i;
  }
}

TEST(HttpParserTest, ValidRequestsWholeSplitAndByteByByte) {
  for (const ValidCase& c : validCases()) {
    SCOPED_TRACE(c.name);
    const Outcome whole = parseWhole(c.input);
    expectMatches(c, whole);
    expectSplitInvariant(c.input, whole);
  }
}

TEST(HttpParserTest, EveryProperPrefixOfAValidHeadNeedsMore) {
  for (const ValidCase& c : validCases()) {
    SCOPED_TRACE(c.name);
    const size_t consumed = c.consumed != 0 ? c.consumed : c.input.size();
    for (size_t k = 0; k < consumed; ++k) {
      const Outcome o = runParser(c.input, {k});
      EXPECT_EQ(o.status, ParseStatus::kNeedMore) << "prefix " << k;
      EXPECT_EQ(o.consumed, 0u);
    }
  }
}

TEST(HttpParserTest, SpansPointIntoTheInput) {
  const std::string input = "\r\nPOST /up HTTP/1.1\r\nHost:  h1 \r\nContent-Length: 12\r\n\r\n";
  const Outcome o = parseWhole(input);
  ASSERT_EQ(o.status, ParseStatus::kDone);
  EXPECT_EQ(o.methodText.off, 2u);
  EXPECT_EQ(o.methodText.len, 4u);
  EXPECT_EQ(o.target.off, 7u);
  EXPECT_EQ(o.target.len, 3u);
  const SpanText& host = o.known[static_cast<int>(KnownHeader::kHost)];
  EXPECT_EQ(host.off, input.find("h1"));
  EXPECT_EQ(host.len, 2u);
  EXPECT_EQ(o.known[static_cast<int>(KnownHeader::kContentLength)].off, input.find("12"));
  EXPECT_EQ(o.contentLength, 12);
}

struct BadCase {
  const char* name;
  std::string input;
  int status;
};

std::vector<BadCase> badCases() {
  const std::string host = "Host: a\r\n";
  const std::string get = "GET / HTTP/1.1\r\n";
  return {
      // Request line.
      {"leading space", " GET / HTTP/1.1\r\n\r\n", 400},
      {"empty request line then garbage", "\r\n\x01", 400},
      {"CR without LF before request line", "\r\rGET / HTTP/1.1\r\n", 400},
      {"double space after method", "GET  / HTTP/1.1\r\n" + host + "\r\n", 400},
      {"double space after target", "GET /  HTTP/1.1\r\n" + host + "\r\n", 400},
      {"tab instead of space", "GET\t/ HTTP/1.1\r\n" + host + "\r\n", 400},
      {"non-token method byte", "GE(T / HTTP/1.1\r\n" + host + "\r\n", 400},
      {"method then line end", "GET\r\n\r\n", 400},
      {"HTTP/0.9 style line", "GET /\r\n\r\n", 400},
      {"control byte in target", "GET /a\x01 HTTP/1.1\r\n" + host + "\r\n", 400},
      {"DEL in target", "GET /a\x7F HTTP/1.1\r\n" + host + "\r\n", 400},
      {"high byte in target", "GET /\xC3\xA9 HTTP/1.1\r\n" + host + "\r\n", 400},
      {"NUL in target", "GET /a\0b HTTP/1.1\r\n"s + host + "\r\n", 400},
      {"trailing space after version", "GET / HTTP/1.1 \r\n" + host + "\r\n", 400},
      {"missing minor version", "GET / HTTP/1\r\n" + host + "\r\n", 400},
      {"wrong protocol name", "GET / HTTX/1.1\r\n" + host + "\r\n", 400},
      {"lower-case protocol name", "GET / http/1.1\r\n" + host + "\r\n", 400},
      {"two-digit minor", "GET / HTTP/1.10\r\n" + host + "\r\n", 400},
      {"two-digit major", "GET / HTTP/11.1\r\n" + host + "\r\n", 400},
      {"letter as minor", "GET / HTTP/1.x\r\n" + host + "\r\n", 400},
      {"comma instead of dot", "GET / HTTP/1,1\r\n" + host + "\r\n", 400},
      {"CR not followed by LF after version", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", 505},
      {"HTTP/3.0", "GET / HTTP/3.0\r\n" + host + "\r\n", 505},
      {"HTTP/1.2", "GET / HTTP/1.2\r\n" + host + "\r\n", 505},
      {"HTTP/1.9", "GET / HTTP/1.9\r\n" + host + "\r\n", 505},
      {"HTTP/0.9", "GET / HTTP/0.9\r\n" + host + "\r\n", 505},
      {"method of 33 bytes", std::string(33, 'M') + " / HTTP/1.1\r\n" + host + "\r\n", 400},
      {"method of 1000 bytes", std::string(1000, 'M') + " / HTTP/1.1\r\n" + host + "\r\n", 400},
      {"method of a byte outside tchar", "G\xC3\x89T / HTTP/1.1\r\n" + host + "\r\n", 400},
      {"'#' in target", "GET /a#b HTTP/1.1\r\n" + host + "\r\n", 400},
      {"'#' after the query", "GET /a?q=1#frag HTTP/1.1\r\n" + host + "\r\n", 400},
      {"target of only '#'", "GET # HTTP/1.1\r\n" + host + "\r\n", 400},
      // Every line ends in CRLF.
      {"bare LF ending the request line", "GET / HTTP/1.1\n" + host + "\r\n", 400},
      {"bare LF ending a 505 request line", "GET / HTTP/2.0\n" + host + "\r\n", 400},
      {"bare LF ending a field line", get + "Host: a\n\r\n", 400},
      {"bare LF ending a field line after OWS", get + "Host: a \t\n\r\n", 400},
      {"bare LF ending an empty field value", get + host + "X-A:\n\r\n", 400},
      {"bare LF ending the head", get + host + "\n", 400},
      {"bare LF ending every line", "GET / HTTP/1.1\nHost: a\n\n", 400},
      {"bare LF empty line before the request line", "\nGET / HTTP/1.1\r\n" + host + "\r\n", 400},
      // Field syntax.
      {"space before colon", get + "Host : a\r\n\r\n", 400},
      {"tab before colon", get + "Host\t: a\r\n\r\n", 400},
      {"obs-fold", get + host + "X-A: one\r\n two\r\n\r\n", 400},
      {"obs-fold with tab", get + host + "X-A: one\r\n\ttwo\r\n\r\n", 400},
      {"whitespace before the first field", get + " Host: a\r\n\r\n", 400},
      {"empty field name", get + host + ": value\r\n\r\n", 400},
      {"field without colon", get + host + "X-A\r\n\r\n", 400},
      {"non-token byte in name", get + "Ho(st: a\r\n\r\n", 400},
      {"high byte in name", get + "X-\xC3\xA9: a\r\n" + host + "\r\n", 400},
      {"NUL in value", get + host + "X-A: a\0b\r\n\r\n"s, 400},
      {"control byte in value",
       get + host +
           "X-A: a\x01"
           "b\r\n\r\n",
       400},
      {"DEL in value", get + host + "X-A: a\x7F\r\n\r\n", 400},
      {"CR inside a value", get + host + "X-A: a\rb\r\n\r\n", 400},
      {"CR after a value not followed by LF", get + host + "X-A: a\r\r\n\r\n", 400},
      {"CR of the final line not followed by LF", get + host + "\rX", 400},
      // Content-Length.
      {"non-digit Content-Length", get + host + "Content-Length: abc\r\n\r\n", 400},
      {"negative Content-Length", get + host + "Content-Length: -1\r\n\r\n", 400},
      {"plus sign Content-Length", get + host + "Content-Length: +5\r\n\r\n", 400},
      {"hex Content-Length", get + host + "Content-Length: 0x10\r\n\r\n", 400},
      {"space inside Content-Length", get + host + "Content-Length: 5 5\r\n\r\n", 400},
      {"empty Content-Length", get + host + "Content-Length:\r\n\r\n", 400},
      {"empty element in Content-Length", get + host + "Content-Length: 5,\r\n\r\n", 400},
      {"differing Content-Length list", get + host + "Content-Length: 5, 6\r\n\r\n", 400},
      {"differing Content-Length headers",
       get + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
      {"Content-Length overflow", get + host + "Content-Length: 9223372036854775808\r\n\r\n", 400},
      {"huge Content-Length", get + host + "Content-Length: 99999999999999999999999\r\n\r\n", 400},
      // Transfer-Encoding.
      {"final coding not chunked", get + host + "Transfer-Encoding: gzip\r\n\r\n", 400},
      {"coding after chunked", get + host + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"chunked twice", get + host + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400},
      {"chunked then another header",
       get + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"chunked with a parameter", get + host + "Transfer-Encoding: chunked;a=b\r\n\r\n", 400},
      {"empty Transfer-Encoding", get + host + "Transfer-Encoding:\r\n\r\n", 400},
      {"garbage coding", get + host + "Transfer-Encoding: \"chunked\"\r\n\r\n", 400},
      {"Transfer-Encoding and Content-Length",
       get + host + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      // Host.
      {"HTTP/1.1 without Host", get + "X-A: b\r\n\r\n", 400},
      {"HTTP/1.1 without any field", get + "\r\n", 400},
      {"two Host headers", get + host + "Host: b\r\n\r\n", 400},
      {"two identical Host headers", get + host + host + "\r\n", 400},
      {"space inside Host", get + "Host: a b\r\n\r\n", 400},
      {"userinfo in Host", get + "Host: user@a\r\n\r\n", 400},
      {"slash in Host", get + "Host: a/b\r\n\r\n", 400},
      {"obs-text in Host", get + "Host: \xC3\xA9\r\n\r\n", 400},
      {"empty Host", get + "Host:\r\n\r\n", 400},
      {"Host of only whitespace", get + "Host: \t \r\n\r\n", 400},
      {"empty Host in HTTP/1.0", "GET / HTTP/1.0\r\nHost:\r\n\r\n", 400},
      // Expect: only 100-continue is known; decided after the rest of the head is checked.
      {"Expect other than 100-continue", get + host + "Expect: 200-ok\r\n\r\n", 417},
      {"Expect list with another expectation", get + host + "Expect: foo, 100-continue\r\n\r\n",
       417},
      {"Expect 100-continue with a parameter", get + host + "Expect: 100-continue;a=b\r\n\r\n",
       417},
      {"second Expect field with another expectation",
       get + host + "Expect: 100-continue\r\nExpect: x\r\n\r\n", 417},
      {"Expect other than 100-continue in HTTP/1.0", "GET / HTTP/1.0\r\nExpect: x\r\n\r\n", 417},
      {"unknown expectation in an otherwise bad head", get + "Expect: x\r\n\r\n", 400},
  };
}

TEST(HttpParserTest, MalformedRequestsFailWithTheirStatus) {
  for (const BadCase& c : badCases()) {
    SCOPED_TRACE(c.name);
    const Outcome whole = parseWhole(c.input);
    EXPECT_EQ(whole.status, ParseStatus::kError);
    EXPECT_EQ(whole.error, c.status);
    EXPECT_EQ(whole.consumed, 0u);
    expectSplitInvariant(c.input, whole);
  }
}

TEST(HttpParserTest, ErrorIsReportedAtTheOffendingByte) {
  // Nothing after the bad byte is needed: the error does not wait for the line end.
  const Outcome o = runParser("GET / HTTP/1.1\r\nHo st: a", {20});
  EXPECT_EQ(o.status, ParseStatus::kError);
  EXPECT_EQ(o.error, 400);
  const Outcome v = runParser("GET / HTTP/2.0\r", {15});
  EXPECT_EQ(v.status, ParseStatus::kError);
  EXPECT_EQ(v.error, 505);
}

std::string requestLineOfLength(size_t n) {
  const std::string fixed = "GET / HTTP/1.1";
  std::string line = "GET /" + std::string(n - fixed.size(), 'a') + " HTTP/1.1";
  EXPECT_EQ(line.size(), n);
  return line;
}

TEST(HttpParserTest, RequestLineLimit) {
  for (uint32_t limit : {32u, 8192u}) {
    SCOPED_TRACE(limit);
    ParserLimits limits;
    limits.maxRequestLine = limit;
    const std::string atLimit = requestLineOfLength(limit) + "\r\nHost: a\r\n\r\n";
    const Outcome ok = parseWhole(atLimit, limits);
    EXPECT_EQ(ok.status, ParseStatus::kDone);
    EXPECT_EQ(ok.target.text.size(), limit - 14 + 1);
    const std::string over = requestLineOfLength(limit + 1) + "\r\nHost: a\r\n\r\n";
    const Outcome bad = parseWhole(over, limits);
    EXPECT_EQ(bad.status, ParseStatus::kError);
    EXPECT_EQ(bad.error, 414);
    if (limit == 32) {
      expectSplitInvariant(atLimit, ok, limits);
      expectSplitInvariant(over, bad, limits);
    }
    // A bare LF right at the limit is a malformed line end (400), not an over-long line.
    const Outcome bareLf = parseWhole(requestLineOfLength(limit) + "\nHost: a\r\n\r\n", limits);
    EXPECT_EQ(bareLf.status, ParseStatus::kError);
    EXPECT_EQ(bareLf.error, 400);
  }
}

TEST(HttpParserTest, RequestLineLimitIsHitBeforeTheLineEnds) {
  ParserLimits limits;
  limits.maxRequestLine = 32;
  const std::string endless = "GET /" + std::string(100, 'a');
  const Outcome o = runParser(endless, {33}, limits);
  EXPECT_EQ(o.status, ParseStatus::kError);
  EXPECT_EQ(o.error, 414);
  EXPECT_EQ(runParser(endless, {32}, limits).status, ParseStatus::kNeedMore);
  expectSplitInvariant(endless, parseWhole(endless, limits), limits);
}

TEST(HttpParserTest, LeadingEmptyLinesCountTowardTheRequestLine) {
  ParserLimits limits;
  limits.maxRequestLine = 32;
  const std::string line = requestLineOfLength(30);
  EXPECT_EQ(parseWhole("\r\n" + line + "\r\nHost: a\r\n\r\n", limits).status, ParseStatus::kDone);
  const Outcome bad = parseWhole("\r\n\r\n" + line + "\r\nHost: a\r\n\r\n", limits);
  EXPECT_EQ(bad.status, ParseStatus::kError);
  EXPECT_EQ(bad.error, 414);
  // An endless stream of empty lines is cut off too.
  std::string blanks;
  for (int i = 0; i < 100; ++i) blanks += "\r\n";
  const Outcome endless = parseWhole(blanks, limits);
  EXPECT_EQ(endless.status, ParseStatus::kError);
  EXPECT_EQ(endless.error, 414);
  expectSplitInvariant(blanks, endless, limits);
}

// A head of exactly `total` bytes (request line, Host, one filler field, empty line).
std::string headOfLength(size_t total) {
  const std::string start = "GET / HTTP/1.1\r\nHost: a\r\nX-Fill: ";
  const std::string end = "\r\n\r\n";
  std::string head = start + std::string(total - start.size() - end.size(), 'f') + end;
  EXPECT_EQ(head.size(), total);
  return head;
}

TEST(HttpParserTest, HeaderBytesLimit) {
  for (uint32_t limit : {64u, 16384u}) {
    SCOPED_TRACE(limit);
    ParserLimits limits;
    limits.maxHeaderBytes = limit;
    const std::string atLimit = headOfLength(limit);
    const Outcome ok = parseWhole(atLimit, limits);
    EXPECT_EQ(ok.status, ParseStatus::kDone);
    EXPECT_EQ(ok.consumed, limit);
    const std::string over = headOfLength(limit + 1);
    const Outcome bad = parseWhole(over, limits);
    EXPECT_EQ(bad.status, ParseStatus::kError);
    EXPECT_EQ(bad.error, 431);
    if (limit == 64) {
      expectSplitInvariant(atLimit, ok, limits);
      expectSplitInvariant(over, bad, limits);
    }
  }
}

std::string headWithFields(int fields) {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 1; i < fields; ++i) head += "X-" + std::to_string(i) + ": v\r\n";
  return head + "\r\n";
}

TEST(HttpParserTest, HeaderCountLimit) {
  const Outcome ok = parseWhole(headWithFields(100));
  EXPECT_EQ(ok.status, ParseStatus::kDone);
  EXPECT_EQ(ok.headerCount, 100);
  const Outcome bad = parseWhole(headWithFields(101));
  EXPECT_EQ(bad.status, ParseStatus::kError);
  EXPECT_EQ(bad.error, 431);
  EXPECT_EQ(runParser(headWithFields(101), byteByByte(headWithFields(101).size())), bad);

  ParserLimits limits;
  limits.maxHeaders = 3;
  const Outcome three = parseWhole(headWithFields(3), limits);
  EXPECT_EQ(three.status, ParseStatus::kDone);
  expectSplitInvariant(headWithFields(3), three, limits);
  const Outcome four = parseWhole(headWithFields(4), limits);
  EXPECT_EQ(four.status, ParseStatus::kError);
  EXPECT_EQ(four.error, 431);
  expectSplitInvariant(headWithFields(4), four, limits);
}

TEST(HttpParserTest, PipelinedRequestsAfterReset) {
  const std::string input =
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
      "HEAD /2 HTTP/1.0\r\n\r\n"
      "POST /3 HTTP/1.1\r\nHost: c\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  GuardedBuffer guard(input.size());
  const char* base = guard.place(input);
  HttpParser parser;
  HttpRequest req;
  const char* expectedTargets[] = {"/1", "/2", "/3"};
  size_t offset = 0;
  for (const char* target : expectedTargets) {
    SCOPED_TRACE(target);
    ASSERT_EQ(parser.parse(base + offset, input.size() - offset, &req), ParseStatus::kDone);
    EXPECT_EQ(req.target.in(base + offset), target);
    offset += parser.consumed();
    parser.reset();
  }
  EXPECT_EQ(offset, input.size());
  EXPECT_EQ(req.method, Method::kPost);
  EXPECT_FALSE(req.keepAlive);
  EXPECT_EQ(req.contentLength, 0);
  EXPECT_EQ(parser.consumed(), 0u);
}

TEST(HttpParserTest, DoneAndErrorAreStickyUntilReset) {
  const std::string good = "GET / HTTP/1.1\r\nHost: a\r\n\r\nXXXX";
  HttpParser parser;
  HttpRequest req;
  ASSERT_EQ(parser.parse(good.data(), good.size(), &req), ParseStatus::kDone);
  EXPECT_EQ(parser.consumed(), good.size() - 4);
  EXPECT_EQ(parser.parse(good.data(), good.size(), &req), ParseStatus::kDone);
  EXPECT_EQ(parser.consumed(), good.size() - 4);

  const std::string bad = "GET / HTTP/1.1\r\nHost : a\r\n\r\n";
  parser.reset();
  EXPECT_EQ(parser.errorStatus(), 0);
  ASSERT_EQ(parser.parse(bad.data(), bad.size(), &req), ParseStatus::kError);
  EXPECT_EQ(parser.errorStatus(), 400);
  EXPECT_EQ(parser.parse(good.data(), good.size(), &req), ParseStatus::kError);
  EXPECT_EQ(parser.errorStatus(), 400);
  parser.reset();
  EXPECT_EQ(parser.parse(good.data(), good.size(), &req), ParseStatus::kDone);
}

TEST(HttpParserTest, ResetKeepsLimits) {
  ParserLimits limits;
  limits.maxHeaders = 1;
  HttpParser parser(limits);
  HttpRequest req;
  const std::string two = headWithFields(2);
  EXPECT_EQ(parser.parse(two.data(), two.size(), &req), ParseStatus::kError);
  EXPECT_EQ(parser.errorStatus(), 431);
  parser.reset();
  EXPECT_EQ(parser.parse(two.data(), two.size(), &req), ParseStatus::kError);
  EXPECT_EQ(parser.errorStatus(), 431);
}

TEST(HttpParserTest, EmptyLinesAloneNeedMore) {
  const std::string blanks = "\r\n\r\n\r\n";
  const Outcome o = parseWhole(blanks);
  EXPECT_EQ(o.status, ParseStatus::kNeedMore);
  expectSplitInvariant(blanks, o);
  EXPECT_EQ(parseWhole("").status, ParseStatus::kNeedMore);
}

}  // namespace
}  // namespace hs
