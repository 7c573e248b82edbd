#include "Router.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "HttpLexical.h"

namespace hs {
namespace {

// nginx's search at one level (ngx_http_core_find_location): returns the chosen nested location or
// nullptr; *final says an outer level's regexes may no longer override it.
const Location* findIn(const Location& level, std::string_view uri, bool* final) {
  *final = false;
  for (const auto& e : level.exact) {
    if (e->pattern == uri) {
      *final = true;
      return e.get();
    }
  }
  const Location* found = nullptr;
  for (const auto& p : level.prefixes) {  // longest first
    if (uri.starts_with(p->pattern)) {
      found = p.get();
      break;
    }
  }
  const bool noRegex = found != nullptr && found->match == LocationMatch::kPrefixNoRegex;
  if (found != nullptr) {
    bool innerFinal = false;
    const Location* inner = findIn(*found, uri, &innerFinal);
    if (inner != nullptr) found = inner;
    if (innerFinal) {
      *final = true;
      return found;
    }
  }
  if (noRegex) return found;
  for (const auto& r : level.regexes) {
    if (!r->regex.search(uri)) continue;
    bool innerFinal = false;
    const Location* inner = findIn(*r, uri, &innerFinal);
    *final = true;
    return inner != nullptr ? inner : r.get();
  }
  return found;
}

// What normalizeHost does with each byte: an ordinary one is copied lowercased (kHostLower holds
// its lowercase form); the others are 0 there and looked at one by one.
constexpr std::array<unsigned char, 256> kHostLower = [] {
  std::array<unsigned char, 256> t{};
  for (unsigned c = 0x21; c < 0x7F; ++c) t[c] = toLowerAscii(static_cast<unsigned char>(c));
  for (unsigned c = 0x80; c < 0x100; ++c) t[c] = static_cast<unsigned char>(c);
  for (unsigned char c : {'.', ':', '[', ']', '/'}) t[c] = 0;
  return t;
}();

const Server& searchServer(const ListenAddr& la, std::string_view host) {
  const auto it = std::lower_bound(la.exactNames.begin(), la.exactNames.end(), host,
                                   [](const std::pair<std::string, const Server*>& e,
                                      std::string_view h) { return e.first < h; });
  if (it != la.exactNames.end() && it->first == host) return *it->second;
  for (const auto& [suffix, server] : la.wildcards) {  // longest first
    if (host.size() > suffix.size() && host.ends_with(suffix)) return *server;
  }
  return *la.defaultServer;
}

const Location& searchLocation(const Server& server, std::string_view uri) {
  bool final = false;
  const Location* l = findIn(server.root, uri, &final);
  return l != nullptr ? *l : server.root;
}

}  // namespace

std::string_view targetAuthority(std::string_view target) {
  size_t skip = httpSchemeLength(target);
  if (skip == 0) return {};
  target.remove_prefix(skip);
  return target.substr(0, target.find_first_of("/?#"));
}

// ngx_http_validate_host, state for state: one pass that copies (lowercased) and checks at once.
size_t normalizeHost(std::string_view host, char* out, size_t cap) {
  enum class State : uint8_t { kUsual, kLiteral, kRest } state = State::kUsual;
  const size_t n = host.size();
  size_t dotPos = n;
  size_t len = n;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(host[i]);
    const unsigned char lower = kHostLower[c];
    if (lower != 0) {
      if (i < cap) out[i] = static_cast<char>(lower);
      continue;
    }
    if (c == '.') {
      if (i > 0 && dotPos == i - 1) return 0;
      dotPos = i;
    } else if (c == ':') {
      if (state == State::kUsual) {
        len = i;
        state = State::kRest;
      }
    } else if (c == '[') {
      if (i == 0) state = State::kLiteral;
    } else if (c == ']') {
      if (state == State::kLiteral) {
        len = i + 1;
        state = State::kRest;
      }
    } else {
      return 0;  // a control or blank byte, DEL, '/'
    }
    if (i < cap) out[i] = static_cast<char>(c);
  }
  if (len > 0 && dotPos == len - 1) --len;
  if (len == 0 || len > cap) return 0;
  return len;
}

const Server& selectNamedServer(const ListenAddr& la, std::string_view host) {
  if (!la.serverMemo.enabled()) return searchServer(la, host);
  uint64_t hash = 0;
  if (const Server* const* known = la.serverMemo.find(host, &hash)) return **known;
  const Server& s = searchServer(la, host);
  la.serverMemo.remember(host, hash, &s);
  return s;
}

const Location& selectNestedLocation(const Server& server, std::string_view uri) {
  if (!server.locationMemo.enabled()) return searchLocation(server, uri);
  uint64_t hash = 0;
  if (const Location* const* known = server.locationMemo.find(uri, &hash)) return **known;
  const Location& l = searchLocation(server, uri);
  server.locationMemo.remember(uri, hash, &l);
  return l;
}

FileMapping mapToFile(const Location& loc, std::string_view uri, char* out, size_t cap) {
  const LocationSettings& s = loc.settings;
  std::string_view rest = uri.substr(s.alias ? std::min(s.aliasCut, uri.size()) : 0);
  while (rest.starts_with('/')) rest.remove_prefix(1);
  if (rest.size() >= cap) return {400, {}, {}};
  for (size_t begin = 0; begin < rest.size();) {
    size_t end = rest.find('/', begin);
    if (end == std::string_view::npos) end = rest.size();
    const std::string_view seg = rest.substr(begin, end - begin);
    // Covers "." and "..", which only an alias cut can produce: the URI itself has none left.
    if (seg.starts_with('.') && seg != ".well-known") return {404, {}, {}};
    if (seg.find('\\') != std::string_view::npos) return {400, {}, {}};
    begin = end + 1;
  }
  std::memcpy(out, rest.data(), rest.size());
  out[rest.size()] = '\0';
  return {0, s.root, {out, rest.size()}};
}

}  // namespace hs
