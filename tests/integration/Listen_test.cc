// Listen addresses and reload: the master opens what a reloaded configuration adds, closes what it
// removes and keeps what stays (the same socket, so nothing waiting in its backlog is lost).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

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

}  // namespace
}  // namespace hs::integration
