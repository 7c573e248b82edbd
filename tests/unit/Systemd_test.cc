#include "Systemd.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "UniqueFd.h"

namespace hs {
namespace {

// A datagram socket bound to a fresh path, standing in for systemd's notification socket.
class NotifySystemdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* old = ::getenv("NOTIFY_SOCKET");
    hadOld_ = old != nullptr;
    if (hadOld_) old_ = old;
    char tmpl[] = "/tmp/notify_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/notify";
    sock_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ASSERT_TRUE(sock_.valid());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    ASSERT_LT(path_.size(), sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path_.c_str(), path_.size());
    ASSERT_EQ(::bind(sock_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  void TearDown() override {
    if (hadOld_) {
      ::setenv("NOTIFY_SOCKET", old_.c_str(), 1);
    } else {
      ::unsetenv("NOTIFY_SOCKET");
    }
    sock_.reset();
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  // The next datagram, or "" if none arrives within a second.
  std::string receive() {
    pollfd pfd{sock_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 1000) != 1) return "";
    char buf[256];
    ssize_t n = ::recv(sock_.get(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

  std::string dir_, path_, old_;
  bool hadOld_ = false;
  UniqueFd sock_;
};

TEST_F(NotifySystemdTest, SendsStateToNotifySocket) {
  ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  notifySystemd("READY=1");
  EXPECT_EQ(receive(), "READY=1");
  notifySystemd("STOPPING=1");
  EXPECT_EQ(receive(), "STOPPING=1");
}

TEST_F(NotifySystemdTest, AbstractSocketName) {
  // "@name" means the abstract namespace: a NUL first byte and no file.
  std::string name = "@hs-notify-test-" + std::to_string(::getpid());
  UniqueFd abs(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  ASSERT_TRUE(abs.valid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, name.data(), name.size());
  addr.sun_path[0] = '\0';
  ASSERT_EQ(::bind(abs.get(), reinterpret_cast<sockaddr*>(&addr),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size())),
            0);
  ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  notifySystemd("READY=1");
  pollfd pfd{abs.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 1000), 1);
  char buf[64];
  ssize_t n = ::recv(abs.get(), buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "READY=1");
}

TEST_F(NotifySystemdTest, UnsetOrBadSocketIsANoOp) {
  ::unsetenv("NOTIFY_SOCKET");
  notifySystemd("READY=1");
  ::setenv("NOTIFY_SOCKET", "", 1);
  notifySystemd("READY=1");
  ::setenv("NOTIFY_SOCKET", (dir_ + "/nobody-listens").c_str(), 1);
  notifySystemd("READY=1");
  ::setenv("NOTIFY_SOCKET", std::string(200, 'x').c_str(), 1);  // longer than sun_path
  notifySystemd("READY=1");
  pollfd pfd{sock_.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&pfd, 1, 0), 0);  // nothing reached the real socket
}

// Socket activation: LISTEN_PID must name this process; fds 3.. are taken, made non-blocking
// and close-on-exec, and the variables are removed.
class SystemdListenTest : public ::testing::Test {
 protected:
  void TearDown() override {
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
  }
};

TEST_F(SystemdListenTest, TakesFdsFromThreeWhenThePidIsOurs) {
  // Occupy fd 3 and 4 with sockets the way systemd would hand them over.
  UniqueFd saved3(::fcntl(3, F_DUPFD_CLOEXEC, 100)), saved4(::fcntl(4, F_DUPFD_CLOEXEC, 100));
  // Numbered well above 4, so that dup2 below cannot close them.
  UniqueFd a(::fcntl(UniqueFd(::socket(AF_INET, SOCK_STREAM, 0)).get(), F_DUPFD_CLOEXEC, 200));
  UniqueFd b(::fcntl(UniqueFd(::socket(AF_INET, SOCK_STREAM, 0)).get(), F_DUPFD_CLOEXEC, 200));
  ASSERT_TRUE(a && b);
  ASSERT_EQ(::dup2(a.get(), 3), 3);
  ASSERT_EQ(::dup2(b.get(), 4), 4);
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LISTEN_FDS", "2", 1);
  std::vector<UniqueFd> fds = takeSystemdListeners();
  ASSERT_EQ(fds.size(), 2u);
  EXPECT_EQ(fds[0].get(), 3);
  EXPECT_EQ(fds[1].get(), 4);
  for (const UniqueFd& fd : fds) {
    EXPECT_NE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0);
    EXPECT_NE(::fcntl(fd.get(), F_GETFL) & O_NONBLOCK, 0);
  }
  EXPECT_EQ(::getenv("LISTEN_PID"), nullptr);
  EXPECT_EQ(::getenv("LISTEN_FDS"), nullptr);
  fds.clear();
  // Put back whatever the test runner had on 3 and 4.
  if (saved3) ::dup2(saved3.get(), 3);
  if (saved4) ::dup2(saved4.get(), 4);
}

TEST_F(SystemdListenTest, AnotherProcessesPidTakesNothing) {
  ::setenv("LISTEN_PID", std::to_string(::getpid() + 1).c_str(), 1);
  ::setenv("LISTEN_FDS", "1", 1);
  EXPECT_TRUE(takeSystemdListeners().empty());
  ::unsetenv("LISTEN_PID");
  EXPECT_TRUE(takeSystemdListeners().empty());
}

}  // namespace
}  // namespace hs
