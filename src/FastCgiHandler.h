// The FastCGI gateway: an asynchronous Handler that passes a request to an application over a
// kept-open connection from the worker's UpstreamPool (FCGI_KEEP_CONN, one request at a time per
// connection) and streams the reply back with the client's backpressure. The application's output
// is untrusted: its records (FastCgiDecoder) and CGI head (CgiResponseHead) are checked, hop-by-hop
// fields dropped, a bad reply is a 502, a timeout a 504. A GET or HEAD whose connection failed
// before any reply is retried once on another connection. A request body, received in full by the
// connection first, follows the params as STDIN records. An X-Accel-Redirect from the app drops
// its body and has the static files answer that URI (internal locations included), with the
// app's Set-Cookie, Content-Disposition, Cache-Control and Expires. Owns the per-request state
// (from a free list, so the steady state allocates nothing); borrows the pool and the error pages.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "CgiResponseHead.h"
#include "FastCgiCodec.h"
#include "FastCgiTarget.h"
#include "FreeListPool.h"
#include "Handler.h"
#include "RouteConfig.h"
#include "UpstreamPool.h"

namespace hs {

class ErrorPages;

struct FastCgiExchange;

class FastCgiHandler final : public Handler {
 public:
  FastCgiHandler(UpstreamPool* pool, const ErrorPages* errors, uint32_t maxExchanges);
  // The target of requests whose ctx.location is `location` (set by the selector).
  void addTarget(const void* location, FastCgiTarget target);
  ~FastCgiHandler() override;

  Reply start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) override;
  void resume(ResponseSink& sink) override;
  void cancel(ResponseSink& sink) override;
  bool wantsBody() const override { return true; }  // buffered whole before the app is contacted
  // Who serves an X-Accel-Redirect's URI (the static files; borrowed). Without it the header is
  // dropped and the app's answer passed on.
  void useRedirects(InternalRedirects* redirects) { redirects_ = redirects; }
  // The listen addresses (RouteConfig::listens, borrowed): SERVER_ADDR and SERVER_PORT of a
  // request are those of the address it arrived on.
  void useListens(const std::vector<ListenAddr>* listens) { listens_ = listens; }

  // For the exchanges.
  UpstreamPool* pool() const { return pool_; }
  const ErrorPages* errors() const { return errors_; }
  InternalRedirects* redirects() const { return redirects_; }
  // The exchange no longer answers through its sink (finish() also recycles it).
  void detach(FastCgiExchange* x);
  void finish(FastCgiExchange* x);

 private:
  const FastCgiTarget* targetFor(const void* location) const;
  int check(const RequestContext& ctx, const FastCgiTarget* t) const;
  bool buildRequest(const RequestContext& ctx, FastCgiExchange* x);

  std::vector<std::pair<const void*, std::unique_ptr<FastCgiTarget>>> targets_;
  UpstreamPool* pool_;
  const ErrorPages* errors_;
  InternalRedirects* redirects_ = nullptr;
  const std::vector<ListenAddr>* listens_ = nullptr;
  FreeListPool<FastCgiExchange> exchanges_;
  char scratch_[16 * 1024 + 256];  // joined header values while the params are written
};

}  // namespace hs
