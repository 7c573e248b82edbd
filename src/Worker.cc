#include "Worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "Channel.h"
#include "Log.h"

namespace hs {
namespace {

// epoll tags: the top two bits say what the fd is; connections add their pool slot and generation
// so an event for a slot that was closed and reused in the same batch is recognised as stale.
constexpr uint64_t kTagChannel = 1ull << 62;
constexpr uint64_t kTagSignal = 2ull << 62;
constexpr uint64_t kTagMask = 3ull << 62;

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
      ios_(static_cast<uint32_t>(cfg.conns)) {
  for (uint32_t i = 0; i < conns_.capacity(); ++i) conns_.at(i).timer.owner = i;
  if (cfg.maxAge >= 0) cacheControl_ = "Cache-Control: max-age=" + std::to_string(cfg.maxAge) + "\r\n";
  // A boundary that cannot occur in the files: random per process.
  uint64_t r = static_cast<uint64_t>(::getpid()) * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(::time(nullptr));
  std::snprintf(boundary_, sizeof boundary_, "%016llx", static_cast<unsigned long long>(r));
}

bool Worker::setup() {
  rootFd_.reset(::open(cfg_.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootFd_) {
    LOG_SYSERR(errno, "open(\"%s\") of the document root failed", cfg_.root.c_str());
    return false;
  }
  static FileCache* cache = nullptr;  // one per process, lives until exit
  cache = new FileCache(rootFd_.get());
  cache_ = cache;
  if (!accessLog_.open(cfg_.accessLog)) {
    LOG_SYSERR(errno, "open(\"%s\") of the access log failed", cfg_.accessLog.c_str());
  }
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
    LOG_SYSERR(errno, "dropping privileges to uid %u failed", static_cast<unsigned>(privileges_.uid));
    return false;
  }
  updateClock();
  return true;
}

void Worker::updateClock() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  nowMs_ = static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  nowSec_ = ts.tv_sec;
  if (nowSec_ != dateSecond_) {
    dateSecond_ = nowSec_;
    HeadWriter w(serverDate_, sizeof serverDate_);
    char date[kHttpDateLen];
    formatHttpDate(nowSec_, date);
    w.add("Server: ").add(kServerName).add("\r\nDate: ").add({date, kHttpDateLen}).add("\r\n");
    serverDateLen_ = static_cast<uint32_t>(w.size());
  }
}

int Worker::run() {
  if (!setup()) return 1;
  stats_->pid.store(::getpid(), std::memory_order_relaxed);
  while (!done()) {
    int n = loop_.wait(nextTimeoutMs());
    updateClock();
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = loop_.event(i);
      uint64_t tag = ev.data.u64;
      if ((tag & kTagMask) == kTagChannel) {
        onChannel();
      } else if ((tag & kTagMask) == kTagSignal) {
        onSignal();
      } else {
        Connection* c = &conns_.at(static_cast<uint32_t>(tag));
        if (c->active() && c->generation == static_cast<uint32_t>(tag >> 32)) {
          onConnectionEvent(c, ev.events);
        }
      }
    }
    expireTimers();
    accessLog_.flushIfDue(nowSec_);
  }
  for (uint32_t i = 0; i < conns_.capacity(); ++i) {
    if (conns_.at(i).active()) closeConnection(&conns_.at(i));
  }
  accessLog_.flush();
  return 0;
}

bool Worker::done() const {
  if (stop_) return true;
  if (mode_ == Mode::kServing) return false;
  return conns_.inUse() == 0 || nowMs_ >= quitDeadlineMs_;
}

int Worker::nextTimeoutMs() const {
  int64_t wait = -1;
  if (const TimerNode* t = timers_.top()) wait = std::max<int64_t>(0, t->deadlineMs - nowMs_);
  if (mode_ != Mode::kServing) {
    int64_t q = std::max<int64_t>(0, quitDeadlineMs_ - nowMs_);
    wait = wait < 0 ? q : std::min(wait, q);
  }
  if (accessLog_.enabled()) wait = wait < 0 ? 1000 : std::min<int64_t>(wait, 1000);
  return static_cast<int>(wait);
}

void Worker::onChannel() {
  for (;;) {
    ChannelMsg msg;
    int fds[kMaxFdsPerMessage];
    int nfds = 0;
    int r = channelRecv(channel_.get(), &msg, fds, &nfds);
    if (r == -EAGAIN) return;
    if (r <= 0) {
      for (int i = 0; i < nfds; ++i) ::close(fds[i]);
      if (r == -EPROTO) continue;
      // The master is gone: finish what we hold, then exit.
      loop_.remove(channel_.get());
      beginRetire(Mode::kQuitting);
      return;
    }
    switch (msg) {
      case ChannelMsg::kConnections:
        for (int i = 0; i < nfds; ++i) adopt(fds[i]);
        break;
      case ChannelMsg::kRetire:
        beginRetire(Mode::kRetiring);
        break;
      case ChannelMsg::kQuit:
        beginRetire(Mode::kQuitting);
        break;
      default:
        for (int i = 0; i < nfds; ++i) ::close(fds[i]);
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
        beginRetire(Mode::kQuitting);
        break;
      case SIGUSR1:
        log::reopen();
        accessLog_.reopen();
        break;
      default:  // SIGHUP: reload is the master's business
        break;
    }
  }
}

void Worker::adopt(int fd) {
  bump(stats_->taken, uint64_t{1});
  if (conns_.inUse() == conns_.capacity() && mode_ == Mode::kServing) evictOldest();
  Connection* c = conns_.acquire();
  if (c == nullptr || mode_ != Mode::kServing) {
    // Full with nothing evictable any more, or retiring: the master finds it another place.
    if (channelSend(channel_.get(), ChannelMsg::kHandback, &fd, 1) != 0) {
      LOG_WARN("connection refused: worker at capacity or stopping");
    }
    if (c != nullptr) conns_.release(c);
    ::close(fd);
    return;
  }
  c->fd.reset(fd);
  c->registered = false;
  bump(stats_->live, 1u);
  if (stats_->live.load(std::memory_order_relaxed) >= static_cast<uint32_t>(cfg_.conns)) wasFull_ = true;
  if (accessLog_.enabled() || !cfg_.statusPath.empty()) {
    socklen_t len = sizeof c->peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&c->peer), &len) != 0) c->peer = {};
  }
  setState(c, ConnState::kIdle);
  setDeadline(c, cfg_.headerTimeoutMs);
  // The request usually arrives with the connection (the listen socket defers accepts until
  // data is there): read and answer it now. A connection that is done by then (HTTP/1.0, close)
  // never enters the epoll set at all; one that has to wait is registered now. Registering after
  // the EAGAIN loses nothing: epoll_ctl(ADD) reports readiness that is already there.
  c->readable = true;
  drive(c);
  if (c->active() && !c->registered) {
    uint64_t tag = conns_.index(c) | (static_cast<uint64_t>(c->generation & 0x3fffffff) << 32);
    if (loop_.add(c->fd.get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, tag) != 0) {
      LOG_SYSERR(errno, "epoll_ctl(ADD) of a connection failed");
      closeConnection(c);
      return;
    }
    c->registered = true;
  }
}

void Worker::expireTimers() {
  while (TimerNode* n = timers_.popExpired(nowMs_)) {
    Connection* c = &conns_.at(n->owner);
    if (c->deadlineMs > nowMs_) {
      timers_.schedule(n, c->deadlineMs);  // the deadline moved later since it was queued
    } else {
      LOG_DEBUG("connection timed out in state %d", static_cast<int>(c->state));
      if (c->state == ConnState::kWriting) {
        abortConnection(c);
      } else {
        closeConnection(c);
      }
    }
  }
}

void Worker::beginRetire(Mode mode) {
  if (mode_ == Mode::kQuitting) return;
  if (mode_ == Mode::kServing) quitDeadlineMs_ = nowMs_ + cfg_.quitTimeoutMs;
  mode_ = mode;
  for (uint32_t i = 0; i < conns_.capacity(); ++i) {
    Connection* c = &conns_.at(i);
    if (c->state != ConnState::kIdle || (c->io != nullptr && c->io->inEnd > c->io->inStart)) continue;
    if (mode == Mode::kRetiring) {
      handBack(c);
    } else if (nowMs_ - c->lruSinceMs >= kQuitIdleGraceMs) {
      closeConnection(c);
    } else {
      // Idle for a moment only: probably a busy client about to send its next request, which a
      // close now would race. Let that request come and be answered with Connection: close; if
      // it does not come, the connection is closed when it has been idle for the grace period.
      setDeadline(c, static_cast<int>(kQuitIdleGraceMs - (nowMs_ - c->lruSinceMs)));
    }
  }
}

}  // namespace hs
