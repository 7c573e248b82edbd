// Start-up as an operator meets it: -t checks what the workers will meet, as their user, and a
// real start fails the same way; socket activation reports the inherited socket's address;
// `make install` rewrites the paths for PREFIX and installs a default configuration that the
// binary reads when started without arguments.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "HardenUtil.h"
#include "LifecycleUtil.h"
#include "TestServer.h"

namespace hs::integration {
namespace {

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// Starts `binary args...` with stdout and stderr in `logPath`, in its own process group.
pid_t launch(const std::string& binary, const std::vector<std::string>& args,
             const std::string& logPath, int listenFd = -1) {
  int logFd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_t pid = fork();
  if (pid == 0) {
    if (listenFd >= 0) {
      // Socket activation as systemd does it: the socket on fd 3, LISTEN_PID naming the server.
      // prepareChild keeps only fds 0-2, so the socket travels as stderr and moves to 3 after.
      prepareChild(logFd, listenFd);
      ::dup2(2, 3);
      ::dup2(1, 2);
      ::setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
      ::setenv("LISTEN_FDS", "1", 1);
    } else {
      prepareChild(logFd, logFd);
    }
    execOrDie(binary, args);
  }
  ::close(logFd);
  if (pid > 0) setpgid(pid, pid);
  return pid;
}

void stopAndReap(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  int status;
  if (!waitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, 3000)) {
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
}

// ---- -t and the start-up checks ----

class ConfigCheckTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0); }

  // Runs the server with `extra` (and -t when testOnly); a start that passes the checks would
  // serve until the timeout, so a refused start is one that exits at once.
  RunResult run(std::vector<std::string> extra, bool testOnly) {
    std::vector<std::string> args = {"127.0.0.1", std::to_string(pickFreePort()), "1", "10"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (testOnly) args.push_back("-t");
    return runProgram(serverBinary(), args, 3000);
  }

  TempDir dir_;
};

TEST_F(ConfigCheckTest, MissingLogDirectoriesFailTheCheckAndTheStartWithOneLineEach) {
  std::string access = dir_.path() + "/no-such-dir/access.log";
  std::string error = dir_.path() + "/missing/error.log";
  for (bool testOnly : {true, false}) {
    SCOPED_TRACE(testOnly ? "-t" : "start");
    RunResult r =
        run({"--root", siteRoot(), "--access-log", access, "--error-log", error}, testOnly);
    ASSERT_FALSE(r.timedOut) << "the server started anyway";
    EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
    EXPECT_FALSE(has(r.out, "is ok")) << r.out;
    std::vector<std::string> lines = harden::linesOf(r.err);
    ASSERT_EQ(lines.size(), 2u) << r.err;
    EXPECT_TRUE(has(lines[0], "error log " + error)) << lines[0];
    EXPECT_TRUE(has(lines[0], "mkdir -p " + dir_.path() + "/missing")) << lines[0];
    EXPECT_TRUE(has(lines[1], "access log " + access)) << lines[1];
    EXPECT_TRUE(has(lines[1], "does not exist")) << lines[1];
  }
}

TEST_F(ConfigCheckTest, WritableLogsAndAReadableRootPass) {
  RunResult r = run({"--root", siteRoot(), "--access-log", dir_.path() + "/access.log",
                     "--error-log", dir_.path() + "/error.log"},
                    true);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(has(r.out, "is ok")) << r.out;
  EXPECT_FALSE(fileExists(dir_.path() + "/access.log")) << "-t must not create the logs";
}

class ConfigCheckAsRootTest : public ConfigCheckTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (the workers then run as nobody)";
    ConfigCheckTest::SetUp();
  }
};

TEST_F(ConfigCheckAsRootTest, ARootOnlyRootCanReadFailsAsTheWorkersUser) {
  std::string root = dir_.path() + "/private";
  ASSERT_EQ(mkdir(root.c_str(), 0700), 0);
  ASSERT_TRUE(writeFile(root + "/index.html", "hi\n"));
  for (bool testOnly : {true, false}) {
    SCOPED_TRACE(testOnly ? "-t" : "start");
    RunResult r = run({"--root", root}, testOnly);
    ASSERT_FALSE(r.timedOut) << "the server started anyway";
    EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
    std::vector<std::string> lines = harden::linesOf(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_TRUE(has(lines[0], "document root " + root + " is not readable by user nobody"))
        << lines[0];
  }
  RunResult r = run({"--root", root, "--user", "root"}, true);
  EXPECT_EQ(r.exitCode, 0) << "workers that stay root can read it: " << r.err;
}

// -t on server blocks: each problem is one line naming the file, directive or path.
TEST_F(ConfigCheckTest, ServerBlockProblemsAreReportedOneLineEach) {
  const std::string d = dir_.path();
  ASSERT_TRUE(writeFile(d + "/bad.htpasswd", "alice $2b$05$abcdefghijklmnopqrstuu\n"));
  struct Case {
    const char* name;
    std::string block;
    std::string expect;
  };
  const Case cases[] = {
      {"a regex that does not compile", "location ~ \"a(b\" { }", "invalid regex 'a(b'"},
      {"a malformed htpasswd file",
       "location /a/ { auth_basic x; auth_basic_user_file " + d + "/bad.htpasswd; }",
       d + "/bad.htpasswd:1"},
      {"a missing htpasswd file",
       "location /a/ { auth_basic x; auth_basic_user_file " + d + "/none; }", d + "/none"},
      {"a location root that does not exist", "location /a/ { root " + d + "/nowhere; }",
       "root or alias " + d + "/nowhere: No such file or directory"},
      {"an alias that is a file", "location /a/ { alias " + d + "/bad.htpasswd; }",
       "root or alias " + d + "/bad.htpasswd is not a directory"},
      {"an access log in a missing directory", "access_log " + d + "/nologs/a.log;",
       "access log " + d + "/nologs/a.log: directory " + d + "/nologs does not exist"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(writeFile(d + "/s.conf", "server { server_name a.test; root " + siteRoot() + "; " +
                                             c.block + " }\n"));
    RunResult r = run({"-c", d + "/s.conf"}, true);
    EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
    std::vector<std::string> lines = harden::linesOf(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_TRUE(has(lines[0], c.expect)) << lines[0];
  }
}

// Two servers claiming one name on one address: nginx's "conflicting server name" warning; the
// first one wins and the configuration is still usable.
TEST_F(ConfigCheckTest, ConflictingServerNamesOnOneAddressAreWarnings) {
  const std::string conf = dir_.path() + "/s.conf";
  ASSERT_TRUE(writeFile(conf,
                        "server { server_name a.test b.test; }\n"
                        "server { server_name a.test; }\n"
                        "server { listen 127.0.0.1:1; server_name b.test; }\n"));
  RunResult r = run({"--root", siteRoot(), "-c", conf}, true);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(has(r.out, "is ok")) << r.out;
  std::vector<std::string> lines = harden::linesOf(r.err);
  ASSERT_EQ(lines.size(), 1u) << "b.test is on two different addresses: no conflict\n" << r.err;
  EXPECT_TRUE(has(lines[0], "HttpServer: warning: " + conf +
                                ":2: conflicting server name "
                                "'a.test' on 127.0.0.1:"))
      << lines[0];
}

TEST_F(ConfigCheckAsRootTest, ALogDirectoryTheWorkersCannotSearchFails) {
  std::string logs = dir_.path() + "/logs";
  ASSERT_EQ(mkdir(logs.c_str(), 0700), 0);
  RunResult r = run({"--root", siteRoot(), "--access-log", logs + "/access.log"}, true);
  EXPECT_EQ(r.exitCode, 1) << r.out;
  std::vector<std::string> lines = harden::linesOf(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_TRUE(has(lines[0], "access log " + logs + "/access.log: directory " + logs +
                                " is not searchable by user nobody"))
      << lines[0];
}

// ---- socket activation ----

class SocketActivationTest : public ::testing::TestWithParam<int> {};

// The workers' user must read each location's root or alias and each htpasswd file.
TEST_F(ConfigCheckAsRootTest, AnAliasAndAnHtpasswdFileTheWorkersCannotReadFail) {
  const std::string d = dir_.path();
  ASSERT_EQ(mkdir((d + "/private").c_str(), 0700), 0);
  const std::string users = d + "/users";
  ASSERT_TRUE(
      writeFile(users, "alice:$2b$05$abcdefghijklmnopqrstuu5s3.ZR1pV7kJ5uIXXOTd6Ko4SE6BkQW\n"));
  ASSERT_EQ(chmod(users.c_str(), 0600), 0);
  ASSERT_TRUE(writeFile(d + "/s.conf", "server { root " + siteRoot() + "; location /p/ { alias " +
                                           d + "/private/; auth_basic x; auth_basic_user_file " +
                                           users + "; } }\n"));
  RunResult r = run({"-c", d + "/s.conf"}, true);
  EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
  std::vector<std::string> lines = harden::linesOf(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_TRUE(has(lines[0], "root or alias " + d + "/private is not readable by user nobody"))
      << lines[0];
  EXPECT_TRUE(has(lines[1], "auth_basic_user_file " + users + " is not readable by user nobody"))
      << lines[1];
  r = run({"-c", d + "/s.conf", "--user", "root"}, true);
  EXPECT_EQ(r.exitCode, 0) << "workers that stay root can read both: " << r.err;
}

TEST_P(SocketActivationTest, BannerAndLogNameTheInheritedSocketAndOneWorker) {
  const int family = GetParam();
  TestFd sock(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(sock.valid());
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  }
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    GTEST_SKIP() << "no loopback address for this family: " << std::strerror(errno);
  }
  ASSERT_EQ(::listen(sock.get(), 64), 0);
  ASSERT_EQ(::getsockname(sock.get(), reinterpret_cast<sockaddr*>(&ss), &len), 0);
  uint16_t port = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  std::string where = (family == AF_INET6 ? "[::1]:" : "127.0.0.1:") + std::to_string(port);

  TempDir dir;
  std::string logPath = dir.path() + "/out.log";
  PidGuard guard;
  // The four arguments are there but unused: the socket comes from "systemd".
  pid_t pid = launch(serverBinary(), {"127.0.0.1", "1", "1", "10", "--root", siteRoot()}, logPath,
                     sock.get());
  ASSERT_GT(pid, 0);
  guard.add(pid);
  sock.reset();
  std::string log;
  EXPECT_TRUE(
      waitFor([&] { return has(log = readFile(logPath).value_or(""), " connections"); }, 3000))
      << log;
  EXPECT_TRUE(has(log, "listening on http://" + where + "/ (1 worker, root")) << log;
  EXPECT_TRUE(has(log, "on " + where + " with 1 worker x 10 connections")) << log;
  EXPECT_FALSE(has(log, ":1/")) << "the unused <port> argument was reported:\n" << log;
  if (family == AF_INET) {
    Client c(port);
    EXPECT_EQ(c.exchange(getRequest("/robots.txt")).status, 200);
  }
  stopAndReap(pid);
}

INSTANTIATE_TEST_SUITE_P(Families, SocketActivationTest, ::testing::Values(AF_INET, AF_INET6),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return p.param == AF_INET6 ? "Ipv6" : "Ipv4";
                         });

// ---- make install ----

// Runs `make install` from the source tree into a temporary PREFIX (or DESTDIR). The binary and
// its main.o (the one object that knows the installed paths) are built in the temporary
// directory, so the tree's own build stays as it is.
class InstallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string www = siteRoot();
    tree_ = www.substr(0, www.rfind('/'));
    if (!fileExists(tree_ + "/Makefile") || !fileExists("/usr/bin/make")) {
      GTEST_SKIP() << "needs the source tree and make";
    }
    ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);  // the workers (nobody) read the site
  }

  RunResult makeInstall(const std::string& prefix, const std::string& destdir = "") {
    const char* sanitize = std::getenv("HTTPSERVER_SANITIZE");
    return runProgram(
        "/usr/bin/make",
        {"-C", tree_, "--no-print-directory", "install", "PREFIX=" + prefix, "DESTDIR=" + destdir,
         "BIN=" + dir_.path() + "/build/HttpServer", "MAIN_OBJ=" + dir_.path() + "/build/main.o",
         std::string("SANITIZE=") + (sanitize != nullptr ? sanitize : "")},
        180'000);
  }

  std::string tree_;
  TempDir dir_;
};

TEST_F(InstallTest, PathsFollowThePrefixAndTheDefaultConfigurationServes) {
  std::string prefix = dir_.path() + "/local";
  RunResult made = makeInstall(prefix);
  ASSERT_EQ(made.exitCode, 0) << made.out << made.err;
  std::string bin = prefix + "/sbin/HttpServer";
  std::string conf = prefix + "/etc/HttpServer/HttpServer.conf";

  std::string unit = readFile(prefix + "/lib/systemd/system/HttpServer.service").value_or("");
  EXPECT_TRUE(has(unit, "ExecStart=" + bin + " -c " + conf)) << unit;
  EXPECT_FALSE(has(unit, "/usr/local/")) << unit;
  std::string text = readFile(conf).value_or("");
  EXPECT_TRUE(has(text, "root " + prefix + "/share/HttpServer/html")) << text;

  RunResult help = runProgram(bin, {"--help"}, 5000);
  EXPECT_TRUE(has(help.out, conf)) << help.out;
  EXPECT_TRUE(has(help.out, prefix + "/share/doc/HttpServer/HttpServer.conf.example")) << help.out;
  EXPECT_TRUE(has(help.out, prefix + "/var/log/HttpServer/error.log")) << help.out;
  EXPECT_FALSE(has(help.out, "docs/")) << help.out;

  RunResult check = runProgram(bin, {"-t"}, 5000);
  EXPECT_EQ(check.exitCode, 0) << check.err;
  EXPECT_TRUE(has(check.out, "configuration " + conf + " is ok")) << check.out;

  // No arguments: the installed configuration (on a free port, as an operator would edit it).
  uint16_t port = pickFreePort();
  size_t at = text.find("listen 127.0.0.1:8080");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, 21, "listen 127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(writeFile(conf, text));
  PidGuard guard;
  pid_t pid = launch(bin, {}, dir_.path() + "/fg.log");
  guard.add(pid);
  Response r;
  EXPECT_TRUE(
      waitFor([&] { return (r = Client(port).exchange(getRequest("/"))).status == 200; }, 3000))
      << readFile(dir_.path() + "/fg.log").value_or("");
  EXPECT_TRUE(has(r.body, "HttpServer works")) << r.body;
  stopAndReap(pid);

  // --daemon without --error-log: the default error log, not the launching terminal.
  std::string pidFile = dir_.path() + "/HttpServer.pid";
  RunResult daemon = runProgram(bin, {"--daemon", "--pid-file", pidFile}, 5000);
  EXPECT_EQ(daemon.exitCode, 0) << daemon.err;
  pid_t master = 0;
  EXPECT_TRUE(waitFor([&] { return (master = readPidFile(pidFile)) > 0; }, 2000));
  guard.add(master);
  std::string errorLog = prefix + "/var/log/HttpServer/error.log";
  EXPECT_TRUE(waitFor([&] { return has(readFile(errorLog).value_or(""), "serving "); }, 2000))
      << "nothing in " << errorLog;
  EXPECT_EQ(daemon.err, "");
  if (master > 0) kill(master, SIGTERM);
  EXPECT_TRUE(waitFor([&] { return master > 0 && !processAlive(master); }, 3000));

  // A second install keeps the operator's configuration.
  made = makeInstall(prefix);
  ASSERT_EQ(made.exitCode, 0) << made.out << made.err;
  EXPECT_EQ(readFile(conf).value_or(""), text);
  EXPECT_TRUE(has(made.out, "keeping the existing " + conf)) << made.out;

  // Without it, a start with no arguments says which file it looked for and what else to give.
  ASSERT_EQ(unlink(conf.c_str()), 0);
  RunResult none = runProgram(bin, {}, 5000);
  EXPECT_EQ(none.exitCode, 1);
  std::vector<std::string> lines = harden::linesOf(none.err);
  ASSERT_EQ(lines.size(), 1u) << none.err;
  EXPECT_TRUE(has(lines[0], "cannot open config file '" + conf + "'")) << lines[0];
  EXPECT_TRUE(has(lines[0], "<ip> <port> <procs> <conns>")) << lines[0];
}

TEST_F(InstallTest, PrefixUsrPutsTheConfigurationInEtcAndTheLogsInVar) {
  std::string dest = dir_.path() + "/dest";
  RunResult made = makeInstall("/usr", dest);
  ASSERT_EQ(made.exitCode, 0) << made.out << made.err;
  EXPECT_TRUE(fileExists(dest + "/etc/HttpServer/HttpServer.conf"));
  EXPECT_TRUE(fileExists(dest + "/var/log/HttpServer"));
  std::string unit = readFile(dest + "/usr/lib/systemd/system/HttpServer.service").value_or("");
  EXPECT_TRUE(has(unit, "ExecStart=/usr/sbin/HttpServer -c /etc/HttpServer/HttpServer.conf"))
      << unit;
  RunResult help = runProgram(dest + "/usr/sbin/HttpServer", {"--help"}, 5000);
  EXPECT_TRUE(has(help.out, "reads /etc/HttpServer/HttpServer.conf")) << help.out;
  EXPECT_TRUE(has(help.out, "/var/log/HttpServer/error.log")) << help.out;
}

}  // namespace
}  // namespace hs::integration
