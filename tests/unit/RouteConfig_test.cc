#include "RouteConfig.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <string>

#include "Config.h"
#include "Router.h"

namespace hs {
namespace {

bool compile(const std::string& text, RouteConfig* routes, std::string* err) {
  Config cfg;
  cfg.ip = "127.0.0.1";
  cfg.port = 8080;
  return parseConfigText(text, "r.conf", &cfg, err) && compileRoutes(cfg, routes, err);
}

// An htpasswd file with one bcrypt user, removed afterwards.
class PasswdFile {
 public:
  PasswdFile() {
    char name[] = "/tmp/HttpServerHtpasswdXXXXXX";
    const int fd = ::mkstemp(name);
    ::close(fd);
    path_ = name;
    std::ofstream(path_) << "alice:$2b$05$abcdefghijklmnopqrstuu5s3.ZR1pV7kJ5uIXXOTd6Ko4SE6BkQW\n";
  }
  ~PasswdFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using Check = std::function<void(const LocationSettings&)>;

// Each directive inside `location /t/ { ... }`, checked on the settings it produces.
TEST(RouteConfigTest, EveryLocationDirective) {
  PasswdFile pw;
  struct Case {
    std::string directives;
    Check check;
  };
  const Case cases[] = {
      {"root /srv/x/;",
       [](const LocationSettings& s) {
         EXPECT_EQ(s.root, "/srv/x");
         EXPECT_FALSE(s.alias);
       }},
      {"alias /srv/a/;",
       [](const LocationSettings& s) {
         EXPECT_EQ(s.root, "/srv/a");
         EXPECT_TRUE(s.alias);
         EXPECT_EQ(s.aliasCut, 3u);
       }},
      {"index a.html b.htm;",
       [](const LocationSettings& s) {
         EXPECT_EQ(s.index, (std::vector<std::string>{"a.html", "b.htm"}));
       }},
      {"try_files $uri $uri/ /index.html;",
       [](const LocationSettings& s) { EXPECT_EQ(s.tryFiles.size(), 3u); }},
      {"try_files $uri =404;", [](const LocationSettings& s) { EXPECT_EQ(s.tryFiles[1], "=404"); }},
      {"autoindex on;", [](const LocationSettings& s) { EXPECT_TRUE(s.autoindex); }},
      {"max_age 86400;", [](const LocationSettings& s) { EXPECT_EQ(s.maxAge, 86400); }},
      {"expires 7d;", [](const LocationSettings& s) { EXPECT_EQ(s.maxAge, 604800); }},
      {"expires 90;", [](const LocationSettings& s) { EXPECT_EQ(s.maxAge, 90); }},
      {"expires off;", [](const LocationSettings& s) { EXPECT_EQ(s.maxAge, -1); }},
      {"add_header X-A 'a b'; add_header X-B c always;",
       [](const LocationSettings& s) {
         ASSERT_EQ(s.headers.size(), 2u);
         EXPECT_EQ(s.headers[0].value, "a b");
         EXPECT_FALSE(s.headers[0].always);
         EXPECT_TRUE(s.headers[1].always);
       }},
      {"return 301 /new;",
       [](const LocationSettings& s) {
         EXPECT_EQ(s.returnCode, 301);
         EXPECT_EQ(s.returnText, "/new");
       }},
      {"return 200 'hello';", [](const LocationSettings& s) { EXPECT_EQ(s.returnText, "hello"); }},
      {"return 404;", [](const LocationSettings& s) { EXPECT_EQ(s.returnCode, 404); }},
      {"return https://x.test/;",
       [](const LocationSettings& s) {
         EXPECT_EQ(s.returnCode, 302);
         EXPECT_EQ(s.returnText, "https://x.test/");
       }},
      {"error_page 404 = /index.php; error_page 500 =503 /busy.html; error_page 502 /e;",
       [](const LocationSettings& s) {
         EXPECT_EQ(s.errorPages.at(404), "/index.php");
         EXPECT_EQ(s.errorPageCodes.at(404), -1);
         EXPECT_EQ(s.errorPageCodes.at(500), 503);
         EXPECT_EQ(s.errorPageCodes.count(502), 0u);
       }},
      {"internal;", [](const LocationSettings& s) { EXPECT_TRUE(s.internal); }},
      {"try_files $uri /index.php?q=$uri&$args;",
       [](const LocationSettings& s) {
         EXPECT_TRUE(s.tryFilesHasArgs);
         EXPECT_EQ(s.tryFilesArgs.pieces(), 4u);
       }},
      {"error_page 404 500 502 /err.html;",
       [](const LocationSettings& s) {
         EXPECT_EQ(s.errorPages.size(), 3u);
         EXPECT_EQ(s.errorPages.at(502), "/err.html");
       }},
      {"allow 10.0.0.0/8; deny all;",
       [](const LocationSettings& s) { EXPECT_EQ(s.access.size(), 2u); }},
      {"gzip_static on;", [](const LocationSettings& s) { EXPECT_TRUE(s.gzipStatic); }},
      {"access_log /tmp/a.log;",
       [](const LocationSettings& s) {
         EXPECT_EQ(s.accessLog, "/tmp/a.log");
         EXPECT_EQ(s.accessLogFormat->pieces(), LogFormat::combined().pieces());
       }},
      {"access_log off;", [](const LocationSettings& s) { EXPECT_EQ(s.accessLogFormat, nullptr); }},
      {"client_max_body_size 10m;",
       [](const LocationSettings& s) { EXPECT_EQ(s.maxBody, 10u << 20); }},
      {"client_max_body_size 0;",
       [](const LocationSettings& s) { EXPECT_EQ(s.maxBody, UINT64_MAX); }},
      {"auth_basic 'Admin area'; auth_basic_user_file " + pw.path() + ";",
       [](const LocationSettings& s) {
         EXPECT_EQ(s.authRealm, "Admin area");
         ASSERT_TRUE(s.authUsers);
         EXPECT_EQ(s.authUsers->size(), 1u);
       }},
      {"auth_basic off;", [](const LocationSettings& s) { EXPECT_EQ(s.authRealm, ""); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.directives);
    RouteConfig r;
    std::string err;
    ASSERT_TRUE(compile("server { location /t/ { " + c.directives + " } }", &r, &err)) << err;
    c.check(selectLocation(*r.servers[0], "/t/x").settings);
  }
}

// fastcgi_param lists: a level with any replaces the inherited list wholesale (nginx), a level
// without one inherits its parent's; values are compiled once.
TEST(RouteConfigTest, FastCgiParamsAreInheritedAsAListAndCompiled) {
  RouteConfig r;
  std::string err;
  ASSERT_TRUE(
      compile("fastcgi_param TOP top;\n"
              "server { server_name a; fastcgi_param S1 $document_root$fastcgi_script_name;\n"
              "  fastcgi_param S2 x if_not_empty;\n"
              "  location /own/ { fastcgi_param L1 '$request_uri|$args'; }\n"
              "  location /inherits/ { root /r; } }\n"
              "server { server_name b; location / { } }",
              &r, &err))
      << err;
  struct Case {
    const char* name;
    int server;
    const char* uri;
    std::vector<std::string> names;
  };
  const Case cases[] = {
      {"server level replaces the top level's", 0, "/x", {"S1", "S2"}},
      {"location level replaces the server's", 0, "/own/x", {"L1"}},
      {"a location without any inherits", 0, "/inherits/x", {"S1", "S2"}},
      {"a server without any inherits the top level's", 1, "/x", {"TOP"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const LocationSettings& s =
        selectLocation(*r.servers[static_cast<size_t>(c.server)], c.uri).settings;
    std::vector<std::string> names;
    for (const FastCgiParam& p : s.fastcgiParams) names.push_back(p.name);
    EXPECT_EQ(names, c.names);
  }
  const LocationSettings& s = selectLocation(*r.servers[0], "/x").settings;
  EXPECT_EQ(s.fastcgiParams[0].value.pieces(), 2u);
  EXPECT_FALSE(s.fastcgiParams[0].ifNotEmpty);
  EXPECT_TRUE(s.fastcgiParams[1].ifNotEmpty);
}

TEST(RouteConfigTest, LogFormatsAreCompiledOnceAndReferencedByName) {
  RouteConfig r;
  std::string err;
  ASSERT_TRUE(
      compile("log_format main '$remote_addr' ' $status';\n"
              "log_format j escape=json '{\"u\":\"$uri\"}';\n"
              "server { access_log /tmp/x main; location /j/ { access_log /tmp/j j; } }",
              &r, &err))
      << err;
  EXPECT_EQ(r.logFormats.size(), 3u);  // with combined
  const Server& s = *r.servers[0];
  EXPECT_EQ(s.root.settings.accessLogFormat, r.logFormats.at("main").get());
  EXPECT_EQ(selectLocation(s, "/j/").settings.accessLogFormat, r.logFormats.at("j").get());
}

// Each distinct access_log file gets one id, whichever levels name it; `off` is -1; an inner block
// inherits its parent's; the predefined combined needs no custom format.
TEST(RouteConfigTest, AccessLogIdsOnePerFile) {
  RouteConfig r;
  std::string err;
  ASSERT_TRUE(
      compile("log_format brief '$uri';\n"
              "server { access_log /tmp/s.log;\n"
              "  location /a/ { access_log /tmp/a.log brief; }\n"
              "  location /off/ { access_log off; }\n"
              "  location /in/ { location /in/deep/ { } }\n"
              "  location /same/ { access_log /tmp/s.log; } }\n"
              "server { server_name b.test; access_log /tmp/a.log; }",
              &r, &err))
      << err;
  ASSERT_EQ(r.accessLogs, (std::vector<std::string>{"/tmp/s.log", "/tmp/a.log"}));
  EXPECT_EQ(r.defaultAccessLogId, -1);  // no top-level access log
  const Server& s = *r.servers[0];
  struct Case {
    const char* uri;
    int id;
    const LogFormat* custom;
  };
  const Case cases[] = {
      {"/", 0, nullptr},       {"/a/x", 1, r.logFormats.at("brief").get()},
      {"/off/x", -1, nullptr}, {"/in/deep/x", 0, nullptr},
      {"/same/x", 0, nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.uri);
    const LocationSettings& ls = selectLocation(s, c.uri).settings;
    EXPECT_EQ(ls.accessLogId, c.id);
    EXPECT_EQ(ls.customLogFormat, c.custom);
  }
  EXPECT_EQ(r.servers[1]->root.settings.accessLogId, 1);
  EXPECT_EQ(r.servers[1]->root.settings.customLogFormat, nullptr);
}

// With a list to fill (-t), every invalid regex and unreadable htpasswd file is reported, each
// file once; without one, compiling stops at the first.
TEST(RouteConfigTest, EveryBadRegexAndHtpasswdFileCanBeListed) {
  const std::string text =
      "server {\n"
      "  location ~ a(b { }\n"
      "  location /p/ { auth_basic x; auth_basic_user_file /nonexistent/p1; }\n"
      "  location ~* [z { }\n"
      "  location /q/ { auth_basic x; auth_basic_user_file /nonexistent/p1; }\n"
      "}\n";
  Config cfg;
  std::string err;
  ASSERT_TRUE(parseConfigText(text, "r.conf", &cfg, &err)) << err;
  RouteConfig first;
  EXPECT_FALSE(compileRoutes(cfg, &first, &err));
  EXPECT_EQ(err.rfind("r.conf:2: invalid regex 'a(b'", 0), 0u) << err;
  RouteConfig every;
  std::vector<std::string> all;
  EXPECT_FALSE(compileRoutes(cfg, &every, &err, &all));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].rfind("r.conf:2: invalid regex 'a(b'", 0), 0u) << all[0];
  EXPECT_EQ(all[1].rfind("r.conf:3: 'auth_basic_user_file': ", 0), 0u) << all[1];
  EXPECT_EQ(all[2].rfind("r.conf:4: invalid regex '[z'", 0), 0u) << all[2];
  EXPECT_EQ(err, all[0]);
}

TEST(RouteConfigTest, ErrorsNameFileLineAndReason) {
  struct Case {
    std::string text;
    const char* err;
  };
  const Case cases[] = {
      {"server {\n location /a { rooot /x; } }", "r.conf:2: unknown directive 'rooot'"},
      {"server { workers 2; }", "r.conf:1: 'workers' is not allowed in a server block"},
      {"server { location / { listen 80; } }",
       "r.conf:1: 'listen' is not allowed in a location block"},
      {"alias /x;", "r.conf:1: 'alias' is not allowed at the top level"},
      {"server { alias /x; }", "r.conf:1: 'alias' is not allowed in a server block"},
      {"location / { }", "r.conf:1: 'location' is not allowed at the top level"},
      {"server { root; }", "r.conf:1: missing value for 'root' (expected at least 1, got 0)"},
      {"server { root /a\n index x; }",
       "r.conf:1: too many values for 'root' (expected at most 1, got 3; missing ';'?)"},
      {"server;", "r.conf:1: 'server' needs a { } block"},
      {"server { fastcgi_param A $nosuch; }",
       "r.conf:1: 'fastcgi_param': unknown variable '$nosuch'"},
      {"server { fastcgi_param A b c; }",
       "r.conf:1: 'fastcgi_param' expects 'if_not_empty' as its third value, got 'c'"},
      {"server { fastcgi_param '' b; }",
       "r.conf:1: 'fastcgi_param' expects a parameter name, got ''"},
      {"server { fastcgi_param A; }",
       "r.conf:1: missing value for 'fastcgi_param' (expected at least 2, got 1)"},
      {"server { root /a { } }", "r.conf:1: 'root' takes no block"},
      {"server { root /a; root /b; }", "r.conf:1: duplicate 'root' (first at r.conf:1)"},
      {"server { location / { root /a; alias /b; } }",
       "r.conf:1: duplicate 'alias' (first at r.conf:1)"},
      {"server { location ~ x { alias /b; } }",
       "r.conf:1: 'alias' is not supported in a regex location (use root)"},
      {"server { location ~ ( { } }", "r.conf:1: invalid regex '(': Unmatched ( or \\("},
      {"server { location @x { } }", "r.conf:1: named locations (@x) are not supported"},
      {"server { location ^~ { } }", "r.conf:1: location needs a pattern"},
      {"server { location = '' { } }", "r.conf:1: location needs a pattern"},
      {"server { location ~~ x { } }",
       "r.conf:1: location modifier must be =, ^~, ~ or ~*, got '~~'"},
      {"server { location /a { }\n location /a { } }", "r.conf:2: duplicate location '/a'"},
      {"server { location ^~ /a { }\n location /a { } }", "r.conf:2: duplicate location '/a'"},
      {"server { location /a { location /b { } } }",
       "r.conf:1: location '/b' is outside location '/a'"},
      {"server { location = /a { location /a/b { } } }",
       "r.conf:1: location '/a/b' cannot be inside the exact location '/a'"},
      {"server { listen 70000; }", "r.conf:1: 'listen' port must be from 1 to 65535"},
      {"server { listen localhost:80; }",
       "r.conf:1: 'listen' expects ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080) or a port, got "
       "'localhost:80'"},
      {"server { listen 80 ssl; }",
       "r.conf:1: unsupported 'listen' parameter 'ssl' (default_server or proxy_protocol)"},
      {"server { listen 80 proxy_protocol proxy_protocol; }",
       "r.conf:1: duplicate 'listen' parameter 'proxy_protocol'"},
      {"server { set_real_ip_from all; }",
       "r.conf:1: 'set_real_ip_from' expects an address or ADDRESS/PREFIX, got 'all'"},
      {"server { real_ip_header X-Client; }",
       "r.conf:1: 'real_ip_header' expects X-Forwarded-For or X-Real-IP, got 'X-Client'"},
      {"server { health_path healthz; }",
       "r.conf:1: 'health_path' expects a path starting with '/', got 'healthz'"},
      {"server { location / { health_path /h; } }",
       "r.conf:1: 'health_path' is not allowed in a location block"},
      {"server { server_name www.*; }",
       "r.conf:1: server_name 'www.*': only a leading '*.' wildcard is supported"},
      {"server { server_name ~^w; }",
       "r.conf:1: regular expression server names are not supported"},
      {"server { index a/b; }", "r.conf:1: 'index' expects file names without '/', got 'a/b'"},
      {"server { try_files $uri x; }",
       "r.conf:1: 'try_files' must end with a URI starting with '/' or =CODE (200..599), got 'x'"},
      {"server { try_files $uri =99; }",
       "r.conf:1: 'try_files' must end with a URI starting with '/' or =CODE (200..599), got "
       "'=99'"},
      {"server { autoindex yes; }", "r.conf:1: 'autoindex' expects on or off"},
      {"server { expires 1x; }",
       "r.conf:1: 'expires' expects off or a time such as 30d, 12h or 600 (at most 68 years), got "
       "'1x'"},
      {"server { add_header 'X A' b; }", "r.conf:1: 'add_header' expects a header name, got 'X A'"},
      {"server { add_header X \"a\\nb\"; }",
       "r.conf:1: 'add_header' value may not contain control characters"},
      {"server { add_header X a sometimes; }",
       "r.conf:1: 'add_header' expects 'always' as its third value, got 'sometimes'"},
      {"server { return 301; }", "r.conf:1: 'return 301' needs the URL to redirect to"},
      {"server { return 99 x; }", "r.conf:1: 'return' code must be from 200 to 599"},
      {"server { return /x; }",
       "r.conf:1: 'return' expects CODE [TEXT|URL] or an http:// or https:// URL, got '/x'"},
      {"server { error_page 404 x.html; }",
       "r.conf:1: 'error_page' expects a URI starting with '/', got 'x.html'"},
      {"server { error_page 404 =20 /x; }",
       "r.conf:1: 'error_page' expects = or =CODE (200..599), got '=20'"},
      {"server { error_page =200 /x; }",
       "r.conf:1: 'error_page' expects status codes from 300 to 599, got '=200'"},
      {"server { error_page 404 =x /x; }",
       "r.conf:1: 'error_page' expects = or =CODE (200..599), got '=x'"},
      {"server { location / { internal on; } }",
       "r.conf:1: too many values for 'internal' (expected at most 0, got 1; missing ';'?)"},
      {"server { internal; }", "r.conf:1: 'internal' is not allowed in a server block"},
      {"server { try_files $uri /i.php?$nope; }",
       "r.conf:1: 'try_files': unknown variable '$nope'"},
      {"server { allow 10.0.0.0/33; }",
       "r.conf:1: 'allow' the prefix length in '10.0.0.0/33' must be from 0 to 32"},
      {"server { deny nobody; }",
       "r.conf:1: 'deny' expected 'all', an address or ADDRESS/PREFIX, got 'nobody'"},
      {"server { auth_basic 'a\"b'; }",
       "r.conf:1: 'auth_basic' realm may not contain quotes, backslashes or control characters"},
      {"server {\n auth_basic x; }", "r.conf:1: 'auth_basic' needs 'auth_basic_user_file'"},
      {"server { auth_basic_user_file /nonexistent; }",
       "r.conf:1: 'auth_basic_user_file': cannot open config file '/nonexistent': No such file or "
       "directory"},
      {"server { access_log /x nosuch; }", "r.conf:1: unknown log_format 'nosuch'"},
      {"server { access_log off main; }", "r.conf:1: 'access_log off' takes no format"},
      {"server { client_max_body_size lots; }",
       "r.conf:1: 'client_max_body_size' expects a size in bytes, optionally with a k, m or g "
       "suffix "
       "(e.g. 1m)"},
      {"log_format a '$nope';", "r.conf:1: log_format 'a': unknown variable '$nope'"},
      {"log_format a escape=xml '$uri';",
       "r.conf:1: 'log_format' escape must be default, json or none, got 'xml'"},
      {"log_format combined '$uri';", "r.conf:1: duplicate log_format 'combined'"},
      {"log_format a escape=json;", "r.conf:1: 'log_format' needs a format string"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    RouteConfig r;
    std::string err;
    EXPECT_FALSE(compile(c.text, &r, &err));
    EXPECT_EQ(err, c.err);
  }
}

TEST(RouteConfigTest, CommandLineSetsTheTopLevelDefaults) {
  Config cfg;
  cfg.ip = "127.0.0.1";
  cfg.port = 8080;
  std::string err;
  ASSERT_TRUE(
      parseConfigText("autoindex on;\nserver { server_name a; }\n"
                      "server { server_name b; autoindex off; root /b; }\n",
                      "r.conf", &cfg, &err))
      << err;
  cfg.root = "/from/command/line";  // as parseArgs applies --root after the file
  cfg.maxAge = 30;
  RouteConfig r;
  ASSERT_TRUE(compileRoutes(cfg, &r, &err)) << err;
  EXPECT_EQ(r.servers[0]->root.settings.root, "/from/command/line");
  EXPECT_TRUE(r.servers[0]->root.settings.autoindex);
  EXPECT_EQ(r.servers[0]->root.settings.maxAge, 30);
  EXPECT_EQ(r.servers[1]->root.settings.root, "/b");
  EXPECT_FALSE(r.servers[1]->root.settings.autoindex);
}

// Behind a load balancer: proxy_protocol per listen address (the top-level flag on every one), and
// set_real_ip_from / real_ip_header / health_path per server, where a server's own
// set_real_ip_from lines replace the inherited list.
TEST(RouteConfigTest, LoadBalancerSettingsPerListenAndServer) {
  auto trusts = [](const Server& s, const char* ip) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, ip, &a.sin_addr);
    return s.realIpFrom.matches(reinterpret_cast<const sockaddr*>(&a));
  };
  RouteConfig r;
  std::string err;
  ASSERT_TRUE(
      compile("set_real_ip_from 10.0.0.0/8;\nreal_ip_header X-Forwarded-For;\n"
              "health_path /healthz;\n"
              "server { listen 127.0.0.1:81 proxy_protocol; listen 127.0.0.1:82; }\n"
              "server { listen 127.0.0.1:82 default_server proxy_protocol;\n"
              "  set_real_ip_from 192.0.2.1; set_real_ip_from 192.0.2.2;\n"
              "  real_ip_header X-Real-IP; health_path /up; }\n",
              &r, &err))
      << err;
  ASSERT_EQ(r.listens.size(), 2u);
  EXPECT_TRUE(r.listens[0].proxyProtocol);
  EXPECT_TRUE(r.listens[1].proxyProtocol) << "one server's listen sets it for the address";
  EXPECT_TRUE(r.needsPeer);
  const Server& inherits = *r.servers[0];
  const Server& own = *r.servers[1];
  EXPECT_TRUE(trusts(inherits, "10.1.2.3"));
  EXPECT_FALSE(trusts(inherits, "192.0.2.1"));
  EXPECT_EQ(inherits.realIpHeader, "X-Forwarded-For");
  EXPECT_EQ(inherits.healthPath, "healthz");
  EXPECT_FALSE(trusts(own, "10.1.2.3")) << "the server's list replaces the top level's";
  EXPECT_TRUE(trusts(own, "192.0.2.1"));
  EXPECT_TRUE(trusts(own, "192.0.2.2"));
  EXPECT_EQ(own.realIpHeader, "X-Real-IP");
  EXPECT_EQ(own.healthPath, "up");

  RouteConfig plain;
  ASSERT_TRUE(compile("server { listen 127.0.0.1:81; }", &plain, &err)) << err;
  EXPECT_FALSE(plain.listens[0].proxyProtocol);
  EXPECT_FALSE(plain.needsPeer);

  Config cfg;  // the top-level (flat) proxy_protocol on covers every address
  cfg.ip = "127.0.0.1";
  cfg.port = 8080;
  ASSERT_TRUE(parseConfigText("proxy_protocol on;\nserver { listen 127.0.0.1:81; }\n", "r.conf",
                              &cfg, &err))
      << err;
  RouteConfig flat;
  ASSERT_TRUE(compileRoutes(cfg, &flat, &err)) << err;
  EXPECT_TRUE(flat.listens[0].proxyProtocol);
}

}  // namespace
}  // namespace hs
