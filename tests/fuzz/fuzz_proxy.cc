// libFuzzer target for ProxyParser. The first byte picks a piece size; the rest is fed whole, one
// byte more per call, and in growing pieces of that size, each time copied to an exact-size buffer
// so AddressSanitizer catches reads past what was handed in. Status, length, error and addresses
// must agree, and a complete header never claims more bytes than it was given.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ProxyProtocol.h"

namespace {

using hs::ProxyHeader;
using hs::ProxyParser;
using hs::ProxyStatus;

struct Result {
  ProxyStatus status = ProxyStatus::kNeedMore;
  size_t consumed = 0;
  const char* error = nullptr;
  ProxyHeader header;
};

Result feedInPieces(const char* data, size_t size, size_t piece) {
  ProxyParser parser;
  Result r;
  size_t end = 0;
  do {
    end = size - end < piece ? size : end + piece;
    std::vector<char> copy(data, data + end);
    r.status = parser.parse(copy.data(), end, &r.header);
  } while (r.status == ProxyStatus::kNeedMore && end < size);
  r.consumed = parser.consumed();
  r.error = parser.error();
  if (r.status == ProxyStatus::kDone && (r.consumed == 0 || r.consumed > size)) __builtin_trap();
  if ((r.status == ProxyStatus::kError) != (r.error != nullptr)) __builtin_trap();
  return r;
}

bool sameAddress(const hs::ProxyAddress& a, const hs::ProxyAddress& b) {
  return a.family == b.family && a.port == b.port && std::memcmp(a.addr, b.addr, 16) == 0;
}

bool same(const Result& a, const Result& b) {
  if (a.status != b.status || a.consumed != b.consumed || a.error != b.error) return false;
  if (a.status != ProxyStatus::kDone) return true;
  return a.header.version == b.header.version && a.header.local == b.header.local &&
         sameAddress(a.header.source, b.header.source) && sameAddress(a.header.dest, b.header.dest);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 1) return 0;
  const size_t piece = 1 + bytes[0] % 32;
  const char* data = reinterpret_cast<const char*>(bytes) + 1;
  size -= 1;
  const Result whole = feedInPieces(data, size, size == 0 ? 1 : size);
  if (!same(whole, feedInPieces(data, size, 1))) __builtin_trap();
  if (!same(whole, feedInPieces(data, size, piece))) __builtin_trap();
  return 0;
}
