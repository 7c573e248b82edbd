// The PROXY protocol header (versions 1 and 2) that a load balancer such as HAProxy sends before
// the client's first byte, carrying the client's address. Pure and resumable, like HttpParser:
// no fds, clock, allocation or logging; feed it any split of the input and it gives the same
// result as when fed all at once. Version 2 TLVs are checked for shape and skipped.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>

namespace hs {

// An address the header carries. family 0: none (v1 UNKNOWN, v2 LOCAL, AF_UNSPEC, AF_UNIX): the
// connection's own peer stays.
struct ProxyAddress {
  uint8_t family = 0;  // 0, 4 or 6
  uint8_t addr[16] = {};
  uint16_t port = 0;  // host order
};

struct ProxyHeader {
  uint8_t version = 0;  // 1 or 2
  bool local = false;   // v2 LOCAL (a health check from the balancer itself)
  ProxyAddress source;  // the client
  ProxyAddress dest;    // the address the client connected to
};

enum class ProxyStatus : uint8_t { kDone, kNeedMore, kError };

class ProxyParser {
 public:
  static constexpr size_t kMaxV1 = 107;       // the whole v1 line, CRLF included (the spec's)
  static constexpr size_t kMaxV2Body = 4096;  // addresses + TLVs; more is refused

  // Starts over for a new connection.
  void reset() { *this = ProxyParser(); }

  // `data` points at the connection's first byte (the same byte on every call; the buffer may move)
  // and `len` is everything received so far, never less than on the previous call. Returns kDone
  // once the header is complete (consumed() is then its length and *out is filled), kNeedMore, or
  // kError with error() naming what was wrong. Bytes after the header are never looked at.
  ProxyStatus parse(const char* data, size_t len, ProxyHeader* out);

  size_t consumed() const { return consumed_; }
  const char* error() const { return error_; }

 private:
  enum class State : uint8_t { kStart, kV1, kV2 };

  ProxyStatus fail(const char* why);
  ProxyStatus parseV1(const char* data, size_t len, ProxyHeader* out);
  ProxyStatus parseV2(const uint8_t* data, size_t len, ProxyHeader* out);

  State state_ = State::kStart;
  uint32_t pos_ = 0;  // next byte to look at
  uint32_t consumed_ = 0;
  const char* error_ = nullptr;
};

// Writes a ProxyAddress with family 4 or 6 as a sockaddr_in (which fits in *out) or sockaddr_in6.
void toSockaddr(const ProxyAddress& a, sockaddr_in6* out);

}  // namespace hs
