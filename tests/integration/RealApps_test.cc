// Real FastCGI components behind the gateway: fcgiwrap running a shell CGI script and a Go
// net/http/fcgi application, both as `app` pools the master runs, and php-fpm as an externally
// managed pool (`fastcgi_pass unix:PATH`) the test starts and stops itself. Each case says in one
// line that it skipped when its program is not installed (Debian packages fcgiwrap, golang-go,
// php-fpm; .ci/run installs them).
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "GoApp.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

constexpr char kFcgiwrap[] = "/usr/sbin/fcgiwrap";

// A CGI script: the method, the query and the body it read; a 404 of its own for ?missing.
constexpr char kCgiScript[] = R"(#!/bin/sh
if [ "$QUERY_STRING" = missing ]; then
  printf 'Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno such record\n'
  exit 0
fi
printf 'Content-Type: text/plain\r\nX-Cgi: sh\r\n\r\n'
echo "method=$REQUEST_METHOD query=$QUERY_STRING length=${CONTENT_LENGTH:-none}"
if [ -n "$CONTENT_LENGTH" ]; then
  printf 'body='
  head -c "$CONTENT_LENGTH"
  echo
fi
)";

// The first php-fpm binary installed (php-fpm8.2 and its kind), or "".
std::string findPhpFpm() {
  glob_t g{};
  std::string found;
  if (::glob("/usr/sbin/php-fpm*", 0, nullptr, &g) == 0 && g.gl_pathc > 0) found = g.gl_pathv[0];
  ::globfree(&g);
  return found;
}

// php-fpm in the foreground with its own configuration, pid file, log and socket in `dir`;
// stopped by pid when the test ends, whatever happens.
class PhpFpmProcess {
 public:
  PhpFpmProcess() = default;
  PhpFpmProcess(const PhpFpmProcess&) = delete;
  PhpFpmProcess& operator=(const PhpFpmProcess&) = delete;
  ~PhpFpmProcess() { stop(); }

  bool start(const std::string& binary, const std::string& dir, const std::string& socket) {
    std::string conf = "[global]\npid = " + dir + "/fpm.pid\nerror_log = " + dir +
                       "/fpm.log\ndaemonize = no\n[pool]\nlisten = " + socket +
                       "\nlisten.mode = 0666\npm = static\npm.max_children = 2\n";
    if (::geteuid() == 0) {
      const group* g = ::getgrgid(65534);
      conf += "user = nobody\ngroup = " + std::string(g != nullptr ? g->gr_name : "nogroup") + "\n";
    }
    if (!writeFile(dir + "/fpm.conf", conf)) return false;
    const int out = ::open((dir + "/fpm.out").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      prepareChild(out, out);
      execOrDie(binary, {"-F", "-y", dir + "/fpm.conf"});
    }
    ::close(out);
    bool exited = false;
    struct stat st;
    const bool up = waitFor(
        [&] {
          exited = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
          return exited || ::stat(socket.c_str(), &st) == 0;
        },
        10000);
    if (exited) pid_ = -1;
    return up && !exited;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGQUIT);
    if (!waitFor([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 3000)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

class RealAppsTest : public ServerTest {
 protected:
  void SetUp() override { ::chmod(dir_.path().c_str(), 0755); }  // the apps run as nobody

  // One worker serving dir_, with `config` (app blocks) before a server whose `locations` follow
  // its root.
  void start(const std::string& config, const std::string& locations) {
    const std::string conf = dir_.path() + "/hs.conf";
    ASSERT_TRUE(
        writeFile(conf, config + "server {\n root " + dir_.path() + ";\n" + locations + "}\n"));
    ServerOptions opts;
    opts.procs = 1;
    opts.root = dir_.path();
    opts.extraArgs = {"-c", conf};
    opts.waitForWorkers = false;
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }

  TempDir dir_;
};

TEST_F(RealAppsTest, FcgiwrapRunsAShellScript) {
  if (::access(kFcgiwrap, X_OK) != 0) {
    GTEST_SKIP() << "fcgiwrap is not installed (Debian package fcgiwrap)";
  }
  const std::string script = dir_.path() + "/echo.cgi";
  ASSERT_TRUE(writeFile(script, kCgiScript));
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  ASSERT_NO_FATAL_FAILURE(
      start("app cgi {\n command " + std::string(kFcgiwrap) + ";\n processes 2;\n}\n",
            "location ~ \\.cgi$ { fastcgi_pass cgi; }\n"));
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response get = c.exchange(getRequest("/echo.cgi?a=1&b=two"));
  ASSERT_EQ(get.status, 200) << get.describe() << get.body << "\n" << server_.log();
  EXPECT_EQ(get.header("x-cgi"), "sh");
  EXPECT_EQ(get.body, "method=GET query=a=1&b=two length=none\n");

  const std::string body = "name=fcgiwrap&size=42";
  Response post = c.exchange(
      "POST /echo.cgi HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_EQ(post.status, 200) << post.describe() << post.body;
  EXPECT_EQ(post.body, "method=POST query= length=21\nbody=" + body + "\n");

  Response missing = c.exchange(getRequest("/echo.cgi?missing"));
  EXPECT_EQ(missing.status, 404) << missing.describe();
  EXPECT_EQ(missing.body, "no such record\n");
  Response again = c.exchange(getRequest("/echo.cgi?last"));
  EXPECT_EQ(again.body, "method=GET query=last length=none\n") << again.describe();
}

TEST_F(RealAppsTest, GoFcgiAppHeadersCookiesAndTenMebibytes) {
  std::string why;
  const std::string app = goFcgiApp(&why);
  if (app.empty()) GTEST_SKIP() << why;
  ASSERT_NO_FATAL_FAILURE(start("app go {\n command " + app + ";\n processes 2;\n}\n",
                                "location /go/ { fastcgi_pass go; }\n"));
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response hello = c.exchange(getRequest("/go/hello?x=1", "X-Test: seen\r\n"));
  ASSERT_EQ(hello.status, 200) << hello.describe() << hello.body << "\n" << server_.log();
  EXPECT_EQ(hello.body, "hello GET /go/hello?x=1");
  EXPECT_EQ(hello.header("x-app"), "go");
  EXPECT_EQ(hello.header("x-seen"), "seen");
  EXPECT_EQ(hello.header("content-type"), "text/plain; charset=utf-8");
  ASSERT_EQ(hello.count("set-cookie"), 2u) << hello.describe();
  std::string cookies;
  for (const auto& [name, value] : hello.headers) {
    if (name == "set-cookie") cookies += value + "|";
  }
  EXPECT_EQ(cookies, "first=1; Path=/|second=2; HttpOnly|");

  Response big = c.exchange(getRequest("/go/big?mib=10"));
  ASSERT_EQ(big.status, 200) << big.describe() << big.error;
  ASSERT_EQ(big.body.size(), 10u << 20);
  EXPECT_EQ(big.body.substr(0, 9), "00000000.");
  EXPECT_EQ(big.body.substr(5000 * 1024, 8), "00005000");
  EXPECT_EQ(big.body.substr(big.body.size() - 1024, 8), "00010239");
  EXPECT_EQ(big.body.back(), '\n');
  Response head = c.exchange(getRequest("/go/hello", "", "HEAD"), true);
  EXPECT_EQ(head.status, 200) << head.describe();
  EXPECT_EQ(head.body, "");
  Response after = c.exchange(getRequest("/go/other"));
  EXPECT_EQ(after.body, "page /go/other") << after.describe();
}

TEST_F(RealAppsTest, PhpFpmAsAnExternalPool) {
  const std::string fpm = findPhpFpm();
  if (fpm.empty()) GTEST_SKIP() << "php-fpm is not installed (Debian package php-fpm)";
  const std::string socket = dir_.path() + "/fpm.sock";
  PhpFpmProcess pool;
  ASSERT_TRUE(pool.start(fpm, dir_.path(), socket))
      << readFile(dir_.path() + "/fpm.out").value_or("") << "\n"
      << readFile(dir_.path() + "/fpm.log").value_or("");
  ASSERT_TRUE(writeFile(dir_.path() + "/form.php",
                        "<?php header('X-Fpm: ' . PHP_SAPI); setcookie('seen', 'yes');"
                        " echo $_SERVER['REQUEST_METHOD'], ' q=', $_GET['q'] ?? '',"
                        " ' name=', $_POST['name'] ?? '';"));
  ASSERT_NO_FATAL_FAILURE(start("", "location ~ \\.php$ { fastcgi_pass unix:" + socket + "; }\n"));
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response get = c.exchange(getRequest("/form.php?q=42"));
  ASSERT_EQ(get.status, 200) << get.describe() << get.body << "\n" << server_.log();
  EXPECT_EQ(get.body, "GET q=42 name=");
  EXPECT_EQ(get.header("x-fpm"), "fpm-fcgi");
  EXPECT_EQ(get.header("set-cookie"), "seen=yes");
  const std::string body = "name=fpm+pool";
  Response post = c.exchange(
      "POST /form.php?q=1 HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_EQ(post.status, 200) << post.describe() << post.body;
  EXPECT_EQ(post.body, "POST q=1 name=fpm pool");
  EXPECT_EQ(fetchGet(port(), "/missing.php").status, 404);
}

}  // namespace
}  // namespace hs::integration
