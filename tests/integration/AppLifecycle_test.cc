// Application pools over their lifetime, with the Go net/http/fcgi test app under a GET load:
// max_requests replaces an app's processes without failing a request; HUP with a changed app
// block starts a new generation (the new environment shows, no request fails) while an unchanged
// app keeps its processes; a removed app stops and an added one starts. Then what the pools show:
// the status page (text and JSON), the metrics endpoint (checked by promtool where installed),
// and $upstream_addr, $upstream_status and $upstream_response_time in the access log. Every case
// skips (one line) where Go is not installed.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "GoApp.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

// GET /go/pid from `threads` keep-alive clients until stopped; counts answers and failures and
// records the distinct bodies ("pid=N color=C").
class GetLoad {
 public:
  GetLoad(uint16_t port, int threads) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, port] { run(port); });
    }
  }
  ~GetLoad() { stop(); }
  void stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int ok() const { return ok_.load(); }
  int failed() const { return failed_.load(); }
  std::set<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::string firstFailure() {
    std::lock_guard<std::mutex> lock(mu_);
    return firstFailure_;
  }

 private:
  void run(uint16_t port) {
    Client c(port);
    while (!stop_) {
      Response r = c.exchange(getRequest("/go/pid"));
      if (r.status == 200 && r.body.starts_with("pid=")) {
        ++ok_;
        std::lock_guard<std::mutex> lock(mu_);
        bodies_.insert(r.body);
        continue;
      }
      ++failed_;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (firstFailure_.empty()) firstFailure_ = r.describe() + r.body + r.error;
      }
      c = Client(port);
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, failed_{0};
  std::mutex mu_;
  std::set<std::string> bodies_;
  std::string firstFailure_;
  std::vector<std::thread> threads_;
};

class AppLifecycleTest : public ServerTest {
 protected:
  void SetUp() override {
    ::chmod(dir_.path().c_str(), 0755);  // the apps run as nobody
    app_ = goFcgiApp(&why_);
  }

  std::string goApp(const std::string& name, const std::string& extra) const {
    return "app " + name + " {\n command " + app_ + ";\n processes 2;\n " + extra + "\n}\n";
  }
  // The configuration file: `apps`, then a server passing /go/ to app `pass` (and /other/ to
  // `other` when not empty) with `serverExtra` inside.
  void writeConfig(const std::string& apps, const std::string& pass, const std::string& other = "",
                   const std::string& serverExtra = "") {
    std::string conf = apps + "server {\n root " + dir_.path() + ";\n" + serverExtra +
                       " location /go/ { fastcgi_pass " + pass + "; }\n";
    if (!other.empty()) conf += " location /other/ { fastcgi_pass " + other + "; }\n";
    ASSERT_TRUE(writeFile(dir_.path() + "/hs.conf", conf + "}\n"));
  }
  void start(int procs = 2, std::vector<std::string> extra = {}) {
    ServerOptions opts;
    opts.procs = procs;
    opts.root = dir_.path();
    opts.extraArgs = {"-c", dir_.path() + "/hs.conf"};
    opts.extraArgs.insert(opts.extraArgs.end(), extra.begin(), extra.end());
    opts.waitForWorkers = false;
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }
  // The master's children that run the Go app.
  std::vector<pid_t> appPids() const {
    std::vector<pid_t> out;
    for (const ProcInfo& p : childrenOf(server_.pid())) {
      if (p.comm == "fcgiapp") out.push_back(p.pid);
    }
    return out;
  }
  static std::string body(uint16_t port, const std::string& target) {
    return fetchGet(port, target).body;
  }

  TempDir dir_;
  std::string app_, why_;
};

#define NEED_GO() \
  if (app_.empty()) GTEST_SKIP() << why_

TEST_F(AppLifecycleTest, MaxRequestsReplacesProcessesWithoutFailingARequest) {
  NEED_GO();
  ASSERT_NO_FATAL_FAILURE(writeConfig(goApp("go", "max_requests 25;"), "go"));
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(waitFor([&] { return appPids().size() == 2; }, 5000)) << server_.log();
  const std::vector<pid_t> first = appPids();
  GetLoad load(port(), 4);
  // 25 per process, 2 processes: a new pair every 50 requests or so. At least three pairs.
  auto recycled = [&] {
    const std::string log = server_.log();
    size_t n = 0;
    for (size_t at = log.find("replacing its processes"); at != std::string::npos;
         at = log.find("replacing its processes", at + 1)) {
      ++n;
    }
    return n;
  };
  ASSERT_TRUE(
      waitFor([&] { return (load.ok() >= 400 && recycled() >= 3) || load.failed() > 0; }, 30000))
      << load.ok() << "\n"
      << server_.log();
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.firstFailure() << "\n" << server_.log();
  std::set<std::string> pids;
  for (const std::string& b : load.bodies()) pids.insert(b.substr(0, b.find(' ')));
  EXPECT_GT(pids.size(), 2u) << "the processes were not replaced\n" << server_.log();
  std::printf(
      "[ apps     ] max_requests 25 x 2 processes: ok %d, failed %d, %zu recycles, %zu pids\n",
      load.ok(), load.failed(), recycled(), pids.size());
  EXPECT_NE(server_.log().find("app go: "), std::string::npos);
  EXPECT_NE(server_.log().find("replacing its processes (max_requests 25)"), std::string::npos)
      << server_.log();
  // The first processes are gone, and two run, as configured.
  for (pid_t p : first) EXPECT_TRUE(waitGone(p, 5000)) << p;
  EXPECT_TRUE(waitFor([&] { return appPids().size() == 2; }, 5000)) << appPids().size();
}

TEST_F(AppLifecycleTest, HupWithAChangedAppUnderLoadFailsNothing) {
  NEED_GO();
  const std::string other = goApp("other", "env APP_COLOR=steady;");
  ASSERT_NO_FATAL_FAILURE(writeConfig(goApp("go", "env APP_COLOR=blue;") + other, "go", "other"));
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(waitFor([&] { return appPids().size() == 4; }, 5000)) << server_.log();
  const std::string steady = body(port(), "/other/pid");
  ASSERT_NE(steady.find("color=steady"), std::string::npos) << steady;
  const std::vector<pid_t> before = appPids();

  GetLoad load(port(), 4);
  ASSERT_TRUE(waitFor([&] { return load.ok() >= 100; }, 10000)) << server_.log();
  ASSERT_NO_FATAL_FAILURE(writeConfig(goApp("go", "env APP_COLOR=green;") + other, "go", "other"));
  ASSERT_EQ(::kill(server_.pid(), SIGHUP), 0);
  ASSERT_TRUE(waitFor(
      [&] {
        for (const std::string& b : load.bodies()) {
          if (b.find("color=green") != std::string::npos) return true;
        }
        return false;
      },
      10000))
      << server_.log();
  const int atGreen = load.ok();
  ASSERT_TRUE(waitFor([&] { return load.ok() >= atGreen + 200; }, 10000));
  load.stop();
  EXPECT_EQ(load.failed(), 0) << load.firstFailure() << "\n" << server_.log();
  std::printf("[ apps     ] HUP with a changed app under load: ok %d, failed %d\n", load.ok(),
              load.failed());
  EXPECT_NE(body(port(), "/go/pid").find("color=green"), std::string::npos);
  // The old generation stops once the old workers are gone; the other app was not touched.
  std::vector<pid_t> after;
  EXPECT_TRUE(waitFor(
      [&] {
        after = appPids();
        return after.size() == 4;
      },
      10000))
      << server_.log();
  size_t kept = 0;
  for (pid_t p : before) kept += std::count(after.begin(), after.end(), p);
  EXPECT_EQ(kept, 2u) << "only the unchanged app's two processes stay\n" << server_.log();
  EXPECT_NE(body(port(), "/other/pid").find("color=steady"), std::string::npos);
}

TEST_F(AppLifecycleTest, HupRemovesAndAddsApps) {
  NEED_GO();
  ASSERT_NO_FATAL_FAILURE(writeConfig(goApp("first", "env APP_COLOR=one;"), "first"));
  ASSERT_NO_FATAL_FAILURE(start(1));
  ASSERT_TRUE(waitFor([&] { return appPids().size() == 2; }, 5000)) << server_.log();
  const std::vector<pid_t> firsts = appPids();
  ASSERT_NE(body(port(), "/go/pid").find("color=one"), std::string::npos);
  ASSERT_NO_FATAL_FAILURE(writeConfig(goApp("second", "env APP_COLOR=two;"), "second"));
  ASSERT_EQ(::kill(server_.pid(), SIGHUP), 0);
  ASSERT_TRUE(waitFor(
      [&] { return body(port(), "/go/pid").find("color=two") != std::string::npos; }, 10000))
      << server_.log();
  for (pid_t p : firsts) EXPECT_TRUE(waitGone(p, 10000)) << p << "\n" << server_.log();
  EXPECT_TRUE(waitFor([&] { return appPids().size() == 2; }, 5000));
  EXPECT_TRUE(waitFor(
      [&] {
        return server_.log().find("app first: stopped (removed from the configuration)") !=
               std::string::npos;
      },
      5000))
      << server_.log();
}

TEST_F(AppLifecycleTest, StatusMetricsAndAccessLogShowTheApp) {
  NEED_GO();
  ASSERT_NO_FATAL_FAILURE(writeConfig(
      "log_format up '$uri $status $upstream_addr $upstream_status $upstream_response_time';\n" +
          goApp("go", ""),
      "go", "", " access_log " + dir_.path() + "/access.log up;\n"));
  ASSERT_TRUE(writeFile(dir_.path() + "/plain.txt", "plain"));
  ASSERT_NO_FATAL_FAILURE(
      start(1, {"--status-path", "/server-status", "--metrics-path", "/metrics"}));
  ASSERT_TRUE(waitFor([&] { return appPids().size() == 2; }, 5000)) << server_.log();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(fetchGet(port(), "/go/pid").status, 200);
  ASSERT_EQ(fetchGet(port(), "/plain.txt").status, 200);

  Response text = fetchGet(port(), "/server-status");
  ASSERT_EQ(text.status, 200);
  EXPECT_NE(text.body.find("App go: processes 2, busy 0, queue 0, requests 5, failures 0, "
                           "restarts 0, generation 1\n"),
            std::string::npos)
      << text.body;
  Response json = statusJson(port());
  EXPECT_NE(json.body.find("\"apps\":[{\"app\":\"go\",\"processes\":2,\"busy\":0,\"queue\":0,"
                           "\"requests\":5,\"failures\":0,\"restarts\":0,\"generation\":1}]"),
            std::string::npos)
      << json.body;

  const std::vector<pid_t> pids = appPids();
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  ASSERT_TRUE(waitFor(
      [&] {
        return fetchGet(port(), "/server-status")
                   .body.find(
                       "processes 2, busy 0, queue 0, "
                       "requests 5, failures 0, restarts 1") != std::string::npos;
      },
      5000))
      << fetchGet(port(), "/server-status").body;

  const std::string scrape = fetchGet(port(), "/metrics").body;
  for (const char* line :
       {"httpserver_app_processes{app=\"go\"} 2\n", "httpserver_app_busy{app=\"go\"} 0\n",
        "httpserver_app_queue{app=\"go\"} 0\n", "httpserver_app_requests_total{app=\"go\"} 5\n",
        "httpserver_app_failures_total{app=\"go\"} 0\n",
        "httpserver_app_restarts_total{app=\"go\"} 1\n"}) {
    EXPECT_NE(scrape.find(line), std::string::npos) << line << scrape;
  }
  if (runShell("command -v promtool >/dev/null", 5000).exitCode == 0) {
    ASSERT_TRUE(writeFile(dir_.path() + "/scrape.txt", scrape));
    RunResult check = runShell("promtool check metrics < " + dir_.path() + "/scrape.txt", 20000);
    EXPECT_EQ(check.exitCode, 0) << check.out;
  } else {
    std::printf("promtool not installed (Debian package prometheus): exposition not checked\n");
  }

  // Lines are flushed within a second.
  std::string log;
  ASSERT_TRUE(waitFor(
      [&] {
        log = readFile(dir_.path() + "/access.log").value_or("");
        return log.find("/plain.txt") != std::string::npos;
      },
      4000))
      << log;
  // Each app request's line ends "/go/pid 200 unix:/DIR/go.sock 200 S.mmm".
  auto appLine = [](std::string_view l) {
    constexpr std::string_view kHead = "/go/pid 200 unix:/";
    constexpr std::string_view kSock = "/go.sock 200 ";
    size_t at = l.find(kHead);
    if (at == std::string_view::npos) return false;
    l.remove_prefix(at + kHead.size());
    size_t sock = l.find(kSock);
    if (sock == std::string_view::npos || l.substr(0, sock).find(' ') != std::string_view::npos) {
      return false;
    }
    l.remove_prefix(sock + kSock.size());
    size_t dot = l.find('.');
    if (dot == 0 || dot == std::string_view::npos || l.size() != dot + 4) return false;
    for (size_t i = 0; i < l.size(); ++i) {
      if (i != dot && (l[i] < '0' || l[i] > '9')) return false;
    }
    return true;
  };
  int appLines = 0;
  for (size_t start = 0, end; (end = log.find('\n', start)) != std::string::npos; start = end + 1) {
    appLines += appLine(std::string_view(log).substr(start, end - start)) ? 1 : 0;
  }
  EXPECT_EQ(appLines, 5) << log;
  EXPECT_NE(log.find("/plain.txt 200 - - -\n"), std::string::npos) << log;
}

}  // namespace
}  // namespace hs::integration
