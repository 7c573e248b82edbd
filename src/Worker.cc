#include "Worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "Channel.h"
#include "FileTask.h"
#include "Log.h"

namespace hs {
namespace {

// epoll tags: the top two bits say what the fd is; connections add their pool slot and generation
// so an event for a slot that was closed and reused in the same batch is recognised as stale.
constexpr uint64_t kTagChannel = 1ull << 62;
constexpr uint64_t kTagSignal = 2ull << 62;
constexpr uint64_t kTagUpstream = 3ull << 62;      // UpstreamPool's sockets
constexpr uint32_t kUpstreamTimers = 0x80000000u;  // timer owners above this are the pool's
constexpr uint64_t kTagMask = 3ull << 62;
constexpr uint64_t kTagPool = kTagSignal | 1;  // the thread pool's completions (an eventfd)

// Task records per worker: at most this many cache misses and read-aheads wait for the pool at
// once; more are done inline (a full queue degrades to the behaviour without a pool).
constexpr uint32_t kPoolTasks = 64;

uint64_t connectionTag(uint32_t slot, uint32_t generation) {
  return slot | (static_cast<uint64_t>(generation & 0x3fffffff) << 32);
}

}  // namespace

Worker::Worker(const Config& cfg, UniqueFd channel, SharedState* shared, WorkerStats* stats,
               const Privileges& privileges)
    : cfg_(cfg),
      privileges_(privileges),
      channel_(std::move(channel)),
      shared_(shared),
      stats_(stats),
      timers_(static_cast<size_t>(cfg.conns)),
      conns_(static_cast<uint32_t>(cfg.conns)),
      eviction_(static_cast<uint32_t>(cfg.conns)),
      ios_(static_cast<uint32_t>(cfg.conns)),
      bodies_(static_cast<uint32_t>(cfg.conns)),
      upstreams_(&loop_, &timers_, &clock_, kTagUpstream, kUpstreamTimers,
                 static_cast<uint32_t>(cfg.conns)) {
  env_ = ConnectionEnv{&cfg_,  &clock_, &lifecycle_, &timers_, &eviction_, &ios_,
                       stats_, nullptr, nullptr,     nullptr,  this};
  env_.responses = &shared->responses[stats - shared->workers];  // the slot's metrics
  env_.refusals = &refusals_;
  hosts_.enable();
  env_.hosts = &hosts_;
  env_.bodies = &bodies_;
  for (uint32_t i = 0; i < conns_.capacity(); ++i) conns_.at(i).attach(&env_, i);
  posted_.reserve(conns_.capacity());
  // A boundary that cannot occur in the files: random per process.
  uint64_t r = static_cast<uint64_t>(::getpid()) * 0x9E3779B97F4A7C15ull ^
               static_cast<uint64_t>(::time(nullptr));
  std::snprintf(boundary_, sizeof boundary_, "%016llx", static_cast<unsigned long long>(r));
}

bool Worker::setup() {
  // Before privileges are dropped: the roots are opened and the htpasswd files read as root.
  std::string err;
  if (!sites_.open(cfg_, &err)) {
    LOG_ERROR("routing configuration: %s", err.c_str());
    return false;
  }
  handlers_ = std::make_unique<HandlerTable>(cfg_, sites_.cache(0), shared_, boundary_, &sites_,
                                             &upstreams_);
  std::vector<std::pair<const void*, FastCgiTarget>> targets;
  err = groups_.build(cfg_, &upstreams_);
  if (err.empty())
    err = gateways_.build(sites_.routes(), cfg_, &upstreams_, groups_, &targets, shared_);
  groups_.publishTo(&shared_->upstreams[stats_ - shared_->workers]);
  if (!err.empty()) {
    LOG_ERROR("%s", err.c_str());
    return false;
  }
  for (auto& [location, target] : targets)
    handlers_->fastcgi()->addTarget(location, std::move(target));
  std::vector<std::pair<const void*, ProxyTarget>> proxied;
  err = proxies_.build(sites_.routes(), cfg_, &upstreams_, &proxied);
  if (!err.empty()) {
    LOG_ERROR("%s", err.c_str());
    return false;
  }
  for (auto& [location, target] : proxied)
    handlers_->proxy()->addTarget(location, std::move(target));
  env_.handlers = handlers_.get();
  env_.routes = &sites_.routes();
  env_.errors = &handlers_->errors();
  const RouteConfig& routes = sites_.routes();
  std::string failed;
  if (!accessLogs_.open(routes.accessLogs, &failed)) {
    LOG_SYSERR(errno, "open(\"%s\") of an access log failed", failed.c_str());
  }
  env_.accessLog = accessLogs_.at(routes.defaultAccessLogId);
  env_.accessLogs = accessLogs_.any() ? &accessLogs_ : nullptr;
  env_.defaultLogFormat = routes.defaultLogFormat;
  env_.pid = static_cast<int>(::getpid());
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGHUP}) sigaddset(&mask, s);
  signalFd_.reset(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!loop_.valid() || !signalFd_ || loop_.add(channel_.get(), EPOLLIN, kTagChannel) != 0 ||
      loop_.add(signalFd_.get(), EPOLLIN, kTagSignal) != 0) {
    LOG_SYSERR(errno, "worker setup failed");
    return false;
  }
  // The root and the logs are open: no request is ever served with more rights than needed.
  if (!dropPrivileges(privileges_)) {
    LOG_SYSERR(errno, "dropping privileges to uid %u failed",
               static_cast<unsigned>(privileges_.uid));
    return false;
  }
  // The threads start as the workers' user, with every signal blocked (the signalfd stays ours).
  if (cfg_.threadPool > 0) {
    pool_ = std::make_unique<ThreadPool>(cfg_.threadPool, kPoolTasks);
    if (!pool_->valid() || loop_.add(pool_->eventFd(), EPOLLIN, kTagPool) != 0) {
      LOG_SYSERR(errno, "thread pool setup failed");
      return false;
    }
    handlers_->usePool(pool_.get());
    env_.pool = pool_.get();
  }
  stats_->poolThreads.store(static_cast<uint32_t>(cfg_.threadPool), std::memory_order_relaxed);
  clock_.update();
  return true;
}

int Worker::run() {
  if (!setup()) return 1;
  stats_->pid.store(::getpid(), std::memory_order_relaxed);
  while (!done()) {
    int n = loop_.wait(nextTimeoutMs());
    clock_.update();
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = loop_.event(i);
      uint64_t tag = ev.data.u64;
      if ((tag & kTagMask) == kTagChannel) {
        onChannel();
      } else if (tag == kTagPool) {
        onPoolDone();
      } else if ((tag & kTagMask) == kTagSignal) {
        onSignal();
      } else if ((tag & kTagMask) == kTagUpstream) {
        upstreams_.onEvent(tag & ~kTagMask, ev.events);
      } else {
        Connection* c = &conns_.at(static_cast<uint32_t>(tag));
        if (c->active() && connectionTag(static_cast<uint32_t>(tag), c->generation()) == tag) {
          c->onEvent(ev.events);
        }
      }
    }
    if (!posted_.empty()) runPosted();
    if (pool_) publishPool();
    expireTimers();
    stats_->oldestEvictableMs.store(eviction_.oldestSinceMs(), std::memory_order_relaxed);
    accessLogs_.flushIfDue(clock_.nowSec());
    refusals_.tick(clock_.nowSec());
  }
  for (uint32_t i = 0; i < conns_.capacity(); ++i) {
    if (conns_.at(i).active()) conns_.at(i).close();
  }
  if (pool_) {
    // A read-ahead gives its file reference back, run or not; an open that ran hands its result
    // to its handler (which installs it); one never run holds nothing.
    pool_->shutdown([this](PoolTask& t) {
      if (t.kind == kReadAheadTask) {
        finishReadAhead(t);
      } else if (t.finishedNs != 0) {
        static_cast<Handler*>(t.owner)->taskDone(t, nullptr, clock_.nowMs());
      }
    });
  }
  accessLogs_.flush();
  return 0;
}

// Finished tasks come back to the handlers that gave them; a task whose connection closed (or
// whose slot holds another connection now) is handed back without it.
void Worker::onPoolDone() {
  pool_->collect([this](PoolTask& t) {
    Connection& c = conns_.at(t.slot);
    const bool same = c.active() && c.generation() == t.generation;
    if (t.kind == kReadAheadTask) {
      finishReadAhead(t);
      if (same && c.diskWaiting()) c.diskReady();
      return;
    }
    Handler* h = static_cast<Handler*>(t.owner);
    const bool waiting = same && c.state() == ConnState::kHandling && c.asyncHandler() == h;
    h->taskDone(t, waiting ? &c : nullptr, clock_.nowMs());
  });
}

// Copies the pool's counters to the shared stats when they moved: one comparison per wakeup.
void Worker::publishPool() {
  const ThreadPoolStats& s = pool_->stats();
  if (s.submitted + s.done == poolPublished_) return;
  poolPublished_ = s.submitted + s.done;
  stats_->poolQueue.store(pool_->inFlight(), std::memory_order_relaxed);
  stats_->poolDone.store(s.done, std::memory_order_relaxed);
  stats_->poolWaitUs.store(s.waitNs / 1000, std::memory_order_relaxed);
  stats_->poolRunUs.store(s.runNs / 1000, std::memory_order_relaxed);
}

bool Worker::done() const {
  if (stop_) return true;
  if (lifecycle_ == Lifecycle::kServing) return false;
  return conns_.inUse() == 0 || clock_.nowMs() >= quitDeadlineMs_;
}

int Worker::nextTimeoutMs() const {
  if (!posted_.empty()) return 0;
  int64_t wait = -1;
  int64_t now = clock_.nowMs();
  if (const TimerNode* t = timers_.top()) wait = std::max<int64_t>(0, t->deadlineMs - now);
  if (lifecycle_ != Lifecycle::kServing) {
    int64_t q = std::max<int64_t>(0, quitDeadlineMs_ - now);
    wait = wait < 0 ? q : std::min(wait, q);
  }
  // The 1 s tick: the access log's flush, the summary of refusal lines not logged.
  if (accessLogs_.any() || refusals_.pending()) {
    wait = wait < 0 ? 1000 : std::min<int64_t>(wait, 1000);
  }
  return static_cast<int>(wait);
}

void Worker::onChannel() {
  for (;;) {
    ChannelMsg msg;
    int fds[kMaxFdsPerMessage];
    uint16_t listens[kMaxFdsPerMessage];
    int nfds = 0;
    int r = channelRecv(channel_.get(), &msg, fds, &nfds, listens);
    if (r == -EAGAIN) return;
    if (r <= 0) {
      for (int i = 0; i < nfds; ++i) UniqueFd discard(fds[i]);
      if (r == -EPROTO) continue;
      // The master is gone: finish what we hold, then exit.
      loop_.remove(channel_.get());
      beginRetire(Lifecycle::kQuitting);
      return;
    }
    switch (msg) {
      case ChannelMsg::kConnections:
        for (int i = 0; i < nfds; ++i) adopt(fds[i], listens[i]);
        break;
      case ChannelMsg::kRetire:
        beginRetire(Lifecycle::kRetiring);
        break;
      case ChannelMsg::kQuit:
        beginRetire(Lifecycle::kQuitting);
        break;
      default:
        for (int i = 0; i < nfds; ++i) UniqueFd discard(fds[i]);
        break;
    }
  }
}

void Worker::onSignal() {
  signalfd_siginfo si;
  while (::read(signalFd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    switch (si.ssi_signo) {
      case SIGTERM:
      case SIGINT:
        stop_ = true;
        break;
      case SIGQUIT:
        beginRetire(Lifecycle::kQuitting);
        break;
      case SIGUSR1:
        log::reopen();
        accessLogs_.reopen();
        break;
      default:  // SIGHUP: reload is the master's business
        break;
    }
  }
}

void Worker::adopt(int fd, uint16_t listenIndex) {
  UniqueFd client(fd);
  bump(stats_->taken, uint64_t{1});
  if (conns_.inUse() == conns_.capacity() && lifecycle_ == Lifecycle::kServing) evictOldest();
  Connection* c = lifecycle_ == Lifecycle::kServing ? conns_.acquire() : nullptr;
  if (c == nullptr) {
    // Full with nothing evictable any more, or retiring: the master finds it another place.
    if (channelSend(channel_.get(), ChannelMsg::kHandback, &fd, 1, &listenIndex) != 0) {
      LOG_WARN("connection refused: worker at capacity or stopping");
    }
    return;  // closes our copy
  }
  bump(stats_->live, 1u);
  if (stats_->live.load(std::memory_order_relaxed) >= static_cast<uint32_t>(cfg_.conns))
    wasFull_ = true;
  c->open(client.release(),
          accessLogs_.any() || !cfg_.statusPath.empty() || !cfg_.metricsPath.empty() ||
              sites_.routes().needsPeer || cfg_.proxyProtocol || !cfg_.realIpHeader.empty(),
          listenIndex);
  // The request usually arrives with the connection: read and answer it now. A connection that is
  // done by then (HTTP/1.0, close) never enters the epoll set at all; one that has to wait is
  // registered now. Registering after the EAGAIN loses nothing: epoll_ctl(ADD) reports readiness
  // that is already there.
  c->drive();
  if (c->active() && !c->registered()) {
    if (loop_.add(c->fd(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                  connectionTag(conns_.index(c), c->generation())) != 0) {
      LOG_SYSERR(errno, "epoll_ctl(ADD) of a connection failed");
      c->close();
      return;
    }
    c->markRegistered();
  }
}

// Makes room for a newcomer when the pool is full (see kEvictAfterMs): closes the connection that
// has waited longest. Returns false when none has waited long enough.
bool Worker::evictOldest() {
  for (uint32_t tries = conns_.inUse(); tries > 0; --tries) {
    uint32_t slot = eviction_.front();
    if (slot == EvictionList::kNone) return false;
    int64_t waitedMs = clock_.nowMs() - eviction_.sinceMs(slot);
    if (waitedMs < kEvictAfterMs) return false;
    Connection& c = conns_.at(slot);
    if (c.drainingSinceStall()) continue;  // moved to the back
    const char* what = c.state() == ConnState::kIdle      ? "idle"
                       : c.state() == ConnState::kWriting ? "stalled in a response"
                                                          : "reading its request";
    LOG_INFO("pool full: closing the connection %s the longest (%lld ms)", what,
             static_cast<long long>(waitedMs));
    c.evict();
    return true;
  }
  return false;
}

void Worker::expireTimers() {
  while (TimerNode* n = timers_.popExpired(clock_.nowMs())) {
    if ((n->owner & kUpstreamTimers) != 0) {
      upstreams_.onTimer(n->owner);
    } else {
      conns_.at(n->owner).onTimer();
    }
  }
}

void Worker::runPosted() {
  // Driving a connection may post others (or itself again): those run in the next round.
  size_t n = posted_.size();
  for (size_t i = 0; i < n; ++i) {
    Connection& c = conns_.at(posted_[i].slot);
    if (!c.active() || c.generation() != posted_[i].generation || !c.posted()) continue;
    c.clearPosted();
    c.drive();
  }
  posted_.erase(posted_.begin(), posted_.begin() + static_cast<std::ptrdiff_t>(n));
}

void Worker::beginRetire(Lifecycle next) {
  if (lifecycle_ == Lifecycle::kQuitting) return;
  if (lifecycle_ == Lifecycle::kServing) quitDeadlineMs_ = clock_.nowMs() + cfg_.quitTimeoutMs;
  lifecycle_ = next;
  for (uint32_t i = 0; i < conns_.capacity(); ++i) {
    if (conns_.at(i).active()) conns_.at(i).onRetire();
  }
}

void Worker::post(Connection* c) { posted_.push_back({conns_.index(c), c->generation()}); }

void Worker::handBack(Connection* c) {
  int fd = c->fd();
  // The master will hold the socket after our close, which would leave it in our epoll set
  // (registrations last until every fd of the socket is closed): remove it explicitly.
  if (c->registered()) loop_.remove(fd);
  const uint16_t listenIndex = c->listenIndex();
  if (channelSend(channel_.get(), ChannelMsg::kHandback, &fd, 1, &listenIndex) != 0) {
    LOG_DEBUG("hand-back failed; closing the idle connection");
  }
}

void Worker::released(Connection* c) {
  conns_.release(c);
  drop(stats_->live, 1u);
  if (wasFull_) {
    wasFull_ = false;
    channelSend(channel_.get(), ChannelMsg::kSlotFree, nullptr, 0);
  }
}

}  // namespace hs
