// Range: bytes=... (RFC 9110 14.1). Every syntax problem makes the whole header kIgnore, because a
// server may always answer a Range request with the full representation (14.2).
#include "HttpRange.h"

#include <algorithm>

#include "HttpLexical.h"

namespace hs {
namespace {

// One syntactically valid range-spec, before it is compared with the size.
struct RangeSpec {
  bool suffix = false;  // "-N": the last N bytes, N in `last`
  bool hasLast = false;
  uint64_t first = 0;
  uint64_t last = 0;
};

// int-range = first-pos "-" [ last-pos ];  suffix-range = "-" suffix-length
bool parseSpec(std::string_view s, RangeSpec* spec) {
  const size_t dash = s.find('-');
  if (dash == std::string_view::npos) return false;
  if (dash == 0) {
    spec->suffix = true;
    return parseDecimal(s.substr(1), &spec->last);
  }
  if (!parseDecimal(s.substr(0, dash), &spec->first)) return false;
  const std::string_view lastText = s.substr(dash + 1);
  if (lastText.empty()) return true;
  spec->hasLast = true;
  // first > last is invalid syntax (14.1.1), not merely unsatisfiable.
  return parseDecimal(lastText, &spec->last) && spec->first <= spec->last;
}

// Clips a spec to [0, size). False when it is unsatisfiable: it starts at or past the end, or it is
// the empty suffix "-0". With size 0 nothing is satisfiable here, not even "-N", which RFC 9110
// 14.1.1 counts as satisfiable: a zero-length range cannot be written as first-last, and a 416
// with "Content-Range: bytes */0" tells the client the truth about the length.
bool resolve(const RangeSpec& spec, uint64_t size, ByteRange* r) {
  if (size == 0) return false;
  if (spec.suffix) {
    if (spec.last == 0) return false;
    r->first = spec.last >= size ? 0 : size - spec.last;
    r->last = size - 1;
    return true;
  }
  if (spec.first >= size) return false;
  r->first = spec.first;
  r->last = spec.hasLast ? std::min(spec.last, size - 1) : size - 1;
  return true;
}

// Overlapping or adjacent. `last` is below the size, so last + 1 cannot overflow.
bool touches(const ByteRange& a, const ByteRange& b) {
  return a.first <= b.last + 1 && b.first <= a.last + 1;
}

// Quadratic, which is fine for the small maxRanges a server configures; it keeps the request order
// whenever nothing needs merging.
bool anyTouch(const ByteRange* r, int n) {
  for (int i = 0; i < n; ++i) {
    for (int j = i + 1; j < n; ++j) {
      if (touches(r[i], r[j])) return true;
    }
  }
  return false;
}

// Sorts by first byte and merges touching neighbours in place; returns the new count.
int coalesce(ByteRange* r, int n) {
  std::sort(r, r + n, [](const ByteRange& a, const ByteRange& b) { return a.first < b.first; });
  int out = 0;
  for (int i = 1; i < n; ++i) {
    if (touches(r[out], r[i])) {
      r[out].last = std::max(r[out].last, r[i].last);
    } else {
      r[++out] = r[i];
    }
  }
  return out + 1;
}

// Strips a case-insensitive "bytes=" (range-unit is a token, compared case-insensitively).
bool consumeBytesUnit(std::string_view* s) {
  constexpr std::string_view kUnit = "bytes=";
  if (!startsWithIgnoreCase(*s, kUnit)) return false;
  s->remove_prefix(kUnit.size());
  return true;
}

bool totalWithinSize(const ByteRange* r, int n, uint64_t size) {
  uint64_t total = 0;
  for (int i = 0; i < n; ++i) {
    if (r[i].length() > size - total) return false;
    total += r[i].length();
  }
  return true;
}

}  // namespace

RangeResult parseRange(std::string_view value, uint64_t size, ByteRange* out, int maxRanges,
                       int* count) {
  *count = 0;
  if (!consumeBytesUnit(&value)) return RangeResult::kIgnore;
  int specs = 0;  // every range-spec counts against maxRanges, satisfiable or not
  int n = 0;
  // range-set = 1#range-spec; empty list elements (", ,") are allowed by RFC 9110 5.6.1.2.
  const bool wellFormed = forEachListElement(value, [&](std::string_view element) {
    if (element.empty()) return true;
    RangeSpec spec;
    if (!parseSpec(element, &spec) || ++specs > maxRanges) return false;
    if (resolve(spec, size, &out[n])) ++n;
    return true;
  });
  if (!wellFormed) return RangeResult::kIgnore;
  if (specs == 0) return RangeResult::kIgnore;
  if (n == 0) return RangeResult::kUnsatisfiable;
  // Merged ranges come out in file order, which 14.2 permits for coalesced ranges.
  if (anyTouch(out, n)) n = coalesce(out, n);
  // Cannot fail once ranges are disjoint; kept as a guard should coalescing ever be relaxed.
  if (!totalWithinSize(out, n, size)) return RangeResult::kIgnore;
  *count = n;
  return RangeResult::kSatisfiable;
}

}  // namespace hs
