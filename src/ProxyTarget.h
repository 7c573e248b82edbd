// Where and how one location passes its requests to an HTTP upstream (proxy_pass): the address,
// the Host it names ($proxy_host), the URI that replaces the location's prefix, the header fields
// set on the way (proxy_set_header, compiled), and the timeouts. parseProxyPass reads nginx's
// proxy_pass syntax; ProxyTargets builds the targets per worker and ProxyHandler uses them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "LogFormat.h"

namespace hs {

class Upstream;

// proxy_pass http://HOST[:PORT][URI] | http://unix:/PATH:[URI], parsed.
struct ProxyPass {
  std::string address;    // for UpstreamPool::add: "1.2.3.4:80", "[::1]:8080", "unix:/run/a.sock"
  std::string proxyHost;  // $proxy_host: "1.2.3.4", "1.2.3.4:8080"; "localhost" for a socket
  bool hasUri = false;    // a URI (even "/") was given: it replaces the location's prefix
  std::string uri;
};

// Returns "" and fills *out, or why `value` is not a proxy_pass nginx would take with a numeric
// address (a host name would need an upstream group of that name).
std::string parseProxyPass(std::string_view value, ProxyPass* out);

// One header field sent upstream: `value` rendered per request; an empty value removes the field.
struct UpstreamField {
  std::string name;
  LogFormat value;
  bool remove = false;
};

struct ProxyTarget {
  Upstream* upstream = nullptr;
  std::string proxyHost;
  bool hasUri = false;
  std::string uri;
  size_t cut = 0;  // bytes of the normalized URI that `uri` replaces (the location's prefix)
  std::vector<UpstreamField> headers;  // the defaults with proxy_set_header applied
  int sendTimeoutMs = 60'000;
  int readTimeoutMs = 60'000;
};

}  // namespace hs
