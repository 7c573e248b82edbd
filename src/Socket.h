// Thin wrappers over the socket syscalls the server needs. They return -1 and keep errno, or a
// UniqueFd that is invalid on failure.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "UniqueFd.h"

namespace hs {

// Creates a non-blocking, close-on-exec TCP listening socket bound to ip:port (IPv4 or IPv6) with
// SO_REUSEADDR, TCP_NODELAY (inherited by accepted sockets on Linux) and TCP_DEFER_ACCEPT; an IPv6
// socket takes only IPv6 clients when `v6only` (else also IPv4, as ::ffff:a.b.c.d). On failure
// returns an invalid fd and puts a one-line, actionable reason in *err.
UniqueFd listenTcp(const std::string& ip, uint16_t port, int backlog, std::string* err,
                   bool v6only = false);

// Formats a socket address as "1.2.3.4" or "::1" into out (at least INET6_ADDRSTRLEN bytes).
void formatAddress(const sockaddr_storage& addr, char* out, size_t cap);

// Formats an address with its port as "1.2.3.4:80" or "[::1]:54461" (IPv6 bracketed, so the port
// cannot be read as part of the address) into out (at least kEndpointLen bytes).
constexpr size_t kEndpointLen = INET6_ADDRSTRLEN + 8;
void formatEndpoint(const sockaddr_storage& addr, char* out, size_t cap);

// The local address of socket fd as formatEndpoint writes it; "?" when getsockname() fails.
std::string socketName(int fd);

// True for 127.0.0.0/8, ::1 and ::ffff:127.x.
bool isLoopback(const sockaddr_storage& addr);

}  // namespace hs
