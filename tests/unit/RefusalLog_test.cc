#include "RefusalLog.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hs {
namespace {

sockaddr_storage v4(const char* ip, uint16_t port) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &a->sin_addr);
  return ss;
}

sockaddr_storage v6(const char* ip, uint16_t port) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  ::inet_pton(AF_INET6, ip, &a->sin6_addr);
  return ss;
}

std::string format(const RefusalDetail& d, const sockaddr_storage& peer, std::string_view line) {
  char out[1024];
  size_t n = formatRefusal(d, peer, line, out, sizeof out);
  return std::string(out, n);
}

struct RefusalCase {
  const char* name;
  RefusalDetail detail;
  bool ipv6;
  const char* requestLine;
  LogLevel level;
  const char* text;
};

const RefusalCase kCases[] = {
    {"permission denied, as nginx writes it",
     {.kind = Refusal::kOpenFailed, .err = EACCES, .root = "/srv/www", .path = "x"},
     false,
     "GET /x HTTP/1.1",
     LogLevel::kError,
     "open() \"/srv/www/x\" failed (13: Permission denied), client: 127.0.0.1:50312, request: "
     "\"GET /x HTTP/1.1\""},
    {"a symlink leading out of the root",
     {.kind = Refusal::kOpenFailed, .err = EXDEV, .root = "/srv/www/", .path = "out/passwd"},
     false,
     "GET /out/passwd HTTP/1.1",
     LogLevel::kWarn,
     "open() \"/srv/www/out/passwd\" failed (18: Invalid cross-device link): the path leads out of "
     "the document root, client: 127.0.0.1:50312, request: \"GET /out/passwd HTTP/1.1\""},
    {"a symlink refused without openat2",
     {.kind = Refusal::kOpenFailed, .err = ELOOP, .root = "/r", .path = "l"},
     false,
     "GET /l HTTP/1.1",
     LogLevel::kWarn,
     "open() \"/r/l\" failed (40: Too many levels of symbolic links): symbolic link not followed, "
     "client: 127.0.0.1:50312, request: \"GET /l HTTP/1.1\""},
    {"an IPv6 client is bracketed",
     {.kind = Refusal::kOpenFailed, .err = EIO, .root = "/r", .path = ""},
     true,
     "GET / HTTP/1.1",
     LogLevel::kError,
     "open() \"/r/\" failed (5: Input/output error), client: [::1]:50312, request: \"GET / "
     "HTTP/1.1\""},
    {"a device",
     {.kind = Refusal::kNotRegular, .root = "/r", .path = "dev/null"},
     false,
     "GET /dev/null HTTP/1.1",
     LogLevel::kWarn,
     "\"/r/dev/null\" is not a regular file or directory, client: 127.0.0.1:50312, request: \"GET "
     "/dev/null HTTP/1.1\""},
    {"an unsafe path",
     {.kind = Refusal::kUnsafePath, .reason = "encoded '/' (%2F)"},
     false,
     "GET /a%2Fb HTTP/1.1",
     LogLevel::kInfo,
     "request-target refused: encoded '/' (%2F), client: 127.0.0.1:50312, request: \"GET /a%2Fb "
     "HTTP/1.1\""},
    {"413 with a length",
     {.kind = Refusal::kBodyTooLarge, .size = 5000000, .limit = 1048576},
     false,
     "POST /up HTTP/1.1",
     LogLevel::kInfo,
     "client intended to send too large body: 5000000 bytes (max_body 1048576), client: "
     "127.0.0.1:50312, request: \"POST /up HTTP/1.1\""},
    {"413 chunked",
     {.kind = Refusal::kBodyTooLarge, .limit = 10},
     true,
     "POST /up HTTP/1.1",
     LogLevel::kInfo,
     "client sent too large chunked body (max_body 10), client: [::1]:50312, request: \"POST /up "
     "HTTP/1.1\""},
    {"a refused PROXY protocol header",
     {.kind = Refusal::kProxyHeader, .reason = "bad v2 signature"},
     false,
     "",
     LogLevel::kError,
     "connection refused: bad v2 signature, client: 127.0.0.1:50312"},
    {"414 before a request line exists",
     {.kind = Refusal::kUriTooLong},
     false,
     "",
     LogLevel::kInfo,
     "client sent too long URI, client: 127.0.0.1:50312"},
    {"431",
     {.kind = Refusal::kHeadTooLarge},
     false,
     "",
     LogLevel::kInfo,
     "client sent too large request head, client: 127.0.0.1:50312"},
    {"a hostile request line is escaped",
     {.kind = Refusal::kUnsafePath, .reason = "malformed %-escape"},
     false,
     "GET /\"\n[error] forged\\ HTTP/1.1",
     LogLevel::kInfo,
     "request-target refused: malformed %-escape, client: 127.0.0.1:50312, request: \"GET "
     "/\\x22\\x0A[error] forged\\x5C HTTP/1.1\""},
};

TEST(RefusalLogTest, LinesAndLevels) {
  for (const RefusalCase& c : kCases) {
    SCOPED_TRACE(c.name);
    sockaddr_storage peer = c.ipv6 ? v6("::1", 50312) : v4("127.0.0.1", 50312);
    EXPECT_EQ(format(c.detail, peer, c.requestLine), c.text);
    EXPECT_EQ(refusalLevel(c.detail), c.level);
  }
}

// The longest untrusted input, every byte needing an escape: the line still ends with the client
// and a cut request, and leaves room for the log's prefix in a 1 KiB line.
TEST(RefusalLogTest, LongHostileFieldsAreCutNotTheClient) {
  std::string nasty(4096, '\x01');
  RefusalDetail d{.kind = Refusal::kOpenFailed, .err = EACCES, .root = nasty, .path = nasty};
  std::string line = format(d, v6("2001:db8::1", 65535), nasty);
  EXPECT_LE(line.size(), 1024u - 64u);
  EXPECT_NE(line.find("failed (13: Permission denied), client: [2001:db8::1]:65535, request: \""),
            std::string::npos)
      << line;
  EXPECT_TRUE(line.ends_with("\\x01...\"")) << line;
}

TEST(RefusalLogTest, UnknownPeerFamilyIsADash) {
  sockaddr_storage none{};
  EXPECT_EQ(format({.kind = Refusal::kHeadTooLarge}, none, ""),
            "client sent too large request head, client: -");
}

}  // namespace
}  // namespace hs
