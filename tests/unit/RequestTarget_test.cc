// describeTarget derives $uri from the normalized file path when that path was accepted; the
// result must be exactly what normalizeUri gives for the target, whatever the target and buffers.
#include "RequestTarget.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>

#include "HttpParser.h"
#include "UrlPath.h"

namespace hs {
namespace {

// $uri as describeTarget leaves it for `target` with buffers of `pathCap` and `uriCap` bytes.
std::string describedUri(const std::string& target, size_t pathCap, size_t uriCap) {
  const std::string raw = "GET " + target + " HTTP/1.1\r\nHost: a.test\r\n\r\n";
  HttpParser parser;
  HttpRequest req;
  EXPECT_EQ(parser.parse(raw.data(), raw.size(), &req), ParseStatus::kDone) << raw;
  RequestContext ctx;
  ctx.req = &req;
  ctx.base = raw.data();
  std::string path(pathCap, '\0'), uri(uriCap, '\0'), host(64, '\0');
  describeTarget(ctx,
                 TargetBuffers{path.data(), pathCap, uri.data(), uriCap, host.data(), 64, nullptr});
  EXPECT_EQ(ctx.uri.data(), uri.data());
  if (!ctx.uri.empty()) {
    EXPECT_EQ(ctx.uri.data()[ctx.uri.size()], '\0');
  }
  return std::string(ctx.uri);
}

std::string expectedUri(const std::string& target, size_t uriCap) {
  std::string uri(uriCap, '\0');
  return uri.substr(0, normalizeUri(target, uri.data(), uriCap));
}

TEST(RequestTargetTest, UriEqualsNormalizeUri) {
  struct Case {
    const char* name;
    std::string target;
    size_t pathCap;
    size_t uriCap;
  };
  const std::string longSeg(40, 'x');
  const Case cases[] = {
      {"root", "/", 64, 64},
      {"file", "/a/b.html", 64, 64},
      {"directory", "/a/b/", 64, 64},
      {"query", "/a/b?x=/../y", 64, 64},
      {"merged slashes", "//a///b//", 64, 64},
      {"dot segments", "/a/./b/../c/.", 64, 64},
      {"climbs above the root", "/../../a", 64, 64},
      {"escapes", "/a%20b/%41", 64, 64},
      {"hidden segment (file path 404)", "/.git/config", 64, 64},
      {"well-known", "/.well-known/x", 64, 64},
      {"backslash (file path 400)", "/a%5Cb", 64, 64},
      {"encoded slash", "/a%2Fb", 64, 64},
      {"absolute form", "http://a.test/x/y/", 64, 64},
      {"absolute form without path", "http://a.test", 64, 64},
      {"fits the path buffer, not $uri", "/" + longSeg, 64, 42},
      {"fits both exactly", "/" + longSeg, 64, 43},
      {"long segment dropped by ..", "/" + longSeg + "/../a", 64, 42},
      {"long segment dropped, larger $uri", "/" + longSeg + "/../a", 64, 64},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(describedUri(c.target, c.pathCap, c.uriCap), expectedUri(c.target, c.uriCap));
  }
}

TEST(RequestTargetTest, UriEqualsNormalizeUriOnRandomTargets) {
  static constexpr char kAlphabet[] = "/./../a%2e%2E%5c%2f%41?b";
  std::mt19937 rng(4242);
  int nonEmpty = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string target = "/";
    const size_t n = rng() % 24;
    for (size_t k = 0; k < n; ++k) target += kAlphabet[rng() % (sizeof kAlphabet - 1)];
    const size_t cap = rng() % 4 == 0 ? 3 + rng() % 20 : 256;
    SCOPED_TRACE(target + " cap " + std::to_string(cap));
    const std::string want = expectedUri(target, cap);
    ASSERT_EQ(describedUri(target, 256, cap), want);
    if (!want.empty()) ++nonEmpty;
  }
  EXPECT_GT(nonEmpty, 5000);  // the generator reaches accepted targets too
}

// The host a request is routed by, and its status, as describeTarget leaves them with `memo`
// (nullptr: none) for a request with this target and Host header line ("" : none).
std::pair<std::string, int> describedHost(const std::string& target, const std::string& hostLine,
                                          const HostMemo* memo) {
  const std::string version = hostLine.empty() ? "HTTP/1.0" : "HTTP/1.1";  // 1.1 needs a Host
  const std::string raw = "GET " + target + " " + version + "\r\n" + hostLine + "\r\n";
  HttpParser parser;
  HttpRequest req;
  EXPECT_EQ(parser.parse(raw.data(), raw.size(), &req), ParseStatus::kDone) << raw;
  RequestContext ctx;
  ctx.req = &req;
  ctx.base = raw.data();
  std::string path(256, '\0'), uri(256, '\0'), host(64, '\0');
  describeTarget(ctx, TargetBuffers{path.data(), 256, uri.data(), 256, host.data(), 64, memo});
  return {std::string(ctx.host), ctx.hostStatus};
}

// A host remembered by the worker's memo is described exactly as a fresh one, first time and
// every time after, whatever case, port, dots or brackets it has, valid or not.
TEST(RequestTargetTest, RememberedHostsAreDescribedAsFreshOnes) {
  struct Case {
    std::string target;
    std::string hostLine;
  };
  const Case cases[] = {
      {"/", "Host: example.test\r\n"},
      {"/", "Host: Example.TEST:8080\r\n"},
      {"/", "Host: a.example.test.:80\r\n"},
      {"/", "Host: [::FFFF:1.2.3.4]:8080\r\n"},
      {"/", "Host: 127.0.0.1:8080\r\n"},
      {"/", "Host: a..b\r\n"},
      {"/", "Host: :80\r\n"},
      {"/", "Host: .\r\n"},
      {"/", ""},
      {"http://B.Test:81/x", "Host: other.test\r\n"},
      {"http:///x", "Host: other.test\r\n"},
      {"/", "Host: " + std::string(70, 'h') + "\r\n"},   // longer than the 64-byte buffer
      {"/", "Host: " + std::string(120, 'H') + "\r\n"},  // longer than the memo keeps
  };
  HostMemo memo;
  memo.enable();
  for (int round = 0; round < 3; ++round) {
    for (const Case& c : cases) {
      SCOPED_TRACE(c.target + " " + c.hostLine);
      EXPECT_EQ(describedHost(c.target, c.hostLine, &memo),
                describedHost(c.target, c.hostLine, nullptr));
    }
  }
}

}  // namespace
}  // namespace hs
