// Process model: worker count and names, respawn, shutdown, SIGPIPE, load balance, per-worker
// connection limit, and command-line errors.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

std::vector<std::string> nonEmptyLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

class ProcessTest : public ServerTest {
 protected:
  void expectGetRootWorks() {
    Client c(port());
    ASSERT_TRUE(c.ok());
    Response r = c.exchange(getRequest("/"));
    EXPECT_EQ(r.status, 200) << r.describe();
  }
};

TEST_F(ProcessTest, MasterHasExactlyProcsWorkerChildren) {
  ServerOptions opts;
  opts.procs = 3;
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  EXPECT_TRUE(holdsFor([&] { return childrenOf(server_.pid()).size() == 3; }, 100))
      << "extra children appeared later";
  std::vector<ProcInfo> kids = childrenOf(server_.pid());
  ASSERT_EQ(kids.size(), 3u);
  for (const ProcInfo& p : kids) {
    SCOPED_TRACE("pid " + std::to_string(p.pid));
    EXPECT_TRUE(p.comm.find("worker") != std::string::npos ||
                p.cmdline.find("worker") != std::string::npos)
        << "comm '" << p.comm << "', cmdline '" << p.cmdline << "'";
  }
}

TEST_F(ProcessTest, KilledWorkerIsReplaced) {
  ServerOptions opts;
  opts.procs = 3;
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  std::vector<pid_t> before = server_.workers();
  ASSERT_EQ(before.size(), 3u);
  pid_t victim = before[1];
  ASSERT_EQ(kill(victim, SIGKILL), 0);

  std::vector<pid_t> after;
  waitFor(
      [&] {
        after = server_.workers();
        return after.size() == 3 && std::find(after.begin(), after.end(), victim) == after.end();
      },
      1000);
  ASSERT_EQ(after.size(), 3u) << "no replacement worker within 1 s";
  EXPECT_EQ(std::find(after.begin(), after.end(), victim), after.end());
  EXPECT_TRUE(server_.running());
  expectGetRootWorks();
}

TEST_F(ProcessTest, SigtermStopsMasterAndWorkersAndFreesPort) {
  ServerOptions opts;
  opts.procs = 3;
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  expectGetRootWorks();
  std::vector<pid_t> workers = server_.workers();
  ASSERT_EQ(workers.size(), 3u);

  ASSERT_EQ(kill(server_.pid(), SIGTERM), 0);
  auto deadline = deadlineIn(2000);
  EXPECT_TRUE(waitUntil([&] { return !server_.running(); }, deadline))
      << "master still running 2 s after SIGTERM";
  for (pid_t w : workers) {
    waitUntil([&] { return !processAlive(w); }, deadline);
    EXPECT_FALSE(processAlive(w)) << "worker " << w << " outlived SIGTERM by 2 s";
  }
  EXPECT_TRUE(portIsFree(port())) << "port " << port() << " still bound";
}

TEST_F(ProcessTest, ClientResetDuringLargeSendKillsNothing) {
  ServerOptions opts;
  opts.procs = 2;
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  std::vector<pid_t> before = server_.workers();
  for (int i = 0; i < 5; ++i) {
    Client c(port());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.send(getRequest("/media/sample.mp4")));
    // Let the response start so the server is in the middle of writing when the RST arrives.
    EXPECT_TRUE(waitReadable(c.fd(), scaled(2000)));
    c.resetClose();
  }
  // A worker killed by SIGPIPE would be gone (and replaced) within this window.
  EXPECT_TRUE(holdsFor([&] { return server_.workers() == before; }, 500));
  EXPECT_TRUE(server_.running());
  EXPECT_EQ(server_.workers(), before) << "a worker died and was replaced";
  expectGetRootWorks();
}

TEST_F(ProcessTest, ConnectionsAreBalancedAcrossWorkers) {
  // 400 client sockets plus the test's own descriptors.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < 2048) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 2048);
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  ServerOptions opts;
  opts.procs = 4;
  opts.conns = 1000;
  opts.extraArgs = {"--status-path", "/server-status"};
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  // The start-up probe connections are gone: only the status request itself is active.
  ASSERT_EQ(waitActive(port(), 1, 2000), 1);
  std::vector<pid_t> workers = server_.workers();
  ASSERT_EQ(workers.size(), 4u);
  std::vector<int> baseline;
  for (pid_t w : workers) baseline.push_back(countSockets(w));

  std::vector<Client> clients;
  clients.reserve(400);
  for (int i = 0; i < 400; ++i) {
    clients.emplace_back(port());
    ASSERT_TRUE(clients.back().ok()) << "connection " << i;
    Response r = clients.back().exchange(getRequest("/robots.txt"));
    ASSERT_EQ(r.status, 200) << "connection " << i << ": " << r.describe();
  }

  std::vector<int> counts;
  for (size_t i = 0; i < workers.size(); ++i) {
    counts.push_back(countSockets(workers[i]) - baseline[i]);
    std::cout << "worker " << workers[i] << ": " << counts.back() << " connections\n";
  }
  int lo = *std::min_element(counts.begin(), counts.end());
  int hi = *std::max_element(counts.begin(), counts.end());
  ASSERT_GT(lo, 0) << "a worker got no connections";
  EXPECT_LE(static_cast<double>(hi) / static_cast<double>(lo), 1.25)
      << "max " << hi << ", min " << lo;
}

TEST_F(ProcessTest, ConnectionBeyondCapacityWaitsForAFreeSlot) {
  ServerOptions opts;
  opts.procs = 1;
  opts.conns = 2;
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  Client c1(port());
  Client c2(port());
  ASSERT_TRUE(c1.ok() && c2.ok());
  Response r1 = c1.exchange(getRequest("/robots.txt"));
  Response r2 = c2.exchange(getRequest("/robots.txt"));
  ASSERT_EQ(r1.status, 200) << r1.describe();
  ASSERT_EQ(r2.status, 200) << r2.describe();

  Client c3(port());  // completes in the kernel backlog
  ASSERT_TRUE(c3.ok());
  ASSERT_TRUE(c3.send(getRequest("/robots.txt")));
  EXPECT_FALSE(waitReadable(c3.fd(), 300)) << "third connection served beyond conns=2";

  c1.close();
  ASSERT_TRUE(waitReadable(c3.fd(), scaled(2000)))
      << "third connection not served after a slot freed";
  Response r3 = c3.read();
  EXPECT_EQ(r3.status, 200) << r3.describe();
}

TEST(ProcessArgsTest, BadArgumentsFailWithOneLine) {
  std::string port = std::to_string(pickFreePort());
  std::string root = siteRoot();
  const std::vector<std::vector<std::string>> cases = {
      {"127.0.0.1", "abc", "1", "1", "--root", root},
      {"127.0.0.1", port, "0", "1", "--root", root},
      {"127.0.0.1", port, "1", "0", "--root", root},
      {"127.0.0.1", port, "1", "1", "--root", "/nonexistent/httpserver-root"},
  };
  for (const auto& args : cases) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    SCOPED_TRACE(joined);
    RunResult r = runProgram(serverBinary(), args, 2000);
    ASSERT_FALSE(r.timedOut) << "still running after 2 s";
    EXPECT_EQ(r.signal, 0);
    EXPECT_NE(r.exitCode, 0);
    EXPECT_EQ(nonEmptyLines(r.err).size(), 1u) << "stderr:\n" << r.err;
  }
}

TEST(ProcessArgsTest, HelpPrintsUsageAndExitsZero) {
  RunResult r = runProgram(serverBinary(), {"--help"}, 2000);
  ASSERT_FALSE(r.timedOut);
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("--root"), std::string::npos) << "stdout:\n" << r.out;
}

TEST_F(ProcessTest, SecondServerOnSamePortFails) {
  ASSERT_NO_FATAL_FAILURE(startServer());
  std::string p = std::to_string(port());
  RunResult r = runProgram(serverBinary(), {"127.0.0.1", p, "1", "1", "--root", siteRoot()}, 2000);
  ASSERT_FALSE(r.timedOut) << "second server started on a port in use";
  EXPECT_NE(r.exitCode, 0);
  EXPECT_NE(r.err.find(p), std::string::npos) << "stderr does not name the address:\n" << r.err;
  EXPECT_NE(r.err.find("127.0.0.1"), std::string::npos) << r.err;
  EXPECT_TRUE(server_.running());
  expectGetRootWorks();
}

}  // namespace
}  // namespace hs::integration
