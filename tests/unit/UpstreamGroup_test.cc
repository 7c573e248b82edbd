#include "UpstreamGroup.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace hs {
namespace {

// A group of servers named a, b, c... ("a:5" weight 5, "b:1:backup", "c:1:down"), failing after
// one failure in 10 s unless the spec says otherwise.
UpstreamGroup makeGroup(const std::vector<std::string>& servers, Balance balance,
                        uint32_t maxFails = 1, int failTimeoutMs = 10'000) {
  UpstreamGroupSpec g;
  g.name = "g";
  g.balance = balance;
  for (const std::string& s : servers) {
    UpstreamServerSpec spec;
    spec.address = s.substr(0, 1);
    spec.weight = s.size() > 2 ? static_cast<uint32_t>(std::stoul(s.substr(2))) : 1;
    spec.backup = s.find(":backup") != std::string::npos;
    spec.down = s.find(":down") != std::string::npos;
    spec.maxFails = maxFails;
    spec.failTimeoutMs = failTimeoutMs;
    g.servers.push_back(spec);
  }
  return UpstreamGroup(g, std::vector<Upstream*>(servers.size(), nullptr));
}

// n picks, each finished at once with `outcome`; the servers' names in order ('-' for none).
std::string picks(UpstreamGroup& g, int n, int64_t now = 1000, uint32_t key = 0,
                  UpstreamOutcome outcome = UpstreamOutcome::kSuccess) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    int s = g.pick(0, key, now);
    out += s == UpstreamGroup::kNone ? '-' : g.server(s).spec.address[0];
    if (s != UpstreamGroup::kNone) g.finish(s, outcome, now);
  }
  return out;
}

// Picks until server `want` comes (at most 10 picks; the others finish well at once); returns it,
// still active, or kNone.
int pickUntil(UpstreamGroup& g, int want, int64_t now) {
  for (int i = 0; i < 10; ++i) {
    int s = g.pick(0, 0, now);
    if (s == want) return s;
    if (s != UpstreamGroup::kNone) g.finish(s, UpstreamOutcome::kSuccess, now);
  }
  return UpstreamGroup::kNone;
}

TEST(UpstreamGroupTest, SmoothWeightedRoundRobin) {
  struct Case {
    const char* name;
    std::vector<std::string> servers;
    const char* sequence;
  };
  const Case cases[] = {
      {"nginx's example 5/1/1", {"a:5", "b:1", "c:1"}, "aabacaaaabacaa"},
      {"equal weights", {"a", "b", "c"}, "abcabc"},
      {"2/1", {"a:2", "b:1"}, "abaaba"},
      {"one server", {"a:3"}, "aaa"},
      {"a down server is skipped", {"a:5", "b:1:down", "c:1"}, "aaacaaaaacaa"},
      {"backups unused while a primary is up", {"a", "b:1:backup"}, "aaaa"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    UpstreamGroup g = makeGroup(c.servers, Balance::kRoundRobin);
    EXPECT_EQ(picks(g, static_cast<int>(std::string(c.sequence).size())), c.sequence);
  }
}

TEST(UpstreamGroupTest, LeastConnPrefersFewerRequestsForTheWeight) {
  UpstreamGroup g = makeGroup({"a", "b:2", "c"}, Balance::kLeastConn);
  // Nothing in flight: all tie, round robin by weight among them.
  int first = g.pick(0, 0, 0);
  EXPECT_EQ(g.server(first).spec.address, "b");
  // b has 1 of weight 2 (0.5), a and c none: a and c share.
  int second = g.pick(0, 0, 0);
  int third = g.pick(0, 0, 0);
  EXPECT_NE(g.server(second).spec.address, "b");
  EXPECT_NE(g.server(third).spec.address, "b");
  EXPECT_NE(second, third);
  // Each has one now: b's 1/2 is the least.
  int fourth = g.pick(0, 0, 0);
  EXPECT_EQ(g.server(fourth).spec.address, "b");
  EXPECT_EQ(g.server(fourth).active, 2u);
  // a finishes: it has none, the least.
  g.finish(second, UpstreamOutcome::kSuccess, 0);
  EXPECT_EQ(g.pick(0, 0, 0), second);
}

TEST(UpstreamGroupTest, LeastConnWithLongRequestsSpreadsEvenly) {
  UpstreamGroup g = makeGroup({"a", "b", "c"}, Balance::kLeastConn);
  std::map<int, int> counts;
  for (int i = 0; i < 30; ++i) ++counts[g.pick(0, 0, 0)];  // none finishes
  EXPECT_EQ(counts[0], 10);
  EXPECT_EQ(counts[1], 10);
  EXPECT_EQ(counts[2], 10);
}

uint32_t keyOf(const char* ip) {
  sockaddr_in6 sa{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&sa);
  v4->sin_family = AF_INET;
  ::inet_pton(AF_INET, ip, &v4->sin_addr);
  return UpstreamGroup::clientKey(&sa);
}

TEST(UpstreamGroupTest, HashIsStableAndSpreads) {
  UpstreamGroup g1 = makeGroup({"a", "b", "c"}, Balance::kHash);
  UpstreamGroup g2 = makeGroup({"a", "b", "c"}, Balance::kHash);  // another worker
  std::map<int, int> counts;
  for (int i = 0; i < 300; ++i) {
    std::string ip = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250);
    uint32_t key = keyOf(ip.c_str());
    SCOPED_TRACE(ip);
    int s = g1.pick(0, key, 0);
    g1.finish(s, UpstreamOutcome::kSuccess, 0);
    EXPECT_EQ(g1.pick(0, key, 0), s);  // the same client, the same server
    g1.finish(s, UpstreamOutcome::kSuccess, 0);
    EXPECT_EQ(g2.pick(0, key, 0), s);  // in every worker
    g2.finish(s, UpstreamOutcome::kSuccess, 0);
    ++counts[s];
  }
  for (int s = 0; s < 3; ++s) {
    SCOPED_TRACE(s);
    EXPECT_GT(counts[s], 60);  // each gets a fair share (100 expected)
  }
  EXPECT_EQ(UpstreamGroup::clientKey(nullptr), 0u);
  EXPECT_NE(keyOf("10.0.0.1"), keyOf("10.0.0.2"));
}

TEST(UpstreamGroupTest, HashSkipsAFailedServerAndComesBack) {
  UpstreamGroup g = makeGroup({"a", "b", "c"}, Balance::kHash);
  uint32_t key = keyOf("192.0.2.7");
  int home = g.pick(0, key, 0);
  g.finish(home, UpstreamOutcome::kFailure, 0);  // max_fails=1: out for 10 s
  EXPECT_TRUE(g.isDown(home));
  int other = g.pick(0, key, 100);
  EXPECT_NE(other, home);
  g.finish(other, UpstreamOutcome::kSuccess, 100);
  EXPECT_EQ(g.pick(0, key, 200), other);  // stable while home is out
  g.finish(other, UpstreamOutcome::kSuccess, 200);
  EXPECT_EQ(g.pick(0, key, 10'000), home);  // its probe
  g.finish(home, UpstreamOutcome::kSuccess, 10'000);
  EXPECT_FALSE(g.isDown(home));
  EXPECT_EQ(g.pick(0, key, 10'001), home);
}

TEST(UpstreamGroupTest, MaxFailsWithinFailTimeoutThenOneProbe) {
  // Servers a and b, max_fails=2, fail_timeout=10 s; the clock is passed in.
  UpstreamGroup g = makeGroup({"a", "b"}, Balance::kRoundRobin, 2, 10'000);
  auto failA = [&](int64_t now) {
    int s = pickUntil(g, 0, now);
    ASSERT_EQ(s, 0);
    g.finish(s, UpstreamOutcome::kFailure, now);
  };
  failA(0);
  failA(11'000);  // the first failure is older than fail_timeout: a new window
  EXPECT_FALSE(g.isDown(0));
  failA(12'000);  // two within 10 s: out
  EXPECT_TRUE(g.isDown(0));
  EXPECT_EQ(g.server(0).failures, 3u);
  EXPECT_EQ(picks(g, 6, 12'001), "bbbbbb");
  EXPECT_EQ(picks(g, 4, 21'999), "bbbb");  // still within fail_timeout
  // Over: one request probes a; while it runs, no other goes there.
  int probe = pickUntil(g, 0, 22'000);
  EXPECT_EQ(probe, 0);
  EXPECT_EQ(picks(g, 4, 22'001), "bbbb");
  // The probe fails: out for another fail_timeout.
  g.finish(probe, UpstreamOutcome::kFailure, 22'500);
  EXPECT_EQ(picks(g, 4, 32'000), "bbbb");
  probe = pickUntil(g, 0, 32'500);
  EXPECT_EQ(probe, 0);
  g.finish(probe, UpstreamOutcome::kSuccess, 32'600);  // back
  EXPECT_FALSE(g.isDown(0));
  EXPECT_NE(picks(g, 6, 32'700).find('a'), std::string::npos);
}

TEST(UpstreamGroupTest, AProbeThatNeverEndsAllowsAnotherAfterFailTimeout) {
  UpstreamGroup g = makeGroup({"a", "b"}, Balance::kRoundRobin, 1, 1'000);
  g.finish(g.pick(0, 0, 0), UpstreamOutcome::kFailure, 0);  // a out until 1000
  int probe = pickUntil(g, 0, 1'000);
  ASSERT_EQ(probe, 0);
  g.finish(probe, UpstreamOutcome::kNeither, 1'100);  // its client went away
  EXPECT_EQ(picks(g, 3, 1'500), "bbb");
  EXPECT_EQ(pickUntil(g, 0, 2'000), 0);
}

TEST(UpstreamGroupTest, BackupsOnlyWhenEveryPrimaryIsDown) {
  UpstreamGroup g = makeGroup({"a", "b", "c:1:backup", "d:1:backup"}, Balance::kRoundRobin);
  EXPECT_EQ(picks(g, 4), "abab");
  g.finish(g.pick(0, 0, 1000), UpstreamOutcome::kFailure, 1000);  // a out
  EXPECT_EQ(picks(g, 2, 1001), "bb");
  g.finish(g.pick(0, 0, 1002), UpstreamOutcome::kFailure, 1002);  // b out
  EXPECT_EQ(picks(g, 4, 1003), "cdcd");
  // The backups fail too: no live upstreams.
  picks(g, 2, 1004, 0, UpstreamOutcome::kFailure);
  EXPECT_EQ(picks(g, 2, 1005), "--");
  // a's fail_timeout is over: its probe, before any backup.
  EXPECT_EQ(picks(g, 1, 11'000), "a");
}

TEST(UpstreamGroupTest, TriedServersAreSkippedThenBackups) {
  UpstreamGroup g = makeGroup({"a", "b", "c:1:backup"}, Balance::kRoundRobin);
  EXPECT_EQ(g.pick(0b001, 0, 0), 1);
  EXPECT_EQ(g.pick(0b010, 0, 0), 0);
  EXPECT_EQ(g.pick(0b011, 0, 0), 2);  // every primary tried: the backup
  EXPECT_EQ(g.pick(0b111, 0, 0), UpstreamGroup::kNone);
}

TEST(UpstreamGroupTest, ASingleServerIsNeverTakenOut) {
  UpstreamGroup g = makeGroup({"a"}, Balance::kRoundRobin);
  picks(g, 5, 0, 0, UpstreamOutcome::kFailure);
  EXPECT_FALSE(g.isDown(0));
  EXPECT_EQ(g.server(0).failures, 5u);
  EXPECT_EQ(picks(g, 1, 1), "a");
}

TEST(UpstreamGroupTest, MaxFailsZeroNeverTakesOut) {
  UpstreamGroup g = makeGroup({"a", "b"}, Balance::kRoundRobin, 0);
  picks(g, 10, 0, 0, UpstreamOutcome::kFailure);
  EXPECT_FALSE(g.isDown(0));
  EXPECT_FALSE(g.isDown(1));
  EXPECT_EQ(picks(g, 2, 1), "ab");
}

TEST(UpstreamGroupTest, CountsRequestsAndActive) {
  UpstreamGroup g = makeGroup({"a", "b"}, Balance::kRoundRobin);
  int s = g.pick(0, 0, 0);
  EXPECT_EQ(g.server(s).active, 1u);
  EXPECT_EQ(g.server(s).requests, 1u);
  g.finish(s, UpstreamOutcome::kNeither, 0);
  EXPECT_EQ(g.server(s).active, 0u);
  EXPECT_EQ(g.server(s).failures, 0u);
  EXPECT_FALSE(g.isDown(s));
}

}  // namespace
}  // namespace hs
