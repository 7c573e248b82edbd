#include "Config.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace hs {
namespace {

// Builds a mutable argv ("HttpServer" + args) that lives as long as the object.
class Argv {
 public:
  explicit Argv(std::vector<std::string> args) : strs_(std::move(args)) {
    strs_.insert(strs_.begin(), "HttpServer");
    for (std::string& s : strs_) ptrs_.push_back(s.data());
    ptrs_.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(strs_.size()); }
  char** argv() { return ptrs_.data(); }

 private:
  std::vector<std::string> strs_;
  std::vector<char*> ptrs_;
};

ArgsResult parse(std::vector<std::string> args, Config* cfg, std::string* err) {
  Argv a(std::move(args));
  return parseArgs(a.argc(), a.argv(), cfg, err);
}

std::vector<std::string> withPositional(std::vector<std::string> extra) {
  std::vector<std::string> args = {"127.0.0.1", "8080", "4", "1000"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// A config file under /tmp, removed when the object goes away.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/HttpServerConfigXXXXXX";
    const int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    path_ = name;
    if (fd >= 0) {
      EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
      close(fd);
    }
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string exampleConfigPath() {
  const char* srcdir = std::getenv("HTTPSERVER_SRCDIR");
  return std::string(srcdir != nullptr ? srcdir : ".") + "/docs/HttpServer.conf.example";
}

// ---- Command line -------------------------------------------------------------------------------

TEST(ConfigTest, ParsesPositionalsAndKeepsDefaults) {
  Config cfg;
  std::string err;
  ASSERT_EQ(parse({"0.0.0.0", "80", "8", "50000"}, &cfg, &err), ArgsResult::kOk) << err;
  EXPECT_EQ(cfg.ip, "0.0.0.0");
  EXPECT_EQ(cfg.port, 80);
  EXPECT_EQ(cfg.procs, 8);
  EXPECT_EQ(cfg.conns, 50000);
  const Config def;
  EXPECT_EQ(cfg.root, def.root);
  EXPECT_EQ(cfg.headerTimeoutMs, 10'000);
  EXPECT_EQ(cfg.keepaliveTimeoutMs, 15'000);
  EXPECT_EQ(cfg.sendTimeoutMs, 60'000);
  EXPECT_EQ(cfg.quitTimeoutMs, 30'000);
  EXPECT_EQ(cfg.maxBody, 1u << 20);
  EXPECT_FALSE(cfg.autoindex);
  EXPECT_EQ(cfg.maxAge, -1);
  EXPECT_TRUE(cfg.errorPages.empty());
  EXPECT_EQ(cfg.logLevel, LogLevel::kInfo);
  EXPECT_FALSE(cfg.daemon);
  EXPECT_FALSE(cfg.testOnly);
  EXPECT_TRUE(cfg.configFile.empty());
}

TEST(ConfigTest, AcceptsIpv6AndBoundaryValues) {
  struct Case {
    std::vector<std::string> args;
    std::string ip;
    int port, procs, conns;
  };
  const Case cases[] = {
      {{"::1", "1", "1", "1"}, "::1", 1, 1, 1},
      {{"[::1]", "65535", "256", "1000000"}, "::1", 65535, 256, 1000000},
      {{"fe80::1:2", "8080", "2", "10"}, "fe80::1:2", 8080, 2, 10},
      {{"255.255.255.255", "00080", "004", "0010"}, "255.255.255.255", 80, 4, 10},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[0] + " " + c.args[1]);
    Config cfg;
    std::string err;
    ASSERT_EQ(parse(c.args, &cfg, &err), ArgsResult::kOk) << err;
    EXPECT_EQ(cfg.ip, c.ip);
    EXPECT_EQ(cfg.port, c.port);
    EXPECT_EQ(cfg.procs, c.procs);
    EXPECT_EQ(cfg.conns, c.conns);
  }
}

using Check = void (*)(const Config&);

struct ValueCase {
  const char* option;  // long name with "--"
  const char* value;
  Check check;
};

const ValueCase kValueCases[] = {
    {"--root", "/srv/www", [](const Config& c) { EXPECT_EQ(c.root, "/srv/www"); }},
    {"--root", "relative/dir", [](const Config& c) { EXPECT_EQ(c.root, "relative/dir"); }},
    {"--header-timeout", "5", [](const Config& c) { EXPECT_EQ(c.headerTimeoutMs, 5000); }},
    {"--header-timeout", "5s", [](const Config& c) { EXPECT_EQ(c.headerTimeoutMs, 5000); }},
    {"--header-timeout", "250ms", [](const Config& c) { EXPECT_EQ(c.headerTimeoutMs, 250); }},
    {"--keepalive-timeout", "1", [](const Config& c) { EXPECT_EQ(c.keepaliveTimeoutMs, 1000); }},
    {"--keepalive-timeout", "1ms", [](const Config& c) { EXPECT_EQ(c.keepaliveTimeoutMs, 1); }},
    {"--send-timeout", "120", [](const Config& c) { EXPECT_EQ(c.sendTimeoutMs, 120'000); }},
    {"--quit-timeout", "2147483", [](const Config& c) { EXPECT_EQ(c.quitTimeoutMs, 2147483000); }},
    {"--quit-timeout", "2147483647ms",
     [](const Config& c) { EXPECT_EQ(c.quitTimeoutMs, 2147483647); }},
    {"--max-body", "0", [](const Config& c) { EXPECT_EQ(c.maxBody, 0u); }},
    {"--thread-pool", "0", [](const Config& c) { EXPECT_EQ(c.threadPool, 0); }},
    {"--thread-pool", "64", [](const Config& c) { EXPECT_EQ(c.threadPool, 64); }},
    {"--max-body", "12345", [](const Config& c) { EXPECT_EQ(c.maxBody, 12345u); }},
    {"--max-body", "64k", [](const Config& c) { EXPECT_EQ(c.maxBody, 64u << 10); }},
    {"--max-body", "64K", [](const Config& c) { EXPECT_EQ(c.maxBody, 64u << 10); }},
    {"--max-body", "3m", [](const Config& c) { EXPECT_EQ(c.maxBody, 3u << 20); }},
    {"--max-body", "3M", [](const Config& c) { EXPECT_EQ(c.maxBody, 3u << 20); }},
    {"--max-body", "5g", [](const Config& c) { EXPECT_EQ(c.maxBody, uint64_t{5} << 30); }},
    {"--max-body", "5G", [](const Config& c) { EXPECT_EQ(c.maxBody, uint64_t{5} << 30); }},
    {"--max-age", "0", [](const Config& c) { EXPECT_EQ(c.maxAge, 0); }},
    {"--max-age", "86400", [](const Config& c) { EXPECT_EQ(c.maxAge, 86400); }},
    {"--error-page", "404=/404.html",
     [](const Config& c) { EXPECT_EQ(c.errorPages.at(404), "/404.html"); }},
    {"--error-page", "599=/e/x.html",
     [](const Config& c) { EXPECT_EQ(c.errorPages.at(599), "/e/x.html"); }},
    {"--access-log", "/var/log/a.log",
     [](const Config& c) { EXPECT_EQ(c.accessLog, "/var/log/a.log"); }},
    {"--access-log", "off", [](const Config& c) { EXPECT_EQ(c.accessLog, ""); }},
    {"--error-log", "/var/log/e.log",
     [](const Config& c) { EXPECT_EQ(c.errorLog, "/var/log/e.log"); }},
    {"--log-level", "error", [](const Config& c) { EXPECT_EQ(c.logLevel, LogLevel::kError); }},
    {"--log-level", "warn", [](const Config& c) { EXPECT_EQ(c.logLevel, LogLevel::kWarn); }},
    {"--log-level", "info", [](const Config& c) { EXPECT_EQ(c.logLevel, LogLevel::kInfo); }},
    {"--log-level", "debug", [](const Config& c) { EXPECT_EQ(c.logLevel, LogLevel::kDebug); }},
    {"--status-path", "/server-status",
     [](const Config& c) { EXPECT_EQ(c.statusPath, "/server-status"); }},
    {"--metrics-path", "/metrics", [](const Config& c) { EXPECT_EQ(c.metricsPath, "/metrics"); }},
    {"--pid-file", "/run/hs.pid", [](const Config& c) { EXPECT_EQ(c.pidFile, "/run/hs.pid"); }},
    {"--user", "www-data", [](const Config& c) { EXPECT_EQ(c.user, "www-data"); }},
};

TEST(ConfigTest, ParsesEveryValueOptionInBothForms) {
  for (const ValueCase& c : kValueCases) {
    const std::string option = c.option;
    for (bool joined : {false, true}) {
      SCOPED_TRACE(option + (joined ? "=" : " ") + c.value);
      const std::vector<std::string> extra = joined
                                                 ? std::vector<std::string>{option + "=" + c.value}
                                                 : std::vector<std::string>{option, c.value};
      Config cfg;
      std::string err;
      ASSERT_EQ(parse(withPositional(extra), &cfg, &err), ArgsResult::kOk) << err;
      c.check(cfg);
    }
  }
}

TEST(ConfigTest, ParsesFlagsAndShortForms) {
  struct Case {
    std::vector<std::string> extra;
    Check check;
  };
  const Case cases[] = {
      {{"-r", "/srv"}, [](const Config& c) { EXPECT_EQ(c.root, "/srv"); }},
      {{"-t"}, [](const Config& c) { EXPECT_TRUE(c.testOnly); }},
      {{"-d"}, [](const Config& c) { EXPECT_TRUE(c.daemon); }},
      {{"--daemon"}, [](const Config& c) { EXPECT_TRUE(c.daemon); }},
      {{"--autoindex"}, [](const Config& c) { EXPECT_TRUE(c.autoindex); }},
      {{"--autoindex", "--no-autoindex"}, [](const Config& c) { EXPECT_FALSE(c.autoindex); }},
      {{"--no-autoindex", "--autoindex"}, [](const Config& c) { EXPECT_TRUE(c.autoindex); }},
      {{"--status-allow-remote"}, [](const Config& c) { EXPECT_TRUE(c.statusAllowRemote); }},
      {{"--metrics-allow-remote"}, [](const Config& c) { EXPECT_TRUE(c.metricsAllowRemote); }},
      {{"--root", "/a", "--root=/b"}, [](const Config& c) { EXPECT_EQ(c.root, "/b"); }},
      {{"--error-page", "404=/a", "--error-page=500=/b", "--error-page", "404=/c"},
       [](const Config& c) {
         EXPECT_EQ(c.errorPages.size(), 2u);
         EXPECT_EQ(c.errorPages.at(404), "/c");
         EXPECT_EQ(c.errorPages.at(500), "/b");
       }},
      {{"--root", "-t"},
       [](const Config& c) {
         EXPECT_EQ(c.root, "-t");
         EXPECT_FALSE(c.testOnly);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.extra[0]);
    Config cfg;
    std::string err;
    ASSERT_EQ(parse(withPositional(c.extra), &cfg, &err), ArgsResult::kOk) << err;
    c.check(cfg);
  }
}

TEST(ConfigTest, OptionsMayComeBeforeOrBetweenPositionals) {
  Config cfg;
  std::string err;
  ASSERT_EQ(parse({"-d", "127.0.0.1", "--root", "/x", "8080", "4", "-t", "1000"}, &cfg, &err),
            ArgsResult::kOk)
      << err;
  EXPECT_EQ(cfg.port, 8080);
  EXPECT_EQ(cfg.conns, 1000);
  EXPECT_EQ(cfg.root, "/x");
  EXPECT_TRUE(cfg.daemon);
  EXPECT_TRUE(cfg.testOnly);
}

TEST(ConfigTest, DoubleDashEndsOptions) {
  Config cfg;
  std::string err;
  EXPECT_EQ(parse({"--", "127.0.0.1", "8080", "4", "1000"}, &cfg, &err), ArgsResult::kOk) << err;
  EXPECT_EQ(parse({"127.0.0.1", "8080", "4", "--", "-t"}, &cfg, &err), ArgsResult::kError);
  EXPECT_EQ(err, "invalid conns '-t': expected a number from 1 to 1000000");
}

TEST(ConfigTest, HelpAndVersion) {
  struct Case {
    std::vector<std::string> args;
    ArgsResult want;
  };
  const Case cases[] = {
      {{"-h"}, ArgsResult::kHelp},
      {{"--help"}, ArgsResult::kHelp},
      {{"-V"}, ArgsResult::kVersion},
      {{"--version"}, ArgsResult::kVersion},
      {{"127.0.0.1", "--help"}, ArgsResult::kHelp},
      {{"-t", "-V", "bogus"}, ArgsResult::kVersion},
      {{"--foo", "--help"}, ArgsResult::kError},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[0]);
    Config cfg;
    std::string err;
    EXPECT_EQ(parse(c.args, &cfg, &err), c.want);
  }
}

TEST(ConfigTest, RejectsBadCommandLinesWithOneClearLine) {
  struct Case {
    std::vector<std::string> args;
    const char* err;
  };
  using V = std::vector<std::string>;
  const Case cases[] = {
      {{}, "missing <ip> <port> <procs> <conns> (see --help)"},
      {{"127.0.0.1", "8080", "4"},
       "missing <conns> after <ip> <port> <procs> (127.0.0.1 8080 4) (see --help)"},
      {withPositional({"extra"}), "unexpected argument 'extra' (see --help)"},
      {{"localhost", "8080", "4", "1000"},
       "invalid ip 'localhost': expected an IPv4 or IPv6 address"},
      {{"1.2.3", "8080", "4", "1000"}, "invalid ip '1.2.3': expected an IPv4 or IPv6 address"},
      {{"127.0.0.1", "abc", "4", "1000"}, "invalid port 'abc': expected a number from 1 to 65535"},
      {{"127.0.0.1", "+80", "4", "1000"}, "invalid port '+80': expected a number from 1 to 65535"},
      {{"127.0.0.1", "80x", "4", "1000"}, "invalid port '80x': expected a number from 1 to 65535"},
      {{"127.0.0.1", "", "4", "1000"}, "invalid port '': expected a number from 1 to 65535"},
      {{"127.0.0.1", "0", "4", "1000"}, "port must be at least 1 (got 0)"},
      {{"127.0.0.1", "65536", "4", "1000"}, "port must be at most 65535 (got 65536)"},
      {{"127.0.0.1", "99999999999999999999999", "4", "1000"},
       "port must be at most 65535 (got 99999999999999999999999)"},
      {{"127.0.0.1", "8080", "0", "1000"}, "procs must be at least 1 (got 0)"},
      {{"127.0.0.1", "8080", "257", "1000"}, "procs must be at most 256 (got 257)"},
      {{"127.0.0.1", "8080", "-1", "1000"}, "invalid procs '-1': expected a number from 1 to 256"},
      {{"127.0.0.1", "8080", "4", "0"}, "conns must be at least 1 (got 0)"},
      {{"127.0.0.1", "8080", "4", "1000001"}, "conns must be at most 1000000 (got 1000001)"},
      {{"127.0.0.1", "8080", "4", "1e3"},
       "invalid conns '1e3': expected a number from 1 to 1000000"},
      {withPositional({"--foo"}), "unknown option '--foo' (see --help)"},
      {withPositional({"--foo=1"}), "unknown option '--foo' (see --help)"},
      {withPositional({"-x"}), "unknown option '-x' (see --help)"},
      {withPositional({"-rdir"}), "unknown option '-rdir' (see --help)"},
      {withPositional({"--root"}), "missing value for --root"},
      {withPositional({"-r"}), "missing value for -r"},
      {withPositional({"--root="}), "missing value for --root"},
      {withPositional({"--user", ""}), "missing value for --user"},
      {withPositional({"--daemon=on"}), "option --daemon takes no value"},
      {withPositional({"--autoindex=off"}), "option --autoindex takes no value"},
      {withPositional({"--header-timeout", "0"}), "--header-timeout must be positive (got 0)"},
      {withPositional({"--header-timeout", "0ms"}), "--header-timeout must be positive (got 0ms)"},
      {withPositional({"--keepalive-timeout", "1.5"}),
       "invalid value '1.5' for --keepalive-timeout: expected a positive whole number of seconds "
       "(10 or 10s) or milliseconds (500ms)"},
      {withPositional({"--send-timeout", "-5"}),
       "invalid value '-5' for --send-timeout: expected a positive whole number of seconds "
       "(10 or 10s) or milliseconds (500ms)"},
      {withPositional({"--send-timeout", "10m"}),
       "invalid value '10m' for --send-timeout: expected a positive whole number of seconds "
       "(10 or 10s) or milliseconds (500ms)"},
      {withPositional({"--quit-timeout=2147484"}),
       "--quit-timeout must be at most 2147483 seconds (got 2147484)"},
      {withPositional({"--quit-timeout=2147483648ms"}),
       "--quit-timeout must be at most 2147483 seconds (got 2147483648ms)"},
      {withPositional({"--thread-pool", "65"}), "--thread-pool must be at most 64 (got 65)"},
      {withPositional({"--max-body", "1t"}),
       "invalid value '1t' for --max-body: expected a size in bytes, optionally with a k, m or g "
       "suffix (e.g. 1m)"},
      {withPositional({"--max-body", "k"}),
       "invalid value 'k' for --max-body: expected a size in bytes, optionally with a k, m or g "
       "suffix (e.g. 1m)"},
      {withPositional({"--max-body", "17179869184g"}),
       "--max-body is too large (got 17179869184g)"},
      {withPositional({"--max-age", "-1"}),
       "invalid value '-1' for --max-age: expected a number from 0 to 2147483647"},
      {withPositional({"--max-age", "2147483648"}),
       "--max-age must be at most 2147483647 (got 2147483648)"},
      {withPositional({"--error-page", "404"}),
       "invalid value '404' for --error-page: expected a status code from 400 to 599 and a path "
       "starting with '/'"},
      {withPositional({"--error-page", "399=/x"}),
       "invalid value '399=/x' for --error-page: expected a status code from 400 to 599 and a "
       "path starting with '/'"},
      {withPositional({"--error-page", "600=/x"}),
       "invalid value '600=/x' for --error-page: expected a status code from 400 to 599 and a "
       "path starting with '/'"},
      {withPositional({"--error-page", "404=x.html"}),
       "invalid value '404=x.html' for --error-page: expected a status code from 400 to 599 and "
       "a path starting with '/'"},
      {withPositional({"--log-level", "trace"}),
       "invalid value 'trace' for --log-level: expected one of error, warn, info, debug"},
      {withPositional({"--log-level", "INFO"}),
       "invalid value 'INFO' for --log-level: expected one of error, warn, info, debug"},
      {withPositional({"--status-path", "status"}),
       "invalid value 'status' for --status-path: expected a path starting with '/'"},
      {withPositional({"--metrics-path", "metrics"}),
       "invalid value 'metrics' for --metrics-path: expected a path starting with '/'"},
      {V{"-c"}, "missing value for -c"},
      {V{"-c", "/a", "--config=/b"}, "option --config given more than once"},
  };
  for (const Case& c : cases) {
    std::string joined;
    for (const std::string& a : c.args) joined += a + " ";
    SCOPED_TRACE(joined);
    Config cfg;
    std::string err;
    EXPECT_EQ(parse(c.args, &cfg, &err), ArgsResult::kError);
    EXPECT_EQ(err, c.err);
    EXPECT_EQ(err.find('\n'), std::string::npos);
  }
}

// ---- Config file --------------------------------------------------------------------------------

TEST(ConfigTest, ParsesEveryDirective) {
  const std::string text =
      "listen 10.0.0.1:8081\n"
      "workers 3\n"
      "connections 777\n"
      "root /srv/site\n"
      "header_timeout 7\n"
      "keepalive_timeout 300ms\n"
      "send_timeout 9s\n"
      "quit_timeout 11\n"
      "max_body 2k\n"
      "autoindex on\n"
      "max_age 60\n"
      "error_page 404 /404.html\n"
      "error_page 503 /busy.html\n"
      "access_log /var/log/access.log\n"
      "error_log /var/log/error.log\n"
      "log_level debug\n"
      "status_path /status\n"
      "status_allow_remote on\n"
      "metrics_path /m\n"
      "metrics_allow_remote on\n"
      "pid_file /run/x.pid\n"
      "user nobody\n"
      "daemon on\n";
  Config cfg;
  std::string err;
  ASSERT_TRUE(parseConfigText(text, "t.conf", &cfg, &err)) << err;
  EXPECT_EQ(cfg.ip, "10.0.0.1");
  EXPECT_EQ(cfg.port, 8081);
  EXPECT_EQ(cfg.procs, 3);
  EXPECT_EQ(cfg.conns, 777);
  EXPECT_EQ(cfg.root, "/srv/site");
  EXPECT_EQ(cfg.headerTimeoutMs, 7000);
  EXPECT_EQ(cfg.keepaliveTimeoutMs, 300);
  EXPECT_EQ(cfg.sendTimeoutMs, 9000);
  EXPECT_EQ(cfg.quitTimeoutMs, 11000);
  EXPECT_EQ(cfg.maxBody, 2048u);
  EXPECT_TRUE(cfg.autoindex);
  EXPECT_EQ(cfg.maxAge, 60);
  EXPECT_EQ(cfg.errorPages, (std::map<int, std::string>{{404, "/404.html"}, {503, "/busy.html"}}));
  EXPECT_EQ(cfg.accessLog, "/var/log/access.log");
  EXPECT_EQ(cfg.errorLog, "/var/log/error.log");
  EXPECT_EQ(cfg.logLevel, LogLevel::kDebug);
  EXPECT_EQ(cfg.statusPath, "/status");
  EXPECT_TRUE(cfg.statusAllowRemote);
  EXPECT_EQ(cfg.metricsPath, "/m");
  EXPECT_TRUE(cfg.metricsAllowRemote);
  EXPECT_EQ(cfg.pidFile, "/run/x.pid");
  EXPECT_EQ(cfg.user, "nobody");
  EXPECT_TRUE(cfg.daemon);
}

TEST(ConfigTest, OffValuesInFile) {
  Config cfg;
  cfg.autoindex = cfg.daemon = cfg.statusAllowRemote = true;
  cfg.accessLog = "/x";
  std::string err;
  ASSERT_TRUE(parseConfigText(
      "autoindex off\ndaemon off\nstatus_allow_remote off\naccess_log off\n", "f", &cfg, &err))
      << err;
  EXPECT_FALSE(cfg.autoindex);
  EXPECT_FALSE(cfg.daemon);
  EXPECT_FALSE(cfg.statusAllowRemote);
  EXPECT_EQ(cfg.accessLog, "");
}

TEST(ConfigTest, FileSyntaxCommentsSemicolonsAndWhitespace) {
  struct Case {
    const char* text;
    Check check;
  };
  const Case cases[] = {
      {"", [](const Config& c) { EXPECT_EQ(c.root, "/var/www"); }},
      {"# only a comment\n\n   \n\t\n", [](const Config& c) { EXPECT_EQ(c.root, "/var/www"); }},
      {"root /a # trailing comment", [](const Config& c) { EXPECT_EQ(c.root, "/a"); }},
      {"root /a#glued", [](const Config& c) { EXPECT_EQ(c.root, "/a"); }},
      {"root /a;", [](const Config& c) { EXPECT_EQ(c.root, "/a"); }},
      {"root /a ;", [](const Config& c) { EXPECT_EQ(c.root, "/a"); }},
      {"root /a; # both", [](const Config& c) { EXPECT_EQ(c.root, "/a"); }},
      {";\nroot /a", [](const Config& c) { EXPECT_EQ(c.root, "/a"); }},
      {"\t root \t /a \t\n", [](const Config& c) { EXPECT_EQ(c.root, "/a"); }},
      {"root /a\r\nworkers 2\r\n",
       [](const Config& c) {
         EXPECT_EQ(c.root, "/a");
         EXPECT_EQ(c.procs, 2);
       }},
      {"error_page 404 /x.html;",
       [](const Config& c) { EXPECT_EQ(c.errorPages.at(404), "/x.html"); }},
      {"listen [::1]:443;",
       [](const Config& c) {
         EXPECT_EQ(c.ip, "::1");
         EXPECT_EQ(c.port, 443);
       }},
      {"listen 0.0.0.0:1",
       [](const Config& c) {
         EXPECT_EQ(c.ip, "0.0.0.0");
         EXPECT_EQ(c.port, 1);
       }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    Config cfg;
    std::string err;
    ASSERT_TRUE(parseConfigText(c.text, "f.conf", &cfg, &err)) << err;
    c.check(cfg);
  }
}

TEST(ConfigTest, FileErrorsNameFileLineAndReason) {
  struct Case {
    const char* text;
    const char* err;
  };
  const Case cases[] = {
      {"foo bar", "f.conf:1: unknown directive 'foo'"},
      {"# c\n\nroot /a\nfoo bar\n", "f.conf:4: unknown directive 'foo'"},
      {"root /a\nheader-timeout 5\n", "f.conf:2: unknown directive 'header-timeout'"},
      {"workers x", "f.conf:1: 'workers' expects a number from 1 to 256, got 'x'"},
      {"\n\nworkers 0", "f.conf:3: 'workers' expects a number from 1 to 256, got '0'"},
      {"workers 257;", "f.conf:1: 'workers' expects a number from 1 to 256, got '257'"},
      {"connections 0", "f.conf:1: 'connections' expects a number from 1 to 1000000, got '0'"},
      {"listen 8080",
       "f.conf:1: 'listen' expects ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got '8080'"},
      {"listen ::1:8080",
       "f.conf:1: 'listen' expects ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got "
       "'::1:8080'"},
      {"listen [::1]8080",
       "f.conf:1: 'listen' expects ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got "
       "'[::1]8080'"},
      {"listen [::1:8080",
       "f.conf:1: 'listen' expects ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got "
       "'[::1:8080'"},
      {"listen localhost:80",
       "f.conf:1: 'listen' expects ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got "
       "'localhost:80'"},
      {"listen 127.0.0.1:0",
       "f.conf:1: 'listen' expects ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got "
       "'127.0.0.1:0'"},
      {"listen 127.0.0.1:",
       "f.conf:1: 'listen' expects ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got "
       "'127.0.0.1:'"},
      {"header_timeout 0",
       "f.conf:1: 'header_timeout' expects a positive whole number of seconds (10 or 10s) or "
       "milliseconds (500ms), got '0'"},
      {"keepalive_timeout 1.5",
       "f.conf:1: 'keepalive_timeout' expects a positive whole number of seconds (10 or 10s) or "
       "milliseconds (500ms), got '1.5'"},
      {"send_timeout x",
       "f.conf:1: 'send_timeout' expects a positive whole number of seconds (10 or 10s) or "
       "milliseconds (500ms), got 'x'"},
      {"quit_timeout 9999999",
       "f.conf:1: 'quit_timeout' expects a positive whole number of seconds (10 or 10s) or "
       "milliseconds (500ms), got '9999999'"},
      {"max_body 1x",
       "f.conf:1: 'max_body' expects a size in bytes, optionally with a k, m or g suffix (e.g. "
       "1m), got '1x'"},
      {"autoindex yes", "f.conf:1: 'autoindex' expects on or off, got 'yes'"},
      {"daemon 1", "f.conf:1: 'daemon' expects on or off, got '1'"},
      {"status_allow_remote ON", "f.conf:1: 'status_allow_remote' expects on or off, got 'ON'"},
      {"max_age -1", "f.conf:1: 'max_age' expects a number from 0 to 2147483647, got '-1'"},
      {"error_page 200 /x",
       "f.conf:1: 'error_page' expects a status code from 400 to 599 and a path starting with "
       "'/', got '200 /x'"},
      {"error_page 404 x",
       "f.conf:1: 'error_page' expects a status code from 400 to 599 and a path starting with "
       "'/', got '404 x'"},
      {"error_page 404=/x", "f.conf:1: missing value for 'error_page' (expected CODE /path)"},
      {"error_page 404 /a\nerror_page 500 /b\nerror_page 0404 /c",
       "f.conf:3: duplicate 'error_page' for 404 (first on line 1)"},
      {"error_page 404 /a /b", "f.conf:1: too many values for 'error_page' (expected 2, got 3)"},
      {"log_level loud",
       "f.conf:1: 'log_level' expects one of error, warn, info, debug, got 'loud'"},
      {"status_path x", "f.conf:1: 'status_path' expects a path starting with '/', got 'x'"},
      {"metrics_path x", "f.conf:1: 'metrics_path' expects a path starting with '/', got 'x'"},
      {"metrics_allow_remote 1", "f.conf:1: 'metrics_allow_remote' expects on or off, got '1'"},
      {"root", "f.conf:1: missing value for 'root'"},
      {"root ;", "f.conf:1: missing value for 'root'"},
      {"user # nobody", "f.conf:1: missing value for 'user'"},
      {"root /a /b", "f.conf:1: too many values for 'root' (expected 1, got 2)"},
      {"pid_file /a b;", "f.conf:1: too many values for 'pid_file' (expected 1, got 2)"},
      {"root /a\n# x\nroot /b", "f.conf:3: duplicate 'root' (first on line 1)"},
      {"workers 2\nworkers 2", "f.conf:2: duplicate 'workers' (first on line 1)"},
      {"root /a\r\nlisten x\r\n",
       "f.conf:2: 'listen' expects ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got 'x'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    Config cfg;
    std::string err;
    EXPECT_FALSE(parseConfigText(c.text, "f.conf", &cfg, &err));
    EXPECT_EQ(err, c.err);
  }
}

TEST(ConfigTest, FileCannotSetCommandLineOnlySwitches) {
  for (const char* text : {"t on", "config /x", "help on", "no_autoindex on", "no-autoindex"}) {
    SCOPED_TRACE(text);
    Config cfg;
    std::string err;
    EXPECT_FALSE(parseConfigText(text, "f", &cfg, &err));
    EXPECT_EQ(err.rfind("f:1: unknown directive '", 0), 0u) << err;
  }
}

// ---- Config file plus command line --------------------------------------------------------------

TEST(ConfigTest, CommandLineOverridesConfigFile) {
  TempFile file(
      "listen 127.0.0.1:9000\nworkers 2\nconnections 100\nroot /from/file\nmax_age 5\n"
      "error_page 404 /file404.html\nerror_page 500 /file500.html\nlog_level warn\n");
  Config cfg;
  std::string err;
  ASSERT_EQ(parse({"-c", file.path(), "--root", "/from/args", "--error-page=404=/arg404.html"},
                  &cfg, &err),
            ArgsResult::kOk)
      << err;
  EXPECT_EQ(cfg.configFile, file.path());
  EXPECT_EQ(cfg.ip, "127.0.0.1");
  EXPECT_EQ(cfg.port, 9000);
  EXPECT_EQ(cfg.procs, 2);
  EXPECT_EQ(cfg.conns, 100);
  EXPECT_EQ(cfg.root, "/from/args");
  EXPECT_EQ(cfg.maxAge, 5);
  EXPECT_EQ(cfg.logLevel, LogLevel::kWarn);
  EXPECT_EQ(cfg.errorPages.at(404), "/arg404.html");
  EXPECT_EQ(cfg.errorPages.at(500), "/file500.html");

  // Positionals override the file too, and the option may come after them (--config=FILE form).
  Config cfg2;
  ASSERT_EQ(parse({"::1", "8081", "8", "2000", "--config=" + file.path(), "-t"}, &cfg2, &err),
            ArgsResult::kOk)
      << err;
  EXPECT_EQ(cfg2.ip, "::1");
  EXPECT_EQ(cfg2.port, 8081);
  EXPECT_EQ(cfg2.procs, 8);
  EXPECT_EQ(cfg2.conns, 2000);
  EXPECT_EQ(cfg2.root, "/from/file");
  EXPECT_TRUE(cfg2.testOnly);
}

TEST(ConfigTest, ConfigFileCompletenessAndErrors) {
  TempFile noListen("workers 2\nconnections 100\n");
  TempFile noWorkers("listen 127.0.0.1:80\nconnections 100\n");
  TempFile noConns("listen 127.0.0.1:80\nworkers 2\n");
  TempFile bad("root /a\n\nworkers many\n");
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const Case cases[] = {
      {{"-c", noListen.path()},
       "no listen address: give <ip> <port> <procs> <conns> or 'listen' in " + noListen.path()},
      {{"-c", noWorkers.path()},
       "no worker count: give <ip> <port> <procs> <conns> or 'workers' in " + noWorkers.path()},
      {{"-c", noConns.path()},
       "no connection limit: give <ip> <port> <procs> <conns> or 'connections' in " +
           noConns.path()},
      {{"-c", noListen.path(), "127.0.0.1", "80"},
       "missing <procs> <conns> after <ip> <port> (127.0.0.1 80): with -c give all four "
       "arguments or none (see --help)"},
      {{"-c", noListen.path(), "127.0.0.1"},
       "missing <port> <procs> <conns> after <ip> (127.0.0.1): with -c give all four arguments "
       "or none (see --help)"},
      {{"-c", bad.path(), "-t"},
       bad.path() + ":3: 'workers' expects a number from 1 to 256, got 'many'"},
      {{"-c", "/nonexistent/HttpServer.conf"},
       "cannot open config file '/nonexistent/HttpServer.conf': No such file or directory"},
      {{"-c", "/tmp"}, "cannot read config file '/tmp': Is a directory"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.err);
    Config cfg;
    std::string err;
    EXPECT_EQ(parse(c.args, &cfg, &err), ArgsResult::kError);
    EXPECT_EQ(err, c.err);
  }
  // Positionals can complete a file that lacks them.
  Config cfg;
  std::string err;
  EXPECT_EQ(parse({"-c", noListen.path(), "127.0.0.1", "80", "1", "1"}, &cfg, &err),
            ArgsResult::kOk)
      << err;
}

TEST(ConfigTest, TestOnlyFlagSurvivesFullValidation) {
  Config cfg;
  std::string err;
  ASSERT_EQ(parse(withPositional({"-t"}), &cfg, &err), ArgsResult::kOk) << err;
  EXPECT_TRUE(cfg.testOnly);
  // -t does not skip checks: a bad configuration is still an error.
  EXPECT_EQ(parse({"-t", "127.0.0.1", "0", "4", "1000"}, &cfg, &err), ArgsResult::kError);
  EXPECT_EQ(err, "port must be at least 1 (got 0)");
}

TEST(ConfigTest, LoadConfigFileReadsFromDisk) {
  TempFile file("workers 5 # five\n");
  Config cfg;
  std::string err;
  ASSERT_TRUE(loadConfigFile(file.path(), &cfg, &err)) << err;
  EXPECT_EQ(cfg.procs, 5);
}

// ---- Shipped example and usage text -------------------------------------------------------------

const char* const kDirectives[] = {
    "listen",           "workers",
    "connections",      "root",
    "header_timeout",   "keepalive_timeout",
    "send_timeout",     "quit_timeout",
    "max_body",         "thread_pool",
    "autoindex",        "max_age",
    "error_page",       "access_log",
    "error_log",        "log_level",
    "status_path",      "status_allow_remote",
    "metrics_path",     "metrics_allow_remote",
    "pid_file",         "user",
    "daemon",           "proxy_protocol",
    "set_real_ip_from", "real_ip_header",
    "health_path",      "drain_delay",
};

TEST(ConfigTest, ExampleConfigParsesAndShowsDefaults) {
  const std::string path = exampleConfigPath();
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot open " << path
                  << " (run from the project root or set HTTPSERVER_SRCDIR)";
  std::stringstream text;
  text << in.rdbuf();

  Config cfg;
  std::string err;
  ASSERT_TRUE(loadConfigFile(path, &cfg, &err)) << err;
  // Its active lines are the defaults, so the example cannot drift from the code.
  const Config def;
  EXPECT_EQ(cfg.root, def.root);
  EXPECT_EQ(cfg.headerTimeoutMs, def.headerTimeoutMs);
  EXPECT_EQ(cfg.keepaliveTimeoutMs, def.keepaliveTimeoutMs);
  EXPECT_EQ(cfg.sendTimeoutMs, def.sendTimeoutMs);
  EXPECT_EQ(cfg.quitTimeoutMs, def.quitTimeoutMs);
  EXPECT_EQ(cfg.maxBody, def.maxBody);
  EXPECT_EQ(cfg.threadPool, def.threadPool);
  EXPECT_EQ(cfg.autoindex, def.autoindex);
  EXPECT_EQ(cfg.maxAge, def.maxAge);
  EXPECT_EQ(cfg.errorPages, def.errorPages);
  EXPECT_EQ(cfg.accessLog, def.accessLog);
  EXPECT_EQ(cfg.errorLog, def.errorLog);
  EXPECT_EQ(cfg.logLevel, def.logLevel);
  EXPECT_EQ(cfg.statusPath, def.statusPath);
  EXPECT_EQ(cfg.statusAllowRemote, def.statusAllowRemote);
  EXPECT_EQ(cfg.metricsPath, def.metricsPath);
  EXPECT_EQ(cfg.metricsAllowRemote, def.metricsAllowRemote);
  EXPECT_EQ(cfg.pidFile, def.pidFile);
  EXPECT_EQ(cfg.user, def.user);
  EXPECT_EQ(cfg.daemon, def.daemon);
  EXPECT_FALSE(cfg.ip.empty());
  EXPECT_GT(cfg.procs, 0);

  // Every directive is shown, active or as a commented-out example; the commented-out ones parse.
  std::string uncommented = "\n";
  std::string line;
  while (std::getline(text, line)) {
    if (line.rfind("# ", 0) == 0 && line.size() > 2 && line[2] >= 'a' && line[2] <= 'z') {
      uncommented += line.substr(2) + "\n";
    } else if (!line.empty() && line[0] != '#') {
      uncommented += line + "\n";
    }
  }
  for (const char* d : kDirectives) {
    SCOPED_TRACE(d);
    EXPECT_NE(uncommented.find(std::string("\n") + d + " "), std::string::npos);
  }
}

TEST(ConfigTest, ExampleCommentedOutSettingsAreValid) {
  std::ifstream in(exampleConfigPath());
  ASSERT_TRUE(in);
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# ", 0) != 0) continue;
    const std::string body = line.substr(2);
    const std::string word = body.substr(0, body.find(' '));
    for (const char* d : kDirectives) {
      if (word != d) continue;
      SCOPED_TRACE(body);
      Config cfg;
      std::string err;
      EXPECT_TRUE(parseConfigText(body, "example", &cfg, &err)) << err;
      ++checked;
    }
  }
  EXPECT_GE(checked, 6);
}

TEST(ConfigTest, LoadBalancerSettings) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  auto trusted = [&](const Config& cfg, uint32_t addr) {
    in.sin_addr.s_addr = htonl(addr);
    return cfg.realIpFrom.matches(reinterpret_cast<const sockaddr*>(&in));
  };
  Config cli;
  std::string err;
  ASSERT_EQ(
      parse(withPositional({"--proxy-protocol", "--set-real-ip-from", "10.0.0.0/8",
                            "--set-real-ip-from=192.0.2.1", "--real-ip-header", "X-Forwarded-For"}),
            &cli, &err),
      ArgsResult::kOk)
      << err;
  EXPECT_TRUE(cli.proxyProtocol);
  EXPECT_TRUE(trusted(cli, 0x0A010203));
  EXPECT_TRUE(trusted(cli, 0xC0000201));
  EXPECT_FALSE(trusted(cli, 0xC0000202));
  EXPECT_EQ(cli.realIpHeader, "X-Forwarded-For");

  Config file;
  ASSERT_TRUE(
      parseConfigText("proxy_protocol on\nset_real_ip_from 10.0.0.0/8\n"
                      "set_real_ip_from 192.0.2.1\nreal_ip_header x-real-ip\n",
                      "f", &file, &err))
      << err;
  EXPECT_TRUE(file.proxyProtocol);
  EXPECT_TRUE(trusted(file, 0xC0000201));
  EXPECT_EQ(file.realIpHeader, "x-real-ip");

  struct {
    const char* name;
    std::vector<std::string> args;
    int drainMs;
  } drains[] = {
      {"no health path: no delay", {}, 0},
      {"a health path: 5 s", {"--health-path", "/healthz"}, 5000},
      {"explicit zero", {"--health-path", "/healthz", "--drain-delay", "0"}, 0},
      {"explicit delay", {"--drain-delay", "1500ms"}, 1500},
  };
  for (const auto& d : drains) {
    SCOPED_TRACE(d.name);
    Config cfg;
    ASSERT_EQ(parse(withPositional(d.args), &cfg, &err), ArgsResult::kOk) << err;
    EXPECT_EQ(drainDelayMs(cfg), d.drainMs);
  }

  struct {
    const char* name;
    std::vector<std::string> args;
    const char* error;
  } bad[] = {
      {"health path without a slash", {"--health-path", "healthz"}, "a path starting with '/'"},
      {"negative drain", {"--drain-delay", "-1"}, "--drain-delay"},
      {"not a network", {"--set-real-ip-from", "ten"}, "expected an address or ADDRESS/PREFIX"},
      {"all is not a network", {"--set-real-ip-from", "all"}, "ADDRESS/PREFIX"},
      {"prefix too long", {"--set-real-ip-from", "10.0.0.0/33"}, "ADDRESS/PREFIX"},
      {"other header", {"--real-ip-header", "Forwarded"}, "X-Forwarded-For or X-Real-IP"},
      {"flag with a value", {"--proxy-protocol=on"}, "takes no value"},
  };
  for (const auto& c : bad) {
    SCOPED_TRACE(c.name);
    Config cfg;
    EXPECT_EQ(parse(withPositional(c.args), &cfg, &err), ArgsResult::kError);
    EXPECT_NE(err.find(c.error), std::string::npos) << err;
  }
}

TEST(ConfigTest, UsageTextListsEveryOptionAndSignal) {
  const std::string usage = usageText();
  const char* const kMentions[] = {
      "<ip> <port> <procs> <conns>",
      "-r, --root",
      "-c, --config",
      "-t ",
      "-h, --help",
      "-V, --version",
      "-d, --daemon",
      "--header-timeout",
      "--keepalive-timeout",
      "--send-timeout",
      "--quit-timeout",
      "--max-body",
      "--thread-pool",
      "--autoindex",
      "--no-autoindex",
      "--max-age",
      "--error-page",
      "--access-log",
      "--error-log",
      "--log-level",
      "--status-path",
      "--status-allow-remote",
      "--metrics-path",
      "--metrics-allow-remote",
      "--pid-file",
      "--user",
      "/var/www",
      "TERM",
      "INT",
      "QUIT",
      "HUP",
      "USR1",
      "USR2",
      "TTIN",
      "TTOU",
      "CHLD",
  };
  for (const char* m : kMentions) {
    SCOPED_TRACE(m);
    EXPECT_NE(usage.find(m), std::string::npos);
  }
  for (const std::string l : {"default 10)", "default 15)", "default 60)", "default 30)"}) {
    EXPECT_NE(usage.find(l), std::string::npos) << l;
  }
}

}  // namespace
}  // namespace hs
