#include "ConfValue.h"

#include <arpa/inet.h>

#include <climits>

#include "HttpLexical.h"

namespace hs {

bool fail(Problem* p, std::string expect, std::string range) {
  p->expect = std::move(expect);
  p->range = std::move(range);
  return false;
}

// Digits only, no sign. Saturates at UINT64_MAX instead of wrapping, so a huge value is reported
// as too large rather than silently becoming a small one.
bool parseDigits(std::string_view s, uint64_t* out) {
  if (!isDigits(s)) return false;
  if (!parseDecimal(s, out)) *out = UINT64_MAX;
  return true;
}

bool parseNumber(std::string_view s, uint64_t lo, uint64_t hi, uint64_t* out, Problem* p) {
  std::string expect = "a number from " + std::to_string(lo) + " to " + std::to_string(hi);
  uint64_t v = 0;
  if (!parseDigits(s, &v)) return fail(p, std::move(expect));
  if (v < lo) return fail(p, std::move(expect), "must be at least " + std::to_string(lo));
  if (v > hi) return fail(p, std::move(expect), "must be at most " + std::to_string(hi));
  *out = v;
  return true;
}

// "10" and "10s" are seconds, "500ms" milliseconds; the result must be positive and fit an int.
bool parseTimeout(std::string_view s, int* ms, Problem* p) {
  const char* expect = "a positive whole number of seconds (10 or 10s) or milliseconds (500ms)";
  uint64_t unit = 1000;
  if (s.ends_with("ms")) {
    s.remove_suffix(2);
    unit = 1;
  } else if (s.ends_with('s')) {
    s.remove_suffix(1);
  }
  uint64_t v = 0;
  if (!parseDigits(s, &v)) return fail(p, expect);
  if (v == 0) return fail(p, expect, "must be positive");
  if (v > static_cast<uint64_t>(INT_MAX) / unit) {
    return fail(p, expect, "must be at most " + std::to_string(INT_MAX / 1000) + " seconds");
  }
  *ms = static_cast<int>(v * unit);
  return true;
}

// Bytes with an optional 1024-based suffix: 512, 64k, 1M, 2g.
bool parseSize(std::string_view s, uint64_t* out, Problem* p) {
  const char* expect = "a size in bytes, optionally with a k, m or g suffix (e.g. 1m)";
  unsigned shift = 0;
  const size_t unit =
      s.empty() ? std::string_view::npos : std::string_view("kKmMgG").find(s.back());
  if (unit != std::string_view::npos) {
    shift = 10 * static_cast<unsigned>(unit / 2 + 1);
    s.remove_suffix(1);
  }
  uint64_t v = 0;
  if (!parseDigits(s, &v)) return fail(p, expect);
  if (v > (UINT64_MAX >> shift)) return fail(p, expect, "is too large");
  *out = v << shift;
  return true;
}

bool parseOnOff(std::string_view s, bool* out, Problem* p) {
  if (s == "on" || s == "off") {
    *out = s == "on";
    return true;
  }
  return fail(p, "on or off");
}

// Accepts "::1" and "[::1]" alike and stores the address without brackets.
bool parseIp(std::string_view s, std::string* out, Problem* p) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  const std::string ip(s);
  unsigned char scratch[16];
  if (inet_pton(AF_INET, ip.c_str(), scratch) != 1 &&
      inet_pton(AF_INET6, ip.c_str(), scratch) != 1) {
    return fail(p, "an IPv4 or IPv6 address");
  }
  *out = ip;
  return true;
}

bool parseErrorPage(std::string_view code, std::string_view path, int* codeOut, Problem* p) {
  const char* expect = "a status code from 400 to 599 and a path starting with '/'";
  uint64_t v = 0;
  if (!parseDigits(code, &v) || v < 400 || v > 599 || !path.starts_with('/'))
    return fail(p, expect);
  *codeOut = static_cast<int>(v);
  return true;
}

bool parseAddress(std::string_view v, std::string* ip, uint16_t* port, Problem* p) {
  const char* expect = "ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)";
  std::string_view host;
  std::string_view portText;
  if (v.starts_with('[')) {
    const size_t close = v.find(']');
    if (close == std::string_view::npos || v.substr(close + 1, 1) != ":") return fail(p, expect);
    host = v.substr(1, close - 1);
    portText = v.substr(close + 2);
  } else {
    const size_t colon = v.rfind(':');
    // An unbracketed IPv6 address is ambiguous: "::1:8080" could end in a port or a group.
    if (colon == std::string_view::npos || v.substr(0, colon).find(':') != std::string_view::npos) {
      return fail(p, expect);
    }
    host = v.substr(0, colon);
    portText = v.substr(colon + 1);
  }
  std::string parsedIp;
  uint16_t parsedPort = 0;
  if (!parseIp(host, &parsedIp, p)) return fail(p, expect);
  if (!parseInto(portText, 1, 65535, &parsedPort, p)) return fail(p, expect);
  *ip = std::move(parsedIp);
  *port = parsedPort;
  return true;
}

}  // namespace hs
