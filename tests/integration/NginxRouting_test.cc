// Routing next to nginx: the same server and location blocks are given to nginx (each location
// answers `return 200 "<name>"`) and compiled by our Router in-process; every request must reach
// the same location, the same server, and (for the URI) the same $uri. Where ROUTING.md says we
// differ by design, the case says so. Skipped when nginx is not installed.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "Config.h"
#include "NginxProcess.h"
#include "Router.h"
#include "TestServer.h"
#include "UrlPath.h"

namespace hs::integration {
namespace {

// Location blocks shared by both servers; each names itself in its return.
constexpr const char* kLocations = R"(
    location = / { return 200 "exact-root"; }
    location / { return 200 "root"; }
    location /docs { return 200 "docs"; }
    location ^~ /static/ { return 200 "static"; }
    location ~ \.php$ { return 200 "php"; }
    location ~* \.(png|JPG)$ { return 200 "image"; }
    location ^~ /a { return 200 "a-noregex"; }
    location /a/docs/ { return 200 "a-docs"; }
    location = /exact { return 200 "exact"; }
    location /exact { return 200 "exact-prefix"; }
    location /nest/ {
      return 200 "nest";
      location /nest/inner/ { return 200 "nest-inner"; }
      location ~ \.txt$ { return 200 "nest-txt"; }
    }
    location ~ ^/nest/x { return 200 "nest-regex"; }
    location ~ /re/ {
      return 200 "re";
      location ~ deep { return 200 "re-deep"; }
    }
    location /echo/ { return 200 "$uri"; }
)";

// Servers selected by Host; each server answers with its name at the server level.
std::string hostServers(uint16_t port) {
  const std::string listen = "    listen 127.0.0.1:" + std::to_string(port);
  return "  server {\n" + listen + ";\n    server_name first.test;\n    return 200 first;\n  }\n" +
         "  server {\n" + listen +
         ";\n    server_name exact.example.test *.example.test;\n    return 200 wild;\n  }\n" +
         "  server {\n" + listen +
         ";\n    server_name *.b.example.test;\n    return 200 deeper;\n  }\n" + "  server {\n" +
         listen + " default_server;\n    server_name dflt.test;\n    return 200 dflt;\n  }\n";
}

struct Both {
  RouteConfig routes;
  std::string err;
  bool ok = false;
};

void compileOurs(const std::string& http, Both* b) {
  Config cfg;
  cfg.ip = "127.0.0.1";
  cfg.port = 1;
  b->ok = parseConfigText(http, "routing.conf", &cfg, &b->err) &&
          compileRoutes(cfg, &b->routes, &b->err);
}

// Our answer for a request: the server's own return if it has one, else the location's; "400"
// when the Host or URI is refused, "none" when no location matches.
std::string ourAnswer(const RouteConfig& r, std::string_view target, std::string_view host) {
  char h[256];
  const size_t hn = normalizeHost(host, h, sizeof h);
  char uri[1024];
  const size_t un = normalizeUri(target, uri, sizeof uri);
  if (hn == 0 || un == 0) return "400";
  const Server& s = selectServer(r.listens[0], {h, hn});
  if (s.root.settings.returnCode != 0) return s.root.settings.returnText;
  const Location& l = selectLocation(s, {uri, un});
  if (l.settings.returnCode == 0) return "none";
  return l.settings.returnText == "$uri" ? std::string(uri, un) : l.settings.returnText;
}

std::string nginxAnswer(uint16_t port, std::string_view target, std::string_view host) {
  const Response r =
      fetch(port, "GET " + std::string(target) + " HTTP/1.1\r\nHost: " + std::string(host) +
                      "\r\nConnection: close\r\n\r\n");
  if (r.status == 400) return "400";
  return r.status == 200 ? r.body : "none";
}

struct Case {
  const char* target;
  const char* host;
  const char* differs;  // why ours differs by design, or nullptr
};

TEST(NginxRoutingTest, SameLocationServerAndUriAsNginx) {
  const std::string nginx = findNginx();
  if (nginx.empty()) GTEST_SKIP() << "nginx is not installed (Debian package nginx)";
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  const uint16_t port = pickFreePort();
  const std::string listen = "    listen 127.0.0.1:" + std::to_string(port);
  const std::string http = hostServers(port) + "  server {\n" + listen +
                           ";\n    server_name loc.test;\n    root " + dir.path() + "/none;\n" +
                           kLocations + "  }\n";
  Both ours;
  compileOurs(http, &ours);
  ASSERT_TRUE(ours.ok) << ours.err;
  NginxProcess ngx;
  ASSERT_TRUE(ngx.start(nginx, dir.path(), port, http))
      << readFile(dir.path() + "/error.log").value_or("");

  const char* const kRefusedEncodedSlash = "ROUTING.md: %2F and %00 are 400 here";
  const char* const kClamped = "ROUTING.md: '..' above the root is clamped here, 400 in nginx";
  const Case cases[] = {
      {"/", "loc.test", nullptr},
      {"/index.html", "loc.test", nullptr},
      {"/docs", "loc.test", nullptr},
      {"/docsf.txt", "loc.test", nullptr},
      {"/docs/x.php", "loc.test", nullptr},
      {"/static/x.php", "loc.test", nullptr},
      {"/x.png", "loc.test", nullptr},
      {"/x.PnG", "loc.test", nullptr},
      {"/x.jpg", "loc.test", nullptr},
      {"/x.PHP", "loc.test", nullptr},
      {"/a/x.php", "loc.test", nullptr},
      {"/a/docs/f.php", "loc.test", nullptr},
      {"/a/docs/f.txt", "loc.test", nullptr},
      {"/exact", "loc.test", nullptr},
      {"/exact/", "loc.test", nullptr},
      {"/exactly", "loc.test", nullptr},
      {"/nest/inner/f.txt", "loc.test", nullptr},
      {"/nest/inner/f.html", "loc.test", nullptr},
      {"/nest/f.html", "loc.test", nullptr},
      {"/nest/x.html", "loc.test", nullptr},
      {"/nest/xa", "loc.test", nullptr},
      {"/re/x", "loc.test", nullptr},
      {"/re/deep", "loc.test", nullptr},
      {"/x.php?a=.png", "loc.test", nullptr},
      {"/a%2ephp", "loc.test", nullptr},
      {"/b/%2e%2e/x.php", "loc.test", nullptr},
      {"/static/../x.php", "loc.test", nullptr},
      {"/echo/a//../b", "loc.test", nullptr},
      {"/echo/a/b/./../c", "loc.test", nullptr},
      {"/echo/a/.", "loc.test", nullptr},
      {"/echo/%2541", "loc.test", nullptr},
      {"/echo/a/%3Fx", "loc.test", nullptr},
      {"/echo/a%20b+c", "loc.test", nullptr},
      {"/echo/...", "loc.test", nullptr},
      {"/echo/..b/.hidden", "loc.test", nullptr},
      {"/echo/a\\b", "loc.test", nullptr},
      {"/echo/a%2Fb", "loc.test", kRefusedEncodedSlash},
      {"/echo/../../x", "loc.test", kClamped},
      {"/", "first.test", nullptr},
      {"/", "FIRST.test.", nullptr},
      {"/", "first.test.:8080", nullptr},
      {"/", "exact.example.test", nullptr},
      {"/", "x.example.test", nullptr},
      {"/", "x.y.example.test", nullptr},
      {"/", "x.b.example.test", nullptr},
      {"/", "b.example.test", nullptr},
      {"/", "example.test", nullptr},
      {"/", "unknown.test", nullptr},
      {"/", "[::1]:80", nullptr},
      {"/", "a..b", nullptr},
      {"/", "a/b", nullptr},
      {"/", ".", nullptr},
      {"/", ":80", nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.target) + " Host: " + c.host);
    const std::string theirs = nginxAnswer(port, c.target, c.host);
    const std::string mine = ourAnswer(ours.routes, c.target, c.host);
    fprintf(stderr, "%s %s -> [%s] [%s]\n", c.target, c.host, theirs.c_str(), mine.c_str());
    if (c.differs == nullptr) {
      EXPECT_EQ(mine, theirs);
    } else {
      EXPECT_NE(mine, theirs) << "expected to differ: " << c.differs;
    }
  }
}

}  // namespace
}  // namespace hs::integration
