#include "AppPool.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "Clock.h"
#include "Log.h"

namespace hs {
namespace {

constexpr int kBacklog = 1024;
constexpr size_t kMaxLine = 2048;  // a longer stderr line is logged in pieces
// A retired generation whose requests never seem to end (a worker died holding one, or an app
// never answers) is stopped anyway after this long.
constexpr int64_t kRetireLimitMs = 60'000;
constexpr int64_t kPollMs = 50;  // how often counters are looked at while something waits on them

struct Slot {
  pid_t pid = 0;
  int64_t startedMs = 0;
  Backoff backoff;
};

const char* plural(size_t n) { return n == 1 ? "process" : "processes"; }

// Whether the processes would run differently: max_requests, queue and queue_timeout are read by
// the master and the workers, so changing only them needs no new generation.
bool sameProcesses(const AppSpec& a, const AppSpec& b) {
  return a.command == b.command && a.processes == b.processes && a.socketPath == b.socketPath &&
         a.env == b.env && a.user == b.user;
}

}  // namespace

// One generation of an app: its socket and its processes.
struct AppPool::Generation {
  uint32_t number = 0;  // AppStats::generation while it is the current one
  std::string socketPath;
  bool ownsSocket = false;  // created here: unlinked at exit unless replaced since
  dev_t socketDev = 0;
  ino_t socketIno = 0;
  UniqueFd listen;
  std::vector<Slot> slots;
  uint64_t requestsAtStart = 0;  // AppStats::requests when it started (max_requests)
  bool retiring = false;
  bool signalled = false;  // retiring, SIGTERM sent
  uint32_t waitWorkers =
      0;  // retiring: stop once every worker's generation is above this (0: no wait)
  int64_t retiredMs = 0;

  size_t live() const {
    size_t n = 0;
    for (const Slot& s : slots) n += s.pid > 0 ? 1 : 0;
    return n;
  }
};

struct AppPool::App {
  AppSpec spec;
  size_t slot = 0;
  Privileges privileges;
  UniqueFd errRead, errWrite;
  std::string partial;  // an unfinished stderr line
  AppStats* stats = nullptr;
  uint32_t nextNumber = 1;
  bool removed = false;  // no longer configured: its generations retire
  std::vector<std::unique_ptr<Generation>>
      gens;  // oldest first; the last is current unless retiring

  Generation* current() const {
    return gens.empty() || gens.back()->retiring ? nullptr : gens.back().get();
  }
};

AppPool::AppPool(EventLoop* loop, uint64_t tag, SharedState* shared)
    : loop_(loop), tag_(tag), shared_(shared) {}

AppPool::~AppPool() {
  for (const std::unique_ptr<App>& a : apps_) {
    if (a == nullptr) continue;
    for (const std::unique_ptr<Generation>& g : a->gens) {
      struct stat st;
      // A binary upgrade's new master, or a newer generation, may have bound the same path since:
      // leave its socket alone.
      if (g->ownsSocket && ::lstat(g->socketPath.c_str(), &st) == 0 && st.st_dev == g->socketDev &&
          st.st_ino == g->socketIno) {
        ::unlink(g->socketPath.c_str());
      }
    }
  }
  if (!privateDir_.empty()) ::rmdir(privateDir_.c_str());
}

bool AppPool::start(std::vector<AppSpec> apps, const Privileges& workers) {
  workers_ = workers;
  for (AppSpec& spec : apps) {
    if (!addApp(std::move(spec))) return false;
  }
  return true;
}

// A new app in a free slot: its stderr pipe, its counters and its first generation.
bool AppPool::addApp(AppSpec spec) {
  size_t slot = 0;
  while (slot < apps_.size() && apps_[slot] != nullptr) ++slot;
  if (slot >= static_cast<size_t>(kMaxApps)) {
    LOG_ERROR("app %s: more than %d apps", spec.name.c_str(), kMaxApps);
    return false;
  }
  auto app = std::make_unique<App>();
  app->spec = std::move(spec);
  app->slot = slot;
  std::string err;
  if (app->spec.user.empty()) {
    app->privileges = workers_;
  } else if (!resolvePrivileges(app->spec.user, &app->privileges, &err)) {
    LOG_ERROR("app %s: %s", app->spec.name.c_str(), err.c_str());
    return false;
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    LOG_SYSERR(errno, "pipe2() for app %s failed", app->spec.name.c_str());
    return false;
  }
  app->errRead.reset(p[0]);
  app->errWrite.reset(p[1]);
  ::fcntl(p[0], F_SETFL, O_NONBLOCK);
  app->stats = &shared_->apps[slot];
  AppStats* s = app->stats;
  s->inUse.store(0);
  std::snprintf(s->name, sizeof s->name, "%s", app->spec.name.c_str());
  for (auto* counter : {&s->generation, &s->processes, &s->restarts}) counter->store(0);
  for (auto& b : s->busy) b.store(0);
  s->queued.store(0);
  s->requests.store(0);
  s->failures.store(0);
  if (!startGeneration(app.get(), 0)) return false;
  s->inUse.store(1, std::memory_order_release);
  loop_->add(p[0], EPOLLIN, tag_ | slot);
  if (slot == apps_.size()) apps_.emplace_back();
  apps_[slot] = std::move(app);
  return true;
}

// Binds the app's socket for a new generation, starts its processes, and makes it the current
// one; the previous current generation retires. False (logged) when the socket cannot be made:
// nothing changes then.
bool AppPool::startGeneration(App* app, uint32_t waitWorkers) {
  Generation* old = app->current();
  // Each generation alive counts in its own AppStats::busy entry: with all of them taken, the
  // oldest is stopped now.
  if (app->gens.size() >= kAppGenerations) {
    Generation* oldest = app->gens.front().get();
    LOG_WARN("app %s: too many generations alive; stopping generation %u now",
             app->spec.name.c_str(), oldest->number);
    retire(app, oldest, 0);
    oldest->retiredMs = monotonicMs() - kRetireLimitMs;
    stopRetired(app, monotonicMs(), UINT32_MAX);
  }
  auto g = std::make_unique<Generation>();
  g->number = app->nextNumber;
  if (!socketPathFor(*app, &g->socketPath)) return false;
  const bool replace = old != nullptr && old->socketPath == g->socketPath;
  if (!openSocket(app, g.get(), replace)) return false;
  ++app->nextNumber;
  AppStats* s = app->stats;
  s->busy[g->number % kAppGenerations].store(0);
  g->requestsAtStart = s->requests.load();
  g->slots.resize(static_cast<size_t>(app->spec.processes));
  LOG_INFO("app %s: %d %s of %s on unix:%s%s", app->spec.name.c_str(), app->spec.processes,
           plural(static_cast<size_t>(app->spec.processes)), app->spec.command[0].c_str(),
           g->socketPath.c_str(), old != nullptr ? " (new generation)" : "");
  Generation* gp = g.get();
  app->gens.push_back(std::move(g));
  for (size_t i = 0; i < gp->slots.size(); ++i) spawn(app, gp, i);
  // Workers that read this number connect to the new socket: it is in place already.
  s->generation.store(gp->number);
  if (old != nullptr) retire(app, old, replace ? 0 : waitWorkers);
  publish(app);
  return true;
}

void AppPool::retire(App* app, Generation* g, uint32_t waitWorkers) {
  if (g->retiring) return;
  g->retiring = true;
  g->waitWorkers = waitWorkers;
  g->retiredMs = monotonicMs();
  for (Slot& s : g->slots) s.backoff.respawnAtMs = 0;
  LOG_INFO("app %s: generation %u retires once its requests are done", app->spec.name.c_str(),
           g->number);
}

// The configured path, or one in a private directory only the workers' user can enter (made
// when first needed).
bool AppPool::socketPathFor(const App& app, std::string* path) {
  if (!app.spec.socketPath.empty()) {
    *path = app.spec.socketPath;
    return true;
  }
  if (privateDir_.empty()) {
    char dir[] = "/tmp/HttpServer-apps.XXXXXX";
    if (::mkdtemp(dir) == nullptr) {
      LOG_SYSERR(errno, "mkdtemp(\"%s\") failed", dir);
      return false;
    }
    privateDir_ = dir;
    if (workers_.drop && ::chown(dir, workers_.uid, workers_.gid) != 0) {
      LOG_SYSERR(errno, "chown(\"%s\") failed", dir);
    }
  }
  *path = privateDir_ + "/" + app.spec.name + ".sock";
  return true;
}

// The listening socket at g->socketPath (a stale socket file there is replaced). Workers connect
// as their user, so a socket the master creates as root is given to them. `replace`: a running
// generation serves the path; the new socket is bound beside it and renamed over it, so
// connecting never fails meanwhile.
bool AppPool::openSocket(App* app, Generation* g, bool replace) {
  const std::string bindPath = replace ? g->socketPath + ".new" : g->socketPath;
  const char* path = bindPath.c_str();
  struct stat st;
  if (::lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  g->listen.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!g->listen || ::bind(g->listen.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(g->listen.get(), kBacklog) != 0) {
    LOG_SYSERR(errno, "app %s: listening on unix:%s failed", app->spec.name.c_str(), path);
    return false;
  }
  if (workers_.drop && ::chown(path, workers_.uid, workers_.gid) != 0) {
    LOG_SYSERR(errno, "chown(\"%s\") failed", path);
  }
  if (::lstat(path, &st) == 0) {
    g->ownsSocket = true;
    g->socketDev = st.st_dev;
    g->socketIno = st.st_ino;
  }
  if (replace && ::rename(path, g->socketPath.c_str()) != 0) {
    LOG_SYSERR(errno, "app %s: rename(\"%s\") failed", app->spec.name.c_str(), path);
    ::unlink(path);
    return false;
  }
  return true;
}

void AppPool::reload(std::vector<AppSpec> apps, const Privileges& workers,
                     uint32_t workerGeneration) {
  workers_ = workers;
  for (const std::unique_ptr<App>& a : apps_) {
    if (a == nullptr || a->removed) continue;
    const AppSpec* next = findApp(apps, a->spec.name);
    if (next == nullptr) {
      LOG_INFO("reload: app %s removed; it stops once its requests are done", a->spec.name.c_str());
      a->removed = true;
      for (const std::unique_ptr<Generation>& g : a->gens)
        retire(a.get(), g.get(), workerGeneration);
      continue;
    }
    if (sameProcesses(*next, a->spec)) {
      a->spec = *next;
      continue;
    }
    AppSpec before = a->spec;
    Privileges privileges = a->privileges;
    std::string err;
    a->spec = *next;
    if (!a->spec.user.empty() && !resolvePrivileges(a->spec.user, &a->privileges, &err)) {
      LOG_ERROR("reload: app %s: %s", a->spec.name.c_str(), err.c_str());
    } else {
      if (a->spec.user.empty()) a->privileges = workers;
      LOG_INFO("reload: app %s changed; starting a new generation", a->spec.name.c_str());
      if (startGeneration(a.get(), workerGeneration)) continue;
    }
    LOG_ERROR("reload: app %s keeps running as it was", a->spec.name.c_str());
    a->spec = std::move(before);
    a->privileges = privileges;
  }
  for (AppSpec& spec : apps) {
    bool known = false;
    for (const std::unique_ptr<App>& a : apps_) {
      known = known || (a != nullptr && !a->removed && a->spec.name == spec.name);
    }
    if (known) continue;
    LOG_INFO("reload: app %s added", spec.name.c_str());
    const std::string name = spec.name;
    if (!addApp(std::move(spec))) LOG_ERROR("reload: app %s not started", name.c_str());
  }
}

void AppPool::addresses(std::map<std::string, std::string>* paths,
                        std::map<std::string, int>* sizes) const {
  for (const std::unique_ptr<App>& a : apps_) {
    const Generation* g = a != nullptr && !a->removed ? a->current() : nullptr;
    if (g == nullptr) continue;
    (*paths)[a->spec.name] = g->socketPath;
    (*sizes)[a->spec.name] = a->spec.processes;
  }
}

size_t AppPool::size() const {
  size_t n = 0;
  for (const std::unique_ptr<App>& a : apps_) n += a != nullptr && !a->removed ? 1 : 0;
  return n;
}

void AppPool::spawn(App* app, Generation* g, size_t slot) {
  Slot& s = g->slots[slot];
  s.startedMs = monotonicMs();
  pid_t pid = ::fork();
  if (pid < 0) {
    LOG_SYSERR(errno, "fork() for app %s failed", app->spec.name.c_str());
    s.backoff.respawnAtMs = monotonicMs() + 1000;
    return;
  }
  if (pid == 0) becomeApp(*app, *g);
  s.pid = pid;
  // Processes after the app's very first ones: replacements, recycling, new generations.
  if (g->number > 1 || s.backoff.restarts > 0) app->stats->restarts.fetch_add(1);
  LOG_DEBUG("app %s: process %zu started as pid %d", app->spec.name.c_str(), slot, pid);
}

// In the child: the socket on fd 0, /dev/null on 1, the pipe on 2, nothing else open; default
// signal handling; the app's environment and user; then exec.
void AppPool::becomeApp(const App& app, const Generation& g) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (::dup2(g.listen.get(), 0) < 0 || ::dup2(app.errWrite.get(), 2) < 0 ||
      (devNull >= 0 && ::dup2(devNull, 1) < 0)) {
    ::_exit(127);
  }
  for (int fd = 0; fd <= 2; ++fd) ::fcntl(fd, F_SETFD, 0);  // dup2 onto itself keeps CLOEXEC
  ::syscall(SYS_close_range, 3u, ~0u, 0);
  for (const std::string& e : app.spec.env) {
    size_t eq = e.find('=');
    ::setenv(e.substr(0, eq).c_str(), e.c_str() + eq + 1, 1);
  }
  if (!dropPrivileges(app.privileges)) {
    std::fprintf(stderr, "dropping privileges failed: %s\n", std::strerror(errno));
    ::_exit(127);
  }
  std::vector<char*> argv;
  for (const std::string& a : app.spec.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  std::fprintf(stderr, "execv(\"%s\") failed: %s\n", argv[0], std::strerror(errno));
  ::_exit(127);
}

void AppPool::onStderr(size_t slot) {
  if (slot >= apps_.size() || apps_[slot] == nullptr) return;
  App* app = apps_[slot].get();
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(app->errRead.get(), buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;  // EAGAIN; EOF cannot happen while the master holds the write end
    }
    std::string_view chunk(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = chunk.find('\n')) != std::string_view::npos;) {
      app->partial.append(chunk.substr(0, nl));
      flushLine(app, app->partial);
      app->partial.clear();
      chunk.remove_prefix(nl + 1);
    }
    app->partial.append(chunk);
    if (app->partial.size() >= kMaxLine) {
      flushLine(app, app->partial);
      app->partial.clear();
    }
  }
}

void AppPool::flushLine(App* app, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return;
  LOG_WARN("app %s: %.*s", app->spec.name.c_str(), static_cast<int>(line.size()), line.data());
}

bool AppPool::onExit(pid_t pid, int status) {
  for (const std::unique_ptr<App>& a : apps_) {
    if (a == nullptr) continue;
    for (const std::unique_ptr<Generation>& g : a->gens) {
      for (size_t i = 0; i < g->slots.size(); ++i) {
        Slot& s = g->slots[i];
        if (s.pid != pid) continue;
        s.pid = 0;
        publish(a.get());
        if (stopping_ || g->signalled) return true;
        const char* name = a->spec.name.c_str();
        if (WIFSIGNALED(status)) {
          LOG_WARN("app %s: process %zu (pid %d) killed by signal %d", name, i, pid,
                   WTERMSIG(status));
        } else {
          LOG_WARN("app %s: process %zu (pid %d) exited with status %d", name, i, pid,
                   WEXITSTATUS(status));
        }
        if (g->retiring) return true;  // its generation is on its way out: not replaced
        int64_t delay = s.backoff.onExit(monotonicMs() - s.startedMs);
        if (delay == 0) {
          spawn(a.get(), g.get(), i);
        } else {
          LOG_ERROR(
              "app %s: process %zu died %d times within 1 s of starting; next start in %lld ms",
              name, i, s.backoff.fastFailures, static_cast<long long>(delay));
          s.backoff.respawnAtMs = monotonicMs() + delay;
        }
        publish(a.get());
        return true;
      }
    }
  }
  return false;
}

void AppPool::tick(int64_t now, uint32_t oldestWorkerGeneration) {
  for (size_t slot = 0; slot < apps_.size(); ++slot) {
    App* a = apps_[slot].get();
    if (a == nullptr) continue;
    if (!stopping_) {
      if (Generation* g = a->current()) {
        for (size_t i = 0; i < g->slots.size(); ++i) {
          Backoff& b = g->slots[i].backoff;
          if (b.respawnAtMs != 0 && b.respawnAtMs <= now) {
            b.respawnAtMs = 0;
            spawn(a, g, i);
          }
        }
      }
      recycleDue(a);
    }
    stopRetired(a, now, oldestWorkerGeneration);
    if (a->removed && a->gens.empty()) forget(slot);
  }
}

// max_requests: once the current generation has served about max_requests per process, a new
// generation takes over (its processes start before the old ones are asked to stop). One
// recycling at a time: not while an older generation still drains.
void AppPool::recycleDue(App* app) {
  Generation* g = app->current();
  const uint64_t per = app->spec.maxRequests;
  if (g == nullptr || per == 0 || app->gens.size() > 1) return;
  const uint64_t served = app->stats->requests.load(std::memory_order_relaxed) - g->requestsAtStart;
  if (served < per * static_cast<uint64_t>(app->spec.processes)) return;
  LOG_INFO("app %s: %llu requests served; replacing its processes (max_requests %llu)",
           app->spec.name.c_str(), static_cast<unsigned long long>(served),
           static_cast<unsigned long long>(per));
  if (!startGeneration(app, 0)) g->requestsAtStart = app->stats->requests.load();
}

// Retired generations: SIGTERM once nothing is in flight on them (and the workers that knew their
// socket are gone); dropped once their processes are reaped.
void AppPool::stopRetired(App* app, int64_t now, uint32_t oldestWorkerGeneration) {
  for (size_t i = 0; i < app->gens.size();) {
    Generation* g = app->gens[i].get();
    if (g->retiring && !g->signalled) {
      const bool workersGone = g->waitWorkers == 0 || oldestWorkerGeneration > g->waitWorkers;
      const bool idle = app->stats->busy[g->number % kAppGenerations].load() <= 0;
      const bool overdue = now - g->retiredMs >= kRetireLimitMs;
      if ((workersGone && idle) || overdue || stopping_) {
        if (overdue) {
          LOG_WARN("app %s: generation %u still busy after %lld s; stopping it",
                   app->spec.name.c_str(), g->number,
                   static_cast<long long>(kRetireLimitMs / 1000));
        }
        g->signalled = true;
        for (const Slot& s : g->slots) {
          if (s.pid > 0) ::kill(s.pid, SIGTERM);
        }
      }
    }
    if (g->signalled && g->live() == 0) {
      struct stat st;
      if (g->ownsSocket && ::lstat(g->socketPath.c_str(), &st) == 0 && st.st_dev == g->socketDev &&
          st.st_ino == g->socketIno) {
        ::unlink(g->socketPath.c_str());
      }
      LOG_INFO("app %s: generation %u stopped", app->spec.name.c_str(), g->number);
      app->gens.erase(app->gens.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    ++i;
  }
}

// A removed app whose last generation is gone: its slot is free again.
void AppPool::forget(size_t slot) {
  App* a = apps_[slot].get();
  loop_->remove(a->errRead.get());
  a->stats->inUse.store(0);
  LOG_INFO("app %s: stopped (removed from the configuration)", a->spec.name.c_str());
  apps_[slot].reset();
}

int64_t AppPool::nextWakeMs(int64_t now) const {
  int64_t next = INT64_MAX;
  for (const std::unique_ptr<App>& a : apps_) {
    if (a == nullptr) continue;
    if (a->gens.size() > 1 || a->removed || (a->spec.maxRequests > 0 && !stopping_)) {
      next = std::min(next, now + kPollMs);
    }
    const Generation* g = a->current();
    if (g == nullptr || stopping_) continue;
    for (const Slot& s : g->slots) {
      if (s.backoff.respawnAtMs != 0) next = std::min(next, s.backoff.respawnAtMs);
    }
  }
  return next;
}

void AppPool::stop(int sig) {
  stopping_ = true;
  signalAll(sig);
}

void AppPool::signalAll(int sig) {
  for (const std::unique_ptr<App>& a : apps_) {
    if (a == nullptr) continue;
    for (const std::unique_ptr<Generation>& g : a->gens) {
      for (const Slot& s : g->slots) {
        if (s.pid > 0) ::kill(s.pid, sig);
      }
    }
  }
}

size_t AppPool::running() const {
  size_t n = 0;
  for (const std::unique_ptr<App>& a : apps_) {
    if (a == nullptr) continue;
    for (const std::unique_ptr<Generation>& g : a->gens) n += g->live();
  }
  return n;
}

size_t AppPool::missing() const {
  size_t n = 0;
  for (const std::unique_ptr<App>& a : apps_) {
    const Generation* g = a != nullptr ? a->current() : nullptr;
    if (g != nullptr) n += g->slots.size() - g->live();
  }
  return n;
}

void AppPool::publish(App* app) {
  size_t live = 0;
  for (const std::unique_ptr<Generation>& g : app->gens) live += g->live();
  app->stats->processes.store(static_cast<uint32_t>(live), std::memory_order_relaxed);
}

}  // namespace hs
