// The request head the reverse proxy sends upstream for a client's request: HTTP/1.1 on a kept
// connection, the target (the client's as sent, or the location's prefix replaced by
// proxy_pass's URI, as nginx does), the client's fields without hop-by-hop ones (and those its
// Connection names), the target's header rules (Host, X-Forwarded-For, X-Real-IP,
// X-Forwarded-Proto, Forwarded, proxy_set_header) and the buffered body's Content-Length.
// Pure code: writes into a caller's buffer, allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "Handler.h"
#include "ProxyTarget.h"

namespace hs {

// Writes the head into out[0..cap) and returns its length, or 0 when it does not fit.
// `bodyLength` is the body that follows (-1: none). `scratch` (at least 4 KiB) renders values.
size_t writeProxyRequest(const RequestContext& ctx, const ProxyTarget& t, int64_t bodyLength,
                         char* out, size_t cap, char* scratch, size_t scratchCap);

// Whether a request field is never forwarded: hop-by-hop (RFC 9110 7.6.1), named in `connection`
// (the request's Connection value), or one the proxy writes itself (Content-Length, Expect).
bool dropRequestField(std::string_view name, std::string_view connection);

}  // namespace hs
