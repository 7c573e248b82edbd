#include "AccessRules.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <vector>

namespace hs {
namespace {

// A sockaddr_in or sockaddr_in6 for `ip`.
sockaddr_storage peer(const char* ip) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, ip, &v6->sin6_addr), 1) << ip;
    v6->sin6_family = AF_INET6;
  }
  return ss;
}

AccessRules rules(const std::vector<std::pair<bool, const char*>>& list) {
  AccessRules r;
  for (const auto& [allow, text] : list) {
    AccessRule rule;
    std::string err;
    EXPECT_TRUE(AccessRules::parse(text, allow, &rule, &err)) << text << ": " << err;
    r.add(rule);
  }
  return r;
}

TEST(AccessRulesTest, FirstMatchingRuleDecides) {
  const AccessRules office = rules({{true, "192.168.0.0/16"},
                                    {true, "::1"},
                                    {false, "10.1.2.3"},
                                    {true, "10.0.0.0/8"},
                                    {true, "fd00::/8"},
                                    {true, "172.16.0.1/12"},  // host bits are cleared
                                    {false, "all"}});
  struct Case {
    const char* ip;
    bool allowed;
  };
  const Case cases[] = {
      {"192.168.1.1", true},
      {"192.169.0.1", false},
      {"::1", true},
      {"::2", false},
      {"10.1.2.3", false},
      {"10.1.2.4", true},
      {"fdff::1", true},
      {"fe00::1", false},
      {"172.31.255.255", true},
      {"172.32.0.0", false},
      {"127.0.0.1", false},
      {"::ffff:192.168.3.4", true},
      {"::ffff:10.1.2.3", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.ip);
    const sockaddr_storage ss = peer(c.ip);
    EXPECT_EQ(office.allows(reinterpret_cast<const sockaddr*>(&ss)), c.allowed);
  }
}

TEST(AccessRulesTest, NoRuleAllowsAndPrefixBoundaries) {
  const sockaddr_storage ss = peer("203.0.113.9");
  const auto* sa = reinterpret_cast<const sockaddr*>(&ss);
  EXPECT_TRUE(AccessRules().allows(sa));
  EXPECT_TRUE(rules({{false, "203.0.113.8/32"}}).allows(sa));
  EXPECT_FALSE(rules({{false, "203.0.113.8/31"}}).allows(sa));
  EXPECT_FALSE(rules({{false, "0.0.0.0/0"}}).allows(sa));
  EXPECT_TRUE(rules({{false, "::/0"}}).allows(sa));  // an IPv6 rule never matches IPv4
  EXPECT_FALSE(rules({{false, "203.0.113.9/29"}}).allows(sa));
}

TEST(AccessRulesTest, MatchesTellsWhetherAnyRuleCovers) {
  struct {
    const char* name;
    const char* ip;
    bool want;
  } cases[] = {
      {"inside the IPv4 network", "10.1.2.3", true},
      {"outside it", "11.0.0.1", false},
      {"IPv4-mapped IPv6 inside", "::ffff:10.1.2.3", true},
      {"inside the IPv6 network", "fd00::5", true},
      {"outside it", "2001:db8::1", false},
  };
  const AccessRules trusted = rules({{true, "10.0.0.0/8"}, {true, "fd00::/8"}});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const sockaddr_storage ss = peer(c.ip);
    EXPECT_EQ(trusted.matches(reinterpret_cast<const sockaddr*>(&ss)), c.want);
  }
  const sockaddr_storage ss = peer("10.1.2.3");
  EXPECT_FALSE(AccessRules().matches(reinterpret_cast<const sockaddr*>(&ss)));
}

TEST(AccessRulesTest, RejectsMalformedRules) {
  for (const char* bad : {"", "none", "1.2.3.4/33", "::1/129", "1.2.3.4/", "1.2.3.4/x", "1.2.3/8",
                          "1.2.3.4/-1", "[::1]"}) {
    SCOPED_TRACE(bad);
    AccessRule r;
    std::string err;
    EXPECT_FALSE(AccessRules::parse(bad, true, &r, &err));
    EXPECT_FALSE(err.empty());
  }
}

}  // namespace
}  // namespace hs
