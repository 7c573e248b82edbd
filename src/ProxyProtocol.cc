#include "ProxyProtocol.h"

#include <arpa/inet.h>

#include <cstring>
#include <string_view>

namespace hs {
namespace {

constexpr char kV1Prefix[] = "PROXY ";
constexpr size_t kV1PrefixLen = sizeof kV1Prefix - 1;
constexpr uint8_t kV2Sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr size_t kV2Fixed = 16;  // signature, version/command, family, length

// Splits off the next word of a v1 line: exactly one space separates words.
bool nextWord(std::string_view* line, std::string_view* word) {
  const size_t sp = line->find(' ');
  *word = line->substr(0, sp);
  *line = sp == std::string_view::npos ? std::string_view() : line->substr(sp + 1);
  return !word->empty() && (sp == std::string_view::npos || !line->empty());
}

// A decimal port, 0..65535, without leading zeros.
bool parsePort(std::string_view s, uint16_t* port) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

bool parseV1Address(std::string_view s, uint8_t family, ProxyAddress* a) {
  char text[INET6_ADDRSTRLEN];
  if (s.size() >= sizeof text) return false;
  std::memcpy(text, s.data(), s.size());
  text[s.size()] = '\0';
  a->family = family;
  return inet_pton(family == 4 ? AF_INET : AF_INET6, text, a->addr) == 1;
}

// The words after "PROXY " up to the CR: TCP4|TCP6 SRC DST SPORT DPORT, or UNKNOWN and anything.
const char* parseV1Line(std::string_view line, ProxyHeader* out) {
  std::string_view proto, src, dst, sport, dport;
  if (line == "UNKNOWN" || line.starts_with("UNKNOWN ")) return nullptr;
  if (!nextWord(&line, &proto)) return "malformed v1 line";
  uint8_t family = proto == "TCP4" ? 4 : proto == "TCP6" ? 6 : 0;
  if (family == 0) return "unknown v1 protocol";
  if (!nextWord(&line, &src) || !nextWord(&line, &dst) || !nextWord(&line, &sport) ||
      !nextWord(&line, &dport) || !line.empty()) {
    return "malformed v1 line";
  }
  if (!parseV1Address(src, family, &out->source) || !parseV1Address(dst, family, &out->dest)) {
    return "bad v1 address";
  }
  if (!parsePort(sport, &out->source.port) || !parsePort(dport, &out->dest.port)) {
    return "bad v1 port";
  }
  return nullptr;
}

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// The address block of a v2 PROXY header; returns its length, or 0 when it does not fit `len`.
size_t readV2Addresses(uint8_t family, const uint8_t* p, size_t len, ProxyHeader* out) {
  const uint8_t af = family >> 4;
  if (af == 0) return 0;  // AF_UNSPEC: no address, the whole block is TLVs
  const size_t need = af == 1 ? 12 : af == 2 ? 36 : 216;
  if (len < need) return SIZE_MAX;
  if (af == 3) return need;  // AF_UNIX: no IP address to use
  const size_t n = af == 1 ? 4 : 16;
  out->source.family = out->dest.family = af == 1 ? 4 : 6;
  std::memcpy(out->source.addr, p, n);
  std::memcpy(out->dest.addr, p + n, n);
  out->source.port = be16(p + 2 * n);
  out->dest.port = be16(p + 2 * n + 2);
  return need;
}

// TLVs: type (1), length (2, big-endian), value. Each must end inside the block.
bool tlvsFit(const uint8_t* p, size_t len) {
  size_t at = 0;
  while (at < len) {
    if (len - at < 3) return false;
    const size_t vlen = be16(p + at + 1);
    if (len - at - 3 < vlen) return false;
    at += 3 + vlen;
  }
  return true;
}

}  // namespace

ProxyStatus ProxyParser::fail(const char* why) {
  error_ = why;
  return ProxyStatus::kError;
}

ProxyStatus ProxyParser::parse(const char* data, size_t len, ProxyHeader* out) {
  if (error_ != nullptr) return ProxyStatus::kError;
  if (state_ == State::kStart) {
    if (len == 0) return ProxyStatus::kNeedMore;
    *out = ProxyHeader();
    if (data[0] == 'P') {
      state_ = State::kV1;
    } else if (static_cast<uint8_t>(data[0]) == kV2Sig[0]) {
      state_ = State::kV2;
    } else {
      return fail("no PROXY protocol header");
    }
  }
  if (state_ == State::kV1) return parseV1(data, len, out);
  return parseV2(reinterpret_cast<const uint8_t*>(data), len, out);
}

ProxyStatus ProxyParser::parseV1(const char* data, size_t len, ProxyHeader* out) {
  for (; pos_ < len; ++pos_) {
    const char c = data[pos_];
    if (pos_ < kV1PrefixLen) {
      if (c != kV1Prefix[pos_]) return fail("no PROXY protocol header");
      continue;
    }
    if (c == '\n') {
      if (data[pos_ - 1] != '\r') return fail("v1 line not ended by CRLF");
      out->version = 1;
      const char* why =
          parseV1Line(std::string_view(data + kV1PrefixLen, pos_ - 1 - kV1PrefixLen), out);
      if (why != nullptr) return fail(why);
      consumed_ = pos_ + 1;
      return ProxyStatus::kDone;
    }
    // The last byte the limit allows must be the LF, whatever comes before it.
    if (pos_ + 1 >= kMaxV1) return fail("v1 line too long");
    const bool crBeforeLf = c == '\r' && pos_ + 1 < len && data[pos_ + 1] == '\n';
    const bool crAtEnd = c == '\r' && pos_ + 1 == len;
    if ((c < 0x20 || c > 0x7E) && !crBeforeLf && !crAtEnd) return fail("bad byte in v1 line");
    if (crAtEnd) break;  // see the LF before deciding
  }
  return ProxyStatus::kNeedMore;
}

ProxyStatus ProxyParser::parseV2(const uint8_t* data, size_t len, ProxyHeader* out) {
  for (; pos_ < len && pos_ < sizeof kV2Sig; ++pos_) {
    if (data[pos_] != kV2Sig[pos_]) return fail("bad v2 signature");
  }
  if (len < kV2Fixed) return ProxyStatus::kNeedMore;
  const uint8_t verCmd = data[12];
  const uint8_t family = data[13];
  const size_t bodyLen = be16(data + 14);
  if ((verCmd >> 4) != 2) return fail("unsupported v2 version");
  if ((verCmd & 0x0F) > 1) return fail("unknown v2 command");
  if (bodyLen > kMaxV2Body) return fail("v2 header too long");
  const bool local = (verCmd & 0x0F) == 0;
  // LOCAL ignores the family; PROXY needs a known one (TCP or UDP over IPv4, IPv6 or UNIX).
  if (!local && family != 0x00 &&
      ((family >> 4) > 3 || (family >> 4) == 0 || (family & 0x0F) == 0 || (family & 0x0F) > 2)) {
    return fail("unsupported v2 address family");
  }
  if (len < kV2Fixed + bodyLen) return ProxyStatus::kNeedMore;
  out->version = 2;
  out->local = local;
  const uint8_t* body = data + kV2Fixed;
  if (!local) {
    const size_t addrLen = readV2Addresses(family, body, bodyLen, out);
    if (addrLen == SIZE_MAX) return fail("v2 addresses do not fit the header");
    if (!tlvsFit(body + addrLen, bodyLen - addrLen)) return fail("v2 TLV overruns the header");
  }
  consumed_ = static_cast<uint32_t>(kV2Fixed + bodyLen);
  return ProxyStatus::kDone;
}

void toSockaddr(const ProxyAddress& a, sockaddr_in6* out) {
  *out = sockaddr_in6{};
  if (a.family == 4) {
    auto* in4 = reinterpret_cast<sockaddr_in*>(out);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(a.port);
    std::memcpy(&in4->sin_addr, a.addr, 4);
  } else if (a.family == 6) {
    out->sin6_family = AF_INET6;
    out->sin6_port = htons(a.port);
    std::memcpy(&out->sin6_addr, a.addr, 16);
  }
}

}  // namespace hs
