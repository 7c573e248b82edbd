// Application pools the master runs (`app NAME { ... }`): the children start with the socket on
// fd 0 and answer FastCGI on it, a killed child is replaced, stderr reaches the error log with the
// app's name, a crash loop is slowed down, and both stops take the children with them. The php-cgi
// cases skip (one line) where php-cgi is not installed.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "FcgiUtil.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

constexpr char kPhpCgi[] = "/usr/bin/php-cgi";

bool havePhpCgi() { return ::access(kPhpCgi, X_OK) == 0; }

class AppsTest : public ServerTest {
 protected:
  // Starts one worker with `config` (a file holding app blocks) and waits for `apps` children
  // besides the worker.
  void startWith(const std::string& config, size_t apps) {
    const std::string conf = dir_.path() + "/hs.conf";
    ASSERT_TRUE(writeFile(conf, config));
    ServerOptions opts;
    opts.procs = 1;
    opts.extraArgs = {"-c", conf};
    opts.waitForWorkers = false;
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
    ASSERT_TRUE(waitFor([&] { return appPids().size() == apps; }, 5000)) << appPids().size() << "\n"
                                                                         << server_.log();
  }

  // The master's children that are not workers.
  std::vector<pid_t> appPids() const {
    std::vector<pid_t> out;
    for (const ProcInfo& p : childrenOf(server_.pid())) {
      if (p.comm.rfind("HttpServer", 0) != 0) out.push_back(p.pid);
    }
    return out;
  }

  void SetUp() override { ::chmod(dir_.path().c_str(), 0755); }  // the apps run as nobody

  TempDir dir_;
};

TEST_F(AppsTest, PhpChildrenAnswerOnTheSocketAndAKilledOneIsReplaced) {
  if (!havePhpCgi()) GTEST_SKIP() << "php-cgi is not installed (Debian package php-cgi)";
  const std::string sock = dir_.path() + "/php.sock";
  ASSERT_TRUE(writeFile(dir_.path() + "/q.php", "<?php echo 'q=', $_GET['q'];"));
  ASSERT_NO_FATAL_FAILURE(startWith("app php {\n command " + std::string(kPhpCgi) +
                                        ";\n processes 2;\n socket unix:" + sock +
                                        ";\n env PHP_FCGI_MAX_REQUESTS=0;\n}\n",
                                    2));
  for (const ProcInfo& p : childrenOf(server_.pid())) {
    if (p.comm.rfind("HttpServer", 0) != 0) {
      EXPECT_EQ(p.comm, "php-cgi");
    }
  }
  FcgiReply r = fcgiRequest(sock, phpGetParams(dir_.path() + "/q.php", "q=42"));
  ASSERT_TRUE(r.ok) << r.error << "\n" << server_.log();
  EXPECT_NE(r.out.find("\r\n\r\nq=42"), std::string::npos) << r.out;

  const std::vector<pid_t> before = appPids();
  ASSERT_EQ(::kill(before[0], SIGKILL), 0);
  std::vector<pid_t> after;
  ASSERT_TRUE(waitFor(
      [&] {
        after = appPids();
        return after.size() == 2 && std::find(after.begin(), after.end(), before[0]) == after.end();
      },
      3000))
      << server_.log();
  EXPECT_NE(server_.log().find("app php: process 0 (pid " + std::to_string(before[0]) +
                               ") killed by signal 9"),
            std::string::npos)
      << server_.log();
  r = fcgiRequest(sock, phpGetParams(dir_.path() + "/q.php", "q=7"));
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_NE(r.out.find("q=7"), std::string::npos) << r.out;
}

TEST_F(AppsTest, PrivateSocketByDefaultAndRemovedAtStop) {
  if (!havePhpCgi()) GTEST_SKIP() << "php-cgi is not installed (Debian package php-cgi)";
  ASSERT_NO_FATAL_FAILURE(
      startWith("app php { command " + std::string(kPhpCgi) + "; processes 1; }\n", 1));
  const std::string log = server_.log();
  const size_t at = log.find("on unix:/tmp/HttpServer-apps.");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string sock = log.substr(at + 8, log.find('\n', at) - at - 8);
  struct stat st;
  ASSERT_EQ(::stat(sock.substr(0, sock.rfind('/')).c_str(), &st), 0) << sock;
  EXPECT_EQ(st.st_mode & 0777, 0700u);  // only the workers' user may connect
  ASSERT_EQ(::stat(sock.c_str(), &st), 0) << sock;
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  const std::vector<pid_t> apps = appPids();
  ASSERT_EQ(::kill(server_.pid(), SIGQUIT), 0);
  ASSERT_TRUE(server_.waitExit(5000)) << server_.log();
  EXPECT_TRUE(waitGone(apps[0], 2000));
  EXPECT_NE(::stat(sock.c_str(), &st), 0) << "the socket outlived the server";
}

TEST_F(AppsTest, StderrIsLoggedWithTheAppsName) {
  ASSERT_NO_FATAL_FAILURE(startWith(
      "app shout { command /bin/sh -c 'echo first line >&2; echo second >&2; exec sleep 60'; }\n",
      1));
  ASSERT_TRUE(waitFor(
      [&] {
        const std::string log = server_.log();
        return log.find("[warn]") != std::string::npos &&
               log.find("app shout: first line\n") != std::string::npos &&
               log.find("app shout: second\n") != std::string::npos;
      },
      3000))
      << server_.log();
}

TEST_F(AppsTest, CrashLoopBacksOffAndTermStopsEveryChild) {
  ASSERT_NO_FATAL_FAILURE(startWith(
      "app bad { command /bin/false; }\napp good { command /bin/sleep 60; processes 2; }\n", 2));
  ASSERT_TRUE(waitFor(
      [&] {
        return server_.log().find(
                   "app bad: process 0 died 5 times within 1 s of starting; "
                   "next start in 1000 ms") != std::string::npos;
      },
      3000))
      << server_.log();
  const std::vector<pid_t> sleepers = appPids();
  ASSERT_EQ(::kill(server_.pid(), SIGTERM), 0);
  ASSERT_TRUE(server_.waitExit(5000)) << server_.log();
  for (pid_t p : sleepers) EXPECT_TRUE(waitGone(p, 2000)) << p;
}

TEST_F(AppsTest, ConfigurationErrorsAreRefusedWithTheirLine) {
  struct Case {
    const char* name;
    std::string conf;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no command", "app a { processes 2; }\n", "hs.conf:1: app 'a' has no 'command'"},
      {"relative command", "app a { command php-cgi; }\n", "absolute path"},
      {"missing binary", "app a { command /nonexistent/app; }\n", "cannot be executed"},
      {"zero processes", "app a { command /bin/true; processes 0; }\n", "'processes' must be"},
      {"tcp socket", "app a { command /bin/true; socket 127.0.0.1:9000; }\n", "unix:/"},
      {"bad env", "app a { command /bin/true; env FOO; }\n", "NAME=VALUE"},
      {"twice", "app a { command /bin/true; }\napp a { command /bin/true; }\n", "duplicate app"},
      {"unknown", "app a { command /bin/true; root /x; }\n", "not allowed in an app block"},
      {"unknown app", "server { location / { fastcgi_pass nope; } }\n",
       "hs.conf:1: fastcgi_pass names no app or upstream 'nope'"},
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
