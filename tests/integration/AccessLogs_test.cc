// access_log per server and per location, served by the real binary: a server's file, a location's
// own file in its own log_format, `off`, inheritance, one fd per distinct file in a worker, and a
// per-location log reopened on USR1. Then -t: every invalid regex and every unreadable htpasswd
// file is reported, one line each.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

std::string withRoot(std::string text, const std::string& root) {
  for (size_t at; (at = text.find("ROOT")) != std::string::npos;) text.replace(at, 4, root);
  return text;
}

constexpr const char* kConfig = R"(
log_format brief '$request_method $uri $status probe=$http_x_probe';
server {
  root ROOT/www;
  access_log ROOT/logs/server.log;
  location /api/ { access_log ROOT/logs/api.log brief; }
  location /quiet/ { access_log off; }
  location /inherit/ { }
  location /again/ { access_log ROOT/logs/server.log; }
}
)";

class AccessLogsTest : public ServerTest {
 protected:
  void SetUp() override {
    // The workers may run as another user (nobody, when the tests run as root).
    ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
    for (const char* d : {"www", "www/api", "www/quiet", "www/inherit", "www/again", "logs"}) {
      ASSERT_EQ(::mkdir((dir_.path() + "/" + d).c_str(), 0755), 0) << d;
    }
    for (const char* f :
         {"index.html", "api/a.txt", "api/b.txt", "quiet/q.txt", "inherit/i.txt", "again/g.txt"}) {
      ASSERT_TRUE(writeFile(dir_.path() + "/www/" + f, "x"));
    }
    const std::string file = dir_.path() + "/test.conf";
    ASSERT_TRUE(writeFile(file, withRoot(kConfig, dir_.path())));
    ServerOptions opts;
    opts.procs = 1;
    opts.root = dir_.path() + "/www";
    opts.extraArgs = {"-c", file};
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }
  std::string logPath(const std::string& name) const { return dir_.path() + "/logs/" + name; }
  std::string readLog(const std::string& name) const {
    return readFile(logPath(name)).value_or("");
  }
  // Waits (lines are flushed within a second) until log `name` holds `piece`; returns the log.
  std::string waitForLine(const std::string& name, const std::string& piece) {
    std::string text;
    waitFor(
        [&] {
          text = readLog(name);
          return text.find(piece) != std::string::npos;
        },
        4000);
    return text;
  }
  int get(const std::string& target, const std::string& extra = "") {
    return fetchGet(port(), target, extra).status;
  }

  TempDir dir_;
};

TEST_F(AccessLogsTest, ServerLocationOffAndInheritance) {
  ASSERT_EQ(get("/quiet/q.txt"), 200);
  ASSERT_EQ(get("/api/a.txt", "X-Probe: p1\r\n"), 200);
  ASSERT_EQ(get("/inherit/i.txt"), 200);
  ASSERT_EQ(get("/again/g.txt"), 200);
  ASSERT_EQ(get("/index.html"), 200);

  // The location's own file, in its own format.
  std::string api = waitForLine("api.log", "GET /api/a.txt 200 probe=p1\n");
  EXPECT_EQ(api, "GET /api/a.txt 200 probe=p1\n");
  // The server's file in combined: its own requests, the inheriting location's, and the location
  // that names the same file.
  std::string server = waitForLine("server.log", "\"GET /index.html HTTP/1.1\" 200 ");
  for (const char* line :
       {"\"GET /inherit/i.txt HTTP/1.1\" 200 1 \"-\"", "\"GET /again/g.txt HTTP/1.1\" 200 1 \"-\"",
        "\"GET /index.html HTTP/1.1\" 200 1 \"-\""}) {
    EXPECT_NE(server.find(line), std::string::npos) << line << "\n" << server;
  }
  EXPECT_EQ(server.find("/api/"), std::string::npos) << server;
  // off: in no file.
  EXPECT_EQ(server.find("/quiet/"), std::string::npos) << server;
  EXPECT_EQ(api.find("/quiet/"), std::string::npos) << api;
}

// Two locations and the server name server.log: the worker holds it open once.
TEST_F(AccessLogsTest, EachFileIsOpenedOncePerWorker) {
  std::vector<pid_t> workers = server_.waitForWorkers(1, 3000);
  ASSERT_EQ(workers.size(), 1u);
  struct stat want {};
  ASSERT_EQ(::stat(logPath("server.log").c_str(), &want), 0);
  int serverFds = 0, apiFds = 0;
  struct stat api {};
  ASSERT_EQ(::stat(logPath("api.log").c_str(), &api), 0);
  const std::string fdDir = "/proc/" + std::to_string(workers[0]) + "/fd";
  // The worker opens its files once its configuration is built, which a slow (sanitized) start
  // may not have reached yet.
  waitFor(
      [&] {
        serverFds = apiFds = 0;
        for (const auto& e : std::filesystem::directory_iterator(fdDir)) {
          struct stat st {};
          if (::stat(e.path().c_str(), &st) != 0) continue;
          if (st.st_dev == want.st_dev && st.st_ino == want.st_ino) ++serverFds;
          if (st.st_dev == api.st_dev && st.st_ino == api.st_ino) ++apiFds;
        }
        return serverFds > 0 && apiFds > 0;
      },
      3000);
  EXPECT_EQ(serverFds, 1);
  EXPECT_EQ(apiFds, 1);
}

// USR1 (log rotation): the per-location log is reopened by path; the old file gets nothing more.
TEST_F(AccessLogsTest, UsrOneReopensALocationsLog) {
  ASSERT_EQ(get("/api/a.txt"), 200);
  waitForLine("api.log", "GET /api/a.txt 200");
  ASSERT_EQ(::rename(logPath("api.log").c_str(), logPath("api.log.1").c_str()), 0);
  ASSERT_EQ(::kill(server_.pid(), SIGUSR1), 0);
  // The master creates the new file for the workers; the worker reopens it.
  std::string now;
  waitFor(
      [&] {
        if (get("/api/b.txt") != 200) return false;
        now = readLog("api.log");
        return now.find("GET /api/b.txt 200") != std::string::npos;
      },
      6000);
  EXPECT_NE(now.find("GET /api/b.txt 200"), std::string::npos) << now;
  EXPECT_EQ(now.find("/api/a.txt"), std::string::npos) << now;
  const std::string old = readLog("api.log.1");
  EXPECT_NE(old.find("GET /api/a.txt 200"), std::string::npos) << old;
  EXPECT_EQ(old.find("/api/b.txt"), std::string::npos) << old;
}

// -t lists every invalid regex and every htpasswd file it cannot read, with FILE:LINE, one line
// each (not only the first), and fails.
TEST(AccessLogsConfigTest, CheckReportsEveryBadRegexAndHtpasswdFile) {
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  const std::string conf = dir.path() + "/bad.conf";
  ASSERT_TRUE(writeFile(conf, withRoot(R"(root ROOT; workers 1; connections 16;
server { listen 127.0.0.1:8080;
  location ~ "a(b" { }
  location /one/ { auth_basic "x"; auth_basic_user_file ROOT/missing1; }
  location ~* "[z" { }
  location /two/ { auth_basic "x"; auth_basic_user_file ROOT/missing2; }
  location /three/ { auth_basic "x"; auth_basic_user_file ROOT/missing1; }
}
)",
                                       dir.path())));
  RunResult r = runProgram(serverBinary(), {"-t", "-c", conf}, 10000);
  EXPECT_FALSE(r.timedOut);
  EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
  for (const std::string& want : {conf + ":3: invalid regex 'a(b'",
                                  conf + ":4: ", conf + ":5: invalid regex '[z'", conf + ":6: "}) {
    EXPECT_NE(r.err.find(want), std::string::npos) << want << "\n" << r.err;
  }
  // One line per file: the second location naming missing1 adds nothing.
  EXPECT_EQ(r.err.find(conf + ":7: "), std::string::npos) << r.err;
  size_t lines = 0;
  for (size_t at = r.err.find(conf + ":"); at != std::string::npos;
       at = r.err.find(conf + ":", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 4u) << r.err;
}

}  // namespace
}  // namespace hs::integration
