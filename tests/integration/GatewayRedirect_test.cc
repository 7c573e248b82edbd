// What passes between the gateway, the static files and a real php-cgi: fastcgi_param lines with
// variables, internal redirects into the gateway (try_files' front controller, error_page), and
// X-Accel-Redirect into an `internal` location, served as files (ranges, validators). The cases
// skip (one line) where php-cgi is not installed.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>

#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

constexpr char kPhpCgi[] = "/usr/bin/php-cgi";

class GatewayRedirectTest : public ServerTest {
 protected:
  void SetUp() override { ::chmod(dir_.path().c_str(), 0755); }  // the app runs as nobody

  // One worker with a php-cgi app of one process (`app` adds to its block); `server` is the server
  // block's body.
  void start(const std::string& server, const std::string& app = "") {
    const std::string conf = dir_.path() + "/hs.conf";
    ASSERT_TRUE(writeFile(conf, "app php {\n command " + std::string(kPhpCgi) +
                                    ";\n processes 1;\n env PHP_FCGI_MAX_REQUESTS=0;\n" + app +
                                    "}\n"
                                    "server {\n root " +
                                    dir_.path() + ";\n" + server + "\n}\n"));
    ServerOptions opts;
    opts.procs = 1;
    opts.root = dir_.path();
    opts.extraArgs = {"-c", conf};
    opts.waitForWorkers = false;
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }

  void file(const std::string& rel, const std::string& data) {
    const size_t slash = rel.rfind('/');
    if (slash != std::string::npos)
      ::mkdir((dir_.path() + "/" + rel.substr(0, slash)).c_str(), 0755);
    ASSERT_TRUE(writeFile(dir_.path() + "/" + rel, data));
  }

  TempDir dir_;
};

#define NEED_PHP()                  \
  if (::access(kPhpCgi, X_OK) != 0) \
  GTEST_SKIP() << "php-cgi is not installed (Debian package php-cgi)"

std::string post(std::string_view target, std::string_view body) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

// fastcgi_param: values with variables, a location's list replacing the server's, a param
// replacing the standard one of its name, if_not_empty, and HTTP_PROXY never passed.
TEST_F(GatewayRedirectTest, FastCgiParamsReachTheApp) {
  NEED_PHP();
  const std::string show =
      "<?php foreach (['WHERE','SCRIPT_FILENAME','X_URI','X_ARGS','X_HOST','X_EMPTY','X_TOP',"
      "'HTTP_PROXY','SCRIPT_NAME','SERVER_ADDR','SERVER_PORT'] as $k) echo $k, '=', $_SERVER[$k] "
      "?? '(none)', \"\\n\";";
  ASSERT_NO_FATAL_FAILURE(file("p.php", "<?php echo 'WHERE=root';"));
  ASSERT_NO_FATAL_FAILURE(file("alt/p.php", show));
  ASSERT_NO_FATAL_FAILURE(
      start("fastcgi_param X_TOP top;\n"
            "location ~ \\.php$ {\n fastcgi_pass php;\n"
            " fastcgi_param SCRIPT_FILENAME $document_root/alt$fastcgi_script_name;\n"
            " fastcgi_param X_URI $request_uri;\n fastcgi_param X_ARGS \"[$args]\";\n"
            " fastcgi_param X_HOST $host;\n fastcgi_param X_EMPTY $http_x_none if_not_empty;\n"
            " fastcgi_param HTTP_PROXY http://evil.test/;\n}"));
  Response r = fetchGet(port(), "/p.php?a=1&b=2", "Proxy: http://evil.test:1/\r\n");
  ASSERT_EQ(r.status, 200) << r.describe() << r.body << server_.log();
  EXPECT_EQ(r.body, "WHERE=(none)\nSCRIPT_FILENAME=" + dir_.path() +
                        "/alt/p.php\nX_URI=/p.php?a=1&b=2\nX_ARGS=[a=1&b=2]\nX_HOST=127.0.0.1\n"
                        "X_EMPTY=(none)\nX_TOP=(none)\nHTTP_PROXY=(none)\nSCRIPT_NAME=/p.php\n"
                        "SERVER_ADDR=127.0.0.1\nSERVER_PORT=" +
                        std::to_string(port()) + "\n");
}

// The classic front controller: try_files falls back to /index.php?$args in a PHP location. The
// app sees the redirect's script and arguments, the client's REQUEST_URI, and a POST's body.
TEST_F(GatewayRedirectTest, TryFilesAndErrorPageEnterTheGateway) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(
      file("index.php",
           "<?php echo $_SERVER['SCRIPT_NAME'], '|', $_SERVER['REQUEST_URI'], '|',"
           " $_SERVER['QUERY_STRING'], '|', $_SERVER['REQUEST_METHOD'], '|',"
           " file_get_contents('php://input');"));
  ASSERT_NO_FATAL_FAILURE(file("static.txt", "static"));
  ASSERT_NO_FATAL_FAILURE(
      start("location / { try_files $uri $uri/ /index.php?$args; }\n"
            "location /eq/ { error_page 404 = /index.php; }\n"
            "location /keep/ { error_page 404 /index.php; }\n"
            "location ~ \\.php$ { fastcgi_pass php; }"));
  struct Case {
    const char* name;
    std::string request;
    int status;
    std::string body;
  };
  const Case cases[] = {
      {"route with arguments", getRequest("/some/route?a=1&b=2"), 200,
       "/index.php|/some/route?a=1&b=2|a=1&b=2|GET|"},
      {"route without arguments", getRequest("/other"), 200, "/index.php|/other||GET|"},
      {"an existing file is served", getRequest("/static.txt"), 200, "static"},
      {"a POST keeps its body", post("/form?x=y", "name=value"), 200,
       "/index.php|/form?x=y|x=y|POST|name=value"},
      {"error_page = answers with the app's status", getRequest("/eq/missing"), 200,
       "/index.php|/eq/missing||GET|"},
      {"error_page keeps the error's status", getRequest("/keep/missing"), 404,
       "/index.php|/keep/missing||GET|"},
      {"the script itself", getRequest("/index.php?z=1"), 200,
       "/index.php|/index.php?z=1|z=1|GET|"},
  };
  Client c(port());
  ASSERT_TRUE(c.ok());
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    Response r = c.exchange(k.request);
    EXPECT_EQ(r.status, k.status) << r.describe() << r.body << server_.log();
    EXPECT_EQ(r.body, k.body);
  }
}

// X-Accel-Redirect: the app names a file in an internal location, which clients cannot fetch
// themselves; the file is served with ranges and validators, with the app's Content-Disposition,
// Set-Cookie and Cache-Control, and nothing of the app's body.
TEST_F(GatewayRedirectTest, XAccelRedirectServesAnInternalFile) {
  NEED_PHP();
  std::string data(200 * 1024, 'd');
  for (size_t i = 0; i < data.size(); i += 997) data[i] = static_cast<char>('a' + i % 26);
  ASSERT_NO_FATAL_FAILURE(file("protected/file.bin", data));
  ASSERT_NO_FATAL_FAILURE(file("dl.php",
                               "<?php header('X-Accel-Redirect: /protected/file.bin');"
                               " header('Content-Disposition: attachment; filename=\"f.bin\"');"
                               " setcookie('s', '1'); header('Cache-Control: private');"
                               " echo 'APP BODY ', $_SERVER['REQUEST_METHOD'];"));
  ASSERT_NO_FATAL_FAILURE(file("bad.php", "<?php header('X-Accel-Redirect: nowhere');"));
  ASSERT_NO_FATAL_FAILURE(file("gone.php", "<?php header('X-Accel-Redirect: /protected/no');"));
  ASSERT_NO_FATAL_FAILURE(
      start("location /protected/ { internal; }\n"
            "location ~ \\.php$ { fastcgi_pass php; }"));
  EXPECT_EQ(fetchGet(port(), "/protected/file.bin").status, 404);

  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange(getRequest("/dl.php"));
  ASSERT_EQ(r.status, 200) << r.describe() << server_.log();
  EXPECT_TRUE(r.body == data) << r.body.substr(0, 64);
  EXPECT_EQ(r.header("content-disposition"), "attachment; filename=\"f.bin\"");
  EXPECT_EQ(r.count("set-cookie"), 1u);
  EXPECT_EQ(r.header("cache-control"), "private");
  EXPECT_EQ(r.header("content-type"), "application/octet-stream");
  EXPECT_FALSE(r.has("x-accel-redirect"));
  const std::string etag = r.header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_FALSE(r.header("last-modified").empty());

  Response range = c.exchange(getRequest("/dl.php", "Range: bytes=997-1000\r\n"));
  EXPECT_EQ(range.status, 206) << range.describe();
  EXPECT_EQ(range.body, data.substr(997, 4));
  Response same = c.exchange(getRequest("/dl.php", "If-None-Match: " + etag + "\r\n"));
  EXPECT_EQ(same.status, 304) << same.describe();
  Response head = c.exchange(getRequest("/dl.php", "", "HEAD"), true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  Response posted = c.exchange(post("/dl.php", "a=1"));  // answered as a GET, as nginx does
  EXPECT_EQ(posted.status, 200) << posted.describe();
  EXPECT_TRUE(posted.body == data);

  EXPECT_EQ(c.exchange(getRequest("/gone.php")).status, 404);
  EXPECT_EQ(c.exchange(getRequest("/bad.php")).status, 502);
}

// Every php-cgi process busy in a 2 s sleep: static files are still served at once, and with
// `queue 1; queue_timeout 600ms;` the app's queue overflows to 503 with Retry-After at once for one
// request and the other waits its 600 ms in the queue, then gets 503 too, long before the sleeper
// ends. Which of the two is queued depends on the order the worker reads them; the test accepts
// either.
TEST_F(GatewayRedirectTest, BusyAppQueueOverflowsTo503WhileFilesAreServed) {
  NEED_PHP();
  const std::string flags = dir_.path() + "/flags";  // the app, as nobody, may write here
  ASSERT_EQ(::mkdir(flags.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(flags.c_str(), 0777), 0);
  const std::string started = flags + "/started";
  ASSERT_NO_FATAL_FAILURE(
      file("sleep.php", "<?php touch('" + started + "'); sleep(2); echo 'slept';"));
  ASSERT_NO_FATAL_FAILURE(file("q.php", "<?php echo 'q';"));
  ASSERT_NO_FATAL_FAILURE(file("plain.txt", "plain"));
  ASSERT_NO_FATAL_FAILURE(
      start("location ~ \\.php$ { fastcgi_pass php; }", "queue 1;\n queue_timeout 600ms;\n"));
  Client sleeper(port());
  ASSERT_TRUE(sleeper.ok() && sleeper.send(getRequest("/sleep.php")));
  ASSERT_TRUE(waitFor([&] { return ::access(started.c_str(), F_OK) == 0; }, 10'000));
  Response ra, rb;
  int64_t msA = 0, msB = 0;
  auto ask = [&](const char* target, Response* r, int64_t* ms) {
    Client c(port());
    const auto t0 = Clock::now();
    *r = c.exchange(getRequest(target));
    *ms = msSince(t0);
  };
  std::thread ta(ask, "/q.php?a", &ra, &msA), tb(ask, "/q.php?b", &rb, &msB);
  // Files while the app is busy and requests wait for it.
  int64_t slowestFileMs = 0;
  for (int i = 0; i < 5; ++i) {
    const auto f0 = Clock::now();
    Response f = fetchGet(port(), "/plain.txt");
    EXPECT_EQ(f.status, 200);
    slowestFileMs = std::max<int64_t>(slowestFileMs, msSince(f0));
  }
  ta.join();
  tb.join();
  const int64_t waitedMs = std::max(msA, msB);
  EXPECT_LT(std::min(msA, msB), 450) << "the overflow is answered at once";
  EXPECT_EQ(ra.status, 503) << ra.describe();
  EXPECT_EQ(rb.status, 503) << rb.describe();
  EXPECT_EQ(ra.header("retry-after"), "1");
  EXPECT_EQ(rb.header("retry-after"), "1");
  EXPECT_GE(waitedMs, 550) << "one of them waited in the queue for its timeout";
  EXPECT_LT(waitedMs, 1800) << "not until the sleeper ended";
  Response slept = sleeper.read();
  EXPECT_EQ(slept.status, 200) << slept.describe();
  EXPECT_EQ(slept.body, "slept");
  EXPECT_LT(slowestFileMs, 500);
  std::printf(
      "[ figures  ] static file while every app process is busy: slowest %lld ms; the "
      "overflow's 503 after %lld ms, the queued one's after %lld ms (queue_timeout 600ms)\n",
      static_cast<long long>(slowestFileMs), static_cast<long long>(std::min(msA, msB)),
      static_cast<long long>(waitedMs));
}

}  // namespace
}  // namespace hs::integration
