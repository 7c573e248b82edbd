// Range header parsing (RFC 9110 14.1-14.2) for a representation of known size. Pure.
#pragma once

#include <cstdint>
#include <string_view>

namespace hs {

struct ByteRange {
  uint64_t first = 0;  // inclusive
  uint64_t last = 0;   // inclusive
  uint64_t length() const { return last - first + 1; }
};

enum class RangeResult : uint8_t {
  kIgnore,         // no usable Range: not "bytes=", a syntax error, or too many ranges -> send 200
  kSatisfiable,    // *count >= 1 ranges in out[], clipped to the size, in request order
  kUnsatisfiable,  // valid syntax, but no range overlaps the representation -> 416
};

// Parses `value` ("bytes=0-99, 200-, -50") against a representation of `size` bytes. Writes at
// most `maxRanges` ranges; a header asking for more is ignored (kIgnore), which RFC 9110 allows
// and which defeats range-amplification attacks. Ranges that overlap or touch are coalesced, and a
// set whose total exceeds the size is treated as kIgnore as well.
RangeResult parseRange(std::string_view value, uint64_t size, ByteRange* out, int maxRanges,
                       int* count);

}  // namespace hs
