// The seam between a connection and what answers its requests. A Handler gets a parsed request in
// a RequestContext and describes the answer in a ResponsePlan; it never touches the socket or the
// connection's state. A synchronous handler (static files, the status page) fills the plan at once.
// An asynchronous one (an upstream: FastCGI, a proxy) answers later through the ResponseSink the
// connection gives it, streams the body in pieces, and is paused and resumed with the client's
// backpressure. HandlerSelector is the single point where a request is matched to its handler.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <ctime>
#include <string_view>

#include "HttpRequest.h"
#include "ResponsePlan.h"

namespace hs {

class Handler;
class RequestBody;
struct Location;
struct PoolTask;
struct RefusalDetail;
struct Server;

// What a handler may know about the request it answers. Every view stays valid until the
// response ends (the connection keeps the request's bytes until then).
struct RequestContext {
  const HttpRequest* req = nullptr;
  const char* base = nullptr;  // the request's first byte: req's spans are relative to it
  std::string_view target;     // the request-target as sent
  std::string_view rawPath;    // its path, still percent-encoded ("/" when absent)
  std::string_view query;      // after '?', without the fragment
  int pathStatus = 0;          // 0: `path` is valid; otherwise the 400/404 that refused the target
  const char* pathReason = nullptr;  // with a pathStatus: why (for the error log)
  std::string_view path;             // normalized, relative to the root, no leading '/'
  bool trailingSlash = false;        // the normalized path names a directory ("/", "/a/")
  std::string_view uri;   // nginx's $uri (normalizeUri): '/'-led, NUL-terminated; "" if refused
  std::string_view host;  // normalized: the absolute-form target's host, else Host; "" if none
  int hostStatus = 0;     // 400: the host is invalid, answered before any routing
  const sockaddr_in6* peer = nullptr;  // the client (zeroed when not looked up)
  std::string_view head;               // the request head as received (real_ip_header reads it)
  sockaddr_in6 forwarded{};     // the client a trusted real_ip_header names (peer then points here)
  uint16_t listenIndex = 0;     // the listen address it arrived on: RouteConfig::listens
  bool quitting = false;        // the server is stopping: answer, then close
  int64_t nowMs = 0;            // monotonic clock of the worker
  time_t nowSec = 0;            // wall clock, seconds
  std::string_view commonHead;  // "Server: ...\r\nDate: ...\r\n"
  // Set by the selector: the server and location that answer (nullptr without routing), or the
  // status that refuses the request before any handler runs (400, 401, 403, 413).
  const Server* server = nullptr;
  const Location* location = nullptr;
  int routeStatus = 0;
  uint64_t maxBody = 0;     // the location's client_max_body_size (0: the server-wide --max-body)
  uint32_t slot = 0;        // the connection's pool slot and its generation, which a thread-pool
  uint32_t generation = 0;  // task carries (see ThreadPool.h)
  // The request's whole body, for a handler that wantsBody(); nullptr for the others, or without
  // a body.
  const RequestBody* body = nullptr;
  // Set on the copy an internal redirect hands on (try_files, index, error_page, X-Accel-Redirect):
  bool asGet = false;  // X-Accel-Redirect: answered as a GET, whatever the method (HEAD stays)
  int keepStatus = 0;  // error_page without '=': the answer keeps this status (0: its own)

  std::string_view header(KnownHeader h) const { return req->header(h).in(base); }
  bool headOnly() const { return req->method == Method::kHead; }
  bool getOrHead() const {
    return asGet || req->method == Method::kGet || req->method == Method::kHead;
  }
};

// The connection's side of an asynchronous response. None of these does I/O or closes anything:
// each records what the handler said and schedules the connection, which sends when it runs next.
class ResponseSink {
 public:
  virtual const RequestContext& request() const = 0;
  virtual ResponsePlan& plan() = 0;
  // The head in plan() is complete (begin() and its header lines, plus any body parts already
  // added): the connection starts sending it. A body of unknown length is delimited by the close:
  // set plan().closeAfter before calling this.
  virtual void sendHead() = 0;
  // Queues `len` bytes of body. They must stay valid until Handler::resume() is called, which
  // happens once everything pushed has been taken by the client's socket. Returns false when
  // no more pieces can be queued before resume(); the handler then stops producing (paused).
  virtual bool push(const char* data, size_t len) = 0;
  // The body is complete; the response ends when the queued pieces are sent.
  virtual void end() = 0;
  // The handler cannot answer: before sendHead() an error response with `status` is sent; after
  // it, the connection is closed (the promised body cannot be delivered).
  virtual void fail(int status) = 0;
  // The server refuses the request on its own account (a file it may not or will not open): the
  // connection logs one error-log line with `d`, the client and the request line, within the
  // worker's per-second budget. May be called from Handler::start.
  virtual void refuse(const RefusalDetail& d) = 0;
  // An internal redirect gave the request to `next`, which answers through this sink: resume()
  // and cancel() go to it from now on.
  virtual void handOff(Handler* next) { (void)next; }

  void* handlerState = nullptr;  // the handler's per-request state, if it needs any

 protected:
  ~ResponseSink() = default;
};

enum class Reply : uint8_t {
  kReady,  // the plan is complete: send it
  kLater,  // the handler answers through the sink
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Answers ctx's request: fills `plan` and returns kReady, or keeps `sink` and returns kLater.
  virtual Reply start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) = 0;
  // True when start() needs the request body in ctx.body (received in full first); otherwise the
  // connection reads and discards it.
  virtual bool wantsBody() const { return false; }
  // The same for one request (the connection asks this one): a handler whose answer may be an
  // internal redirect into a handler that wantsBody() takes the body too.
  virtual bool takesBody(const RequestContext& ctx) const {
    (void)ctx;
    return wantsBody();
  }
  // Asynchronous handlers: what was pushed has been sent; push more (the handler is resumed).
  virtual void resume(ResponseSink& sink) { (void)sink; }
  // Asynchronous handlers: the connection is going away before end() or fail(); drop the
  // request's state. The sink must not be used after this.
  virtual void cancel(ResponseSink& sink) { (void)sink; }
  // A task this handler gave the worker's thread pool is done (on the reactor thread, at nowMs).
  // `sink` is the connection that asked if it still waits for this handler; nullptr when it went
  // away meanwhile (the task's slot generation no longer matches) or the worker is exiting.
  virtual void taskDone(PoolTask& task, ResponseSink* sink, int64_t nowMs) {
    (void)task, (void)sink, (void)nowMs;
  }
};

// nginx's internal redirect, offered by the handler that serves URIs (static files) to one that
// answers with another URI (the gateway's X-Accel-Redirect): `uri` ('/'-led, NUL-terminated, valid
// during the call) is routed again in ctx.server, and the location it selects answers ctx's
// request through `plan` (kReady) or `sink` (kLater), as start() does.
class InternalRedirects {
 public:
  virtual Reply redirect(const RequestContext& ctx, std::string_view uri, ResponsePlan& plan,
                         ResponseSink& sink) = 0;

 protected:
  ~InternalRedirects() = default;
};

// Chooses the handler for a request; sets ctx.server, ctx.location and ctx.routeStatus. Never
// returns nullptr.
class HandlerSelector {
 public:
  virtual Handler* select(RequestContext& ctx) = 0;

 protected:
  ~HandlerSelector() = default;
};

}  // namespace hs
