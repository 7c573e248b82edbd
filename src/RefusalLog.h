// The error-log line for a request the server refuses on its own account: a file it may not or
// will not open, a request-target it will not serve, a request too large. Shaped like nginx's
//   open() "/srv/www/x" failed (13: Permission denied), client: 127.0.0.1:50312, request: "GET /x
//   HTTP/1.1"
// Pure: the worker decides when to log (see LogLimiter) and writes the line.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "Config.h"

namespace hs {

enum class Refusal : uint8_t {
  kOpenFailed,    // opening a file under the root failed with `err` (EACCES, EXDEV, ELOOP, ...)
  kNotRegular,    // a device, FIFO or socket under the root
  kUnsafePath,    // normalizeTarget refused the request-target for `reason`
  kBodyTooLarge,  // 413: `size` is the announced Content-Length, 0 for a chunked body
  kUriTooLong,    // 414
  kHeadTooLarge,  // 431
  kProxyHeader,   // the PROXY protocol header is missing, malformed or untrusted: `reason`
};

struct RefusalDetail {
  Refusal kind = Refusal::kOpenFailed;
  int err = 0;                   // kOpenFailed
  const char* reason = nullptr;  // kUnsafePath, kProxyHeader
  std::string_view root = {};    // kOpenFailed, kNotRegular: the document root
  std::string_view path = {};    // kOpenFailed, kNotRegular: the file, relative to the root
  uint64_t size = 0;             // kBodyTooLarge
  uint64_t limit = 0;            // kBodyTooLarge: --max-body
};

// The level the line is logged at: error for what the operator must fix (permissions, a file
// that cannot be opened); warn for what the server will not serve on principle (a symlink leading
// out of the root, a device); info for requests the client got wrong (as nginx logs them).
LogLevel refusalLevel(const RefusalDetail& d);

// Writes the line (without the log's time/level prefix) into out[0..cap) and returns its length.
// Untrusted bytes (path, request line) are escaped and cut to a few hundred bytes, so the client
// and the reason always fit in a 1 KiB log line. `requestLine` may be empty (not parsed yet).
size_t formatRefusal(const RefusalDetail& d, const sockaddr_storage& peer,
                     std::string_view requestLine, char* out, size_t cap);

}  // namespace hs
