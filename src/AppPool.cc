#include "AppPool.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

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

struct Slot {
  pid_t pid = 0;
  int64_t startedMs = 0;
  Backoff backoff;
};

}  // namespace

struct AppPool::App {
  AppSpec spec;
  std::string socketPath;
  bool ownsSocket = false;  // created here: unlinked at exit unless replaced since
  dev_t socketDev = 0;
  ino_t socketIno = 0;
  Privileges privileges;
  UniqueFd listen;
  UniqueFd errRead, errWrite;
  std::vector<Slot> slots;
  std::string partial;  // an unfinished stderr line
};

AppPool::AppPool(EventLoop* loop, uint64_t tag) : loop_(loop), tag_(tag) {}

AppPool::~AppPool() {
  for (const std::unique_ptr<App>& a : apps_) {
    struct stat st;
    // A binary upgrade's new master may have bound the same path since: leave its socket alone.
    if (a->ownsSocket && ::lstat(a->socketPath.c_str(), &st) == 0 && st.st_dev == a->socketDev &&
        st.st_ino == a->socketIno) {
      ::unlink(a->socketPath.c_str());
    }
  }
  if (!privateDir_.empty()) ::rmdir(privateDir_.c_str());
}

bool AppPool::start(std::vector<AppSpec> apps, const Privileges& workers) {
  for (AppSpec& spec : apps) {
    auto app = std::make_unique<App>();
    app->spec = std::move(spec);
    std::string err;
    if (app->spec.user.empty()) {
      app->privileges = workers;
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
    if (!openSocket(app.get(), workers)) return false;
    loop_->add(p[0], EPOLLIN, tag_ | apps_.size());
    app->slots.resize(static_cast<size_t>(app->spec.processes));
    apps_.push_back(std::move(app));
  }
  for (const std::unique_ptr<App>& a : apps_) {
    LOG_INFO("app %s: %d %s of %s on unix:%s", a->spec.name.c_str(), a->spec.processes,
             a->spec.processes == 1 ? "process" : "processes", a->spec.command[0].c_str(),
             a->socketPath.c_str());
    for (size_t i = 0; i < a->slots.size(); ++i) spawn(a.get(), i);
  }
  return true;
}

// The listening socket: the configured path (a stale socket file there is replaced), or one in a
// private directory only the workers' user can enter. Workers connect as their user, so a socket
// the master creates as root is given to them.
bool AppPool::openSocket(App* app, const Privileges& workers) {
  if (app->spec.socketPath.empty()) {
    if (privateDir_.empty()) {
      char dir[] = "/tmp/HttpServer-apps.XXXXXX";
      if (::mkdtemp(dir) == nullptr) {
        LOG_SYSERR(errno, "mkdtemp(\"%s\") failed", dir);
        return false;
      }
      privateDir_ = dir;
      if (workers.drop && ::chown(dir, workers.uid, workers.gid) != 0) {
        LOG_SYSERR(errno, "chown(\"%s\") failed", dir);
      }
    }
    app->socketPath = privateDir_ + "/" + app->spec.name + ".sock";
  } else {
    app->socketPath = app->spec.socketPath;
  }
  const char* path = app->socketPath.c_str();
  struct stat st;
  if (::lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  app->listen.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!app->listen || ::bind(app->listen.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(app->listen.get(), kBacklog) != 0) {
    LOG_SYSERR(errno, "app %s: listening on unix:%s failed", app->spec.name.c_str(), path);
    return false;
  }
  if (::lstat(path, &st) == 0) {
    app->ownsSocket = true;
    app->socketDev = st.st_dev;
    app->socketIno = st.st_ino;
  }
  if (workers.drop && ::chown(path, workers.uid, workers.gid) != 0) {
    LOG_SYSERR(errno, "chown(\"%s\") failed", path);
  }
  return true;
}

const std::string* AppPool::socketPath(std::string_view name) const {
  for (const std::unique_ptr<App>& a : apps_) {
    if (a->spec.name == name) return &a->socketPath;
  }
  return nullptr;
}

void AppPool::addresses(std::map<std::string, std::string>* paths,
                        std::map<std::string, int>* sizes) const {
  for (const std::unique_ptr<App>& a : apps_) {
    (*paths)[a->spec.name] = a->socketPath;
    (*sizes)[a->spec.name] = a->spec.processes;
  }
}

void AppPool::spawn(App* app, size_t slot) {
  Slot& s = app->slots[slot];
  s.startedMs = monotonicMs();
  pid_t pid = ::fork();
  if (pid < 0) {
    LOG_SYSERR(errno, "fork() for app %s failed", app->spec.name.c_str());
    s.backoff.respawnAtMs = monotonicMs() + 1000;
    return;
  }
  if (pid == 0) becomeApp(*app);
  s.pid = pid;
  LOG_DEBUG("app %s: process %zu started as pid %d", app->spec.name.c_str(), slot, pid);
}

// In the child: the socket on fd 0, /dev/null on 1, the pipe on 2, nothing else open; default
// signal handling; the app's environment and user; then exec.
void AppPool::becomeApp(const App& app) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (::dup2(app.listen.get(), 0) < 0 || ::dup2(app.errWrite.get(), 2) < 0 ||
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

void AppPool::onStderr(size_t index) {
  if (index >= apps_.size()) return;
  App* app = apps_[index].get();
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
    for (size_t i = 0; i < a->slots.size(); ++i) {
      Slot& s = a->slots[i];
      if (s.pid != pid) continue;
      s.pid = 0;
      if (stopping_) return true;
      const char* name = a->spec.name.c_str();
      if (WIFSIGNALED(status)) {
        LOG_WARN("app %s: process %zu (pid %d) killed by signal %d", name, i, pid,
                 WTERMSIG(status));
      } else {
        LOG_WARN("app %s: process %zu (pid %d) exited with status %d", name, i, pid,
                 WEXITSTATUS(status));
      }
      int64_t delay = s.backoff.onExit(monotonicMs() - s.startedMs);
      if (delay == 0) {
        spawn(a.get(), i);
      } else {
        LOG_ERROR("app %s: process %zu died %d times within 1 s of starting; next start in %lld ms",
                  name, i, s.backoff.fastFailures, static_cast<long long>(delay));
        s.backoff.respawnAtMs = monotonicMs() + delay;
      }
      return true;
    }
  }
  return false;
}

void AppPool::respawnDue(int64_t now) {
  if (stopping_) return;
  for (const std::unique_ptr<App>& a : apps_) {
    for (size_t i = 0; i < a->slots.size(); ++i) {
      Backoff& b = a->slots[i].backoff;
      if (b.respawnAtMs != 0 && b.respawnAtMs <= now) {
        b.respawnAtMs = 0;
        spawn(a.get(), i);
      }
    }
  }
}

int64_t AppPool::nextRespawnMs() const {
  int64_t next = INT64_MAX;
  if (stopping_) return next;
  for (const std::unique_ptr<App>& a : apps_) {
    for (const Slot& s : a->slots) {
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
    for (const Slot& s : a->slots) {
      if (s.pid > 0) ::kill(s.pid, sig);
    }
  }
}

size_t AppPool::running() const {
  size_t n = 0;
  for (const std::unique_ptr<App>& a : apps_) {
    for (const Slot& s : a->slots) n += s.pid > 0 ? 1 : 0;
  }
  return n;
}

}  // namespace hs
