#include "RealIp.h"

#include <arpa/inet.h>

#include <cstring>

#include "HttpLexical.h"

namespace hs {
namespace {

constexpr size_t kMaxFields = 16;  // fields of that name looked at (the last ones)

// The value of the header line `line` if its name is `name`, trimmed; otherwise false.
bool fieldValue(std::string_view line, std::string_view name, std::string_view* value) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  if (!equalsIgnoreCase(line.substr(0, name.size()), name)) return false;
  *value = trimOws(line.substr(name.size() + 1));
  return true;
}

// One list entry as an address: "192.0.2.7", "2001:db8::7" or "[2001:db8::7]".
bool parseEntry(std::string_view s, sockaddr_in6* out) {
  s = trimOws(s);
  if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  char text[INET6_ADDRSTRLEN];
  if (s.empty() || s.size() >= sizeof text) return false;
  std::memcpy(text, s.data(), s.size());
  text[s.size()] = '\0';
  *out = sockaddr_in6{};
  auto* in4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    return true;
  }
  out->sin6_family = AF_INET6;
  return inet_pton(AF_INET6, text, &out->sin6_addr) == 1;
}

// Walks one field's list from the right. Returns 1 when an untrusted entry ended the walk, 0 when
// every entry was trusted (*last is then the leftmost), -1 for an entry that is not an address.
int walkList(std::string_view list, const AccessRules& trusted, sockaddr_in6* last) {
  while (!list.empty()) {
    const size_t comma = list.rfind(',');
    const std::string_view entry = comma == std::string_view::npos ? list : list.substr(comma + 1);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
    if (!parseEntry(entry, last)) return -1;
    if (!trusted.matches(reinterpret_cast<const sockaddr*>(last))) return 1;
  }
  return 0;
}

}  // namespace

bool forwardedClient(std::string_view head, std::string_view name, const AccessRules& trusted,
                     sockaddr_in6* client) {
  std::string_view values[kMaxFields];
  size_t n = 0;
  size_t at = head.find('\n');  // skip the request line
  while (at != std::string_view::npos && at + 1 < head.size()) {
    const size_t end = head.find('\n', at + 1);
    std::string_view line = head.substr(at + 1, end == std::string_view::npos ? end : end - at - 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    std::string_view v;
    if (fieldValue(line, name, &v)) {
      if (n == kMaxFields) {
        std::memmove(values, values + 1, sizeof values - sizeof values[0]);
        --n;
      }
      values[n++] = v;
    }
    at = end;
  }
  if (n == 0) return false;
  sockaddr_in6 found{};
  bool any = false;
  for (size_t i = n; i-- > 0;) {
    const int r = walkList(values[i], trusted, &found);
    if (r < 0) return false;
    any = any || found.sin6_family != 0;
    if (r == 1) break;
  }
  if (!any) return false;
  *client = found;
  return true;
}

}  // namespace hs
