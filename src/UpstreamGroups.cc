#include "UpstreamGroups.h"

#include <algorithm>

#include "UpstreamConfig.h"

namespace hs {

UpstreamLimits UpstreamGroups::appLimits(int processes, int workers) {
  UpstreamLimits l;
  l.maxConns = static_cast<uint32_t>(std::max(1, processes / std::max(1, workers)));
  l.keepConns = processes >= workers;
  return l;
}

UpstreamLimits UpstreamGroups::limitsFor(const std::string& address, const UpstreamGroupSpec& group,
                                         const Config& cfg, const std::vector<AppSpec>& apps) {
  UpstreamLimits limits;
  limits.maxConns = 64;
  for (const auto& [app, path] : cfg.appSockets) {
    if (address != "unix:" + path) continue;
    limits = appLimits(cfg.appProcesses.at(app), cfg.procs);
    if (const AppSpec* spec = findApp(apps, app); spec != nullptr) {  // its queue_timeout too
      limits.queue = spec->queue;
      limits.queueTimeoutMs = spec->queueTimeoutMs;
    }
  }
  if (group.keepalive == 0) limits.keepConns = false;
  if (group.keepalive > 0) limits.maxIdle = static_cast<uint32_t>(group.keepalive);
  return limits;
}

std::string UpstreamGroups::build(const Config& cfg, UpstreamPool* pool) {
  std::vector<UpstreamGroupSpec> specs;
  std::vector<AppSpec> apps;
  std::string err;
  if (!compileUpstreams(cfg, &specs, &err) || !compileApps(cfg, &apps, &err)) return err;
  for (const UpstreamGroupSpec& g : specs) {
    std::vector<Upstream*> ups;
    for (const UpstreamServerSpec& s : g.servers) {
      Upstream* u = pool->add(s.address, limitsFor(s.address, g, cfg, apps));
      if (u == nullptr) {
        return g.file + ":" + std::to_string(s.line) + ": server '" + s.address +
               "' is not an address";
      }
      ups.push_back(u);
    }
    groups_.push_back(std::make_unique<UpstreamGroup>(g, ups));
  }
  return "";
}

void UpstreamGroups::publishTo(WorkerUpstreams* stats) {
  static_assert(kMaxUpstreamServers <= kMaxUpstreamSlots);
  UpstreamServerStats* next = stats->servers;
  for (const std::unique_ptr<UpstreamGroup>& g : groups_) {
    g->publishTo(next);
    next += g->size();
  }
}

UpstreamGroup* UpstreamGroups::find(std::string_view name) const {
  for (const std::unique_ptr<UpstreamGroup>& g : groups_) {
    if (g->name() == name) return g.get();
  }
  return nullptr;
}

}  // namespace hs
