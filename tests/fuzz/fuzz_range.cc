// libFuzzer target for parseRange: the first 8 bytes pick the representation size and the limit,
// the rest is the header value. Checks the output contract, not just the absence of crashes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "HttpRange.h"

namespace {

constexpr int kMaxRanges = 16;

void require(bool ok) {
  if (!ok) std::abort();
}

uint64_t pickSize(const uint8_t* data) {
  uint64_t raw = 0;
  std::memcpy(&raw, data, sizeof raw);
  // Mostly small sizes, so that ranges in short inputs hit the interesting edges.
  switch (raw & 3) {
    case 0:
      return (raw >> 2) % 4;
    case 1:
      return (raw >> 2) % 20000;
    case 2:
      return UINT64_MAX - ((raw >> 2) % 4);
    default:
      return raw >> 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < sizeof(uint64_t)) return 0;
  const uint64_t repSize = pickSize(data);
  const int maxRanges = 1 + static_cast<int>(data[1] % kMaxRanges);
  const std::string_view value(reinterpret_cast<const char*>(data + 8), size - 8);

  hs::ByteRange out[kMaxRanges + 1];
  out[maxRanges].first = 0xdead;  // sentinel just past the allowed entries
  int count = -1;
  const hs::RangeResult r = hs::parseRange(value, repSize, out, maxRanges, &count);
  require(out[maxRanges].first == 0xdead);
  if (r != hs::RangeResult::kSatisfiable) {
    require(count == 0);
    return 0;
  }
  require(count >= 1 && count <= maxRanges);
  uint64_t total = 0;
  for (int i = 0; i < count; ++i) {
    require(out[i].first <= out[i].last && out[i].last < repSize);
    total += out[i].length();
    for (int j = 0; j < i; ++j) {
      // Disjoint and not even adjacent: anything touching must have been merged.
      require(out[i].last + 1 < out[j].first || out[j].last + 1 < out[i].first);
    }
  }
  require(total <= repSize);
  // Parsing the same header again gives the same answer (no hidden state).
  hs::ByteRange again[kMaxRanges];
  int count2 = -1;
  require(hs::parseRange(value, repSize, again, maxRanges, &count2) == r && count2 == count);
  for (int i = 0; i < count; ++i) {
    require(again[i].first == out[i].first && again[i].last == out[i].last);
  }
  return 0;
}
