#include "Privileges.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "UniqueFd.h"

namespace hs {
namespace {

TEST(ResolvePrivilegesTest, RootWithoutUserDropsToNobody) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  struct passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody' here";
  uid_t uid = nobody->pw_uid;
  gid_t gid = nobody->pw_gid;
  Privileges p;
  std::string err;
  ASSERT_TRUE(resolvePrivileges("", &p, &err)) << err;
  EXPECT_TRUE(p.drop);
  EXPECT_EQ(p.uid, uid);
  EXPECT_EQ(p.gid, gid);
}

TEST(ResolvePrivilegesTest, ExplicitRootKeepsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  Privileges p;
  p.drop = true;  // must be reset
  std::string err;
  ASSERT_TRUE(resolvePrivileges("root", &p, &err)) << err;
  EXPECT_FALSE(p.drop);
}

TEST(ResolvePrivilegesTest, UnknownUserIsAnError) {
  Privileges p;
  std::string err;
  EXPECT_FALSE(resolvePrivileges("no-such-user-hs-test", &p, &err));
  EXPECT_FALSE(p.drop);
  if (::geteuid() == 0) {
    EXPECT_NE(err.find("unknown user 'no-such-user-hs-test'"), std::string::npos) << err;
  } else {
    EXPECT_NE(err.find("root"), std::string::npos) << err;  // --user needs root at all
  }
}

TEST(ResolvePrivilegesTest, NotRootMeansNoChange) {
  if (::geteuid() == 0) GTEST_SKIP() << "runs only without root";
  Privileges p;
  std::string err;
  EXPECT_TRUE(resolvePrivileges("", &p, &err));
  EXPECT_FALSE(p.drop);
}

TEST(DropPrivilegesTest, NoDropIsANoOp) {
  uid_t before = ::geteuid();
  EXPECT_TRUE(dropPrivileges(Privileges{}));
  EXPECT_EQ(::geteuid(), before);
}

TEST(DropPrivilegesTest, DropsToNobodyForGood) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  Privileges p;
  std::string err;
  ASSERT_TRUE(resolvePrivileges("", &p, &err)) << err;
  ASSERT_TRUE(p.drop);
  // In a child: dropping is irreversible, and the rest of the tests need root.
  EXPECT_EXIT(
      {
        bool ok = dropPrivileges(p);
        bool stuck = ::setuid(0) != 0;
        gid_t groups[4];
        int n = ::getgroups(4, groups);
        bool groupsOk = n == 1 && groups[0] == p.gid;
        std::_Exit(ok && stuck && groupsOk && ::getuid() == p.uid && ::getegid() == p.gid ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

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

}  // namespace
}  // namespace hs
