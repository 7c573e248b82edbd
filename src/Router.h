// Chooses, for one request, the server (by listen address and Host) and the location (nginx's
// order), and maps the URI to a file beneath the location's directory. Exactly as
// ../shared/ROUTING.md pins "as in nginx" down. Reads a RouteConfig; allocates nothing, compiles
// nothing, makes no syscalls.
#pragma once

#include <cstddef>
#include <string_view>

#include "RouteConfig.h"

namespace hs {

// The host of an absolute-form request-target ("http://B.test:8080/x" -> "B.test:8080"), which
// selects the server instead of the Host header (RFC 9112 3.2.2); "" for origin-form.
std::string_view targetAuthority(std::string_view target);

// Normalizes a Host value into out[0..cap): lowercase, cut at the first ':' outside an IPv6
// literal's brackets, one trailing '.' removed (also before a port). Returns the length, or 0 when
// the request must get 400: ".." anywhere, '/', NUL, a control or blank byte, an empty result, or
// longer than cap.
size_t normalizeHost(std::string_view host, char* out, size_t cap);

// The server for a request that arrived on listen address `la` with the normalized `host` ("" for
// a request without one): exact name, longest leading wildcard, default_server, first in file
// order. Never a server that is not on `la`. An address without names costs no string work.
const Server& selectNamedServer(const ListenAddr& la, std::string_view host);
inline const Server& selectServer(const ListenAddr& la, std::string_view host) {
  if (la.exactNames.empty() && la.wildcards.empty()) return *la.defaultServer;
  return selectNamedServer(la, host);
}

// The location for `uri` (normalizeUri's output, NUL-terminated) in nginx's order: an equal '='
// location; else the longest prefix, searched again among its nested locations, and final if it is
// '^~'; else the first matching regex in file order; else that longest prefix; else the server.
// A server without locations answers every URI itself, without looking at it.
const Location& selectNestedLocation(const Server& server, std::string_view uri);
inline const Location& selectLocation(const Server& server, std::string_view uri) {
  const Location& root = server.root;
  if (root.exact.empty() && root.prefixes.empty() && root.regexes.empty()) return root;
  return selectNestedLocation(server, uri);
}

// Where a URI's file lives: `dir` (the root or alias directory, no trailing '/') and `rel` beneath
// it (no leading '/', "" for the directory itself), written NUL-terminated to out[0..cap).
struct FileMapping {
  int status = 0;  // 0 ok; 400 or 404 when the URI has no safe file name
  std::string_view dir;
  std::string_view rel;
};

// Maps `uri` through `loc`'s root or alias. The relative part never holds "." or ".." segments (an
// alias cut such as /files../x for location /files is refused with 404, where nginx would leave
// the directory) nor hidden segments other than .well-known (404), nor '\\' (400).
FileMapping mapToFile(const Location& loc, std::string_view uri, char* out, size_t cap);

}  // namespace hs
