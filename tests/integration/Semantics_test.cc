// HTTP semantics of the real binary over raw sockets: validators and conditional requests, byte
// ranges, methods, message framing, request-target handling, precompressed variants, directory
// listings, caching headers and error pages. Most tests serve a document root built here, so file
// names, sizes and modification times are known exactly.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "HttpUtil.h"

namespace hs::integration {
namespace {

constexpr std::time_t kMtime = 1'600'000'000;  // Sun, 13 Sep 2020 12:26:40 GMT
constexpr const char* kB = "file b.txt\n";
constexpr const char* kIndex = "<!DOCTYPE html><title>temp index</title>\n";

std::string patternBytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + 3) % 251);
  return s;
}

std::string siteFile(const std::string& rel) { return readFile(siteRoot() + rel).value_or(""); }

// Everything after the first blank line of a raw exchange.
std::string afterHead(const std::string& raw) {
  size_t end = raw.find("\r\n\r\n");
  return end == std::string::npos ? std::string("<no head>") : raw.substr(end + 4);
}

std::string firstLine(const std::string& raw) { return raw.substr(0, raw.find("\r\n")); }

// entity-tag without W/: DQUOTE 1*etagc DQUOTE (etagc: %x21 / %x23-7E, obs-text not expected).
bool isStrongEtag(std::string_view s) {
  if (s.size() < 3 || s.front() != '"' || s.back() != '"') return false;
  for (char ch : s.substr(1, s.size() - 2)) {
    if (!(ch == 0x21 || (ch >= 0x23 && ch <= 0x7E))) return false;
  }
  return true;
}

// The line of `text` that contains `needle`, or "".
std::string lineWith(const std::string& text, std::string_view needle) {
  size_t at = text.find(needle);
  if (at == std::string::npos) return "";
  size_t begin = text.rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(begin, text.find('\n', at) - begin);
}

class SemanticsTest : public ServerTest {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(makeTraversable(dir_.path()));
    root_ = dir_.path() + "/root";
    namespace fs = std::filesystem;
    for (const char* d : {"/a", "/withindex", "/noindex", "/.git", "/.well-known"}) {
      fs::create_directories(root_ + d);
    }
    data_ = patternBytes(1000);
    ASSERT_TRUE(writeFile(dir_.path() + "/outside.txt", "outside 5c1d\n"));
    ASSERT_TRUE(writeFile(root_ + "/index.html", kIndex));
    ASSERT_TRUE(writeFile(root_ + "/b.txt", kB));
    ASSERT_TRUE(writeFile(root_ + "/data.bin", data_));
    ASSERT_TRUE(writeFile(root_ + "/%41", "literal percent-41\n"));
    ASSERT_TRUE(writeFile(root_ + "/A", "letter A\n"));
    ASSERT_TRUE(writeFile(root_ + "/a/c.txt", "c in a\n"));
    ASSERT_TRUE(writeFile(root_ + "/withindex/index.html", "sub index\n"));
    ASSERT_TRUE(writeFile(root_ + "/noindex/f.txt", "f\n"));
    ASSERT_TRUE(writeFile(root_ + "/.htpasswd", "user:secret\n"));
    ASSERT_TRUE(writeFile(root_ + "/.git/config", "[core]\n"));
    ASSERT_TRUE(writeFile(root_ + "/.well-known/x", "well known x\n"));
    ASSERT_TRUE(writeFile(root_ + "/x.css", "body{color:red}\n"));
    ASSERT_TRUE(writeFile(root_ + "/x.css.gz", "GZIP-BYTES"));
    ASSERT_TRUE(writeFile(root_ + "/x.css.br", "BROTLI-BYTES"));
    ASSERT_EQ(::symlink((dir_.path() + "/outside.txt").c_str(), (root_ + "/escape").c_str()), 0);
    for (const char* f : {"/b.txt", "/data.bin"}) ASSERT_TRUE(setMtime(root_ + f, kMtime));
    std::error_code ec;
    fs::permissions(root_, fs::perms::all & ~fs::perms::group_write & ~fs::perms::others_write, ec);
  }

  void start(std::vector<std::string> extra = {}, std::string root = "") {
    ServerOptions opts;
    opts.procs = 1;  // one file cache: revalidation timing is that of a single worker
    opts.root = root.empty() ? root_ : root;
    opts.extraArgs = std::move(extra);
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }

  Response get(std::string_view target, std::string_view extra = "") {
    return fetchGet(port(), target, extra);
  }
  Response request(std::string_view method, std::string_view target, std::string_view extra = "") {
    return fetch(port(), getRequest(target, extra, method), method == "HEAD");
  }
  std::string etagOf(std::string_view target) { return get(target).header("etag"); }
  // Everything the server sends for `req`, closing afterwards.
  std::string raw(std::string_view target, std::string_view extra,
                  std::string_view method = "GET") {
    return rawExchange(port(),
                       getRequest(target, std::string(extra) + "Connection: close\r\n", method));
  }

  TempDir dir_;
  std::string root_;
  std::string data_;
};

// ---------------------------------------------------------------- validators

TEST_F(SemanticsTest, EtagIsStrongAndLastModifiedIsTheMtime) {
  ASSERT_NO_FATAL_FAILURE(start());
  Response r = get("/b.txt");
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string etag = r.header("etag");
  EXPECT_TRUE(isStrongEtag(etag)) << "not a strong entity-tag: " << etag;
  EXPECT_EQ(r.header("last-modified"), formatImfFixdate(kMtime));
  EXPECT_EQ(r.body, kB);
  // Same file, same validator.
  EXPECT_EQ(etagOf("/b.txt"), etag);
  EXPECT_NE(etagOf("/data.bin"), etag) << "different files share an entity-tag";
}

TEST_F(SemanticsTest, EtagChangesWithMtimeAndWithSize) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string first = etagOf("/b.txt");
  ASSERT_FALSE(first.empty());
  // Same size, other mtime.
  ASSERT_TRUE(setMtime(root_ + "/b.txt", kMtime + 3600));
  std::string second;
  EXPECT_TRUE(waitFor([&] { return (second = etagOf("/b.txt")) != first; }, 4000))
      << "ETag unchanged after the mtime changed: " << first;
  EXPECT_EQ(get("/b.txt").header("last-modified"), formatImfFixdate(kMtime + 3600));
  // Other size, the original mtime again.
  ASSERT_TRUE(writeFile(root_ + "/b.txt", std::string(kB) + "more"));
  ASSERT_TRUE(setMtime(root_ + "/b.txt", kMtime));
  std::string third;
  EXPECT_TRUE(waitFor([&] { return (third = etagOf("/b.txt")) != first && third != second; }, 4000))
      << "ETag did not follow a size change: " << first << " " << second << " " << third;
  Response r = get("/b.txt");
  EXPECT_EQ(r.body, std::string(kB) + "more");
}

TEST_F(SemanticsTest, IfNoneMatchForms) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string etag = etagOf("/b.txt");
  ASSERT_FALSE(etag.empty());
  const std::string lists[] = {etag, "\"nope\", " + etag + " , \"other\"", "W/" + etag, "*",
                               "\"a\",W/" + etag};
  for (const std::string& inm : lists) {
    SCOPED_TRACE(inm);
    std::string out = raw("/b.txt", "If-None-Match: " + inm + "\r\n");
    EXPECT_EQ(firstLine(out), "HTTP/1.1 304 Not Modified");
    EXPECT_EQ(afterHead(out), "") << "a 304 must not carry a body";
    EXPECT_NE(out.find("\r\nETag: " + etag + "\r\n"), std::string::npos) << out;
    EXPECT_EQ(toLower(out).find("content-type:"), std::string::npos)
        << "304 with Content-Type: " << out;
  }
  Response miss = get("/b.txt", "If-None-Match: \"nope\"\r\n");
  EXPECT_EQ(miss.status, 200);
  EXPECT_EQ(miss.body, kB);
}

TEST_F(SemanticsTest, IfModifiedSince) {
  ASSERT_NO_FATAL_FAILURE(start());
  struct Case {
    std::string date;
    int status;
  };
  const Case cases[] = {{formatImfFixdate(kMtime), 304},
                        {formatImfFixdate(kMtime + 86400), 304},
                        {formatImfFixdate(kMtime - 1), 200},
                        {"yesterday-ish", 200},
                        {"", 200}};
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.date);
    std::string hdr = tc.date.empty() ? "" : "If-Modified-Since: " + tc.date + "\r\n";
    std::string out = raw("/b.txt", hdr);
    EXPECT_EQ(firstLine(out).substr(0, 12), "HTTP/1.1 " + std::to_string(tc.status));
    EXPECT_EQ(afterHead(out), tc.status == 304 ? "" : kB);
  }
}

TEST_F(SemanticsTest, IfMatchAndIfUnmodifiedSince) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string etag = etagOf("/b.txt");
  ASSERT_FALSE(etag.empty());
  struct Case {
    std::string header;
    int status;
  };
  const Case cases[] = {
      {"If-Match: \"mismatch\"\r\n", 412},
      {"If-Match: *\r\n", 200},
      {"If-Match: " + etag + "\r\n", 200},
      {"If-Match: W/" + etag + "\r\n", 412},  // If-Match uses the strong comparison
      {"If-Unmodified-Since: " + formatImfFixdate(kMtime - 60) + "\r\n", 412},
      {"If-Unmodified-Since: " + formatImfFixdate(kMtime) + "\r\n", 200},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.header);
    Response r = get("/b.txt", tc.header);
    EXPECT_EQ(r.status, tc.status) << r.describe();
    if (tc.status == 200) {
      EXPECT_EQ(r.body, kB);
    } else {
      EXPECT_NE(r.body.find("412"), std::string::npos) << r.body;
    }
  }
}

TEST_F(SemanticsTest, PreconditionPrecedence) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string etag = etagOf("/b.txt");
  ASSERT_FALSE(etag.empty());
  std::string later = formatImfFixdate(kMtime + 86400);
  std::string earlier = formatImfFixdate(kMtime - 86400);
  // RFC 9110 13.2.2: If-None-Match present -> If-Modified-Since is ignored.
  EXPECT_EQ(get("/b.txt", "If-None-Match: \"nope\"\r\nIf-Modified-Since: " + later + "\r\n").status,
            200);
  EXPECT_EQ(
      get("/b.txt", "If-None-Match: " + etag + "\r\nIf-Modified-Since: " + earlier + "\r\n").status,
      304);
  // If-Match present -> If-Unmodified-Since is ignored.
  EXPECT_EQ(
      get("/b.txt", "If-Match: " + etag + "\r\nIf-Unmodified-Since: " + earlier + "\r\n").status,
      200);
  EXPECT_EQ(get("/b.txt", "If-Match: \"nope\"\r\nIf-Unmodified-Since: " + later + "\r\n").status,
            412);
  // A failed If-Match beats a matching If-None-Match (step 1 before step 3).
  EXPECT_EQ(get("/b.txt", "If-Match: \"nope\"\r\nIf-None-Match: " + etag + "\r\n").status, 412);
}

// ---------------------------------------------------------------- ranges

TEST_F(SemanticsTest, SingleRanges) {
  ASSERT_NO_FATAL_FAILURE(start());
  Response full = get("/data.bin");
  ASSERT_EQ(full.status, 200);
  EXPECT_EQ(full.header("accept-ranges"), "bytes");
  EXPECT_EQ(full.body, data_);
  struct Case {
    const char* range;
    size_t first, last;
  };
  const Case cases[] = {{"bytes=0-99", 0, 99},
                        {"bytes=100-", 100, 999},
                        {"bytes=-50", 950, 999},
                        {"bytes=990-5000", 990, 999},
                        {"BYTES=5-5", 5, 5}};
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.range);
    Response r = get("/data.bin", std::string("Range: ") + tc.range + "\r\n");
    ASSERT_EQ(r.status, 206) << r.describe();
    EXPECT_EQ(r.header("content-range"),
              "bytes " + std::to_string(tc.first) + "-" + std::to_string(tc.last) + "/1000");
    EXPECT_EQ(r.header("content-length"), std::to_string(tc.last - tc.first + 1));
    EXPECT_EQ(r.header("content-type"), full.header("content-type"));
    EXPECT_EQ(r.header("etag"), full.header("etag"));
    EXPECT_TRUE(r.body == data_.substr(tc.first, tc.last - tc.first + 1)) << "range bytes differ";
  }
}

TEST_F(SemanticsTest, RangeOfLargeFileViaSendfileIsByteIdentical) {
  ASSERT_NO_FATAL_FAILURE(start({}, siteRoot()));
  std::string mp4 = siteFile("/media/sample.mp4");
  ASSERT_GT(mp4.size(), 1'000'000u) << "bundled sample.mp4 missing";
  const size_t first = 777'777, last = 1'234'566;
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange(getRequest("/media/sample.mp4", "Range: bytes=" + std::to_string(first) +
                                                              "-" + std::to_string(last) + "\r\n"));
  ASSERT_EQ(r.status, 206) << r.describe();
  EXPECT_EQ(r.header("content-range"), "bytes 777777-1234566/" + std::to_string(mp4.size()));
  EXPECT_EQ(r.header("content-type"), "video/mp4");
  ASSERT_EQ(r.body.size(), last - first + 1);
  EXPECT_TRUE(r.body == mp4.substr(first, last - first + 1))
      << "middle range differs from the file";
  // The tail, then the connection is still in sync.
  Response tail = c.exchange(getRequest("/media/sample.mp4", "Range: bytes=-1000\r\n"));
  ASSERT_EQ(tail.status, 206) << tail.describe();
  EXPECT_TRUE(tail.body == mp4.substr(mp4.size() - 1000));
  Response next = c.exchange(getRequest("/robots.txt"));
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, siteFile("/robots.txt"));
}

TEST_F(SemanticsTest, MultipleRangesAreMultipartByteranges) {
  ASSERT_NO_FATAL_FAILURE(start());
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange(getRequest("/data.bin", "Range: bytes=0-9, 500-599,-5\r\n"));
  ASSERT_EQ(r.status, 206) << r.describe();
  std::string ctype = r.header("content-type");
  ASSERT_TRUE(ctype.starts_with("multipart/byteranges")) << ctype;
  EXPECT_FALSE(r.has("content-range")) << "a multipart 206 has no top-level Content-Range";
  std::string boundary = headerParam(ctype, "boundary");
  ASSERT_FALSE(boundary.empty()) << ctype;
  EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
  EXPECT_TRUE(r.body.ends_with("--" + boundary + "--\r\n")) << "no close delimiter at the end";
  std::string err;
  auto parts = parseMultipart(r.body, boundary, &err);
  ASSERT_TRUE(parts.has_value()) << err;
  ASSERT_EQ(parts->size(), 3u);
  const std::pair<size_t, size_t> want[] = {{0, 9}, {500, 599}, {995, 999}};
  std::string plainType = get("/data.bin").header("content-type");
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const BytePart& p = (*parts)[i];
    auto cr = parseContentRange(p.contentRange);
    ASSERT_TRUE(cr.has_value()) << p.contentRange;
    EXPECT_EQ(cr->first, want[i].first);
    EXPECT_EQ(cr->last, want[i].second);
    EXPECT_EQ(cr->size, 1000u);
    EXPECT_EQ(p.contentType, plainType);
    EXPECT_TRUE(p.body == data_.substr(want[i].first, want[i].second - want[i].first + 1));
  }
  // Content-Length was exact: the next response on this connection parses.
  Response next = c.exchange(getRequest("/b.txt"));
  EXPECT_EQ(next.status, 200) << next.describe();
  EXPECT_EQ(next.body, kB);
}

TEST_F(SemanticsTest, OverlappingAndAdjacentRangesAreCoalesced) {
  ASSERT_NO_FATAL_FAILURE(start());
  struct Case {
    const char* range;
    const char* contentRange;
    size_t first, last;
  };
  const Case cases[] = {{"bytes=0-49,40-99", "bytes 0-99/1000", 0, 99},
                        {"bytes=10-19,20-29", "bytes 10-29/1000", 10, 29},
                        {"bytes=200-299,150-250,100-160", "bytes 100-299/1000", 100, 299}};
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.range);
    Response r = get("/data.bin", std::string("Range: ") + tc.range + "\r\n");
    ASSERT_EQ(r.status, 206) << r.describe();
    EXPECT_EQ(r.header("content-range"), tc.contentRange);
    EXPECT_TRUE(r.body == data_.substr(tc.first, tc.last - tc.first + 1));
  }
}

TEST_F(SemanticsTest, UnsatisfiableAndInvalidRanges) {
  ASSERT_NO_FATAL_FAILURE(start());
  Response r = get("/data.bin", "Range: bytes=99999999-\r\n");
  EXPECT_EQ(r.status, 416) << r.describe();
  EXPECT_EQ(r.header("content-range"), "bytes */1000");
  for (const char* bad : {"bytes=5-1", "items=0-1", "bytes=abc", "bytes="}) {
    SCOPED_TRACE(bad);
    Response full = get("/data.bin", std::string("Range: ") + bad + "\r\n");
    EXPECT_EQ(full.status, 200) << full.describe();
    EXPECT_FALSE(full.has("content-range"));
    EXPECT_TRUE(full.body == data_);
  }
}

TEST_F(SemanticsTest, IfRange) {
  ASSERT_NO_FATAL_FAILURE(start());
  Response plain = get("/data.bin");
  std::string etag = plain.header("etag");
  ASSERT_FALSE(etag.empty());
  struct Case {
    std::string ifRange;
    int status;
  };
  const Case cases[] = {{etag, 206},
                        {"\"stale-0\"", 200},
                        {"W/" + etag, 200},  // a weak tag never validates a range
                        {formatImfFixdate(kMtime), 206},
                        {formatImfFixdate(kMtime + 60), 200}};  // only an exact date match
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.ifRange);
    Response r = get("/data.bin", "Range: bytes=0-99\r\nIf-Range: " + tc.ifRange + "\r\n");
    ASSERT_EQ(r.status, tc.status) << r.describe();
    EXPECT_TRUE(r.body == (tc.status == 206 ? data_.substr(0, 100) : data_));
  }
}

TEST_F(SemanticsTest, HeadWithRangeHasTheHeadersOfGet) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const char* range : {"bytes=0-99", "bytes=0-1,5-6"}) {
    SCOPED_TRACE(range);
    std::string extra = std::string("Range: ") + range + "\r\n";
    std::string getHead = rawHeadWithoutDate(port(), getRequest("/data.bin", extra));
    std::string headHead = rawHeadWithoutDate(port(), getRequest("/data.bin", extra, "HEAD"));
    ASSERT_TRUE(getHead.starts_with("HTTP/1.1 206 ")) << getHead;
    EXPECT_EQ(headHead, getHead);
    std::string out = raw("/data.bin", extra, "HEAD");
    EXPECT_EQ(afterHead(out), "") << "HEAD answered with a body";
  }
}

// ---------------------------------------------------------------- methods

TEST_F(SemanticsTest, OptionsAndAllowedMethods) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(request("GET", "/b.txt").status, 200);
  EXPECT_EQ(request("HEAD", "/b.txt").status, 200);
  for (const char* target : {"/b.txt", "*"}) {
    SCOPED_TRACE(target);
    Response r = request("OPTIONS", target);
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.header("allow"), "GET, HEAD, OPTIONS");
  }
}

TEST_F(SemanticsTest, UnsupportedMethodsAre405AndUnknownAre501) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH"}) {
    SCOPED_TRACE(m);
    Response r = request(m, "/b.txt", "Content-Length: 0\r\n");
    EXPECT_EQ(r.status, 405) << r.describe();
    EXPECT_EQ(r.header("allow"), "GET, HEAD, OPTIONS");
  }
  Response r = request("FOO", "/b.txt");
  EXPECT_EQ(r.status, 501) << r.describe();
}

TEST_F(SemanticsTest, HeadHeadersAreByteForByteThoseOfGet) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::string etag = etagOf("/b.txt");
  struct Case {
    const char* what;
    std::string target, extra;
    const char* status;
  };
  const Case cases[] = {{"file", "/b.txt", "", "200"},
                        {"404", "/missing.txt", "", "404"},
                        {"301", "/a?q=1", "", "301"},
                        {"range", "/data.bin", "Range: bytes=10-19\r\n", "206"},
                        {"304", "/b.txt", "If-None-Match: " + etag + "\r\n", "304"}};
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.what);
    std::string g = rawHeadWithoutDate(port(), getRequest(tc.target, tc.extra));
    std::string h = rawHeadWithoutDate(port(), getRequest(tc.target, tc.extra, "HEAD"));
    EXPECT_TRUE(g.starts_with(std::string("HTTP/1.1 ") + tc.status)) << g;
    EXPECT_EQ(h, g);
  }
}

// ---------------------------------------------------------------- framing

// Sends `req` and expects status `status` followed by the server closing the connection.
void expectStatusAndClose(uint16_t port, std::string_view req, int status) {
  Client c(port);
  ASSERT_TRUE(c.ok());
  Response r = c.exchange(req);
  EXPECT_EQ(r.status, status) << r.describe();
  EXPECT_TRUE(r.closed || c.waitClosed(scaled(2000))) << "connection left open after " << status;
}

TEST_F(SemanticsTest, MalformedHeadsAre400AndClose) {
  ASSERT_NO_FATAL_FAILURE(start());
  struct Case {
    const char* what;
    std::string req;
  };
  const std::string h = "GET /b.txt HTTP/1.1\r\nHost: x\r\n";
  const Case cases[] = {
      {"no Host on 1.1", "GET /b.txt HTTP/1.1\r\n\r\n"},
      {"obs-fold", h + "X-A: 1\r\n  continued\r\n\r\n"},
      {"space before colon", "GET /b.txt HTTP/1.1\r\nHost : x\r\n\r\n"},
      {"bad name char @", h + "X@Y: 1\r\n\r\n"},
      {"bad name char (", h + "Bad(Name): 1\r\n\r\n"},
      {"Content-Length list", h + "Content-Length: 5, 6\r\n\r\n12345"},
      {"two Content-Lengths", h + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n123456"},
      {"CL and TE", h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"TE gzip", h + "Transfer-Encoding: gzip\r\n\r\n"},
      {"TE chunked, gzip", h + "Transfer-Encoding: chunked, gzip\r\n\r\n"},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.what);
    expectStatusAndClose(port(), tc.req, 400);
  }
}

// Where RFC 9112/9110 leave a choice the server takes the strict one, answers, and closes.
TEST_F(SemanticsTest, ProtocolStrictnessChoicesAnswerAndClose) {
  ASSERT_NO_FATAL_FAILURE(start());
  struct Case {
    const char* what;
    std::string req;
    int status;
  };
  const std::string h = "GET /b.txt HTTP/1.1\r\nHost: x\r\n";
  const std::string post = "POST /b.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const Case cases[] = {
      {"empty Host", "GET /b.txt HTTP/1.1\r\nHost:\r\n\r\n", 400},
      {"method over 32 bytes", std::string(40, 'G') + " /b.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"'#' in the target", "GET /b.txt#top HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"bare LF after the request line", "GET /b.txt HTTP/1.1\nHost: x\r\n\r\n", 400},
      {"bare LF after a field line", "GET /b.txt HTTP/1.1\r\nHost: x\n\r\n", 400},
      {"Expect other than 100-continue", h + "Expect: 200-ok\r\n\r\n", 417},
      {"chunk extension without a name", post + "5;\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk extension with two values", post + "5;a=b c\r\nhello\r\n0\r\n\r\n", 400},
      {"bare LF in a chunked body", post + "5\nhello\r\n0\r\n\r\n", 400},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.what);
    expectStatusAndClose(port(), tc.req, tc.status);
  }
}

TEST_F(SemanticsTest, AbsoluteFormTarget) {
  ASSERT_NO_FATAL_FAILURE(start());
  Response r = fetch(port(), "GET http://localhost/index.html HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, kIndex);
}

// Sends `post` (a POST with a body, which gets 405) pipelined with a GET of /b.txt: the body must
// be read and skipped, so that the GET is answered as the next request.
void expectBodySkipped(uint16_t port, const std::string& post) {
  Client c(port);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send(post + getRequest("/b.txt")));
  Response first = c.read();
  EXPECT_EQ(first.status, 405) << first.describe();
  Response second = c.read();
  EXPECT_EQ(second.status, 200) << second.describe();
  EXPECT_EQ(second.body, kB);
}

TEST_F(SemanticsTest, ContentLengthBodyIsSkippedAndPipelineStaysInSync) {
  ASSERT_NO_FATAL_FAILURE(start());
  expectBodySkipped(port(),
                    "POST /b.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nGET /a HTT");
}

TEST_F(SemanticsTest, ChunkedBodyWithExtensionAndTrailerIsSkipped) {
  ASSERT_NO_FATAL_FAILURE(start());
  expectBodySkipped(port(),
                    "POST /b.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5;name=value\r\nhello\r\n"
                    "A\r\n0123456789\r\n"
                    "0\r\nX-Trailer: yes\r\n\r\n");
}

TEST_F(SemanticsTest, BodiesOverMaxBodyAre413AndClose) {
  ASSERT_NO_FATAL_FAILURE(start({"--max-body", "1k"}));
  expectStatusAndClose(port(), getRequest("/b.txt", "Content-Length: 2000\r\n", "POST"), 413);
  std::string chunk = std::string(600, 'x');
  std::string chunked = getRequest("/b.txt", "Transfer-Encoding: chunked\r\n", "POST") + "258\r\n" +
                        chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n";
  expectStatusAndClose(port(), chunked, 413);
  // Within the limit it is read and discarded.
  Response ok = fetch(
      port(), getRequest("/b.txt", "Content-Length: 1024\r\n", "POST") + std::string(1024, 'y'));
  EXPECT_EQ(ok.status, 405) << ok.describe();
}

// A HEAD answered with an error that also closes the connection (413, or a 400 for a malformed
// head) has no body either (ErrorPages::fill looks at the method only, never at whether the
// connection closes). RFC 9110 9.3.2: a response to HEAD never has content.
TEST_F(SemanticsTest, HeadErrorThatClosesHasNoBody) {
  ASSERT_NO_FATAL_FAILURE(start({"--max-body", "1k"}));
  struct Case {
    const char* what;
    std::string req;
    const char* status;
  };
  const Case cases[] = {
      {"413", getRequest("/b.txt", "Content-Length: 2000\r\n", "HEAD"), "HTTP/1.1 413 "},
      {"400 obs-fold", getRequest("/b.txt", "X: a\r\n b\r\n", "HEAD"), "HTTP/1.1 400 "},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.what);
    std::string out = rawExchange(port(), tc.req);
    EXPECT_TRUE(out.starts_with(tc.status)) << out;
    EXPECT_EQ(afterHead(out), "") << "HEAD answered with content";
  }
}

TEST_F(SemanticsTest, ExpectContinueGetsInterimResponse) {
  ASSERT_NO_FATAL_FAILURE(start());
  Client c(port());
  ASSERT_TRUE(
      c.send(getRequest("/b.txt", "Content-Length: 4\r\nExpect: 100-continue\r\n", "POST")));
  Response interim = c.read();
  EXPECT_EQ(interim.statusLine, "HTTP/1.1 100 Continue") << interim.describe();
  ASSERT_TRUE(c.send("abcd"));
  Response final = c.read();
  EXPECT_EQ(final.status, 405) << final.describe();
  Response next = c.exchange(getRequest("/b.txt"));
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, kB);
}

TEST_F(SemanticsTest, UnsupportedVersionsAre505) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (const char* v : {"HTTP/1.2", "HTTP/2.0", "HTTP/3.0"}) {
    SCOPED_TRACE(v);
    Response r = fetch(port(), getRequest("/b.txt", "", "GET", v));
    EXPECT_EQ(r.status, 505) << r.describe();
  }
}

TEST_F(SemanticsTest, SizeLimitsOfTheHead) {
  ASSERT_NO_FATAL_FAILURE(start());
  Response longLine = fetch(port(), getRequest("/" + std::string(9000, 'a')));
  EXPECT_EQ(longLine.status, 414) << longLine.describe();
  std::string big;
  for (int i = 0; i < 20; ++i)
    big += "X-Pad-" + std::to_string(i) + ": " + std::string(1000, 'p') + "\r\n";
  Response bigHead = fetch(port(), getRequest("/b.txt", big));
  EXPECT_EQ(bigHead.status, 431) << bigHead.describe();
  std::string many;
  for (int i = 0; i < 101; ++i) many += "X-F" + std::to_string(i) + ": v\r\n";
  Response manyFields = fetch(port(), getRequest("/b.txt", many));  // 102 with Host
  EXPECT_EQ(manyFields.status, 431) << manyFields.describe();
  std::string fewer;
  for (int i = 0; i < 99; ++i) fewer += "X-F" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(fetch(port(), getRequest("/b.txt", fewer)).status, 200) << "100 fields must still pass";
}

// ---------------------------------------------------------------- paths

TEST_F(SemanticsTest, PercentDecodingHappensOnce) {
  ASSERT_NO_FATAL_FAILURE(start());
  Response literal = get("/%2541");
  EXPECT_EQ(literal.status, 200) << literal.describe();
  EXPECT_EQ(literal.body, "literal percent-41\n");
  EXPECT_EQ(get("/%41").body, "letter A\n");
  EXPECT_EQ(get("/a%2Fc.txt").status, 400);
  EXPECT_EQ(get("/b.txt%00").status, 400);
}

TEST_F(SemanticsTest, DotSegmentsQueryAndHiddenFiles) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(get("/a/../b.txt").body, kB);
  EXPECT_EQ(get("/a/./c.txt").body, "c in a\n");
  Response q = get("/b.txt?x=1&y=/../../etc/passwd");
  EXPECT_EQ(q.status, 200);
  EXPECT_EQ(q.body, kB);
  Response esc = get("/escape");
  EXPECT_TRUE(std::set<int>({403, 404}).count(esc.status)) << esc.describe();
  EXPECT_EQ(esc.body.find("5c1d"), std::string::npos) << "symlink escaped the root";
  for (const char* hidden : {"/.htpasswd", "/.git/config", "/a/../.htpasswd", "/%2ehtpasswd"}) {
    SCOPED_TRACE(hidden);
    Response r = get(hidden);
    EXPECT_EQ(r.status, 404) << r.describe();
    EXPECT_EQ(r.body.find("secret"), std::string::npos);
  }
  Response wk = get("/.well-known/x");
  EXPECT_EQ(wk.status, 200);
  EXPECT_EQ(wk.body, "well known x\n");
}

TEST_F(SemanticsTest, Directories) {
  ASSERT_NO_FATAL_FAILURE(start());
  Response redirect = get("/withindex?k=v");
  EXPECT_EQ(redirect.status, 301) << redirect.describe();
  EXPECT_EQ(redirect.header("location"), "/withindex/?k=v");
  Response plain = get("/a");
  EXPECT_EQ(plain.status, 301);
  EXPECT_EQ(plain.header("location"), "/a/");
  Response index = get("/withindex/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "sub index\n");
  Response noIndex = get("/noindex/");
  EXPECT_EQ(noIndex.status, 403) << noIndex.describe();
  EXPECT_EQ(noIndex.body.find("f.txt"), std::string::npos) << "listing without --autoindex";
}

// ---------------------------------------------------------------- precompressed variants

TEST_F(SemanticsTest, GzipVariantOfTheBundledStylesheet) {
  ASSERT_NO_FATAL_FAILURE(start({}, siteRoot()));
  Response gz = get("/style.css", "Accept-Encoding: gzip, deflate\r\n");
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  EXPECT_EQ(gz.header("vary"), "Accept-Encoding");
  EXPECT_EQ(gz.header("content-type").substr(0, 8), "text/css");
  EXPECT_TRUE(gz.body == siteFile("/style.css.gz"));
  for (const char* ae : {"gzip;q=0", "gzip; q=0.000", "identity", "br"}) {
    SCOPED_TRACE(ae);
    Response plain = get("/style.css", std::string("Accept-Encoding: ") + ae + "\r\n");
    EXPECT_FALSE(plain.has("content-encoding")) << plain.describe();
    EXPECT_TRUE(plain.body == siteFile("/style.css"));
    // RFC 9110 12.5.5: the plain representation varies on Accept-Encoding too.
    EXPECT_EQ(plain.header("vary"), "Accept-Encoding");
  }
  Response noHeader = get("/style.css");
  EXPECT_EQ(noHeader.header("vary"), "Accept-Encoding");
  Response noVariant = get("/index.html", "Accept-Encoding: gzip\r\n");
  EXPECT_FALSE(noVariant.has("vary")) << "no precompressed sibling, nothing varies";
}

TEST_F(SemanticsTest, BrotliPreferredWhenPresentAndAccepted) {
  ASSERT_NO_FATAL_FAILURE(start());
  Response br = get("/x.css", "Accept-Encoding: gzip, br\r\n");
  EXPECT_EQ(br.header("content-encoding"), "br");
  EXPECT_EQ(br.body, "BROTLI-BYTES");
  EXPECT_EQ(br.header("content-type").substr(0, 8), "text/css");
  Response gz = get("/x.css", "Accept-Encoding: gzip, br;q=0\r\n");
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  EXPECT_EQ(gz.body, "GZIP-BYTES");
  Response none = get("/x.css");
  EXPECT_FALSE(none.has("content-encoding"));
  EXPECT_EQ(none.body, "body{color:red}\n");
}

// ---------------------------------------------------------------- autoindex

class AutoindexTest : public ServerTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(makeTraversable(dir_.path()));
    namespace fs = std::filesystem;
    fs::create_directories(dir_.path() + "/list/subdir");
    for (const char* name : {"a&b.txt", "<x>.txt", "space name.txt"}) {
      ASSERT_TRUE(writeFile(dir_.path() + "/list/" + name, "12345"));
    }
    ASSERT_TRUE(writeFile(dir_.path() + "/list/.hidden-file", "h"));
  }
  void start(bool autoindex) {
    ServerOptions opts;
    opts.procs = 1;
    opts.root = dir_.path();
    if (autoindex) opts.extraArgs = {"--autoindex"};
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }
  TempDir dir_;
};

TEST_F(AutoindexTest, ListingEscapesNamesAndHidesDotFiles) {
  ASSERT_NO_FATAL_FAILURE(start(true));
  Response r = fetchGet(port(), "/list/");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_TRUE(r.header("content-type").starts_with("text/html")) << r.header("content-type");
  const std::string& b = r.body;
  EXPECT_NE(b.find(">a&amp;b.txt<"), std::string::npos) << b;
  EXPECT_NE(b.find(">&lt;x&gt;.txt<"), std::string::npos) << b;
  EXPECT_EQ(b.find("<x>"), std::string::npos) << "unescaped name in HTML";
  EXPECT_NE(b.find("href=\"space%20name.txt\""), std::string::npos) << b;
  EXPECT_NE(b.find("href=\"%3Cx%3E.txt\""), std::string::npos) << b;
  EXPECT_NE(b.find("href=\"subdir/\""), std::string::npos) << b;
  EXPECT_EQ(b.find("hidden-file"), std::string::npos) << "hidden file listed";
  // A table of name, size and modified time, directories first.
  EXPECT_NE(b.find("<tr><th>Name</th><th class=\"n\">Size</th><th>Modified (UTC)</th></tr>"),
            std::string::npos)
      << b;
  EXPECT_NE(lineWith(b, ">a&amp;b.txt</a>").find("</td><td class=\"n\">5</td><td>20"),
            std::string::npos)
      << "size and time: " << b;
  EXPECT_NE(lineWith(b, ">subdir/</a>").find("<td class=\"n\">-</td>"), std::string::npos) << b;
  EXPECT_LT(b.find(">subdir/</a>"), b.find(">a&amp;b.txt</a>")) << "directories first";
  // The hrefs lead to the files.
  Response f = fetchGet(port(), "/list/space%20name.txt");
  EXPECT_EQ(f.status, 200);
  EXPECT_EQ(f.body, "12345");
}

TEST_F(AutoindexTest, WithoutAutoindexTheDirectoryIs403) {
  ASSERT_NO_FATAL_FAILURE(start(false));
  Response r = fetchGet(port(), "/list/");
  EXPECT_EQ(r.status, 403) << r.describe();
  EXPECT_EQ(r.body.find("space"), std::string::npos);
}

// ---------------------------------------------------------------- caching and error pages

TEST_F(SemanticsTest, MaxAgeAddsCacheControl) {
  ASSERT_NO_FATAL_FAILURE(start({"--max-age", "60"}));
  Response r = get("/b.txt");
  EXPECT_EQ(r.header("cache-control"), "max-age=60");
  std::string etag = r.header("etag");
  Response notModified = get("/b.txt", "If-None-Match: " + etag + "\r\n");
  EXPECT_EQ(notModified.status, 304);
  EXPECT_EQ(notModified.header("cache-control"), "max-age=60") << "304 must repeat Cache-Control";
}

TEST_F(SemanticsTest, NoCacheControlByDefault) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_FALSE(get("/b.txt").has("cache-control"));
}

TEST_F(SemanticsTest, ErrorPagesAreSmallHtmlNamingTheStatus) {
  ASSERT_NO_FATAL_FAILURE(start());
  struct Case {
    Response r;
    int status;
  };
  Case cases[] = {{get("/missing"), 404},
                  {get("/noindex/"), 403},
                  {get("/a%2Fb"), 400},
                  {request("PUT", "/b.txt", "Content-Length: 0\r\n"), 405},
                  {request("FOO", "/b.txt"), 501},
                  {get("/data.bin", "Range: bytes=5000-\r\n"), 416},
                  {get("/b.txt", "If-Match: \"x\"\r\n"), 412}};
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.status);
    EXPECT_EQ(tc.r.status, tc.status) << tc.r.describe();
    EXPECT_TRUE(tc.r.header("content-type").starts_with("text/html")) << tc.r.describe();
    EXPECT_LT(tc.r.body.size(), 1024u);
    EXPECT_NE(tc.r.body.find(std::to_string(tc.status)), std::string::npos) << tc.r.body;
    EXPECT_EQ(tc.r.header("content-length"), std::to_string(tc.r.body.size()));
  }
}

TEST_F(SemanticsTest, ErrorPageOptionServesTheFileWith404) {
  ASSERT_NO_FATAL_FAILURE(start({"--error-page", "404=/404.html"}, siteRoot()));
  Response r = get("/definitely/not/here");
  EXPECT_EQ(r.status, 404) << r.describe();
  std::string page = siteFile("/404.html");
  ASSERT_FALSE(page.empty());
  EXPECT_TRUE(r.body == page) << "custom page bytes differ";
  EXPECT_TRUE(r.header("content-type").starts_with("text/html"));
}

}  // namespace
}  // namespace hs::integration
