// The gateway's part of the routing configuration, built once per worker: for every location with
// fastcgi_pass, the upstream it names (an app's socket, an upstream group, unix:PATH or HOST:PORT)
// in the worker's UpstreamPool with limits that fit it, its root opened for the script check, and
// its timeouts, handed to the FastCgiHandler. Owns the opened roots.
#pragma once

#include <string>
#include <vector>

#include "AppConfig.h"
#include "Config.h"
#include "FastCgiTarget.h"
#include "RouteConfig.h"
#include "SharedState.h"
#include "UniqueFd.h"
#include "UpstreamConfig.h"
#include "UpstreamGroups.h"
#include "UpstreamPool.h"

namespace hs {

class GatewayTargets {
 public:
  // Returns "" or why a location's fastcgi_pass cannot be used ("FILE:LINE: reason").
  // The targets go to `out`, each with the Location it serves. An app's upstream counts in its
  // slot of `shared` (when not nullptr). A name that is an upstream group of `groups` becomes a
  // target of that group.
  std::string build(const RouteConfig& routes, const Config& cfg, UpstreamPool* pool,
                    const UpstreamGroups& groups,
                    std::vector<std::pair<const void*, FastCgiTarget>>* out,
                    SharedState* shared = nullptr);

  // Checks at start-up (-t too) that every fastcgi_pass names an app of `apps`, an upstream of
  // `upstreams` or an address. Returns "" or "FILE:LINE: reason".
  static std::string check(const RouteConfig& routes, const std::vector<AppSpec>& apps,
                           const std::vector<UpstreamGroupSpec>& upstreams);

 private:
  std::string addLocation(const Location& loc, const Config& cfg, UpstreamPool* pool,
                          const UpstreamGroups& groups,
                          std::vector<std::pair<const void*, FastCgiTarget>>* out,
                          SharedState* shared);

  std::vector<AppSpec> apps_;  // the app blocks: their queue limits
  std::vector<UniqueFd> roots_;
  std::vector<std::pair<std::string, Upstream*>> upstreams_;  // by address
};

}  // namespace hs
