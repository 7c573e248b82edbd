// forwardedClient: the rightmost untrusted address of X-Forwarded-For (or X-Real-IP) fields.
#include "RealIp.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hs {
namespace {

AccessRules trustedNets(const std::vector<std::string>& nets) {
  AccessRules rules;
  for (const std::string& n : nets) {
    AccessRule r;
    std::string err;
    EXPECT_TRUE(AccessRules::parse(n, true, &r, &err)) << n;
    rules.add(r);
  }
  return rules;
}

std::string show(const sockaddr_in6& a) {
  char text[INET6_ADDRSTRLEN] = "";
  if (a.sin6_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a)->sin_addr, text, sizeof text);
  } else if (a.sin6_family == AF_INET6) {
    inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof text);
  }
  return text;
}

struct Case {
  const char* name;
  std::string fields;  // header lines, each ending in CRLF
  std::string want;    // "" when the peer stays
};

const std::vector<std::string> kTrusted = {"10.0.0.0/8", "fd00::/8"};

const Case kCases[] = {
    {"one hop", "X-Forwarded-For: 192.0.2.7\r\n", "192.0.2.7"},
    {"rightmost untrusted of a chain", "X-Forwarded-For: 198.51.100.1, 192.0.2.7, 10.0.0.9\r\n",
     "192.0.2.7"},
    {"a client's forged left part is ignored", "X-Forwarded-For: 1.1.1.1, 192.0.2.7\r\n",
     "192.0.2.7"},
    {"all trusted: the leftmost", "X-Forwarded-For: 10.1.1.1, 10.2.2.2\r\n", "10.1.1.1"},
    {"name in any case, OWS around", "x-forwarded-for:   192.0.2.7 \t\r\n", "192.0.2.7"},
    {"no spaces after commas", "X-Forwarded-For: 192.0.2.8,10.0.0.1\r\n", "192.0.2.8"},
    {"IPv6", "X-Forwarded-For: 2001:db8::7, fd00::1\r\n", "2001:db8::7"},
    {"bracketed IPv6", "X-Forwarded-For: [2001:db8::7]\r\n", "2001:db8::7"},
    {"two fields read as one list", "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 10.0.0.2\r\n",
     "192.0.2.1"},
    {"the last field decides first",
     "X-Forwarded-For: 192.0.2.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.2\r\n", "192.0.2.2"},
    {"other headers ignored", "Host: a\r\nX-Forwarded-Forx: 192.0.2.1\r\n", ""},
    {"no field", "Host: a\r\n", ""},
    {"empty field", "X-Forwarded-For:\r\n", ""},
    {"not an address", "X-Forwarded-For: unknown\r\n", ""},
    {"a bad entry on the walk keeps the peer", "X-Forwarded-For: 192.0.2.7, junk, 10.0.0.1\r\n",
     ""},
    {"a bad entry left of the answer is never read", "X-Forwarded-For: junk, 192.0.2.7\r\n",
     "192.0.2.7"},
    {"an address with a port is refused", "X-Forwarded-For: 192.0.2.7:80\r\n", ""},
    {"bare LF lines", "X-Forwarded-For: 192.0.2.7\n", "192.0.2.7"},
};

TEST(RealIpTest, RightmostUntrustedAddress) {
  const AccessRules trusted = trustedNets(kTrusted);
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const std::string head = "GET / HTTP/1.1\r\n" + c.fields + "\r\n";
    sockaddr_in6 peer{};
    peer.sin6_family = AF_INET6;  // a marker: stays when nothing is found
    const bool found = forwardedClient(head, "X-Forwarded-For", trusted, &peer);
    EXPECT_EQ(found, !c.want.empty());
    EXPECT_EQ(found ? show(peer) : "", c.want);
    if (!found) {
      EXPECT_EQ(show(peer), "::");
    }
  }
}

TEST(RealIpTest, OtherHeaderName) {
  const AccessRules trusted = trustedNets(kTrusted);
  sockaddr_in6 peer{};
  const std::string head =
      "GET / HTTP/1.1\r\nX-Real-IP: 192.0.2.9\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n";
  ASSERT_TRUE(forwardedClient(head, "X-Real-IP", trusted, &peer));
  EXPECT_EQ(show(peer), "192.0.2.9");
}

TEST(RealIpTest, ManyFieldsKeepTheLastOnes) {
  const AccessRules trusted = trustedNets(kTrusted);
  std::string head = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 40; ++i) head += "X-Forwarded-For: 10.0.0." + std::to_string(i) + "\r\n";
  head += "X-Forwarded-For: 192.0.2.1\r\n\r\n";
  sockaddr_in6 peer{};
  ASSERT_TRUE(forwardedClient(head, "X-Forwarded-For", trusted, &peer));
  EXPECT_EQ(show(peer), "192.0.2.1");
}

}  // namespace
}  // namespace hs
