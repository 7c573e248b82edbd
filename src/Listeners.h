// The master's listening sockets by configured address. A configuration's listen table is its
// distinct listen addresses in RouteConfig::listens order, so index i means the same address to
// the master and to a worker running that configuration. Starting and reloading both go through
// openListeners: an address already listened on keeps its socket (a duplicate of the same open
// socket, so its backlog is never closed), an added one is bound, a removed one is closed by its
// owner. Sockets inherited from a binary upgrade or systemd are matched to addresses by the
// address they are bound to.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "Config.h"
#include "UniqueFd.h"

namespace hs {

struct ListenAddress {
  std::string ip;  // canonical text, without brackets
  uint16_t port = 0;

  bool v6() const { return ip.find(':') != std::string::npos; }
  bool wildcard() const { return ip == "0.0.0.0" || ip == "::"; }
  // "1.2.3.4:80" or "[::1]:80"
  std::string text() const;
  bool operator==(const ListenAddress&) const = default;
};

using ListenTable = std::vector<ListenAddress>;

struct ListenSocket {
  UniqueFd fd;
  uint16_t index = 0;    // into the configuration's ListenTable
  ListenAddress serves;  // that entry (a socket from systemd may be bound elsewhere)
};

// cfg's listen table: the addresses of its server blocks, or its own address (the command line or
// flat file) when it has none. False with *err when the routes do not compile or two addresses
// cannot both be listened on (a wildcard and a specific address of the same family and port).
bool listenTable(const Config& cfg, ListenTable* out, std::string* err);

// Position of `a` in `table`, or -1.
int findListen(const ListenTable& table, const ListenAddress& a);

// Sockets for every address of `want`: for an address some socket in `have` serves, a duplicate
// of each such socket (close-on-exec); for the others a new socket bound with listenTcp (IPv6
// ones IPV6_V6ONLY when the table has IPv4 on the same port, so both can be bound). On failure
// returns false with *err and *out empty; `have` is never changed.
bool openListeners(const ListenTable& want, const std::vector<ListenSocket>& have,
                   std::vector<ListenSocket>* out, std::string* err);

// Inherited listening sockets assigned to the addresses of `want` by the address each is bound
// to. With a one-address table (the command line, a flat file) every inherited socket serves it,
// as socket activation always did; otherwise a socket no address matches is closed and named in
// *unused.
std::vector<ListenSocket> adoptListeners(std::vector<UniqueFd> fds, const ListenTable& want,
                                         std::vector<std::string>* unused);

// The address socket fd is bound to; false when getsockname() fails or it is not TCP/IP.
bool boundAddress(int fd, ListenAddress* out);

}  // namespace hs
