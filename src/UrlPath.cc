#include "UrlPath.h"

#include "HttpLexical.h"

namespace hs {

namespace {

// Deeper paths are refused rather than tracked in a growing structure.
constexpr size_t kMaxSegments = 256;

struct Segment {
  int status = 0;  // 0 ok, otherwise 400
  const char* reason = nullptr;
  size_t len = 0;     // decoded length, counted even past the room available
  char head[2] = {};  // first two decoded bytes, enough to tell "." and ".." apart
};

// Bytes that must never reach a file name, whether sent raw or %-encoded. Bytes >= 0x80 are
// allowed so that UTF-8 names work.
bool isForbiddenByte(unsigned char c, bool allowBackslash) {
  return c < 0x20 || c == 0x7F || (c == '\\' && !allowBackslash);
}

// Reduces an origin- or absolute-form target to its path (before '?' or '#'). The result is empty
// (meaning "/") or starts with '/'. Returns false for any other form ('*', authority-form, ...).
// RFC 3986 authority without userinfo (RFC 9110 4.2.4 forbids it in http URIs): a non-empty
// reg-name or IPv4 address, or an IPv6 literal in brackets, then optionally ':' and digits.
bool validAuthority(std::string_view a) {
  size_t hostEnd;
  if (!a.empty() && a[0] == '[') {
    hostEnd = a.find(']');
    if (hostEnd == std::string_view::npos || hostEnd < 3) return false;
    for (char ch : a.substr(1, hostEnd - 1)) {
      if (!(hexValue(static_cast<unsigned char>(ch)) >= 0 || ch == ':' || ch == '.')) return false;
    }
    ++hostEnd;
  } else {
    hostEnd = a.find(':');
    if (hostEnd == std::string_view::npos) hostEnd = a.size();
    if (hostEnd == 0) return false;
    for (char ch : a.substr(0, hostEnd)) {
      bool unreserved = isAlnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' ||
                        ch == '_' || ch == '~';
      bool subDelim = std::string_view("!$&'()*+,;=%").find(ch) != std::string_view::npos;
      if (!unreserved && !subDelim) return false;
    }
  }
  if (hostEnd == a.size()) return true;
  if (a[hostEnd] != ':') return false;
  const std::string_view port = a.substr(hostEnd + 1);
  return port.empty() || (isDigits(port) && port.size() <= 5);
}

bool extractPath(std::string_view target, std::string_view* path,
                 std::string_view* query = nullptr) {
  if (target.empty()) return false;
  if (target[0] != '/') {
    size_t schemeLen = httpSchemeLength(target);
    if (schemeLen == 0) return false;
    target.remove_prefix(schemeLen);
    size_t authorityEnd = target.find_first_of("/?#");
    if (authorityEnd == std::string_view::npos) authorityEnd = target.size();
    if (!validAuthority(target.substr(0, authorityEnd))) return false;  // also: a host is required
    target.remove_prefix(authorityEnd);
  }
  size_t end = target.find_first_of("?#");
  *path = target.substr(0, end);
  if (query != nullptr && end != std::string_view::npos && target[end] == '?') {
    *query = target.substr(end + 1, target.find('#', end) - end - 1);
  }
  return true;
}

// Percent-decodes one raw segment (no '/' inside) into out[at..cap). Bytes that do not fit are
// still validated and counted, so the caller can tell an overflow from a dot segment.
Segment decodeSegment(std::string_view raw, char* out, size_t at, size_t cap, bool allowBackslash) {
  Segment seg;
  for (size_t i = 0; i < raw.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c == '%') {
      int hi = i + 2 < raw.size() ? hexValue(static_cast<unsigned char>(raw[i + 1])) : -1;
      int lo = hi >= 0 ? hexValue(static_cast<unsigned char>(raw[i + 2])) : -1;
      // An encoded '/' would smuggle a separator past the dot-segment logic; %00 and %5C are
      // refused with the raw bytes below.
      if (lo < 0 || (hi == 2 && lo == 0xF)) {
        seg.status = 400;
        seg.reason = lo < 0 ? "malformed %-escape" : "encoded '/' (%2F)";
        return seg;
      }
      c = static_cast<unsigned char>(hi * 16 + lo);
      i += 2;
    }
    if (isForbiddenByte(c, allowBackslash)) {
      seg.status = 400;
      seg.reason = "NUL, control byte or backslash in the path";
      return seg;
    }
    if (seg.len < 2) seg.head[seg.len] = static_cast<char>(c);
    if (at + seg.len < cap) out[at + seg.len] = static_cast<char>(c);
    ++seg.len;
  }
  return seg;
}

// A segment left in the result may not name a hidden file, except the RFC 8615 directory.
int checkHidden(const char* out, const size_t* starts, size_t depth, size_t len) {
  for (size_t d = 0; d < depth; ++d) {
    size_t end = d + 1 < depth ? starts[d + 1] - 1 : len;
    std::string_view seg(out + starts[d], end - starts[d]);
    if (seg[0] == '.' && seg != ".well-known") return 404;
  }
  return 0;
}

// The entity for a character that is unsafe in HTML text or a quoted attribute, or "".
std::string_view htmlEntity(char c) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return "&quot;";
    case '\'':
      return "&#39;";
    default:
      return {};
  }
}

// Decodes and resolves `path` ("" or starting with '/') into out[0..cap) as segments joined by '/',
// with no leading '/'. starts[] receives where each kept segment begins; r.len the length.
UrlPathResult resolvePath(std::string_view path, char* out, size_t cap, bool allowBackslash,
                          size_t* starts, size_t* depthOut) {
  UrlPathResult r;
  size_t depth = 0;
  size_t len = 0;
  r.trailingSlash = true;  // an empty path is the root
  size_t pos = 0;
  while (pos < path.size()) {
    size_t begin = pos + 1;  // path[pos] is '/'
    size_t end = path.find('/', begin);
    if (end == std::string_view::npos) end = path.size();
    pos = end;

    size_t at = depth > 0 ? len + 1 : 0;
    Segment seg = decodeSegment(path.substr(begin, end - begin), out, at, cap, allowBackslash);
    if (seg.status != 0) return {seg.status, 0, false, seg.reason};
    bool isDot = seg.len == 1 && seg.head[0] == '.';
    bool isDotDot = seg.len == 2 && seg.head[0] == '.' && seg.head[1] == '.';
    // Empty, "." and ".." segments leave the path naming a directory when they come last. Skipping
    // an empty segment merges slashes before ".." is resolved, as nginx does: /a//../b is /b.
    r.trailingSlash = seg.len == 0 || isDot || isDotDot;
    if (r.trailingSlash) {
      if (isDotDot && depth > 0) {
        --depth;
        len = depth > 0 ? starts[depth] - 1 : 0;
      }
      continue;
    }
    if (at + seg.len > cap || depth == kMaxSegments) {
      return {400, 0, false, "path too long or too deep"};
    }
    if (depth > 0) out[len] = '/';
    starts[depth++] = at;
    len = at + seg.len;
  }
  r.len = len;
  *depthOut = depth;
  return r;
}

}  // namespace

UrlPathResult normalizeTarget(std::string_view target, char* out, size_t cap, TargetParts* parts) {
  std::string_view path;
  std::string_view query;
  if (!extractPath(target, &path, &query))
    return {400, 0, false, "not an origin- or absolute-form target"};
  if (parts != nullptr) *parts = {path.empty() ? std::string_view("/") : path, query};
  // out holds the segments kept so far, joined by '/'; starts[] records where each one begins so
  // that ".." can drop the last one without rescanning.
  size_t starts[kMaxSegments];
  size_t depth = 0;
  UrlPathResult r = resolvePath(path, out, cap, false, starts, &depth);
  if (r.status != 0) return r;
  r.status = checkHidden(out, starts, depth, r.len);
  if (r.status != 0) {
    r.len = 0;
    r.reason = "hidden path segment";
  }
  return r;
}

size_t normalizeUri(std::string_view target, char* out, size_t cap) {
  std::string_view path;
  if (cap < 3 || !extractPath(target, &path)) return 0;
  size_t starts[kMaxSegments];
  size_t depth = 0;
  const UrlPathResult r = resolvePath(path, out + 1, cap - 3, true, starts, &depth);
  if (r.status != 0) return 0;
  out[0] = '/';
  size_t len = r.len + 1;
  if (r.trailingSlash && r.len > 0) out[len++] = '/';
  out[len] = '\0';
  return len;
}

size_t htmlEscape(std::string_view in, char* out, size_t cap) {
  size_t n = 0;
  for (char c : in) {
    std::string_view entity = htmlEntity(c);
    std::string_view rep = entity.empty() ? std::string_view(&c, 1) : entity;
    if (rep.size() > cap - n) return cap + 1;
    for (char x : rep) out[n++] = x;
  }
  return n;
}

size_t urlEncodeSegment(std::string_view in, char* out, size_t cap) {
  static constexpr std::string_view kKept = "-._~!$&'()*+,;=:@";
  size_t n = 0;
  for (char c : in) {
    if (isAlnum(static_cast<unsigned char>(c)) || kKept.find(c) != std::string_view::npos) {
      if (n == cap) return cap + 1;
      out[n++] = c;
      continue;
    }
    if (cap - n < 3) return cap + 1;
    unsigned char b = static_cast<unsigned char>(c);
    out[n++] = '%';
    out[n++] = kHexDigitsUpper[b >> 4];
    out[n++] = kHexDigitsUpper[b & 0xF];
  }
  return n;
}

}  // namespace hs
