#include "FastCgiHandler.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "Clock.h"
#include "ErrorPages.h"
#include "FastCgiParams.h"
#include "HttpLexical.h"
#include "HttpResponse.h"
#include "Log.h"
#include "RequestBody.h"
#include "UpstreamGroup.h"
#include "UrlPath.h"

namespace hs {

namespace {
constexpr uint16_t kRequestId = 1;
constexpr size_t kOutCap = 24 * 1024;  // the request's records: a 16 KiB head fits
constexpr size_t kInCap = 16 * 1024;
constexpr size_t kMaxChunkHeads = ResponsePlan::kMaxParts / 2;
constexpr size_t kAccelUriCap = 4096;
constexpr size_t kKeptCap = 4096;
static_assert(kAccelUriCap + kKeptCap <= kOutCap);

enum class Phase : uint8_t { kWaiting, kSending, kReading, kDone };

bool hopByHop(std::string_view name) {
  for (std::string_view h : {"Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer",
                             "Upgrade", "Proxy-Connection", "Server", "Date", "X-Accel-Redirect"}) {
    if (equalsIgnoreCase(name, h)) return true;
  }
  return false;
}

// The app's fields an X-Accel-Redirect answer keeps (nginx's list, less Content-Type: the file's
// own type is sent, where nginx would pass PHP's default text/html).
bool keptOnRedirect(std::string_view name) {
  for (std::string_view h : {"Set-Cookie", "Content-Disposition", "Cache-Control", "Expires"}) {
    if (equalsIgnoreCase(name, h)) return true;
  }
  return false;
}
}  // namespace

struct FastCgiExchange final : public UpstreamUser {
  FastCgiHandler* handler = nullptr;
  const FastCgiTarget* target = nullptr;
  ResponseSink* sink = nullptr;
  UpstreamConn* conn = nullptr;
  Phase phase = Phase::kWaiting;
  bool retried = false;
  int server = UpstreamGroup::kNone;  // the group's server this attempt went to
  uint64_t tried = 0;                 // the group's servers tried (bit i: server i)
  Upstream* upstream = nullptr;       // this attempt's address (the target's, or a group server's)
  uint32_t clientKey = 0;             // for the group's hash balancing
  bool received = false;              // any reply byte arrived
  bool headSent = false;
  bool chunked = false;
  bool bodiless = false;
  bool paused = false;    // pieces pushed that the client has not taken yet
  int64_t promised = -1;  // the app's Content-Length
  int keepStatus = 0;     // error_page without '=': the status the answer keeps
  bool accel = false;     // X-Accel-Redirect: the body is dropped, accelUri served
  size_t accelLen = 0, keptLen = 0;
  const RequestBody* body = nullptr;  // the request's, sent as STDIN after the params
  uint64_t bodyOff = 0;               // its bytes already in STDIN records
  bool stdinDone = false;             // the empty STDIN record is written
  uint64_t bodySent = 0;
  size_t outLen = 0, outSent = 0;
  size_t inPos = 0, inLen = 0;
  uint32_t chunkHeadsUsed = 0;
  int64_t askedUs = 0;  // this attempt asked for a connection
  int64_t readyUs = 0;  // it got one (0: not yet)
  FastCgiDecoder decoder{kRequestId};
  CgiResponseHead head;
  char chunkHeads[kMaxChunkHeads][16];
  char out[kOutCap];
  char in[kInCap];
  // X-Accel-Redirect's URI (normalized, NUL-terminated) and the header lines its answer keeps
  // live in `out`, whose records are all sent before any reply byte is read.
  char* accelUri() { return out; }
  char* kept() { return out + kAccelUriCap; }

  void onUpstreamReady(UpstreamConn* c, bool reused) override;
  void onUpstreamEvent(UpstreamConn* c, uint32_t events) override;
  void onUpstreamTimeout(UpstreamConn* c) override;
  void onUpstreamFailed(int status) override;

  bool sendMore();
  bool refill();
  void readMore();
  bool process();
  bool onStdout(std::string_view data);
  bool startResponse();
  bool startAccel(std::string_view uri);
  void redirectAccel();
  bool pushBody(std::string_view data);
  void complete();
  Upstream* nextUpstream();
  void connect(Upstream* u);
  void judge(UpstreamOutcome outcome);
  bool mayRetry(int status) const;
  void error(int status, const char* why);
  void answer(int status);
  void noteAttempt(int status);
};

FastCgiHandler::FastCgiHandler(UpstreamPool* pool, const ErrorPages* errors, uint32_t maxExchanges)
    : pool_(pool), errors_(errors), exchanges_(maxExchanges) {}

void FastCgiHandler::addTarget(const void* location, FastCgiTarget target) {
  targets_.emplace_back(location, std::make_unique<FastCgiTarget>(std::move(target)));
}

const FastCgiTarget* FastCgiHandler::targetFor(const void* location) const {
  for (const auto& [loc, t] : targets_) {
    if (loc == location) return t.get();
  }
  return nullptr;
}

// 0 when the request may go to the application, else the status that answers it.
int FastCgiHandler::check(const RequestContext& ctx, const FastCgiTarget* t) const {
  const HttpRequest& r = *ctx.req;
  struct stat st;
  if (t == nullptr) return 500;
  if (ctx.pathStatus != 0) return ctx.pathStatus;
  if ((r.contentLength > 0 || r.chunked) && ctx.body == nullptr) return 500;
  // Never let the application pick another file (cgi.fix_pathinfo): the script must exist.
  // ctx.uri is '/'-led and NUL-terminated.
  if (t->checkScript && (ctx.uri.size() < 2 ||
                         ::fstatat(t->rootFd, ctx.uri.data() + 1, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
                         !S_ISREG(st.st_mode))) {
    return 404;
  }
  return 0;
}

FastCgiHandler::~FastCgiHandler() = default;

bool FastCgiHandler::buildRequest(const RequestContext& ctx, FastCgiExchange* x) {
  FastCgiEncoder enc(x->out, sizeof x->out, kRequestId);
  FastCgiParamsInput in;
  in.documentRoot = x->target->documentRoot;
  in.scriptName = ctx.uri;
  std::string_view host = ctx.header(KnownHeader::kHost);
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']') == std::string_view::npos) {
    host = host.substr(0, colon);
  }
  in.serverName = host;
  if (listens_ != nullptr && ctx.listenIndex < listens_->size()) {
    const ListenAddr& la = (*listens_)[ctx.listenIndex];
    in.serverAddr = la.ip;  // as configured: a wildcard address is passed as such
    in.serverPort = la.port;
  }
  in.serverSoftware = x->target->serverSoftware;
  in.params = x->target->params;
  // A chunked body's length is known now that it is buffered (nginx passes it the same way).
  in.contentLength =
      ctx.body != nullptr ? static_cast<int64_t>(ctx.body->size()) : ctx.req->contentLength;
  x->body = ctx.body != nullptr && ctx.body->size() > 0 ? ctx.body : nullptr;
  x->bodyOff = 0;
  x->stdinDone = x->body == nullptr;
  bool ok = enc.beginRequest(true) &&
            writeFastCgiParams(ctx, in, &enc, scratch_, sizeof scratch_) == ParamsStatus::kOk &&
            enc.endParams() && (x->body != nullptr || enc.endStdin());
  enc.seal();
  x->outLen = enc.size();
  return ok;
}

Reply FastCgiHandler::start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) {
  const FastCgiTarget* t = targetFor(ctx.location);
  int status = check(ctx, t);
  FastCgiExchange* x = status == 0 ? exchanges_.acquire() : nullptr;
  if (status == 0 && x == nullptr) status = 503;
  if (x != nullptr) x->target = t;
  if (status == 0 && !buildRequest(ctx, x)) {
    exchanges_.release(x);
    status = 500;
  }
  if (status != 0) {
    errors_->fill(ctx, status, plan);
    return Reply::kReady;
  }
  x->handler = this;
  x->sink = &sink;
  x->conn = nullptr;
  x->phase = Phase::kWaiting;
  x->retried = x->received = x->headSent = x->chunked = x->paused = false;
  x->bodiless = ctx.headOnly();
  x->promised = -1;
  x->keepStatus = ctx.keepStatus;
  x->accel = false;
  x->bodySent = 0;
  x->outSent = x->inPos = x->inLen = 0;
  x->decoder.reset(kRequestId);
  x->head.reset();
  x->askedUs = monotonicUs();
  x->readyUs = 0;
  x->server = UpstreamGroup::kNone;
  x->tried = 0;
  x->upstream = nullptr;
  x->clientKey = t->group != nullptr ? UpstreamGroup::clientKey(ctx.peer) : 0;
  sink.handlerState = x;
  Upstream* up = x->nextUpstream();
  if (up == nullptr) {  // every server of the group is down: nginx's "no live upstreams"
    LOG_ERROR("upstream %s: no live upstreams while answering \"%.*s\"", t->group->name().c_str(),
              static_cast<int>(ctx.target.size()), ctx.target.data());
    finish(x);
    errors_->fill(ctx, 502, plan);
    return Reply::kReady;
  }
  x->connect(up);
  return Reply::kLater;
}

void FastCgiHandler::resume(ResponseSink& sink) {
  auto* x = static_cast<FastCgiExchange*>(sink.handlerState);
  if (x == nullptr || x->phase == Phase::kDone) return;
  x->paused = false;
  x->chunkHeadsUsed = 0;
  if (!x->process()) return;
  if (x->conn != nullptr) {
    x->conn->setDeadline(pool_->nowMs() + x->target->readTimeoutMs);
    x->readMore();
  }
}

void FastCgiHandler::cancel(ResponseSink& sink) {
  auto* x = static_cast<FastCgiExchange*>(sink.handlerState);
  if (x == nullptr) return;
  if (x->conn != nullptr) {
    pool_->release(x->conn, false);  // mid-request: the connection cannot be reused
  } else if (x->phase == Phase::kWaiting) {
    pool_->cancelWait(
        x->target->group != nullptr ? x->target->group->upstream(x->server) : x->target->upstream,
        x);
  }
  x->judge(UpstreamOutcome::kNeither);
  finish(x);
}

void FastCgiHandler::detach(FastCgiExchange* x) {
  x->phase = Phase::kDone;
  x->conn = nullptr;
  if (x->sink != nullptr) x->sink->handlerState = nullptr;
  x->sink = nullptr;
}

void FastCgiHandler::finish(FastCgiExchange* x) {
  detach(x);
  exchanges_.release(x);
}

void FastCgiExchange::onUpstreamReady(UpstreamConn* c, bool reused) {
  (void)reused;
  conn = c;
  readyUs = monotonicUs();
  phase = Phase::kSending;
  outSent = 0;
  c->setDeadline(handler->pool()->nowMs() + target->sendTimeoutMs);
  if (sendMore()) readMore();
}

void FastCgiExchange::onUpstreamEvent(UpstreamConn* c, uint32_t events) {
  (void)c;
  if (phase == Phase::kSending && !sendMore()) return;
  if ((events & EPOLLERR) != 0 && phase == Phase::kSending) {
    error(502, "connection error");
    return;
  }
  if (phase == Phase::kReading && !paused) readMore();
}

void FastCgiExchange::onUpstreamTimeout(UpstreamConn* c) {
  (void)c;
  error(504, phase == Phase::kSending ? "send timed out" : "read timed out");
}

void FastCgiExchange::onUpstreamFailed(int status) {
  conn = nullptr;
  if (status == 503) {  // this worker's queue for the server is full: not the server's failure
    judge(UpstreamOutcome::kNeither);
    answer(503);
    return;
  }
  error(status, "no connection");
}

// Writes the request's records. True when all are sent (reading starts); false when waiting for
// the socket or failed.
bool FastCgiExchange::sendMore() {
  while (outSent < outLen || !stdinDone) {
    if (outSent == outLen) {
      if (!refill()) return false;
      continue;
    }
    ssize_t n = ::send(conn->fd(), out + outSent, outLen - outSent, MSG_NOSIGNAL);
    if (n > 0) {
      outSent += static_cast<size_t>(n);
      if (body != nullptr) conn->setDeadline(handler->pool()->nowMs() + target->sendTimeoutMs);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return false;
    error(502, "send failed");
    return false;
  }
  phase = Phase::kReading;
  conn->setDeadline(handler->pool()->nowMs() + target->readTimeoutMs);
  return true;
}

// The next piece of the body into `out` as a STDIN record (the last piece with the empty one that
// ends the stream). `in` is free until the reply is read: it stages the bytes read from the body.
bool FastCgiExchange::refill() {
  const size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof in, body->size() - bodyOff));
  ssize_t n = body->read(bodyOff, in, want);
  if (n <= 0) {
    int err = n < 0 ? errno : EIO;
    LOG_SYSERR(err, "read() of a buffered request body failed");
    error(500, "the request body could not be read");
    return false;
  }
  bodyOff += static_cast<uint64_t>(n);
  FastCgiEncoder enc(out, sizeof out, kRequestId);
  bool ok = enc.stdinData({in, static_cast<size_t>(n)});
  if (bodyOff == body->size()) ok = ok && enc.endStdin();
  enc.seal();
  if (!ok) {
    error(500, "the request body did not fit a record");
    return false;
  }
  stdinDone = bodyOff == body->size();
  outLen = enc.size();
  outSent = 0;
  return true;
}

void FastCgiExchange::readMore() {
  while (phase == Phase::kReading && !paused && conn != nullptr) {
    if (inPos == inLen) inPos = inLen = 0;
    if (inLen == sizeof in) return;  // cannot happen: everything read is processed first
    ssize_t n = ::recv(conn->fd(), in + inLen, sizeof in - inLen, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      error(502, n == 0 ? "closed the connection" : "reset the connection");
      return;
    }
    received = true;
    inLen += static_cast<size_t>(n);
    conn->setDeadline(handler->pool()->nowMs() + target->readTimeoutMs);
    if (!process()) return;
  }
}

// Decodes what is buffered. False when the exchange ended or paused for the client.
bool FastCgiExchange::process() {
  while (inPos < inLen) {
    size_t used = 0;
    std::string_view payload;
    FastCgiDecoder::Event ev = decoder.feed(in + inPos, inLen - inPos, &used, &payload);
    inPos += used;
    switch (ev) {
      case FastCgiDecoder::Event::kStdout:
        if (!onStdout(payload)) return false;
        break;
      case FastCgiDecoder::Event::kStderr:
        LOG_WARN("FastCGI sent in stderr: \"%.*s\"",
                 static_cast<int>(std::min<size_t>(payload.size(), 1024)), payload.data());
        break;
      case FastCgiDecoder::Event::kEnd:
        complete();
        return false;
      case FastCgiDecoder::Event::kError:
        error(502, "sent a malformed record");
        return false;
      case FastCgiDecoder::Event::kNeedMore:
        break;
    }
    if (paused) return false;
  }
  return true;
}

bool FastCgiExchange::onStdout(std::string_view data) {
  if (!headSent) {
    size_t used = 0;
    CgiResponseHead::Status st = head.feed(data.data(), data.size(), &used);
    if (st == CgiResponseHead::Status::kError) {
      error(502, "sent an invalid response head");
      return false;
    }
    if (st == CgiResponseHead::Status::kNeedMore) return true;
    if (!startResponse()) return false;
    data.remove_prefix(used);
  }
  return data.empty() || pushBody(data);
}

bool FastCgiExchange::startResponse() {
  ResponsePlan& plan = sink->plan();
  const RequestContext& ctx = sink->request();
  for (size_t i = 0; i < head.fieldCount() && handler->redirects() != nullptr; ++i) {
    const CgiResponseHead::Field& f = head.field(i);
    if (equalsIgnoreCase(f.name, "X-Accel-Redirect")) return startAccel(f.value);
  }
  const int status = keepStatus != 0 ? keepStatus : head.status();
  FixedWriter& w = plan.begin(status, ctx.commonHead);
  bodiless = bodiless || status == 204 || status == 304 || status < 200;
  for (size_t i = 0; i < head.fieldCount(); ++i) {
    const CgiResponseHead::Field& f = head.field(i);
    if (equalsIgnoreCase(f.name, "Content-Length")) {
      uint64_t v = 0;
      if (promised >= 0 || !parseDecimal(f.value, &v, INT64_MAX)) {
        error(502, "sent an invalid or repeated Content-Length");
        return false;
      }
      promised = static_cast<int64_t>(v);
      continue;
    }
    if (hopByHop(f.name)) continue;
    w.add(f.name).add(": ").add(f.value).add("\r\n");
  }
  if (!head.contentType().empty()) w.add("Content-Type: ").add(head.contentType()).add("\r\n");
  if (!head.location().empty()) w.add("Location: ").add(head.location()).add("\r\n");
  if (promised >= 0 && status != 204 && status != 304) {
    w.add("Content-Length: ").addNum(static_cast<uint64_t>(promised)).add("\r\n");
  } else if (!bodiless && ctx.req->versionMinor >= 1) {
    chunked = true;
    w.add("Transfer-Encoding: chunked\r\n");
  } else if (!bodiless) {
    plan.closeAfter = true;  // HTTP/1.0 without a length: the close ends the body
  }
  if (w.overflowed()) {
    error(502, "sent too large a head");
    return false;
  }
  headSent = true;
  sink->sendHead();
  return true;
}

bool FastCgiExchange::pushBody(std::string_view data) {
  if (bodiless) return true;
  if (promised >= 0 && bodySent + data.size() > static_cast<uint64_t>(promised)) {
    error(502, "sent more body than its Content-Length");
    return false;
  }
  bodySent += data.size();
  bool room = true;
  if (chunked) {
    char* h = chunkHeads[chunkHeadsUsed++];
    int n = std::snprintf(h, 16, "%zx\r\n", data.size());
    room = sink->push(h, static_cast<size_t>(n));
  }
  room = sink->push(data.data(), data.size()) && room;
  if (chunked) room = sink->push("\r\n", 2) && room;
  paused = true;  // the pieces point into `in`: no reading until the client took them
  (void)room;
  return true;
}

// X-Accel-Redirect: nothing of the app's answer goes out but the fields kept for the redirect's;
// its body is read and dropped, and once it ended the URI is served (redirectAccel).
bool FastCgiExchange::startAccel(std::string_view uri) {
  accelLen = uri.starts_with('/') ? normalizeUri(uri, accelUri(), kAccelUriCap) : 0;
  FixedWriter w(kept(), kKeptCap);
  for (size_t i = 0; i < head.fieldCount(); ++i) {
    const CgiResponseHead::Field& f = head.field(i);
    if (keptOnRedirect(f.name)) w.add(f.name).add(": ").add(f.value).add("\r\n");
  }
  if (accelLen == 0 || w.overflowed()) {
    error(502, "sent an invalid X-Accel-Redirect");
    return false;
  }
  keptLen = w.size();
  accel = headSent = bodiless = true;
  return true;
}

// The app has answered: the redirect's URI is served (the static files, or a gateway location
// again) through the same sink, and the kept fields join that answer's head.
void FastCgiExchange::redirectAccel() {
  ResponseSink* s = sink;
  handler->detach(this);  // the sink goes to the redirect; this exchange is recycled only after
  const Reply r =
      handler->redirects()->redirect(s->request(), {accelUri(), accelLen}, s->plan(), *s);
  if (r == Reply::kReady) s->plan().head().add({kept(), keptLen});
  handler->finish(this);
  if (r == Reply::kReady) s->end();
}

void FastCgiExchange::complete() {
  if (!headSent) {
    if (head.finish() != CgiResponseHead::Status::kDone || !startResponse()) {
      if (phase != Phase::kDone) error(502, "ended without a response head");
      return;
    }
  }
  if (promised >= 0 && !bodiless && bodySent < static_cast<uint64_t>(promised)) {
    error(502, "sent less body than its Content-Length");
    return;
  }
  if (chunked) sink->push("0\r\n\r\n", 5);
  noteAttempt(head.status());
  // Bytes after END_REQUEST would belong to no request: such a connection is not kept.
  bool clean = inPos == inLen && decoder.appStatus() == 0 &&
               decoder.protocolStatus() == fcgi::ProtocolStatus::kRequestComplete;
  UpstreamConn* c = conn;
  conn = nullptr;
  handler->pool()->release(c, clean);
  judge(UpstreamOutcome::kSuccess);
  if (accel) {
    redirectAccel();
    return;
  }
  ResponseSink* s = sink;
  handler->finish(this);
  s->end();
}

// The address for the next attempt: the target's own, or a server of its group this request has
// not tried yet (nullptr when none is left or live).
Upstream* FastCgiExchange::nextUpstream() {
  if (target->group == nullptr) return target->upstream;
  server = target->group->pick(tried, clientKey, handler->pool()->nowMs());
  if (server == UpstreamGroup::kNone) return nullptr;
  tried |= 1ull << server;
  return target->group->upstream(server);
}

void FastCgiExchange::connect(Upstream* u) {
  upstream = u;
  handler->pool()->acquire(u, this, target->group != nullptr ? target->connectTimeoutMs : 0);
}

// Tells the group how its server did (nothing for a single address).
void FastCgiExchange::judge(UpstreamOutcome outcome) {
  if (server == UpstreamGroup::kNone) return;
  target->group->finish(server, outcome, handler->pool()->nowMs());
  server = UpstreamGroup::kNone;
}

// A GET or HEAD without a body (its records were overwritten as they went) that got no reply yet
// goes again: once on another connection to an address; to the group's next server after an error
// or a timeout (nginx's fastcgi_next_upstream error timeout), until every server was tried.
bool FastCgiExchange::mayRetry(int status) const {
  Method m = sink->request().req->method;
  if (received || body != nullptr || (m != Method::kGet && m != Method::kHead)) return false;
  if (target->group != nullptr) return status == 502 || status == 504;
  return status == 502 && !retried;
}

// The exchange failed: retried (see mayRetry), else the client gets `status` (before the head) or
// a closed connection (after it).
void FastCgiExchange::error(int status, const char* why) {
  const RequestContext& ctx = sink->request();
  const char* address = "";
  if (server != UpstreamGroup::kNone) {
    address = UpstreamPool::address(target->group->upstream(server)).c_str();
  }
  LOG_ERROR("upstream %s%s%s: %s while answering \"%.*s\"", "FastCGI", *address ? " " : "", address,
            why, static_cast<int>(ctx.target.size()), ctx.target.data());
  noteAttempt(headSent ? head.status() : status);
  if (conn != nullptr) handler->pool()->release(conn, false);
  conn = nullptr;
  judge(status == 502 || status == 504 ? UpstreamOutcome::kFailure : UpstreamOutcome::kNeither);
  if (mayRetry(status)) {
    retried = true;
    phase = Phase::kWaiting;
    askedUs = monotonicUs();
    readyUs = 0;
    decoder.reset(kRequestId);
    if (Upstream* next = nextUpstream(); next != nullptr) {
      connect(next);
      return;
    }
  }
  if (upstream != nullptr) UpstreamPool::countFailure(upstream);
  ResponseSink* s = sink;
  handler->finish(this);
  s->fail(status);
}

// For the access log: this attempt's address, status and time (from the connection it got, or
// from asking for one when it got none).
void FastCgiExchange::noteAttempt(int status) {
  const int64_t from = readyUs != 0 ? readyUs : askedUs;
  if (upstream == nullptr) return;  // a group with no live server: no attempt
  sink->plan().addUpstreamAttempt(&UpstreamPool::address(upstream), status,
                                  static_cast<uint64_t>(monotonicUs() - from));
}

// An answer of our own before the head (503 with Retry-After): keeps the client connection.
void FastCgiExchange::answer(int status) {
  if (upstream != nullptr) UpstreamPool::countFailure(upstream);
  ResponseSink* s = sink;
  handler->errors()->fill(s->request(), status, s->plan());
  s->plan().head().add("Retry-After: 1\r\n");
  handler->finish(this);
  s->end();
}

}  // namespace hs
