#include "Socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace hs {
namespace {

uint16_t boundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len), 0);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

sockaddr_storage v4(const char* ip) {
  sockaddr_storage ss{};
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  sin->sin_family = AF_INET;
  EXPECT_EQ(::inet_pton(AF_INET, ip, &sin->sin_addr), 1) << ip;
  return ss;
}

sockaddr_storage v6(const char* ip) {
  sockaddr_storage ss{};
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  EXPECT_EQ(::inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1) << ip;
  return ss;
}

bool haveIpv6Loopback() {
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

TEST(ListenTcpTest, LoopbackPortZeroListensNonBlockingCloexec) {
  std::string err;
  UniqueFd fd = listenTcp("127.0.0.1", 0, 16, &err);
  ASSERT_TRUE(fd.valid()) << err;
  EXPECT_NE(boundPort(fd.get()), 0);
  EXPECT_NE(::fcntl(fd.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0);
  int v = 0;
  socklen_t len = sizeof v;
  ASSERT_EQ(::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
  EXPECT_EQ(v, 1);
  ASSERT_EQ(::getsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
  EXPECT_NE(v, 0);
  ASSERT_EQ(::getsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
  EXPECT_NE(v, 0);
}

TEST(ListenTcpTest, AcceptsAConnection) {
  std::string err;
  UniqueFd lfd = listenTcp("127.0.0.1", 0, 16, &err);
  ASSERT_TRUE(lfd.valid()) << err;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(boundPort(lfd.get()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  // The final ACK may still be on its way when connect() returns: wait for the listener.
  pollfd pfd{lfd.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
  UniqueFd conn(::accept4(lfd.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_TRUE(conn.valid());
}

TEST(ListenTcpTest, AddressInUseIsExplained) {
  std::string err;
  UniqueFd first = listenTcp("127.0.0.1", 0, 16, &err);
  ASSERT_TRUE(first.valid()) << err;
  uint16_t port = boundPort(first.get());
  err.clear();
  UniqueFd second = listenTcp("127.0.0.1", port, 16, &err);
  EXPECT_FALSE(second.valid());
  EXPECT_NE(err.find("in use"), std::string::npos) << err;
  EXPECT_NE(err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << err;
  EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
}

TEST(ListenTcpTest, InvalidAddressesAreRejected) {
  for (const char* ip : {"", "localhost", "256.1.1.1", "1.2.3", "::g", "127.0.0.1 ", "[::1]"}) {
    SCOPED_TRACE(ip);
    std::string err;
    UniqueFd fd = listenTcp(ip, 0, 16, &err);
    EXPECT_FALSE(fd.valid());
    EXPECT_NE(err.find("invalid address"), std::string::npos) << err;
    EXPECT_NE(err.find(std::string("'") + ip + "'"), std::string::npos) << err;
  }
}

TEST(ListenTcpTest, UnconfiguredAddressIsExplained) {
  std::string err;
  UniqueFd fd = listenTcp("192.0.2.123", 0, 16, &err);  // TEST-NET-1: not on this machine
  EXPECT_FALSE(fd.valid());
  EXPECT_NE(err.find("192.0.2.123"), std::string::npos) << err;
  EXPECT_NE(err.find("not configured"), std::string::npos) << err;
}

TEST(ListenTcpTest, Ipv6Loopback) {
  if (!haveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback here";
  std::string err;
  UniqueFd fd = listenTcp("::1", 0, 16, &err);
  ASSERT_TRUE(fd.valid()) << err;
  EXPECT_NE(boundPort(fd.get()), 0);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ASSERT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len), 0);
  EXPECT_EQ(ss.ss_family, AF_INET6);

  err.clear();
  UniqueFd again = listenTcp("::1", boundPort(fd.get()), 16, &err);
  EXPECT_FALSE(again.valid());
  EXPECT_NE(err.find("[::1]:" + std::to_string(boundPort(fd.get()))), std::string::npos) << err;
}

TEST(FormatAddressTest, FormatsBothFamilies) {
  struct Case {
    sockaddr_storage addr;
    const char* text;
  } cases[] = {
      {v4("127.0.0.1"), "127.0.0.1"},
      {v4("255.255.255.255"), "255.255.255.255"},
      {v4("0.0.0.0"), "0.0.0.0"},
      {v6("::1"), "::1"},
      {v6("2001:0db8:0000:0000:0000:0000:0000:0001"), "2001:db8::1"},
      {v6("::ffff:10.1.2.3"), "::ffff:10.1.2.3"},
      {v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    char out[INET6_ADDRSTRLEN];
    formatAddress(c.addr, out, sizeof out);
    EXPECT_STREQ(out, c.text);
  }
}

// Peers and listening addresses with a port: IPv6 in brackets, so "::1" and port 54461 cannot be
// read as the address "::1:54461".
TEST(FormatEndpointTest, BracketsIpv6AndAppendsThePort) {
  struct Case {
    sockaddr_storage addr;
    uint16_t port;
    const char* text;
  } cases[] = {
      {v4("127.0.0.1"), 8080, "127.0.0.1:8080"},
      {v4("10.1.2.3"), 0, "10.1.2.3:0"},
      {v6("::1"), 54461, "[::1]:54461"},
      {v6("2001:db8::1"), 443, "[2001:db8::1]:443"},
      {v6("::ffff:10.1.2.3"), 65535, "[::ffff:10.1.2.3]:65535"},
      {v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 65535,
       "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
  };
  for (Case& c : cases) {
    SCOPED_TRACE(c.text);
    if (c.addr.ss_family == AF_INET6) {
      reinterpret_cast<sockaddr_in6*>(&c.addr)->sin6_port = htons(c.port);
    } else {
      reinterpret_cast<sockaddr_in*>(&c.addr)->sin_port = htons(c.port);
    }
    char out[kEndpointLen];
    formatEndpoint(c.addr, out, sizeof out);
    EXPECT_STREQ(out, c.text);
  }
}

TEST(FormatEndpointTest, SocketNameIsTheBoundAddress) {
  std::string err;
  UniqueFd fd = listenTcp("127.0.0.1", 0, 16, &err);
  ASSERT_TRUE(fd.valid()) << err;
  EXPECT_EQ(socketName(fd.get()), "127.0.0.1:" + std::to_string(boundPort(fd.get())));
  EXPECT_EQ(socketName(-1), "?");
}

TEST(FormatAddressTest, UnknownFamilyOrTinyBufferGivesDash) {
  sockaddr_storage unix{};
  unix.ss_family = AF_UNIX;
  char out[INET6_ADDRSTRLEN];
  formatAddress(unix, out, sizeof out);
  EXPECT_STREQ(out, "-");
  char tiny[4];
  formatAddress(v4("192.168.100.200"), tiny, sizeof tiny);
  EXPECT_STREQ(tiny, "-");
}

TEST(IsLoopbackTest, Table) {
  struct Case {
    sockaddr_storage addr;
    bool loopback;
    const char* comment;
  } cases[] = {
      {v4("127.0.0.1"), true, "127.0.0.1"},
      {v4("127.255.255.254"), true, "all of 127/8"},
      {v4("126.255.255.255"), false, "just below"},
      {v4("128.0.0.1"), false, "just above"},
      {v4("10.0.0.1"), false, "private"},
      {v4("0.0.0.0"), false, "any"},
      {v6("::1"), true, "::1"},
      {v6("::2"), false, "::2"},
      {v6("::"), false, "::"},
      {v6("::ffff:127.0.0.1"), true, "v4-mapped loopback"},
      {v6("::ffff:127.9.9.9"), true, "v4-mapped 127/8"},
      {v6("::ffff:10.0.0.1"), false, "v4-mapped private"},
      {v6("::127.0.0.1"), false, "v4-compatible is not mapped"},
      {v6("fe80::1"), false, "link-local"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.comment);
    EXPECT_EQ(isLoopback(c.addr), c.loopback);
  }
  sockaddr_storage none{};
  EXPECT_FALSE(isLoopback(none));
}

}  // namespace
}  // namespace hs
