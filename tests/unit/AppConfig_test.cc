#include "AppConfig.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "Config.h"

namespace hs {
namespace {

bool compile(const std::string& text, std::vector<AppSpec>* apps, std::string* err) {
  Config cfg;
  return parseConfigText(text, "a.conf", &cfg, err) && compileApps(cfg, apps, err);
}

TEST(AppConfigTest, EveryDirectiveIsCompiled) {
  std::vector<AppSpec> apps;
  std::string err;
  ASSERT_TRUE(compile(R"(app php {
    command /usr/bin/php-cgi -d "x=1";
    processes 4;
    socket unix:/run/hs/php.sock;
    env PHP_FCGI_MAX_REQUESTS=0;
    env A=b=c;
    user www-data;
    max_requests 10000;
    queue 8;
    queue_timeout 500ms;
}
app go { command /srv/app; }
)",
                      &apps, &err))
      << err;
  ASSERT_EQ(apps.size(), 2u);
  const AppSpec& php = apps[0];
  EXPECT_EQ(php.name, "php");
  EXPECT_EQ(php.command, (std::vector<std::string>{"/usr/bin/php-cgi", "-d", "x=1"}));
  EXPECT_EQ(php.processes, 4);
  EXPECT_EQ(php.socketPath, "/run/hs/php.sock");
  EXPECT_EQ(php.env, (std::vector<std::string>{"PHP_FCGI_MAX_REQUESTS=0", "A=b=c"}));
  EXPECT_EQ(php.user, "www-data");
  EXPECT_EQ(php.maxRequests, 10000u);
  EXPECT_EQ(php.queue, 8u);
  EXPECT_EQ(php.queueTimeoutMs, 500);
  EXPECT_EQ(php.line, 1);
  const AppSpec& go = apps[1];
  EXPECT_EQ(go.processes, 1);
  EXPECT_EQ(go.socketPath, "");  // a private socket
  EXPECT_EQ(go.user, "");        // the workers' user
  EXPECT_EQ(go.maxRequests, 0u);
  EXPECT_EQ(go.queue, 64u);  // the defaults: 64 waiting requests for 10 s
  EXPECT_EQ(go.queueTimeoutMs, 10'000);
  EXPECT_EQ(findApp(apps, "go"), &apps[1]);
  EXPECT_EQ(findApp(apps, "nope"), nullptr);
  EXPECT_FALSE(apps[0] == apps[1]);
}

TEST(AppConfigTest, ErrorsNameTheLineAndTheReason) {
  struct Case {
    const char* name;
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"no command", "app a {\n processes 2;\n}\n", "a.conf:1: app 'a' has no 'command'"},
      {"relative command", "app a {\n command php;\n}\n", "a.conf:2: 'command' needs an absolute"},
      {"zero processes", "app a { command /x; processes 0; }", "'processes' must be 1..256"},
      {"too many", "app a { command /x; processes 257; }", "'processes' must be 1..256"},
      {"not a number", "app a { command /x; processes 2x; }", "'processes' must be"},
      {"tcp socket", "app a { command /x; socket 127.0.0.1:9000; }", "unix:/ABSOLUTE/PATH"},
      {"relative socket", "app a { command /x; socket unix:run/a.sock; }", "unix:/ABSOLUTE"},
      {"env without =", "app a { command /x; env FOO; }", "'env' needs NAME=VALUE"},
      {"env empty name", "app a { command /x; env =1; }", "'env' needs NAME=VALUE"},
      {"max_requests", "app a { command /x; max_requests -1; }", "'max_requests' must be"},
      {"queue", "app a { command /x; queue many; }", "'queue' must be 0..100000, not 'many'"},
      {"queue too long", "app a { command /x; queue 100001; }", "'queue' must be 0..100000"},
      {"queue_timeout", "app a { command /x; queue_timeout 0; }",
       "'queue_timeout' expects a time such as 10s or 500ms, not '0'"},
      {"duplicate", "app a {\n command /x;\n processes 1;\n processes 2;\n}",
       "a.conf:4: duplicate 'processes' (first at line 3)"},
      {"same name", "app a { command /x; }\napp a { command /y; }", "a.conf:2: duplicate app 'a'"},
      {"bad name", "app 'a b' { command /x; }", "app name 'a b' must be"},
      {"foreign directive", "app a { command /x; root /y; }", "not allowed in an app block"},
      {"app in server", "server { app a { command /x; } }", "not allowed in a server block"},
      {"no block", "app a;", "'app' needs a { } block"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<AppSpec> apps;
    std::string err;
    EXPECT_FALSE(compile(c.text, &apps, &err));
    EXPECT_NE(err.find(c.error), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace hs
