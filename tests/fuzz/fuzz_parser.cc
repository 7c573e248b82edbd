// libFuzzer target for HttpParser. Each input (possibly several pipelined requests) is parsed
// whole, one byte at a time and in two pieces; the results must be identical, spans must stay
// inside the bytes handed in and consumed() inside the input. Any difference traps.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "HttpParser.h"

namespace {

using hs::HttpParser;
using hs::HttpRequest;
using hs::ParserLimits;
using hs::ParseStatus;
using hs::Span;

constexpr int kMaxRequests = 8;
constexpr int kKnownCount = static_cast<int>(hs::KnownHeader::kCount);

struct Result {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t consumed = 0;
  int error = 0;
  HttpRequest req;
};

bool sameSpan(Span a, Span b) { return a.off == b.off && a.len == b.len; }

bool sameResult(const Result& a, const Result& b) {
  const HttpRequest& x = a.req;
  const HttpRequest& y = b.req;
  if (a.status != b.status || a.consumed != b.consumed || a.error != b.error) return false;
  if (x.method != y.method || !sameSpan(x.methodText, y.methodText) ||
      !sameSpan(x.target, y.target) || x.versionMajor != y.versionMajor ||
      x.versionMinor != y.versionMinor || x.headerCount != y.headerCount ||
      x.keepAlive != y.keepAlive || x.expectContinue != y.expectContinue ||
      x.chunked != y.chunked || x.contentLength != y.contentLength) {
    return false;
  }
  for (int i = 0; i < kKnownCount; ++i) {
    if (!sameSpan(x.known[i], y.known[i])) return false;
  }
  return true;
}

void checkSpan(Span s, size_t limit) {
  if (static_cast<uint64_t>(s.off) + s.len > limit) __builtin_trap();
}

// Checks what must hold whatever the split: spans inside the bytes seen, consumed inside the input.
void checkResult(const Result& r, size_t len) {
  const size_t limit = r.status == ParseStatus::kDone ? r.consumed : len;
  if (r.consumed > len) __builtin_trap();
  checkSpan(r.req.methodText, limit);
  checkSpan(r.req.target, limit);
  for (const Span& s : r.req.known) checkSpan(s, limit);
  if (r.status == ParseStatus::kDone) {
    if (r.consumed == 0 || r.req.versionMajor != 1 || r.req.versionMinor > 1) __builtin_trap();
    if (r.req.chunked && r.req.contentLength != -1) __builtin_trap();
  }
  if ((r.status == ParseStatus::kError) != (r.error != 0)) __builtin_trap();
}

enum class Mode { kWhole, kByteByByte, kTwoPieces };

// Parses one request starting at `data`. kTwoPieces makes two calls, the first with `split` bytes
// copied to an exact-size buffer so that AddressSanitizer catches a read past the first length.
Result parseOne(const char* data, size_t size, Mode mode, size_t split,
                const ParserLimits& limits) {
  HttpParser parser(limits);
  Result r;
  if (mode == Mode::kWhole) {
    r.status = parser.parse(data, size, &r.req);
  } else if (mode == Mode::kByteByByte) {
    for (size_t len = 0; len <= size; ++len) {
      r.status = parser.parse(data, len, &r.req);
      if (r.status != ParseStatus::kNeedMore) break;
    }
  } else {
    const size_t first = split < size ? split : size;
    std::vector<char> head(data, data + first);
    r.status = parser.parse(head.data(), first, &r.req);
    if (r.status == ParseStatus::kNeedMore) r.status = parser.parse(data, size, &r.req);
  }
  r.consumed = parser.consumed();
  r.error = parser.errorStatus();
  checkResult(r, size);
  return r;
}

// Parses pipelined requests one after another, as a connection would.
int parseAll(const char* data, size_t size, Mode mode, size_t split, const ParserLimits& limits,
             Result* out) {
  size_t offset = 0;
  int n = 0;
  while (n < kMaxRequests) {
    out[n] = parseOne(data + offset, size - offset, mode, split, limits);
    if (out[n++].status != ParseStatus::kDone) break;
    offset += out[n - 1].consumed;
  }
  return n;
}

void compareModes(const char* data, size_t size, const ParserLimits& limits) {
  static Result whole[kMaxRequests];
  static Result other[kMaxRequests];
  const int n = parseAll(data, size, Mode::kWhole, 0, limits, whole);
  const size_t split = size == 0 ? 0 : static_cast<unsigned char>(data[0]) % size;
  for (Mode mode : {Mode::kByteByByte, Mode::kTwoPieces}) {
    if (parseAll(data, size, mode, split, limits, other) != n) __builtin_trap();
    for (int i = 0; i < n; ++i) {
      if (!sameResult(whole[i], other[i])) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  const char* data = reinterpret_cast<const char*>(bytes);
  compareModes(data, size, ParserLimits{});
  // Small limits make 414 and 431 reachable with short inputs.
  ParserLimits tight;
  tight.maxRequestLine = 40;
  tight.maxHeaderBytes = 200;
  tight.maxHeaders = 4;
  compareModes(data, size, tight);
  return 0;
}
