// The proxy's part of the routing configuration, built once per worker: for every location with
// proxy_pass, its upstream address in the worker's UpstreamPool (kept-open connections, at most
// kKeepalive idle), the header rules it sends (the defaults, then proxy_set_header), the URI
// replacement and the timeouts, handed to the ProxyHandler.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "Config.h"
#include "ProxyTarget.h"
#include "RouteConfig.h"
#include "UpstreamPool.h"

namespace hs {

class ProxyTargets {
 public:
  // Idle connections kept per worker and upstream address (nginx's `keepalive`).
  static constexpr uint32_t kKeepalive = 32;

  // Returns "" or why a location's proxy_pass cannot be used ("FILE:LINE: reason"). The targets
  // go to `out`, each with the Location it serves.
  std::string build(const RouteConfig& routes, const Config& cfg, UpstreamPool* pool,
                    std::vector<std::pair<const void*, ProxyTarget>>* out);

  // The fields a location sends upstream: Host $proxy_host, X-Forwarded-For
  // $proxy_add_x_forwarded_for, X-Real-IP $remote_addr, X-Forwarded-Proto $scheme, Forwarded
  // $proxy_add_forwarded, each replaced by a proxy_set_header of the same name (an empty value
  // removes it), then the other proxy_set_header fields in order. Returns "" or why not.
  static std::string headerRules(const LocationSettings& s, std::vector<UpstreamField>* out);

 private:
  std::string addLocation(const Location& loc, const Config& cfg, UpstreamPool* pool,
                          std::vector<std::pair<const void*, ProxyTarget>>* out);

  std::vector<std::pair<std::string, Upstream*>> upstreams_;  // by address
};

}  // namespace hs
