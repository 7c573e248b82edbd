// Serving on an IPv6 address (::1). Self-contained: the shared harness speaks IPv4 only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "TestServer.h"
#include "UniqueFd.h"
#include "Wait.h"

namespace hs::integration {
namespace {

// A free port on ::1, or 0 when this machine has no IPv6 loopback.
uint16_t freeV6Port() {
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  socklen_t len = sizeof a;
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return 0;
  }
  return ntohs(a.sin6_port);
}

UniqueFd connectV6(uint16_t port) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  a.sin6_port = htons(port);
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fd.reset();
  return fd;
}

// Stops the server whatever happens in the test.
struct Child {
  pid_t pid = -1;
  ~Child() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    waitFor([&] { return ::waitpid(pid, nullptr, WNOHANG) == pid; }, 3000);
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, WNOHANG);
  }
};

TEST(Ipv6Test, ServesOnTheIpv6Loopback) {
  uint16_t port = freeV6Port();
  if (port == 0) GTEST_SKIP() << "no IPv6 loopback on this machine";
  std::string logPath;
  UniqueFd log(openServerLog(&logPath));
  ASSERT_TRUE(log.valid());
  Child server;
  server.pid = ::fork();
  ASSERT_GE(server.pid, 0);
  if (server.pid == 0) {
    prepareChild(log.get(), log.get());
    execOrDie(serverBinary(), {"::1", std::to_string(port), "1", "10", "--root", siteRoot()});
  }
  UniqueFd c;
  waitFor([&] { return (c = connectV6(port)).valid(); }, 5000);
  ASSERT_TRUE(c.valid()) << "nothing listens on [::1]:" << port << "; server log " << logPath;
  std::string req = "GET /robots.txt HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(c.get(), req.data(), req.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(req.size()));
  timeval tv{scaled(5000) / 1000, 0};
  ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(c.get(), buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  std::optional<std::string> file = readFile(siteRoot() + "/robots.txt");
  ASSERT_TRUE(file.has_value());
  EXPECT_NE(got.find("\r\n\r\n" + *file), std::string::npos) << got;
}

}  // namespace
}  // namespace hs::integration
