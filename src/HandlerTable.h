// The worker's handlers and the rule that picks one for a request. This select() is the single
// point of routing: the status path goes to the status handler, the metrics path to the metrics
// handler; otherwise a missing or invalid host is refused (400), the server is chosen by listen
// address and host, the location in nginx's order, the location's gate (allow/deny, auth_basic) is
// passed (an `internal` location is 404 to clients), and the location's HandlerKind names the
// handler. Adding a handler is one entry in
// byKind_. Owns the handlers and the error pages they share.
#pragma once

#include <string>

#include "Config.h"
#include "ErrorPages.h"
#include "FastCgiHandler.h"
#include "Handler.h"
#include "HealthHandler.h"
#include "MetricsHandler.h"
#include "ProxyHandler.h"
#include "ReturnHandler.h"
#include "RouteConfig.h"
#include "SharedState.h"
#include "StaticFileHandler.h"
#include "StatusHandler.h"
#include "UpstreamConfig.h"

namespace hs {

class FileCache;
class Sites;

// Answers ctx.routeStatus: a request refused before any handler ran.
class RefusalHandler final : public Handler {
 public:
  explicit RefusalHandler(const ErrorPages* errors) : errors_(errors) {}
  Reply start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) override;

 private:
  const ErrorPages* errors_;
};

class HandlerTable final : public HandlerSelector {
 public:
  // `cfg`, `cache`, `shared` and `sites` are borrowed and must outlive the table. `boundary` is
  // the multipart/byteranges boundary. Without `sites` nothing is routed: every request goes to
  // the static-file handler over `cache`.
  HandlerTable(const Config& cfg, FileCache* cache, const SharedState* shared,
               std::string_view boundary, const Sites* sites = nullptr,
               UpstreamPool* upstreams = nullptr);
  HandlerTable(const HandlerTable&) = delete;
  HandlerTable& operator=(const HandlerTable&) = delete;

  Handler* select(RequestContext& ctx) override;
  const ErrorPages& errors() const { return errors_; }
  // Gives the static-file handler the worker's thread pool for its cache misses.
  void usePool(ThreadPool* pool) { static_.usePool(pool); }
  // The gateway, when the table was given an upstream pool (its targets are added by the worker).
  FastCgiHandler* fastcgi() { return fastcgi_.get(); }
  // The reverse proxy, likewise.
  ProxyHandler* proxy() { return proxy_.get(); }

 private:
  Handler* route(RequestContext& ctx);
  Handler* monitoring(const RequestContext& ctx);
  Handler* refuse(RequestContext& ctx, int status) {
    ctx.routeStatus = status;
    return &refusal_;
  }

  std::string statusPath_;  // without its leading '/', as ctx.path is; empty: no status page
  bool statusOn_;
  std::string metricsPath_;  // the same for the metrics endpoint
  bool metricsOn_;
  std::string healthPath_;  // the same for the health path
  bool healthOn_;
  const Config* cfg_;  // the top level's set_real_ip_from and real_ip_header
  const Sites* sites_;
  ErrorPages errors_;
  StaticFileHandler static_;
  ReturnHandler return_;
  RefusalHandler refusal_;
  std::unique_ptr<FastCgiHandler> fastcgi_;
  std::unique_ptr<ProxyHandler> proxy_;
  StatusHandler status_;
  MetricsHandler metrics_;
  HealthHandler health_;
  std::vector<UpstreamGroupSpec> upstreams_;  // named on the status page and the metrics
  Handler* byKind_[static_cast<size_t>(HandlerKind::kCount)];
};

}  // namespace hs
