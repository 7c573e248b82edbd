// libstdc++ 12's <regex> (through <functional>) trips a false -Wmaybe-uninitialized when built with
// -fsanitize=address; the rest of this file is clean without it.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "AccessLog.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "HttpParser.h"

namespace hs {
namespace {

const std::regex kCombined(
    R"re(^(\S+) (\S+) (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$)re");

constexpr time_t kNow = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

// Peers are stored in a sockaddr_in6 (as Connection::peer is), which also holds a sockaddr_in.
sockaddr_in6 v4Peer(const char* ip) {
  sockaddr_in6 storage{};
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(5555);
  EXPECT_EQ(::inet_pton(AF_INET, ip, &sin.sin_addr), 1);
  std::memcpy(&storage, &sin, sizeof sin);
  return storage;
}

sockaddr_in6 v6Peer(const char* ip) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(5555);
  EXPECT_EQ(::inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
  return sin6;
}

// Runs format and returns the line without its final newline (checked to be there, once).
std::string formatLine(const AccessRecord& r, time_t now = kNow) {
  char buf[8192];
  size_t n = AccessLog::format(r, now, buf, sizeof buf);
  std::string line(buf, n);
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  if (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

class AccessLogTest : public ::testing::Test {
 protected:
  // Fixed zone so the timestamp is exact.
  void SetUp() override {
    const char* tz = ::getenv("TZ");
    if (tz != nullptr) oldTz_ = tz;
    hadTz_ = tz != nullptr;
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
  void TearDown() override {
    if (hadTz_) {
      ::setenv("TZ", oldTz_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::string oldTz_;
  bool hadTz_ = false;
};

TEST_F(AccessLogTest, FormatsCombinedLogFormat) {
  sockaddr_in6 peer = v4Peer("192.0.2.7");
  AccessRecord r{&peer, "GET /index.html HTTP/1.1", 200, 1234, "http://example.com/", "curl/8.5.0"};
  std::string line = formatLine(r);
  EXPECT_EQ(line,
            "192.0.2.7 - - [06/Nov/1994:08:49:37 +0000] \"GET /index.html HTTP/1.1\" 200 1234 "
            "\"http://example.com/\" \"curl/8.5.0\"");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(line, m, kCombined)) << line;
  EXPECT_EQ(m[1], "192.0.2.7");
  EXPECT_EQ(m[4], "06/Nov/1994:08:49:37 +0000");
  EXPECT_EQ(m[5], "GET /index.html HTTP/1.1");
  EXPECT_EQ(m[6], "200");
  EXPECT_EQ(m[7], "1234");
}

// As nginx's $body_bytes_sent: a response without a body logs 0, not the Common Log Format's "-".
TEST_F(AccessLogTest, ZeroBytesAreZeroAndEmptyHeadersAreDashes) {
  sockaddr_in6 peer = v4Peer("127.0.0.1");
  AccessRecord r{&peer, "HEAD / HTTP/1.1", 304, 0, "", ""};
  std::string line = formatLine(r);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(line, m, kCombined)) << line;
  EXPECT_EQ(m[3], "-");
  EXPECT_EQ(m[6], "304");
  EXPECT_EQ(m[7], "0");
  EXPECT_EQ(m[8], "-");
  EXPECT_EQ(m[9], "-");
}

TEST_F(AccessLogTest, LargeByteCount) {
  sockaddr_in6 peer = v4Peer("10.0.0.1");
  AccessRecord r{&peer, "GET /big HTTP/1.1", 206, UINT64_MAX, "", ""};
  std::smatch m;
  std::string line = formatLine(r);
  ASSERT_TRUE(std::regex_match(line, m, kCombined)) << line;
  EXPECT_EQ(m[7], "18446744073709551615");
}

TEST_F(AccessLogTest, Ipv6Peers) {
  struct Case {
    const char* in;
    const char* shown;
  } cases[] = {
      {"::1", "::1"},
      {"2001:db8:0:0:0:0:0:1", "2001:db8::1"},
      {"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
      {"fe80::1:2:3:4", "fe80::1:2:3:4"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    sockaddr_in6 peer = v6Peer(c.in);
    AccessRecord r{&peer, "GET / HTTP/1.1", 200, 10, "", ""};
    std::smatch m;
    std::string line = formatLine(r);
    ASSERT_TRUE(std::regex_match(line, m, kCombined)) << line;
    EXPECT_EQ(m[1], c.shown);
  }
}

TEST_F(AccessLogTest, UnknownPeerIsDash) {
  sockaddr_in6 peer{};
  AccessRecord r{&peer, "GET / HTTP/1.1", 200, 10, "", ""};
  std::smatch m;
  std::string line = formatLine(r);
  ASSERT_TRUE(std::regex_match(line, m, kCombined)) << line;
  EXPECT_EQ(m[1], "-");
}

TEST_F(AccessLogTest, HostileFieldsAreEscapedAndCannotForgeLines) {
  struct Case {
    const char* comment;
    std::string request, referer, agent;
    const char* requestShown;
    const char* agentShown;
  } cases[] = {
      {"quote", "GET /\" 200 1 \"x HTTP/1.1", "", "a\"b", "GET /\\x22 200 1 \\x22x HTTP/1.1",
       "a\\x22b"},
      {"newline forging a second line",
       "GET / HTTP/1.1\n1.2.3.4 - - [x] \"GET /\" 200 1 \"-\" \"-\"", "", "ua\r\n",
       "GET / HTTP/1.1\\x0A1.2.3.4 - - [x] \\x22GET /\\x22 200 1 \\x22-\\x22 \\x22-\\x22",
       "ua\\x0D\\x0A"},
      {"backslash", "GET /a\\b HTTP/1.1", "", "\\", "GET /a\\x5Cb HTTP/1.1", "\\x5C"},
      {"control and high bytes", std::string("GET /\x01\x7f\xff HTTP/1.1"), "",
       std::string("\t\x1b", 2), "GET /\\x01\\x7F\\xFF HTTP/1.1", "\\x09\\x1B"},
      {"NUL byte", std::string("GET /\0x HTTP/1.1", 16), "", "x", "GET /\\x00x HTTP/1.1", "x"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.comment);
    sockaddr_in6 peer = v4Peer("198.51.100.1");
    AccessRecord r{&peer, c.request, 400, 5, c.referer, c.agent};
    std::string line = formatLine(r);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, kCombined)) << line;
    EXPECT_EQ(m[5], c.requestShown);
    EXPECT_EQ(m[9], c.agentShown);
    for (char ch : line) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << static_cast<int>(ch);
  }
}

TEST_F(AccessLogTest, LongFieldsAreTruncated) {
  sockaddr_in6 peer = v4Peer("127.0.0.1");
  std::string target(5000, 'a');
  std::string agent(3000, 'b');
  AccessRecord r{&peer, target, 414, 0, agent, agent};
  std::smatch m;
  std::string line = formatLine(r);
  ASSERT_TRUE(std::regex_match(line, m, kCombined)) << line.substr(0, 200);
  EXPECT_EQ(m[5].length(), 2048);
  EXPECT_EQ(m[8].length(), 1024);
  EXPECT_EQ(m[9].length(), 1024);
}

// $remote_user as nginx fills it from "Authorization: Basic" (ngx_http_auth_basic_user).
TEST_F(AccessLogTest, RemoteUserIsTheBasicAuthUserName) {
  struct Case {
    const char* comment;
    std::string authorization;
    std::string shown;
  };
  const Case kCases[] = {
      {"user:pass", "Basic dXNlcjpwYXNz", "user"},
      {"scheme in any case, extra spaces", "bASIC   dXNlcjpwYXNz", "user"},
      {"unpadded", "Basic YWxpY2U6eA", "alice"},
      {"padded", "Basic YWxpY2U6eHg=", "alice"},
      {"anything after '=' is not looked at", "Basic Ym9iOnA=!!", "bob"},
      {"empty password", "Basic Ym9iOg==", "bob"},
      {"colon in the password", "Basic Ym9iOnA6cQ==", "bob"},
      {"quote and control byte escaped", "Basic YSJiAWM6eA==", "a\\x22b\\x01c"},
      {"UTF-8 user escaped", "Basic w6k6eA==", "\\xC3\\xA9"},
      {"no colon", "Basic dXNlcg==", "-"},
      {"empty user", "Basic OnBhc3M=", "-"},
      {"byte outside the alphabet", "Basic dXNl*jpwYXNz", "-"},
      {"impossible length", "Basic dXNlcjpwY", "-"},
      {"no credentials", "Basic ", "-"},
      {"no space after the scheme", "BasicdXNlcjpwYXNz", "-"},
      {"other scheme", "Bearer dXNlcjpwYXNz", "-"},
      {"absent", "", "-"},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.comment);
    sockaddr_in6 peer = v4Peer("127.0.0.1");
    AccessRecord r{&peer, "GET / HTTP/1.1", 200, 1, "", "", c.authorization};
    std::smatch m;
    std::string line = formatLine(r);
    ASSERT_TRUE(std::regex_match(line, m, kCombined)) << line;
    EXPECT_EQ(m[3], c.shown);
  }
}

TEST_F(AccessLogTest, LongUserNameIsTruncated) {
  sockaddr_in6 peer = v4Peer("127.0.0.1");
  // base64 of 3000 'A' bytes then ":x": "QUFB" encodes "AAA".
  std::string authorization = "Basic ";
  for (int i = 0; i < 1000; ++i) authorization += "QUFB";
  authorization += "Ong=";
  AccessRecord r{&peer, "GET / HTTP/1.1", 200, 1, "", "", authorization};
  std::smatch m;
  std::string line = formatLine(r);
  ASSERT_TRUE(std::regex_match(line, m, kCombined)) << line.substr(0, 200);
  EXPECT_EQ(m[3], std::string(1024, 'A'));
}

// fromRequest takes the fields from the bytes as received and what the parser made of them,
// including heads the parser refused.
TEST_F(AccessLogTest, RecordFromTheRequestAsReceived) {
  struct Case {
    const char* comment;
    std::string received;
    std::string line, referer = {}, agent = {}, authorization = {};
  };
  const Case kCases[] = {
      {"whole head", "GET /a?b HTTP/1.1\r\nHost: h\r\nReferer: r\r\nUser-Agent: u\r\n\r\n",
       "GET /a?b HTTP/1.1", "r", "u"},
      {"leading empty lines skipped", "\r\n\r\nGET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0"},
      {"pipelined bytes after the head", "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1",
       "GET / HTTP/1.1"},
      {"malformed method", "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", "GE(T / HTTP/1.1"},
      {"garbage bytes", "\x16\x03\x01\x02\x01", "\x16\x03\x01\x02\x01"},
      {"line cut short", "GET /partial", "GET /partial"},
      {"bare LF ends the line", "GET / HTTP/1.1\nHost: h\n\n", "GET / HTTP/1.1"},
      {"fields before a bad one are kept",
       "GET / HTTP/1.1\r\nUser-Agent: u\r\nAuthorization: Basic eDp5\r\nBad Name: v\r\n\r\n",
       "GET / HTTP/1.1", "", "u", "Basic eDp5"},
      {"nothing received", "", ""},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.comment);
    HttpParser parser;
    HttpRequest req;
    parser.parse(c.received.data(), c.received.size(), &req);
    sockaddr_in6 peer = v4Peer("127.0.0.1");
    const AccessRecord r = AccessRecord::fromRequest(&peer, c.received, req, 400, 7);
    EXPECT_EQ(r.peer, &peer);
    EXPECT_EQ(r.requestLine, c.line);
    EXPECT_EQ(r.referer, c.referer);
    EXPECT_EQ(r.userAgent, c.agent);
    EXPECT_EQ(r.authorization, c.authorization);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.bytes, 7u);
  }
}

TEST_F(AccessLogTest, EmptyRequestLineIsDash) {
  sockaddr_in6 peer = v4Peer("127.0.0.1");
  AccessRecord r{&peer, "", 400, 0, "", ""};
  std::smatch m;
  std::string line = formatLine(r);
  ASSERT_TRUE(std::regex_match(line, m, kCombined)) << line;
  EXPECT_EQ(m[5], "-");
}

TEST_F(AccessLogTest, TooSmallBufferGivesZero) {
  sockaddr_in6 peer = v4Peer("127.0.0.1");
  AccessRecord r{&peer, "GET / HTTP/1.1", 200, 1, "", ""};
  char buf[40];
  EXPECT_EQ(AccessLog::format(r, kNow, buf, sizeof buf), 0u);
}

TEST_F(AccessLogTest, Ipv4PeerInPlainSockaddrInIsNotOverread) {
  // AccessRecord::peer documents "sockaddr_in or sockaddr_in6". A sockaddr_in placed right before
  // an inaccessible page must be formatted without touching the 12 bytes a sockaddr_in6 has more.
  long page = ::sysconf(_SC_PAGESIZE);
  void* mem = ::mmap(nullptr, static_cast<size_t>(2 * page), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  char* base = static_cast<char*>(mem);
  ASSERT_EQ(::mprotect(base + page, static_cast<size_t>(page), PROT_NONE), 0);
  auto* sin = reinterpret_cast<sockaddr_in*>(base + page - static_cast<long>(sizeof(sockaddr_in)));
  sin->sin_family = AF_INET;
  ASSERT_EQ(::inet_pton(AF_INET, "203.0.113.9", &sin->sin_addr), 1);
  AccessRecord r{reinterpret_cast<const sockaddr_in6*>(sin), "GET / HTTP/1.1", 200, 1, "", ""};
  EXPECT_EXIT(
      {
        char buf[512];
        size_t n = AccessLog::format(r, kNow, buf, sizeof buf);
        std::_Exit(n > 0 && std::string_view(buf, n).rfind("203.0.113.9 ", 0) == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  ::munmap(mem, static_cast<size_t>(2 * page));
}

class AccessLogFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/accesslog_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  static std::vector<std::string> lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  std::string dir_;
};

TEST_F(AccessLogFileTest, RecordsAreBufferedThenWrittenOnFlush) {
  std::string path = dir_ + "/access.log";
  sockaddr_in6 peer = v6Peer("::1");
  AccessLog log;
  ASSERT_TRUE(log.open(path));
  EXPECT_TRUE(log.enabled());
  log.record({&peer, "GET /a HTTP/1.1", 200, 10, "", "agent"}, kNow);
  log.record({&peer, "GET /b HTTP/1.1", 404, 0, "", "agent"}, kNow + 1);
  EXPECT_TRUE(lines(path).empty());  // still buffered
  log.flush();
  std::vector<std::string> got = lines(path);
  ASSERT_EQ(got.size(), 2u);
  for (const std::string& l : got) EXPECT_TRUE(std::regex_match(l, kCombined)) << l;
  EXPECT_NE(got[0].find("\"GET /a HTTP/1.1\" 200 10"), std::string::npos);
  EXPECT_NE(got[1].find("\"GET /b HTTP/1.1\" 404 0"), std::string::npos);
}

TEST_F(AccessLogFileTest, AppendsAndFlushesOnDestruction) {
  std::string path = dir_ + "/access.log";
  { std::ofstream(path) << "existing line\n"; }
  sockaddr_in6 peer = v4Peer("127.0.0.1");
  {
    AccessLog log;
    ASSERT_TRUE(log.open(path));
    log.record({&peer, "GET / HTTP/1.1", 200, 1, "", ""}, kNow);
  }
  std::vector<std::string> got = lines(path);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "existing line");
  EXPECT_TRUE(std::regex_match(got[1], kCombined)) << got[1];
}

TEST_F(AccessLogFileTest, FlushIfDueWritesOncePerSecond) {
  std::string path = dir_ + "/access.log";
  sockaddr_in6 peer = v4Peer("127.0.0.1");
  AccessLog log;
  ASSERT_TRUE(log.open(path));
  log.record({&peer, "GET / HTTP/1.1", 200, 1, "", ""}, kNow);
  log.flush();
  time_t flushedAt = ::time(nullptr);
  log.record({&peer, "GET / HTTP/1.1", 200, 1, "", ""}, kNow);
  log.flushIfDue(flushedAt + 1);
  EXPECT_EQ(lines(path).size(), 2u);
}

TEST_F(AccessLogFileTest, ReopenFollowsRotation) {
  std::string path = dir_ + "/access.log";
  sockaddr_in6 peer = v4Peer("127.0.0.1");
  AccessLog log;
  ASSERT_TRUE(log.open(path));
  log.record({&peer, "GET /before HTTP/1.1", 200, 1, "", ""}, kNow);
  log.flush();
  ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);
  log.record({&peer, "GET /pending HTTP/1.1", 200, 1, "", ""}, kNow);
  ASSERT_TRUE(log.reopen());  // flushes the pending line to the old file first
  log.record({&peer, "GET /after HTTP/1.1", 200, 1, "", ""}, kNow);
  log.flush();
  EXPECT_EQ(lines(path + ".1").size(), 2u);
  std::vector<std::string> fresh = lines(path);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_NE(fresh[0].find("/after"), std::string::npos);
}

TEST_F(AccessLogFileTest, LongestEscapedLineIsNotDroppedWhenBufferIsPartlyFull) {
  // Every byte escaped (4x) at the field limits makes a line of about 16.5 KiB.
  std::string hostile(4096, '"');
  sockaddr_in6 peer = v4Peer("127.0.0.1");
  AccessRecord big{&peer, hostile, 400, 0, hostile, hostile};
  AccessRecord small{&peer, "GET / HTTP/1.1", 200, 1, "", ""};
  char buf[32768];
  size_t bigLen = AccessLog::format(big, kNow, buf, sizeof buf);
  size_t smallLen = AccessLog::format(small, kNow, buf, sizeof buf);
  ASSERT_GT(bigLen, 16'000u);
  ASSERT_GT(smallLen, 0u);
  // Fill the buffer until between 8 KiB and bigLen bytes are left.
  size_t fill = (AccessLog::kBufferSize - bigLen + 1024) / smallLen;
  ASSERT_LT(AccessLog::kBufferSize - fill * smallLen, bigLen);
  ASSERT_GE(AccessLog::kBufferSize - fill * smallLen, 8192u);

  std::string path = dir_ + "/access.log";
  AccessLog log;
  ASSERT_TRUE(log.open(path));
  for (size_t i = 0; i < fill; ++i) log.record(small, kNow);
  log.record(big, kNow);
  log.flush();
  std::vector<std::string> got = lines(path);
  ASSERT_EQ(got.size(), fill + 1);
  EXPECT_EQ(got.back().size() + 1, bigLen);
}

TEST_F(AccessLogFileTest, OffAndEmptyDisableLogging) {
  for (const char* path : {"", "off"}) {
    SCOPED_TRACE(path);
    AccessLog log;
    EXPECT_TRUE(log.open(path));
    EXPECT_FALSE(log.enabled());
    sockaddr_in6 peer = v4Peer("127.0.0.1");
    log.record({&peer, "GET / HTTP/1.1", 200, 1, "", ""}, kNow);  // no-op, no crash
    log.flush();
  }
  EXPECT_FALSE(std::filesystem::exists("off"));
}

TEST_F(AccessLogFileTest, UnopenablePathFails) {
  AccessLog log;
  EXPECT_FALSE(log.open(dir_ + "/no/such/dir/access.log"));
  EXPECT_FALSE(log.enabled());
}

}  // namespace
}  // namespace hs
