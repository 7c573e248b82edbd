#include "ProxyHandler.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "ChunkedDecoder.h"
#include "ErrorPages.h"
#include "HttpLexical.h"
#include "HttpResponseHead.h"
#include "Log.h"
#include "ProxyRequest.h"
#include "RequestBody.h"
#include "RouteConfig.h"

namespace hs {

namespace {
constexpr size_t kOutCap = 16 * 1024;  // the request head (a client's 16 KiB head fits), then body
constexpr size_t kInCap = 16 * 1024;
// Body parts per round: the head and the last chunk must still fit ResponsePlan::kMaxParts. A
// run of data re-framed as a chunk costs three (size line, data, CRLF).
constexpr uint32_t kPartBudget = ResponsePlan::kMaxParts - 2;
constexpr size_t kMaxChunkHeads = kPartBudget / 3;

enum class Phase : uint8_t { kWaiting, kSending, kReading, kDone };

// Fields of the upstream's head the proxy writes itself (or, as nginx, replaces by its own).
bool replacedField(std::string_view name) {
  return equalsLowerCase(name, "content-length") || equalsLowerCase(name, "server") ||
         equalsLowerCase(name, "date");
}
}  // namespace

struct ProxyExchange final : public UpstreamUser {
  using Framing = HttpResponseHead::Framing;

  ProxyHandler* handler = nullptr;
  const ProxyTarget* target = nullptr;
  ResponseSink* sink = nullptr;
  UpstreamConn* conn = nullptr;
  Phase phase = Phase::kWaiting;
  bool retried = false;
  bool received = false;  // any response byte arrived
  bool headSent = false;
  bool reframe = false;   // the client gets the body chunked
  bool paused = false;    // pieces pushed that the client has not taken yet
  bool bodyDone = false;  // the upstream's body is complete (sent once the pieces are)
  Framing framing = Framing::kNone;
  uint64_t remaining = 0;             // kLength: body bytes still to come
  const RequestBody* body = nullptr;  // the request's, sent after the head
  uint64_t bodyOff = 0;               // its bytes already in `out`
  size_t headLen = 0;                 // the request head's bytes at the start of `out`
  size_t outLen = 0, outSent = 0;
  size_t inPos = 0, inLen = 0;
  uint32_t chunkHeadsUsed = 0;
  uint32_t partsUsed = 0;  // this round's
  HttpResponseHead head;
  ChunkedDecoder chunks{UINT64_MAX};
  char chunkHeads[kMaxChunkHeads][20];
  char out[kOutCap];
  char in[kInCap];

  void onUpstreamReady(UpstreamConn* c, bool reused) override;
  void onUpstreamEvent(UpstreamConn* c, uint32_t events) override;
  void onUpstreamTimeout(UpstreamConn* c) override;
  void onUpstreamFailed(int status) override;

  void begin();
  bool sendMore();
  bool refill();
  void readMore();
  bool atEof();
  bool process();
  bool processBody();
  bool pushData(std::string_view data);
  bool startResponse();
  void addFraming(FixedWriter& w);
  void complete();
  void error(int status, const char* why);
  int64_t now() const { return handler->pool()->nowMs(); }
};

ProxyHandler::ProxyHandler(UpstreamPool* pool, const ErrorPages* errors, uint32_t maxExchanges)
    : pool_(pool), errors_(errors), exchanges_(maxExchanges) {}

ProxyHandler::~ProxyHandler() = default;

void ProxyHandler::addTarget(const void* location, ProxyTarget target) {
  targets_.emplace_back(location, std::make_unique<ProxyTarget>(std::move(target)));
}

const ProxyTarget* ProxyHandler::targetFor(const void* location) const {
  for (const auto& [loc, t] : targets_) {
    if (loc == location) return t.get();
  }
  return nullptr;
}

// The request head into x->out, with as much of the body as fits after it.
bool ProxyHandler::writeHead(ProxyExchange* x) {
  const RequestContext& ctx = x->sink->request();
  x->body = ctx.body != nullptr && ctx.body->size() > 0 ? ctx.body : nullptr;
  int64_t length = ctx.body != nullptr ? static_cast<int64_t>(ctx.body->size())
                                       : (ctx.req->contentLength >= 0 ? 0 : -1);
  x->headLen =
      writeProxyRequest(ctx, *x->target, length, x->out, sizeof x->out, scratch_, sizeof scratch_);
  return x->headLen != 0;
}

Reply ProxyHandler::start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) {
  const ProxyTarget* t = targetFor(ctx.location);
  int status = t == nullptr ? 500 : 0;
  // A hidden segment (a 404 only for static files) is the upstream's to judge; a bad target is not.
  if (status == 0 && ctx.pathStatus != 0 && (ctx.pathStatus != 404 || ctx.uri.empty())) {
    status = ctx.pathStatus;
  }
  if (status == 0 && (ctx.req->contentLength > 0 || ctx.req->chunked) && ctx.body == nullptr) {
    status = 500;
  }
  ProxyExchange* x = status == 0 ? exchanges_.acquire() : nullptr;
  if (status == 0 && x == nullptr) status = 503;
  if (x != nullptr) {
    x->handler = this;
    x->target = t;
    x->sink = &sink;
    if (!writeHead(x)) {
      exchanges_.release(x);
      status = 500;
    }
  }
  if (status != 0) {
    errors_->fill(ctx, status, plan);
    return Reply::kReady;
  }
  x->retried = false;
  x->begin();
  sink.handlerState = x;
  pool_->acquire(t->upstream, x);
  return Reply::kLater;
}

// The per-attempt state: a retry starts here again.
void ProxyExchange::begin() {
  const RequestContext& ctx = sink->request();
  conn = nullptr;
  phase = Phase::kWaiting;
  received = headSent = reframe = paused = bodyDone = false;
  framing = Framing::kNone;
  remaining = 0;
  bodyOff = 0;
  outLen = outSent = inPos = inLen = 0;
  chunkHeadsUsed = partsUsed = 0;
  head.reset(ctx.headOnly(), false);
  chunks.reset();
}

void ProxyHandler::resume(ResponseSink& sink) {
  auto* x = static_cast<ProxyExchange*>(sink.handlerState);
  if (x == nullptr || x->phase == Phase::kDone) return;
  x->paused = false;
  x->chunkHeadsUsed = x->partsUsed = 0;
  if (!x->process()) return;
  if (x->conn != nullptr) {
    x->conn->setDeadline(pool_->nowMs() + x->target->readTimeoutMs);
    x->readMore();
  }
}

void ProxyHandler::cancel(ResponseSink& sink) {
  auto* x = static_cast<ProxyExchange*>(sink.handlerState);
  if (x == nullptr) return;
  if (x->conn != nullptr) {
    pool_->release(x->conn, false);  // mid-exchange: the connection cannot be reused
  } else if (x->phase == Phase::kWaiting) {
    pool_->cancelWait(x->target->upstream, x);
  }
  finish(x);
}

void ProxyHandler::finish(ProxyExchange* x) {
  x->phase = Phase::kDone;
  x->conn = nullptr;
  if (x->sink != nullptr) x->sink->handlerState = nullptr;
  x->sink = nullptr;
  exchanges_.release(x);
}

void ProxyExchange::onUpstreamReady(UpstreamConn* c, bool reused) {
  (void)reused;
  conn = c;
  phase = Phase::kSending;
  outLen = headLen;
  outSent = 0;
  if (body != nullptr) {  // the body's start rides in the head's segment
    const ssize_t n = body->read(0, out + headLen, sizeof out - headLen);
    if (n < 0) {
      error(500, "the request body could not be read");
      return;
    }
    bodyOff = static_cast<uint64_t>(n);
    outLen += static_cast<size_t>(n);
  }
  c->setDeadline(now() + target->sendTimeoutMs);
  if (sendMore()) readMore();
}

void ProxyExchange::onUpstreamEvent(UpstreamConn* c, uint32_t events) {
  (void)c, (void)events;  // a socket error shows in send() or recv()
  // After an error the exchange may already be on its retry's connection: nothing more here.
  if (phase == Phase::kSending && !sendMore()) return;
  if (phase == Phase::kReading && !paused) readMore();
}

void ProxyExchange::onUpstreamTimeout(UpstreamConn* c) {
  (void)c;
  error(504, phase == Phase::kSending ? "send timed out" : "read timed out");
}

void ProxyExchange::onUpstreamFailed(int status) {
  conn = nullptr;
  error(status, status == 504 ? "connect timed out" : "no connection");
}

// Writes the request (head, then body). True when all is sent (reading starts); false when
// waiting for the socket or failed.
bool ProxyExchange::sendMore() {
  for (;;) {
    if (outSent == outLen) {
      if (body == nullptr || bodyOff == body->size()) break;
      if (!refill()) return false;
    }
    const ssize_t n = ::send(conn->fd(), out + outSent, outLen - outSent, MSG_NOSIGNAL);
    if (n > 0) {
      outSent += static_cast<size_t>(n);
      conn->setDeadline(now() + target->sendTimeoutMs);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return false;
    error(502, "send failed");
    return false;
  }
  phase = Phase::kReading;
  conn->setDeadline(now() + target->readTimeoutMs);
  return true;
}

bool ProxyExchange::refill() {
  const ssize_t n = body->read(bodyOff, out, sizeof out);
  if (n <= 0) {
    LOG_SYSERR(n < 0 ? errno : EIO, "read() of a buffered request body failed");
    error(500, "the request body could not be read");
    return false;
  }
  bodyOff += static_cast<uint64_t>(n);
  outLen = static_cast<size_t>(n);
  outSent = 0;
  return true;
}

void ProxyExchange::readMore() {
  while (phase == Phase::kReading && !paused && conn != nullptr) {
    if (inPos == inLen) inPos = inLen = 0;
    if (inLen == sizeof in) return;  // cannot happen: everything read is processed first
    const ssize_t n = ::recv(conn->fd(), in + inLen, sizeof in - inLen, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n == 0) {
      if (!atEof()) return;
      continue;
    }
    if (n < 0) {
      error(502, "reset the connection");
      return;
    }
    received = true;
    inLen += static_cast<size_t>(n);
    conn->setDeadline(now() + target->readTimeoutMs);
    if (!process()) return;
  }
}

// The upstream closed its side: the end of a close-delimited body, else an error.
bool ProxyExchange::atEof() {
  if (headSent && framing == Framing::kClose) {
    UpstreamConn* c = conn;
    conn = nullptr;
    handler->pool()->release(c, false);
    bodyDone = true;
    complete();
    return false;
  }
  if (!headSent && head.finish() != HttpResponseHead::Status::kDone) {
    error(502,
          received ? "closed the connection inside the response head" : "closed the connection");
    return false;
  }
  error(502, "closed the connection before the body's end");
  return false;
}

// Parses and passes on what is buffered. False when the exchange ended or paused for the client.
bool ProxyExchange::process() {
  if (!headSent) {
    size_t used = 0;
    const HttpResponseHead::Status st = head.feed(in + inPos, inLen - inPos, &used);
    inPos += used;
    if (st == HttpResponseHead::Status::kError) {
      error(502, "sent an invalid response head");
      return false;
    }
    if (st == HttpResponseHead::Status::kNeedMore) return true;
    if (!startResponse()) return false;
  }
  return processBody();
}

bool ProxyExchange::processBody() {
  bool pushed = false;
  while (!bodyDone && inPos < inLen) {
    std::string_view data;
    if (partsUsed + 3 > kPartBudget) break;
    if (framing == Framing::kChunked) {
      size_t used = 0;
      const ChunkedDecoder::Status st = chunks.next(in + inPos, inLen - inPos, &used, &data);
      inPos += used;
      if (st == ChunkedDecoder::Status::kError) {
        error(502, "sent a malformed chunk");
        return false;
      }
      bodyDone = st == ChunkedDecoder::Status::kDone;
    } else if (framing == Framing::kLength) {
      data = {in + inPos, static_cast<size_t>(std::min<uint64_t>(remaining, inLen - inPos))};
      inPos += data.size();
      remaining -= data.size();
      bodyDone = remaining == 0;
    } else if (framing == Framing::kClose) {
      data = {in + inPos, inLen - inPos};
      inPos = inLen;
    } else {
      break;  // bodiless: anything after the head is stray
    }
    if (!data.empty()) pushed = pushData(data) || pushed;
  }
  bodyDone = bodyDone || framing == Framing::kNone;
  if (pushed) {
    paused = true;  // the pieces point into `in`: no reading until the client took them
    if (conn != nullptr) conn->setDeadline(0);  // a slow client is not the upstream's fault
    return false;
  }
  if (bodyDone) {
    complete();
    return false;
  }
  return true;
}

bool ProxyExchange::pushData(std::string_view data) {
  partsUsed += reframe ? 3 : 1;
  if (reframe) {
    char* h = chunkHeads[chunkHeadsUsed++];
    const int n = std::snprintf(h, sizeof chunkHeads[0], "%zx\r\n", data.size());
    sink->push(h, static_cast<size_t>(n));
  }
  sink->push(data.data(), data.size());
  if (reframe) sink->push("\r\n", 2);
  return true;
}

bool ProxyExchange::startResponse() {
  ResponsePlan& plan = sink->plan();
  const RequestContext& ctx = sink->request();
  const int status = head.status();
  FixedWriter& w = plan.begin(status, ctx.commonHead);
  for (size_t i = 0; i < head.fieldCount(); ++i) {
    const HttpResponseHead::Field& f = head.field(i);
    if (!f.hopByHop && !replacedField(f.name)) w.header(f.name, f.value);
  }
  if (ctx.location != nullptr) w.add(headerLinesFor(ctx.location->settings, status));
  framing = head.framing();
  remaining = head.contentLength();
  addFraming(w);
  if (w.overflowed()) {
    error(502, "sent too large a head");
    return false;
  }
  headSent = true;
  sink->sendHead();
  return true;
}

// How the client learns where the body ends: the upstream's length, else chunked (HTTP/1.1) or
// the close (HTTP/1.0).
void ProxyExchange::addFraming(FixedWriter& w) {
  const RequestContext& ctx = sink->request();
  const int status = head.status();
  if (framing == Framing::kLength || (ctx.headOnly() && head.hasLength() && status != 304)) {
    w.header("Content-Length", head.contentLength());
  } else if (framing == Framing::kNone) {
    return;
  } else if (ctx.req->versionMinor >= 1) {
    reframe = true;
    w.add("Transfer-Encoding: chunked\r\n");
  } else {
    sink->plan().closeAfter = true;
  }
}

void ProxyExchange::complete() {
  if (reframe) sink->push("0\r\n\r\n", 5);
  if (conn != nullptr) {
    // Bytes after the response belong to no request: such a connection is not kept.
    const bool clean = inPos == inLen && head.keepAlive();
    if (!clean && inPos < inLen) LOG_WARN("upstream sent bytes after a complete response");
    handler->pool()->release(conn, clean);
    conn = nullptr;
  }
  ResponseSink* s = sink;
  handler->finish(this);
  s->end();
}

// The exchange failed: retried once on a fresh connection for a GET or HEAD that got no response
// byte yet, else the client gets `status` (before the head, on a connection kept open) or a closed
// connection (after it).
void ProxyExchange::error(int status, const char* why) {
  const RequestContext& ctx = sink->request();
  LOG_ERROR("upstream %s: %s while answering \"%.*s\"", "HTTP", why,
            static_cast<int>(ctx.target.size()), ctx.target.data());
  if (conn != nullptr) handler->pool()->release(conn, false);
  conn = nullptr;
  const Method m = ctx.req->method;
  if (!received && !retried && status == 502 && (m == Method::kGet || m == Method::kHead)) {
    retried = true;
    begin();
    if (handler->writeHead(this)) {  // `out` may hold body bytes by now
      handler->pool()->acquire(target->upstream, this, 0, true);
      return;
    }
    status = 500;
  }
  ResponseSink* s = sink;
  const bool started = headSent;
  handler->finish(this);
  if (started) {
    s->fail(status);  // the promised body cannot be delivered: the client connection closes
    return;
  }
  // The request was read whole, so the client connection stays usable after our answer.
  handler->errors()->fill(s->request(), status, s->plan());
  s->end();
}

}  // namespace hs
