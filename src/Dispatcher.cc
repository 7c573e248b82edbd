#include "Dispatcher.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "Clock.h"
#include "Log.h"

namespace hs {
namespace {

// Closes fds[0..n); accepted fds are usually consecutive numbers, so runs go in one close_range.
void closeAll(const int* fds, size_t n) {
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && fds[j] == fds[j - 1] + 1) ++j;
    if (j - i == 1) {
      ::close(fds[i]);
    } else {
      ::syscall(SYS_close_range, static_cast<unsigned>(fds[i]), static_cast<unsigned>(fds[j - 1]),
                0);
    }
    i = j;
  }
}

}  // namespace

Dispatcher::Dispatcher(EventLoop* loop, SharedState* shared, const Workers* workers,
                       std::vector<ListenSocket> listeners,
                       std::shared_ptr<const ListenTable> table, uint64_t listenTag)
    : loop_(loop),
      shared_(shared),
      workers_(workers),
      listeners_(std::move(listeners)),
      table_(std::move(table)),
      listenTag_(listenTag) {
  toClose_.reserve(2 * kMaxAcceptsPerWakeup);  // one round plus the batches it completed
}

Dispatcher::~Dispatcher() {
  for (const Pending& p : pending_) ::close(p.fd);
}

uint64_t Dispatcher::load(const WorkerProc& w) const {
  const WorkerStats& s = shared_->workers[w.slot];
  uint64_t taken = s.taken.load(std::memory_order_relaxed);
  uint64_t inFlight = w.sent > taken ? w.sent - taken : 0;
  return s.live.load(std::memory_order_relaxed) + inFlight + static_cast<uint64_t>(w.batchLen);
}

WorkerProc* Dispatcher::leastLoaded(int64_t now) {
  WorkerProc* best = nullptr;
  uint64_t bestLoad = 0;
  size_t n = workers_->size();
  for (size_t k = 0; k < n; ++k) {
    WorkerProc* w = (*workers_)[(rotor_ + k) % n].get();
    if (!w->takesWork()) continue;
    uint64_t l = load(*w);
    if (l >= conns_) continue;
    if (best == nullptr || l < bestLoad) {
      best = w;
      bestLoad = l;
    }
  }
  if (best == nullptr) best = evictionCandidate(now);
  if (best != nullptr) ++rotor_;
  return best;
}

// Every worker is full. A worker whose oldest idle-or-reading connection has waited kEvictAfterMs
// may take one connection more (it closes that one first); one at a time per worker.
WorkerProc* Dispatcher::evictionCandidate(int64_t now) {
  WorkerProc* best = nullptr;
  int64_t bestSince = 0;
  for (const std::unique_ptr<WorkerProc>& p : *workers_) {
    WorkerProc* w = p.get();
    if (!w->takesWork() || load(*w) != conns_) continue;  // above: an eviction is on its way
    int64_t since = shared_->workers[w->slot].oldestEvictableMs.load(std::memory_order_relaxed);
    if (since == 0 || now - since < kEvictAfterMs) continue;
    if (best == nullptr || since < bestSince) {
      best = w;
      bestSince = since;
    }
  }
  return best;
}

void Dispatcher::onListenReady(size_t i) {
  if (i >= listeners_.size()) return;
  int64_t now = monotonicMs();
  for (int k = 0; k < kMaxAcceptsPerWakeup && acceptOne(listeners_[i], now); ++k) {
  }
  sendBatches();
}

// Accepts one connection for the least-loaded worker. False when the round should end.
bool Dispatcher::acceptOne(const ListenSocket& l, int64_t now) {
  WorkerProc* w = leastLoaded(now);
  if (w == nullptr) {
    pause(true);  // every worker is full: new clients wait in the kernel's backlog
    return false;
  }
  int fd = ::accept4(l.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM) return true;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
      // Leave the clients in the backlog and retry shortly, instead of spinning on the error.
      LOG_SYSERR(err, "accept4() failed; pausing accepts for 100 ms");
      pause(true);
      retryAcceptMs_ = now + 100;
    } else if (err != EAGAIN) {
      LOG_SYSERR(err, "accept4() failed");
    }
    return false;
  }
  bump(shared_->accepted, uint64_t{1});
  queue(w, Pending{fd, l.index});
  return true;
}

void Dispatcher::queue(WorkerProc* w, Pending p) {
  w->batchListens[w->batchLen] = p.listen;
  w->batch[w->batchLen++] = p.fd;
  if (w->batchLen == kMaxFdsPerMessage) sendBatches();
}

void Dispatcher::sendBatches() {
  toClose_.clear();
  for (const std::unique_ptr<WorkerProc>& p : *workers_) {
    WorkerProc* w = p.get();
    if (w->batchLen == 0) continue;
    int n = w->batchLen;
    w->batchLen = 0;
    int r = channelSend(w->channel.get(), ChannelMsg::kConnections, w->batch, n, w->batchListens);
    if (r == 0) {
      w->sent += static_cast<uint64_t>(n);
      toClose_.insert(toClose_.end(), w->batch, w->batch + n);  // the worker has its own copies
      continue;
    }
    // The worker died or its channel is full: these connections go to another worker.
    if (r != -EAGAIN) w->channelOpen = false;
    LOG_WARN("passing %d connections to worker pid %d failed (%s); re-dispatching", n, w->pid,
             std::strerror(-r));
    for (int i = 0; i < n; ++i) pending_.push_back(Pending{w->batch[i], w->batchListens[i]});
  }
  // One accept round's fds are mostly consecutive numbers even when they went to several
  // workers in turn: sorted, they close in a few close_range calls instead of one close each.
  std::sort(toClose_.begin(), toClose_.end());
  closeAll(toClose_.data(), toClose_.size());
}

void Dispatcher::drainPending(int64_t now) {
  if (pending_.empty()) return;
  while (!pending_.empty()) {
    WorkerProc* w = leastLoaded(now);
    if (w == nullptr) break;
    Pending p = pending_.front();
    pending_.pop_front();
    queue(w, p);
  }
  sendBatches();
}

void Dispatcher::pause(bool pause) {
  if (pause) {
    for (const ListenSocket& l : listeners_) {
      if (watching_) loop_->remove(l.fd.get());
    }
    watching_ = false;
    paused_ = true;
    return;
  }
  paused_ = false;
  if (watching_ || listeners_.empty()) return;
  watching_ = true;
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (loop_->add(listeners_[i].fd.get(), EPOLLIN, listenTag_ | i) != 0) watching_ = false;
  }
}

void Dispatcher::onChannel(WorkerProc* w) {
  for (;;) {
    ChannelMsg msg;
    int fds[kMaxFdsPerMessage];
    uint16_t listens[kMaxFdsPerMessage];
    int nfds = 0;
    int r = channelRecv(w->channel.get(), &msg, fds, &nfds, listens);
    if (r == -EAGAIN) break;
    if (r == -EPROTO) {
      for (int i = 0; i < nfds; ++i) ::close(fds[i]);
      continue;
    }
    if (r <= 0) {  // the worker is exiting; SIGCHLD will tell the rest
      loop_->remove(w->channel.get());
      w->channelOpen = false;
      break;
    }
    if (msg == ChannelMsg::kHandback) {
      // Re-dispatched by drainPending(), to a worker that may run a newer configuration.
      for (int i = 0; i < nfds; ++i) {
        if (toCurrent(*w, &listens[i])) {
          pending_.push_back(Pending{fds[i], listens[i]});
        } else {
          LOG_DEBUG("closing a handed-back connection: its listen address was removed");
          ::close(fds[i]);
        }
      }
    } else {
      for (int i = 0; i < nfds; ++i) ::close(fds[i]);
    }
  }
  roomMayHaveFreed();  // kSlotFree, a hand-back or an exit
}

void Dispatcher::roomMayHaveFreed() {
  int64_t now = monotonicMs();
  drainPending(now);
  if (paused_ && retryAcceptMs_ == 0 && pending_.empty() && !listeners_.empty() &&
      leastLoaded(now) != nullptr) {
    pause(false);
  }
}

int64_t Dispatcher::nextWakeMs(int64_t now) const {
  int64_t next = INT64_MAX;
  if (retryAcceptMs_ != 0) next = retryAcceptMs_;
  if (!pending_.empty()) next = std::min(next, now + 10);
  // A full server is woken by kSlotFree; the poll is only a safety net.
  if (paused_ && !listeners_.empty()) next = std::min(next, now + 100);
  return next;
}

void Dispatcher::onTick(int64_t now) {
  if (retryAcceptMs_ != 0 && now >= retryAcceptMs_) {
    retryAcceptMs_ = 0;
    pause(false);
  }
  roomMayHaveFreed();
}

void Dispatcher::closeListeners() {
  pause(true);
  paused_ = false;
  retryAcceptMs_ = 0;
  listeners_.clear();
  for (const Pending& p : pending_) ::close(p.fd);
  pending_.clear();
}

// w's index names an address of the configuration w runs; *index becomes that address's index in
// the current table. False when the current configuration no longer listens there.
bool Dispatcher::toCurrent(const WorkerProc& w, uint16_t* index) const {
  if (w.listens == nullptr || table_ == nullptr || w.listens == table_) return true;
  if (*index >= w.listens->size()) return false;
  int now = findListen(*table_, (*w.listens)[*index]);
  if (now < 0) return false;
  *index = static_cast<uint16_t>(now);
  return true;
}

void Dispatcher::setListeners(std::vector<ListenSocket> listeners,
                              std::shared_ptr<const ListenTable> table) {
  const bool wasWatching = watching_;
  pause(true);  // takes the old sockets out of the epoll set
  for (Pending& p : pending_) {
    int now = table_ == nullptr || p.listen >= table_->size()
                  ? -1
                  : findListen(*table, (*table_)[p.listen]);
    if (now < 0) {
      ::close(p.fd);
      p.fd = -1;
    } else {
      p.listen = static_cast<uint16_t>(now);
    }
  }
  std::erase_if(pending_, [](const Pending& p) { return p.fd < 0; });
  listeners_ = std::move(listeners);  // closes the old fds; kept addresses live on in their dups
  table_ = std::move(table);
  if (wasWatching) pause(false);
}

}  // namespace hs
