// Upstream groups end to end: `upstream NAME { server unix:... }` over three php-cgi `app` blocks
// (each says its name), fastcgi_pass NAME. Requests spread by weight; a server whose socket is dead
// under a GET load fails no request, is taken out, shown down on the status page and the metrics,
// and gets traffic again after its fail_timeout once it answers; every process of one app killed
// under a GET load fails no request; a hash sends a client to one server from every worker; no
// live server is 502 at once; -t names bad groups with their line. The cases skip (one line)
// where php-cgi is not installed.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

constexpr char kPhpCgi[] = "/usr/bin/php-cgi";

#define NEED_PHP()                  \
  if (::access(kPhpCgi, X_OK) != 0) \
  GTEST_SKIP() << "php-cgi is not installed (Debian package php-cgi)"

class UpstreamsTest : public ServerTest {
 protected:
  void SetUp() override {
    ::chmod(dir_.path().c_str(), 0755);  // the apps run as nobody
    ASSERT_TRUE(writeFile(dir_.path() + "/who.php", "<?php echo getenv('APP_NAME');"));
  }

  void TearDown() override {
    if (external_ > 0) {
      ::kill(external_, SIGKILL);
      ::waitpid(external_, nullptr, 0);
    }
    ServerTest::TearDown();
  }

  std::string sock(const std::string& name) const { return dir_.path() + "/" + name + ".sock"; }

  // Apps a, b and c (php-cgi, 2 processes each, answering their name) and the group `servers`
  // (the body of `upstream g { }`) behind the .php location, with `procs` workers.
  void startGroup(const std::string& servers, int procs = 1) {
    std::string conf;
    for (const char* name : {"a", "b", "c"}) {
      conf += "app " + std::string(name) + " {\n command " + kPhpCgi +
              ";\n processes 2;\n socket unix:" + sock(name) + ";\n env APP_NAME=" + name +
              ";\n env PHP_FCGI_MAX_REQUESTS=0;\n}\n";
    }
    conf += "status_path /status;\nmetrics_path /metrics;\nupstream g {\n" + servers +
            "}\nserver {\n root " + dir_.path() +
            ";\n location ~ \\.php$ {\n fastcgi_pass g;\n }\n}\n";
    ASSERT_TRUE(writeFile(dir_.path() + "/hs.conf", conf));
    ServerOptions opts;
    opts.procs = procs;
    opts.root = dir_.path();
    opts.extraArgs = {"-c", dir_.path() + "/hs.conf"};
    opts.waitForWorkers = false;
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }

  // A php-cgi of our own listening on `path`, answering `name`: one process, which serves one
  // connection at a time, so the group keeps none open (keepalive 0).
  void startExternal(const std::string& path, const std::string& name) {
    external_ = ::fork();
    if (external_ == 0) {
      ::setenv("APP_NAME", name.c_str(), 1);
      ::setenv("PHP_FCGI_MAX_REQUESTS", "0", 1);
      ::execl(kPhpCgi, kPhpCgi, "-b", path.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    struct stat st;
    ASSERT_TRUE(waitFor([&] { return ::stat(path.c_str(), &st) == 0; }, 5000));
    ::chmod(path.c_str(), 0777);  // the workers connect as nobody
  }

  size_t count(const std::string& needle) const {
    std::string log = server_.log();
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }

  TempDir dir_;
  pid_t external_ = -1;
};

TEST_F(UpstreamsTest, RequestsSpreadByWeight) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startGroup(" server unix:" + sock("a") + " weight=5;\n server unix:" +
                                     sock("b") + ";\n server unix:" + sock("c") + ";\n"));
  Client c(port());
  ASSERT_TRUE(c.ok());
  std::string sequence;
  std::map<std::string, int> counts;
  for (int i = 0; i < 70; ++i) {
    Response r = c.exchange(getRequest("/who.php"));
    ASSERT_EQ(r.status, 200) << r.describe() << "\n" << server_.log();
    if (i < 7) sequence += r.body;
    ++counts[r.body];
  }
  EXPECT_EQ(sequence, "aabacaa");  // nginx's smooth weighted round robin
  EXPECT_EQ(counts["a"], 50);
  EXPECT_EQ(counts["b"], 10);
  EXPECT_EQ(counts["c"], 10);
}

TEST_F(UpstreamsTest, DeadServerFailsNoGetIsTakenOutAndComesBack) {
  NEED_PHP();
  const std::string dead = sock("d");
  ASSERT_NO_FATAL_FAILURE(startGroup(" server unix:" + sock("a") + ";\n server unix:" + sock("b") +
                                         ";\n server unix:" + dead +
                                         " weight=2 fail_timeout=1s;\n keepalive 0;\n",
                                     2));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::mutex seenMu;
  std::map<std::string, int> seen;
  std::string firstFailure;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      Client c(port());
      while (!stop && c.ok()) {
        Response r = c.exchange(getRequest("/who.php"));
        if (r.status == 200) {
          ++ok;
          std::lock_guard<std::mutex> lock(seenMu);
          ++seen[r.body];
        } else {
          if (failed++ == 0) {
            std::lock_guard<std::mutex> lock(seenMu);
            firstFailure = r.describe() + r.error;
          }
          c = Client(port());
        }
      }
    });
  }
  // Taken out in each worker that tried it, and no request failed meanwhile.
  const std::string disabled = "server unix:" + dead + " temporarily disabled";
  EXPECT_TRUE(waitFor([&] { return ok.load() > 200 && count(disabled) >= 1; }, 10000));
  // The status page and the metrics say so.
  const std::string line = "Upstream g: server unix:" + dead + ", state down";
  EXPECT_TRUE(waitFor(
      [&] { return fetchGet(port(), "/status").body.find(line) != std::string::npos; }, 5000))
      << fetchGet(port(), "/status").body;
  std::string metrics = fetchGet(port(), "/metrics").body;
  EXPECT_NE(metrics.find("httpserver_upstream_up{upstream=\"g\",server=\"unix:" + dead + "\"} 0"),
            std::string::npos)
      << metrics;
  std::string json = fetchGet(port(), "/status?json").body;
  EXPECT_NE(json.find("{\"server\":\"unix:" + dead +
                      "\",\"weight\":2,\"backup\":false,\"state\":\"down\""),
            std::string::npos)
      << json;
  // It answers now: after its fail_timeout a probe reaches it, and it is back.
  ASSERT_NO_FATAL_FAILURE(startExternal(dead, "d"));
  // Back in every worker (the status page says up once none has it out), under the same load.
  const std::string up = "Upstream g: server unix:" + dead + ", state up";
  bool back = waitFor(
      [&] {
        std::lock_guard<std::mutex> lock(seenMu);
        return seen["d"] > 10;
      },
      10000);
  bool upEverywhere = waitFor(
      [&] { return fetchGet(port(), "/status").body.find(up) != std::string::npos; }, 10000);
  stop = true;
  for (std::thread& t : clients) t.join();
  EXPECT_TRUE(back) << server_.log();
  EXPECT_TRUE(upEverywhere) << fetchGet(port(), "/status").body;
  EXPECT_EQ(failed.load(), 0) << "ok " << ok.load() << ", first failure: " << firstFailure << "\n"
                              << server_.log();
  EXPECT_GE(count("server unix:" + dead + " is back"), 1u) << server_.log();
}

TEST_F(UpstreamsTest, HashSendsAClientToOneServerFromEveryWorker) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startGroup(" server unix:" + sock("a") + ";\n server unix:" + sock("b") +
                                         ";\n server unix:" + sock("c") +
                                         ";\n hash $remote_addr;\n",
                                     2));
  std::map<std::string, int> counts;
  for (int i = 0; i < 30; ++i) {  // new connections: both workers answer some
    Response r = fetchGet(port(), "/who.php");
    ASSERT_EQ(r.status, 200) << r.describe() << "\n" << server_.log();
    ++counts[r.body];
  }
  EXPECT_EQ(counts.size(), 1u) << counts.size() << " servers for one client";
  std::string status = fetchGet(port(), "/status?json").body;
  EXPECT_NE(status.find("\"balance\":\"hash\""), std::string::npos) << status;
}

TEST_F(UpstreamsTest, KilledAppFailsNoGet) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startGroup(" server unix:" + sock("a") + ";\n server unix:" + sock("b") +
                                         ";\n server unix:" + sock("c") + ";\n",
                                     2));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      Client c(port());
      while (!stop && c.ok()) {
        Response r = c.exchange(getRequest("/who.php"));
        if (r.status == 200) {
          ++ok;
        } else {
          ++failed;
          c = Client(port());
        }
      }
    });
  }
  ASSERT_TRUE(waitFor([&] { return ok.load() > 100; }, 10000));
  // Every process of app b at once: its requests in flight go to a or c.
  int killed = 0;
  for (const ProcInfo& p : childrenOf(server_.pid())) {
    std::optional<std::string> env = readFile("/proc/" + std::to_string(p.pid) + "/environ");
    if (p.comm == "php-cgi" && env && env->find("APP_NAME=b") != std::string::npos) {
      killed += ::kill(p.pid, SIGKILL) == 0 ? 1 : 0;
    }
  }
  EXPECT_EQ(killed, 2);
  const int before = ok.load();
  waitFor([&] { return ok.load() > before + 300; }, 10000);
  stop = true;
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0) << "ok " << ok.load() << "\n" << server_.log();
  EXPECT_GT(ok.load(), before + 300);
}

TEST_F(UpstreamsTest, EveryServerDownIs502AtOnce) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startGroup(" server unix:" + sock("x") + ";\n server unix:" + sock("y") +
                                     ";\n server unix:" + sock("z") + " backup;\n"));
  Response first = fetchGet(port(), "/who.php");  // tries x, y and the backup z: all refused
  EXPECT_EQ(first.status, 502) << first.describe() << server_.log();
  Response second = fetchGet(port(), "/who.php");
  EXPECT_EQ(second.status, 502) << second.describe();
  EXPECT_TRUE(waitFor([&] { return count("upstream g: no live upstreams") >= 1; }, 2000))
      << server_.log();
}

TEST_F(UpstreamsTest, ConfigurationErrorsAreRefusedWithTheirLine) {
  struct Case {
    const char* name;
    std::string conf;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"unknown upstream",
       "upstream g { server 127.0.0.1:9000; }\nserver {\n location / { fastcgi_pass h; }\n}\n",
       "hs.conf:3: fastcgi_pass names no app or upstream 'h'"},
      {"app's name", "app g { command /bin/true; }\nupstream g { server 127.0.0.1:9000; }\n",
       "hs.conf:2: upstream 'g' has the name of an app ("},
      {"empty", "upstream g {\n}\n", "hs.conf:1: upstream 'g' has no 'server'"},
      {"backups only", "upstream g {\n server 127.0.0.1:9000 backup;\n}\n",
       "hs.conf:1: upstream 'g' has only backup servers"},
      {"bad weight", "upstream g {\n server 127.0.0.1:9000 weight=-2;\n}\n",
       "hs.conf:2: weight must be 1..1000, not '-2'"},
      {"twice", "upstream g { server 127.0.0.1:9000; }\nupstream g { server 127.0.0.1:9001; }\n",
       "hs.conf:2: duplicate upstream 'g' (first at line 1)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string conf = dir_.path() + "/hs.conf";
    ASSERT_TRUE(writeFile(conf, c.conf));
    RunResult r = runProgram(serverBinary(), {"-t", "-c", conf, "127.0.0.1", "1", "1", "1"}, 5000);
    EXPECT_NE(r.exitCode, 0) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find(c.message), std::string::npos) << r.out << r.err;
  }
}

}  // namespace
}  // namespace hs::integration
