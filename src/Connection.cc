#include "Connection.h"

#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "AccessLog.h"
#include "AccessLogs.h"
#include "Clock.h"
#include "Config.h"
#include "DirectSyscall.h"
#include "ErrorPages.h"
#include "EvictionList.h"
#include "FileCache.h"
#include "FileTask.h"
#include "FreeListPool.h"
#include "Log.h"
#include "LogFormat.h"
#include "LogLimiter.h"
#include "RefusalLog.h"
#include "RefusalLogger.h"
#include "RequestBody.h"
#include "RequestTarget.h"
#include "ResponseStats.h"
#include "RouteConfig.h"
#include "SharedState.h"
#include "ThreadPool.h"
#include "WorkerClock.h"

namespace hs {
namespace {
constexpr int kLingerMs = 2000;  // how long a closing connection may keep sending us bytes
constexpr uint64_t kMinDrainBytes = 1024;   // see drainingSinceStall: about 2 KB/s over 500 ms
constexpr int kMaxGather = 8;               // memory parts sent by one sendmsg
constexpr uint32_t kProxyLogPerSecond = 5;  // error-log lines about refused PROXY headers

uint64_t gConnections = 0;  // connections opened by this worker process ($connection)

// $http_NAME over the request's head (LogFields::header).
bool headerOf(const void* head, std::string_view name, std::string_view* value) {
  return findHeaderVar(*static_cast<const std::string_view*>(head), name, value);
}

// One budget per worker process (each has a single thread): a flood of bad headers costs a few
// log lines a second and a count.
LogLimiter& proxyRefusalBudget() {
  static LogLimiter limiter(kProxyLogPerSecond);
  return limiter;
}
}  // namespace

void Connection::attach(const ConnectionEnv* env, uint32_t slot) {
  env_ = env;
  slot_ = slot;
  timer_.owner = slot;
}

void Connection::open(int fd, bool lookUpPeer, uint16_t listenIndex) {
  fd_.reset(fd);
  listenIndex_ = listenIndex;
  registered_ = false;
  serial_ = ++gConnections;
  requests_ = 0;
  peer_ = {};
  if (lookUpPeer) {
    socklen_t len = sizeof peer_;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer_), &len) != 0) peer_ = {};
  }
  const RouteConfig* routes = env_->routes;
  proxyPending_ =
      env_->cfg->proxyProtocol || (routes != nullptr && listenIndex < routes->listens.size() &&
                                   routes->listens[listenIndex].proxyProtocol);
  setState(ConnState::kIdle);
  setDeadline(env_->cfg->headerTimeoutMs);
  // The listen socket defers accepts until data is there: assume the request has arrived.
  readable_ = true;
}

int64_t Connection::stamp() const {
  int64_t now = env_->clock->nowMs();
  return now > 0 ? now : 1;  // 0 means "none" in the shared counters
}

void Connection::setState(ConnState s) {
  auto counter = [this](ConnState st) -> std::atomic<uint32_t>* {
    switch (st) {
      case ConnState::kReadingHead:
      case ConnState::kReadingBody:
        return &env_->stats->reading;
      case ConnState::kHandling:
      case ConnState::kWriting:
        return &env_->stats->writing;
      default:
        return nullptr;
    }
  };
  if (auto* from = counter(state_)) drop(*from, 1u);
  if (auto* to = counter(s)) bump(*to, 1u);
  // The eviction list orders connections by how long they have been idle, or reading one request:
  // going idle or starting a request restarts the clock; a body continues it.
  if (s == ConnState::kIdle || s == ConnState::kReadingHead) {
    env_->eviction->moveToBack(slot_, stamp());
  } else if (s != ConnState::kReadingBody) {
    env_->eviction->remove(slot_);
  }
  state_ = s;
}

void Connection::setDeadline(int timeoutMs) {
  int64_t d = env_->clock->nowMs() + timeoutMs;
  deadlineMs_ = d;
  // Lazy: only move the heap entry earlier; a later deadline is picked up when the entry fires.
  if (!timer_.active() || timer_.deadlineMs > d) env_->timers->schedule(&timer_, d);
}

void Connection::onTimer() {
  if (deadlineMs_ > env_->clock->nowMs()) {
    env_->timers->schedule(&timer_, deadlineMs_);  // the deadline moved later since it was queued
    return;
  }
  LOG_DEBUG("connection timed out in state %d", static_cast<int>(state_));
  evict();
}

void Connection::onRetire() {
  if (state_ != ConnState::kIdle ||
      (io_ != nullptr && (io_->inEnd > io_->inStart || io_->outLen > io_->outSent))) {
    return;  // a request to answer, or answers still to send: this comes back when they are
  }
  int64_t idleMs = env_->clock->nowMs() - env_->eviction->sinceMs(slot_);
  if (*env_->lifecycle == Lifecycle::kRetiring) {
    handBack();
  } else if (idleMs >= kQuitIdleGraceMs) {
    close();
  } else {
    // Idle for a moment only: probably a busy client about to send its next request, which a
    // close now would race. Let that request come and be answered with Connection: close; if
    // it does not come, the connection is closed when it has been idle for the grace period.
    setDeadline(static_cast<int>(kQuitIdleGraceMs - idleMs));
  }
}

// A stalled response may be draining slowly all the same: the kernel reports EPOLLOUT only once a
// third of a large send buffer is free. The client's acknowledgements tell: a response whose
// client took at least kMinDrainBytes since it stalled (>= 500 ms ago) is moved to the back; one
// that took less (a slow-read attack trickles a few bytes a second) is evictable.
bool Connection::drainingSinceStall() {
  int unacked = 0;
  if (state_ != ConnState::kWriting || ::ioctl(fd_.get(), SIOCOUTQ, &unacked) != 0 ||
      static_cast<uint64_t>(unacked) + kMinDrainBytes > unackedAtStall_) {
    return false;
  }
  unackedAtStall_ = static_cast<uint32_t>(unacked);
  env_->eviction->moveToBack(slot_, stamp());
  return true;
}

void Connection::evict() {
  if (state_ == ConnState::kWriting || state_ == ConnState::kHandling) {
    abort();
  } else {
    close();
  }
}

bool Connection::acquireIo() {
  if (io_ != nullptr) return true;
  io_ = env_->ios->acquire();
  if (io_ == nullptr) return false;
  io_->reqStart = io_->inStart = io_->inEnd = 0;
  io_->outLen = io_->outSent = 0;
  io_->parser.reset();  // the plan was released with the IoState
  io_->proxy.reset();
  return true;
}

void Connection::releaseIo() {
  if (io_ == nullptr) return;
  io_->plan.release();
  env_->ios->release(io_);
  io_ = nullptr;
}

void Connection::onEvent(uint32_t events) {
  if ((events & EPOLLERR) != 0) {
    close();
    return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) readable_ = true;
  drive();
}

// Runs the connection as far as it can go now. Responses batched for pipelined requests leave
// before it waits for anything (input, the handler, the socket).
void Connection::drive() {
  step();
  IoState* io = io_;
  if (io == nullptr || io->outSent == io->outLen || !active() || state_ == ConnState::kWriting) {
    return;
  }
  if (!flushBatch() || state_ != ConnState::kIdle || io->inEnd != io->inStart) return;
  if (*env_->lifecycle != Lifecycle::kServing) {
    onRetire();  // it waited for the batch
  } else if (!readable_) {
    releaseIo();
  }
}

void Connection::step() {
  if (state_ == ConnState::kLingering) {
    drainLingering();
    return;
  }
  for (;;) {
    if (state_ == ConnState::kHandling) return;  // the handler answers later
    if (state_ == ConnState::kWriting) {
      // A synchronous response only has to be flushed; a streamed one may go on.
      if (!(bodyOpen_ || failed_ ? writeDone() : flush())) return;
      finishResponse();
      if (!active()) return;
      continue;
    }
    if (io_ != nullptr && io_->inEnd > io_->inStart) {
      if (!processInput()) return;
      if (state_ == ConnState::kWriting || state_ == ConnState::kHandling) continue;
    }
    if (!readable_) {
      if (state_ == ConnState::kIdle && io_ != nullptr && io_->inEnd == io_->inStart &&
          io_->outLen == 0) {
        releaseIo();  // idle with nothing buffered: keep only the small Connection
      }
      return;
    }
    if (!readMore()) return;
  }
}

// Reads what the socket has. Returns false when the connection was closed or must wait.
bool Connection::readMore() {
  if (!acquireIo()) {
    LOG_ERROR("no I/O state available");
    close();
    return false;
  }
  IoState* io = io_;
  if (io->inEnd == IoState::kInCap) {
    // Only the unconsumed tail matters; move it (and the head being parsed) to the front.
    uint32_t keep = io->reqStart;
    std::memmove(io->in, io->in + keep, io->inEnd - keep);
    io->inEnd -= keep;
    io->inStart -= keep;
    io->reqStart = 0;
    if (io->inEnd == IoState::kInCap) {  // cannot happen: the parser's limits are smaller
      close();
      return false;
    }
  }
  size_t want = IoState::kInCap - io->inEnd;
  ssize_t n = direct::recv(fd_.get(), io->in + io->inEnd, want, 0);  // recv: no VFS layer
  if (n > 0) {
    io->inEnd += static_cast<uint32_t>(n);
    // Edge-triggered: a short read means the socket is drained; new data brings a new event.
    if (static_cast<size_t>(n) < want) readable_ = false;
    return true;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    if (errno == EAGAIN) readable_ = false;
    return true;
  }
  close();  // EOF or a reset: nothing more can be answered
  return false;
}

// Consumes buffered input: parses a head or discards body bytes. Returns false if closed.
// The first byte of a request (read now, or pipelined earlier) starts the header timeout.
bool Connection::processInput() {
  if (state_ == ConnState::kIdle) {
    setState(ConnState::kReadingHead);
    setDeadline(env_->cfg->headerTimeoutMs);
    io_->startUs = monotonicUs();
    io_->plan.upstreamTries = 0;
  }
  if (proxyPending_) {
    if (!readProxyHeader()) return false;
    if (proxyPending_ || io_->inStart == io_->inEnd) return true;
  }
  if (state_ == ConnState::kReadingHead) return parseHead();
  if (state_ == ConnState::kReadingBody) return body_ != nullptr ? readBody() : discardBody();
  return true;
}

// The PROXY protocol header comes before the first request, from a trusted balancer only. Its
// address replaces the peer for everything that follows (logs, access rules, the status page).
// Returns false when the connection was refused (and closed).
bool Connection::readProxyHeader() {
  IoState* io = io_;
  if (!proxyTrust().matches(reinterpret_cast<const sockaddr*>(&peer_))) {
    refuseProxy("PROXY protocol expected from an address not in set_real_ip_from");
    return false;
  }
  ProxyHeader h;
  ProxyStatus st = io->proxy.parse(io->in + io->reqStart, io->inEnd - io->reqStart, &h);
  if (st == ProxyStatus::kNeedMore) {
    io->inStart = io->inEnd;
    return true;
  }
  if (st == ProxyStatus::kError) {
    refuseProxy(io->proxy.error());
    return false;
  }
  proxyPending_ = false;
  if (h.source.family != 0) toSockaddr(h.source, &peer_);  // LOCAL, UNKNOWN: the peer stays
  io->reqStart += static_cast<uint32_t>(io->proxy.consumed());
  io->inStart = io->reqStart;
  return true;
}

// Who may send a PROXY header: before any Host is known, the set_real_ip_from list of the listen
// address's default server (the top level's unless that server has its own).
const AccessRules& Connection::proxyTrust() const {
  const RouteConfig* routes = env_->routes;
  if (routes == nullptr || listenIndex_ >= routes->listens.size()) return env_->cfg->realIpFrom;
  const Server* s = routes->listens[listenIndex_].defaultServer;
  return s != nullptr ? s->realIpFrom : env_->cfg->realIpFrom;
}

void Connection::refuseProxy(const char* why) {
  uint64_t suppressed = 0;
  if (proxyRefusalBudget().allow(env_->clock->nowSec(), &suppressed)) {
    if (suppressed > 0) {
      LOG_ERROR("%llu more refused PROXY protocol connections not logged",
                static_cast<unsigned long long>(suppressed));
    }
    RefusalDetail d;
    d.kind = Refusal::kProxyHeader;
    d.reason = why;
    sockaddr_storage ss{};
    std::memcpy(&ss, &peer_, sizeof peer_);
    char line[512];
    size_t n = formatRefusal(d, ss, {}, line, sizeof line);
    LOG_ERROR("%.*s", static_cast<int>(n), line);
  }
  close();
}

bool Connection::parseHead() {
  IoState* io = io_;
  HttpRequest& req = io->req;
  ParseStatus st = io->parser.parse(io->in + io->reqStart, io->inEnd - io->reqStart, &req);
  if (st == ParseStatus::kNeedMore) {
    io->inStart = io->inEnd;
    return true;
  }
  if (st == ParseStatus::kError) {
    io->inStart = io->inEnd;
    respondError(io->parser.errorStatus());  // the stream is out of sync: answer, then close
    return true;
  }
  io->inStart = io->reqStart + static_cast<uint32_t>(io->parser.consumed());
  closeAfter_ = false;
  route();  // before the body: the location decides its size limit
  if (req.contentLength <= 0 && !req.chunked) {
    dispatch();
    return true;
  }
  const uint64_t maxBody = io->ctx.maxBody != 0 ? io->ctx.maxBody : env_->cfg->maxBody;
  if (req.contentLength > 0 && static_cast<uint64_t>(req.contentLength) > maxBody) {
    respondError(413);  // not worth reading: answer 413 and close
    return true;
  }
  // Only a client still waiting needs the interim response: when body bytes came with the head,
  // it has not waited (RFC 9110 10.1.1).
  if (req.expectContinue && req.versionMinor >= 1 && io->inStart == io->inEnd) {
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (flushBatch()) {  // after the answers to earlier requests; a full socket: none
      ssize_t ignored = ::send(fd_.get(), kContinue, sizeof kContinue - 1, MSG_NOSIGNAL);
      (void)ignored;  // best effort: a client that misses it sends the body after a delay anyway
    } else if (!active()) {
      return false;
    }
  }
  if (io->selected->takesBody(io->ctx)) return startBody(maxBody);
  io->bodyLeft = req.chunked ? 0 : static_cast<uint64_t>(req.contentLength);
  io->chunked = ChunkedDecoder(maxBody);
  setState(ConnState::kReadingBody);
  return discardBody();
}

// The handler takes the body: it is buffered whole before the handler starts (RequestBody).
bool Connection::startBody(uint64_t maxBody) {
  IoState* io = io_;
  body_ = env_->bodies != nullptr ? env_->bodies->acquire() : nullptr;
  if (body_ == nullptr) {
    respondError(503);
    return true;
  }
  const Config& cfg = *env_->cfg;
  body_->begin(io->req.chunked, static_cast<uint64_t>(std::max<int64_t>(io->req.contentLength, 0)),
               maxBody, static_cast<size_t>(cfg.bodyBufferSize), cfg.bodyTempPath.c_str());
  setState(ConnState::kReadingBody);
  return readBody();
}

bool Connection::readBody() {
  IoState* io = io_;
  size_t used = 0;
  RequestBody::Status st = body_->feed(io->in + io->inStart, io->inEnd - io->inStart, &used);
  io->inStart += static_cast<uint32_t>(used);
  if (st == RequestBody::Status::kError) {
    const int status = body_->errorStatus();
    releaseBody();
    respondError(status);
    return true;
  }
  return bodyProgress(st == RequestBody::Status::kDone);
}

// Request bodies are read and thrown away (no handler takes one yet) so the next pipelined
// request starts at the right byte.
bool Connection::discardBody() {
  IoState* io = io_;
  uint32_t avail = io->inEnd - io->inStart;
  bool complete = false;
  if (io->req.chunked) {
    size_t used = 0;
    ChunkedDecoder::Status st = io->chunked.feed(io->in + io->inStart, avail, &used);
    io->inStart += static_cast<uint32_t>(used);
    if (st == ChunkedDecoder::Status::kError) {
      respondError(io->chunked.errorStatus());
      return true;
    }
    complete = st == ChunkedDecoder::Status::kDone;
  } else {
    uint64_t take = std::min<uint64_t>(avail, io->bodyLeft);
    io->inStart += static_cast<uint32_t>(take);
    io->bodyLeft -= take;
    complete = io->bodyLeft == 0;
  }
  return bodyProgress(complete);
}

// Body bytes were taken up: wait for more (the read timeout restarts: nginx's
// client_body_timeout), or the request is complete and goes to its handler.
bool Connection::bodyProgress(bool complete) {
  IoState* io = io_;
  if (!complete) {
    // Everything buffered after the head was body and is consumed: reuse that space.
    uint32_t headEnd = io->reqStart + static_cast<uint32_t>(io->parser.consumed());
    io->inStart = io->inEnd = headEnd;
    setDeadline(env_->cfg->headerTimeoutMs);
    return true;
  }
  route();  // again: reading the body may have moved the head's bytes (readMore compacts)
  io->ctx.body = body_;
  dispatch();
  return true;
}

inline void Connection::prepareContext() {
  IoState* io = io_;
  RequestContext& ctx = io->ctx;
  ctx.req = &io->req;
  ctx.base = io->in + io->reqStart;
  client_ = peer_;
  ctx.peer = &client_;
  ctx.listenIndex = listenIndex_;
  ctx.quitting = *env_->lifecycle == Lifecycle::kQuitting;
  ctx.nowMs = env_->clock->nowMs();
  ctx.nowSec = env_->clock->nowSec();
  ctx.commonHead = env_->clock->commonHead();
  ctx.server = nullptr;
  ctx.location = nullptr;
  ctx.routeStatus = 0;
  ctx.maxBody = 0;
  ctx.slot = slot_;
  ctx.generation = generation_;
  ctx.body = nullptr;
  handlerState = nullptr;
}

// The request's head is complete: its target is described once and the selector picks its handler
// (and location).
void Connection::route() {
  prepareContext();
  IoState* io = io_;
  io->ctx.head = std::string_view(io->ctx.base, io->parser.consumed());
  describeTarget(io->ctx, TargetBuffers{io->path, sizeof io->path, io->uri, sizeof io->uri,
                                        io->host, sizeof io->host, env_->hosts});
  io->selected = env_->handlers->select(io->ctx);
}

// The request is complete: the selected handler answers now (kReady) or later through this
// connection as its ResponseSink.
void Connection::dispatch() {
  IoState* io = io_;
  RequestContext& ctx = io->ctx;
  Handler* h = io->selected;
  if (ctx.pathStatus != 0) refuseTarget();
  // The state stays kReading* during start(): a synchronous answer goes straight to kWriting.
  handler_ = h;
  if (h->start(ctx, io->plan, *this) == Reply::kReady) {
    handler_ = nullptr;
    startWriting(false);
  } else if (state_ != ConnState::kWriting) {
    setState(ConnState::kHandling);
    setDeadline(env_->cfg->sendTimeoutMs);  // bounds the wait for the handler's head
  }
}

// A request-target normalizeTarget refused: a 400 is always the answer; a hidden segment's 404 only
// where the static files answer (a location may route the URI elsewhere).
void Connection::refuseTarget() {
  const RequestContext& ctx = io_->ctx;
  if (ctx.pathStatus == 404 && ctx.location != nullptr &&
      ctx.location->settings.handler != HandlerKind::kStatic) {
    return;
  }
  RefusalDetail d;
  d.kind = Refusal::kUnsafePath;
  d.reason = ctx.pathReason;
  refuse(d);
}

// 413, 414 and 431 are the server's own refusals: logged (other parse errors are the client's
// mistakes and are not). `limit` is the body size limit that applied.
void Connection::refuseTooLarge(int status, uint64_t limit) {
  RefusalDetail d;
  if (status == 413) {
    d.kind = Refusal::kBodyTooLarge;
    d.size = io_->req.contentLength > 0 ? static_cast<uint64_t>(io_->req.contentLength) : 0;
    d.limit = limit;
  } else if (status == 414) {
    d.kind = Refusal::kUriTooLong;
  } else if (status == 431) {
    d.kind = Refusal::kHeadTooLarge;
  } else {
    return;
  }
  refuse(d);
}

void Connection::refuse(const RefusalDetail& d) {
  if (env_->refusals == nullptr) return;
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  // The request's client (a trusted real_ip_header's), else the connection's.
  const sockaddr_in6* client = io_->ctx.peer != nullptr ? io_->ctx.peer : &client_;
  if (client->sin6_family != 0) {
    std::memcpy(&peer, client, sizeof *client);
  } else if (::getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
    peer = {};  // looked up only now: refusals are rare, a lookup per connection is not
  }
  // The request line as received, or what there is of it (a 414's is cut).
  const std::string_view received(io_->in + io_->reqStart, io_->inEnd - io_->reqStart);
  std::string_view line = received.substr(0, received.find('\n'));
  if (line.ends_with('\r')) line.remove_suffix(1);
  env_->refusals->log(d, peer, line, env_->clock->nowSec());
}

void Connection::respondError(int status) {
  closeAfter_ = true;
  const uint64_t limit = io_->ctx.maxBody != 0 ? io_->ctx.maxBody : env_->cfg->maxBody;
  if (status == 413) refuseTooLarge(status, limit);  // route() ran: client_ is the request's
  prepareContext();
  if (status != 413) refuseTooLarge(status, limit);
  io_->ctx.target = {};
  io_->ctx.pathStatus = status;
  env_->errors->fill(io_->ctx, status, io_->plan);
  startWriting(false);
}

// Ends the plan's head (this is where keep-alive is decided, once per response) and starts
// sending it.
void Connection::startWriting(bool bodyOpen) {
  ResponsePlan& plan = io_->plan;
  const HttpRequest& r = io_->req;
  keepAlive_ =
      r.keepAlive && !closeAfter_ && !plan.closeAfter && *env_->lifecycle != Lifecycle::kQuitting;
  FixedWriter& w = plan.head();
  if (!keepAlive_) {
    w.add("Connection: close\r\n");
  } else if (r.versionMinor == 0) {
    w.add("Connection: keep-alive\r\n");
  }
  w.add("\r\n");
  plan.parts[0] = BodyPart{plan.headBytes(), 0, w.size()};
  if (w.overflowed()) {  // cannot happen with the limits on what goes into a head
    LOG_ERROR("response head overflow");
    keepAlive_ = false;
    plan.nparts = 0;
  }
  // A small body from memory joins the head in its buffer, so the response is one contiguous
  // send() rather than a sendmsg of two pieces.
  if (plan.nparts == 2 && plan.parts[1].mem != nullptr &&
      plan.appendToHead(plan.parts[1].mem + plan.parts[1].off, plan.parts[1].len)) {
    plan.parts[0].len = w.size();
    plan.nparts = 1;
  }
  plan.part = 0;
  plan.partSent = 0;
  io_->sentBytes = 0;
  residentFrom_ = residentUntil_ = 0;
  bodyOpen_ = bodyOpen;
  pushed_ = bodyOpen;  // an asynchronous handler is resumed once its head is sent
  failed_ = false;
  setState(ConnState::kWriting);
}

// Sends what is queued. True when the response is complete; false when waiting for the socket or
// the handler, or closed.
bool Connection::writeDone() {
  for (;;) {
    if (failed_) {
      abort();
      return false;
    }
    if (!flush()) return false;
    if (!bodyOpen_) return true;
    if (!pushed_) return false;  // everything sent: the handler streams more when it has it
    ResponsePlan& plan = io_->plan;
    plan.nparts = plan.part = 0;
    plan.partSent = 0;
    pushed_ = false;
    handler_->resume(*this);
  }
}

// Sends the queued parts. Returns true when all are sent; false when waiting for EPOLLOUT or when
// the connection was closed.
bool Connection::flush() {
  ResponsePlan& plan = io_->plan;
  while (plan.part < plan.nparts) {
    ssize_t n;
    uint64_t asked = 0;
    if (plan.parts[plan.part].mem != nullptr) {
      n = sendMemoryParts(&asked);
    } else if (io_->outSent < io_->outLen) {
      if (!flushBatch()) return false;  // answers to earlier requests go before a file's bytes
      continue;
    } else if (!sendFilePart(plan.parts[plan.part], &asked, &n)) {
      return false;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        blockedWriting();
        return false;
      }
      close();
      return false;
    }
    io_->sentBytes += static_cast<uint64_t>(n);
    plan.advance(static_cast<uint64_t>(n));
    if (plan.part < plan.nparts) {
      deadlineMs_ = env_->clock->nowMs() + env_->cfg->sendTimeoutMs;  // progress
      // A short write means the socket buffer is full: the next try would only get EAGAIN.
      // Edge-triggered EPOLLOUT fires once there is room again.
      if (static_cast<uint64_t>(n) < asked) {
        blockedWriting();
        return false;
      }
    }
  }
  return true;
}

// Gathers the batched responses (if any), the current memory part and the memory parts after it
// into one send; or, when the response is whole in memory and the next request is already here,
// copies it to the batch instead. Sets *asked to the plan's bytes offered; returns how many of
// them were taken (0 while the batch before them is not all sent).
ssize_t Connection::sendMemoryParts(uint64_t* asked) {
  IoState* io = io_;
  const ResponsePlan& plan = io->plan;
  if (io->outLen == 0 && plan.part + 1 == plan.nparts && io->inEnd == io->inStart) {
    // The usual answer (one piece, nothing batched before it, no request waiting behind it).
    const BodyPart& p = plan.parts[plan.part];
    *asked = p.len - plan.partSent;
    const int flags = MSG_NOSIGNAL | (!keepAlive_ && !bodyOpen_ ? MSG_MORE : 0);
    return direct::send(fd_.get(), p.mem + p.off + plan.partSent, *asked, flags);
  }
  iovec iov[kMaxGather + 1];
  const uint32_t batched = io->outLen - io->outSent;
  int k = 0;
  if (batched > 0) iov[k++] = iovec{io->out + io->outSent, batched};
  const int first = k;
  for (uint32_t i = plan.part;
       i < plan.nparts && k < first + kMaxGather && plan.parts[i].mem != nullptr; ++i, ++k) {
    uint64_t skip = i == plan.part ? plan.partSent : 0;
    iov[k].iov_base = const_cast<char*>(plan.parts[i].mem + plan.parts[i].off + skip);
    iov[k].iov_len = plan.parts[i].len - skip;
    *asked += iov[k].iov_len;
  }
  bool fileFollows = plan.part + static_cast<uint32_t>(k - first) < plan.nparts;
  if (!fileFollows && batchable(*asked)) {
    for (int i = first; i < k; ++i) {
      std::memcpy(io->out + io->outLen, iov[i].iov_base, iov[i].iov_len);
      io->outLen += static_cast<uint32_t>(iov[i].iov_len);
    }
    return static_cast<ssize_t>(*asked);
  }
  // MSG_MORE: the head and a sendfile body leave in full segments; and on a connection that
  // closes after this response (finishResponse shuts it down or closes it next, nothing in
  // between), the last segment waits for the FIN and leaves with it: one packet, not two.
  bool more = fileFollows || (!keepAlive_ && !bodyOpen_);
  const int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
  ssize_t n;
  if (k == 1) {
    n = direct::send(fd_.get(), iov[0].iov_base, iov[0].iov_len, flags);
  } else {
    msghdr mh{};
    mh.msg_iov = iov;
    mh.msg_iovlen = static_cast<size_t>(k);
    n = direct::sendmsg(fd_.get(), &mh, flags);
  }
  if (batched == 0 || n < 0) return n;
  if (static_cast<uint64_t>(n) < batched) {
    io->outSent += static_cast<uint32_t>(n);
    return 0;
  }
  io->outLen = io->outSent = 0;
  return n - static_cast<ssize_t>(batched);
}

// Whether a whole response of `bytes` joins the batch rather than leaving now: it keeps the
// connection open, and the next request's bytes are already buffered (pipelining), so its answer
// can go in the same send.
bool Connection::batchable(uint64_t bytes) const {
  const IoState* io = io_;
  return keepAlive_ && !bodyOpen_ && io->inEnd > io->inStart &&
         io->outLen + bytes <= IoState::kOutCap;
}

// Sends the batched responses. True when none is left; false when the socket is full (EPOLLOUT
// brings the connection back) or the connection was closed.
bool Connection::flushBatch() {
  IoState* io = io_;
  while (io->outSent < io->outLen) {
    ssize_t n =
        direct::send(fd_.get(), io->out + io->outSent, io->outLen - io->outSent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        blockedWriting();
      } else {
        close();
      }
      return false;
    }
    io->outSent += static_cast<uint32_t>(n);
  }
  io->outLen = io->outSent = 0;
  return true;
}

// One sendfile() of a range of the plan's file. False when the connection was closed.
bool Connection::sendFilePart(const BodyPart& p, uint64_t* asked, ssize_t* sent) {
  const ResponsePlan& plan = io_->plan;
  off_t off = static_cast<off_t>(p.off + plan.partSent);
  size_t chunk = static_cast<size_t>(std::min<uint64_t>(p.len - plan.partSent, 1u << 30));
  if (env_->pool != nullptr) {
    if (!readyToSend(static_cast<uint64_t>(off), chunk)) return false;
    // Not past what is known to be in memory: the rest is checked (or read ahead) first.
    chunk =
        static_cast<size_t>(std::min<uint64_t>(chunk, residentUntil_ - static_cast<uint64_t>(off)));
  }
  *asked = chunk;
  *sent = ::sendfile(fd_.get(), plan.file()->fd.get(), &off, chunk);
  if (*sent == 0) {  // the file shrank under us: the promised length cannot be kept
    LOG_WARN("file \"%s\" changed while being sent; connection closed", plan.file()->path.c_str());
    close();
    return false;
  }
  return true;
}

// With a thread pool, sendfile must not wait for the disk: before the data at `off` is sent, a
// window of it is checked to be in the page cache (once per window; never for bodies served from
// memory). If it is not, a pool task reads it in and the connection waits (false) until
// diskReady(). A full pool sends at once, as without one.
bool Connection::readyToSend(uint64_t off, uint64_t len) {
  constexpr uint64_t kWindow = 512 * 1024;
  if (diskWait_) return false;
  if (off >= residentFrom_ && off < residentUntil_) return true;
  const uint64_t window = std::min<uint64_t>(len, kWindow);
  FileEntry* file = io_->plan.file();
  residentFrom_ = off;
  residentUntil_ = off + window;
  if (pagesResident(file->fd.get(), off, window)) return true;
  PoolTask* t = env_->pool->acquire();
  if (t == nullptr) return true;
  prepareReadAhead(t, io_->plan.fileCache(), file, off, window, slot_, generation_);
  env_->pool->submit(t);
  diskWait_ = true;
  return false;
}

void Connection::diskReady() {
  diskWait_ = false;
  post();
}

// The client stopped taking bytes: wait for EPOLLOUT, bounded by the send timeout. A stalled
// response joins the eviction list, stamped with the time it stalled (progress restamps it).
void Connection::blockedWriting() {
  setDeadline(env_->cfg->sendTimeoutMs);
  int unacked = 0;
  unackedAtStall_ =
      ::ioctl(fd_.get(), SIOCOUTQ, &unacked) == 0 ? static_cast<uint32_t>(unacked) : 0;
  env_->eviction->moveToBack(slot_, stamp());
}

// The response's last byte is with the kernel: it is counted (status page, metrics, access log).
void Connection::finishResponse() {
  bump(env_->stats->requests, uint64_t{1});
  const IoState* io = io_;
  recordResponse(*env_->responses, io->plan.status, io->sentBytes,
                 static_cast<uint64_t>(monotonicUs() - io->startUs));
  ++requests_;
  if (env_->accessLog != nullptr || env_->accessLogs != nullptr) logAccess();
  io_->plan.release();
  releaseBody();
  if (!keepAlive_) {
    if (readable_ || io_->inStart != io_->inEnd) {
      linger();
    } else {
      close();
    }
    return;
  }
  goIdle();
}

// To the access_log of the request's location (or server) in its format; without one (a head
// that did not parse, the status page), to the top-level log.
void Connection::logAccess() {
  const IoState* io = io_;
  const RequestContext& ctx = io->ctx;
  AccessLog* log = env_->accessLog;
  const LogFormat* format = env_->defaultLogFormat;
  const Location* at = ctx.location != nullptr ? ctx.location
                       : ctx.server != nullptr ? &ctx.server->root
                                               : nullptr;
  if (at != nullptr && env_->accessLogs != nullptr) {
    log = env_->accessLogs->at(at->settings.accessLogId);
    format = at->settings.customLogFormat;
  }
  if (log == nullptr || !log->enabled()) return;
  const std::string_view received(io->in + io->reqStart, io->inEnd - io->reqStart);
  if (format != nullptr) {
    logFormatted(*log, *format, received);
    return;
  }
  log->record(
      AccessRecord::fromRequest(ctx.peer, received, io->req, io->plan.status, io->plan.bodyBytes),
      env_->clock->nowSec());
}

void Connection::logFormatted(AccessLog& log, const LogFormat& format, std::string_view received) {
  const IoState* io = io_;
  const RequestContext& ctx = io->ctx;
  const AccessRecord r =
      AccessRecord::fromRequest(ctx.peer, received, io->req, io->plan.status, io->plan.bodyBytes);
  const bool parsed = !ctx.target.empty();  // respondError() clears it: the rest is not this one's
  const std::string_view head = received.substr(0, parsed ? io->parser.consumed() : 0);
  char user[256];
  LogFields f;
  f.peer = reinterpret_cast<const sockaddr*>(ctx.peer);
  f.remoteUser = {user, basicAuthUser(r.authorization, user, sizeof user)};
  f.request = r.requestLine;
  f.method = r.requestLine.substr(0, r.requestLine.find(' '));
  if (parsed) {
    f.uri = ctx.uri;
    f.host = ctx.host;
    f.args = ctx.query;
    f.hasArgs = ctx.target.find('?') != std::string_view::npos;
    f.requestUri = ctx.target;
    f.protocol = io->req.versionMinor == 0 ? "HTTP/1.0" : "HTTP/1.1";
    f.scheme = "http";
  }
  if (ctx.server != nullptr && !ctx.server->names.empty()) f.serverName = ctx.server->names[0];
  f.status = io->plan.status;
  f.bytesSent = io->sentBytes;
  f.bodyBytesSent = io->plan.bodyBytes;
  ::clock_gettime(CLOCK_REALTIME, &f.now);
  f.requestTimeUs = static_cast<uint64_t>(monotonicUs() - io->startUs);
  f.connection = serial_;
  f.connectionRequests = requests_;
  f.pid = static_cast<long>(env_->pid);
  f.upstreamTries = io->plan.upstreamTries;
  for (uint32_t i = 0; i < f.upstreamTries; ++i) {
    const ResponsePlan::UpstreamAttempt& a = io->plan.upstream[i];
    f.upstreamAddr[i] = *a.addr;
    f.upstreamStatus[i] = a.status;
    f.upstreamTimeUs[i] = a.timeUs;
  }
  f.header = &headerOf;
  f.headerCtx = &head;
  log.record(format, f);
}

void Connection::goIdle() {
  IoState* io = io_;
  io->parser.reset();
  io->req = HttpRequest();
  if (io->inStart == io->inEnd) {
    io->reqStart = io->inStart = io->inEnd = 0;
  } else {
    io->reqStart = io->inStart;  // a pipelined request is already buffered
  }
  setState(ConnState::kIdle);
  bool buffered = io->inStart != io->inEnd;
  if (*env_->lifecycle == Lifecycle::kQuitting && !buffered) {
    setDeadline(static_cast<int>(kQuitIdleGraceMs));  // see onRetire
  } else if (*env_->lifecycle == Lifecycle::kRetiring && !buffered) {
    handBack();
  } else {
    setDeadline(env_->cfg->keepaliveTimeoutMs);
  }
}

// Closing a socket with unread input makes the kernel send a reset, which can destroy the response
// still in flight (e.g. a 413 while the client is still sending its body). So, as nginx does:
// half-close, then read and discard for a bounded time, and close at EOF or when time is up.
void Connection::linger() {
  ::shutdown(fd_.get(), SHUT_WR);
  releaseIo();
  setState(ConnState::kLingering);
  setDeadline(kLingerMs);
  drainLingering();
}

void Connection::drainLingering() {
  char sink[4096];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), sink, sizeof sink, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      readable_ = false;
      return;
    }
    close();  // EOF or an error: the client has seen everything we sent
    return;
  }
}

void Connection::handBack() {
  env_->host->handBack(this);
  close();  // our copy; the master now holds the connection
}

// Closes with a reset (SO_LINGER 0) rather than a FIN: for a connection given up on while it
// still had a response to deliver, the kernel then drops the unsent bytes at once instead of
// holding them for a client that does not read (nginx's reset_timedout_connection).
void Connection::abort() {
  struct ::linger lg {
    1, 0
  };
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close();
}

void Connection::releaseBody() {
  if (body_ == nullptr) return;
  body_->clear();
  env_->bodies->release(body_);
  body_ = nullptr;
}

void Connection::close() {
  if (handler_ != nullptr) {  // an asynchronous handler is still answering: it stops here
    Handler* h = handler_;
    handler_ = nullptr;
    h->cancel(*this);
  }
  releaseBody();
  releaseIo();
  env_->timers->cancel(&timer_);
  setState(ConnState::kFree);
  fd_.reset();  // closing the fd also removes it from the epoll set
  readable_ = false;
  posted_ = false;
  bodyOpen_ = pushed_ = failed_ = diskWait_ = false;
  ++generation_;
  env_->host->released(this);
}

void Connection::post() {
  if (posted_) return;
  posted_ = true;
  env_->host->post(this);
}

// The head is not sent yet while the handler has the request: in kHandling, or in kReading*
// when the sink is used from inside Handler::start.
bool Connection::awaitingHead() const {
  return handler_ != nullptr && state_ != ConnState::kWriting;
}

void Connection::sendHead() {
  if (!awaitingHead()) return;
  startWriting(true);
  post();
}

bool Connection::push(const char* data, size_t len) {
  if (state_ != ConnState::kWriting || !bodyOpen_) return false;
  ResponsePlan& plan = io_->plan;
  if (plan.part == plan.nparts) {  // all sent: start the queue over
    plan.nparts = plan.part = 0;
    plan.partSent = 0;
  }
  if (len > 0 && !plan.add(BodyPart{data, 0, len})) return false;
  plan.bodyBytes += len;
  pushed_ = true;
  post();
  return plan.nparts < ResponsePlan::kMaxParts;
}

void Connection::end() {
  if (awaitingHead()) {
    startWriting(false);  // a head with nothing to follow
  } else if (!bodyOpen_) {
    return;
  }
  bodyOpen_ = false;
  handler_ = nullptr;
  post();
}

void Connection::fail(int status) {
  if (awaitingHead()) {
    handler_ = nullptr;
    closeAfter_ = true;
    env_->errors->fill(io_->ctx, status, io_->plan);
    startWriting(false);
  } else if (bodyOpen_) {
    handler_ = nullptr;
    bodyOpen_ = false;
    failed_ = true;  // the promised body cannot be delivered: close
  }
  post();
}

}  // namespace hs
