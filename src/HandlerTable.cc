#include "HandlerTable.h"

#include "LocationAccess.h"
#include "RealIp.h"
#include "Router.h"
#include "Sites.h"

namespace hs {
namespace {

// real_ip_header: a request from a trusted peer (an HTTP load balancer) names its client in a
// header; ctx.peer then points at that address.
void resolveClient(const AccessRules& trusted, std::string_view header, RequestContext& ctx) {
  if (header.empty() || ctx.peer == nullptr) return;
  if (!trusted.matches(reinterpret_cast<const sockaddr*>(ctx.peer))) return;
  ctx.forwarded = *ctx.peer;
  if (forwardedClient(ctx.head, header, trusted, &ctx.forwarded)) ctx.peer = &ctx.forwarded;
}

}  // namespace

Reply RefusalHandler::start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) {
  (void)sink;  // always answers at once
  errors_->fill(ctx, ctx.routeStatus, plan);
  return Reply::kReady;
}

HandlerTable::HandlerTable(const Config& cfg, FileCache* cache, const SharedState* shared,
                           std::string_view boundary, const Sites* sites, UpstreamPool* upstreams)
    : statusPath_(cfg.statusPath.empty() ? std::string() : cfg.statusPath.substr(1)),
      statusOn_(!cfg.statusPath.empty()),
      metricsPath_(cfg.metricsPath.empty() ? std::string() : cfg.metricsPath.substr(1)),
      metricsOn_(!cfg.metricsPath.empty()),
      healthPath_(cfg.healthPath.empty() ? std::string() : cfg.healthPath.substr(1)),
      healthOn_(!cfg.healthPath.empty()),
      cfg_(&cfg),
      sites_(sites),
      errors_(cfg.errorPages, cache, sites),
      static_(StaticFileOptions{cfg.autoindex, cfg.maxAge, boundary, cfg.root}, cache, &errors_,
              sites),
      return_(&errors_),
      refusal_(&errors_),
      status_(shared, cfg.statusAllowRemote, &errors_),
      metrics_(shared, cfg.metricsAllowRemote, &errors_),
      health_(shared, &errors_) {
  byKind_[static_cast<size_t>(HandlerKind::kStatic)] = &static_;
  byKind_[static_cast<size_t>(HandlerKind::kReturn)] = &return_;
  byKind_[static_cast<size_t>(HandlerKind::kFastCgi)] = &static_;  // answers 500 without a pool
  byKind_[static_cast<size_t>(HandlerKind::kProxy)] = &static_;
  if (upstreams != nullptr) {
    fastcgi_ = std::make_unique<FastCgiHandler>(upstreams, &errors_,
                                                static_cast<uint32_t>(std::max(cfg.conns, 1)));
    byKind_[static_cast<size_t>(HandlerKind::kFastCgi)] = fastcgi_.get();
    fastcgi_->useRedirects(&static_);  // X-Accel-Redirect
    if (sites != nullptr) fastcgi_->useListens(&sites->routes().listens);
    proxy_ = std::make_unique<ProxyHandler>(upstreams, &errors_,
                                            static_cast<uint32_t>(std::max(cfg.conns, 1)));
    byKind_[static_cast<size_t>(HandlerKind::kProxy)] = proxy_.get();
  }
  static_.useHandlers(byKind_);  // internal redirects into gateway locations
  std::string err;               // a bad group never gets here: -t and the worker's start refuse it
  if (compileUpstreams(cfg, &upstreams_, &err)) {
    status_.setUpstreams(&upstreams_);
    metrics_.setUpstreams(&upstreams_);
  }
}

Handler* HandlerTable::select(RequestContext& ctx) {
  ctx.server = nullptr;
  ctx.location = nullptr;
  ctx.routeStatus = 0;
  ctx.maxBody = 0;
  if (Handler* h = monitoring(ctx); h != nullptr || sites_ == nullptr) {
    resolveClient(cfg_->realIpFrom, cfg_->realIpHeader, ctx);
    return h != nullptr ? h : &static_;
  }
  return route(ctx);
}

// The health path, the status page and the metrics endpoint, answered before any routing.
Handler* HandlerTable::monitoring(const RequestContext& ctx) {
  if (ctx.pathStatus != 0) return nullptr;
  if (healthOn_ && ctx.path == healthPath_) return &health_;
  if (statusOn_ && ctx.path == statusPath_) return &status_;
  if (metricsOn_ && ctx.path == metricsPath_) return &metrics_;
  return nullptr;
}

// Host, then server, then location, then the location's gate, then its handler.
Handler* HandlerTable::route(RequestContext& ctx) {
  if (ctx.hostStatus != 0) return refuse(ctx, ctx.hostStatus);
  const RouteConfig& routes = sites_->routes();
  const ListenAddr& la =
      routes.listens[ctx.listenIndex < routes.listens.size() ? ctx.listenIndex : 0];
  ctx.server = &selectServer(la, ctx.host);
  resolveClient(ctx.server->realIpFrom, ctx.server->realIpHeader, ctx);
  if (!ctx.server->healthPath.empty() && ctx.pathStatus == 0 && ctx.path == ctx.server->healthPath)
    return &health_;
  // A target without a URI ("OPTIONS *", or one refused with 400) is the server's to answer.
  ctx.location = ctx.uri.empty() ? &ctx.server->root : &selectLocation(*ctx.server, ctx.uri);
  const LocationSettings& s = ctx.location->settings;
  ctx.maxBody = s.maxBody;  // the connection enforces it while reading the body (413)
  if (s.internal) return refuse(ctx, 404);  // only internal redirects may enter
  if (const int refused = checkAccess(s, ctx); refused != 0) return refuse(ctx, refused);
  return byKind_[static_cast<size_t>(s.handler)];
}

}  // namespace hs
