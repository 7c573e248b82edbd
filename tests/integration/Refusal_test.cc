// Requests the server refuses on its own account leave one error-log line each, shaped like
// nginx's (the reason, the path, the client), and a flood of them is rate-limited: a bounded
// number of lines, then a summary of how many were not logged.
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "HardenUtil.h"
#include "HttpUtil.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

constexpr const char* kClose = "Connection: close\r\n";

class RefusalTest : public ServerTest {
 protected:
  // A root the workers (nobody, when started as root) can read, apart from what a test hides.
  void makeRoot() {
    ASSERT_EQ(::chmod(root_.path().c_str(), 0755), 0);
    ASSERT_TRUE(writeFile(root_.path() + "/index.html", "<p>index</p>\n"));
  }
  void start(const std::vector<std::string>& extraArgs = {}) {
    ServerOptions opts;
    opts.procs = 1;
    opts.root = root_.path();
    opts.extraArgs = extraArgs;
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }
  // Waits (at most 3 s) until the server's log holds `piece`; returns the log.
  std::string waitForLog(const std::string& piece) {
    std::string log;
    waitFor(
        [&] {
          log = server_.log();
          return log.find(piece) != std::string::npos;
        },
        3000);
    return log;
  }
  int status(const std::string& target) { return fetchGet(port(), target).status; }

  TempDir root_;
};

size_t countOf(const std::string& text, const std::string& piece) {
  size_t n = 0;
  for (size_t at = text.find(piece); at != std::string::npos; at = text.find(piece, at + 1)) ++n;
  return n;
}

// nginx: open() "/srv/www/x" failed (13: Permission denied), client: ..., request: "GET /x ..."
TEST_F(RefusalTest, PermissionDeniedIsLoggedWithPathAndClient) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the workers must run as nobody";
  ASSERT_NO_FATAL_FAILURE(makeRoot());
  ASSERT_TRUE(writeFile(root_.path() + "/secret.txt", "secret\n"));
  ASSERT_EQ(::chmod((root_.path() + "/secret.txt").c_str(), 0600), 0);
  ASSERT_EQ(::mkdir((root_.path() + "/private").c_str(), 0700), 0);
  ASSERT_TRUE(writeFile(root_.path() + "/private/index.html", "<p>private</p>\n"));
  ASSERT_NO_FATAL_FAILURE(start());

  EXPECT_EQ(status("/secret.txt"), 403);
  std::string log = waitForLog("open() \"" + root_.path() + "/secret.txt\" failed (13: ");
  EXPECT_NE(log.find("open() \"" + root_.path() +
                     "/secret.txt\" failed (13: Permission denied), client: 127.0.0.1:"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("request: \"GET /secret.txt HTTP/1.1\""), std::string::npos) << log;

  EXPECT_EQ(status("/private/"), 403);
  log = waitForLog("open() \"" + root_.path() + "/private");
  size_t at = log.find("open() \"" + root_.path() + "/private");
  ASSERT_NE(at, std::string::npos) << log;
  std::string line = log.substr(at, log.find('\n', at) - at);
  EXPECT_NE(line.find("failed (13: Permission denied)"), std::string::npos) << line;
  EXPECT_NE(line.find("request: \"GET /private/ HTTP/1.1\""), std::string::npos) << line;
  size_t start = log.rfind('\n', at);
  EXPECT_NE(log.substr(start + 1, at - start).find("[error]"), std::string::npos) << log;
}

TEST_F(RefusalTest, EachKindOfRefusalIsLoggedOnce) {
  ASSERT_NO_FATAL_FAILURE(makeRoot());
  ASSERT_EQ(::symlink("/etc/hostname", (root_.path() + "/out").c_str()), 0);
  ASSERT_EQ(::mkfifo((root_.path() + "/fifo").c_str(), 0644), 0);
  ASSERT_NO_FATAL_FAILURE(start());
  struct Case {
    const char* name;
    std::string request;
    int status;
    std::string line;  // what the log line must hold
  };
  const Case cases[] = {
      {"symlink out of the root", getRequest("/out", kClose), 403,
       "open() \"" + root_.path() + "/out\" failed ("},
      {"a FIFO (not a regular file)", getRequest("/fifo", kClose), 403,
       "\"" + root_.path() + "/fifo\" is not a regular file or directory, client: 127.0.0.1:"},
      {"unsafe target", getRequest("/a%2Fb", kClose), 400,
       "request-target refused: encoded '/' (%2F), client: 127.0.0.1:"},
      {"URI too long", getRequest("/" + std::string(20000, 'a')), 414,
       "client sent too long URI, client: 127.0.0.1:"},
      {"head too large", getRequest("/", "X-Big: " + std::string(20000, 'b') + "\r\n"), 431,
       "client sent too large request head, client: 127.0.0.1:"},
      {"body too large", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413,
       "client intended to send too large body: 99999999999 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string raw = rawExchange(port(), c.request);
    EXPECT_EQ(raw.rfind("HTTP/1.1 " + std::to_string(c.status) + " ", 0), 0u) << raw.substr(0, 200);
    std::string log = waitForLog(c.line);
    EXPECT_EQ(countOf(log, c.line), 1u) << log;
  }
}

// With routing, the line names the file under the location's alias that was tried, and a
// location's own body limit is the one reported.
TEST_F(RefusalTest, RoutedRequestsNameTheAliasAndTheLocationsLimit) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the workers must run as nobody";
  ASSERT_NO_FATAL_FAILURE(makeRoot());
  const std::string shared = root_.path() + "/shared";
  ASSERT_EQ(::mkdir(shared.c_str(), 0755), 0);
  ASSERT_TRUE(writeFile(shared + "/locked.txt", "locked\n"));
  ASSERT_EQ(::chmod((shared + "/locked.txt").c_str(), 0600), 0);
  const std::string conf = root_.path() + "/test.conf";
  ASSERT_TRUE(writeFile(conf, "server {\n  root " + root_.path() +
                                  ";\n  location /files/ { alias " + shared +
                                  "/; }\n  location /up/ { client_max_body_size 10; }\n}\n"));
  ASSERT_NO_FATAL_FAILURE(start({"-c", conf}));

  EXPECT_EQ(status("/files/locked.txt"), 403);
  const std::string line = "open() \"" + shared + "/locked.txt\" failed (13: Permission denied)";
  std::string log = waitForLog(line);
  EXPECT_EQ(countOf(log, line), 1u) << log;

  std::string raw = rawExchange(
      port(), "POST /up/x HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 413 ", 0), 0u) << raw.substr(0, 200);
  log = waitForLog("too large body: 11 bytes (max_body 10)");
  EXPECT_NE(log.find("client intended to send too large body: 11 bytes (max_body 10), client: "
                     "127.0.0.1:"),
            std::string::npos)
      << log;
}

// A flood of refusals (each its own connection) logs at most the budget per second, and the
// lines that were not logged are reported as one summary.
TEST_F(RefusalTest, AFloodIsRateLimitedWithASummary) {
  ASSERT_NO_FATAL_FAILURE(makeRoot());
  ASSERT_NO_FATAL_FAILURE(start());
  constexpr int kRequests = 300;
  auto t0 = Clock::now();
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_EQ(rawExchange(port(), getRequest("/flood%2F" + std::to_string(i), kClose))
                  .rfind("HTTP/1.1 400 ", 0),
              0u);
  }
  int64_t seconds = msSince(t0) / 1000 + 2;  // the seconds the flood touched, at most
  std::string log = waitForLog("refused-request lines not logged");
  size_t lines = countOf(log, "request-target refused");
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, static_cast<size_t>(20 * seconds)) << "over the budget of 20 a second";
  EXPECT_LT(lines, static_cast<size_t>(kRequests));
  EXPECT_NE(log.find("refused-request lines not logged"), std::string::npos) << log;
  // Every refusal is either a line or counted in a summary.
  uint64_t summarized = 0;
  waitFor(
      [&] {
        log = server_.log();
        uint64_t total = 0;
        for (size_t at = log.find("refused-request lines not logged"); at != std::string::npos;
             at = log.find("refused-request lines not logged", at + 1)) {
          size_t begin = log.rfind("] ", at - 2);
          total += std::stoull(log.substr(begin + 2, at - begin - 2));
        }
        summarized = total;
        return countOf(log, "request-target refused") + summarized == kRequests;
      },
      3000);
  EXPECT_EQ(countOf(log, "request-target refused") + summarized, static_cast<uint64_t>(kRequests))
      << log;
}

}  // namespace
}  // namespace hs::integration
