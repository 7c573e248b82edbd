#include "GatewayTargets.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hs {

namespace {

bool isAddress(const std::string& pass) {
  return pass.starts_with("unix:/") || pass.find(':') != std::string::npos;
}

// The counters of the app called `name` (its slot in use, named so by the master), or nullptr.
AppStats* appStats(SharedState* shared, const std::string& name) {
  if (shared == nullptr) return nullptr;
  for (AppStats& a : shared->apps) {
    if (a.inUse.load(std::memory_order_acquire) != 0 && name == a.name) return &a;
  }
  return nullptr;
}

}  // namespace

std::string GatewayTargets::check(const RouteConfig& routes, const std::vector<AppSpec>& apps,
                                  const std::vector<UpstreamGroupSpec>& upstreams) {
  return forEachLocation(routes, [&](const Location& loc) -> std::string {
    const std::string& pass = loc.settings.fastcgiPass;
    if (pass.empty() || isAddress(pass) || findApp(apps, pass) != nullptr ||
        findUpstreamGroup(upstreams, pass) != nullptr) {
      return "";
    }
    return loc.file + ":" + std::to_string(loc.line) + ": fastcgi_pass names no app or upstream '" +
           pass + "'";
  });
}

std::string GatewayTargets::addLocation(const Location& loc, const Config& cfg, UpstreamPool* pool,
                                        const UpstreamGroups& groups,
                                        std::vector<std::pair<const void*, FastCgiTarget>>* out,
                                        SharedState* shared) {
  const LocationSettings& s = loc.settings;
  const std::string where = loc.file + ":" + std::to_string(loc.line) + ": ";
  std::string address = s.fastcgiPass;
  UpstreamLimits limits;
  limits.maxConns = 64;
  AppStats* stats = nullptr;
  UpstreamGroup* group = groups.find(address);
  if (auto it = cfg.appSockets.find(address); it != cfg.appSockets.end()) {
    limits = UpstreamGroups::appLimits(cfg.appProcesses.at(address), cfg.procs);
    if (const AppSpec* app = findApp(apps_, s.fastcgiPass)) {  // its queue and queue_timeout
      limits.queue = app->queue;
      limits.queueTimeoutMs = app->queueTimeoutMs;
    }
    stats = appStats(shared, address);
    address = "unix:" + it->second;
  } else if (group == nullptr && !isAddress(address)) {
    return where + "fastcgi_pass names no app or upstream '" + address + "'";
  }
  limits.connectTimeoutMs = s.fastcgiConnectTimeoutMs;
  Upstream* up = nullptr;
  for (const auto& [a, u] : upstreams_) {
    if (a == address) up = u;
  }
  if (up == nullptr && group == nullptr) {
    up = pool->add(address, limits);
    if (up == nullptr) return where + "fastcgi_pass '" + s.fastcgiPass + "' is not an address";
    if (stats != nullptr) pool->setAppStats(up, stats);
    upstreams_.emplace_back(address, up);
  }
  UniqueFd root(::open(s.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return where + "cannot open the root " + s.root + ": " + std::strerror(errno);
  FastCgiTarget t;
  t.upstream = up;
  t.group = group;
  t.connectTimeoutMs = s.fastcgiConnectTimeoutMs;
  t.documentRoot = s.root;
  t.rootFd = root.get();
  // A regex location (`~ \.php$`) names script files: only an existing one may run. A prefix or
  // exact location passes its URIs to an app that routes them itself (a Go or Python app).
  t.checkScript = loc.match == LocationMatch::kRegex || loc.match == LocationMatch::kRegexNoCase;
  t.sendTimeoutMs = s.fastcgiSendTimeoutMs;
  t.readTimeoutMs = s.fastcgiReadTimeoutMs;
  t.params = &s.fastcgiParams;
  roots_.push_back(std::move(root));
  out->emplace_back(&loc, std::move(t));
  return "";
}

std::string GatewayTargets::build(const RouteConfig& routes, const Config& cfg, UpstreamPool* pool,
                                  const UpstreamGroups& groups,
                                  std::vector<std::pair<const void*, FastCgiTarget>>* out,
                                  SharedState* shared) {
  std::string err;
  apps_.clear();
  if (!compileApps(cfg, &apps_, &err)) return err;  // checked at start-up: does not happen
  return forEachLocation(routes, [&](const Location& loc) -> std::string {
    return loc.settings.fastcgiPass.empty() ? "" : addLocation(loc, cfg, pool, groups, out, shared);
  });
}

}  // namespace hs
