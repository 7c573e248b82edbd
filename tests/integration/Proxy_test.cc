// The reverse proxy end to end: the real server with proxy_pass locations in front of a Go
// net/http backend (tests/integration/proxy_backend.go, built here with the system's go) and of a
// raw-socket fake upstream that sends smuggling-shaped responses. Skips in one line without go.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

// Builds the backend once per run. Returns "" with *skip set when go is missing, or with *why
// set when the build failed.
const std::string& backendBinary(std::string* skip, std::string* why) {
  static TempDir dir;
  static std::string binary, missing, failure;
  static bool tried = false;
  if (!tried) {
    tried = true;
    const std::string src =
        std::filesystem::absolute(siteRoot() + "/../tests/integration/proxy_backend.go");
    if (runShell("command -v go", 5000).exitCode != 0) {
      missing = "go is not installed (golang-go)";
    } else {
      RunResult r = runShell("cd " + dir.path() + " && GOCACHE=" + dir.path() + "/cache GOPATH=" +
                                 dir.path() + "/gopath GO111MODULE=off go build -o backend " + src,
                             300'000);
      if (r.exitCode == 0) {
        binary = dir.path() + "/backend";
      } else {
        failure = "go build of " + src + " failed: " + r.out;
      }
    }
  }
  *skip = missing;
  *why = failure;
  return binary;
}

// One running Go backend; killed on destruction.
class GoBackend {
 public:
  GoBackend() = default;
  GoBackend(const GoBackend&) = delete;
  GoBackend& operator=(const GoBackend&) = delete;
  ~GoBackend() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Starts `binary` on a free loopback port; false with *why when it does not come up.
  bool start(const std::string& binary, const std::string& name, std::string* why) {
    int p[2];
    if (::pipe(p) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      prepareChild(p[1], p[1]);
      execOrDie(binary, {"127.0.0.1:0", name});
    }
    ::close(p[1]);
    TestFd out(p[0]);
    std::string line;
    const bool ok = waitFor(
        [&] {
          char buf[128];
          if (!waitReadable(out.get(), 50)) return false;
          const ssize_t n = ::read(out.get(), buf, sizeof buf);
          if (n <= 0) return true;
          line.append(buf, static_cast<size_t>(n));
          return line.find('\n') != std::string::npos;
        },
        scaled(10'000));
    if (!ok || !line.starts_with("listening ")) {
      *why = "the backend did not start: " + line;
      return false;
    }
    port_ = static_cast<uint16_t>(std::stoi(line.substr(10)));
    return true;
  }
  uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// A raw upstream on a loopback port: for every request head it reads it calls the script with the
// head, the connection's number (from 0, in accept order) and the request's number on it; the
// script writes whatever it likes to fd and returns false to close the connection.
class FakeUpstream {
 public:
  using Script = std::function<bool(const std::string& head, int conn, int req, int fd)>;
  explicit FakeUpstream(Script script) : script_(std::move(script)) {
    listen_ = TestFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_.get(), 64) != 0 ||
        ::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }
  int connections() const { return accepted_.load(); }

 private:
  struct Conn {
    TestFd fd;
    int index;
    int requests = 0;
    std::string buf;
  };

  void run() {
    std::vector<Conn> conns;
    while (!stop_) {
      std::vector<pollfd> fds{{listen_.get(), POLLIN, 0}};
      for (const Conn& c : conns) fds.push_back({c.fd.get(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      if ((fds[0].revents & POLLIN) != 0) {
        conns.push_back(
            {TestFd(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC)), accepted_++, 0, {}});
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents != 0 && !serve(conns[i - 1])) conns[i - 1].fd.reset();
      }
      std::erase_if(conns, [](const Conn& c) { return !c.fd.valid(); });
    }
  }

  bool serve(Conn& c) {
    char buf[4096];
    const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
    if (n <= 0) return false;
    c.buf.append(buf, static_cast<size_t>(n));
    for (size_t end; (end = c.buf.find("\r\n\r\n")) != std::string::npos;) {
      const std::string head = c.buf.substr(0, end + 4);
      c.buf.erase(0, end + 4);
      if (!script_(head, c.index, c.requests++, c.fd.get())) return false;
    }
    return true;
  }

  Script script_;
  TestFd listen_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// What the fake upstream answers, by request path (after "/bad/").
const std::map<std::string, std::string>& badAnswers() {
  static const std::map<std::string, std::string> kAnswers = {
      {"cl-te",
       "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"te-cl",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"},
      {"two-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
      {"bad-length", "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello"},
      {"gzip-te", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
      {"http09", "<html>no head at all</html>"},
      {"switch",
       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
       "Upgrade\r\n\r\n"},
      {"space-colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok"},
      {"bad-status", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"},
  };
  return kAnswers;
}

bool writeAll(int fd, const std::string& s) { return sendAll(fd, s); }

class ProxyTest : public ServerTest {
 protected:
  void SetUp() override {
    std::string skip, why;
    const std::string& binary = backendBinary(&skip, &why);
    if (!skip.empty()) GTEST_SKIP() << "skipped: " << skip;
    ASSERT_FALSE(binary.empty()) << why;
    ASSERT_TRUE(go_.start(binary, "one", &why)) << why;
  }

  // Starts one worker with the test's locations in front of the backend, the fake upstream and a
  // port where nothing listens.
  void startProxy(const std::string& more = "") {
    const std::string go = "127.0.0.1:" + std::to_string(go_.port());
    const std::string conf = dir_.path() + "/hs.conf";
    const std::string text =
        "server {\n"
        " location / { proxy_pass http://" +
        go +
        "; }\n"
        " location /api/ { proxy_pass http://" +
        go +
        "/v1/; }\n"
        " location = /exact { proxy_pass http://" +
        go +
        "/other; }\n"
        " location /hdr/ { proxy_pass http://" +
        go +
        "; proxy_set_header Host $host;"
        " proxy_set_header X-Forwarded-For \"\"; proxy_set_header X-Mine "
        "\"$request_uri|$remote_addr\"; }\n"
        " location /slow/ { proxy_pass http://" +
        go +
        "/; proxy_read_timeout 1s; }\n"
        " location /down/ { proxy_pass http://127.0.0.1:" +
        std::to_string(downPort_) +
        "; }\n"
        " location /bad/ { proxy_pass http://127.0.0.1:" +
        std::to_string(fake_.port()) +
        "; }\n"
        " location ~ \\.rx$ { proxy_pass http://" +
        go + "; }\n" + more + "}\n";
    ASSERT_TRUE(writeFile(conf, text));
    ServerOptions opts;
    opts.procs = 1;
    opts.extraArgs = {"-c", conf};
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }

  // The fake's script: /bad/NAME answers badAnswers()[NAME] and closes; /bad/extra answers with
  // bytes after the body; /bad/short promises more body than it sends; /bad/stale answers its
  // first request and drops the connection at its second; anything else gets "fine".
  static bool badScript(const std::string& head, int conn, int req, int fd) {
    const size_t sp = head.find(' ');
    const std::string path = head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
    const std::string name = path.starts_with("/bad/") ? path.substr(5) : path;
    if (const auto it = badAnswers().find(name); it != badAnswers().end()) {
      writeAll(fd, it->second);
      return false;
    }
    if (name == "extra") {
      return writeAll(fd,
                      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"
                      "Content-Length: 8\r\n\r\nsmuggled");
    }
    if (name == "short") {
      writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
      return false;
    }
    if (name == "bad-chunk") {
      writeAll(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n");
      return false;
    }
    if (name == "stale" && req > 0) return false;  // a kept connection the upstream closed
    const std::string body = "fine " + std::to_string(conn);
    return writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\n\r\n" + body);
  }

  TempDir dir_;
  GoBackend go_;
  FakeUpstream fake_{badScript};
  uint16_t downPort_ = pickFreePort();
};

std::string get(std::string_view target, std::string_view extra = "") {
  return getRequest(target, extra);
}

TEST_F(ProxyTest, GetHeadPostAndHeadersReachTheBackend) {
  ASSERT_NO_FATAL_FAILURE(startProxy());
  Client c(port());
  Response r = c.exchange(get("/echo?x=1",
                              "X-Forwarded-For: 10.0.0.9\r\nConnection: X-Drop\r\n"
                              "X-Drop: 1\r\nKeep-Alive: 5\r\nX-Keep: 2\r\n"));
  ASSERT_EQ(r.status, 200) << r.describe();
  const std::string go = "127.0.0.1:" + std::to_string(go_.port());
  EXPECT_NE(r.body.find("one GET /echo?x=1 host=" + go + " "), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("X-Forwarded-For: 10.0.0.9, 127.0.0.1\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("X-Real-Ip: 127.0.0.1\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("X-Forwarded-Proto: http\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("Forwarded: for=127.0.0.1;proto=http;host=127.0.0.1\n"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("X-Keep: 2\n"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("X-Drop"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("Keep-Alive"), std::string::npos) << r.body;
  EXPECT_EQ(r.header("server"), "HttpServer/1.0");

  Response h = c.exchange(getRequest("/echo", "", "HEAD"), true);
  EXPECT_EQ(h.status, 200) << h.describe();
  EXPECT_TRUE(h.body.empty());

  Response p = c.exchange(
      "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\n"
      "hello=world");
  ASSERT_EQ(p.status, 200) << p.describe();
  EXPECT_NE(p.body.find("one POST /echo"), std::string::npos) << p.body;
  EXPECT_NE(p.body.find("Content-Length: 11\n"), std::string::npos) << p.body;
  EXPECT_TRUE(p.body.ends_with("body=hello=world")) << p.body;

  // A chunked request body goes upstream buffered, with its length.
  Response ch = c.exchange(
      "PUT /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_EQ(ch.status, 200) << ch.describe();
  EXPECT_NE(ch.body.find("Content-Length: 11\n"), std::string::npos) << ch.body;
  EXPECT_EQ(ch.body.find("Transfer-Encoding"), std::string::npos) << ch.body;
  EXPECT_TRUE(ch.body.ends_with("body=hello world")) << ch.body;

  Response k = c.exchange(get("/cookies"));
  EXPECT_EQ(k.status, 200);
  EXPECT_EQ(k.count("set-cookie"), 2u) << k.describe();
}

TEST_F(ProxyTest, LargeAndChunkedResponses) {
  ASSERT_NO_FATAL_FAILURE(startProxy());
  Client c(port());
  Response big = c.exchange(get("/big?n=10485760"));
  ASSERT_EQ(big.status, 200) << big.describe();
  EXPECT_EQ(big.header("content-length"), "10485760");
  ASSERT_EQ(big.body.size(), 10485760u);
  EXPECT_EQ(big.body.substr(10485750), "0123456789");

  Response ch = c.exchange(get("/chunked?n=2000"));
  ASSERT_EQ(ch.status, 200) << ch.describe();
  EXPECT_EQ(ch.header("transfer-encoding"), "chunked");
  EXPECT_TRUE(ch.body.starts_with("line 0\nline 1\n"));
  EXPECT_TRUE(ch.body.ends_with("line 1999\n")) << ch.body.substr(ch.body.size() - 40);

  // An HTTP/1.0 client gets the unknown length delimited by the close.
  Response old = fetch(port(), "GET /chunked?n=3 HTTP/1.0\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(old.status, 200) << old.describe();
  EXPECT_FALSE(old.has("transfer-encoding"));
  EXPECT_EQ(old.body, "line 0\nline 1\nline 2\n");

  Response none = c.exchange(get("/status?c=204"));
  EXPECT_EQ(none.status, 204);
  Response after = c.exchange(get("/echo"));
  EXPECT_EQ(after.status, 200) << "the connection stays usable after a bodiless answer";
}

TEST_F(ProxyTest, UpstreamConnectionsAreKeptAndReused) {
  ASSERT_NO_FATAL_FAILURE(startProxy());
  std::string first;
  for (int i = 0; i < 5; ++i) {
    Response r = fetchGet(port(), "/echo");  // a new client connection each time
    ASSERT_EQ(r.status, 200) << r.describe();
    const std::string peer =
        r.body.substr(r.body.find("peer="), r.body.find('\n') - r.body.find("peer="));
    if (i == 0) first = peer;
    EXPECT_EQ(peer, first) << "request " << i << " came on another upstream connection";
  }
}

TEST_F(ProxyTest, UriReplacementAsNginx) {
  ASSERT_NO_FATAL_FAILURE(startProxy());
  struct Case {
    const char* target;
    const char* upstream;  // the request-target the backend saw
  } cases[] = {
      {"/api/x?y=1", "/v1/x?y=1"},
      {"/api/", "/v1/"},
      {"/api/a%20b/c", "/v1/a%20b/c"},
      {"/api/a/../b", "/v1/b"},
      {"/exact?q", "/other?q"},
      {"/plain/%7Euser/x?a=b", "/plain/%7Euser/x?a=b"},  // no URI: the client's as sent
      {"/dir/file.rx?k=v", "/dir/file.rx?k=v"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    Response r = fetchGet(port(), c.target);
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_NE(r.body.find(std::string(" GET ") + c.upstream + " host="), std::string::npos)
        << r.body;
  }
}

TEST_F(ProxyTest, ProxySetHeaderSetsAndRemoves) {
  ASSERT_NO_FATAL_FAILURE(startProxy());
  Response r = fetchGet(port(), "/hdr/x?1", "X-Forwarded-For: 10.1.1.1\r\nX-Mine: client\r\n");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_NE(r.body.find(" host=127.0.0.1 "), std::string::npos) << r.body;  // $host
  EXPECT_EQ(r.body.find("X-Forwarded-For"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("X-Mine: /hdr/x?1|127.0.0.1\n"), std::string::npos) << r.body;
}

TEST_F(ProxyTest, RegexLocationWithUriIsAConfigurationError) {
  const std::string conf = dir_.path() + "/bad.conf";
  ASSERT_TRUE(
      writeFile(conf, "server {\n location ~ \\.x$ { proxy_pass http://127.0.0.1:1/u/; }\n}\n"));
  RunResult r = runProgram(serverBinary(), {"-t", "-c", conf, "127.0.0.1", "1", "1", "10"}, 10'000);
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE((r.out + r.err).find("cannot have a URI part in a regex location"), std::string::npos)
      << r.out << r.err;
  ASSERT_TRUE(
      writeFile(conf, "server {\n location / { proxy_pass http://backend.example:80; }\n}\n"));
  r = runProgram(serverBinary(), {"-t", "-c", conf, "127.0.0.1", "1", "1", "10"}, 10'000);
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE((r.out + r.err).find("only numeric addresses"), std::string::npos) << r.out << r.err;
}

TEST_F(ProxyTest, HangingBackendGets504WhileOthersAreServed) {
  ASSERT_NO_FATAL_FAILURE(startProxy());
  Client slow(port());
  ASSERT_TRUE(slow.send(get("/slow/hang")));
  const auto t0 = Clock::now();
  for (int i = 0; i < 3; ++i) {
    Response r = fetchGet(port(), "/echo");
    EXPECT_EQ(r.status, 200) << r.describe();
  }
  EXPECT_LT(msSince(t0), scaled(900)) << "other requests waited for the hanging one";
  Response r = slow.read();
  EXPECT_EQ(r.status, 504) << r.describe();
  EXPECT_GE(msSince(t0), 900);
  EXPECT_EQ(slow.exchange(get("/echo")).status, 200) << "the client connection survives a 504";
}

TEST_F(ProxyTest, BackendDownGets502) {
  ASSERT_NO_FATAL_FAILURE(startProxy());
  Client c(port());
  Response r = c.exchange(get("/down/x"));
  EXPECT_EQ(r.status, 502) << r.describe();
  EXPECT_EQ(c.exchange(get("/echo")).status, 200);
}

TEST_F(ProxyTest, SmugglingShapedResponsesGet502AndTheNextRequestIsClean) {
  ASSERT_NO_FATAL_FAILURE(startProxy());
  for (const auto& [name, bytes] : badAnswers()) {
    SCOPED_TRACE(name);
    Client c(port());
    Response r = c.exchange(get("/bad/" + name));
    EXPECT_EQ(r.status, 502) << r.describe();
    Response next = c.exchange(get("/echo"));
    EXPECT_EQ(next.status, 200) << next.describe();
    EXPECT_NE(next.body.find("one GET /echo"), std::string::npos);
  }
}

TEST_F(ProxyTest, BrokenBodiesCloseTheClientAndStrayBytesNeverReachOne) {
  ASSERT_NO_FATAL_FAILURE(startProxy());
  for (const char* name : {"short", "bad-chunk"}) {
    SCOPED_TRACE(name);
    Client c(port());
    ASSERT_TRUE(c.send(get(std::string("/bad/") + name)));
    Response r = c.read();
    EXPECT_NE(r.status, 200) << "a short body was passed as complete: " << r.describe();
    // Closed (FIN) or aborted (RST): either way the short response is not taken as complete.
    EXPECT_TRUE(r.closed || r.error.find("reset") != std::string::npos ||
                c.waitClosed(scaled(5000)))
        << "the client connection stayed open: " << r.error;
    EXPECT_EQ(fetchGet(port(), "/echo").status, 200);
  }
  Client c(port());
  const int before = fake_.connections();
  Response r = c.exchange(get("/bad/extra"));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, "ok");
  Response next = c.exchange(get("/bad/after"));
  ASSERT_EQ(next.status, 200) << next.describe();
  EXPECT_EQ(next.body, "fine " + std::to_string(before + 1))
      << "the connection that carried stray bytes was used again";
}

TEST_F(ProxyTest, GetIsRetriedWhenAKeptConnectionWasDropped) {
  ASSERT_NO_FATAL_FAILURE(startProxy());
  Client c(port());
  Response a = c.exchange(get("/bad/stale"));
  ASSERT_EQ(a.status, 200) << a.describe();
  Response b = c.exchange(get("/bad/stale"));  // its kept connection drops it: a fresh one answers
  EXPECT_EQ(b.status, 200) << b.describe();
  EXPECT_EQ(b.body, "fine " + std::to_string(fake_.connections() - 1));
}

}  // namespace
}  // namespace hs::integration
