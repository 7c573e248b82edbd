// Operations: the status page's numbers, the access and error logs, configuration checking, a
// config file with every directive, make install/uninstall, the man page, and what the binary
// prints about itself.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "HardenUtil.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

using namespace harden;

class OperationsTest : public ServerTest {};

// ---- status page ----

TEST_F(OperationsTest, StatusPageCountsAgreeWithTraffic) {
  ServerOptions opts;
  opts.procs = 2;
  opts.extraArgs = {"--status-path", "/server-status"};
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  // The harness's readiness probes are connections too: take a baseline once they are adopted
  // and every earlier request is counted. A worker counts a request after sending its response,
  // so a status request is counted by the next one only once that shows exactly one more.
  long long last = -1;
  Response base;
  ASSERT_TRUE(waitFor(
      [&] {
        base = statusJson(port());
        long long now = jsonNumber(base.body, "requests").value_or(-1);
        bool settled = base.status == 200 && now == last + 1 &&
                       jsonNumber(base.body, "accepts") == jsonNumber(base.body, "handled");
        last = now;
        return settled;
      },
      2000))
      << base.describe() << base.error;
  const long long accepted0 = jsonNumber(base.body, "accepts").value_or(-1);
  const long long requests0 = jsonNumber(base.body, "requests").value_or(-1);
  ASSERT_GE(accepted0, 1) << base.body;
  ASSERT_GE(requests0, 0) << base.body;

  constexpr int kConnections = 10, kPerConnection = 5;
  for (int i = 0; i < kConnections; ++i) {
    Client c(port());
    ASSERT_TRUE(c.ok());
    for (int k = 0; k < kPerConnection; ++k) {
      ASSERT_EQ(c.exchange(getRequest(k % 2 == 0 ? "/index.html" : "/nope")).status,
                k % 2 == 0 ? 200 : 404);
    }
  }
  // 50 requests plus the baseline status request, once all are counted (the current one is
  // counted when it finishes, each earlier poll of this loop when it did).
  Response r;
  long long requests = -1;
  int polls = 0;
  waitFor(
      [&] {
        r = statusJson(port());
        requests = jsonNumber(r.body, "requests").value_or(-1);
        long long counted = requests - requests0 - polls++;
        return r.status == 200 && counted == kConnections * kPerConnection + 1;
      },
      2000);
  ASSERT_EQ(r.status, 200);
  SCOPED_TRACE(r.body);
  const long long earlierPolls = polls - 1;
  EXPECT_EQ(requests - requests0 - earlierPolls, kConnections * kPerConnection + 1);
  EXPECT_GE(requests - earlierPolls, 50);
  EXPECT_LT(requests - earlierPolls, 50 + 5);
  // 10 connections plus each poll's own.
  EXPECT_EQ(jsonNumber(r.body, "accepts").value_or(-1) - accepted0, kConnections + polls);
  EXPECT_EQ(jsonNumber(r.body, "handled"), jsonNumber(r.body, "accepts"));
  EXPECT_EQ(jsonNumber(r.body, "pid"), server_.pid()) << "the master's, first";

  size_t at = r.body.find("\"workers\":[");
  ASSERT_NE(at, std::string::npos);
  std::string workers = r.body.substr(at);
  EXPECT_EQ(countOf(workers, "{\"worker\":"), 2u) << "one object per worker";
  for (const char* key : {"\"pid\":", "\"connections\":", "\"requests\":", "\"restarts\":",
                          "\"generation\":", "\"pool\":{\"threads\":"}) {
    EXPECT_EQ(countOf(workers, key), 2u) << key;
  }
  for (pid_t w : server_.workers()) {
    EXPECT_NE(workers.find("\"pid\":" + std::to_string(w) + ","), std::string::npos) << w;
  }
}

TEST_F(OperationsTest, StatusPageTextFormHasStubStatusLines) {
  ServerOptions opts;
  opts.procs = 2;
  opts.extraArgs = {"--status-path", "/server-status"};
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  Response r = fetchGet(port(), "/server-status");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_NE(r.header("content-type").find("text/plain"), std::string::npos);
  std::vector<std::string> lines = linesOf(r.body);
  ASSERT_GE(lines.size(), 4u) << r.body;
  long long a = -1, acc = -1, han = -1, req = -1, rd = -1, wr = -1, wt = -1;
  char tail = 0;
  EXPECT_EQ(std::sscanf(lines[0].c_str(), "Active connections: %lld %c", &a, &tail), 1) << lines[0];
  EXPECT_EQ(lines[1], "server accepts handled requests");
  EXPECT_EQ(std::sscanf(lines[2].c_str(), " %lld %lld %lld %c", &acc, &han, &req, &tail), 3)
      << lines[2];
  EXPECT_EQ(std::sscanf(lines[3].c_str(), "Reading: %lld Writing: %lld Waiting: %lld %c", &rd, &wr,
                        &wt, &tail),
            3)
      << lines[3];
  EXPECT_GE(a, 1);
  EXPECT_GE(acc, han);  // a connection still on its way to a worker is accepted, not yet handled
  EXPECT_GE(han, 1);
  EXPECT_EQ(rd + wr + wt, a);
  EXPECT_GE(wr, 1) << "the status request itself counts under Writing, as in nginx";
}

TEST_F(OperationsTest, StatusPageIsOffByDefault) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  EXPECT_EQ(fetchGet(port(), "/server-status").status, 404);
  EXPECT_EQ(fetchGet(port(), "/server-status?json").status, 404);
}

// ---- access log ----

struct LogLine {
  std::string request, referer, agent;
  int status = 0;
  std::string bytes;
};

// Matches the Combined Log Format, as the regular expression
//   ^(\S+) (\S+) (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$
// would (std::regex trips -Wmaybe-uninitialized in sanitizer builds, so it is spelled out).
class ClfMatcher {
 public:
  explicit ClfMatcher(std::string_view line) : s_(line) {}
  bool match(LogLine* out) {
    std::string_view status, bytes, request, referer, agent;
    if (!word() || !lit(' ') || !word() || !lit(' ') || !word() || !lit(' ')) return false;
    if (!lit('[') || !until(']', true) || !lit(']') || !lit(' ')) return false;
    if (!quoted(&request) || !lit(' ') || !digits(&status) || status.size() != 3 || !lit(' '))
      return false;
    if (!lit('-') && (!digits(&bytes) || bytes.empty())) return false;
    if (bytes.empty()) bytes = "-";
    if (!lit(' ') || !quoted(&referer) || !lit(' ') || !quoted(&agent) || i_ != s_.size())
      return false;
    *out = {std::string(request), std::string(referer), std::string(agent),
            std::atoi(std::string(status).c_str()), std::string(bytes)};
    return true;
  }

 private:
  bool lit(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool word() {
    size_t start = i_;
    while (i_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    return i_ > start;
  }
  bool until(char stop, bool nonEmpty) {
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] != stop) ++i_;
    return !nonEmpty || i_ > start;
  }
  bool quoted(std::string_view* v) {
    if (!lit('"')) return false;
    size_t start = i_;
    if (!until('"', false)) return false;
    *v = s_.substr(start, i_ - start);
    return lit('"');
  }
  bool digits(std::string_view* v) {
    size_t start = i_;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    *v = s_.substr(start, i_ - start);
    return i_ > start;
  }
  std::string_view s_;
  size_t i_ = 0;
};

// Parses every line; lines that do not match are returned in *bad.
std::vector<LogLine> parseAccessLog(const std::string& text, std::vector<std::string>* bad) {
  std::vector<LogLine> out;
  for (const std::string& line : linesOf(text)) {
    LogLine parsed;
    if (!ClfMatcher(line).match(&parsed)) {
      bad->push_back(line);
      continue;
    }
    out.push_back(parsed);
  }
  return out;
}

// Waits until the file has at least `lines` lines (or timeoutMs passes); returns its text.
std::string waitForLines(const std::string& path, size_t lines, int timeoutMs) {
  std::string text;
  waitFor(
      [&] {
        text = readFile(path).value_or("");
        return countOf(text, "\n") >= lines;
      },
      timeoutMs);
  return text;
}

class AccessLogTest : public OperationsTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);  // workers may run as an unprivileged user
    log_ = dir_.path() + "/access.log";
  }
  void start() {
    ServerOptions opts;
    opts.procs = 2;
    opts.extraArgs = {"--access-log", log_};
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }
  TempDir dir_;
  std::string log_;
};

TEST_F(AccessLogTest, LinesMatchCombinedFormatAndResponses) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string extra =
      "Referer: http://example.test/from?a=1\r\nUser-Agent: Test \"quoted\" agent/1.0\r\n";
  struct Sent {
    std::string target, method;
    int status;
    size_t bytes;
  };
  std::vector<Sent> sent;
  auto fire = [&](const std::string& target, const std::string& method, std::string more = "") {
    Client c(port());
    ASSERT_TRUE(c.ok());
    bool head = method == "HEAD";
    Response r =
        c.exchange(getRequest(target, extra + more + "Connection: close\r\n", method), head);
    ASSERT_NE(r.status, 0) << r.error;
    sent.push_back({target, method, r.status, r.body.size()});
  };
  ASSERT_NO_FATAL_FAILURE(fire("/index.html?id=1", "GET"));
  ASSERT_NO_FATAL_FAILURE(fire("/missing.html?id=2", "GET"));
  ASSERT_NO_FATAL_FAILURE(fire("/index.html?id=3", "HEAD"));
  ASSERT_NO_FATAL_FAILURE(fire("/media/sample.mp4?id=4", "GET", "Range: bytes=10-109\r\n"));
  ASSERT_NO_FATAL_FAILURE(fire("/style.css?id=5", "GET"));
  auto t0 = Clock::now();
  std::string text = waitForLines(log_, sent.size(), 3000);
  int64_t ms = msSince(t0);
  EXPECT_LE(ms, scaled(1500)) << "lines took too long to appear";
  std::cerr << "[ timing  ] access log lines visible after " << ms << " ms\n";
  std::vector<std::string> bad;
  std::vector<LogLine> lines = parseAccessLog(text, &bad);
  EXPECT_TRUE(bad.empty()) << "not Combined Log Format: " << bad.front();
  ASSERT_EQ(lines.size(), sent.size()) << text;
  for (const Sent& s : sent) {
    SCOPED_TRACE(s.method + " " + s.target);
    auto it = std::find_if(lines.begin(), lines.end(), [&](const LogLine& l) {
      return l.request == s.method + " " + s.target + " HTTP/1.1";
    });
    ASSERT_NE(it, lines.end()) << text;
    EXPECT_EQ(it->status, s.status);
    EXPECT_EQ(it->bytes, std::to_string(s.bytes));  // 0, not -, as nginx logs it
    EXPECT_EQ(it->referer, "http://example.test/from?a=1");
    EXPECT_NE(it->agent.find("Test "), std::string::npos);
    EXPECT_NE(it->agent.find("quoted"), std::string::npos);
    EXPECT_EQ(it->agent.find('"'), std::string::npos);
  }
}

TEST_F(AccessLogTest, TwoWorkersWriteWholeLines) {
  ASSERT_NO_FATAL_FAILURE(start());
  constexpr int kRequests = 300;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kRequests; i += 4) {
        // A new connection every few requests so both workers take part.
        Response r =
            fetchGet(port(), "/robots.txt?n=" + std::to_string(i),
                     "User-Agent: agent-" + std::string(static_cast<size_t>(i % 50), 'x') + "\r\n");
        ok += r.status == 200;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  ASSERT_EQ(ok, kRequests);
  std::string text = waitForLines(log_, kRequests, 3000);
  std::vector<std::string> bad;
  std::vector<LogLine> lines = parseAccessLog(text, &bad);
  EXPECT_TRUE(bad.empty()) << bad.size() << " corrupt lines, first: " << bad.front();
  EXPECT_EQ(lines.size(), static_cast<size_t>(kRequests));
  std::set<std::string> seen;
  for (const LogLine& l : lines) seen.insert(l.request);
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(seen.count("GET /robots.txt?n=" + std::to_string(i) + " HTTP/1.1"), 1u) << i;
  }
}

TEST_F(AccessLogTest, BufferedLinesAreFlushedAtStop) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(fetchGet(port(), "/robots.txt?last=" + std::to_string(i)).status, 200);
  }
  server_.stop();  // SIGTERM right away, before the once-a-second flush
  std::string text = readFile(log_).value_or("");
  std::vector<std::string> bad;
  std::vector<LogLine> lines = parseAccessLog(text, &bad);
  EXPECT_TRUE(bad.empty());
  EXPECT_EQ(lines.size(), 20u) << text;
}

// ---- error log ----

TEST_F(OperationsTest, ErrorLogLinesHaveDateLevelAndPid) {
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  std::string path = dir.path() + "/error.log";
  ServerOptions opts;
  opts.procs = 2;
  opts.extraArgs = {"--error-log", path, "--log-level", "info"};
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  std::string master = std::to_string(server_.pid());
  server_.stop();
  std::string text = readFile(path).value_or("");
  std::vector<std::string> lines = linesOf(text);
  ASSERT_FALSE(lines.empty()) << "nothing logged to " << path;
  bool masterInfo = false;
  for (const std::string& line : lines) {
    // "YYYY/MM/DD HH:MM:SS [level] [pid] message"
    int y, mo, d, h, mi, sec, pid, used = 0;
    char level[8] = {};
    int n = std::sscanf(line.c_str(), "%4d/%2d/%2d %2d:%2d:%2d [%7[a-z]] [%d] %n", &y, &mo, &d, &h,
                        &mi, &sec, level, &pid, &used);
    bool ok = n == 8 && line.size() > 20 && line[4] == '/' && line[7] == '/' && line[10] == ' ' &&
              line[13] == ':' && line[16] == ':' && used > 0 &&
              static_cast<size_t>(used) < line.size();
    std::string lv = level;
    ok = ok && (lv == "error" || lv == "warn" || lv == "info" || lv == "debug");
    EXPECT_TRUE(ok) << line;
    if (ok && lv == "info" && std::to_string(pid) == master) masterInfo = true;
  }
  EXPECT_TRUE(masterInfo) << "no [info] line from the master (pid " << master << "):\n" << text;
}

// ---- configuration ----

std::string readText(const std::string& path) { return readFile(path).value_or(""); }

TEST(OperationsConfigTest, CheckOnlyAcceptsGoodConfig) {
  TempDir dir;
  std::string conf = dir.path() + "/good.conf";
  ASSERT_TRUE(writeFile(conf, "listen 127.0.0.1:8080\nworkers 2\nconnections 64\nroot " +
                                  siteRoot() + "\nkeepalive_timeout 5s;\n"));
  RunResult r = runProgram(serverBinary(), {"-t", "-c", conf}, 10000);
  EXPECT_FALSE(r.timedOut);
  EXPECT_EQ(r.exitCode, 0) << r.out << r.err;
}

TEST(OperationsConfigTest, CheckOnlyNamesFileLineAndReason) {
  TempDir dir;
  std::string conf = dir.path() + "/bad.conf";
  ASSERT_TRUE(writeFile(conf, "listen 127.0.0.1:8080\n# comment\nworkers zero\nconnections 64\n"));
  RunResult r = runProgram(serverBinary(), {"-t", "-c", conf}, 10000);
  EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(conf + ":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("workers"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("zero"), std::string::npos) << r.err;

  ASSERT_TRUE(writeFile(conf, "listen 127.0.0.1:8080\nworkers 2\nconnections 64\nfrobnicate on\n"));
  r = runProgram(serverBinary(), {"-t", "-c", conf}, 10000);
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find(conf + ":4:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown directive"), std::string::npos) << r.err;
}

// The shipped example, with paths moved into a scratch directory and every commented-out
// directive switched on, starts a server that honours them.
TEST_F(OperationsTest, ExampleConfigWithEveryDirectiveStarts) {
  std::string example = readText(projectDir() + "/docs/HttpServer.conf.example");
  if (example.empty()) GTEST_SKIP() << "docs/HttpServer.conf.example not found";
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  uint16_t port = pickFreePort();
  ASSERT_NE(port, 0);
  const std::map<std::string, std::string> values = {
      {"listen", "127.0.0.1:" + std::to_string(port)},
      {"workers", "2"},
      {"connections", "64"},
      {"root", siteRoot()},
      {"autoindex", "on"},
      {"max_age", "120"},
      {"error_page", "404 /404.html"},
      {"max_body", "64k"},
      {"header_timeout", "5"},
      {"keepalive_timeout", "5s"},
      {"send_timeout", "10"},
      {"quit_timeout", "500ms"},
      {"access_log", dir.path() + "/access.log"},
      {"error_log", dir.path() + "/error.log"},
      {"log_level", "debug"},
      {"status_path", "/status"},
      {"status_allow_remote", "off"},
      {"daemon", "off"},
      {"pid_file", dir.path() + "/HttpServer.pid"},
      {"user", "root"},
  };
  std::set<std::string> used;
  std::string conf;
  std::istringstream in(example);
  for (std::string line; std::getline(in, line);) {
    std::string body = line;
    if (body.starts_with("# ")) body = body.substr(2);
    std::string name = body.substr(0, body.find(' '));
    auto it = values.find(name);
    if (it != values.end() && body.size() > name.size() && !used.count(name)) {
      conf += name + " " + it->second + "\n";
      used.insert(name);
    } else if (!line.empty() && line[0] != '#' && it == values.end()) {
      conf += line + "\n";  // a directive this test does not know: keep it as shipped
    }
  }
  for (const auto& [name, value] : values) {
    EXPECT_TRUE(used.count(name)) << "the example does not mention '" << name << "'";
  }
  std::string path = dir.path() + "/HttpServer.conf";
  ASSERT_TRUE(writeFile(path, conf));
  RunResult check = runProgram(serverBinary(), {"-t", "-c", path}, 10000);
  ASSERT_EQ(check.exitCode, 0) << check.err << "\n" << conf;

  ServerOptions opts;
  opts.procs = 2;
  opts.conns = 64;
  opts.extraArgs = {"-c", path};
  ASSERT_TRUE(server_.startOn(port, opts)) << server_.error() << server_.log() << conf;
  Response r = fetchGet(port, "/index.html");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("cache-control"), "max-age=120");
  Response missing = fetchGet(port, "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, readText(siteRoot() + "/404.html"));
  EXPECT_EQ(fetchGet(port, "/status?json").status, 200);
  EXPECT_EQ(fetchGet(port, "/images/").status, 200) << "autoindex on";
  EXPECT_EQ(std::atoi(readText(dir.path() + "/HttpServer.pid").c_str()), server_.pid());
  EXPECT_FALSE(waitForLines(dir.path() + "/access.log", 5, 2000).empty());
  EXPECT_NE(readText(dir.path() + "/error.log").find("[debug]"), std::string::npos);
}

// ---- install / uninstall, man page ----

TEST(OperationsInstallTest, InstallAndUninstallWithDestdir) {
  const std::string src = projectDir();
  if (std::system("make --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "make not found";
  for (const char* doc : {"HttpServer.8", "HttpServer.service", "HttpServer.logrotate"}) {
    if (::access((src + "/docs/" + doc).c_str(), R_OK) != 0) {
      GTEST_SKIP() << "docs/" << doc << " does not exist yet";
    }
  }
  TempDir dest;
  // Install the binary under test (-o: never rebuild it from inside the test run).
  const std::string bin = std::filesystem::absolute(serverBinary()).string();
  const std::string common = "make -s -C '" + src + "' -o '" + bin + "' BIN='" + bin +
                             "' DESTDIR='" + dest.path() + "' PREFIX=/usr/local ";
  RunResult install = runShell(common + "install", 120'000);
  ASSERT_EQ(install.exitCode, 0) << install.out;
  const std::string base = dest.path() + "/usr/local";
  const std::vector<std::string> files = {"/sbin/HttpServer", "/share/man/man8/HttpServer.8",
                                          "/share/doc/HttpServer/HttpServer.conf.example",
                                          "/lib/systemd/system/HttpServer.service",
                                          "/share/doc/HttpServer/HttpServer.logrotate"};
  for (const std::string& f : files) {
    struct stat st {};
    EXPECT_EQ(::stat((base + f).c_str(), &st), 0) << f << " not installed";
  }
  EXPECT_EQ(::access((base + "/sbin/HttpServer").c_str(), X_OK), 0);
  RunResult v = runProgram(base + "/sbin/HttpServer", {"--version"}, 5000);
  EXPECT_EQ(v.exitCode, 0);
  EXPECT_EQ(readText(base + "/share/man/man8/HttpServer.8"), readText(src + "/docs/HttpServer.8"));

  RunResult uninstall = runShell(common + "uninstall", 120'000);
  ASSERT_EQ(uninstall.exitCode, 0) << uninstall.out;
  for (const std::string& f : files) {
    EXPECT_NE(::access((base + f).c_str(), F_OK), 0) << f << " left behind";
  }
}

TEST(OperationsInstallTest, ManPageRenders) {
  const std::string page = projectDir() + "/docs/HttpServer.8";
  if (::access(page.c_str(), R_OK) != 0) GTEST_SKIP() << "docs/HttpServer.8 does not exist yet";
  if (std::system("command -v man >/dev/null 2>&1") != 0) GTEST_SKIP() << "man not installed";
  RunResult r = runProgram(
      "/bin/sh", {"-c", "MANWIDTH=80 MANPAGER=cat PAGER=cat man -l '" + page + "'"}, 20000);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("HttpServer"), std::string::npos) << r.out.substr(0, 400);
  EXPECT_GT(r.out.size(), 500u);
}

// ---- what the binary says about itself ----

TEST(OperationsBinaryTest, VersionIsPrinted) {
  RunResult r = runProgram(serverBinary(), {"--version"}, 5000);
  EXPECT_EQ(r.exitCode, 0);
  ASSERT_TRUE(r.out.starts_with("HttpServer ")) << r.out;
  EXPECT_TRUE(r.out.size() > 11 && std::isdigit(static_cast<unsigned char>(r.out[11])) &&
              r.out.find('.') != std::string::npos)
      << r.out;
}

TEST_F(OperationsTest, StartupPrintsAddressAndWorkerCount) {
  ServerOptions opts;
  opts.procs = 3;
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  std::string log = server_.log();
  std::string url = "listening on http://127.0.0.1:" + std::to_string(port()) + "/";
  EXPECT_NE(log.find(url), std::string::npos) << log;
  EXPECT_NE(log.find("3 workers"), std::string::npos) << log;
}

}  // namespace
}  // namespace hs::integration
