// The access log next to nginx's `combined` log: the same requests go to nginx and to HttpServer,
// both serving www/, and the two logs are compared field by field (all but the time). Fields
// that may differ are listed per request with the reason; any other difference fails. Skipped
// when nginx is not installed.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "NginxProcess.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

// The fields of a combined line, in order; the time is read but never compared.
enum Field { kAddr, kIdent, kUser, kTime, kRequest, kStatus, kBytes, kReferer, kAgent, kFields };
constexpr const char* kFieldNames[kFields] = {"remote_addr",     "ident",        "remote_user",
                                              "time_local",      "request",      "status",
                                              "body_bytes_sent", "http_referer", "http_user_agent"};
using LogFields = std::array<std::string, kFields>;

// Splits `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
// "$http_referer" "$http_user_agent"`. Both servers escape '"' inside quoted fields.
bool splitCombined(const std::string& line, LogFields* out) {
  size_t i = 0;
  for (int f = 0; f < kFields; ++f) {
    const char open = f == kTime ? '[' : (f >= kRequest && f != kStatus && f != kBytes) ? '"' : 0;
    const char close = open == '[' ? ']' : open;
    if (open != 0 && (i >= line.size() || line[i++] != open)) return false;
    const size_t end = line.find(open != 0 ? close : ' ', i);
    if (end == std::string::npos && f != kAgent) return false;
    (*out)[f] = line.substr(i, end - i);
    i = end + (open != 0 ? 1 : 0);
    if (f + 1 < kFields && (i >= line.size() || line[i++] != ' ')) return false;
  }
  return i == line.size();
}

// Polls until `path` holds at least `lines` lines or timeoutMs passes; returns them.
std::vector<std::string> waitForLines(const std::string& path, size_t lines, int timeoutMs) {
  std::vector<std::string> out;
  waitFor(
      [&] {
        out.clear();
        const std::string text = readFile(path).value_or("");
        size_t start = 0;
        for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
          out.push_back(text.substr(start, nl - start));
        }
        return out.size() >= lines;
      },
      timeoutMs);
  return out;
}

struct Difference {
  Field field;
  const char* why;
};

struct Case {
  const char* name;
  std::string request;
  std::vector<Difference> mayDiffer;
};

// The HTTP-date of www/index.html's mtime, which both servers answer with a 304.
std::string indexLastModified() {
  struct stat st {};
  EXPECT_EQ(::stat((siteRoot() + "/index.html").c_str(), &st), 0);
  char buf[64];
  struct tm tm {};
  ::gmtime_r(&st.st_mtime, &tm);
  ::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::vector<Case> cases() {
  const std::string close = "Host: a\r\nConnection: close\r\n";
  const Difference errorPage{kBytes, "each server's built-in error page has its own size"};
  return {
      {"GET with Referer and User-Agent",
       "GET /index.html?x=1 HTTP/1.1\r\n" + close +
           "Referer: http://example.test/a?b=c\r\nUser-Agent: Agent \"quoted\" "
           "caf\xC3\xA9\\\r\n\r\n",
       {}},
      {"HEAD sends no body: 0", "HEAD /index.html HTTP/1.1\r\n" + close + "\r\n", {}},
      {"304 sends no body: 0",
       "GET /index.html HTTP/1.1\r\n" + close + "If-Modified-Since: " + indexLastModified() +
           "\r\n\r\n",
       {}},
      {"range", "GET /index.html HTTP/1.1\r\n" + close + "Range: bytes=0-9\r\n\r\n", {}},
      {"HTTP/1.0 without Host", "GET /style.css HTTP/1.0\r\n\r\n", {}},
      {"quote in the target", "GET /index.html?q=\"x\" HTTP/1.1\r\n" + close + "\r\n", {}},
      {"Basic user",
       "GET / HTTP/1.1\r\n" + close + "Authorization: Basic dXNlcjpwYXNz\r\n\r\n",
       {}},
      {"Basic user with a quote and a UTF-8 byte",
       "GET / HTTP/1.1\r\n" + close + "Authorization: basic  YSLDqTpw\r\n\r\n",
       {}},
      {"Basic without ':'",
       "GET / HTTP/1.1\r\n" + close + "Authorization: Basic dXNlcg==\r\n\r\n",
       {}},
      {"other scheme", "GET / HTTP/1.1\r\n" + close + "Authorization: Bearer dXNlcjpw\r\n\r\n", {}},
      {"404", "GET /no-such-file HTTP/1.1\r\n" + close + "\r\n", {errorPage}},
      {"malformed method", "GE(T /index.html HTTP/1.1\r\nHost: a\r\n\r\n", {errorPage}},
      {"binary garbage", "\x16\x03\x01\x02garbage\r\n\r\n", {errorPage}},
      {"lower-case method",
       "get / HTTP/1.1\r\n" + close + "\r\n",
       {{kStatus,
         "RFC 9110 methods are case-sensitive tokens: an unknown one is 501 here, while nginx "
         "takes only upper-case methods and refuses the rest with 400"},
        errorPage}},
  };
}

TEST(NginxLogTest, CombinedLinesMatchNginxFieldByField) {
  const std::string nginx = findNginx();
  if (nginx.empty())
    GTEST_SKIP()
        << "nginx is not installed (Debian package nginx); the access-log comparison needs it";
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);  // workers may run as an unprivileged user
  NginxProcess ngx;
  const uint16_t ngxPort = pickFreePort();
  ASSERT_TRUE(ngx.start(nginx, dir.path(), ngxPort,
                        "  server {\n    listen 127.0.0.1:" + std::to_string(ngxPort) +
                            ";\n    root " + siteRoot() + ";\n  }\n"))
      << readFile(dir.path() + "/stderr.log").value_or("")
      << readFile(dir.path() + "/error.log").value_or("");
  ServerProcess ours;
  ServerOptions opts;
  opts.procs = 1;  // one access-log buffer, so lines come in request order
  opts.extraArgs = {"--access-log", dir.path() + "/ours.log"};
  ASSERT_TRUE(ours.start(opts)) << ours.error();

  const std::vector<Case> all = cases();
  for (const Case& c : all) {
    rawExchange(ngxPort, c.request);
    rawExchange(ours.port(), c.request);
  }
  const auto theirs = waitForLines(dir.path() + "/access.log", all.size(), 5000);
  const auto mine = waitForLines(dir.path() + "/ours.log", all.size(), 5000);
  ASSERT_EQ(theirs.size(), all.size());
  ASSERT_EQ(mine.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    SCOPED_TRACE(std::string(all[i].name) + "\n  nginx: " + theirs[i] + "\n  ours:  " + mine[i]);
    LogFields a, b;
    ASSERT_TRUE(splitCombined(theirs[i], &a));
    ASSERT_TRUE(splitCombined(mine[i], &b));
    for (int f = 0; f < kFields; ++f) {
      if (f == kTime) continue;
      bool explained = false;
      for (const Difference& d : all[i].mayDiffer) explained = explained || d.field == f;
      // An explanation that no longer applies is stale: the table must stay true both ways.
      if (explained) {
        EXPECT_NE(a[f], b[f]) << kFieldNames[f] << " is listed as differing";
      } else {
        EXPECT_EQ(a[f], b[f]) << kFieldNames[f];
      }
    }
  }
}

}  // namespace
}  // namespace hs::integration
