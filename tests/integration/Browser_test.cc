// Real clients agree with the server: curl (ranges, time conditions, HEAD), a recursive wget of
// the bundled site, and a headless Chromium page load whose requests show up in the access log.
// A test whose tool is not installed is skipped; .ci/run installs curl, wget and chromium.
#include <filesystem>

#include "HttpUtil.h"

namespace hs::integration {
namespace {

constexpr int kToolTimeoutMs = 60'000;

std::string siteFile(const std::string& rel) { return readFile(siteRoot() + rel).value_or(""); }

std::string chromiumBinary() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    std::string path = findExecutable(name);
    if (!path.empty()) return path;
  }
  return "";
}

// Drops the Date line of a CRLF-separated head.
std::string withoutDate(const std::string& head) {
  std::string out;
  size_t pos = 0;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size() - 2;
    std::string line = head.substr(pos, eol + 2 - pos);
    if (toLower(line.substr(0, 5)) != "date:") out += line;
    pos = eol + 2;
  }
  return out;
}

class ToolsTest : public ServerTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(makeTraversable(dir_.path()));
    accessLog_ = dir_.path() + "/access.log";
    ServerOptions opts;
    opts.procs = 1;  // one access-log buffer to wait for
    opts.extraArgs = {"--access-log", accessLog_};
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }

  RunResult curl(std::vector<std::string> args) {
    args.insert(args.begin(), {"-s", "--max-time", "20"});
    return runProgram(curl_, args, kToolTimeoutMs);
  }

  // Waits until the access log has, for every path, a line `"GET <path> HTTP/1.1" 200` from
  // HeadlessChrome. The worker flushes its buffer at least once a second while it has events, so
  // each poll also sends a request.
  bool accessLogShowsChromium(const std::vector<std::string>& paths, std::string* text) {
    auto has = [&](const std::string& path) {
      std::string needle = "\"GET " + path + " HTTP/1.1\" 200 ";
      for (size_t at = text->find(needle); at != std::string::npos;
           at = text->find(needle, at + 1)) {
        size_t eol = text->find('\n', at);
        if (text->substr(at, eol - at).find("HeadlessChrome") != std::string::npos) return true;
      }
      return false;
    };
    return waitFor(
        [&] {
          *text = readFile(accessLog_).value_or("");
          for (const std::string& path : paths) {
            if (!has(path)) {
              fetchGet(port(), "/robots.txt");
              return false;
            }
          }
          return true;
        },
        6000);
  }

  TempDir dir_;
  std::string accessLog_;
  std::string curl_ = findExecutable("curl");
};

TEST_F(ToolsTest, CurlRangeGivesExactBytes) {
  if (curl_.empty()) GTEST_SKIP() << "curl is not installed (.ci/run installs it)";
  RunResult small = curl({"-r", "0-99", url("/style.css")});
  ASSERT_FALSE(small.timedOut);
  EXPECT_EQ(small.exitCode, 0) << small.err;
  EXPECT_TRUE(small.out == siteFile("/style.css").substr(0, 100)) << small.out;
  std::string mp4 = siteFile("/media/sample.mp4");
  ASSERT_GT(mp4.size(), 1'100'000u);
  RunResult big = curl({"-r", "1000000-1099999", url("/media/sample.mp4")});
  EXPECT_EQ(big.exitCode, 0) << big.err;
  ASSERT_EQ(big.out.size(), 100'000u);
  EXPECT_TRUE(big.out == mp4.substr(1'000'000, 100'000)) << "curl range of the mp4 differs";
}

TEST_F(ToolsTest, CurlTimeConditionGets304) {
  if (curl_.empty()) GTEST_SKIP() << "curl is not installed (.ci/run installs it)";
  auto mtime = fileMtime(siteRoot() + "/style.css");
  ASSERT_TRUE(mtime.has_value());
  std::string after = formatImfFixdate(*mtime + 3600);
  RunResult quiet = curl({"-z", after, url("/style.css")});
  EXPECT_EQ(quiet.exitCode, 0) << quiet.err;
  EXPECT_EQ(quiet.out, "") << "curl -z with a later date printed a body";
  RunResult code = curl({"-z", after, "-o", "/dev/null", "-w", "%{http_code}", url("/style.css")});
  EXPECT_EQ(code.out, "304");
  std::string before = formatImfFixdate(*mtime - 3600);
  RunResult changed = curl({"-z", before, url("/style.css")});
  EXPECT_TRUE(changed.out == siteFile("/style.css")) << "curl -z with an earlier date got no body";
}

TEST_F(ToolsTest, CurlHeadShowsTheHeadersOfGet) {
  if (curl_.empty()) GTEST_SKIP() << "curl is not installed (.ci/run installs it)";
  RunResult head = curl({"--head", url("/style.css")});
  EXPECT_EQ(head.exitCode, 0) << head.err;
  ASSERT_TRUE(head.out.starts_with("HTTP/1.1 200 ")) << head.out;
  // curl prints the head and the blank line; the raw GET head (same request fields that matter)
  // must be identical apart from Date.
  std::string curlHead = head.out.substr(0, head.out.find("\r\n\r\n") + 2);
  std::string rawGet = rawHeadWithoutDate(port(), getRequest("/style.css"));
  EXPECT_EQ(withoutDate(curlHead), rawGet);
  EXPECT_NE(
      head.out.find("Content-Length: " + std::to_string(siteFile("/style.css").size()) + "\r\n"),
      std::string::npos);
}

TEST_F(ToolsTest, WgetMirrorIsByteIdentical) {
  std::string wget = findExecutable("wget");
  if (wget.empty()) GTEST_SKIP() << "wget is not installed (.ci/run installs it)";
  TempDir out;
  RunResult r = runProgram(wget,
                           {"-q", "--tries=1", "--timeout=20", "--no-host-directories", "-r", "-l3",
                            "-P", out.path(), url("/")},
                           kToolTimeoutMs);
  ASSERT_FALSE(r.timedOut) << "wget did not finish";
  EXPECT_EQ(r.exitCode, 0) << r.err;
  namespace fs = std::filesystem;
  for (const char* rel : {"/index.html", "/style.css", "/favicon.ico", "/images/logo.png",
                          "/docs/index.html", "/docs/about.html"}) {
    SCOPED_TRACE(rel);
    EXPECT_TRUE(fs::is_regular_file(out.path() + rel)) << "wget did not fetch it";
  }
  size_t compared = 0;
  for (const auto& entry : fs::recursive_directory_iterator(out.path())) {
    if (!entry.is_regular_file()) continue;
    std::string rel = entry.path().string().substr(out.path().size());
    SCOPED_TRACE(rel);
    auto got = readFile(entry.path().string());
    auto want = readFile(siteRoot() + rel);
    ASSERT_TRUE(want.has_value()) << "wget saved a file the site does not have";
    EXPECT_TRUE(got == want) << "differs from the site's copy";
    ++compared;
  }
  EXPECT_GE(compared, 6u);
}

class ChromiumTest : public ToolsTest {
 protected:
  RunResult chromium(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-quic",
                                     "--no-first-run",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--disable-dev-shm-usage",
                                     "--user-data-dir=" + profile_.path(),
                                     "--window-size=1024,768"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(url("/"));
    return runProgram(chromium_, args, kToolTimeoutMs);
  }
  std::string chromium_ = chromiumBinary();
  TempDir profile_;
};

uint32_t bigEndian32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

TEST_F(ChromiumTest, HeadlessPageLoadFetchesStylesheetAndLogo) {
  if (chromium_.empty()) GTEST_SKIP() << "chromium is not installed (.ci/run installs it)";
  std::string shotPath = dir_.path() + "/shot.png";
  RunResult r = chromium({"--screenshot=" + shotPath});
  ASSERT_FALSE(r.timedOut) << "chromium did not finish within 60 s\n" << r.err;
  auto shot = readFile(shotPath);
  ASSERT_TRUE(shot.has_value()) << "no screenshot written\n" << r.err;
  ASSERT_GT(shot->size(), 5'000u) << "implausibly small screenshot";
  EXPECT_LT(shot->size(), 20'000'000u);
  EXPECT_EQ(shot->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(shot->substr(12, 4), "IHDR");
  EXPECT_EQ(bigEndian32(*shot, 16), 1024u);
  EXPECT_EQ(bigEndian32(*shot, 20), 768u);
  std::string log;
  EXPECT_TRUE(accessLogShowsChromium({"/", "/style.css", "/images/logo.png"}, &log))
      << "access log:\n"
      << log;
}

TEST_F(ChromiumTest, DumpDomContainsThePageTitle) {
  if (chromium_.empty()) GTEST_SKIP() << "chromium is not installed (.ci/run installs it)";
  std::string index = siteFile("/index.html");
  size_t open = index.find("<title>");
  size_t close = index.find("</title>");
  ASSERT_TRUE(open != std::string::npos && close > open) << "bundled index.html has no title";
  std::string title = index.substr(open + 7, close - open - 7);
  ASSERT_FALSE(title.empty());
  RunResult r = chromium({"--dump-dom"});
  ASSERT_FALSE(r.timedOut) << "chromium did not finish within 60 s";
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("<title>" + title + "</title>"), std::string::npos) << r.out.substr(0, 2000);
  EXPECT_NE(r.out.find("It works."), std::string::npos);
}

}  // namespace
}  // namespace hs::integration
