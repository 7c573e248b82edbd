#include "UpstreamPool.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "Log.h"
#include "WorkerClock.h"

namespace hs {

// One address: its idle connections, how many are open, and the requests waiting for one.
class Upstream {
 public:
  struct Waiter {
    UpstreamUser* user;
    int64_t deadlineMs;
    int connectTimeoutMs;
  };
  sockaddr_storage addr{};
  socklen_t addrLen = 0;
  std::string text;
  UpstreamLimits limits;
  uint32_t open = 0;
  uint32_t index = 0;
  std::vector<UpstreamConn*> idle;
  std::vector<Waiter> ring;  // the queue, a ring of limits.queue entries
  uint32_t head = 0, count = 0;
  TimerNode timer;          // the first waiter's deadline
  AppStats* app = nullptr;  // an app the master runs: its shared counters
};

namespace {

constexpr uint32_t kQueueTimerBit = 0x40000000;

bool parseAddress(const std::string& text, Upstream* u) {
  if (text.starts_with("unix:/")) {
    auto* sa = reinterpret_cast<sockaddr_un*>(&u->addr);
    if (text.size() - 5 >= sizeof sa->sun_path) return false;
    sa->sun_family = AF_UNIX;
    std::memcpy(sa->sun_path, text.data() + 5, text.size() - 5);
    u->addrLen = sizeof(sockaddr_un);
    return true;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string host = text.substr(0, colon);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) {
    return false;
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&u->addr);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(static_cast<uint16_t>(port));
    u->addrLen = sizeof(sockaddr_in6);
    return ::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &sa->sin6_addr) == 1;
  }
  auto* sa = reinterpret_cast<sockaddr_in*>(&u->addr);
  sa->sin_family = AF_INET;
  sa->sin_port = htons(static_cast<uint16_t>(port));
  u->addrLen = sizeof(sockaddr_in);
  return ::inet_pton(AF_INET, host.c_str(), &sa->sin_addr) == 1;
}

}  // namespace

void UpstreamConn::setDeadline(int64_t atMs) { pool_->schedule(this, atMs); }

UpstreamPool::UpstreamPool(EventLoop* loop, TimerHeap* timers, const WorkerClock* clock,
                           uint64_t tagBase, uint32_t timerBase, uint32_t capacity)
    : loop_(loop),
      timers_(timers),
      clock_(clock),
      tagBase_(tagBase),
      timerBase_(timerBase),
      conns_(new UpstreamConn[capacity]),
      capacity_(capacity) {
  free_.reserve(capacity);
  for (uint32_t i = capacity; i > 0; --i) {
    UpstreamConn& c = conns_[i - 1];
    c.slot_ = i - 1;
    c.pool_ = this;
    c.timer_.owner = timerBase | (i - 1);
    free_.push_back(i - 1);
  }
}

UpstreamPool::~UpstreamPool() = default;

int64_t UpstreamPool::nowMs() const { return clock_->nowMs(); }

void UpstreamPool::schedule(UpstreamConn* c, int64_t atMs) {
  if (atMs == 0) {
    timers_->cancel(&c->timer_);
  } else {
    timers_->schedule(&c->timer_, atMs);
  }
}

Upstream* UpstreamPool::add(const std::string& address, const UpstreamLimits& limits) {
  auto u = std::make_unique<Upstream>();
  if (!parseAddress(address, u.get())) return nullptr;
  u->text = address;
  u->limits = limits;
  u->index = static_cast<uint32_t>(upstreams_.size());
  u->idle.reserve(std::min(limits.maxConns, limits.maxIdle));
  u->ring.resize(limits.queue);
  u->timer.owner = timerBase_ | kQueueTimerBit | u->index;
  upstreams_.push_back(std::move(u));
  return upstreams_.back().get();
}

void UpstreamPool::setAppStats(Upstream* u, AppStats* stats) { u->app = stats; }

const std::string& UpstreamPool::address(const Upstream* u) { return u->text; }

void UpstreamPool::countFailure(Upstream* u) {
  if (u->app != nullptr) u->app->failures.fetch_add(1, std::memory_order_relaxed);
}

// Counts c as busy in its app generation before it is used, then checks that the generation is
// still the current one (the order matters: see AppStats). False: c belongs to a retired
// generation and must not carry a new request.
bool UpstreamPool::claim(UpstreamConn* c) {
  AppStats* app = c->upstream_->app;
  if (app == nullptr) return true;
  app->busy[c->appGeneration_ % kAppGenerations].fetch_add(1);
  c->busy_ = true;
  if (app->generation.load() == c->appGeneration_) return true;
  unclaim(c);
  return false;
}

void UpstreamPool::unclaim(UpstreamConn* c) {
  if (!c->busy_) return;
  c->busy_ = false;
  c->upstream_->app->busy[c->appGeneration_ % kAppGenerations].fetch_sub(1);
}

void UpstreamPool::dequeued(Upstream* u) {
  if (u->app != nullptr) u->app->queued.fetch_sub(1, std::memory_order_relaxed);
}

void UpstreamPool::acquire(Upstream* u, UpstreamUser* user, int connectTimeoutMs, bool fresh) {
  while (!fresh && !u->idle.empty()) {
    UpstreamConn* c = u->idle.back();
    u->idle.pop_back();
    // An application may close a kept connection after its reply (php-cgi does), and the FIN
    // may have come with the reply's last edge, so no event says so: look before using it.
    char b;
    ssize_t n = ::recv(c->fd(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR) && claim(c)) {
      handOver(c, user, true);
      return;
    }
    closeConn(c, false);
  }
  if (u->open < u->limits.maxConns && !free_.empty()) {
    startConnect(u, user, connectTimeoutMs);
    return;
  }
  if (u->count == u->ring.size()) {
    user->onUpstreamFailed(503);
    return;
  }
  int64_t deadline = nowMs() + u->limits.queueTimeoutMs;
  u->ring[(u->head + u->count) % u->ring.size()] = {user, deadline, connectTimeoutMs};
  if (u->app != nullptr) u->app->queued.fetch_add(1, std::memory_order_relaxed);
  if (u->count++ == 0) timers_->schedule(&u->timer, deadline);
}

void UpstreamPool::cancelWait(Upstream* u, UpstreamUser* user) {
  for (uint32_t i = 0; i < u->count; ++i) {
    Upstream::Waiter& w = u->ring[(u->head + i) % u->ring.size()];
    if (w.user == user) w.user = nullptr;  // skipped when its turn comes
  }
  // Or it was connecting: the connection is closed when the connect completes or times out.
  for (UpstreamConn* c = conns_.get(); c != conns_.get() + capacity_; ++c) {
    if (c->user_ == user && c->connecting_) c->user_ = nullptr;
  }
}

void UpstreamPool::startConnect(Upstream* u, UpstreamUser* user, int connectTimeoutMs) {
  uint32_t slot = free_.back();
  UpstreamConn* c = &conns_[slot];
  int family = u->addr.ss_family;
  c->fd_.reset(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!c->fd_) {
    LOG_SYSERR(errno, "socket() for upstream %s failed", u->text.c_str());
    user->onUpstreamFailed(502);
    return;
  }
  if (family != AF_UNIX) {
    int one = 1;
    ::setsockopt(c->fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  // An app's connection counts as busy from before the connect: a retiring generation's processes
  // are stopped only when none is.
  if (u->app != nullptr) {
    c->appGeneration_ = u->app->generation.load();
    u->app->busy[c->appGeneration_ % kAppGenerations].fetch_add(1);
    c->busy_ = true;
  }
  c->upstream_ = u;
  int r = ::connect(c->fd(), reinterpret_cast<const sockaddr*>(&u->addr), u->addrLen);
  if (r != 0 && errno != EINPROGRESS) {
    int err = errno;
    LOG_SYSERR(err, "connect() to %s failed", u->text.c_str());
    unclaim(c);
    c->upstream_ = nullptr;
    c->fd_.reset();
    user->onUpstreamFailed(502);
    return;
  }
  free_.pop_back();
  ++u->open;
  ++c->generation_;
  c->connecting_ = r != 0;
  uint64_t tag = tagBase_ | slot | (static_cast<uint64_t>(c->generation_ & 0x3fffffff) << 32);
  if (loop_->add(c->fd(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, tag) != 0) {
    LOG_SYSERR(errno, "epoll_ctl(ADD) of an upstream connection failed");
    closeConn(c);
    user->onUpstreamFailed(502);
    return;
  }
  if (c->connecting_) {
    c->user_ = user;
    schedule(c, nowMs() + (connectTimeoutMs > 0 ? connectTimeoutMs : u->limits.connectTimeoutMs));
    return;
  }
  handOver(c, user, false);
}

void UpstreamPool::handOver(UpstreamConn* c, UpstreamUser* user, bool reused) {
  if (c->upstream_->app != nullptr) {
    c->upstream_->app->requests.fetch_add(1, std::memory_order_relaxed);
  }
  c->user_ = user;
  c->connecting_ = false;
  schedule(c, 0);
  user->onUpstreamReady(c, reused);
}

void UpstreamPool::closeConn(UpstreamConn* c, bool serve) {
  Upstream* u = c->upstream_;
  if (u != nullptr) unclaim(c);
  timers_->cancel(&c->timer_);
  c->fd_.reset();  // also leaves the epoll set
  c->user_ = nullptr;
  c->upstream_ = nullptr;
  c->connecting_ = false;
  ++c->generation_;
  free_.push_back(c->slot_);
  if (u != nullptr) {
    auto it = std::find(u->idle.begin(), u->idle.end(), c);
    if (it != u->idle.end()) u->idle.erase(it);
    --u->open;
    if (serve) serveQueue(u);
  }
}

void UpstreamPool::release(UpstreamConn* c, bool reusable) {
  Upstream* u = c->upstream_;
  c->user_ = nullptr;
  timers_->cancel(&c->timer_);
  unclaim(c);
  if (!reusable || !u->limits.keepConns || u->idle.size() >= u->limits.maxIdle) {
    closeConn(c);
    return;
  }
  u->idle.push_back(c);
  serveQueue(u);
}

// A connection became free (idle or closed): the first live waiter gets it.
void UpstreamPool::serveQueue(Upstream* u) {
  while (u->count > 0) {
    Upstream::Waiter w = u->ring[u->head];
    if (w.user != nullptr && u->idle.empty() && u->open >= u->limits.maxConns) return;
    u->head = (u->head + 1) % static_cast<uint32_t>(u->ring.size());
    --u->count;
    dequeued(u);
    if (w.user != nullptr) {
      if (u->count == 0) timers_->cancel(&u->timer);
      acquire(u, w.user, w.connectTimeoutMs);
      break;
    }
  }
  if (u->count == 0) {
    timers_->cancel(&u->timer);
  } else {
    timers_->schedule(&u->timer, u->ring[u->head].deadlineMs);
  }
}

void UpstreamPool::onEvent(uint64_t tag, uint32_t events) {
  auto slot = static_cast<uint32_t>(tag);
  UpstreamConn* c = &conns_[slot];
  if (!c->fd_ || ((tag >> 32) & 0x3fffffff) != (c->generation_ & 0x3fffffff)) return;
  if (c->user_ == nullptr) {
    // A late writability edge (the ACK of the last request) says nothing about an idle connection.
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0) return;
    closeConn(c);  // an idle connection that the application closed (or wrote to): drop it
    return;
  }
  if (c->connecting_) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c->fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0 && (events & EPOLLOUT) == 0) return;
    UpstreamUser* user = c->user_;
    if (err != 0) {
      LOG_SYSERR(err, "connect() to %s failed", c->upstream_->text.c_str());
      closeConn(c);
      user->onUpstreamFailed(502);
      return;
    }
    handOver(c, user, false);
    return;
  }
  c->user_->onUpstreamEvent(c, events);
}

void UpstreamPool::onTimer(uint32_t owner) {
  uint32_t id = owner & ~timerBase_;
  if ((id & kQueueTimerBit) != 0) {
    Upstream* u = upstreams_[id & ~kQueueTimerBit].get();
    int64_t now = nowMs();
    while (u->count > 0 && u->ring[u->head].deadlineMs <= now) {
      UpstreamUser* user = u->ring[u->head].user;
      u->head = (u->head + 1) % static_cast<uint32_t>(u->ring.size());
      --u->count;
      dequeued(u);
      if (user != nullptr) user->onUpstreamFailed(503);
    }
    if (u->count > 0) timers_->schedule(&u->timer, u->ring[u->head].deadlineMs);
    return;
  }
  UpstreamConn* c = &conns_[id];
  if (!c->fd_) return;
  if (c->user_ == nullptr) {
    closeConn(c);  // a connect whose request went away
    return;
  }
  if (c->connecting_) {
    UpstreamUser* user = c->user_;
    LOG_ERROR("connect() to %s timed out", c->upstream_->text.c_str());
    closeConn(c);
    user->onUpstreamFailed(504);
    return;
  }
  c->user_->onUpstreamTimeout(c);
}

}  // namespace hs
