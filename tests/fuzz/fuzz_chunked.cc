// libFuzzer target for ChunkedDecoder. The first byte picks the body limit; the rest is fed whole,
// one byte per call and in pieces of a size picked by the second byte. Status, bytes used, body
// size and error must agree; every piece is copied to an exact-size buffer so AddressSanitizer
// catches reads past it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "ChunkedDecoder.h"

namespace {

using hs::ChunkedDecoder;

struct Result {
  ChunkedDecoder::Status status = ChunkedDecoder::Status::kNeedMore;
  size_t used = 0;
  uint64_t body = 0;
  int error = 0;
};

Result feedInPieces(const char* data, size_t size, size_t piece, uint64_t maxBody) {
  ChunkedDecoder decoder(maxBody);
  Result r;
  size_t offset = 0;
  do {
    const size_t n = size - offset < piece ? size - offset : piece;
    std::vector<char> copy(data + offset, data + offset + n);
    size_t used = 0;
    r.status = decoder.feed(copy.data(), n, &used);
    if (used > n) __builtin_trap();
    if (r.status == ChunkedDecoder::Status::kNeedMore && used != n) __builtin_trap();
    r.used += used;
    offset += n;
  } while (r.status == ChunkedDecoder::Status::kNeedMore && offset < size);
  r.body = decoder.bodyBytes();
  r.error = decoder.errorStatus();
  if (r.body > maxBody || r.used > size) __builtin_trap();
  if ((r.status == ChunkedDecoder::Status::kError) != (r.error != 0)) __builtin_trap();
  return r;
}

bool same(const Result& a, const Result& b) {
  return a.status == b.status && a.used == b.used && a.body == b.body && a.error == b.error;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size < 2) return 0;
  const uint64_t maxBody =
      bytes[0] == 0xFF ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(bytes[0]) * 8;
  const size_t piece = 1 + bytes[1] % 32;
  const char* data = reinterpret_cast<const char*>(bytes) + 2;
  size -= 2;
  const Result whole = feedInPieces(data, size, size == 0 ? 1 : size, maxBody);
  if (!same(whole, feedInPieces(data, size, 1, maxBody))) __builtin_trap();
  if (!same(whole, feedInPieces(data, size, piece, maxBody))) __builtin_trap();
  return 0;
}
