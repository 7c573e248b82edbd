// Process lifecycle under real signals: worker crashes and the crash-loop back-off, fast and
// graceful stop, reload (with and without a config file) under load, binary upgrade under load,
// resizing, log reopening, daemon mode, pid files, privileges and which process holds which fd.
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "LifecycleUtil.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

std::string siteFile(const std::string& rel) { return readFile(siteRoot() + rel).value_or(""); }

bool contains(const std::vector<pid_t>& v, pid_t p) {
  return std::find(v.begin(), v.end(), p) != v.end();
}

// The live child whose comm is "HttpServer-wN" (worker index N); 0 if none.
pid_t workerWithIndex(pid_t master, int index) {
  std::string name = "HttpServer-w" + std::to_string(index);
  for (const ProcInfo& p : childrenOf(master)) {
    if (p.comm == name) return p.pid;
  }
  return 0;
}

std::string lineContaining(const std::string& text, const std::string& needle) {
  size_t pos = text.find(needle);
  if (pos == std::string::npos) return "";
  size_t b = text.rfind('\n', pos);
  size_t e = text.find('\n', pos);
  b = b == std::string::npos ? 0 : b + 1;
  return text.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

// "generation N" on the text status page's "Master:" line; -1 if absent.
int statusGeneration(uint16_t port, const std::string& path = "/server-status") {
  Client c(port);
  Response r = c.exchange(getRequest(path));
  std::string line = lineContaining(r.body, "Master:");
  size_t g = line.find("generation ");
  return g == std::string::npos ? -1 : std::atoi(line.c_str() + g + 11);
}

bool getOk(uint16_t port, const std::string& target = "/robots.txt") {
  Client c(port);
  Response r = c.exchange(getRequest(target));
  return r.status == 200 && r.body == siteFile(target);
}

bool allGone(const std::vector<pid_t>& pids) {
  return std::none_of(pids.begin(), pids.end(), [](pid_t p) { return processAlive(p); });
}

class LifecycleTest : public ServerTest {
 protected:
  ServerOptions withArgs(int procs, std::vector<std::string> extra = {}) {
    ServerOptions o;
    o.procs = procs;
    o.extraArgs = std::move(extra);
    return o;
  }
};

// ---- 1. a killed worker ----

TEST_F(LifecycleTest, KilledWorkerIsReplacedWithinASecondAndOthersKeepTheirConnections) {
  ASSERT_NO_FATAL_FAILURE(startServer(withArgs(3)));
  std::vector<pid_t> before = server_.workers();
  ASSERT_EQ(before.size(), 3u);

  // Keep-alive clients spread over the workers; find who holds each one.
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<pid_t> holders;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<Client>(port()));
    Response r = clients.back()->exchange(getRequest("/robots.txt"));
    ASSERT_EQ(r.status, 200) << r.describe();
    holders.push_back(holderOf(serverSideInode(clients.back()->fd(), port()), before));
    ASSERT_NE(holders.back(), 0) << "no worker holds connection " << i;
  }
  pid_t victim = holders[0];
  size_t survivor = 1;
  while (survivor < holders.size() && holders[survivor] == victim) ++survivor;
  ASSERT_LT(survivor, holders.size()) << "all connections landed on one worker";

  LoadRunner load(port(), 4, "/index.html", siteFile("/index.html"));
  load.start();
  ASSERT_TRUE(load.waitProgress(50)) << "the load does not flow";
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  auto killed = Clock::now();
  std::vector<pid_t> after;
  bool replaced = waitFor(
      [&] {
        after = server_.workers();
        return after.size() == 3 && !contains(after, victim);
      },
      1000);
  int64_t respawnMs = msSince(killed);
  ASSERT_TRUE(replaced) << "no replacement within 1 s; children now " << after.size();
  std::cout << "[ respawn  ] replacement worker after " << respawnMs << " ms\n";
  for (pid_t p : before) {
    if (p != victim) {
      EXPECT_TRUE(contains(after, p)) << "worker " << p << " changed";
    }
  }

  Response second = clients[survivor]->exchange(getRequest("/index.html"));
  EXPECT_EQ(second.status, 200) << "keep-alive connection on worker " << holders[survivor] << ": "
                                << second.describe() << " " << second.error;
  EXPECT_EQ(second.body, siteFile("/index.html"));

  // The replacement takes its share of the load too.
  EXPECT_TRUE(waitFor([&] { return load.okSoFar() > 100; }, 5000));
  EXPECT_TRUE(load.waitProgress(100));
  LoadStats stats = load.stop();
  std::cout << "[ load     ] worker kill: " << stats.summary() << "\n";
  for (const ProcInfo& p : childrenOf(server_.pid(), /*withZombies=*/true)) {
    EXPECT_NE(p.state, 'Z') << "zombie child " << p.pid;
  }
  // Only connections that were on the killed worker may fail, at most one per client thread.
  EXPECT_LE(stats.failed + stats.staleKeepAlive, 4u) << stats.summary();
  EXPECT_GT(stats.ok, 100u) << stats.summary();
  EXPECT_TRUE(getOk(port()));
}

// ---- 2. crash-loop back-off ----

TEST_F(LifecycleTest, WorkerDyingRightAfterStartIsRespawnedWithBackOff) {
  ASSERT_NO_FATAL_FAILURE(startServer(withArgs(2)));
  pid_t other = 0;  // a fresh child names itself a moment after the fork
  ASSERT_TRUE(waitFor([&] { return (other = workerWithIndex(server_.pid(), 1)) != 0; }, 1000));
  // Four fast deaths are respawned at once; the fifth starts the back-off (1 s).
  for (int k = 1; k <= 5; ++k) {
    SCOPED_TRACE("kill " + std::to_string(k));
    pid_t w0 = 0;
    ASSERT_TRUE(waitFor([&] { return (w0 = workerWithIndex(server_.pid(), 0)) != 0; }, 1000));
    ASSERT_EQ(kill(w0, SIGKILL), 0);
    waitFor([&] { return !processAlive(w0); }, 500);
  }
  auto fifth = Clock::now();
  EXPECT_TRUE(waitFor(
      [&] { return server_.log().find("died 5 times within 1 s") != std::string::npos; }, 500))
      << server_.log();
  // During the back-off the other worker serves alone.
  EXPECT_TRUE(getOk(port()));
  EXPECT_TRUE(holdsFor([&] { return workerWithIndex(server_.pid(), 0) == 0; },
                       std::max<int>(0, 700 - static_cast<int>(msSince(fifth)))))
      << "respawned before the 1 s back-off";
  pid_t w0 = 0;
  ASSERT_TRUE(waitFor([&] { return (w0 = workerWithIndex(server_.pid(), 0)) != 0; }, 1000))
      << "no respawn within 1.7 s of the fifth fast death";
  std::cout << "[ back-off ] respawn after 5 fast deaths: " << msSince(fifth) << " ms\n";

  // A sixth fast death doubles the delay to 2 s.
  ASSERT_EQ(kill(w0, SIGKILL), 0);
  auto sixth = Clock::now();
  EXPECT_TRUE(waitFor(
      [&] { return server_.log().find("died 6 times within 1 s") != std::string::npos; }, 500));
  EXPECT_TRUE(getOk(port()));
  EXPECT_TRUE(holdsFor([&] { return workerWithIndex(server_.pid(), 0) == 0; }, 1500))
      << "respawned before the 2 s back-off";
  EXPECT_TRUE(waitFor([&] { return workerWithIndex(server_.pid(), 0) != 0; }, 1100))
      << "no respawn within 2.6 s of the sixth fast death";
  std::cout << "[ back-off ] respawn after 6 fast deaths: " << msSince(sixth) << " ms\n";
  EXPECT_EQ(workerWithIndex(server_.pid(), 1), other) << "the healthy worker was replaced";
  EXPECT_TRUE(getOk(port()));
}

// ---- 3. fast stop ----

class FastStopTest : public ServerTest, public ::testing::WithParamInterface<int> {};

TEST_P(FastStopTest, EverythingExitsWithinTwoSecondsAndThePortIsFree) {
  ServerOptions o;
  o.procs = 3;
  ASSERT_NO_FATAL_FAILURE(startServer(o));
  Client idle(port());
  ASSERT_EQ(idle.exchange(getRequest("/robots.txt")).status, 200);
  std::vector<pid_t> workers = server_.workers();
  ASSERT_EQ(kill(server_.pid(), GetParam()), 0);
  auto deadline = deadlineIn(2000);
  EXPECT_TRUE(waitUntil([&] { return !server_.running(); }, deadline))
      << "master alive 2 s after signal " << GetParam();
  EXPECT_TRUE(waitUntil([&] { return allGone(workers); }, deadline))
      << "a worker outlived the fast stop";
  EXPECT_TRUE(portIsFree(port()));
}

INSTANTIATE_TEST_SUITE_P(Signals, FastStopTest, ::testing::Values(SIGTERM, SIGINT),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return std::string(p.param == SIGTERM ? "Term" : "Int");
                         });

// ---- 4. graceful stop ----

TEST_F(LifecycleTest, QuitFinishesDownloadClosesIdleAndRefusesNewConnections) {
  ASSERT_NO_FATAL_FAILURE(startServer(withArgs(2)));
  std::vector<pid_t> workers = server_.workers();
  std::string media = siteFile("/media/sample.mp4");
  ASSERT_GT(media.size(), 1'000'000u);

  Client idle(port());
  ASSERT_EQ(idle.exchange(getRequest("/robots.txt")).status, 200);
  SlowDownload download(port(), "/media/sample.mp4", 16 * 1024, 8);
  ASSERT_TRUE(download.connected()) << download.error();
  ASSERT_TRUE(waitFor([&] { return download.received() >= 256 * 1024; }, 5000));

  ASSERT_EQ(kill(server_.pid(), SIGQUIT), 0);
  auto quit = Clock::now();
  size_t atQuit = download.received();
  EXPECT_TRUE(idle.waitClosed(scaled(1000))) << "idle keep-alive connection not closed within 1 s";
  std::cout << "[ quit     ] idle connection closed after " << msSince(quit) << " ms; download at "
            << atQuit << " of " << media.size() << " bytes\n";
  EXPECT_TRUE(waitFor([&] { return !connectTo(port()).valid(); }, 500))
      << "new connections still accepted 500 ms after SIGQUIT";

  ASSERT_TRUE(download.finish(20'000)) << download.error();
  EXPECT_LT(atQuit, media.size()) << "the download ended before SIGQUIT; the test proves nothing";
  EXPECT_TRUE(download.body() == media) << "downloaded body differs from the file";
  EXPECT_TRUE(server_.waitExit(3000)) << "master still running 3 s after the download ended";
  EXPECT_TRUE(waitFor([&] { return allGone(workers); }, 1000));
}

TEST_F(LifecycleTest, QuitIsBoundedByQuitTimeoutWithAStalledReader) {
  ASSERT_NO_FATAL_FAILURE(startServer(withArgs(1, {"--quit-timeout", "1"})));
  std::vector<pid_t> workers = server_.workers();
  TestFd stalled = connectTo(port(), 4096);
  ASSERT_TRUE(stalled.valid());
  // Four pipelined copies (7.2 MiB) outgrow the server's socket send buffer (tcp_wmem max is
  // typically 4 MiB), so the worker itself stays in the middle of writing.
  std::string req = getRequest("/media/sample.mp4");
  ASSERT_TRUE(sendAll(stalled.get(), req + req + req + req));
  ASSERT_TRUE(waitReadable(stalled.get(), scaled(2000)));
  // The response stalls: the server holds bytes the client's full window does not take.
  ASSERT_TRUE(waitFor([&] { return sendQueueOf(stalled.get(), port()) > 0; }, 2000));

  ASSERT_EQ(kill(server_.pid(), SIGQUIT), 0);
  auto quit = Clock::now();
  auto deadline = deadlineIn(2000);
  EXPECT_TRUE(holdsFor([&] { return server_.running(); }, 500))
      << "gone within 500 ms: the stop was not graceful";
  EXPECT_TRUE(waitUntil([&] { return !server_.running(); }, deadline))
      << "master alive 2 s after SIGQUIT with --quit-timeout 1";
  EXPECT_TRUE(waitUntil([&] { return allGone(workers); }, deadline));
  std::cout << "[ quit     ] stalled download: everything gone after " << msSince(quit) << " ms\n";
}

// The same with a file larger than any socket send buffer, so the worker is still writing when
// SIGQUIT arrives (sample.mp4 may sit whole in the kernel by then).
TEST_F(LifecycleTest, QuitWaitsForAResponseTheWorkerIsStillWriting) {
  TempDir root;
  ASSERT_EQ(chmod(root.path().c_str(), 0755), 0);  // the workers run as nobody
  std::string big;
  for (size_t i = 0; big.size() < 8u * 1024 * 1024; ++i)
    big += std::to_string(i * 2654435761u) + "\n";
  ASSERT_TRUE(writeFile(root.path() + "/big.bin", big));
  ServerOptions o = withArgs(1);
  o.root = root.path();
  ASSERT_NO_FATAL_FAILURE(startServer(o));
  std::vector<pid_t> workers = server_.workers();
  SlowDownload download(port(), "/big.bin", 64 * 1024, 5);
  ASSERT_TRUE(download.connected()) << download.error();
  ASSERT_TRUE(waitFor([&] { return download.received() >= 256 * 1024; }, 5000));
  ASSERT_EQ(kill(server_.pid(), SIGQUIT), 0);
  EXPECT_TRUE(holdsFor([&] { return server_.running(); }, 300))
      << "master exited within 300 ms of SIGQUIT with a response in flight";
  EXPECT_TRUE(processAlive(workers[0])) << "worker exited with a response in flight";
  EXPECT_LT(download.received(), big.size());
  ASSERT_TRUE(download.finish(20'000)) << download.error();
  EXPECT_TRUE(download.body() == big) << "downloaded body differs from the file";
  EXPECT_TRUE(server_.waitExit(3000));
}

// ---- 5. reload under load ----

// Ten reloads under load leave one generation of workers, all new, counted by the status page;
// and since a retiring worker hands its idle keep-alive connections (and connections passed to it
// after it began retiring) back to the master, no client sees a failure, nor even a close that
// needs a retry.
TEST_F(LifecycleTest, ReloadUnderLoadLosesNoRequestAndReplacesEveryGeneration) {
  ASSERT_NO_FATAL_FAILURE(startServer(withArgs(2, {"--status-path", "/server-status"})));
  std::vector<pid_t> first = server_.workers();
  LoadRunner load(port(), 8, "/index.html", siteFile("/index.html"));
  load.start();
  ASSERT_TRUE(load.waitProgress(100)) << "the load does not flow";
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(kill(server_.pid(), SIGHUP), 0);
    // The new generation is in charge and serves its share before the next reload.
    ASSERT_TRUE(waitFor([&] { return statusGeneration(port()) == i + 2; }, 3000))
        << "reload " << i + 1 << " did not take";
    ASSERT_TRUE(load.waitProgress(50)) << "the load stalled after reload " << i + 1;
  }
  EXPECT_TRUE(waitFor([&] { return load.okSoFar() > 1000; }, 10'000));
  LoadStats stats = load.stop();
  std::cout << "[ load     ] reload x10: " << stats.summary() << "\n";
  EXPECT_GT(stats.ok, 1000u);
  EXPECT_EQ(stats.failed, 0u) << stats.summary();
  EXPECT_EQ(stats.staleKeepAlive, 0u) << "a client saw its idle connection closed\n"
                                      << stats.summary();

  std::vector<pid_t> now;
  EXPECT_TRUE(waitFor([&] { return (now = server_.workers()).size() == 2; }, 5000))
      << "old generations still running: " << now.size() << " children";
  for (pid_t p : now) EXPECT_FALSE(contains(first, p));
  EXPECT_EQ(statusGeneration(port()), 11);
  Client c(port());
  Response r = c.exchange(getRequest("/server-status?json"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("\"generation\":10"), std::string::npos) << r.body;
}

// ---- 6. reload with a config file ----

TEST(LifecycleConfigTest, ReloadRereadsTheFileAndKeepsRunningWhenItIsBroken) {
  TempDir dir;
  uint16_t port = pickFreePort();
  ASSERT_NE(port, 0);
  std::string file = dir.path() + "/HttpServer.conf";
  std::string base = "listen 127.0.0.1:" + std::to_string(port) + "\nconnections 100\nroot " +
                     siteRoot() + "\nstatus_path /server-status\n";
  ASSERT_TRUE(writeFile(file, base + "workers 2\n"));
  LaunchedServer server;
  ASSERT_TRUE(server.start({"-c", file}, port, 2)) << server.error() << "\n" << server.log();
  std::vector<pid_t> gen1 = childPids(server.pid());

  ASSERT_TRUE(writeFile(file, base + "workers 3\n"));
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  std::vector<pid_t> gen2;
  EXPECT_TRUE(waitFor(
      [&] {
        gen2 = childPids(server.pid());
        return gen2.size() == 3 &&
               std::none_of(gen2.begin(), gen2.end(), [&](pid_t p) { return contains(gen1, p); });
      },
      3000))
      << "expected 3 workers of the new generation, have " << gen2.size() << "\n"
      << server.log();
  EXPECT_EQ(statusGeneration(port), 2);

  ASSERT_TRUE(writeFile(file, base + "workers 3\nno_such_directive on\n"));
  ASSERT_EQ(kill(server.pid(), SIGHUP), 0);
  std::string log;
  EXPECT_TRUE(waitFor(
      [&] { return (log = server.log()).find("no_such_directive") != std::string::npos; }, 2000))
      << log;
  std::string line = lineContaining(log, "no_such_directive");
  EXPECT_NE(line.find(file + ":6"), std::string::npos) << "error line: " << line;
  EXPECT_NE(line.find("error"), std::string::npos) << "error line: " << line;
  EXPECT_TRUE(holdsFor([&] { return childPids(server.pid()) == gen2; }, 300))
      << "a broken file changed the workers";
  EXPECT_EQ(childPids(server.pid()), gen2);
  EXPECT_EQ(statusGeneration(port), 2);
  EXPECT_TRUE(getOk(port));
}

// ---- 7. binary upgrade under load, in the foreground and under --daemon ----

// The old master: started by ServerProcess in the foreground, or through --daemon (then found by
// its pid file).
class BinaryUpgradeTest : public LifecycleTest, public ::testing::WithParamInterface<bool> {
 protected:
  bool daemon() const { return GetParam(); }

  void SetUp() override {
    ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);  // the workers (nobody) reopen the error log
  }

  void startOldMaster() {
    std::vector<std::string> extra = {"--pid-file", pidFile_, "--error-log", errorLog_};
    if (!daemon()) {
      ASSERT_NO_FATAL_FAILURE(startServer(withArgs(2, extra)));
      port_ = port();
      oldMaster_ = server_.pid();
      return;
    }
    port_ = pickFreePort();
    std::vector<std::string> args = {
        "127.0.0.1", std::to_string(port_), "2", "100", "--root", siteRoot(), "--daemon"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult run = runProgram(serverBinary(), args, 5000, /*leaveGroup=*/true);
    ASSERT_FALSE(run.timedOut) << "--daemon did not return";
    ASSERT_EQ(run.exitCode, 0) << run.err;
    ASSERT_TRUE(waitFor([&] { return (oldMaster_ = readPidFile(pidFile_)) > 0; }, 2000));
    guard_.add(oldMaster_);
    ASSERT_TRUE(waitFor([&] { return childPids(oldMaster_).size() == 2; }, 3000));
  }

  // The old master has gone (reaped, or a zombie of ServerProcess).
  bool oldMasterGone() {
    if (!daemon()) return server_.waitExit(100);
    return !processAlive(oldMaster_);
  }

  TempDir dir_;
  std::string pidFile_ = dir_.path() + "/HttpServer.pid";
  std::string errorLog_ = dir_.path() + "/error.log";
  uint16_t port_ = 0;
  pid_t oldMaster_ = 0;
  PidGuard guard_;  // the new master, and a daemonized old one, are not ServerProcess's
};

TEST_P(BinaryUpgradeTest, Usr2ThenQuitUnderLoadMovesThePidFileAndLosesNoRequest) {
  ASSERT_NO_FATAL_FAILURE(startOldMaster());
  std::vector<pid_t> oldWorkers = childPids(oldMaster_);
  ASSERT_EQ(readPidFile(pidFile_), oldMaster_);

  LoadRunner load(port_, 8, "/index.html", siteFile("/index.html"));
  load.start();
  ASSERT_TRUE(load.waitProgress(100)) << "the load does not flow";
  ASSERT_EQ(kill(oldMaster_, SIGUSR2), 0);
  pid_t newMaster = 0;
  EXPECT_TRUE(waitFor(
      [&] {
        newMaster = readPidFile(pidFile_);
        return newMaster != 0 && newMaster != oldMaster_;
      },
      3000))
      << "pid file not rewritten by a new master\n"
      << readFile(errorLog_).value_or("");
  guard_.add(newMaster);
  ASSERT_NE(newMaster, oldMaster_);
  EXPECT_EQ(readPidFile(pidFile_ + ".oldbin"), oldMaster_);
  // It inherited the socket: it runs where its parent runs, without daemonizing again.
  auto info = readProc(newMaster);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->ppid, oldMaster_);
  EXPECT_EQ(sessionOf(newMaster), sessionOf(oldMaster_));
  char a[512] = {}, b[512] = {};
  EXPECT_GT(readlink(("/proc/" + std::to_string(newMaster) + "/exe").c_str(), a, sizeof a - 1), 0);
  EXPECT_GT(readlink(("/proc/" + std::to_string(oldMaster_) + "/exe").c_str(), b, sizeof b - 1), 0);
  EXPECT_STREQ(a, b);
  std::vector<pid_t> newWorkers;
  EXPECT_TRUE(waitFor([&] { return (newWorkers = childPids(newMaster)).size() == 2; }, 3000));
  EXPECT_TRUE(load.waitProgress(200)) << "the load stalled with two masters";

  ASSERT_EQ(kill(oldMaster_, SIGQUIT), 0);
  EXPECT_TRUE(waitFor([&] { return oldMasterGone(); }, 5000)) << "old master did not exit";
  EXPECT_TRUE(waitFor([&] { return allGone(oldWorkers); }, 2000));
  EXPECT_TRUE(load.waitProgress(200)) << "the load stalled after the old master left";
  LoadStats stats = load.stop();
  std::cout << "[ load     ] binary upgrade" << (daemon() ? " (--daemon): " : ": ")
            << stats.summary() << "\n";
  EXPECT_EQ(stats.failed, 0u) << stats.summary();

  EXPECT_TRUE(processAlive(newMaster));
  EXPECT_EQ(childPids(newMaster), newWorkers);
  Client c(port_);
  ASSERT_EQ(c.exchange(getRequest("/robots.txt")).status, 200);
  EXPECT_NE(holderOf(serverSideInode(c.fd(), port_), newWorkers), 0)
      << "the connection is not served by the new master's workers";
  c.close();
  EXPECT_FALSE(fileExists(pidFile_ + ".oldbin"));
  EXPECT_EQ(readPidFile(pidFile_), newMaster);
  std::string log = readFile(errorLog_).value_or("");
  EXPECT_EQ(log.find("new binary"), std::string::npos) << log;

  ASSERT_EQ(kill(newMaster, SIGTERM), 0);
  EXPECT_TRUE(waitFor([&] { return !processAlive(newMaster) && allGone(newWorkers); }, 3000));
  EXPECT_TRUE(waitFor([&] { return !fileExists(pidFile_); }, 1000)) << "pid file left behind";
}

INSTANTIATE_TEST_SUITE_P(Modes, BinaryUpgradeTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Daemon" : "Foreground";
                         });

// ---- 8. resizing ----

TEST_F(LifecycleTest, TtinAddsAWorkerAndTtouRemovesOne) {
  ASSERT_NO_FATAL_FAILURE(startServer(withArgs(2)));
  std::vector<pid_t> two = server_.workers();
  ASSERT_EQ(kill(server_.pid(), SIGTTIN), 0);
  EXPECT_EQ(server_.waitForWorkers(3, 2000).size(), 3u);
  // The new worker names itself just after the fork: wait for the name, not only the process.
  EXPECT_TRUE(waitFor([&] { return workerWithIndex(server_.pid(), 2) != 0; }, 1000));
  ASSERT_EQ(kill(server_.pid(), SIGTTOU), 0);
  EXPECT_EQ(server_.waitForWorkers(2, 2000), two);
  EXPECT_TRUE(getOk(port()));
}

TEST_F(LifecycleTest, TtouNeverGoesBelowOneWorkerAndSaysSo) {
  ASSERT_NO_FATAL_FAILURE(startServer(withArgs(1)));
  std::vector<pid_t> one = server_.workers();
  // One at a time: two signals sent together may arrive as one.
  std::string log;
  for (size_t n : {1, 2}) {
    SCOPED_TRACE(n);
    ASSERT_EQ(kill(server_.pid(), SIGTTOU), 0);
    EXPECT_TRUE(waitFor(
        [&] {
          log = server_.log();
          size_t count = 0;
          for (size_t at = log.find("at least one"); at != std::string::npos;
               at = log.find("at least one", at + 1)) {
            ++count;
          }
          return count == n;
        },
        2000))
        << "each refused TTOU must say that one worker stays:\n"
        << log;
  }
  EXPECT_NE(lineContaining(log, "at least one").find("workers: 1"), std::string::npos) << log;
  EXPECT_EQ(server_.workers(), one);
  EXPECT_TRUE(getOk(port()));
}

// ---- 9. log reopening ----

class LogReopenTest : public LifecycleTest {
 protected:
  void SetUp() override {
    // Workers run as nobody and reopen the access log themselves: the directory must be searchable.
    ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
    access_ = dir_.path() + "/access.log";
    error_ = dir_.path() + "/error.log";
  }
  void startAndRotate() {
    ASSERT_NO_FATAL_FAILURE(
        startServer(withArgs(1, {"--access-log", access_, "--error-log", error_})));
    ASSERT_TRUE(getOk(port(), "/robots.txt"));
    ASSERT_TRUE(waitFor(
        [&] { return readFile(access_).value_or("").find("/robots.txt") != std::string::npos; },
        3000));
    ASSERT_EQ(rename(access_.c_str(), (access_ + ".1").c_str()), 0);
    ASSERT_EQ(rename(error_.c_str(), (error_ + ".1").c_str()), 0);
    ASSERT_EQ(kill(server_.pid(), SIGUSR1), 0);
    ASSERT_TRUE(waitFor(
        [&] { return readFile(error_).value_or("").find("logs reopened") != std::string::npos; },
        2000))
        << "the master did not write to a new error log";
  }

  TempDir dir_;
  std::string access_;
  std::string error_;
};

TEST_F(LogReopenTest, Usr1ReopensRotatedLogs) {
  ASSERT_NO_FATAL_FAILURE(startAndRotate());
  ASSERT_TRUE(getOk(port(), "/style.css"));
  EXPECT_TRUE(waitFor(
      [&] { return readFile(access_).value_or("").find("/style.css") != std::string::npos; }, 3000))
      << "the new access log did not receive the request";
  EXPECT_EQ(readFile(access_ + ".1").value_or("").find("/style.css"), std::string::npos);
  for (pid_t pid : {server_.pid()}) {
    for (const std::string& t : fdTargets(pid)) {
      EXPECT_EQ(t.find(".log.1"), std::string::npos) << "master still holds " << t;
    }
  }
}

// The workers run as nobody and reopen the logs themselves: they must not keep writing to the
// rotated files.
TEST_F(LogReopenTest, Usr1MovesWorkersToTheNewLogs) {
  ASSERT_NO_FATAL_FAILURE(startAndRotate());
  ASSERT_TRUE(getOk(port(), "/style.css"));
  std::vector<pid_t> workers = server_.workers();
  ASSERT_EQ(workers.size(), 1u);
  std::vector<std::string> targets;
  // The master signals the workers after its own reopen; give them a moment.
  waitFor(
      [&] {
        targets = fdTargets(workers[0]);
        return std::none_of(targets.begin(), targets.end(), [](const std::string& t) {
          return t.find(".log.1") != std::string::npos;
        });
      },
      1000);
  for (const std::string& t : targets) {
    EXPECT_EQ(t.find(".log.1"), std::string::npos) << "worker still holds " << t;
  }
}

// ---- 10. daemon ----

TEST(LifecycleDaemonTest, DaemonDetachesWritesPidFileAndStopsCleanly) {
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);  // the workers (nobody) reopen the error log
  std::string pidFile = dir.path() + "/HttpServer.pid";
  uint16_t port = pickFreePort();
  PidGuard guard;
  auto started = Clock::now();
  RunResult run =
      runProgram(serverBinary(),
                 {"127.0.0.1", std::to_string(port), "1", "10", "--root", siteRoot(), "--daemon",
                  "--pid-file", pidFile, "--error-log", dir.path() + "/error.log"},
                 3000, /*leaveGroup=*/true);
  ASSERT_FALSE(run.timedOut) << "--daemon did not return";
  EXPECT_EQ(run.exitCode, 0) << run.err;
  EXPECT_LT(msSince(started), scaled(1000));
  pid_t master = 0;
  ASSERT_TRUE(waitFor([&] { return (master = readPidFile(pidFile)) > 0; }, 2000));
  guard.add(master);
  ASSERT_TRUE(processAlive(master));
  auto info = readProc(master);
  ASSERT_TRUE(info.has_value());
  EXPECT_NE(info->ppid, getpid());
  EXPECT_NE(sessionOf(master), sessionOf(getpid())) << "the daemon did not start a new session";
  EXPECT_EQ(sessionOf(master), getsid(master));
  ASSERT_TRUE(waitFor([&] { return childPids(master).size() == 1; }, 2000));
  EXPECT_TRUE(getOk(port));

  ASSERT_EQ(kill(master, SIGTERM), 0);
  EXPECT_TRUE(waitFor([&] { return !processAlive(master); }, 3000));
  EXPECT_TRUE(waitFor([&] { return !fileExists(pidFile); }, 1000)) << "pid file left behind";
  EXPECT_TRUE(portIsFree(port));
}

// ---- 11. stale pid file ----

TEST_F(LifecycleTest, StalePidFileIsOverwritten) {
  TempDir dir;
  std::string pidFile = dir.path() + "/HttpServer.pid";
  pid_t dead = deadPid();
  ASSERT_GT(dead, 0);
  ASSERT_TRUE(writeFile(pidFile, std::to_string(dead) + "\n"));
  ASSERT_NO_FATAL_FAILURE(startServer(withArgs(1, {"--pid-file", pidFile})));
  EXPECT_EQ(readPidFile(pidFile), server_.pid());
  EXPECT_TRUE(getOk(port()));
}

// ---- 12. privileges and fds ----

class PrivilegeTest : public LifecycleTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
  }
};

TEST_F(PrivilegeTest, WorkersRunAsNobodyByDefaultMasterStaysRoot) {
  passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  ASSERT_NO_FATAL_FAILURE(startServer(withArgs(2)));
  EXPECT_EQ(realUid(server_.pid()), std::optional<uid_t>(0));
  for (pid_t w : server_.workers()) {
    // A worker drops its privileges just after the fork: wait for that rather than race it.
    const std::optional<uid_t> want(nobody->pw_uid);
    waitFor([&] { return realUid(w) == want; }, 2000);
    EXPECT_EQ(realUid(w), want) << "worker " << w;
  }
  EXPECT_TRUE(getOk(port()));
}

TEST_F(PrivilegeTest, WorkersStayRootWithUserRoot) {
  ASSERT_NO_FATAL_FAILURE(startServer(withArgs(2, {"--user", "root"})));
  for (pid_t w : server_.workers())
    EXPECT_EQ(realUid(w), std::optional<uid_t>(0)) << "worker " << w;
  EXPECT_TRUE(getOk(port()));
}

TEST_F(PrivilegeTest, UnknownUserFailsWithOneLineNamingIt) {
  RunResult r = runProgram(serverBinary(),
                           {"127.0.0.1", std::to_string(pickFreePort()), "1", "1", "--root",
                            siteRoot(), "--user", "nosuchuser"},
                           2000);
  ASSERT_FALSE(r.timedOut);
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.err.find("nosuchuser"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(LifecycleTest, WorkersDoNotHoldTheListenSocket) {
  ASSERT_NO_FATAL_FAILURE(startServer(withArgs(2)));
  unsigned long inode = listenInode(port());
  ASSERT_NE(inode, 0u);
  EXPECT_EQ(holderOf(inode, {server_.pid()}), server_.pid()) << "the master lost its listen socket";
  for (pid_t w : server_.workers()) {
    EXPECT_EQ(holderOf(inode, {w}), 0) << "worker " << w << " holds the listen socket";
    EXPECT_LT(fdTargets(w).size(), 16u) << "worker " << w << " holds many fds";
  }
}

// ---- 13. the master passes connections on ----

TEST_F(LifecycleTest, MasterHoldsNoClientConnections) {
  ASSERT_NO_FATAL_FAILURE(startServer(withArgs(2)));
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 50; ++i) {
    clients.push_back(std::make_unique<Client>(port()));
    ASSERT_EQ(clients.back()->exchange(getRequest("/robots.txt")).status, 200) << "client " << i;
  }
  int master = countSockets(server_.pid());
  int workers = 0;
  for (pid_t w : server_.workers()) workers += countSockets(w);
  std::cout << "[ fds      ] master sockets " << master << ", workers' sockets " << workers << "\n";
  EXPECT_GE(workers, 50);
  EXPECT_LT(master, 10) << "expected the listen socket and 2 channels, not client connections";
}

}  // namespace
}  // namespace hs::integration
