#include "Master.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "Clock.h"
#include "ConfigCheck.h"
#include "Log.h"
#include "ProcTitle.h"
#include "RouteConfig.h"
#include "Socket.h"
#include "Systemd.h"

namespace hs {
namespace {

// epoll tags: the kind in the top two bits; a listening socket's index, a channel's pid or an
// app's index below.
constexpr uint64_t kTagApp = 0;
constexpr uint64_t kTagListen = 1ull << 62;
constexpr uint64_t kTagSignal = 2ull << 62;
constexpr uint64_t kTagChannel = 3ull << 62;
constexpr uint64_t kTagMask = 3ull << 62;
constexpr int64_t kFastStopMs = 1500;  // TERM/INT: SIGKILL what is left after this

sigset_t masterSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s :
       {SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU, SIGWINCH}) {
    sigaddset(&set, s);
  }
  return set;
}

const char* plural(int n, const char* one, const char* many) { return n == 1 ? one : many; }

}  // namespace

Master::Master(Config cfg, std::vector<ListenSocket> listeners, ListenTable table, StartInfo info)
    : cfg_(std::move(cfg)),
      info_(std::move(info)),
      shared_(mapSharedState()),
      supervisor_(&loop_, shared_, kTagChannel, &cfg_, &info_.privileges),
      dispatcher_(&loop_, shared_, supervisor_.workerList(), std::move(listeners),
                  std::make_shared<const ListenTable>(std::move(table)), kTagListen),
      apps_(&loop_, kTagApp, shared_) {
  dispatcher_.setCapacity(cfg_.conns);
  supervisor_.setListenTable(dispatcher_.table());
}

bool Master::setup() {
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set = masterSignals();
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  signalFd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signalFd_ || shared_ == nullptr || !loop_.valid() ||
      loop_.add(signalFd_.get(), EPOLLIN, kTagSignal) != 0) {
    LOG_SYSERR(errno, "master setup failed");
    return false;
  }
  shared_->masterPid = ::getpid();
  shared_->startTime = ::time(nullptr);
  shared_->generation = supervisor_.generation();
  shared_->workersWanted = cfg_.procs;
  dispatcher_.start();
  setProcTitle("HttpServer: master", "HttpServer");
  writePidFile(cfg_.pidFile);
  prepareLogFiles();
  std::vector<AppSpec> apps;
  std::string err;
  if (!compileApps(cfg_, &apps, &err)) {
    LOG_ERROR("%s", err.c_str());
    return false;
  }
  // The apps' sockets exist before the first worker starts.
  if (!apps_.start(std::move(apps), info_.privileges)) return false;
  apps_.addresses(&cfg_.appSockets, &cfg_.appProcesses);
  for (int i = 0; i < cfg_.procs; ++i) supervisor_.spawn(i);
  return true;
}

int Master::run(void (*ready)()) {
  if (!setup()) return 1;
  if (ready != nullptr) ready();
  LOG_INFO("serving %s on %s with %d %s x %d connections", cfg_.root.c_str(),
           listenAddresses().c_str(), cfg_.procs, plural(cfg_.procs, "worker", "workers"),
           cfg_.conns);
  notifySystemd("READY=1");
  while (stop_ == Stop::kNone || !supervisor_.workers().empty() || apps_.running() > 0) {
    int n = loop_.wait(nextTimeoutMs());
    for (int i = 0; i < n; ++i) {
      uint64_t tag = loop_.event(i).data.u64;
      switch (tag & kTagMask) {
        case kTagListen:
          dispatcher_.onListenReady(static_cast<size_t>(tag & ~kTagMask));
          break;
        case kTagSignal:
          onSignal();
          break;
        case kTagApp:
          apps_.onStderr(static_cast<size_t>(tag & ~kTagMask));
          break;
        default:
          if (WorkerProc* w = supervisor_.byPid(static_cast<pid_t>(tag & ~kTagMask))) {
            dispatcher_.onChannel(w);
          }
          break;
      }
    }
    checkDeadlines();
  }
  removePidFile(cfg_.pidFile);
  LOG_INFO("exiting");
  return 0;
}

int Master::nextTimeoutMs() const {
  int64_t t = monotonicMs();
  int64_t next =
      std::min({supervisor_.nextRespawnMs(), apps_.nextWakeMs(t), dispatcher_.nextWakeMs(t)});
  if (stop_ != Stop::kNone && !killed_) next = std::min(next, stopDeadlineMs_);
  if (drainUntilMs_ >= 0) next = std::min(next, drainUntilMs_);
  if (next == INT64_MAX) return -1;
  return static_cast<int>(std::clamp<int64_t>(next - t, 0, INT32_MAX));
}

std::string Master::listenAddresses() const {
  std::string where;
  for (const ListenSocket& l : dispatcher_.listeners()) {
    where += (where.empty() ? "" : ", ") + socketName(l.fd.get());
  }
  return where;
}

void Master::onSignal() {
  signalfd_siginfo si;
  while (::read(signalFd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    switch (si.ssi_signo) {
      case SIGCHLD:
        reap();
        break;
      case SIGTERM:
      case SIGINT:
        startStop(Stop::kFast);
        break;
      case SIGQUIT:
        beginDrain(true);
        break;
      case SIGWINCH:
        beginDrain(false);
        break;
      case SIGHUP:
        reload();
        break;
      case SIGUSR1:
        reopenLogs();
        break;
      case SIGUSR2:
        upgradeBinary();
        break;
      case SIGTTIN:
        resize(+1);
        break;
      case SIGTTOU:
        resize(-1);
        break;
      default:
        break;
    }
  }
}

void Master::reap() {
  int status;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    if (upgrade_.onExit(pid, status, cfg_.pidFile) || apps_.onExit(pid, status)) continue;
    WorkerProc* w = supervisor_.byPid(pid);
    if (w == nullptr) continue;
    // A retiring worker may exit right after its last hand-back: take what is still queued in
    // its channel before closing it, or the kernel would close those clients' sockets with it.
    if (w->channelOpen) dispatcher_.onChannel(w);
    supervisor_.onExit(w, status, cfg_.procs);
    dispatcher_.roomMayHaveFreed();
  }
}

void Master::checkDeadlines() {
  int64_t t = monotonicMs();
  supervisor_.respawnDue(t, cfg_.procs);
  if (drainUntilMs_ >= 0 && t >= drainUntilMs_) finishDrain();
  uint32_t oldestWorkers = UINT32_MAX;
  for (const std::unique_ptr<WorkerProc>& w : supervisor_.workers()) {
    oldestWorkers = std::min(oldestWorkers, w->generation);
  }
  apps_.tick(t, oldestWorkers);
  publishAppHealth();
  // A graceful stop lets the workers finish the requests they passed to apps before the apps go.
  if (stop_ == Stop::kGraceful && supervisor_.workers().empty() && !apps_.stopping()) {
    apps_.stop(SIGTERM);
  }
  if (stop_ != Stop::kNone && !killed_ && t >= stopDeadlineMs_) {
    killed_ = true;
    for (const std::unique_ptr<WorkerProc>& w : supervisor_.workers()) {
      LOG_WARN("worker pid %d did not stop in time; killing it", w->pid);
    }
    if (apps_.running() > 0) LOG_WARN("%zu app processes did not stop in time", apps_.running());
    supervisor_.signalAll(SIGKILL);
    apps_.signalAll(SIGKILL);
  }
  dispatcher_.onTick(t);  // also the safety-net poll while paused for capacity
}

// For the health path: how many app processes the configuration wants but are not running.
void Master::publishAppHealth() {
  shared_->appsMissing.store(static_cast<int32_t>(apps_.missing()), std::memory_order_relaxed);
}

void Master::startStop(Stop how) {
  if (stop_ == Stop::kFast || stop_ == how) return;
  dispatcher_.closeListeners();  // the port is free as soon as no process holds the socket
  stop_ = how;
  killed_ = false;
  if (how == Stop::kFast) {
    LOG_INFO("fast stop");
    stopDeadlineMs_ = monotonicMs() + kFastStopMs;
  } else {
    LOG_INFO("graceful stop: finishing in-flight requests (up to %d ms)", cfg_.quitTimeoutMs);
    stopDeadlineMs_ = monotonicMs() + cfg_.quitTimeoutMs + 1000;
  }
  supervisor_.stop(how == Stop::kFast);
  if (how == Stop::kFast) apps_.stop(SIGTERM);
}

// QUIT and WINCH: the health path turns 503 first, and accepting stops drain_delay later, so a
// load balancer's checks take the instance out of rotation while it still serves. After QUIT the
// master then stops gracefully; after WINCH it stays, serving the connections it has.
void Master::beginDrain(bool quit) {
  if (stop_ != Stop::kNone) return;
  if (quit && upgrade_.inProgress()) {
    startStop(Stop::kGraceful);  // the new master serves the same sockets: nothing to drain
    return;
  }
  quitAfterDrain_ = quitAfterDrain_ || quit;
  if (draining_) {
    if (quit && drainUntilMs_ < 0) startStop(Stop::kGraceful);  // drained already (WINCH)
    return;
  }
  draining_ = true;
  shared_->draining = 1;
  const int delay = drainDelayMs(cfg_);
  if (delay > 0) {
    LOG_INFO("draining: the health path answers 503; accepting stops in %d ms", delay);
  }
  drainUntilMs_ = monotonicMs() + delay;
  if (delay == 0) finishDrain();
}

void Master::finishDrain() {
  drainUntilMs_ = -1;
  if (quitAfterDrain_) {
    startStop(Stop::kGraceful);
    return;
  }
  dispatcher_.closeListeners();
  LOG_INFO("drained: no longer accepting; QUIT or TERM stops the server");
}

// With a config file, re-reads the original command line (the file, then the command line over
// it). Returns false, keeping the running configuration, when the result is not usable.
bool Master::reloadConfig() {
  Config next;
  std::string err;
  std::vector<char*> argv;
  for (std::string& a : info_.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  Privileges privileges;
  std::vector<std::string> warnings;
  if (parseArgs(static_cast<int>(info_.argv.size()), argv.data(), &next, &err) == ArgsResult::kOk) {
    prepareConfig(&next, info_.daemonErrorLog);
    if (!resolvePrivileges(next.user, &privileges, &err)) {
      err = "user: " + err;
    } else if (std::vector<std::string> problems = checkConfig(next, privileges, &warnings);
               !problems.empty()) {
      err = problems[0];
    }
  }
  std::vector<ListenSocket> sockets;
  std::shared_ptr<const ListenTable> table;
  if (err.empty()) reloadListeners(next, &sockets, &table, &err);
  if (!err.empty()) {
    LOG_ERROR("reload refused, keeping the running configuration: %s", err.c_str());
    return false;
  }
  for (const std::string& w : warnings) LOG_WARN("%s", w.c_str());
  info_.privileges = privileges;
  // Changed apps start a new generation before the new workers do; the running workers' apps stay
  // until those workers are gone.
  std::vector<AppSpec> apps;
  if (compileApps(next, &apps, &err)) {
    apps_.reload(std::move(apps), privileges, supervisor_.generation());
  } else {
    LOG_ERROR("reload: %s; the apps keep running as they are", err.c_str());
  }
  err.clear();
  dispatcher_.setListeners(std::move(sockets), table);
  supervisor_.setListenTable(std::move(table));
  next.procs = std::min(next.procs, kMaxWorkers);
  apps_.addresses(&next.appSockets, &next.appProcesses);
  cfg_ = std::move(next);
  dispatcher_.setCapacity(cfg_.conns);
  if (!log::open(cfg_.errorLog, cfg_.logLevel)) LOG_SYSERR(errno, "reopening the error log failed");
  prepareLogFiles();
  return true;
}

// The sockets for next's listen addresses: the running ones kept (no gap), added ones bound.
// Removed ones close when the dispatcher lets go of the running sockets. False with *err when an
// added address cannot be bound; nothing changes then.
bool Master::reloadListeners(const Config& next, std::vector<ListenSocket>* sockets,
                             std::shared_ptr<const ListenTable>* table, std::string* err) {
  ListenTable want;
  if (!listenTable(next, &want, err) || !openListeners(want, dispatcher_.listeners(), sockets, err))
    return false;
  const ListenTable& running = *dispatcher_.table();
  std::string added, removed;
  for (const ListenAddress& a : want) {
    if (findListen(running, a) < 0) added += (added.empty() ? "" : ", ") + a.text();
  }
  for (const ListenAddress& a : running) {
    if (findListen(want, a) < 0) removed += (removed.empty() ? "" : ", ") + a.text();
  }
  if (!added.empty()) LOG_INFO("reload: listening on %s", added.c_str());
  if (!removed.empty()) LOG_INFO("reload: no longer listening on %s", removed.c_str());
  *table = std::make_shared<const ListenTable>(std::move(want));
  return true;
}

void Master::reload() {
  if (stop_ != Stop::kNone) return;
  notifySystemd("RELOADING=1");
  if (cfg_.configFile.empty() || reloadConfig()) {
    LOG_INFO("reload: starting generation %u with %d %s", supervisor_.generation() + 1, cfg_.procs,
             plural(cfg_.procs, "worker", "workers"));
    supervisor_.newGeneration(cfg_.procs);
    shared_->workersWanted = cfg_.procs;
  }
  notifySystemd("READY=1");
}

void Master::resize(int delta) {
  if (stop_ != Stop::kNone) return;
  if (delta > 0 && cfg_.procs < kMaxWorkers) {
    supervisor_.spawn(cfg_.procs++);
  } else if (delta < 0 && cfg_.procs > 1) {
    supervisor_.retireIndex(--cfg_.procs);
  } else {
    LOG_INFO("workers: %d (at %s; SIG%s ignored)", cfg_.procs,
             delta < 0 ? "least one always stays" : "most 256", delta < 0 ? "TTOU" : "TTIN");
    return;
  }
  shared_->workersWanted = cfg_.procs;
  LOG_INFO("workers: %d", cfg_.procs);
}

void Master::upgradeBinary() {
  if (upgrade_.inProgress() || stop_ != Stop::kNone || dispatcher_.listeners().empty()) {
    LOG_WARN("binary upgrade already in progress or stopping; SIGUSR2 ignored");
    return;
  }
  upgrade_.start(info_.exePath, info_.argv, dispatcher_.listeners(), cfg_.pidFile);
}

// Workers reopen the logs by path after dropping root, so the master creates the files and gives
// them to the workers' user first (as nginx's master does).
void Master::prepareLogFiles() {
  if (!info_.privileges.drop) return;
  std::vector<std::string> paths = accessLogPaths(cfg_);
  paths.push_back(cfg_.errorLog);
  paths.push_back(cfg_.accessLog);
  for (const std::string& path : paths) {
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
  supervisor_.signalAll(SIGUSR1);
  LOG_INFO("logs reopened");
}

}  // namespace hs
