// The reverse proxy: an asynchronous Handler that passes a request to an HTTP/1.1 upstream over a
// kept-open connection from the worker's UpstreamPool and streams the response back with the
// client's backpressure. The upstream's response is untrusted: its head is checked
// (HttpResponseHead), a chunked body decoded (ChunkedDecoder) and framed again for the client
// (chunked for HTTP/1.1, close-delimited for 1.0), a length-known body passed with its
// Content-Length. A bad response is a 502 and its connection is closed, a timeout a 504; a body
// that ends early closes the client connection; bytes after a complete response close the
// upstream connection, never reaching a client. A GET or HEAD whose response has not started is
// retried once on a fresh connection. A request body, received in full by the connection first,
// follows the head with its Content-Length. Owns the per-request state (from a free list: the
// steady state allocates nothing); borrows the pool and the error pages.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "FreeListPool.h"
#include "Handler.h"
#include "ProxyTarget.h"
#include "UpstreamPool.h"

namespace hs {

class ErrorPages;
struct ProxyExchange;

class ProxyHandler final : public Handler {
 public:
  ProxyHandler(UpstreamPool* pool, const ErrorPages* errors, uint32_t maxExchanges);
  ~ProxyHandler() override;
  // The target of requests whose ctx.location is `location` (set by the selector).
  void addTarget(const void* location, ProxyTarget target);

  Reply start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) override;
  void resume(ResponseSink& sink) override;
  void cancel(ResponseSink& sink) override;
  bool wantsBody() const override { return true; }  // buffered whole, sent with its length

  // For the exchanges.
  UpstreamPool* pool() const { return pool_; }
  const ErrorPages* errors() const { return errors_; }
  void finish(ProxyExchange* x);
  bool writeHead(ProxyExchange* x);

 private:
  const ProxyTarget* targetFor(const void* location) const;

  std::vector<std::pair<const void*, std::unique_ptr<ProxyTarget>>> targets_;
  UpstreamPool* pool_;
  const ErrorPages* errors_;
  FreeListPool<ProxyExchange> exchanges_;
  char scratch_[4096];  // a header value while the request head is written
};

}  // namespace hs
