// Serving the bundled site: every file byte for byte, with the right headers; directory indexes,
// redirects, 404s and large files.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "HardenUtil.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

namespace fs = std::filesystem;
using harden::patternBytes;

constexpr size_t kMiB = 1024 * 1024;

// Content-Type the spec requires per extension; "" where it leaves the type open.
std::string expectedType(const std::string& path) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"},
      {".mp4", "video/mp4"},
      {".txt", "text/plain; charset=utf-8"},
  };
  auto it = kTypes.find(fs::path(path).extension().string());
  return it == kTypes.end() ? "" : it->second;
}

// Every regular file under the site root, as request targets ("/docs/index.html"), sorted.
std::vector<std::string> siteFiles() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(siteRoot(), ec)) {
    if (e.is_regular_file()) out.push_back("/" + fs::relative(e.path(), siteRoot()).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string siteFile(const std::string& target) {
  return readFile(siteRoot() + target).value_or("<missing " + target + ">");
}

void expectCommonHeaders(const Response& r) {
  EXPECT_TRUE(parseImfFixdate(r.header("date"))) << "Date: '" << r.header("date") << "'";
  EXPECT_TRUE(r.header("server").starts_with("HttpServer")) << "Server: " << r.header("server");
  EXPECT_TRUE(parseImfFixdate(r.header("last-modified")))
      << "Last-Modified: '" << r.header("last-modified") << "'";
  EXPECT_FALSE(r.header("etag").empty()) << "no ETag";
}

// Compares bodies without printing megabytes on failure.
void expectSameBytes(const std::string& got, const std::string& want) {
  EXPECT_EQ(got.size(), want.size());
  auto diff = std::mismatch(got.begin(), got.end(), want.begin(), want.end());
  EXPECT_TRUE(got == want) << "bodies differ at byte " << (diff.first - got.begin());
}

class BasicTest : public ServerTest {};

TEST(SiteFixtureTest, BundledSiteIsComplete) {
  for (const char* f : {"/index.html", "/style.css", "/style.css.gz", "/images/logo.png",
                        "/images/logo.svg", "/favicon.ico", "/docs/index.html", "/docs/about.html",
                        "/404.html", "/robots.txt", "/media/sample.mp4"}) {
    SCOPED_TRACE(f);
    EXPECT_TRUE(readFile(siteRoot() + f).has_value()) << "missing under " << siteRoot();
  }
  std::string mp4 = siteFile("/media/sample.mp4");
  EXPECT_GE(mp4.size(), kMiB);
  EXPECT_LE(mp4.size(), 3 * kMiB);
  EXPECT_EQ(siteFile("/images/logo.png").substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(siteFile("/style.css.gz").substr(0, 2), "\x1f\x8b");
}

TEST_F(BasicTest, ServesEveryFileByteIdenticalWithHeaders) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  std::vector<std::string> files = siteFiles();
  ASSERT_GE(files.size(), 11u) << "site root " << siteRoot();
  for (const std::string& target : files) {
    SCOPED_TRACE(target);
    std::string want = siteFile(target);
    Client c(port());
    ASSERT_TRUE(c.ok());
    Response r = c.exchange(getRequest(target));
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.header("content-length"), std::to_string(want.size()));
    expectSameBytes(r.body, want);
    std::string type = expectedType(target);
    if (!type.empty()) {
      EXPECT_EQ(r.header("content-type"), type);
    }
    EXPECT_FALSE(r.header("content-type").empty());
    expectCommonHeaders(r);
  }
}

TEST_F(BasicTest, KeepAliveConnectionServesWholeSite) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  Client c(port());
  ASSERT_TRUE(c.ok());
  for (const std::string& target : siteFiles()) {
    SCOPED_TRACE(target);
    Response r = c.exchange(getRequest(target));
    ASSERT_EQ(r.status, 200) << r.describe();
    expectSameBytes(r.body, siteFile(target));
  }
}

TEST_F(BasicTest, RootServesIndexHtml) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange(getRequest("/"));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  expectSameBytes(r.body, siteFile("/index.html"));
  expectCommonHeaders(r);
}

TEST_F(BasicTest, DirectoryWithSlashServesItsIndex) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange(getRequest("/docs/"));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  expectSameBytes(r.body, siteFile("/docs/index.html"));
}

TEST_F(BasicTest, DirectoryWithoutSlashRedirects) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  struct Case {
    const char* target;
    const char* location;
  };
  for (const Case& tc : {Case{"/docs", "/docs/"}, Case{"/docs?x=1", "/docs/?x=1"}}) {
    SCOPED_TRACE(tc.target);
    Client c(port());
    ASSERT_TRUE(c.ok());
    Response r = c.exchange(getRequest(tc.target));
    EXPECT_EQ(r.status, 301) << r.describe();
    EXPECT_EQ(r.header("location"), tc.location);
  }
}

TEST_F(BasicTest, MissingFileIs404WithHtmlBody) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange(getRequest("/no-such-file.html"));
  ASSERT_EQ(r.status, 404) << r.describe();
  EXPECT_TRUE(r.header("content-type").starts_with("text/html")) << r.header("content-type");
  EXPECT_FALSE(r.body.empty());
  EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
}

TEST_F(BasicTest, ErrorPageOptionServesCustom404) {
  ServerOptions opts;
  opts.extraArgs = {"--error-page", "404=/404.html"};
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange(getRequest("/missing/page.html"));
  ASSERT_EQ(r.status, 404) << r.describe();
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  expectSameBytes(r.body, siteFile("/404.html"));
}

TEST_F(BasicTest, PrecompressedVariantOnlyWhenAccepted) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response plain = c.exchange(getRequest("/style.css"));
  ASSERT_EQ(plain.status, 200) << plain.describe();
  EXPECT_FALSE(plain.has("content-encoding"));
  expectSameBytes(plain.body, siteFile("/style.css"));

  // Serving style.css.gz is optional, but if the server does, it must say so.
  Response gz = c.exchange(getRequest("/style.css", "Accept-Encoding: gzip\r\n"));
  ASSERT_EQ(gz.status, 200) << gz.describe();
  EXPECT_EQ(gz.header("content-type"), "text/css; charset=utf-8");
  if (gz.has("content-encoding")) {
    EXPECT_EQ(gz.header("content-encoding"), "gzip");
    expectSameBytes(gz.body, siteFile("/style.css.gz"));
  } else {
    expectSameBytes(gz.body, siteFile("/style.css"));
  }
}

TEST_F(BasicTest, LargeFileIsByteIdentical) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  std::string want = siteFile("/media/sample.mp4");
  ASSERT_GE(want.size(), kMiB);
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange(getRequest("/media/sample.mp4"));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.header("content-type"), "video/mp4");
  EXPECT_EQ(r.header("content-length"), std::to_string(want.size()));
  expectSameBytes(r.body, want);
}

// Small bodies from memory are copied behind the head and sent as one buffer when both fit in
// half the head buffer (4 KiB); larger ones go as a second piece, and files over 32 KiB with
// sendfile. Sizes on both sides of each boundary, over one keep-alive connection, whole and as a
// range, must all come back byte for byte.
TEST_F(BasicTest, BodiesAroundTheCopyAndCacheBoundariesAreExact) {
  TempDir root;
  ASSERT_EQ(::chmod(root.path().c_str(), 0755), 0);
  const size_t sizes[] = {0, 1, 2, 3800, 3900, 4000, 4096, 4097, 8192, 32768, 32769, 70000};
  for (size_t size : sizes) {
    ASSERT_TRUE(writeFile(root.path() + "/f" + std::to_string(size) + ".bin",
                          patternBytes(size, static_cast<uint32_t>(size) + 1)));
  }
  ServerOptions opts;
  opts.root = root.path();
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  Client c(port());
  ASSERT_TRUE(c.ok());
  for (int pass = 0; pass < 2; ++pass) {  // the second pass is served from the warm cache
    for (size_t size : sizes) {
      SCOPED_TRACE(size);
      const std::string target = "/f" + std::to_string(size) + ".bin";
      const std::string want = patternBytes(size, static_cast<uint32_t>(size) + 1);
      Response r = c.exchange(getRequest(target));
      ASSERT_EQ(r.status, 200) << r.describe();
      EXPECT_EQ(r.header("content-length"), std::to_string(size));
      expectSameBytes(r.body, want);
      if (size < 2) continue;
      Response part = c.exchange(getRequest(target, "Range: bytes=1-\r\n"));
      ASSERT_EQ(part.status, 206) << part.describe();
      expectSameBytes(part.body, want.substr(1));
    }
  }
}

TEST_F(BasicTest, SlowReaderGetsEveryByte) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  std::string want = siteFile("/media/sample.mp4");
  Client c(port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send(getRequest("/media/sample.mp4")));
  // Read 4 KiB at a time with a pause, so the server keeps hitting a full socket buffer.
  std::string got;
  size_t total = std::string::npos;
  auto deadline = deadlineIn(10'000);
  char buf[4096];
  while (got.size() != total && std::chrono::steady_clock::now() < deadline) {
    ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << "connection ended after " << got.size() << " bytes";
    got.append(buf, static_cast<size_t>(n));
    size_t headEnd = got.find("\r\n\r\n");
    if (total == std::string::npos && headEnd != std::string::npos) {
      ASSERT_TRUE(got.starts_with("HTTP/1.1 200")) << got.substr(0, headEnd);
      total = headEnd + 4 + want.size();
    }
    pace(1);  // a slow reader
  }
  ASSERT_EQ(got.size(), total) << "timed out";
  expectSameBytes(got.substr(got.find("\r\n\r\n") + 4), want);
}

TEST_F(BasicTest, CurlFetchesTwoFilesOverOneConnection) {
  if (!curlAvailable()) GTEST_SKIP() << "curl not installed";
  ASSERT_NO_FATAL_FAILURE(startServer());
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string base = "http://127.0.0.1:" + std::to_string(port());
  RunResult res =
      runCurl("-sS --http1.1 -w '%{http_code} %{num_connects}\\n' -o " + dir.path() + "/a '" +
              base + "/index.html' -o " + dir.path() + "/b '" + base + "/media/sample.mp4'");
  ASSERT_EQ(res.exitCode, 0) << res.out;
  // The second transfer reuses the first connection: zero new connects.
  EXPECT_EQ(res.out, "200 1\n200 0\n");
  expectSameBytes(readFile(dir.path() + "/a").value_or(""), siteFile("/index.html"));
  expectSameBytes(readFile(dir.path() + "/b").value_or(""), siteFile("/media/sample.mp4"));
}

}  // namespace
}  // namespace hs::integration
