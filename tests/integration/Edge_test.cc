// Behind a load balancer: the PROXY protocol header (v1 and v2) and its trust list, the address it
// carries in the access log and the status page's loopback check, refusals with rate-limited
// error-log lines, real_ip_header X-Forwarded-For, and the health path with the drain on QUIT and
// WINCH.
#include <signal.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "LifecycleUtil.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

const std::string kV1 = "PROXY TCP4 192.0.2.7 10.0.0.2 51234 80\r\n";

// A v2 PROXY header for 203.0.113.5:4000 -> 10.0.0.2:80 with an ALPN TLV.
std::string v2Header() {
  const unsigned char b[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54,
                             0x0A, 0x21, 0x11, 0x00, 0x11, 203,  0,    113,  5,    10,   0,
                             0,    2,    0x0F, 0xA0, 0x00, 0x50, 0x01, 0x00, 0x02, 'h',  '2'};
  return std::string(reinterpret_cast<const char*>(b), sizeof b);
}

// v2 LOCAL: a balancer's own health check; the peer stays.
std::string v2Local() {
  const unsigned char b[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
                             0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00};
  return std::string(reinterpret_cast<const char*>(b), sizeof b);
}

std::string closeRequest(const std::string& target, const std::string& extra = "") {
  return getRequest(target, extra + "Connection: close\r\n");
}

class EdgeTest : public ServerTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);  // workers may run as another user
    log_ = dir_.path() + "/access.log";
  }
  void start(std::vector<std::string> extra) {
    ServerOptions opts;
    opts.procs = 1;
    opts.extraArgs = {"--access-log", log_, "--status-path", "/status"};
    opts.extraArgs.insert(opts.extraArgs.end(), extra.begin(), extra.end());
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }
  // The access log's first words (the client address), once `n` lines are there.
  std::vector<std::string> clients(size_t n) {
    std::vector<std::string> out;
    waitFor(
        [&] {
          out.clear();
          std::string text = readFile(log_).value_or("");
          for (size_t at = 0; at < text.size();) {
            size_t nl = text.find('\n', at);
            if (nl == std::string::npos) break;
            out.push_back(text.substr(at, text.find(' ', at) - at));
            at = nl + 1;
          }
          return out.size() >= n;
        },
        3000);
    return out;
  }
  size_t countInLog(const std::string& needle) {
    std::string text = server_.log();
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
      ++n;
    return n;
  }

  TempDir dir_;
  std::string log_;
};

TEST_F(EdgeTest, ProxyHeaderAddressReachesTheAccessLog) {
  ASSERT_NO_FATAL_FAILURE(start({"--proxy-protocol", "--set-real-ip-from", "127.0.0.0/8"}));
  Response r = fetch(port(), kV1 + closeRequest("/robots.txt"));
  EXPECT_EQ(r.status, 200) << r.error;
  // v2 with a TLV, then a second request on the same connection: the address holds for both.
  Client c(port());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.exchange(v2Header() + getRequest("/robots.txt")).status, 200);
  EXPECT_EQ(c.exchange(closeRequest("/index.html")).status, 200);
  // A header sent in pieces, the request after it in the same segment as its end.
  Client split(port());
  ASSERT_TRUE(split.ok());
  ASSERT_TRUE(split.send(kV1.substr(0, 9)));
  pace(50);
  EXPECT_EQ(split.exchange(kV1.substr(9) + closeRequest("/robots.txt")).status, 200);
  EXPECT_EQ(clients(4),
            (std::vector<std::string>{"192.0.2.7", "203.0.113.5", "203.0.113.5", "192.0.2.7"}));
}

TEST_F(EdgeTest, MissingOrMalformedHeaderClosesWithOneLogLine) {
  ASSERT_NO_FATAL_FAILURE(start({"--proxy-protocol", "--set-real-ip-from", "127.0.0.1"}));
  struct {
    const char* name;
    std::string bytes;
    const char* logged;
  } cases[] = {
      {"plain HTTP", closeRequest("/robots.txt"), "no PROXY protocol header"},
      {"bad v1 address", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n" + closeRequest("/"), "bad v1 address"},
      {"bad v2 version", std::string("\r\n\r\n\0\r\nQUIT\n\x11\x11\0\0", 16), "unsupported v2"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(rawExchange(port(), c.bytes), "");  // closed without an answer
    EXPECT_TRUE(waitFor([&] { return countInLog(c.logged) == 1; }, 2000)) << server_.log();
  }
  EXPECT_NE(server_.log().find("client: 127.0.0.1:"), std::string::npos) << server_.log();
  // The server still answers well-formed connections.
  EXPECT_EQ(fetch(port(), kV1 + closeRequest("/robots.txt")).status, 200);
}

TEST_F(EdgeTest, RefusalLinesAreRateLimited) {
  ASSERT_NO_FATAL_FAILURE(start({"--proxy-protocol", "--set-real-ip-from", "127.0.0.1"}));
  constexpr int kBad = 60;
  for (int i = 0; i < kBad; ++i) EXPECT_EQ(rawExchange(port(), "GET / HTTP/1.0\r\n\r\n"), "");
  EXPECT_EQ(fetch(port(), kV1 + closeRequest("/robots.txt")).status, 200);
  // Sixty refusals in about a second or two: a few lines per second, not sixty.
  size_t lines = countInLog("no PROXY protocol header");
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, 20u) << server_.log();
}

TEST_F(EdgeTest, UntrustedPeerIsRefused) {
  ASSERT_NO_FATAL_FAILURE(start({"--proxy-protocol", "--set-real-ip-from", "10.0.0.0/8"}));
  EXPECT_EQ(rawExchange(port(), kV1 + closeRequest("/robots.txt")), "");
  EXPECT_TRUE(waitFor([&] { return countInLog("not in set_real_ip_from") == 1; }, 2000))
      << server_.log();
}

TEST_F(EdgeTest, StatusPageJudgesTheCarriedAddress) {
  ASSERT_NO_FATAL_FAILURE(start({"--proxy-protocol", "--set-real-ip-from", "127.0.0.1"}));
  EXPECT_EQ(fetch(port(), kV1 + closeRequest("/status")).status, 403);
  EXPECT_EQ(fetch(port(), v2Local() + closeRequest("/status")).status, 200);
  EXPECT_EQ(
      fetch(port(), "PROXY TCP4 127.0.0.9 127.0.0.1 1 2\r\n" + closeRequest("/status")).status,
      200);
}

TEST_F(EdgeTest, RealIpHeaderFromTrustedPeersOnly) {
  ASSERT_NO_FATAL_FAILURE(start({"--real-ip-header", "X-Forwarded-For", "--set-real-ip-from",
                                 "127.0.0.1", "--set-real-ip-from", "10.0.0.0/8"}));
  EXPECT_EQ(fetch(port(),
                  closeRequest("/robots.txt", "X-Forwarded-For: 1.1.1.1, 192.0.2.9, 10.0.0.3\r\n"))
                .status,
            200);
  EXPECT_EQ(fetch(port(), closeRequest("/robots.txt")).status, 200);  // no header: the peer
  EXPECT_EQ(fetch(port(), closeRequest("/status", "X-Forwarded-For: 192.0.2.9\r\n")).status, 403);
  EXPECT_EQ(clients(3), (std::vector<std::string>{"192.0.2.9", "127.0.0.1", "192.0.2.9"}));
}

TEST_F(EdgeTest, RealIpHeaderIgnoredFromUntrustedPeers) {
  ASSERT_NO_FATAL_FAILURE(
      start({"--real-ip-header", "X-Forwarded-For", "--set-real-ip-from", "10.0.0.0/8"}));
  EXPECT_EQ(fetch(port(), closeRequest("/robots.txt", "X-Forwarded-For: 192.0.2.9\r\n")).status,
            200);
  EXPECT_EQ(clients(1), std::vector<std::string>{"127.0.0.1"});
}

// ---- health and drain ----

bool refused(uint16_t port) {
  TestFd fd = connectTo(port);
  return !fd.valid();
}

TEST_F(EdgeTest, QuitTurnsHealthTo503ThenServesForTheDelayThenStops) {
  ASSERT_NO_FATAL_FAILURE(start({"--health-path", "/healthz", "--drain-delay", "1500ms"}));
  Response ok = fetch(port(), closeRequest("/healthz"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok\n");
  EXPECT_EQ(ok.header("cache-control"), "no-store");
  const auto t0 = Clock::now();
  ASSERT_EQ(::kill(server_.pid(), SIGQUIT), 0);
  ASSERT_TRUE(waitFor([&] { return fetch(port(), closeRequest("/healthz")).status == 503; }, 2000));
  // Still serving normally while the balancer notices.
  EXPECT_EQ(fetch(port(), closeRequest("/robots.txt")).status, 200);
  EXPECT_TRUE(waitFor([&] { return refused(port()); }, 5000)) << "still accepting";
  const int64_t ms = msSince(t0);
  EXPECT_GE(ms, 1500) << "accepting stopped before the drain delay";
  EXPECT_TRUE(server_.waitExit(scaled(5000))) << server_.log();
  EXPECT_NE(server_.log().find("draining: the health path answers 503"), std::string::npos);
}

TEST_F(EdgeTest, WinchDrainsAndKeepsTheMasterUntilQuit) {
  ASSERT_NO_FATAL_FAILURE(start({"--health-path", "/healthz", "--drain-delay", "500ms"}));
  const auto t0 = Clock::now();
  ASSERT_EQ(::kill(server_.pid(), SIGWINCH), 0);
  ASSERT_TRUE(waitFor([&] { return fetch(port(), closeRequest("/healthz")).status == 503; }, 2000));
  EXPECT_TRUE(waitFor([&] { return refused(port()); }, 5000)) << "still accepting";
  EXPECT_GE(msSince(t0), 500);
  EXPECT_TRUE(holdsFor([&] { return server_.running(); }, 300)) << "WINCH stopped the master";
  ASSERT_EQ(::kill(server_.pid(), SIGQUIT), 0);
  EXPECT_TRUE(server_.waitExit(scaled(3000))) << server_.log();
}

TEST_F(EdgeTest, QuitWithoutHealthPathStopsAtOnce) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  EXPECT_EQ(fetch(port(), closeRequest("/healthz")).status, 404);  // no health path configured
  const auto t0 = Clock::now();
  ASSERT_EQ(::kill(server_.pid(), SIGQUIT), 0);
  EXPECT_TRUE(server_.waitExit(scaled(3000))) << server_.log();
  EXPECT_LT(msSince(t0), scaled(1500)) << "a drain delay without a health path";
}

// ---- block configs: proxy_protocol per listen address, the real-IP settings per server ----

class EdgeBlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);  // workers may run as another user
    file_ = dir_.path() + "/HttpServer.conf";
    for (uint16_t& p : ports_) {
      p = pickFreePort();
      ASSERT_NE(p, 0);
    }
  }
  // Starts the server on `servers` (server blocks, with PORT_A and PORT_B replaced by the two
  // ports) under `top` (top-level directives).
  void start(const std::string& top, std::string servers) {
    for (const auto& [mark, value] :
         {std::pair<std::string, std::string>{"PORT_A", std::to_string(ports_[0])},
          {"PORT_B", std::to_string(ports_[1])}}) {
      for (size_t at = servers.find(mark); at != std::string::npos; at = servers.find(mark))
        servers.replace(at, mark.size(), value);
    }
    // The top-level access log: the master prepares it for workers that run as another user.
    const std::string log = "access_log " + dir_.path() + "/access.log;\n";
    ASSERT_TRUE(writeFile(
        file_, "workers 1;\nconnections 100;\nroot " + siteRoot() + ";\n" + log + top + servers));
    ASSERT_TRUE(server_.start({"-c", file_}, ports_[1], 1)) << server_.error() << server_.log();
  }
  // The access log's client addresses, once `n` lines are there.
  std::vector<std::string> clients(size_t n) {
    std::vector<std::string> out;
    waitFor(
        [&] {
          out.clear();
          const std::string text = readFile(dir_.path() + "/access.log").value_or("");
          for (size_t at = 0; at < text.size();) {
            const size_t nl = text.find('\n', at);
            if (nl == std::string::npos) break;
            out.push_back(text.substr(at, text.find(' ', at) - at));
            at = nl + 1;
          }
          return out.size() >= n;
        },
        3000);
    return out;
  }

  TempDir dir_;
  std::string file_;
  uint16_t ports_[2] = {0, 0};
  LaunchedServer server_;
};

// `listen ... proxy_protocol` applies to that address only; the server's own set_real_ip_from
// list (replacing the top level's) decides who may send the header.
TEST_F(EdgeBlockTest, ProxyProtocolIsPerListenAddress) {
  ASSERT_NO_FATAL_FAILURE(start("set_real_ip_from 10.0.0.0/8;\n",
                                "server {\n listen 127.0.0.1:PORT_A proxy_protocol;\n"
                                " listen 127.0.0.1:PORT_B;\n set_real_ip_from 127.0.0.1;\n"
                                "}\n"));
  const uint16_t a = ports_[0], b = ports_[1];
  EXPECT_EQ(rawExchange(a, closeRequest("/robots.txt")), "") << "A expects a PROXY header";
  EXPECT_EQ(fetch(a, kV1 + closeRequest("/robots.txt")).status, 200);
  EXPECT_EQ(fetch(b, closeRequest("/robots.txt")).status, 200) << "B takes plain HTTP";
  EXPECT_EQ(clients(2), (std::vector<std::string>{"192.0.2.7", "127.0.0.1"})) << server_.log();
  EXPECT_EQ(rawExchange(b, kV1 + closeRequest("/robots.txt")).find("HTTP/1.1 200"),
            std::string::npos)
      << "B does not read a PROXY header";
  EXPECT_TRUE(waitFor(
      [&] { return server_.log().find("no PROXY protocol header") != std::string::npos; }, 2000))
      << server_.log();
}

// The top level's list does not trust loopback; a server without its own list inherits that.
TEST_F(EdgeBlockTest, InheritedListRefusesTheProxyHeader) {
  ASSERT_NO_FATAL_FAILURE(start("set_real_ip_from 10.0.0.0/8;\n",
                                "server {\n listen 127.0.0.1:PORT_A proxy_protocol;\n"
                                " listen 127.0.0.1:PORT_B;\n}\n"));
  EXPECT_EQ(rawExchange(ports_[0], kV1 + closeRequest("/robots.txt")), "");
  EXPECT_TRUE(waitFor(
      [&] { return server_.log().find("not in set_real_ip_from") != std::string::npos; }, 2000))
      << server_.log();
}

// real_ip_header, set_real_ip_from and health_path per server: each server uses its own or,
// without one, the top level's.
TEST_F(EdgeBlockTest, RealIpAndHealthPathPerServer) {
  ASSERT_NO_FATAL_FAILURE(
      start("set_real_ip_from 10.0.0.0/8;\nreal_ip_header X-Forwarded-For;\n",
            "server {\n listen 127.0.0.1:PORT_A;\n set_real_ip_from 127.0.0.1;\n health_path /hz;\n"
            "}\n"
            "server {\n listen 127.0.0.1:PORT_B;\n}\n"));
  const std::string xff = "X-Forwarded-For: 198.51.100.9\r\n";
  EXPECT_EQ(fetch(ports_[0], closeRequest("/robots.txt", xff)).status, 200);
  ASSERT_EQ(clients(1), std::vector<std::string>{"198.51.100.9"}) << "A trusts loopback\n"
                                                                  << server_.log();
  EXPECT_EQ(fetch(ports_[1], closeRequest("/robots.txt", xff)).status, 200);
  EXPECT_EQ(clients(2), (std::vector<std::string>{"198.51.100.9", "127.0.0.1"}))
      << "B inherits the top level's list, which does not trust loopback";
  Response hz = fetch(ports_[0], closeRequest("/hz"));
  EXPECT_EQ(hz.status, 200);
  EXPECT_EQ(hz.body, "ok\n");
  EXPECT_EQ(fetch(ports_[1], closeRequest("/hz")).status, 404) << "B has no health path";
}

}  // namespace
}  // namespace hs::integration
