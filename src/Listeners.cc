#include "Listeners.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "RouteConfig.h"
#include "Socket.h"

namespace hs {
namespace {

constexpr int kBacklog = 4096;

// A wildcard and a specific address of one family and port cannot both be bound on Linux.
std::string overlap(const ListenTable& table) {
  for (const ListenAddress& a : table) {
    for (const ListenAddress& b : table) {
      if (a.wildcard() && !b.wildcard() && a.port == b.port && a.v6() == b.v6()) {
        return "listen " + b.text() + " overlaps " + a.text() +
               ", which already takes its connections; listen on one of them";
      }
    }
  }
  return "";
}

bool ipv4OnPort(const ListenTable& table, uint16_t port) {
  for (const ListenAddress& a : table) {
    if (!a.v6() && a.port == port) return true;
  }
  return false;
}

}  // namespace

std::string ListenAddress::text() const {
  return (v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

bool listenTable(const Config& cfg, ListenTable* out, std::string* err) {
  RouteConfig routes;
  if (!compileRoutes(cfg, &routes, err)) return false;
  out->clear();
  for (const ListenAddr& la : routes.listens) out->push_back(ListenAddress{la.ip, la.port});
  *err = overlap(*out);
  return err->empty();
}

int findListen(const ListenTable& table, const ListenAddress& a) {
  for (size_t i = 0; i < table.size(); ++i) {
    if (table[i] == a) return static_cast<int>(i);
  }
  return -1;
}

bool openListeners(const ListenTable& want, const std::vector<ListenSocket>& have,
                   std::vector<ListenSocket>* out, std::string* err) {
  out->clear();
  for (size_t i = 0; i < want.size(); ++i) {
    const auto index = static_cast<uint16_t>(i);
    bool kept = false;
    for (const ListenSocket& s : have) {
      if (!(s.serves == want[i])) continue;
      UniqueFd copy(::fcntl(s.fd.get(), F_DUPFD_CLOEXEC, 3));
      if (!copy) {
        *err = "keeping the socket of " + want[i].text() + " failed: " + std::strerror(errno);
        out->clear();
        return false;
      }
      out->push_back(ListenSocket{std::move(copy), index, want[i]});
      kept = true;
    }
    if (kept) continue;
    const bool v6only = want[i].v6() && ipv4OnPort(want, want[i].port);
    UniqueFd fd = listenTcp(want[i].ip, want[i].port, kBacklog, err, v6only);
    if (!fd) {
      out->clear();
      return false;
    }
    out->push_back(ListenSocket{std::move(fd), index, want[i]});
  }
  return true;
}

bool boundAddress(int fd, ListenAddress* out) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) return false;
  char ip[INET6_ADDRSTRLEN];
  formatAddress(ss, ip, sizeof ip);
  out->ip = ip;
  out->port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return true;
}

std::vector<ListenSocket> adoptListeners(std::vector<UniqueFd> fds, const ListenTable& want,
                                         std::vector<std::string>* unused) {
  std::vector<ListenSocket> out;
  for (UniqueFd& fd : fds) {
    ListenAddress bound;
    const bool known = boundAddress(fd.get(), &bound);
    int i = known ? findListen(want, bound) : -1;
    if (i < 0 && want.size() == 1) i = 0;
    if (i < 0) {
      unused->push_back(known ? bound.text() : "fd " + std::to_string(fd.get()));
      continue;  // closed here
    }
    const auto index = static_cast<uint16_t>(i);
    out.push_back(ListenSocket{std::move(fd), index, want[index]});
  }
  return out;
}

}  // namespace hs
