// The client address a trusted HTTP load balancer reports in a header such as X-Forwarded-For
// (nginx's real_ip_header with real_ip_recursive on). Pure: no syscalls, no allocation.
#pragma once

#include <netinet/in.h>

#include <string_view>

#include "AccessRules.h"

namespace hs {

// `head` is the request head as received (request line and header fields). Every field named
// `name` (case-insensitive) is read as one comma-separated list, in order. Walking from the right,
// the first address that `trusted` does not match is the client; when all are trusted, the
// leftmost is. On success *client is that address (port 0) and true is returned. False, with
// *client untouched, when there is no such field or an entry is not an IP address (an IPv6 one
// may be bracketed). The caller has already checked that the connection's peer is trusted.
bool forwardedClient(std::string_view head, std::string_view name, const AccessRules& trusted,
                     sockaddr_in6* client);

}  // namespace hs
