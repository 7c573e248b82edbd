// Block configurations served by the real binary: two sites side by side on one address, the
// issue's example configuration (paths moved to a temporary tree), a location's body limit, and the
// security promises (a Host cannot reach a server it doesn't name; no mapping leaves its root).
#include <crypt.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "TestServer.h"

namespace hs::integration {
namespace {

void makeDirs(const std::string& base, const std::vector<std::string>& dirs) {
  for (const std::string& d : dirs) ASSERT_EQ(::mkdir((base + "/" + d).c_str(), 0755), 0) << d;
}

std::string withRoot(std::string text, const std::string& root) {
  for (size_t at; (at = text.find("ROOT")) != std::string::npos;) text.replace(at, 4, root);
  return text;
}

std::string getHost(const std::string& target, const std::string& host,
                    const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n" + extra +
         "\r\n";
}

class SitesTest : public ServerTest {
 protected:
  // The workers may run as another user (nobody, when the tests run as root).
  void SetUp() override { ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0); }
  void startWith(const std::string& conf) {
    const std::string file = dir_.path() + "/test.conf";
    ASSERT_TRUE(writeFile(file, withRoot(conf, dir_.path())));
    ServerOptions opts;
    opts.procs = 1;
    opts.root = dir_.path();
    opts.extraArgs = {"-c", file};
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }
  TempDir dir_;
};

constexpr const char* kTwoSites = R"(
server {
  server_name one.test;
  root ROOT/one;
}
server {
  server_name two.test www.two.test;
  root ROOT/two;
  location /docs/ { max_age 60; }
}
)";

TEST_F(SitesTest, TwoSitesServedSideBySide) {
  makeDirs(dir_.path(), {"one", "two", "two/docs"});
  ASSERT_TRUE(writeFile(dir_.path() + "/one/index.html", "site one"));
  ASSERT_TRUE(writeFile(dir_.path() + "/one/only-one.txt", "1"));
  ASSERT_TRUE(writeFile(dir_.path() + "/two/index.html", "site two"));
  ASSERT_TRUE(writeFile(dir_.path() + "/two/docs/d.txt", "doc"));
  ASSERT_NO_FATAL_FAILURE(startWith(kTwoSites));
  struct Case {
    const char* name;
    std::string host, target;
    int status;
    std::string body;
  };
  const Case cases[] = {
      {"site one", "one.test", "/", 200, "site one"},
      {"site two", "two.test", "/", 200, "site two"},
      {"site two by its other name", "WWW.two.test:80", "/", 200, "site two"},
      {"an unknown name: the first server", "three.test", "/", 200, "site one"},
      {"a file only site one has is not in site two", "two.test", "/only-one.txt", 404, ""},
      {"site two's location", "two.test", "/docs/d.txt", 200, "doc"},
      {"an invalid Host", "one..test", "/", 400, ""},
  };
  // Both sites on one keep-alive connection, interleaved, then each on its own.
  Client client(port());
  ASSERT_TRUE(client.ok());
  for (int round = 0; round < 2; ++round) {
    for (const char* host : {"one.test", "two.test"}) {
      Response r = client.exchange("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n");
      EXPECT_EQ(r.status, 200);
      EXPECT_NE(r.body.find(host[1] == 'n' ? "site one" : "site two"), std::string::npos);
    }
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Response r = fetch(port(), getHost(c.target, c.host));
    EXPECT_EQ(r.status, c.status) << r.describe();
    if (!c.body.empty()) {
      EXPECT_NE(r.body.find(c.body), std::string::npos) << r.body;
    }
  }
  EXPECT_EQ(fetch(port(), getHost("/docs/d.txt", "two.test")).header("cache-control"),
            "max-age=60");
}

// The example of the issue, with its paths under a temporary directory and its listen addresses
// on the test's port.
constexpr const char* kIssueExample = R"(
log_format main '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time';
include ROOT/conf.d/*.conf;

server {
    listen 127.0.0.1:PORT default_server;
    server_name example.com www.example.com *.example.org;
    root ROOT/srv/example;
    error_page 404 /404.html;

    location / { try_files $uri $uri/ /index.html; }
    location /static/ { max_age 86400; add_header X-Content-Type-Options nosniff; }
    location = /old { return 301 /new; }
    location ^~ /files/ { alias ROOT/srv/shared/; autoindex on; }
    location ~* \.(png|jpg)$ { max_age 604800; }
    location /admin/ { allow 192.168.0.0/16; allow ::1; deny all; auth_basic "Admin"; auth_basic_user_file ROOT/htpasswd; }
}
)";

TEST_F(SitesTest, TheIssueExampleIsServed) {
  makeDirs(dir_.path(), {"conf.d", "srv", "srv/example", "srv/example/static", "srv/example/admin",
                         "srv/shared", "srv/other"});
  const std::string d = dir_.path();
  ASSERT_TRUE(writeFile(d + "/srv/example/index.html", "spa shell"));
  ASSERT_TRUE(writeFile(d + "/srv/example/static/app.css", "css"));
  ASSERT_TRUE(writeFile(d + "/srv/example/logo.PNG", "png"));
  ASSERT_TRUE(writeFile(d + "/srv/example/admin/x.txt", "admin"));
  ASSERT_TRUE(writeFile(d + "/srv/shared/s.txt", "shared"));
  ASSERT_TRUE(writeFile(d + "/srv/other/index.html", "included server"));
  crypt_data cd{};
  ASSERT_TRUE(writeFile(d + "/htpasswd",
                        std::string("a:") + crypt_rn("pw", "$6$abcdefgh$", &cd, sizeof cd) + "\n"));
  // The included file adds a second server on the same address.
  ASSERT_TRUE(writeFile(d + "/conf.d/other.conf",
                        withRoot("server { listen 127.0.0.1:PORT; server_name other.test; "
                                 "root ROOT/srv/other; }\n",
                                 d)));
  const uint16_t p = pickFreePort();
  ASSERT_NE(p, 0);
  std::string conf = kIssueExample;
  for (size_t at; (at = conf.find("PORT")) != std::string::npos;) {
    conf.replace(at, 4, std::to_string(p));
  }
  std::string other = *readFile(d + "/conf.d/other.conf");
  other.replace(other.find("PORT"), 4, std::to_string(p));
  ASSERT_TRUE(writeFile(d + "/conf.d/other.conf", other));
  const std::string file = d + "/test.conf";
  ASSERT_TRUE(writeFile(file, withRoot(conf, d)));
  ServerOptions opts;
  opts.procs = 1;
  opts.root = d;
  opts.extraArgs = {"-c", file};
  ASSERT_TRUE(server_.startOn(p, opts)) << server_.error() << "\n" << server_.log();
  struct Case {
    const char* name;
    std::string host, target;
    int status;
    std::string body;
    std::string header, value;
  };
  const Case cases[] = {
      {"the single-page app's route", "example.com", "/some/route", 200, "spa shell", "", ""},
      {"a static file with its cache and header", "www.example.com", "/static/app.css", 200, "css",
       "x-content-type-options", "nosniff"},
      {"a case-insensitive regex location", "a.example.org", "/logo.PNG", 200, "png",
       "cache-control", "max-age=604800"},
      {"the redirect", "example.com", "/old", 301, "", "location", "/new"},
      {"the alias with autoindex", "example.com", "/files/", 200, "s.txt", "", ""},
      {"the alias's file", "example.com", "/files/s.txt", 200, "shared", "", ""},
      {"the admin area refuses loopback IPv4 (only 192.168/16 and ::1)", "example.com",
       "/admin/x.txt", 403, "", "", ""},
      {"the included server", "other.test", "/", 200, "included server", "", ""},
      {"an unknown name: the default_server", "nobody.test", "/static/app.css", 200, "css", "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Response r = fetch(p, getHost(c.target, c.host));
    EXPECT_EQ(r.status, c.status) << r.describe();
    if (!c.body.empty()) {
      EXPECT_NE(r.body.find(c.body), std::string::npos) << r.body;
    }
    if (!c.header.empty()) {
      EXPECT_EQ(r.header(c.header), c.value) << r.describe();
    }
  }
}

constexpr const char* kLimits = R"(
server {
  root ROOT/site/www;
  location /small/ { client_max_body_size 10; }
  location /files { alias ROOT/site/shared/; }
  location /closed/ { deny all; }
}
)";

TEST_F(SitesTest, BodyLimitAndEscapesAndGates) {
  // secret.txt is beside the alias directory and the root, in neither.
  makeDirs(dir_.path(), {"site", "site/www", "site/www/small", "site/shared", "site/www/closed"});
  ASSERT_TRUE(writeFile(dir_.path() + "/site/www/small/x.txt", "x"));
  ASSERT_TRUE(writeFile(dir_.path() + "/site/shared/f.txt", "F"));
  ASSERT_TRUE(writeFile(dir_.path() + "/site/secret.txt", "SECRET"));
  ASSERT_TRUE(writeFile(dir_.path() + "/secret-outside.txt", "OUTSIDE"));
  ASSERT_NO_FATAL_FAILURE(startWith(kLimits));
  const std::string body11 = "Content-Length: 11\r\n\r\n01234567890";
  Response big = fetch(port(), "GET /small/x.txt HTTP/1.1\r\nHost: h\r\n" + body11);
  EXPECT_EQ(big.status, 413) << big.describe();
  Response bigElsewhere = fetch(port(), "GET /x HTTP/1.1\r\nHost: h\r\n" + body11);
  EXPECT_EQ(bigElsewhere.status, 404) << "only /small/ has the small limit";
  Response ok =
      fetch(port(), "GET /small/x.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(ok.status, 200) << ok.describe();
  for (const char* target :
       {"/files../secret.txt", "/files../../secret-outside.txt", "/files/../../secret-outside.txt",
        "/files/%2e%2e/secret.txt", "/files%2f..%2fsecret.txt"}) {
    SCOPED_TRACE(target);
    Response r = fetch(port(), getHost(target, "h"));
    EXPECT_NE(r.status, 200) << r.describe();
    EXPECT_EQ(r.body.find("SECRET"), std::string::npos);
    EXPECT_EQ(r.body.find("OUTSIDE"), std::string::npos);
  }
  EXPECT_EQ(fetch(port(), getHost("/files/f.txt", "h")).status, 200);
  EXPECT_EQ(fetch(port(), getHost("/closed/none", "h")).status, 403);
}

}  // namespace
}  // namespace hs::integration
