// The parsed form of one HTTP/1.x request head. Filled by HttpParser; holds no pointers, only
// offsets relative to the request's first byte, so the input buffer may be moved between reads.
#pragma once

#include <cstdint>
#include <string_view>

namespace hs {

enum class Method : uint8_t {
  kGet,
  kHead,
  kOptions,
  kPost,
  kPut,
  kDelete,
  kPatch,
  kTrace,
  kConnect,
  kUnknown
};

// A byte range [off, off+len) inside the request head. len == 0 means "absent".
struct Span {
  uint32_t off = 0;
  uint32_t len = 0;
  bool empty() const { return len == 0; }
  std::string_view in(const char* base) const { return {base + off, len}; }
};

// Headers the server acts on. Any other header is validated and counted, then skipped.
enum class KnownHeader : uint8_t {
  kHost,
  kConnection,
  kContentLength,
  kTransferEncoding,
  kExpect,
  kIfNoneMatch,
  kIfModifiedSince,
  kIfMatch,
  kIfUnmodifiedSince,
  kRange,
  kIfRange,
  kAcceptEncoding,
  kUserAgent,
  kReferer,
  kAuthorization,  // for the access log's $remote_user
  kCount
};

struct HttpRequest {
  Method method = Method::kUnknown;
  Span methodText;  // the method token as sent
  Span target;      // request-target as sent (origin-form, absolute-form, '*' or authority-form)
  uint8_t versionMajor = 1;
  uint8_t versionMinor = 1;
  uint16_t headerCount = 0;
  // Value spans (optional whitespace trimmed) of the first occurrence of each known header.
  Span known[static_cast<int>(KnownHeader::kCount)];
  // Derived from the headers by the parser:
  bool keepAlive = true;        // HTTP/1.1 default, "Connection: close"/"keep-alive" applied
  bool expectContinue = false;  // "Expect: 100-continue" in an HTTP/1.1 request
  bool chunked = false;         // Transfer-Encoding ends in chunked
  int64_t contentLength = -1;   // -1: no Content-Length header

  Span header(KnownHeader h) const { return known[static_cast<int>(h)]; }
};

}  // namespace hs
