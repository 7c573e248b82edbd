#include "UpstreamConfig.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "Config.h"

namespace hs {
namespace {

bool compile(const std::string& text, std::vector<UpstreamGroupSpec>* out, std::string* err) {
  Config cfg;
  return parseConfigText(text, "u.conf", &cfg, err) && compileUpstreams(cfg, out, err);
}

TEST(UpstreamConfigTest, EveryDirectiveIsCompiled) {
  std::vector<UpstreamGroupSpec> groups;
  std::string err;
  ASSERT_TRUE(compile(R"(upstream api {
    server 127.0.0.1:9001 weight=2 max_fails=3 fail_timeout=10s;
    server [::1]:9002;
    server unix:/run/api.sock backup;
    server 127.0.0.1:9003 down;
    balance least_conn;
    keepalive 64;
}
upstream h { server 10.0.0.1:80; hash $remote_addr; }
upstream l { least_conn; server 10.0.0.1:80 fail_timeout=500ms max_fails=0; }
upstream r { server 10.0.0.1:80; balance round_robin; keepalive 0; }
)",
                      &groups, &err))
      << err;
  ASSERT_EQ(groups.size(), 4u);
  const UpstreamGroupSpec& api = groups[0];
  EXPECT_EQ(api.name, "api");
  EXPECT_EQ(api.line, 1);
  EXPECT_EQ(api.balance, Balance::kLeastConn);
  EXPECT_EQ(api.keepalive, 64);
  ASSERT_EQ(api.servers.size(), 4u);
  EXPECT_EQ(api.servers[0].address, "127.0.0.1:9001");
  EXPECT_EQ(api.servers[0].weight, 2u);
  EXPECT_EQ(api.servers[0].maxFails, 3u);
  EXPECT_EQ(api.servers[0].failTimeoutMs, 10'000);
  EXPECT_EQ(api.servers[0].line, 2);
  EXPECT_EQ(api.servers[1].address, "[::1]:9002");
  EXPECT_EQ(api.servers[1].weight, 1u);    // nginx's defaults
  EXPECT_EQ(api.servers[1].maxFails, 1u);  //
  EXPECT_EQ(api.servers[1].failTimeoutMs, 10'000);
  EXPECT_TRUE(api.servers[2].backup);
  EXPECT_TRUE(api.servers[3].down);
  EXPECT_EQ(groups[1].balance, Balance::kHash);
  EXPECT_EQ(groups[1].keepalive, -1);
  EXPECT_EQ(groups[2].balance, Balance::kLeastConn);
  EXPECT_EQ(groups[2].servers[0].failTimeoutMs, 500);
  EXPECT_EQ(groups[2].servers[0].maxFails, 0u);
  EXPECT_EQ(groups[3].balance, Balance::kRoundRobin);
  EXPECT_EQ(groups[3].keepalive, 0);
  EXPECT_EQ(findUpstreamGroup(groups, "h"), &groups[1]);
  EXPECT_EQ(findUpstreamGroup(groups, "nope"), nullptr);
}

TEST(UpstreamConfigTest, ErrorsNameTheLineAndTheReason) {
  struct Case {
    const char* name;
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"empty group", "upstream a {\n}\n", "u.conf:1: upstream 'a' has no 'server'"},
      {"only backups", "upstream a {\n server 1.2.3.4:80 backup;\n}\n",
       "u.conf:1: upstream 'a' has only backup servers"},
      {"weight zero", "upstream a {\n server 1.2.3.4:80 weight=0;\n}\n",
       "u.conf:2: weight must be 1..1000, not '0'"},
      {"weight text", "upstream a {\n server 1.2.3.4:80 weight=x;\n}\n",
       "u.conf:2: weight must be 1..1000, not 'x'"},
      {"weight too big", "upstream a {\n server 1.2.3.4:80 weight=1001;\n}\n",
       "u.conf:2: weight must be 1..1000, not '1001'"},
      {"bad max_fails", "upstream a {\n server 1.2.3.4:80 max_fails=-1;\n}\n",
       "u.conf:2: max_fails must be a number (0: never), not '-1'"},
      {"bad fail_timeout", "upstream a {\n server 1.2.3.4:80 fail_timeout=0;\n}\n",
       "u.conf:2: fail_timeout must be a time (10, 10s, 500ms), not '0'"},
      {"unknown parameter", "upstream a {\n server 1.2.3.4:80 slow_start=3s;\n}\n",
       "u.conf:2: unknown server parameter 'slow_start=3s' (weight=N, max_fails=N, "
       "fail_timeout=T, backup, down)"},
      {"host name", "upstream a {\n server localhost:80;\n}\n",
       "u.conf:2: server address must be IP:PORT, [IPv6]:PORT or unix:/PATH, not 'localhost:80'"},
      {"no port", "upstream a {\n server 1.2.3.4;\n}\n",
       "u.conf:2: server address must be IP:PORT, [IPv6]:PORT or unix:/PATH, not '1.2.3.4'"},
      {"relative socket", "upstream a {\n server unix:run/a.sock;\n}\n",
       "u.conf:2: a unix socket must be unix:/ABSOLUTE/PATH (at most 107 bytes), not "
       "'unix:run/a.sock'"},
      {"duplicate server", "upstream a {\n server 1.2.3.4:80;\n server 1.2.3.4:80 weight=2;\n}\n",
       "u.conf:3: duplicate server 1.2.3.4:80 (first at line 2)"},
      {"backup and down", "upstream a {\n server 1.2.3.4:80;\n server 1.2.3.4:81 backup down;\n}\n",
       "u.conf:3: a server cannot be both backup and down"},
      {"bad balance", "upstream a {\n server 1.2.3.4:80;\n balance random;\n}\n",
       "u.conf:3: balance must be round_robin, least_conn or hash $remote_addr"},
      {"other hash key", "upstream a {\n server 1.2.3.4:80;\n hash $request_uri;\n}\n",
       "u.conf:3: only 'hash $remote_addr' is supported"},
      {"two balances",
       "upstream a {\n server 1.2.3.4:80;\n least_conn;\n balance round_robin;\n}\n",
       "u.conf:4: duplicate 'balance' (first at line 3)"},
      {"bad keepalive", "upstream a {\n server 1.2.3.4:80;\n keepalive many;\n}\n",
       "u.conf:3: keepalive must be a number of connections (0: none kept), not 'many'"},
      {"bad name", "upstream a/b {\n server 1.2.3.4:80;\n}\n",
       "u.conf:1: upstream name 'a/b' must be letters, digits, '_', '-' or '.'"},
      {"duplicate group",
       "upstream a {\n server 1.2.3.4:80;\n}\nupstream a {\n server 1.2.3.4:81;\n}\n",
       "u.conf:4: duplicate upstream 'a' (first at line 1)"},
      {"an app's name",
       "app php { command /usr/bin/php-cgi; }\nupstream php {\n server 1.2.3.4:80;\n}\n",
       "u.conf:2: upstream 'php' has the name of an app (u.conf:1): fastcgi_pass could not tell "
       "them apart"},
      {"unknown directive", "upstream a {\n server 1.2.3.4:80;\n root /tmp;\n}\n",
       "u.conf:3: 'root' is not allowed in an upstream block"},
      {"keepalive outside", "keepalive 4;\n", "u.conf:1: unknown directive 'keepalive'"},
      {"server without address", "upstream a {\n server;\n}\n",
       "u.conf:2: missing value for 'server' (expected at least 1, got 0)"},
      {"server with a block", "upstream a {\n server 1.2.3.4:80 { }\n}\n",
       "u.conf:2: 'server' takes no block"},
      {"upstream without name", "upstream {\n server 1.2.3.4:80;\n}\n",
       "u.conf:1: missing value for 'upstream' (expected at least 1, got 0)"},
      {"upstream in a server", "server {\n upstream a { server 1.2.3.4:80; }\n}\n",
       "u.conf:2: 'upstream' is not allowed in a server block"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<UpstreamGroupSpec> groups;
    std::string err;
    EXPECT_FALSE(compile(c.text, &groups, &err));
    EXPECT_EQ(err, c.error);
  }
}

TEST(UpstreamConfigTest, TooManyServersInAll) {
  std::string text;
  for (int g = 0; g < 2; ++g) {
    text += "upstream g" + std::to_string(g) + " {\n";
    for (int i = 0; i < 40; ++i) text += " server 10.0.0.1:" + std::to_string(1000 + i) + ";\n";
    text += "}\n";
  }
  std::vector<UpstreamGroupSpec> groups;
  std::string err;
  EXPECT_FALSE(compile(text, &groups, &err));
  EXPECT_EQ(err, "u.conf:43: more than 64 upstream servers in all");
}

}  // namespace
}  // namespace hs
