#include "Socket.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

namespace hs {

UniqueFd listenTcp(const std::string& ip, uint16_t port, int backlog, std::string* err,
                   bool v6only) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    *err = "invalid address '" + ip + "': expected an IPv4 or IPv6 address";
    return UniqueFd();
  }
  std::string where = (ss.ss_family == AF_INET6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    *err = "socket() failed: " + std::string(::strerror(errno));
    return fd;
  }
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (ss.ss_family == AF_INET6 && v6only) {
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int e = errno;
    *err = "cannot listen on " + where + ": " + ::strerror(e);
    if (e == EADDRINUSE) *err += " (another process is using that port; pick another port)";
    if (e == EACCES && port < 1024)
      *err += " (port " + std::to_string(port) + " needs root or CAP_NET_BIND_SERVICE)";
    if (e == EADDRNOTAVAIL) *err += " (that address is not configured on this machine)";
    return UniqueFd();
  }
  // Wake the master only once a client has sent data: the worker then finds the request ready,
  // and connections that never send anything cost no process any work.
  int deferSeconds = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &deferSeconds, sizeof deferSeconds);
  if (::listen(fd.get(), backlog) != 0) {
    *err = "listen() on " + where + " failed: " + ::strerror(errno);
    return UniqueFd();
  }
  return fd;
}

void formatAddress(const sockaddr_storage& addr, char* out, size_t cap) {
  const void* src =
      addr.ss_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr);
  if (::inet_ntop(addr.ss_family, src, out, static_cast<socklen_t>(cap)) == nullptr) {
    ::snprintf(out, cap, "-");
  }
}

void formatEndpoint(const sockaddr_storage& addr, char* out, size_t cap) {
  char ip[INET6_ADDRSTRLEN];
  formatAddress(addr, ip, sizeof ip);
  uint16_t port = 0;
  if (addr.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
    ::snprintf(out, cap, "[%s]:%u", ip, port);
  } else {
    if (addr.ss_family == AF_INET) {
      port = ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
    }
    ::snprintf(out, cap, "%s:%u", ip, port);
  }
}

std::string socketName(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  char out[kEndpointLen];
  formatEndpoint(addr, out, sizeof out);
  return out;
}

bool isLoopback(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    uint32_t a = ntohl(reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr.s_addr);
    return (a >> 24) == 127;
  }
  if (addr.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace hs
