// libFuzzer target for the routing inputs a client controls: the Host value (normalizeHost), the
// request-target (normalizeUri) and the file it maps to through an alias location with nginx's
// off-by-slash shape (mapToFile). Whatever the bytes, a normalized host has no '..', '/', blank or
// upper case and normalizes to itself (but for nginx's one trailing dot); a URI is '/'-rooted,
// NUL-terminated and free of dot segments; a mapped file stays beneath its directory. Input: HOST
// '\n' TARGET. `make fuzz` runs it on a copy of tests/fuzz/corpus/route; `make test` replays the
// corpus.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "Router.h"
#include "UrlPath.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void checkHost(std::string_view raw) {
  char out[256];
  const size_t n = hs::normalizeHost(raw, out, sizeof out);
  if (n == 0) return;
  const std::string_view h(out, n);
  check(n <= raw.size());
  check(h.find("..") == std::string_view::npos && h.find('/') == std::string_view::npos);
  for (char c : h) {
    const auto u = static_cast<unsigned char>(c);
    check(u > 0x20 && u != 0x7F && !(c >= 'A' && c <= 'Z'));
  }
  // Idempotent, except that a '.' after the port ("a.:.") keeps nginx from dropping the dot before
  // it the first time; the second pass, without the port, does.
  char again[256];
  const std::string_view h2(again, hs::normalizeHost(h, again, sizeof again));
  check(h2 == h || (h.ends_with('.') && h2 == h.substr(0, n - 1)));
}

// A location /files with alias /srv/shared/: the cut can leave "..", which must be refused.
const hs::Location& aliasLocation() {
  static hs::Location l;
  if (l.pattern.empty()) {
    l.match = hs::LocationMatch::kPrefix;
    l.pattern = "/files";
    l.settings.root = "/srv/shared";
    l.settings.alias = true;
    l.settings.aliasCut = 6;
  }
  return l;
}

void checkUri(std::string_view target) {
  char uri[512];
  const size_t n = hs::normalizeUri(target, uri, sizeof uri);
  if (n == 0) return;
  const std::string_view u(uri, n);
  check(uri[n] == '\0' && u.front() == '/');
  check(u.find("//") == std::string_view::npos);
  check(u.find("/./") == std::string_view::npos && u.find("/../") == std::string_view::npos);
  check(!u.ends_with("/.") && !u.ends_with("/.."));
  char rel[512];
  const hs::FileMapping m = hs::mapToFile(aliasLocation(), u, rel, sizeof rel);
  if (m.status != 0) {
    check(m.status == 400 || m.status == 404);
    return;
  }
  check(m.dir == "/srv/shared" && !m.rel.starts_with('/') && m.rel.data()[m.rel.size()] == '\0');
  for (size_t pos = 0; pos < m.rel.size();) {
    size_t end = m.rel.find('/', pos);
    if (end == std::string_view::npos) end = m.rel.size();
    const std::string_view seg = m.rel.substr(pos, end - pos);
    check(seg != "." && seg != ".." && (seg.empty() || seg[0] != '.' || seg == ".well-known"));
    pos = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  checkHost(in.substr(0, nl));
  if (nl != std::string_view::npos) checkUri(in.substr(nl + 1));
  return 0;
}
