// A worker's upstream groups: every `upstream` block of the configuration as an UpstreamGroup
// whose servers are Upstreams of the worker's UpstreamPool, found by name by the FastCGI gateway
// (fastcgi_pass NAME) and the HTTP proxy (proxy_pass http://NAME). A server that is an app's
// socket gets the app's connection limits (appLimits) and its queue; `keepalive N` bounds the
// idle connections kept per server (0: none). Owns the groups; borrows the pool.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "AppConfig.h"
#include "Config.h"
#include "UpstreamGroup.h"
#include "UpstreamPool.h"

namespace hs {

class UpstreamGroups {
 public:
  // Returns "" or "FILE:LINE: reason".
  std::string build(const Config& cfg, UpstreamPool* pool);

  // Every server's figures go to `stats` (this worker's slot), in configuration order.
  void publishTo(WorkerUpstreams* stats);

  // The group called `name`, or nullptr.
  UpstreamGroup* find(std::string_view name) const;
  const std::vector<std::unique_ptr<UpstreamGroup>>& all() const { return groups_; }

  // The limits of the connections from one worker to an app of `processes` processes when
  // `workers` workers share it: php-cgi and its kind serve one connection at a time, so kept-open
  // connections must not outnumber the processes, or a worker's new connection would wait behind
  // another worker's idle one. With fewer processes than workers, connections are not kept.
  static UpstreamLimits appLimits(int processes, int workers);

  // The limits of the connections from one worker to a server at `address`.
  static UpstreamLimits limitsFor(const std::string& address, const UpstreamGroupSpec& group,
                                  const Config& cfg, const std::vector<AppSpec>& apps);

 private:
  std::vector<std::unique_ptr<UpstreamGroup>> groups_;
};

}  // namespace hs
