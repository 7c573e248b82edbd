#include "Supervisor.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "Channel.h"
#include "Clock.h"
#include "Log.h"
#include "ProcTitle.h"
#include "Worker.h"

namespace hs {
namespace {

// Closes every fd from 3 up except those in keep[] (which must be sorted).
void closeAllExcept(const int* keep, int n) {
  unsigned from = 3;
  for (int i = 0; i < n; ++i) {
    if (keep[i] < 3) continue;
    auto k = static_cast<unsigned>(keep[i]);
    if (k > from) ::syscall(SYS_close_range, from, k - 1, 0);
    from = k + 1;
  }
  ::syscall(SYS_close_range, from, ~0u, 0);
}

void resetStats(WorkerStats& s, int index, uint32_t generation, uint32_t restarts) {
  s.pid = 0;
  s.live = 0;
  s.taken = 0;
  s.requests = 0;
  s.reading = 0;
  s.writing = 0;
  s.index = static_cast<uint32_t>(index);
  s.generation = generation;
  s.restarts = restarts;
  s.poolThreads = 0;
  s.poolQueue = 0;
  s.poolDone = 0;
  s.poolWaitUs = 0;
  s.poolRunUs = 0;
}

}  // namespace

Supervisor::Supervisor(EventLoop* loop, SharedState* shared, uint64_t channelTag, const Config* cfg,
                       const Privileges* privileges)
    : loop_(loop), shared_(shared), channelTag_(channelTag), cfg_(cfg), privileges_(privileges) {
  for (int i = kMaxWorkerSlots - 1; i >= 0; --i) freeSlots_.push_back(i);
}

WorkerProc* Supervisor::byPid(pid_t pid) {
  for (const std::unique_ptr<WorkerProc>& w : workers_) {
    if (w->pid == pid) return w.get();
  }
  return nullptr;
}

void Supervisor::spawn(int index) {
  if (freeSlots_.empty()) {
    LOG_ERROR("no free worker slot for worker %d", index);
    return;
  }
  Backoff& b = backoff_[static_cast<size_t>(index)];
  auto w = std::make_unique<WorkerProc>();
  UniqueFd workerEnd;
  if (!makeChannel(&w->channel, &workerEnd)) {
    LOG_SYSERR(errno, "socketpair() failed");
    b.respawnAtMs = monotonicMs() + 1000;
    return;
  }
  w->slot = freeSlots_.back();
  w->index = index;
  w->generation = generation_;
  w->listens = listens_;
  w->startedMs = monotonicMs();
  WorkerStats& s = shared_->workers[w->slot];
  resetStats(s, index, generation_, b.restarts);
  pid_t pid = ::fork();
  if (pid < 0) {
    LOG_SYSERR(errno, "fork() failed");
    b.respawnAtMs = monotonicMs() + 1000;
    return;
  }
  if (pid == 0) becomeWorker(*w, std::move(workerEnd));
  freeSlots_.pop_back();
  w->pid = pid;
  s.pid = pid;
  w->channelOpen =
      loop_->add(w->channel.get(), EPOLLIN, channelTag_ | static_cast<uint64_t>(pid)) == 0;
  workers_.push_back(std::move(w));
  LOG_DEBUG("worker %d started as pid %d (generation %u)", index, pid, generation_);
}

void Supervisor::becomeWorker(const WorkerProc& w, UniqueFd workerEnd) {
  // Hold nothing of the master's: listen sockets, epoll, signalfd, other workers' channels.
  int keep[2] = {workerEnd.get(), log::fd()};
  std::sort(keep, keep + 2);
  closeAllExcept(keep, 2);
  char title[64], name[16];
  std::snprintf(title, sizeof title, "HttpServer: worker %d", w.index);
  std::snprintf(name, sizeof name, "HttpServer-w%d", w.index);
  setProcTitle(title, name);
  Worker worker(*cfg_, std::move(workerEnd), shared_, &shared_->workers[w.slot], *privileges_);
  ::_exit(worker.run());
}

void Supervisor::retire(WorkerProc* w) {
  w->retiring = true;
  // Idle keep-alive connections come back over the channel and move to the new generation.
  if (channelSend(w->channel.get(), ChannelMsg::kRetire, nullptr, 0) != 0) ::kill(w->pid, SIGQUIT);
}

void Supervisor::newGeneration(int procs) {
  ++generation_;
  shared_->generation = generation_;
  for (const std::unique_ptr<WorkerProc>& w : workers_) {
    if (!w->retiring) retire(w.get());
  }
  for (Backoff& b : backoff_) {
    b.respawnAtMs = 0;
    b.fastFailures = 0;
  }
  for (int i = 0; i < procs; ++i) spawn(i);
}

void Supervisor::retireIndex(int index) {
  backoff_[static_cast<size_t>(index)].respawnAtMs = 0;
  for (const std::unique_ptr<WorkerProc>& w : workers_) {
    if (!w->retiring && w->generation == generation_ && w->index == index) retire(w.get());
  }
}

void Supervisor::logExit(const WorkerProc& w, int status) const {
  if (WIFSIGNALED(status)) {
    LOG_WARN("worker %d (pid %d) killed by signal %d", w.index, w.pid, WTERMSIG(status));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    LOG_WARN("worker %d (pid %d) exited with status %d", w.index, w.pid, WEXITSTATUS(status));
  }
}

void Supervisor::onExit(WorkerProc* w, int status, int procs) {
  if (!fastStop_) logExit(*w, status);
  WorkerStats& s = shared_->workers[w->slot];
  bump(shared_->handledBase, s.taken.load(std::memory_order_relaxed));
  bump(shared_->requestsBase, s.requests.load(std::memory_order_relaxed));
  s.pid = 0;
  s.live = 0;
  freeSlots_.push_back(w->slot);
  int index = w->index;
  bool replace = !stopping_ && !w->retiring && w->generation == generation_ && index < procs;
  int64_t delay = 0;
  if (replace) {
    Backoff& b = backoff_[static_cast<size_t>(index)];
    delay = b.onExit(monotonicMs() - w->startedMs);
    bump(shared_->workerRestarts);
    if (delay > 0) {
      LOG_ERROR("worker %d died %d times within 1 s of starting; next start in %lld ms", index,
                b.fastFailures, static_cast<long long>(delay));
      b.respawnAtMs = monotonicMs() + delay;
    }
  }
  // Destroying the WorkerProc closes the channel, which also takes it out of the epoll set.
  workers_.erase(std::find_if(workers_.begin(), workers_.end(),
                              [w](const std::unique_ptr<WorkerProc>& p) { return p.get() == w; }));
  if (replace && delay == 0) spawn(index);
}

void Supervisor::respawnDue(int64_t now, int procs) {
  for (size_t i = 0; i < backoff_.size(); ++i) {
    Backoff& b = backoff_[i];
    if (b.respawnAtMs != 0 && b.respawnAtMs <= now) {
      b.respawnAtMs = 0;
      if (!stopping_ && static_cast<int>(i) < procs) spawn(static_cast<int>(i));
    }
  }
}

int64_t Supervisor::nextRespawnMs() const {
  int64_t next = INT64_MAX;
  for (const Backoff& b : backoff_) {
    if (b.respawnAtMs != 0) next = std::min(next, b.respawnAtMs);
  }
  return next;
}

void Supervisor::stop(bool fast) {
  stopping_ = true;
  fastStop_ = fastStop_ || fast;
  for (Backoff& b : backoff_) b.respawnAtMs = 0;
  for (const std::unique_ptr<WorkerProc>& w : workers_) {
    if (fast) {
      ::kill(w->pid, SIGTERM);
    } else if (channelSend(w->channel.get(), ChannelMsg::kQuit, nullptr, 0) != 0) {
      ::kill(w->pid, SIGQUIT);
    }
  }
}

void Supervisor::signalAll(int sig) {
  for (const std::unique_ptr<WorkerProc>& w : workers_) ::kill(w->pid, sig);
}

}  // namespace hs
