#include "ProxyTarget.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include "HttpLexical.h"

namespace hs {

namespace {

bool numericHost(const std::string& host) {
  unsigned char buf[16];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return ::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), buf) == 1;
  }
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1;
}

bool uriBytesOk(std::string_view uri) {
  for (char c : uri) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F || c == '#') return false;
  }
  return true;
}

// "unix:/PATH:[URI]": the path ends at the first ':' after it, as in nginx.
std::string parseUnix(std::string_view rest, ProxyPass* out) {
  rest.remove_prefix(5);
  const size_t colon = rest.find(':');
  const std::string_view path = rest.substr(0, colon);
  if (path.size() < 2 || path.front() != '/' || path.size() >= sizeof(sockaddr_un::sun_path)) {
    return "expects http://unix:/PATH:[URI] with an absolute socket path";
  }
  out->address = "unix:" + std::string(path);
  out->proxyHost = "localhost";
  if (colon == std::string_view::npos) return "";
  out->hasUri = colon + 1 < rest.size();
  out->uri = rest.substr(colon + 1);
  return "";
}

}  // namespace

std::string parseProxyPass(std::string_view value, ProxyPass* out) {
  *out = ProxyPass{};
  if (!startsWithIgnoreCase(value, "http://")) {
    return startsWithIgnoreCase(value, "https://") ? "https upstreams are not supported"
                                                   : "expects an http:// URL";
  }
  std::string_view rest = value.substr(7);
  const size_t slash = rest.find('/');
  std::string_view uri;
  if (!rest.starts_with("unix:")) {
    uri = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  std::string why = rest.starts_with("unix:") ? parseUnix(rest, out) : "";
  if (!why.empty() || !uriBytesOk(rest.starts_with("unix:") ? out->uri : uri)) {
    return why.empty() ? "has a URI with a space, control byte or '#'" : why;
  }
  if (rest.starts_with("unix:")) return "";
  // HOST[:PORT]; an IPv6 host in brackets.
  const size_t close = rest.rfind(']');
  const size_t colon = rest.rfind(':');
  std::string host(rest), port = "80";
  if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  uint64_t p = 0;
  if (!parseDecimal(port, &p, 65535) || p == 0) return "has an invalid port '" + port + "'";
  if (host.empty()) return "names no host";
  if (!numericHost(host)) {
    return "names the host '" + host +
           "': only numeric addresses (IPv4, [IPv6]) and unix: sockets are supported";
  }
  out->address = host + ":" + port;
  out->proxyHost = p == 80 ? host : out->address;
  out->hasUri = !uri.empty();
  out->uri = uri;
  return "";
}

}  // namespace hs
