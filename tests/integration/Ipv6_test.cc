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
    for (int i = 0; i < 300 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, WNOHANG);
  }
};

TEST(Ipv6Test, ServesOnTheIpv6Loopback) {
  uint16_t port = freeV6Port();
  if (port == 0) GTEST_SKIP() << "no IPv6 loopback on this machine";
  Child server;
  server.pid = ::fork();
  ASSERT_GE(server.pid, 0);
  if (server.pid == 0) {
    ::setpgid(0, 0);
    std::string bin = serverBinary(), root = siteRoot(), p = std::to_string(port);
    ::execl(bin.c_str(), bin.c_str(), "::1", p.c_str(), "1", "10", "--root", root.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  UniqueFd c;
  for (int i = 0; i < 500 && !c; ++i) {
    c = connectV6(port);
    if (!c) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(c.valid()) << "nothing listens on [::1]:" << port;
  std::string req = "GET /robots.txt HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(c.get(), req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  timeval tv{5, 0};
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
