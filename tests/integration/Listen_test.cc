// Listen addresses and reload: the master opens what a reloaded configuration adds, closes what it
// removes and keeps what stays (the same socket, so nothing waiting in its backlog is lost).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "HardenUtil.h"
#include "LifecycleUtil.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

bool refuses(uint16_t port) { return !connectTo(port).valid(); }

bool serves(uint16_t port) { return fetchGet(port, "/robots.txt").status == 200; }

class ListenReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = dir_.path() + "/HttpServer.conf";
    for (uint16_t& p : ports_) {
      p = pickFreePort();
      ASSERT_NE(p, 0);
    }
  }

  // A flat file listening on port p.
  bool writeFlat(uint16_t p, int workers = 2) {
    return writeFile(file_, "listen 127.0.0.1:" + std::to_string(p) + "\nworkers " +
                                std::to_string(workers) + "\nconnections 100\nroot " + siteRoot() +
                                "\n");
  }

  bool logSays(const std::string& text) {
    return waitFor([&] { return server_.log().find(text) != std::string::npos; }, 3000);
  }

  TempDir dir_;
  std::string file_;
  uint16_t ports_[2] = {0, 0};
  LaunchedServer server_;
};

// The flat file's `listen` applies on reload too: the new address serves, the old one refuses,
// and a reload that keeps the address keeps the very socket.
TEST_F(ListenReloadTest, AFlatFilesListenChangesOnReload) {
  const uint16_t a = ports_[0], b = ports_[1];
  ASSERT_TRUE(writeFlat(a));
  ASSERT_TRUE(server_.start({"-c", file_}, a, 2)) << server_.error() << "\n" << server_.log();
  const unsigned long inode = listenInode(a);
  ASSERT_NE(inode, 0u);

  ASSERT_TRUE(writeFlat(a, 3));
  ASSERT_EQ(kill(server_.pid(), SIGHUP), 0);
  ASSERT_TRUE(waitFor([&] { return childPids(server_.pid()).size() == 3; }, 3000)) << server_.log();
  EXPECT_EQ(listenInode(a), inode) << "an unchanged address keeps its socket";

  ASSERT_TRUE(writeFlat(b));
  ASSERT_EQ(kill(server_.pid(), SIGHUP), 0);
  EXPECT_TRUE(waitFor([&] { return serves(b); }, 3000)) << server_.log();
  EXPECT_TRUE(waitFor([&] { return refuses(a); }, 3000)) << server_.log();
  EXPECT_TRUE(logSays("reload: listening on 127.0.0.1:" + std::to_string(b))) << server_.log();
  EXPECT_TRUE(logSays("reload: no longer listening on 127.0.0.1:" + std::to_string(a)));
}

// An added address that cannot be bound refuses the whole reload: the running address and
// workers stay as they were.
TEST_F(ListenReloadTest, AnAddressThatCannotBeBoundRefusesTheReload) {
  const uint16_t a = ports_[0];
  ASSERT_TRUE(writeFlat(a));
  ASSERT_TRUE(server_.start({"-c", file_}, a, 2)) << server_.error() << "\n" << server_.log();
  std::vector<pid_t> workers = childPids(server_.pid());
  // Something else holds the new address.
  TestFd other(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(other.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(other.get(), 1), 0);
  ASSERT_EQ(::getsockname(other.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const uint16_t busy = ntohs(addr.sin_port);

  ASSERT_TRUE(writeFlat(busy, 3));
  ASSERT_EQ(kill(server_.pid(), SIGHUP), 0);
  EXPECT_TRUE(
      logSays("reload refused, keeping the running configuration: cannot listen on "
              "127.0.0.1:" +
              std::to_string(busy)))
      << server_.log();
  EXPECT_TRUE(holdsFor([&] { return childPids(server_.pid()) == workers; }, 300));
  EXPECT_TRUE(serves(a));
}

// The acceptance test: `ab -k` runs against an address that stays while a reload adds one
// address and removes another. No request fails; the added address answers; the removed one
// refuses connections.
TEST_F(ListenReloadTest, AReloadAddsAndRemovesAddressesWhileAbKeepsItsAddressBusy) {
  if (runShell("command -v ab", 5000).exitCode != 0) {
    GTEST_SKIP() << "ab (apache2-utils) is not installed";
  }
  const uint16_t kept = ports_[0], removed = ports_[1], added = pickFreePort();
  ASSERT_NE(added, 0);
  auto conf = [&](uint16_t second) {
    return writeFile(file_,
                     "workers 2;\nconnections 200;\nstatus_path /server-status;\n"
                     "server {\n  listen 127.0.0.1:" +
                         std::to_string(kept) + ";\n  listen 127.0.0.1:" + std::to_string(second) +
                         ";\n  server_name site.test;\n  root " + siteRoot() + ";\n}\n");
  };
  ASSERT_TRUE(conf(removed));
  ASSERT_TRUE(server_.start({"-c", file_}, kept, 2)) << server_.error() << "\n" << server_.log();
  ASSERT_TRUE(serves(removed));
  ASSERT_TRUE(refuses(added));

  const long long before = jsonNumber(statusJson(kept).body, "requests").value_or(-1);
  ASSERT_GE(before, 0);
  std::atomic<bool> abDone{false};
  RunResult ab;
  std::thread runner([&] {
    ab = runShell("ab -k -c 8 -t " + std::to_string(scaled(6000) / 1000) +
                      " -n 500000 http://127.0.0.1:" + std::to_string(kept) + "/robots.txt",
                  scaled(20'000));
    abDone = true;
  });
  // The load is flowing before the reload.
  bool flowing = waitFor(
      [&] { return jsonNumber(statusJson(kept).body, "requests").value_or(-1) > before + 1000; },
      5000);
  bool reloaded = false;
  if (flowing) {
    ASSERT_TRUE(conf(added));
    EXPECT_EQ(kill(server_.pid(), SIGHUP), 0);
    reloaded = waitFor([&] { return serves(added) && refuses(removed); }, 3000);
  }
  const bool reloadedDuringLoad = !abDone;
  runner.join();
  ASSERT_TRUE(flowing) << "ab's requests never reached the server\n" << ab.out;
  EXPECT_TRUE(reloaded) << server_.log();
  EXPECT_TRUE(reloadedDuringLoad) << "ab ended before the reload was done: nothing was measured";
  ASSERT_FALSE(ab.timedOut) << ab.out;
  EXPECT_EQ(ab.exitCode, 0) << ab.out;
  long long complete = -1, failed = -1;
  for (const std::string& line : harden::linesOf(ab.out)) {
    std::sscanf(line.c_str(), "Complete requests: %lld", &complete);
    std::sscanf(line.c_str(), "Failed requests: %lld", &failed);
  }
  std::cout << "[ ab -k   ] reload adding and removing listen addresses: " << complete
            << " requests, " << failed << " failed\n";
  EXPECT_GT(complete, 1000) << ab.out;
  EXPECT_EQ(failed, 0) << ab.out;
  EXPECT_EQ(ab.out.find("Non-2xx responses"), std::string::npos) << ab.out;
  // The generation that serves now runs the new table: the added address answers by name too.
  EXPECT_EQ(fetchGet(added, "/robots.txt", "").status, 200);
  EXPECT_TRUE(refuses(removed));
}

}  // namespace
}  // namespace hs::integration
