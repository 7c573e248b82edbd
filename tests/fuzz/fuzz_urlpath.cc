// libFuzzer target for normalizeTarget: whatever the bytes, an accepted result must be a safe
// relative path, and re-encoding it must normalize to itself.
// `make fuzz` builds it with clang++ -fsanitize=fuzzer,address,undefined and runs it on a copy of
// tests/fuzz/corpus/urlpath; `make test` replays the corpus.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "UrlPath.h"

namespace {

constexpr size_t kCap = 512;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Checks one accepted result and returns it re-encoded as an origin-form target in `enc`.
size_t checkSafe(std::string_view p, bool trailingSlash, char* enc, size_t encCap) {
  check(!p.empty() || trailingSlash);
  check(p.empty() || (p.front() != '/' && p.back() != '/'));
  check(p.find("//") == std::string_view::npos);
  check(p.find('\0') == std::string_view::npos);
  check(p.find('\\') == std::string_view::npos);
  size_t n = 0;
  for (size_t pos = 0; pos < p.size();) {
    size_t end = p.find('/', pos);
    if (end == std::string_view::npos) end = p.size();
    std::string_view seg = p.substr(pos, end - pos);
    check(!seg.empty() && seg != "..");
    check(seg[0] != '.' || seg == ".well-known");
    for (char c : seg) {
      unsigned char u = static_cast<unsigned char>(c);
      check(u >= 0x20 && u != 0x7F);
    }
    enc[n++] = '/';
    size_t m = hs::urlEncodeSegment(seg, enc + n, encCap - n);
    check(m <= encCap - n);
    n += m;
    pos = end + 1;
  }
  if (n == 0) enc[n++] = '/';
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view target(reinterpret_cast<const char*>(data), size);
  // The output buffer is exactly `cap` bytes on the heap, so ASan reports any write past it; the
  // first byte picks the size so that short buffers get exercised too.
  size_t cap = size > 0 ? (static_cast<size_t>(data[0]) * 2) % (kCap + 1) : kCap;
  std::unique_ptr<char[]> buf(new char[cap]);
  char* out = buf.get();
  hs::UrlPathResult r = hs::normalizeTarget(target, out, cap);
  if (r.status != 0) {
    check(r.status == 400 || r.status == 404);
    return 0;
  }
  check(r.len <= cap);
  std::string_view p(out, r.len);
  static char enc[kCap * 3 + kCap];
  size_t n = checkSafe(p, r.trailingSlash, enc, sizeof(enc));
  static char again[kCap];
  hs::UrlPathResult r2 = hs::normalizeTarget(std::string_view(enc, n), again, kCap);
  check(r2.status == 0 && std::string_view(again, r2.len) == p);
  return 0;
}
