#include "ConfigCheck.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "AppConfig.h"
#include "Listeners.h"
#include "RouteConfig.h"
#include "UniqueFd.h"

namespace hs {
namespace {

using Problems = std::vector<std::string>;

std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

// The directory holding an absolute path.
std::string dirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string userName(uid_t uid) {
  struct passwd* pw = ::getpwuid(uid);
  return pw != nullptr ? pw->pw_name : "uid " + std::to_string(uid);
}

// As the master: the root exists and is a directory. False when there is no point going on.
bool checkRootExists(const std::string& root, Problems* out) {
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) {
    int err = errno;
    std::string msg = "document root " + root + ": " + std::strerror(err);
    if (err == ENOENT) {
      msg += "; create it, or serve another directory with --root DIR (e.g. --root www)";
    }
    out->push_back(msg);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    out->push_back("document root " + root + " is not a directory");
    return false;
  }
  return true;
}

// As the master, who creates the log file or appends to it (opening nothing for writing).
void checkLogAsMaster(const char* what, const std::string& path, Problems* out) {
  std::string dir = dirOf(path);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    int err = errno;
    out->push_back(std::string(what) + " " + path + ": " +
                   (err == ENOENT
                        ? "directory " + dir + " does not exist; create it (mkdir -p " + dir + ")"
                        : dir + ": " + std::strerror(err)));
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    out->push_back(std::string(what) + " " + path + ": " + dir + " is not a directory");
  } else if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      out->push_back(std::string(what) + " " + path + " is a directory");
    } else if (::access(path.c_str(), W_OK) != 0) {
      out->push_back(std::string(what) + " " + path + " cannot be appended to by user " +
                     userName(::getuid()) + ": " + std::strerror(errno));
    }
  } else if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    out->push_back(std::string(what) + " " + path + " cannot be created in " + dir + " by user " +
                   userName(::getuid()) + ": " + std::strerror(errno));
  }
}

// As the workers' user: read the root; reach the logs, which they reopen by path. `rootFd` was
// opened before the switch, as a worker opens it before dropping root, so only the root's own
// permissions count, not its parents'.
void checkAsWorkers(const Config& cfg, int rootFd, bool dropped, Problems* out) {
  std::string user = userName(::getuid());
  std::string hint = dropped ? " (the workers run as " + user + "; see --user)" : "";
  UniqueFd root(::openat(rootFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) {
    out->push_back("document root " + cfg.root + " is not readable by user " + user + ": " +
                   std::strerror(errno) + hint);
  }
  if (!dropped) return;  // the master's check covered the logs for this same user
  for (auto [what, path] : {std::pair{"error log", cfg.errorLog}, {"access log", cfg.accessLog}}) {
    // A missing directory was reported by the master's check.
    if (path.empty() || ::access(dirOf(path).c_str(), X_OK) == 0 || errno == ENOENT) continue;
    out->push_back(std::string(what) + " " + path + ": directory " + dirOf(path) +
                   " is not searchable by user " + user +
                   ", who reopens the log after a rotation: " + std::strerror(errno) + hint);
  }
}

// Runs checkAsWorkers in a child that has dropped to `p`; its lines come back through a pipe.
void checkInChild(const Config& cfg, int rootFd, const Privileges& p, Problems* out) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    out->push_back(std::string("pipe() failed: ") + std::strerror(errno));
    return;
  }
  UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = ::fork();
  if (pid == 0) {
    rd.reset();
    Problems mine;
    if (!dropPrivileges(p)) {
      mine.push_back("cannot switch to user " + userName(p.uid) + ": " + std::strerror(errno));
    } else {
      checkAsWorkers(cfg, rootFd, true, &mine);
    }
    for (const std::string& line : mine) {
      std::string l = line + "\n";
      if (::write(wr.get(), l.data(), l.size()) < 0) break;
    }
    ::_exit(0);
  }
  wr.reset();
  std::string text;
  char buf[512];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) text.append(buf, static_cast<size_t>(n));
  }
  if (pid > 0) ::waitpid(pid, nullptr, 0);
  for (size_t start = 0, nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out->push_back(text.substr(start, nl - start));
  }
}

// The routing configuration compiles, and every root and alias directory it names exists (the
// top-level root is checked on its own, with advice).
void checkRoutes(const Config& cfg, Problems* out) {
  RouteConfig routes;
  ListenTable listens;
  std::string problem;
  if (!compileRoutes(cfg, &routes, &problem) || !listenTable(cfg, &listens, &problem)) {
    out->push_back(problem);
    return;
  }
  for (const std::string& root : routes.roots) {
    struct stat st;
    if (root == cfg.root) continue;
    if (::stat(root.c_str(), &st) != 0) {
      out->push_back("root or alias " + root + ": " + std::strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
      out->push_back("root or alias " + root + " is not a directory");
    }
  }
}

// Every app compiles and its command can be executed.
void checkApps(const Config& cfg, Problems* out) {
  std::vector<AppSpec> apps;
  std::string problem;
  if (!compileApps(cfg, &apps, &problem)) {
    out->push_back(problem);
    return;
  }
  for (const AppSpec& a : apps) {
    if (::access(a.command[0].c_str(), X_OK) != 0) {
      out->push_back(a.file + ":" + std::to_string(a.line) + ": app " + a.name + ": command " +
                     a.command[0] + " cannot be executed (" + std::strerror(errno) + ")");
    }
  }
}

}  // namespace

void prepareConfig(Config* cfg, const std::string& daemonErrorLog) {
  if (cfg->daemon && cfg->errorLog.empty()) cfg->errorLog = daemonErrorLog;
  cfg->root = absolute(cfg->root);
  cfg->pidFile = absolute(cfg->pidFile);
  cfg->errorLog = absolute(cfg->errorLog);
  if (cfg->accessLog != "off") cfg->accessLog = absolute(cfg->accessLog);
  cfg->configFile = absolute(cfg->configFile);
}

std::vector<std::string> checkConfig(const Config& cfg, const Privileges& workers) {
  Problems out;
  bool rootExists = checkRootExists(cfg.root, &out);
  if (rootExists) checkRoutes(cfg, &out);
  checkApps(cfg, &out);
  if (!cfg.errorLog.empty()) checkLogAsMaster("error log", cfg.errorLog, &out);
  if (!cfg.accessLog.empty()) checkLogAsMaster("access log", cfg.accessLog, &out);
  UniqueFd rootFd(::open(cfg.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootExists || !rootFd) return out;
  if (workers.drop) {
    checkInChild(cfg, rootFd.get(), workers, &out);
  } else {
    checkAsWorkers(cfg, rootFd.get(), false, &out);
  }
  return out;
}

}  // namespace hs
