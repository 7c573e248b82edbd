// ProxyParser: every header is fed whole, split at every offset and one byte at a time, each call
// with everything received so far placed at the end of a guard page; status, length, addresses
// and the error must agree.
#include "ProxyProtocol.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "GuardedBuffer.h"
#include "SplitFeed.h"

namespace hs {
namespace {

struct Result {
  ProxyStatus status = ProxyStatus::kNeedMore;
  size_t consumed = 0;
  int version = 0;
  bool local = false;
  std::string source;  // "ADDR PORT", or "" when the header carries none
  std::string dest;
  std::string error;
  bool operator==(const Result&) const = default;
};

void PrintTo(const Result& r, std::ostream* os) {
  *os << "{status=" << static_cast<int>(r.status) << " consumed=" << r.consumed
      << " v=" << r.version << " local=" << r.local << " src='" << r.source << "' dst='" << r.dest
      << "' error='" << r.error << "'}";
}

std::string show(const ProxyAddress& a) {
  if (a.family == 0) return "";
  char text[INET6_ADDRSTRLEN];
  inet_ntop(a.family == 4 ? AF_INET : AF_INET6, a.addr, text, sizeof text);
  return std::string(text) + " " + std::to_string(a.port);
}

Result feedPieces(std::string_view input, const std::vector<size_t>& cuts) {
  GuardedBuffer guard(input.size());
  ProxyParser parser;
  ProxyHeader h;
  Result r;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    r.status = parser.parse(guard.place(input.substr(0, end)), end, &h);
    if (r.status != ProxyStatus::kNeedMore) break;
  }
  if (r.status == ProxyStatus::kDone) {
    r.consumed = parser.consumed();
    r.version = h.version;
    r.local = h.local;
    r.source = show(h.source);
    r.dest = show(h.dest);
  } else if (r.status == ProxyStatus::kError) {
    r.error = parser.error();
  }
  return r;
}

// A v2 header: signature, version/command, family, length, then `body`.
std::string v2(uint8_t verCmd, uint8_t family, const std::string& body, int lengthDelta = 0) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  const size_t len = body.size() + static_cast<size_t>(lengthDelta);
  h += static_cast<char>(verCmd);
  h += static_cast<char>(family);
  h += static_cast<char>(len >> 8);
  h += static_cast<char>(len & 0xFF);
  return h + body;
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s += static_cast<char>(x);
  return s;
}

// 192.0.2.7:51234 -> 10.0.0.2:80
const std::string kInet = bytes({192, 0, 2, 7, 10, 0, 0, 2, 0xC8, 0x22, 0, 80});
// 2001:db8::7:443 -> 2001:db8::2:80
const std::string kInet6 =
    bytes({0x20, 1,    0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    7,    0x20, 1,
           0x0d, 0xb8, 0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x01, 0xBB, 0,    80});
// Two TLVs: ALPN "h2" and a NOOP of 3 bytes.
const std::string kTlvs = bytes({0x01, 0, 2, 'h', '2', 0x04, 0, 3, 0, 0, 0});
const std::string kRequest = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

struct Case {
  const char* name;
  std::string input;
  Result want;
};

Result done(size_t consumed, int version, std::string src, std::string dst, bool local = false) {
  return Result{ProxyStatus::kDone, consumed, version, local, src, dst, ""};
}
Result error(const char* why) { return Result{ProxyStatus::kError, 0, 0, false, "", "", why}; }
Result needMore() { return Result{}; }

const std::string kV1Tcp4 = "PROXY TCP4 192.0.2.7 10.0.0.2 51234 80\r\n";
const std::string kV1Tcp6 = "PROXY TCP6 2001:db8::7 2001:db8::2 443 80\r\n";

std::vector<Case> validCases() {
  return {
      {"v1 TCP4", kV1Tcp4 + kRequest, done(kV1Tcp4.size(), 1, "192.0.2.7 51234", "10.0.0.2 80")},
      {"v1 TCP6", kV1Tcp6 + kRequest, done(kV1Tcp6.size(), 1, "2001:db8::7 443", "2001:db8::2 80")},
      {"v1 UNKNOWN alone", "PROXY UNKNOWN\r\nGET", done(15, 1, "", "")},
      {"v1 UNKNOWN with addresses ignored", "PROXY UNKNOWN ffff::1 ::2 1 2\r\n",
       done(31, 1, "", "")},
      {"v1 ports at their bounds", "PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n",
       done(36, 1, "1.2.3.4 0", "5.6.7.8 65535")},
      {"v1 longest TCP6 line",
       "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
       " 65535 65535\r\n",
       done(104, 1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535")},
      {"v1 longest line (107 bytes)",
       "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
       " 65535 65535\r\n",
       done(107, 1, "", "")},
      {"v2 PROXY TCP over IPv4", v2(0x21, 0x11, kInet) + kRequest,
       done(28, 2, "192.0.2.7 51234", "10.0.0.2 80")},
      {"v2 PROXY UDP over IPv4", v2(0x21, 0x12, kInet),
       done(28, 2, "192.0.2.7 51234", "10.0.0.2 80")},
      {"v2 PROXY TCP over IPv6", v2(0x21, 0x21, kInet6) + kRequest,
       done(52, 2, "2001:db8::7 443", "2001:db8::2 80")},
      {"v2 PROXY IPv4 with TLVs skipped", v2(0x21, 0x11, kInet + kTlvs) + kRequest,
       done(28 + kTlvs.size(), 2, "192.0.2.7 51234", "10.0.0.2 80")},
      {"v2 PROXY IPv6 with TLVs skipped", v2(0x21, 0x21, kInet6 + kTlvs),
       done(52 + kTlvs.size(), 2, "2001:db8::7 443", "2001:db8::2 80")},
      {"v2 PROXY AF_UNSPEC: no address", v2(0x21, 0x00, "") + kRequest, done(16, 2, "", "")},
      {"v2 PROXY AF_UNSPEC with TLVs", v2(0x21, 0x00, kTlvs), done(16 + kTlvs.size(), 2, "", "")},
      {"v2 PROXY AF_UNIX: no IP address", v2(0x21, 0x31, std::string(216, 'x')),
       done(232, 2, "", "")},
      {"v2 LOCAL", v2(0x20, 0x00, "") + kRequest, done(16, 2, "", "", true)},
      {"v2 LOCAL ignores the family and its block", v2(0x20, 0x11, kInet),
       done(28, 2, "", "", true)},
      {"v2 LOCAL ignores an unknown family", v2(0x20, 0xFF, "abc"), done(19, 2, "", "", true)},
      {"v2 TLV with an empty value", v2(0x21, 0x11, kInet + bytes({0x05, 0, 0})),
       done(31, 2, "192.0.2.7 51234", "10.0.0.2 80")},
  };
}

std::vector<Case> badCases() {
  return {
      {"plain HTTP", kRequest, error("no PROXY protocol header")},
      {"PUT shares the first letter", "PUT / HTTP/1.1\r\n", error("no PROXY protocol header")},
      {"lowercase proxy", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", error("no PROXY protocol header")},
      {"TLS hello", bytes({0x16, 3, 1, 0, 0x20}), error("no PROXY protocol header")},
      {"v1 unknown protocol", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", error("unknown v1 protocol")},
      {"v1 no protocol", "PROXY \r\n", error("malformed v1 line")},
      {"v1 missing port", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", error("malformed v1 line")},
      {"v1 extra word", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", error("malformed v1 line")},
      {"v1 double space", "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", error("malformed v1 line")},
      {"v1 trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", error("malformed v1 line")},
      {"v1 IPv6 address under TCP4", "PROXY TCP4 ::1 ::2 1 2\r\n", error("bad v1 address")},
      {"v1 IPv4 address under TCP6", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", error("bad v1 address")},
      {"v1 octet over 255", "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", error("bad v1 address")},
      {"v1 hostname", "PROXY TCP4 localhost 5.6.7.8 1 2\r\n", error("bad v1 address")},
      {"v1 port over 65535", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", error("bad v1 port")},
      {"v1 port with a leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", error("bad v1 port")},
      {"v1 signed port", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", error("bad v1 port")},
      {"v1 bare LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", error("v1 line not ended by CRLF")},
      {"v1 CR not before LF", "PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n", error("bad byte in v1 line")},
      {"v1 NUL byte", std::string("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 33),
       error("bad byte in v1 line")},
      {"v1 high byte", "PROXY UNKNOWN \xff\r\n", error("bad byte in v1 line")},
      {"v1 no CRLF in 107 bytes", "PROXY UNKNOWN " + std::string(100, 'x'),
       error("v1 line too long")},
      {"v1 CR at the last allowed byte, no LF", "PROXY UNKNOWN " + std::string(92, 'x') + "\r0\r\n",
       error("v1 line too long")},
      {"v1 line of 108 bytes", "PROXY UNKNOWN " + std::string(92, 'x') + "\r\n",
       error("v1 line too long")},
      {"v2 bad signature", std::string("\r\n\r\n\0\r\nQUIT\r", 12), error("bad v2 signature")},
      {"v2 signature of a v1-looking CRLF", "\r\nGET", error("bad v2 signature")},
      {"v2 version 1", v2(0x11, 0x11, kInet), error("unsupported v2 version")},
      {"v2 version 3", v2(0x31, 0x11, kInet), error("unsupported v2 version")},
      {"v2 command 2", v2(0x22, 0x11, kInet), error("unknown v2 command")},
      {"v2 family 4", v2(0x21, 0x41, kInet), error("unsupported v2 address family")},
      {"v2 protocol 3", v2(0x21, 0x13, kInet), error("unsupported v2 address family")},
      {"v2 IPv4 with protocol UNSPEC", v2(0x21, 0x10, kInet),
       error("unsupported v2 address family")},
      {"v2 UNSPEC address with a protocol", v2(0x21, 0x01, ""),
       error("unsupported v2 address family")},
      {"v2 IPv4 block too short", v2(0x21, 0x11, kInet.substr(0, 11)),
       error("v2 addresses do not fit the header")},
      {"v2 IPv6 block too short", v2(0x21, 0x21, kInet),
       error("v2 addresses do not fit the header")},
      {"v2 UNIX block too short", v2(0x21, 0x31, std::string(215, 'x')),
       error("v2 addresses do not fit the header")},
      {"v2 TLV header cut", v2(0x21, 0x11, kInet + bytes({0x01, 0})),
       error("v2 TLV overruns the header")},
      {"v2 TLV value overruns", v2(0x21, 0x11, kInet + bytes({0x01, 0, 5, 'h', '2'})),
       error("v2 TLV overruns the header")},
      {"v2 TLV length 65535", v2(0x21, 0x11, kInet + bytes({0x01, 0xFF, 0xFF})),
       error("v2 TLV overruns the header")},
      {"v2 length over the limit", v2(0x21, 0x11, kInet, 4097 - 12), error("v2 header too long")},
  };
}

std::vector<Case> truncatedCases() {
  return {
      {"nothing yet", "", needMore()},
      {"v1 prefix only", "PROXY ", needMore()},
      {"v1 without its LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", needMore()},
      {"v2 signature only", std::string("\r\n\r\n\0\r\nQUIT\n", 12), needMore()},
      {"v2 body announced, not all there", v2(0x21, 0x11, kInet).substr(0, 27), needMore()},
      {"v2 length says more than sent", v2(0x21, 0x11, kInet, 1), needMore()},
  };
}

void runCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Result whole = feedPieces(c.input, {});
    EXPECT_EQ(whole, c.want);
    hs::expectSplitInvariant(c.input, whole, feedPieces);
  }
}

TEST(ProxyParserTest, ParsesValidHeadersInEverySplit) { runCases(validCases()); }
TEST(ProxyParserTest, RefusesMalformedHeadersInEverySplit) { runCases(badCases()); }
TEST(ProxyParserTest, WaitsForTruncatedHeaders) { runCases(truncatedCases()); }

TEST(ProxyParserTest, StaysFailedAndResets) {
  ProxyParser p;
  ProxyHeader h;
  EXPECT_EQ(p.parse("GET", 3, &h), ProxyStatus::kError);
  EXPECT_EQ(p.parse(kV1Tcp4.data(), kV1Tcp4.size(), &h), ProxyStatus::kError);
  p.reset();
  EXPECT_EQ(p.parse(kV1Tcp4.data(), kV1Tcp4.size(), &h), ProxyStatus::kDone);
  EXPECT_EQ(p.consumed(), kV1Tcp4.size());
}

TEST(ProxyParserTest, ToSockaddr) {
  struct {
    const char* name;
    std::string header;
    int family;
    std::string text;
  } cases[] = {
      {"IPv4", kV1Tcp4, AF_INET, "192.0.2.7 51234"},
      {"IPv6", kV1Tcp6, AF_INET6, "2001:db8::7 443"},
      {"none", "PROXY UNKNOWN\r\n", AF_UNSPEC, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ProxyParser p;
    ProxyHeader h;
    ASSERT_EQ(p.parse(c.header.data(), c.header.size(), &h), ProxyStatus::kDone);
    sockaddr_in6 sa;
    std::memset(&sa, 0x55, sizeof sa);
    toSockaddr(h.source, &sa);
    EXPECT_EQ(sa.sin6_family, c.family);
    char text[INET6_ADDRSTRLEN] = "";
    if (c.family == AF_INET) {
      const auto* in4 = reinterpret_cast<const sockaddr_in*>(&sa);
      inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text);
      EXPECT_EQ(std::string(text) + " " + std::to_string(ntohs(in4->sin_port)), c.text);
    } else if (c.family == AF_INET6) {
      inet_ntop(AF_INET6, &sa.sin6_addr, text, sizeof text);
      EXPECT_EQ(std::string(text) + " " + std::to_string(ntohs(sa.sin6_port)), c.text);
    }
  }
}

}  // namespace
}  // namespace hs
