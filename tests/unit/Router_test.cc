#include "Router.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "Config.h"
#include "UrlPath.h"

namespace hs {
namespace {

// Compiles config text (block syntax) with 127.0.0.1:8080 as the top-level listen address.
bool compile(const std::string& text, RouteConfig* routes, std::string* err) {
  Config cfg;
  cfg.ip = "127.0.0.1";
  cfg.port = 8080;
  return parseConfigText(text, "r.conf", &cfg, err) && compileRoutes(cfg, routes, err);
}

// The location a raw request-target selects, shown as its "file:line" (or "server").
std::string locationFor(const Server& s, std::string_view target) {
  char uri[1024];
  const size_t n = normalizeUri(target, uri, sizeof uri);
  if (n == 0) return "400";
  const Location& l = selectLocation(s, {uri, n});
  return l.match == LocationMatch::kServer ? "server" : "line " + std::to_string(l.line);
}

TEST(RouterTest, UriIsNginxsDollarUri) {
  struct Case {
    const char* target;
    const char* uri;  // "" for 400
  };
  const Case cases[] = {
      {"/", "/"},
      {"/a/b?x=/../y", "/a/b"},
      {"/a?", "/a"},
      {"/%2541", "/%41"},
      {"/%41%42%4a%4A", "/ABJJ"},
      {"/a/%2e%2e/b", "/b"},
      {"/a/%2E/b", "/a/b"},
      {"/a/%3Fx", "/a/?x"},
      {"/a/%23x", "/a/#x"},
      {"/a/%25", "/a/%"},
      {"/a%20b+c", "/a b+c"},
      {"/a//../b", "/b"},
      {"//a///b//", "/a/b/"},
      {"/a/b/./../c", "/a/c"},
      {"/a/.", "/a/"},
      {"/a/..", "/"},
      {"/a/b/..", "/a/"},
      {"/../../etc/passwd", "/etc/passwd"},
      {"/...", "/..."},
      {"/..b/.hidden", "/..b/.hidden"},
      {"/a\\b", "/a\\b"},
      {"/a%5Cb", "/a\\b"},
      {"http://h.test/x/./y?q", "/x/y"},
      {"HTTP://h.test", "/"},
      {"/a%2Fb", ""},
      {"/a%2fb", ""},
      {"/a%00b", ""},
      {"/a%zz", ""},
      {"/a%4", ""},
      {"*", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    char out[256];
    const size_t n = normalizeUri(c.target, out, sizeof out);
    EXPECT_EQ(std::string(out, n), c.uri);
    if (n > 0) {
      EXPECT_EQ(out[n], '\0');
    }
  }
  char tiny[4];
  EXPECT_EQ(normalizeUri("/abcd", tiny, sizeof tiny), 0u);
}

TEST(RouterTest, HostNormalization) {
  struct Case {
    const char* host;
    const char* want;  // "" for 400
  };
  const Case cases[] = {
      {"example.test", "example.test"},
      {"Example.TEST", "example.test"},
      {"a.example.test:8080", "a.example.test"},
      {"a.example.test.", "a.example.test"},
      {"a.example.test.:8080", "a.example.test"},
      {"a.example.test:", "a.example.test"},
      {"a.b:80.", "a.b"},
      {"127.0.0.1:80", "127.0.0.1"},
      {"[::1]:8080", "[::1]"},
      {"[::1]", "[::1]"},
      {"[::FFFF:1.2.3.4]", "[::ffff:1.2.3.4]"},
      {"under_score", "under_score"},
      {"a..b", ""},
      {"a.b:8..0", ""},
      {"..", ""},
      {"a/b", ""},
      {"a b", ""},
      {"a\tb", ""},
      {"a\x01", ""},
      {"a\x7f", ""},
      {".", ""},
      {":80", ""},
      {"", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.host);
    char out[64];
    const size_t n = normalizeHost(c.host, out, sizeof out);
    EXPECT_EQ(std::string(out, n), c.want);
  }
  char out[64];
  EXPECT_EQ(normalizeHost(std::string_view("a\0b", 3), out, sizeof out), 0u);
  EXPECT_EQ(normalizeHost("abcdef", out, 5), 0u);
}

TEST(RouterTest, TargetAuthority) {
  EXPECT_EQ(targetAuthority("/x"), "");
  EXPECT_EQ(targetAuthority("http://B.test:8080/x"), "B.test:8080");
  EXPECT_EQ(targetAuthority("HTTPS://b.test?q"), "b.test");
  EXPECT_EQ(targetAuthority("http://b.test"), "b.test");
}

TEST(RouterTest, ServerSelection) {
  RouteConfig r;
  std::string err;
  ASSERT_TRUE(compile(R"(
server { server_name first.test; root /first; }
server { server_name a.example.test "*.example.test" .wild.test; root /wild; }
server { server_name "*.b.example.test"; root /deeper; }
server { listen 127.0.0.1:8080 default_server; server_name dflt.test; root /dflt; }
server { listen 127.0.0.1:9090; server_name other.test; root /other; }
server { listen 127.0.0.1:9090; server_name first.test; root /other2; }
)",
                      &r, &err))
      << err;
  ASSERT_EQ(r.listens.size(), 2u);
  const ListenAddr& main = r.listens[0];
  const ListenAddr& other = r.listens[1];
  struct Case {
    const ListenAddr* la;
    const char* host;
    const char* root;
  };
  const Case cases[] = {
      {&main, "first.test", "/first"},        {&main, "a.example.test", "/wild"},
      {&main, "x.example.test", "/wild"},     {&main, "x.y.example.test", "/wild"},
      {&main, "x.b.example.test", "/deeper"}, {&main, "b.example.test", "/wild"},
      {&main, "example.test", "/dflt"},       {&main, "wild.test", "/wild"},
      {&main, "x.wild.test", "/wild"},        {&main, "dflt.test", "/dflt"},
      {&main, "nobody.test", "/dflt"},        {&main, "", "/dflt"},
      {&main, "other.test", "/dflt"},  // named only on another address
      {&other, "other.test", "/other"},       {&other, "first.test", "/other2"},
      {&other, "a.example.test", "/other"},  // no default_server: the first on the address
  };
  for (const char* pass : {"searched", "remembered"}) {  // the second answer comes from the memo
    SCOPED_TRACE(pass);
    for (const Case& c : cases) {
      SCOPED_TRACE(c.host);
      EXPECT_EQ(selectServer(*c.la, c.host).root.settings.root, c.root);
    }
  }
}

TEST(RouterTest, ServerSelectionWarnsOfConflictsAndRefusesTwoDefaults) {
  RouteConfig r;
  std::string err;
  ASSERT_TRUE(
      compile("server { server_name a.test; root /1; }\n"
              "server { server_name A.test; root /2; }\n",
              &r, &err));
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "r.conf:2: conflicting server name 'a.test' on 127.0.0.1:8080, ignored");
  EXPECT_EQ(selectServer(r.listens[0], "a.test").root.settings.root, "/1");
  RouteConfig r2;
  EXPECT_FALSE(
      compile("server { listen 8080 default_server; }\nserver { listen 0.0.0.0:8080 "
              "default_server; }\n",
              &r2, &err));
  EXPECT_EQ(err, "r.conf:2: duplicate default server for 0.0.0.0:8080");
}

// The location order, as nginx 1.22 chooses (../shared/ROUTING.md). Each location's line number
// names it.
TEST(RouterTest, LocationOrderIsNginxs) {
  RouteConfig r;
  std::string err;
  ASSERT_TRUE(compile(R"(server {
  location = / { }
  location / { }
  location /docs { }
  location ^~ /static/ { }
  location ~ \.php$ { }
  location ~* \.(PNG|jpg)$ { }
  location ^~ /a { }
  location /a/docs/ { }
  location = /exact { }
  location /exact { }
  location /nest/ {
    location /nest/inner/ { }
    location ~ \.txt$ { }
  }
  location ~ ^/nest/ { }
  location ~ /re/ {
    location ~ deep { }
  }
  location ^~ /nore/ {
    location ~ \.txt$ { }
  }
}
server { server_name noroot.test; location /only/ {
  location /only/in/ { } } }
)",
                      &r, &err))
      << err;
  const Server& s = *r.servers[0];
  struct Case {
    const char* target;
    const char* want;
  };
  const Case cases[] = {
      {"/", "line 2"},
      {"/index.html", "line 3"},
      {"/docs", "line 4"},
      {"/docsf.txt", "line 4"},
      {"/docs/x.php", "line 6"},
      {"/static/x.php", "line 5"},
      {"/static/x.PNG", "line 5"},
      {"/x.png", "line 7"},
      {"/x.PnG", "line 7"},
      {"/x.PHP", "line 3"},
      {"/a/x.php", "line 8"},
      {"/a/docs/f.php", "line 6"},
      {"/a/docs/f.txt", "line 9"},
      {"/exact", "line 10"},
      {"/exact/", "line 11"},
      {"/exactly", "line 11"},
      {"/nest/inner/f.txt", "line 14"},
      {"/nest/inner/f.html", "line 16"},  // the outer regexes still follow a nested prefix
      {"/nest/inner/", "line 16"},
      {"/nest/f.html", "line 16"},
      {"/nest/", "line 16"},
      {"/re/x", "line 17"},
      {"/re/deep", "line 18"},
      {"/nore/a.txt", "line 21"},
      {"/nore/a.php", "line 20"},
      {"/x.php?a=.png", "line 6"},
      {"/a%2ephp", "line 8"},
      {"/b/%2e%2e/x.php", "line 6"},
  };
  for (const char* pass : {"searched", "remembered"}) {  // the second answer comes from the memo
    SCOPED_TRACE(pass);
    for (const Case& c : cases) {
      SCOPED_TRACE(c.target);
      EXPECT_EQ(locationFor(s, c.target), c.want);
    }
  }
  EXPECT_EQ(locationFor(*r.servers[1], "/elsewhere"), "server");
  EXPECT_EQ(locationFor(*r.servers[1], "/"), "server");
  EXPECT_EQ(locationFor(*r.servers[1], "/only/x"), "line 24");
  EXPECT_EQ(locationFor(*r.servers[1], "/only/in/x"), "line 25");
}

// Many URIs (more than the memo's slots, some longer than it remembers) and many hosts: every
// answer, first or repeated, is the one the search gives.
TEST(RouterTest, RememberedSelectionsStayTheSearchedOnes) {
  RouteConfig r;
  std::string err;
  ASSERT_TRUE(compile(R"(
server { server_name a.test "*.a.test"; location / { } location ~ 7$ { } location ~* X { } }
server { server_name b.test; location /b/ { } location ~ \.php$ { } }
)",
                      &r, &err))
      << err;
  ASSERT_TRUE(r.servers[0]->locationMemo.enabled());
  ASSERT_TRUE(r.listens[0].serverMemo.enabled());
  std::vector<std::string> uris, hosts;
  for (int i = 0; i < 300; ++i) {
    uris.push_back("/" + std::string(static_cast<size_t>(i % 130), i % 3 == 0 ? 'x' : 'X') +
                   std::to_string(i));
    hosts.push_back(i % 4 == 0 ? "b.test" : "h" + std::to_string(i) + ".a.test");
  }
  const Server& s = *r.servers[0];
  std::vector<int> first;
  for (const std::string& u : uris) first.push_back(selectLocation(s, u).line);
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < uris.size(); ++i) {
      SCOPED_TRACE(uris[i]);
      const Location& l = selectLocation(s, uris[i]);
      EXPECT_EQ(l.line, first[i]);
      const bool regex = uris[i].back() == '7' || uris[i].find_first_of("Xx") != std::string::npos;
      EXPECT_EQ(l.match, regex ? (uris[i].back() == '7' ? LocationMatch::kRegex
                                                        : LocationMatch::kRegexNoCase)
                               : LocationMatch::kPrefix);
    }
  }
  for (int round = 0; round < 2; ++round) {
    for (const std::string& h : hosts) {
      SCOPED_TRACE(h);
      EXPECT_EQ(&selectServer(r.listens[0], h),
                h == "b.test" ? r.servers[1].get() : r.servers[0].get());
    }
  }
}

TEST(RouterTest, InnerBlocksInheritWhatTheyDontSet) {
  RouteConfig r;
  std::string err;
  ASSERT_TRUE(compile(R"(
index main.html;
expires 1h;
server {
  root /srv;
  add_header X-Server s;
  location /a/ {
    max_age 5;
    return 200 outer;
    location /a/b/ { add_header X-Inner i always; }
  }
}
)",
                      &r, &err))
      << err;
  const Server& s = *r.servers[0];
  const Location& a = selectLocation(s, "/a/x");
  const Location& b = selectLocation(s, "/a/b/x");
  EXPECT_EQ(s.root.settings.maxAge, 3600);
  EXPECT_EQ(a.settings.root, "/srv");
  EXPECT_EQ(a.settings.maxAge, 5);
  EXPECT_EQ(b.settings.maxAge, 5);
  EXPECT_EQ(b.settings.index, std::vector<std::string>{"main.html"});
  ASSERT_EQ(a.settings.headers.size(), 1u);
  EXPECT_EQ(a.settings.headers[0].name, "X-Server");
  ASSERT_EQ(b.settings.headers.size(), 1u);  // a list set inside replaces the outer one
  EXPECT_EQ(b.settings.headers[0].name, "X-Inner");
  EXPECT_TRUE(b.settings.headers[0].always);
  EXPECT_EQ(a.settings.returnCode, 200);
  EXPECT_EQ(b.settings.returnCode, 0);  // nginx's rewrite directives are not inherited
}

// No URI, whatever the location and alias, maps outside its directory.
TEST(RouterTest, NoMappingEscapesItsRoot) {
  RouteConfig r;
  std::string err;
  ASSERT_TRUE(compile(R"(server {
  root /srv/www;
  location /files { alias /srv/shared/; }
  location /f2/ { alias /srv/two; }
  location /f3/ { alias /srv/three/; }
  location = /one { alias /srv/one.txt; }
  location /nested/ { alias /srv/n/; location /nested/in/ { } }
})",
                      &r, &err))
      << err;
  const Server& s = *r.servers[0];
  struct Case {
    const char* target;
    int status;
    const char* path;  // dir + "/" + rel
  };
  const Case cases[] = {
      {"/files../etc/passwd", 404, ""},
      {"/files..", 404, ""},
      {"/files.hidden", 404, ""},
      {"/files/../etc/passwd", 0, "/srv/www/etc/passwd"},
      {"/files/%2e%2e/etc/passwd", 0, "/srv/www/etc/passwd"},
      {"/files/a.txt", 0, "/srv/shared/a.txt"},
      {"/filesX/a.txt", 0, "/srv/shared/X/a.txt"},
      {"/files", 0, "/srv/shared/"},
      {"/f2/a.txt", 0, "/srv/two/a.txt"},
      {"/f2/_x", 0, "/srv/two/_x"},
      {"/f3/..%2f..%2fetc", 400, ""},
      {"/f3/.git/config", 404, ""},
      {"/f3/.well-known/x", 0, "/srv/three/.well-known/x"},
      {"/one", 0, "/srv/one.txt/"},
      {"/nested/in/x", 0, "/srv/n/in/x"},
      {"/../../../etc/passwd", 0, "/srv/www/etc/passwd"},
      {"/a\\..\\b", 400, ""},
      {"/.htpasswd", 404, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    char uri[256];
    const size_t n = normalizeUri(c.target, uri, sizeof uri);
    if (n == 0) {
      EXPECT_EQ(c.status, 400);
      continue;
    }
    char rel[256];
    const FileMapping m = mapToFile(selectLocation(s, {uri, n}), {uri, n}, rel, sizeof rel);
    EXPECT_EQ(m.status, c.status);
    if (m.status != 0) continue;
    EXPECT_EQ(std::string(m.dir) + "/" + std::string(m.rel), c.path);
    EXPECT_EQ(m.rel.find(".."), std::string_view::npos);
    EXPECT_FALSE(m.rel.starts_with('/'));
  }
}

TEST(RouterTest, FlatConfigIsOneImplicitServer) {
  Config cfg;
  cfg.ip = "::1";
  cfg.port = 80;
  std::string err;
  ASSERT_TRUE(parseConfigText("root /flat\nmax_age 60\n", "f.conf", &cfg, &err)) << err;
  RouteConfig r;
  ASSERT_TRUE(compileRoutes(cfg, &r, &err)) << err;
  ASSERT_EQ(r.listens.size(), 1u);
  EXPECT_EQ(r.listens[0].ip, "::1");
  const Server& s = selectServer(r.listens[0], "anything.test");
  EXPECT_EQ(s.root.settings.root, "/flat");
  EXPECT_EQ(s.root.settings.maxAge, 60);
  EXPECT_EQ(&selectLocation(s, "/x"), &s.root);
}

}  // namespace
}  // namespace hs
