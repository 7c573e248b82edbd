// The FastCGI gateway end to end: the real server with an `app` block running php-cgi (or a small
// misbehaving Python application) and a location that passes .php requests to it. The php-cgi
// cases skip (one line) where php-cgi is not installed.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

constexpr char kPhpCgi[] = "/usr/bin/php-cgi";

// A FastCGI application that misbehaves on purpose: "garbage" answers every request with bytes
// that are not FastCGI records, "silent" accepts and never answers.
constexpr char kBadApp[] = R"(import socket, sys
s = socket.socket(fileno=0)
held = []
while True:
    c, _ = s.accept()
    c.recv(65536)
    if sys.argv[1] == 'garbage':
        c.sendall(b'HTTP/1.1 200 OK\r\n\r\nnot a FastCGI record')
        c.close()
    else:
        held.append(c)
)";

class GatewayTest : public ServerTest {
 protected:
  void SetUp() override {
    ::chmod(dir_.path().c_str(), 0755);  // the apps run as nobody
    ASSERT_TRUE(writeFile(dir_.path() + "/q.php",
                          "<?php header('X-Script: yes'); setcookie('a', '1'); setcookie('b', '2');"
                          " echo 'q=', $_GET['q'] ?? '', ' m=', $_SERVER['REQUEST_METHOD'];"));
    ASSERT_TRUE(
        writeFile(dir_.path() + "/big.php",
                  "<?php for ($i = 0; $i < 1024; $i++) echo str_pad($i, 1023, '.'), \"\\n\";"));
    ASSERT_TRUE(writeFile(dir_.path() + "/status.php",
                          "<?php http_response_code((int)$_GET['c']); echo 'x';"));
    ASSERT_TRUE(writeFile(dir_.path() + "/redirect.php", "<?php header('Location: /elsewhere');"));
    ASSERT_TRUE(::mkdir((dir_.path() + "/uploads").c_str(), 0755) == 0);
    ASSERT_TRUE(writeFile(dir_.path() + "/uploads/avatar.jpg", "<?php echo 'EXECUTED';"));
    ASSERT_TRUE(writeFile(dir_.path() + "/bad.py", kBadApp));
  }

  // Starts one worker serving dir_ with `apps` and .php passed to `pass`; `extra` goes into the
  // .php location.
  void startGateway(const std::string& apps, const std::string& pass, const std::string& extra = "",
                    int procs = 1) {
    const std::string conf = dir_.path() + "/hs.conf";
    ASSERT_TRUE(writeFile(conf, apps + "server {\n root " + dir_.path() +
                                    ";\n location ~ \\.php$ {\n fastcgi_pass " + pass + ";\n " +
                                    extra + "\n }\n}\n"));
    ServerOptions opts;
    opts.procs = procs;
    opts.root = dir_.path();
    opts.extraArgs = {"-c", conf};
    opts.waitForWorkers = false;
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }

  void startPhp(int processes = 2, int procs = 1) {
    ASSERT_NO_FATAL_FAILURE(startGateway("app php {\n command " + std::string(kPhpCgi) +
                                             ";\n processes " + std::to_string(processes) +
                                             ";\n env PHP_FCGI_MAX_REQUESTS=0;\n}\n",
                                         "php", "", procs));
  }

  std::vector<pid_t> appPids() const {
    std::vector<pid_t> out;
    for (const ProcInfo& p : childrenOf(server_.pid())) {
      if (p.comm == "php-cgi") out.push_back(p.pid);
    }
    return out;
  }

  TempDir dir_;
};

#define NEED_PHP()                  \
  if (::access(kPhpCgi, X_OK) != 0) \
  GTEST_SKIP() << "php-cgi is not installed (Debian package php-cgi)"

TEST_F(GatewayTest, GetWithQueryHeadersCookiesAndKeepAlive) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startPhp());
  Client c(port());
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    Response r = c.exchange(getRequest("/q.php?q=" + std::to_string(i)));
    ASSERT_EQ(r.status, 200) << r.describe() << r.error << "\n" << server_.log();
    EXPECT_EQ(r.body, "q=" + std::to_string(i) + " m=GET");
    EXPECT_EQ(r.header("x-script"), "yes");
    EXPECT_EQ(r.count("set-cookie"), 2u) << r.describe();
    EXPECT_NE(r.header("content-type").find("text/html"), std::string::npos);
    EXPECT_FALSE(r.has("x-powered-by") && r.has("connection") && r.header("connection") == "close");
  }
  Response h = c.exchange(getRequest("/q.php?q=1", "", "HEAD"), true);
  EXPECT_EQ(h.status, 200) << h.describe();
  EXPECT_EQ(h.body, "");
  Response again = c.exchange(getRequest("/q.php?q=9"));
  EXPECT_EQ(again.body, "q=9 m=GET") << again.describe();
}

TEST_F(GatewayTest, StatusRedirectAndScriptsThatDoNotExist) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startPhp());
  struct Case {
    const char* name;
    std::string target;
    int status;
  };
  const Case cases[] = {
      {"app status", "/status.php?c=404", 404},
      {"app 503", "/status.php?c=503", 503},
      {"redirect", "/redirect.php", 302},
      {"missing script", "/nope.php", 404},
      {"path info trick", "/uploads/avatar.jpg/x.php", 404},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Response r = fetchGet(port(), c.target);
    EXPECT_EQ(r.status, c.status) << r.describe() << r.body;
    EXPECT_EQ(r.body.find("EXECUTED"), std::string::npos);
    if (c.status == 302) {
      EXPECT_EQ(r.header("location"), "/elsewhere");
    }
  }
}

TEST_F(GatewayTest, LargeResponseToASlowClientArrivesWhole) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startPhp());
  TestFd fd = connectTo(port(), 4096);
  ASSERT_TRUE(fd.valid());
  ASSERT_TRUE(sendAll(fd.get(), getRequest("/big.php")));
  std::string pending;
  Response r = readResponse(fd.get(), &pending);
  ASSERT_EQ(r.status, 200) << r.describe() << r.error;
  ASSERT_EQ(r.body.size(), 1024u * 1024u);
  EXPECT_EQ(r.body.substr(0, 4), "0...");
  EXPECT_EQ(r.body.substr(1023 * 1024, 4), "1023");
}

TEST_F(GatewayTest, KilledAppProcessFailsNoGet) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startPhp(2, 2));
  ASSERT_TRUE(waitFor([&] { return appPids().size() == 2; }, 5000));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      Client c(port());
      while (!stop && c.ok()) {
        Response r = c.exchange(getRequest("/q.php?q=k"));
        if (r.status == 200 && r.body == "q=k m=GET") {
          ++ok;
        } else {
          ++failed;
          c = Client(port());
        }
      }
    });
  }
  ASSERT_TRUE(waitFor([&] { return ok.load() > 50; }, 5000));
  std::vector<pid_t> pids = appPids();
  ASSERT_FALSE(pids.empty());
  ::kill(pids[0], SIGKILL);
  const int before = ok.load();
  waitFor([&] { return ok.load() > before + 200; }, 5000);
  stop = true;
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0) << "ok " << ok.load() << "\n" << server_.log();
  EXPECT_GT(ok.load(), before);
}

TEST_F(GatewayTest, MalformedReplyIs502AndSilentAppIs504) {
  ASSERT_NO_FATAL_FAILURE(
      startGateway("app garbage { command /usr/bin/python3 " + dir_.path() +
                       "/bad.py garbage; }\napp silent { command /usr/bin/python3 " + dir_.path() +
                       "/bad.py silent; }\n",
                   "garbage"));
  ASSERT_TRUE(writeFile(dir_.path() + "/a.php", "x"));
  Response r = fetchGet(port(), "/a.php");
  EXPECT_EQ(r.status, 502) << r.describe() << "\n" << server_.log();
  // The worker is unharmed: a static file is still served.
  ASSERT_TRUE(writeFile(dir_.path() + "/plain.txt", "plain"));
  Response s = fetchGet(port(), "/plain.txt");
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.body, "plain");
}

TEST_F(GatewayTest, SilentAppTimesOutWith504) {
  ASSERT_NO_FATAL_FAILURE(
      startGateway("app silent { command /usr/bin/python3 " + dir_.path() + "/bad.py silent; }\n",
                   "silent", "fastcgi_read_timeout 300ms;"));
  ASSERT_TRUE(writeFile(dir_.path() + "/a.php", "x"));
  auto t0 = Clock::now();
  Response r = fetchGet(port(), "/a.php");
  EXPECT_EQ(r.status, 504) << r.describe() << "\n" << server_.log();
  EXPECT_GE(msSince(t0), 300);
}

}  // namespace
}  // namespace hs::integration
