// The master's listening sockets by address, on real loopback sockets: the listen table of a
// configuration, binding what is added, keeping (the same open socket) what stays, adopting
// inherited sockets by their address.
#include "Listeners.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "Config.h"
#include "Socket.h"

namespace hs {
namespace {

bool tableOf(const std::string& text, ListenTable* out, std::string* err) {
  Config cfg;
  cfg.ip = "127.0.0.1";
  cfg.port = 8080;
  return parseConfigText(text, "l.conf", &cfg, err) && listenTable(cfg, out, err);
}

std::string joined(const ListenTable& t) {
  std::string s;
  for (const ListenAddress& a : t) s += (s.empty() ? "" : " ") + a.text();
  return s;
}

// A free loopback port: bound by the kernel's choice, then released.
uint16_t freePort() {
  std::string err;
  UniqueFd fd = listenTcp("127.0.0.1", 0, 1, &err);
  ListenAddress a;
  return fd && boundAddress(fd.get(), &a) ? a.port : 0;
}

// The socket behind fd, whatever its number: device and inode of the open file.
std::pair<dev_t, ino_t> identity(int fd) {
  struct stat st {};
  ::fstat(fd, &st);
  return {st.st_dev, st.st_ino};
}

int connectTo(uint16_t port) {
  UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(c.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -errno;
  return 0;
}

bool ipv6Loopback() {
  std::string err;
  return listenTcp("::1", 0, 1, &err).valid();
}

TEST(ListenersTest, TableIsTheDistinctAddressesInConfigurationOrder) {
  struct Case {
    const char* name;
    const char* text;
    const char* expect;
  };
  const Case cases[] = {
      {"flat: the configuration's own address", "root /tmp\n", "127.0.0.1:8080"},
      {"a server without listen uses it too", "server { server_name a; }", "127.0.0.1:8080"},
      {"file order, each address once",
       "server { listen 127.0.0.2:81; listen [::]:81; }\n"
       "server { listen 83; listen 127.0.0.2:81 default_server; listen [0::1]:82; }",
       "127.0.0.2:81 [::]:81 0.0.0.0:83 [::1]:82"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ListenTable t;
    std::string err;
    ASSERT_TRUE(tableOf(c.text, &t, &err)) << err;
    EXPECT_EQ(joined(t), c.expect);
  }
}

// Linux cannot listen on a wildcard and a specific address of one family and port at once.
TEST(ListenersTest, TableRefusesAWildcardBesideASpecificAddressOfTheSamePort) {
  struct Case {
    const char* name;
    const char* text;
    const char* error;  // nullptr: accepted
  };
  const Case cases[] = {
      {"IPv4", "server { listen 0.0.0.0:90; } server { listen 127.0.0.1:90; }",
       "listen 127.0.0.1:90 overlaps 0.0.0.0:90"},
      {"IPv6", "server { listen [::1]:90; listen [::]:90; }", "listen [::1]:90 overlaps [::]:90"},
      {"other port", "server { listen 0.0.0.0:90; listen 127.0.0.1:91; }", nullptr},
      {"other family", "server { listen 0.0.0.0:90; listen [::1]:90; listen [::]:91; }", nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ListenTable t;
    std::string err;
    bool ok = tableOf(c.text, &t, &err);
    if (c.error == nullptr) {
      EXPECT_TRUE(ok) << err;
    } else {
      EXPECT_FALSE(ok);
      EXPECT_NE(err.find(c.error), std::string::npos) << err;
    }
  }
}

TEST(ListenersTest, OpenBindsAddedAddressesAndKeepsTheSameSocketForUnchangedOnes) {
  const uint16_t pa = freePort(), pb = freePort(), pc = freePort();
  ASSERT_TRUE(pa != 0 && pb != 0 && pc != 0);
  const ListenTable first{{"127.0.0.1", pa}, {"127.0.0.1", pb}};
  std::vector<ListenSocket> running;
  std::string err;
  ASSERT_TRUE(openListeners(first, {}, &running, &err)) << err;
  ASSERT_EQ(running.size(), 2u);
  for (uint16_t i = 0; i < 2; ++i) {
    ListenAddress a;
    ASSERT_TRUE(boundAddress(running[i].fd.get(), &a));
    EXPECT_EQ(a, first[i]);
    EXPECT_EQ(running[i].index, i);
    EXPECT_EQ(running[i].serves, first[i]);
  }
  // A client waits in b's backlog across the change.
  ASSERT_EQ(connectTo(pb), 0);
  const ListenTable second{{"127.0.0.1", pc}, {"127.0.0.1", pb}};
  std::vector<ListenSocket> next;
  ASSERT_TRUE(openListeners(second, running, &next, &err)) << err;
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[1].index, 1);
  EXPECT_EQ(identity(next[1].fd.get()), identity(running[1].fd.get())) << "b kept, not reopened";
  EXPECT_NE(next[1].fd.get(), running[1].fd.get()) << "a duplicate the old owner may close";
  running.clear();  // the previous sockets are closed: a goes away, b lives on
  EXPECT_EQ(connectTo(pa), -ECONNREFUSED);
  EXPECT_EQ(connectTo(pc), 0);
  UniqueFd waited(::accept4(next[1].fd.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  EXPECT_TRUE(waited.valid()) << "the client that waited in b's backlog is still there";
}

TEST(ListenersTest, AFailedBindOpensNothingAndLeavesTheRunningSocketsAlone) {
  const uint16_t pa = freePort();
  std::string err;
  UniqueFd taken = listenTcp("127.0.0.1", 0, 1, &err);
  ListenAddress busy;
  ASSERT_TRUE(boundAddress(taken.get(), &busy));
  std::vector<ListenSocket> running;
  ASSERT_TRUE(openListeners({{"127.0.0.1", pa}}, {}, &running, &err)) << err;
  std::vector<ListenSocket> next;
  EXPECT_FALSE(openListeners({{"127.0.0.1", pa}, busy}, running, &next, &err));
  EXPECT_NE(err.find("cannot listen on " + busy.text()), std::string::npos) << err;
  EXPECT_TRUE(next.empty());
  ASSERT_EQ(running.size(), 1u);
  EXPECT_EQ(connectTo(pa), 0);
}

// [::]:p beside 0.0.0.0:p: the IPv6 socket is made IPv6-only, so both bind.
TEST(ListenersTest, IpV6WildcardBesideIpV4OnTheSamePortBindsBoth) {
  if (!ipv6Loopback()) GTEST_SKIP() << "no IPv6 loopback";
  const uint16_t p = freePort();
  std::vector<ListenSocket> out;
  std::string err;
  ASSERT_TRUE(openListeners({{"127.0.0.1", p}, {"::", p}}, {}, &out, &err)) << err;
  int only = 0;
  socklen_t len = sizeof only;
  ASSERT_EQ(::getsockopt(out[1].fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &only, &len), 0);
  EXPECT_EQ(only, 1);
  // Alone on its port, [::] keeps taking IPv4 clients too, as the command line always did.
  const uint16_t q = freePort();
  std::vector<ListenSocket> alone;
  ASSERT_TRUE(openListeners({{"::", q}}, {}, &alone, &err)) << err;
  EXPECT_EQ(connectTo(q), 0);
}

TEST(ListenersTest, InheritedSocketsServeTheAddressTheyAreBoundTo) {
  const uint16_t pa = freePort(), pb = freePort(), other = freePort();
  const ListenTable want{{"127.0.0.1", pa}, {"127.0.0.1", pb}};
  std::string err;
  auto bind = [&err](uint16_t port) { return listenTcp("127.0.0.1", port, 1, &err); };
  std::vector<UniqueFd> fds;
  fds.push_back(bind(pb));
  fds.push_back(bind(other));
  std::vector<std::string> unused;
  std::vector<ListenSocket> got = adoptListeners(std::move(fds), want, &unused);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].index, 1);
  EXPECT_EQ(got[0].serves, want[1]);
  EXPECT_EQ(unused, std::vector<std::string>{"127.0.0.1:" + std::to_string(other)});
  EXPECT_EQ(connectTo(other), -ECONNREFUSED) << "an unused inherited socket is closed";
  // Then only the missing address is bound.
  std::vector<ListenSocket> out;
  ASSERT_TRUE(openListeners(want, got, &out, &err)) << err;
  EXPECT_EQ(identity(out[1].fd.get()), identity(got[0].fd.get()));

  // One address (the command line, a flat file): every inherited socket serves it.
  std::vector<UniqueFd> activated;
  activated.push_back(bind(other));
  unused.clear();
  got = adoptListeners(std::move(activated), {{"127.0.0.1", pa}}, &unused);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].index, 0);
  EXPECT_TRUE(unused.empty());
}

}  // namespace
}  // namespace hs
