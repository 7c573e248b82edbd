// allow/deny lists: IPv4 and IPv6 networks in CIDR notation, single addresses, or `all`. The first
// rule that matches the client decides, as in nginx; no rule matching allows. Pure code.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hs {

struct AccessRule {
  bool allow = false;
  uint8_t family = 0;  // 0: all, 4: IPv4, 6: IPv6
  uint8_t prefixLen = 0;
  uint8_t addr[16] = {};  // network address, host bits cleared
};

class AccessRules {
 public:
  // Parses "all", "10.0.0.0/8", "192.168.1.7", "::1", "fd00::/8". Host bits beyond the prefix are
  // cleared (nginx warns and does the same). Returns false with *err saying what was expected.
  static bool parse(std::string_view text, bool allow, AccessRule* out, std::string* err);

  void add(const AccessRule& r) { rules_.push_back(r); }
  void clear() { rules_.clear(); }
  bool empty() const { return rules_.empty(); }
  size_t size() const { return rules_.size(); }

  // Whether the client at `peer` (sockaddr_in or sockaddr_in6) may proceed. An IPv4-mapped IPv6
  // peer (::ffff:a.b.c.d) is matched against the IPv4 rules.
  bool allows(const sockaddr* peer) const;
  // Whether any rule matches `peer` (a list of trusted networks: set_real_ip_from).
  bool matches(const sockaddr* peer) const;

 private:
  const AccessRule* firstMatch(const sockaddr* peer) const;

  std::vector<AccessRule> rules_;
};

}  // namespace hs
