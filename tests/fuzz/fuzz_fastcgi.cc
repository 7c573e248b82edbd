// libFuzzer target for FastCgiDecoder and CgiResponseHead. The first byte picks a piece size; the
// rest is an application's reply, decoded whole, one byte per call and in pieces of that size, with
// its STDOUT fed on to the head parser. Streams, end status, errors and the head must agree; every
// piece is copied to an exact-size buffer so AddressSanitizer catches reads past it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "CgiResponseHead.h"
#include "FastCgiCodec.h"

namespace {

using hs::CgiResponseHead;
using hs::FastCgiDecoder;
using Event = FastCgiDecoder::Event;

struct Result {
  Event event = Event::kNeedMore;
  FastCgiDecoder::Error error = FastCgiDecoder::Error::kNone;
  std::string out;
  std::string err;
  size_t used = 0;
  uint32_t appStatus = 0;
  CgiResponseHead::Status head = CgiResponseHead::Status::kNeedMore;
  CgiResponseHead::Error headError = CgiResponseHead::Error::kNone;
  size_t headBytes = 0;
  int code = 0;
  bool operator==(const Result&) const = default;
};

void feedHead(CgiResponseHead& head, Result& r, std::string_view payload) {
  size_t used = 0;
  r.head = head.feed(payload.data(), payload.size(), &used);
  if (used > payload.size()) __builtin_trap();
  r.headBytes += used;
}

void consume(FastCgiDecoder& decoder, CgiResponseHead& head, Result& r, const char* at, size_t n) {
  size_t off = 0;
  do {
    size_t used = 0;
    std::string_view payload;
    r.event = decoder.feed(at + off, n - off, &used, &payload);
    if (used > n - off) __builtin_trap();
    if (r.event == Event::kNeedMore && used != n - off) __builtin_trap();
    if (!payload.empty() && (payload.data() < at + off || payload.end() > at + off + used)) {
      __builtin_trap();
    }
    if (r.event == Event::kStdout) {
      r.out += payload;
      feedHead(head, r, payload);
    }
    if (r.event == Event::kStderr) r.err += payload;
    off += used;
    r.used += used;
  } while (off < n && r.event != Event::kEnd && r.event != Event::kError);
}

Result decodeInPieces(const char* data, size_t size, size_t piece) {
  FastCgiDecoder decoder(1, 4096);
  static CgiResponseHead head;
  head.reset();
  Result r;
  for (size_t offset = 0; offset < size; offset += piece) {
    const size_t n = size - offset < piece ? size - offset : piece;
    std::vector<char> copy(data + offset, data + offset + n);
    consume(decoder, head, r, copy.data(), n);
    if (r.event == Event::kEnd || r.event == Event::kError) break;
  }
  if (r.event != Event::kEnd && r.event != Event::kError) r.event = decoder.finish();
  if (r.head == CgiResponseHead::Status::kNeedMore) r.head = head.finish();
  r.error = decoder.error();
  r.appStatus = decoder.appStatus();
  r.headError = head.error();
  r.code = r.head == CgiResponseHead::Status::kDone ? head.status() : 0;
  if ((r.event == Event::kError) != (r.error != FastCgiDecoder::Error::kNone)) __builtin_trap();
  if (r.used > size || r.headBytes > r.out.size()) __builtin_trap();
  if (r.code != 0 && (r.code < 100 || r.code > 599)) __builtin_trap();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 1) return 0;
  const size_t piece = 1 + bytes[0] % 64;
  const char* data = reinterpret_cast<const char*>(bytes) + 1;
  size -= 1;
  const Result whole = decodeInPieces(data, size, size == 0 ? 1 : size);
  if (!(whole == decodeInPieces(data, size, 1))) __builtin_trap();
  if (!(whole == decodeInPieces(data, size, piece))) __builtin_trap();
  return 0;
}
