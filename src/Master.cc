#include "Master.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "Channel.h"
#include "Log.h"
#include "ProcTitle.h"
#include "Startup.h"
#include "Worker.h"

namespace hs {
namespace {

constexpr uint64_t kTagListen = 1ull << 62;
constexpr uint64_t kTagSignal = 2ull << 62;
constexpr uint64_t kTagChannel = 3ull << 62;
constexpr uint64_t kTagMask = 3ull << 62;
constexpr int kMaxWorkers = 256;
constexpr int64_t kFastStopMs = 1500;  // TERM/INT: SIGKILL what is left after this

sigset_t masterSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU, SIGWINCH}) {
    sigaddset(&set, s);
  }
  return set;
}

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

// Closes fds[0..n); accepted fds are usually consecutive numbers, so runs go in one close_range.
void closeAll(const int* fds, int n) {
  int i = 0;
  while (i < n) {
    int j = i + 1;
    while (j < n && fds[j] == fds[j - 1] + 1) ++j;
    if (j - i == 1) {
      ::close(fds[i]);
    } else {
      ::syscall(SYS_close_range, static_cast<unsigned>(fds[i]), static_cast<unsigned>(fds[j - 1]), 0);
    }
    i = j;
  }
}

}  // namespace

Master::Master(Config cfg, UniqueFd listenFd, StartInfo info)
    : cfg_(std::move(cfg)), listen_(std::move(listenFd)), info_(std::move(info)) {}

int64_t Master::now() const {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

bool Master::setup() {
  ::signal(SIGPIPE, SIG_IGN);
  toClose_.reserve(1024);  // one accept round (at most 512) plus the batches it completed
  sigset_t set = masterSignals();
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  signalFd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  shared_ = mapSharedState();
  if (!signalFd_ || shared_ == nullptr || !loop_.valid()) {
    LOG_SYSERR(errno, "master setup failed");
    return false;
  }
  shared_->masterPid = ::getpid();
  shared_->startTime = ::time(nullptr);
  shared_->generation = generation_;
  for (int i = kMaxWorkerSlots - 1; i >= 0; --i) freeSlots_.push_back(i);
  fastFailures_.assign(kMaxWorkers, 0);
  respawnAtMs_.assign(kMaxWorkers, 0);
  restarts_.assign(kMaxWorkers, 0);
  if (loop_.add(signalFd_.get(), EPOLLIN, kTagSignal) != 0) return false;
  pauseAccepting(false);
  setProcTitle("HttpServer: master", "HttpServer");
  writePidFile();
  prepareLogFiles();
  for (int i = 0; i < cfg_.procs; ++i) spawn(i);
  return true;
}

int Master::run() {
  if (!setup()) return 1;
  LOG_INFO("serving %s on %s:%u with %d workers x %d connections", cfg_.root.c_str(), cfg_.ip.c_str(),
           cfg_.port, cfg_.procs, cfg_.conns);
  notifySystemd("READY=1");
  while (stop_ == Stop::kNone || !workers_.empty()) {
    int n = loop_.wait(nextTimeoutMs());
    for (int i = 0; i < n; ++i) {
      uint64_t tag = loop_.event(i).data.u64;
      switch (tag & kTagMask) {
        case kTagListen:
          acceptBatch();
          break;
        case kTagSignal:
          onSignal();
          break;
        default:
          if (WorkerProc* w = byPid(static_cast<pid_t>(tag & ~kTagMask))) onChannel(w);
          break;
      }
    }
    checkDeadlines();
  }
  for (int fd : pending_) ::close(fd);
  removePidFile();
  LOG_INFO("exiting");
  return 0;
}

int Master::nextTimeoutMs() const {
  int64_t t = now();
  int64_t next = INT64_MAX;
  for (int64_t at : respawnAtMs_) {
    if (at != 0) next = std::min(next, at);
  }
  if (stop_ != Stop::kNone && !killed_) next = std::min(next, stopDeadlineMs_);
  if (retryAcceptMs_ != 0) next = std::min(next, retryAcceptMs_);
  if (!pending_.empty()) next = std::min(next, t + 10);
  // A full server is woken by kSlotFree; the poll is only a safety net.
  if (paused_ && stop_ == Stop::kNone) next = std::min(next, t + 100);
  if (next == INT64_MAX) return -1;
  return static_cast<int>(std::max<int64_t>(0, next - t));
}

void Master::spawn(int index) {
  if (freeSlots_.empty()) {
    LOG_ERROR("no free worker slot for worker %d", index);
    return;
  }
  int slot = freeSlots_.back();
  freeSlots_.pop_back();
  WorkerStats& s = shared_->workers[slot];
  s.pid = 0;
  s.live = 0;
  s.taken = 0;
  s.requests = 0;
  s.reading = 0;
  s.writing = 0;
  s.index = static_cast<uint32_t>(index);
  s.generation = generation_;
  s.restarts = restarts_[static_cast<size_t>(index)];
  UniqueFd masterEnd, workerEnd;
  if (!makeChannel(&masterEnd, &workerEnd)) {
    LOG_SYSERR(errno, "socketpair() failed");
    freeSlots_.push_back(slot);
    respawnAtMs_[static_cast<size_t>(index)] = now() + 1000;
    return;
  }
  auto* w = new WorkerProc;
  w->channel = std::move(masterEnd);
  w->slot = slot;
  w->index = index;
  w->generation = generation_;
  w->startedMs = now();
  pid_t pid = ::fork();
  if (pid < 0) {
    LOG_SYSERR(errno, "fork() failed");
    freeSlots_.push_back(slot);
    delete w;
    respawnAtMs_[static_cast<size_t>(index)] = now() + 1000;
    return;
  }
  if (pid == 0) becomeWorker(*w, std::move(workerEnd));
  w->pid = pid;
  s.pid = pid;
  w->channelOpen = loop_.add(w->channel.get(), EPOLLIN, kTagChannel | static_cast<uint64_t>(pid)) == 0;
  workers_.push_back(w);
  LOG_DEBUG("worker %d started as pid %d (generation %u)", index, pid, generation_);
}

void Master::becomeWorker(WorkerProc& w, UniqueFd workerEnd) {
  // Hold nothing of the master's: listen socket, epoll, signalfd, other workers' channels.
  int keep[2] = {workerEnd.get(), log::fd()};
  std::sort(keep, keep + 2);
  closeAllExcept(keep, 2);
  char title[64], name[16];
  std::snprintf(title, sizeof title, "HttpServer: worker %d", w.index);
  std::snprintf(name, sizeof name, "HttpServer-w%d", w.index);
  setProcTitle(title, name);
  Worker worker(cfg_, std::move(workerEnd), shared_, &shared_->workers[w.slot], info_.privileges);
  ::_exit(worker.run());
}

Master::WorkerProc* Master::byPid(pid_t pid) {
  for (WorkerProc* w : workers_) {
    if (w->pid == pid) return w;
  }
  return nullptr;
}

int Master::currentWorkers() const {
  int n = 0;
  for (const WorkerProc* w : workers_) n += !w->retiring && w->generation == generation_;
  return n;
}

uint64_t Master::load(const WorkerProc& w) const {
  const WorkerStats& s = shared_->workers[w.slot];
  uint64_t taken = s.taken.load(std::memory_order_relaxed);
  uint64_t inFlight = w.sent > taken ? w.sent - taken : 0;
  return s.live.load(std::memory_order_relaxed) + inFlight;
}

Master::WorkerProc* Master::leastLoaded() {
  // Scan from a rotating start so equally loaded workers take turns (sequential clients spread).
  WorkerProc* best = nullptr;
  uint64_t bestLoad = 0;
  size_t n = workers_.size();
  for (size_t k = 0; k < n; ++k) {
    WorkerProc* w = workers_[(rotor_ + k) % n];
    if (w->retiring || !w->channelOpen || w->generation != generation_) continue;
    uint64_t l = load(*w) + static_cast<uint64_t>(w->batchLen);
    if (l >= static_cast<uint64_t>(cfg_.conns)) continue;
    if (best == nullptr || l < bestLoad) {
      best = w;
      bestLoad = l;
    }
  }
  if (best == nullptr) best = evictionCandidate();
  if (best != nullptr) ++rotor_;
  return best;
}

// Every worker is full. A worker whose oldest idle-or-reading connection has waited kEvictAfterMs
// may take one connection more (it closes that one first); one at a time per worker.
Master::WorkerProc* Master::evictionCandidate() {
  int64_t t = now();
  WorkerProc* best = nullptr;
  int64_t bestSince = 0;
  for (WorkerProc* w : workers_) {
    if (w->retiring || !w->channelOpen || w->generation != generation_) continue;
    uint64_t l = load(*w) + static_cast<uint64_t>(w->batchLen);
    if (l != static_cast<uint64_t>(cfg_.conns)) continue;  // an eviction is already on its way
    int64_t since = shared_->workers[w->slot].oldestEvictableMs.load(std::memory_order_relaxed);
    if (since == 0 || t - since < kEvictAfterMs) continue;
    if (best == nullptr || since < bestSince) {
      best = w;
      bestSince = since;
    }
  }
  return best;
}

void Master::acceptBatch() {
  // Bounded per wakeup so signals and channels stay responsive under a connection storm.
  for (int i = 0; i < 512; ++i) {
    WorkerProc* w = leastLoaded();
    if (w == nullptr) {
      pauseAccepting(true);  // every worker is full: new clients wait in the kernel's backlog
      break;
    }
    int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN) break;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM) continue;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        // Leave the clients in the backlog and retry shortly, instead of spinning on the error.
        LOG_SYSERR(err, "accept4() failed; pausing accepts for 100 ms");
        pauseAccepting(true);
        retryAcceptMs_ = now() + 100;
        break;
      }
      LOG_SYSERR(err, "accept4() failed");
      break;
    }
    bump(shared_->accepted, uint64_t{1});
    w->batch[w->batchLen++] = fd;
    if (w->batchLen == kMaxFdsPerMessage) sendBatches();
  }
  sendBatches();
}

void Master::sendBatches() {
  toClose_.clear();
  for (WorkerProc* w : workers_) {
    if (w->batchLen == 0) continue;
    int n = w->batchLen;
    w->batchLen = 0;
    int r = channelSend(w->channel.get(), ChannelMsg::kConnections, w->batch, n);
    if (r == 0) {
      w->sent += static_cast<uint64_t>(n);
      toClose_.insert(toClose_.end(), w->batch, w->batch + n);  // the worker has its own copies
      continue;
    }
    // The worker died or its channel is full: these connections go to another worker.
    if (r != -EAGAIN) w->channelOpen = false;
    LOG_WARN("passing %d connections to worker pid %d failed (%s); re-dispatching", n, w->pid,
             std::strerror(-r));
    for (int i = 0; i < n; ++i) pending_.push_back(w->batch[i]);
  }
  // One accept round's fds are mostly consecutive numbers even when they went to several
  // workers in turn: sorted, they close in a few close_range calls instead of one close each.
  std::sort(toClose_.begin(), toClose_.end());
  closeAll(toClose_.data(), static_cast<int>(toClose_.size()));
}

void Master::drainPending() {
  if (pending_.empty()) return;
  while (!pending_.empty()) {
    WorkerProc* w = leastLoaded();
    if (w == nullptr) break;
    w->batch[w->batchLen++] = pending_.front();
    pending_.pop_front();
    if (w->batchLen == kMaxFdsPerMessage) sendBatches();
  }
  sendBatches();
}

void Master::pauseAccepting(bool pause) {
  if (pause) {
    if (listening_) loop_.remove(listen_.get());
    listening_ = false;
    paused_ = true;
    return;
  }
  paused_ = false;
  if (!listening_ && listen_.valid() && stop_ == Stop::kNone) {
    listening_ = loop_.add(listen_.get(), EPOLLIN, kTagListen) == 0;
  }
}

void Master::onChannel(WorkerProc* w) {
  for (;;) {
    ChannelMsg msg;
    int fds[kMaxFdsPerMessage];
    int nfds = 0;
    int r = channelRecv(w->channel.get(), &msg, fds, &nfds);
    if (r == -EAGAIN) break;
    if (r == -EPROTO) {
      for (int i = 0; i < nfds; ++i) ::close(fds[i]);
      continue;
    }
    if (r <= 0) {  // the worker is exiting; SIGCHLD will tell the rest
      loop_.remove(w->channel.get());
      w->channelOpen = false;
      break;
    }
    if (msg == ChannelMsg::kHandback) {
      pending_.insert(pending_.end(), fds, fds + nfds);  // re-dispatched by drainPending()
    } else {
      for (int i = 0; i < nfds; ++i) ::close(fds[i]);
    }
  }
  roomMayHaveFreed();  // kSlotFree, a hand-back or an exit
}

// Pending connections go first; the listening socket comes back only when a worker has room
// for one more and nothing else (EMFILE back-off, a stop) keeps it paused.
void Master::roomMayHaveFreed() {
  drainPending();
  if (paused_ && retryAcceptMs_ == 0 && stop_ == Stop::kNone && pending_.empty() &&
      leastLoaded() != nullptr) {
    pauseAccepting(false);
  }
}

void Master::onSignal() {
  signalfd_siginfo si;
  while (::read(signalFd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    switch (si.ssi_signo) {
      case SIGCHLD: reap(); break;
      case SIGTERM:
      case SIGINT: startStop(Stop::kFast); break;
      case SIGQUIT: startStop(Stop::kGraceful); break;
      case SIGHUP: reload(); break;
      case SIGUSR1: reopenLogs(); break;
      case SIGUSR2: upgradeBinary(); break;
      case SIGTTIN: resize(+1); break;
      case SIGTTOU: resize(-1); break;
      default: break;
    }
  }
}

void Master::reap() {
  int status;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == upgradePid_) {
      upgradePid_ = 0;
      LOG_ERROR("the new binary (pid %d) exited with status %d; this master keeps serving", pid,
                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
      if (!cfg_.pidFile.empty()) ::rename((cfg_.pidFile + ".oldbin").c_str(), cfg_.pidFile.c_str());
      continue;
    }
    if (WorkerProc* w = byPid(pid)) onWorkerExit(w, status);
  }
}

void Master::onWorkerExit(WorkerProc* w, int status) {
  // A retiring worker may exit right after its last hand-back: take what is still queued in its
  // channel before closing it, or the kernel would close those clients' sockets with it.
  if (w->channelOpen) onChannel(w);
  bool crashed = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
  if (crashed && stop_ != Stop::kFast) {
    if (WIFSIGNALED(status)) {
      LOG_WARN("worker %d (pid %d) killed by signal %d", w->index, w->pid, WTERMSIG(status));
    } else {
      LOG_WARN("worker %d (pid %d) exited with status %d", w->index, w->pid, WEXITSTATUS(status));
    }
  }
  WorkerStats& s = shared_->workers[w->slot];
  bump(shared_->handledBase, s.taken.load(std::memory_order_relaxed));
  bump(shared_->requestsBase, s.requests.load(std::memory_order_relaxed));
  s.pid = 0;
  s.live = 0;
  freeSlots_.push_back(w->slot);
  bool replace = stop_ == Stop::kNone && !w->retiring && w->generation == generation_ && w->index < cfg_.procs;
  if (replace) {
    auto i = static_cast<size_t>(w->index);
    fastFailures_[i] = now() - w->startedMs < 1000 ? fastFailures_[i] + 1 : 0;
    ++restarts_[i];
    if (fastFailures_[i] >= 5) {
      int64_t delay = std::min<int64_t>(int64_t{1000} << std::min(fastFailures_[i] - 5, 5), 30'000);
      LOG_ERROR("worker %d died %d times within 1 s of starting; next start in %lld ms", w->index,
                fastFailures_[i], static_cast<long long>(delay));
      respawnAtMs_[i] = now() + delay;
    }
  }
  workers_.erase(std::find(workers_.begin(), workers_.end(), w));
  int index = w->index;
  delete w;  // closes the channel (and so removes it from epoll)
  if (replace && respawnAtMs_[static_cast<size_t>(index)] == 0) spawn(index);
  roomMayHaveFreed();
}

void Master::checkDeadlines() {
  int64_t t = now();
  for (size_t i = 0; i < respawnAtMs_.size(); ++i) {
    if (respawnAtMs_[i] != 0 && respawnAtMs_[i] <= t) {
      respawnAtMs_[i] = 0;
      if (stop_ == Stop::kNone && static_cast<int>(i) < cfg_.procs) spawn(static_cast<int>(i));
    }
  }
  if (stop_ != Stop::kNone && !killed_ && t >= stopDeadlineMs_) {
    killed_ = true;
    for (WorkerProc* w : workers_) {
      LOG_WARN("worker pid %d did not stop in time; killing it", w->pid);
      ::kill(w->pid, SIGKILL);
    }
  }
  if (retryAcceptMs_ != 0 && t >= retryAcceptMs_) {
    retryAcceptMs_ = 0;
    pauseAccepting(false);
  }
  roomMayHaveFreed();  // also the safety-net poll while paused for capacity
}

void Master::startStop(Stop how) {
  if (stop_ == Stop::kFast || stop_ == how) return;
  pauseAccepting(true);
  listen_.reset();  // the port is free as soon as no process holds the socket
  for (int fd : pending_) ::close(fd);
  pending_.clear();
  stop_ = how;
  killed_ = false;
  if (how == Stop::kFast) {
    LOG_INFO("fast stop");
    stopDeadlineMs_ = now() + kFastStopMs;
    for (WorkerProc* w : workers_) ::kill(w->pid, SIGTERM);
  } else {
    LOG_INFO("graceful stop: finishing in-flight requests (up to %d ms)", cfg_.quitTimeoutMs);
    stopDeadlineMs_ = now() + cfg_.quitTimeoutMs + 1000;
    for (WorkerProc* w : workers_) {
      if (channelSend(w->channel.get(), ChannelMsg::kQuit, nullptr, 0) != 0) ::kill(w->pid, SIGQUIT);
    }
  }
  std::fill(respawnAtMs_.begin(), respawnAtMs_.end(), 0);
}

void Master::retire(WorkerProc& w) {
  w.retiring = true;
  // Idle keep-alive connections come back over the channel and move to the new generation.
  if (channelSend(w.channel.get(), ChannelMsg::kRetire, nullptr, 0) != 0) ::kill(w.pid, SIGQUIT);
}

void Master::reload() {
  if (stop_ != Stop::kNone) return;
  notifySystemd("RELOADING=1");
  if (!cfg_.configFile.empty()) {
    Config next;
    std::string err;
    std::vector<char*> argv;
    for (std::string& a : info_.argv) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (parseArgs(static_cast<int>(info_.argv.size()), argv.data(), &next, &err) != ArgsResult::kOk) {
      LOG_ERROR("reload refused, keeping the running configuration: %s", err.c_str());
      notifySystemd("READY=1");
      return;
    }
    std::string problem = prepareConfig(&next);
    Privileges privileges;
    if (problem.empty() && !resolvePrivileges(next.user, &privileges, &problem)) {
      problem = "user: " + problem;
    }
    if (!problem.empty()) {
      LOG_ERROR("reload refused, keeping the running configuration: %s", problem.c_str());
      notifySystemd("READY=1");
      return;
    }
    info_.privileges = privileges;
    if (next.ip != cfg_.ip || next.port != cfg_.port) {
      LOG_WARN("the listen address changes only with a restart or a binary upgrade; keeping %s:%u",
               cfg_.ip.c_str(), cfg_.port);
      next.ip = cfg_.ip;
      next.port = cfg_.port;
    }
    next.procs = std::min(next.procs, kMaxWorkers);
    cfg_ = std::move(next);
    if (!log::open(cfg_.errorLog, cfg_.logLevel)) LOG_SYSERR(errno, "reopening the error log failed");
    prepareLogFiles();
  }
  ++generation_;
  shared_->generation = generation_;
  LOG_INFO("reload: starting generation %u with %d workers", generation_, cfg_.procs);
  for (WorkerProc* w : workers_) {
    if (!w->retiring) retire(*w);
  }
  std::fill(respawnAtMs_.begin(), respawnAtMs_.end(), 0);
  std::fill(fastFailures_.begin(), fastFailures_.end(), 0);
  for (int i = 0; i < cfg_.procs; ++i) spawn(i);
  notifySystemd("READY=1");
}

void Master::resize(int delta) {
  if (stop_ != Stop::kNone) return;
  if (delta > 0 && cfg_.procs < kMaxWorkers) {
    spawn(cfg_.procs++);
  } else if (delta < 0 && cfg_.procs > 1) {
    --cfg_.procs;
    respawnAtMs_[static_cast<size_t>(cfg_.procs)] = 0;
    for (WorkerProc* w : workers_) {
      if (!w->retiring && w->generation == generation_ && w->index == cfg_.procs) retire(*w);
    }
  }
  LOG_INFO("workers: %d", cfg_.procs);
}

void Master::upgradeBinary() {
  if (upgradePid_ != 0 || stop_ != Stop::kNone || !listen_) {
    LOG_WARN("binary upgrade already in progress or stopping; SIGUSR2 ignored");
    return;
  }
  if (!cfg_.pidFile.empty()) ::rename(cfg_.pidFile.c_str(), (cfg_.pidFile + ".oldbin").c_str());
  pid_t pid = ::fork();
  if (pid < 0) {
    LOG_SYSERR(errno, "fork() for the binary upgrade failed");
    return;
  }
  if (pid == 0) {
    int fd = ::dup(listen_.get());  // a copy without FD_CLOEXEC crosses the exec
    char value[16];
    std::snprintf(value, sizeof value, "%d", fd);
    ::setenv("HTTPSERVER_LISTEN_FD", value, 1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> argv;
    for (std::string& a : info_.argv) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(info_.exePath.c_str(), argv.data());
    LOG_SYSERR(errno, "execv(\"%s\") failed", info_.exePath.c_str());
    ::_exit(127);
  }
  upgradePid_ = pid;
  LOG_INFO("binary upgrade: started %s as pid %d; send SIGQUIT to this master (pid %d) when it serves",
           info_.exePath.c_str(), pid, ::getpid());
}

// Workers reopen the logs by path after dropping root, so the master creates the files and gives
// them to the workers' user first (as nginx's master does).
void Master::prepareLogFiles() {
  if (!info_.privileges.drop) return;
  for (const std::string& path : {cfg_.errorLog, cfg_.accessLog}) {
    if (path.empty() || path == "off") continue;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!fd || ::fchown(fd.get(), info_.privileges.uid, info_.privileges.gid) != 0) {
      LOG_SYSERR(errno, "preparing the log file %s for the workers failed", path.c_str());
    }
  }
}

void Master::reopenLogs() {
  if (!log::reopen()) LOG_SYSERR(errno, "reopening the error log failed");
  prepareLogFiles();
  for (WorkerProc* w : workers_) ::kill(w->pid, SIGUSR1);
  LOG_INFO("logs reopened");
}

void Master::writePidFile() {
  if (cfg_.pidFile.empty()) return;
  UniqueFd fd(::open(cfg_.pidFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  char buf[24];
  int n = std::snprintf(buf, sizeof buf, "%d\n", static_cast<int>(::getpid()));
  if (!fd || ::write(fd.get(), buf, static_cast<size_t>(n)) != n) {
    LOG_SYSERR(errno, "writing the pid file %s failed", cfg_.pidFile.c_str());
  }
}

void Master::removePidFile() {
  if (cfg_.pidFile.empty()) return;
  // Only our own: after a binary upgrade the file may already name the new master.
  char buf[24] = {};
  UniqueFd fd(::open(cfg_.pidFile.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd && ::read(fd.get(), buf, sizeof buf - 1) > 0 && std::atoi(buf) == ::getpid()) {
    ::unlink(cfg_.pidFile.c_str());
  }
  std::string old = cfg_.pidFile + ".oldbin";
  fd.reset(::open(old.c_str(), O_RDONLY | O_CLOEXEC));
  std::memset(buf, 0, sizeof buf);
  if (fd && ::read(fd.get(), buf, sizeof buf - 1) > 0 && std::atoi(buf) == ::getpid()) {
    ::unlink(old.c_str());
  }
}

}  // namespace hs
