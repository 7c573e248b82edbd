#include "AccessRules.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "ConfValue.h"

namespace hs {
namespace {

bool ruleMatches(const AccessRule& r, uint8_t family, const uint8_t* addr) {
  if (r.family == 0) return true;
  if (r.family != family) return false;
  const unsigned full = r.prefixLen / 8u;
  if (std::memcmp(r.addr, addr, full) != 0) return false;
  const unsigned rest = r.prefixLen % 8u;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFFu << (8 - rest));
  return (addr[full] & mask) == r.addr[full];
}

void clearHostBits(AccessRule* r) {
  const unsigned bytes = r->family == 4 ? 4 : 16;
  for (unsigned i = 0; i < bytes; ++i) {
    const unsigned keep = r->prefixLen > i * 8 ? r->prefixLen - i * 8 : 0;
    if (keep < 8) r->addr[i] &= static_cast<uint8_t>(0xFFu << (8 - keep));
  }
}

}  // namespace

bool AccessRules::parse(std::string_view text, bool allow, AccessRule* out, std::string* err) {
  *out = AccessRule{};
  out->allow = allow;
  if (text == "all") return true;
  const size_t slash = text.find('/');
  const std::string ip(text.substr(0, slash));
  if (inet_pton(AF_INET, ip.c_str(), out->addr) == 1) {
    out->family = 4;
  } else if (inet_pton(AF_INET6, ip.c_str(), out->addr) == 1) {
    out->family = 6;
  } else {
    *err = "expected 'all', an address or ADDRESS/PREFIX, got '" + std::string(text) + "'";
    return false;
  }
  const unsigned maxLen = out->family == 4 ? 32 : 128;
  out->prefixLen = static_cast<uint8_t>(maxLen);
  if (slash != std::string_view::npos) {
    Problem p;
    if (!parseInto(text.substr(slash + 1), 0, maxLen, &out->prefixLen, &p)) {
      *err = "the prefix length in '" + std::string(text) + "' must be from 0 to " +
             std::to_string(maxLen);
      return false;
    }
  }
  clearHostBits(out);
  return true;
}

const AccessRule* AccessRules::firstMatch(const sockaddr* peer) const {
  uint8_t family = 0;
  const uint8_t* addr = nullptr;
  if (peer->sa_family == AF_INET) {
    family = 4;
    addr = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(peer)->sin_addr);
  } else if (peer->sa_family == AF_INET6) {
    const in6_addr* a6 = &reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr;
    family = IN6_IS_ADDR_V4MAPPED(a6) ? 4 : 6;
    addr = reinterpret_cast<const uint8_t*>(a6) + (family == 4 ? 12 : 0);
  }
  for (const AccessRule& r : rules_) {
    if (family != 0 && ruleMatches(r, family, addr)) return &r;
    if (family == 0 && r.family == 0) return &r;
  }
  return nullptr;
}

bool AccessRules::allows(const sockaddr* peer) const {
  const AccessRule* r = firstMatch(peer);
  return r == nullptr || r->allow;
}

bool AccessRules::matches(const sockaddr* peer) const { return firstMatch(peer) != nullptr; }

}  // namespace hs
